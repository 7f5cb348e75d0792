import { Transform } from 'node:stream';
import { MainServerMessage, decodeChannelsList, encodeChannelsList } from '@deskplane/spice-protocol';
import { DisplayGuard } from './display-guard';
import type { GatewayLog } from './link-server';
import { mainFrameFilter } from './main-channel';
import type { LinkObserver } from './metrics';
import { filterChannelsList } from './policy';
import type { SessionPolicies } from './session-policy';
import type { SessionRouter } from './session-router';
import type { SessionRegistry } from './sessions';

interface MainFilterDeps {
  sessions: SessionRegistry;
  router: SessionRouter;
  policies: SessionPolicies;
  observer?: LinkObserver;
  log: GatewayLog;
}

/**
 * Guest → client on a main channel: drops denied channel types from CHANNELS_LIST (the
 * client then never opens them) and feeds the migration messages to the router.
 */
export function mainFilter(deps: MainFilterDeps, sessionKey: string): Transform {
  return mainFrameFilter((frame) => {
    switch (frame.type) {
      case MainServerMessage.CHANNELS_LIST: {
        const policy = deps.policies.policyOf(sessionKey);
        if (policy.deniedChannels.size === 0) return undefined;
        return encodeChannelsList(filterChannelsList(decodeChannelsList(frame.payload), policy));
      }
      case MainServerMessage.MIGRATE_BEGIN_SEAMLESS:
        deps.sessions.update(sessionKey, { migrating: true });
        deps.log('migration.begin', { session: sessionKey, seamless: true });
        return undefined;
      case MainServerMessage.MIGRATE_SWITCH_HOST:
        deps.router.mainEvent(sessionKey, 'switch-host');
        return undefined;
      case MainServerMessage.MIGRATE_DST_SEAMLESS_ACK:
        deps.router.mainEvent(sessionKey, 'dst-ack');
        deps.sessions.recordMigration(sessionKey, 'seamless');
        deps.observer?.migrated({ path: 'seamless' });
        deps.log('session.migrated', { session: sessionKey, path: 'seamless' });
        return undefined;
      case MainServerMessage.MIGRATE_DST_SEAMLESS_NACK:
        deps.router.mainEvent(sessionKey, 'dst-nack');
        return undefined;
      default:
        return undefined;
    }
  });
}

/**
 * Client → guest on a display channel, through a guard that makes closing it safe: the
 * guard holds the client's first bytes until a whole DISPLAY_INIT is in, and releases what
 * follows it a moment later (an init and a bad message in one packet also crashed QEMU).
 */
export function guardedDisplay(): { guard: DisplayGuard; transform: Transform } {
  const transform = new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        done(null, guard.filter(chunk));
      } catch (err) {
        done(err as Error);
      }
    },
  });
  const guard = new DisplayGuard({ release: (bytes) => transform.push(bytes) });
  return { guard, transform };
}
