/**
 * The one-command local run as a library.
 *
 * @example
 * import { loadState } from '@deskplane/testbed';
 * import { startLocal } from '@deskplane/local';
 * const local = await startLocal({ testbed: loadState(), dataDir: '/var/lib/deskplane/local' });
 * // … the demo desktop comes up Running on one of the testbed hosts …
 * const upstream = await local.gateway.upstreamOf('demo', 'demo-desktop');
 * const { ticket } = await local.gateway.mintTicket({ user: 'demo', tenant: 'demo', desktop: 'demo/demo-desktop', upstream, ttlMs: 60_000 });
 * // remote-viewer spice://127.0.0.1:5930 with password = ticket
 * await local.close();
 */
export {
  startLocal,
  DEFAULT_GATEWAY_LISTEN,
  DEFAULT_CONNECT_LISTEN,
  type LocalOptions,
  type RunningLocal,
  type LocalApiContext,
  type LocalApiHook,
} from './local';
export { startLocalGateway, type LocalGateway, type LocalGatewayOptions, type Address } from './gateway';
export { ensureDemoIdentity, hashPassword, verifyPassword, randomPassword, DEMO_USERS, SCRYPT_DEFAULTS, type DemoIdentity, type IdpUser, type IdpUsersFile, type DemoRole } from './identity';
export { localApi, localApiEnv, DEFAULT_API_LISTEN } from './api';
export { banner } from './banner';
export { statusTable } from './status';
export * from './demo';
