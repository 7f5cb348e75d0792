import { Writable } from 'node:stream';
import { ChannelType } from '@deskplane/spice-protocol';
import { describe, expect, it } from 'vitest';
import { AUDIT_STREAM_VERSION, attachAudit, auditLine, auditStreamFields, auditStreamKey, entryFields, parseAuditStreamEntry, type AuditLine } from './audit';
import { createLogger, gatewayLog } from './log';
import { SessionRegistry } from './sessions';

describe('session audit', () => {
  it('writes one session.audit line when a session ends: who, where, when, how long, bytes, why', () => {
    let now = Date.parse('2026-11-25T10:00:00.000Z');
    const registry = new SessionRegistry({ now: () => now });
    const lines: { event: string; fields: Record<string, unknown> }[] = [];
    const stop = attachAudit(registry, (event, fields) => lines.push({ event, fields }));
    const key = registry.open({ sessionId: 77, user: 'alice', tenant: 'acme', desktop: 'acme/vd-1', source: '192.0.2.9', transport: 'connect', upstream: '10.0.0.7:5901', policy: 'gold' });
    const main = registry.attach(key, { channelType: ChannelType.MAIN, channelId: 0, upstream: '10.0.0.7:5901', transport: 'connect' }, () => undefined);
    const display = registry.attach(key, { channelType: ChannelType.DISPLAY, channelId: 0, upstream: '10.0.0.7:5901', transport: 'connect' }, () => undefined);
    registry.count(key, main, 300, 10);
    registry.count(key, display, 5_000, 40);
    registry.recordMigration(key, 'seamless');
    now += 90_500;
    registry.detach(key, display);
    expect(lines).toHaveLength(0); // the session lives while a channel does
    registry.detach(key, main, 'client closed');

    expect(lines).toEqual([
      {
        event: 'session.audit',
        fields: {
          session: key, sessionId: 77, user: 'alice', tenant: 'acme', desktop: 'acme/vd-1', policy: 'gold',
          source: '192.0.2.9', transport: 'connect', upstream: '10.0.0.7:5901',
          openedAt: '2026-11-25T10:00:00.000Z', endedAt: '2026-11-25T10:01:30.500Z', durationMs: 90_500,
          bytesToClient: 5_300, bytesToGuest: 50, reason: 'client closed', migrations: { seamless: 1, fallback: 0 },
        },
      },
    ]);
    stop();
    const k2 = registry.open({ sessionId: 78, user: 'bob', tenant: 'acme', desktop: 'acme/vd-2', source: 's', transport: 'tcp', upstream: 'u', policy: '' });
    registry.detach(k2, registry.attach(k2, { channelType: ChannelType.MAIN, channelId: 0, upstream: 'u', transport: 'tcp' }, () => undefined));
    expect(lines).toHaveLength(1);
  });

  it('keeps a kill reason and never logs a password even if one were handed over', () => {
    const registry = new SessionRegistry();
    const key = registry.open({ sessionId: 1, user: 'a', tenant: 't', desktop: 't/d', source: 's', transport: 'tcp', upstream: 'u', policy: '' });
    registry.attach(key, { channelType: ChannelType.MAIN, channelId: 0, upstream: 'u', transport: 'tcp' }, (reason) => registry.detach(key, 1, reason));
    let out = '';
    const sink = new Writable({ write: (chunk: Buffer, _e, cb) => void ((out += chunk.toString()), cb()) });
    const log = gatewayLog(createLogger({}, sink));
    attachAudit(registry, log);
    registry.kill(key, 'killed by admin');
    const line = JSON.parse(out.trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', msg: 'session.audit', event: 'session.audit', service: 'gateway', reason: 'killed by admin', user: 'a' });
    out = '';
    log('link.refused', { why: 'x', upstream: { host: 'h', password: 'hunter2' }, ticket: 'T0PS3CRET' });
    expect(out).not.toContain('hunter2');
    expect(out).not.toContain('T0PS3CRET');
    expect(JSON.parse(out)).toMatchObject({ level: 'warn', upstream: { password: '[redacted]' }, ticket: '[redacted]' });
  });

  it('auditLine is pure and clamps a clock that went backwards', () => {
    const info = { key: 'gs-1', sessionId: 1, user: 'a', tenant: 't', desktop: 't/d', source: 's', transport: 'tcp', openedAt: 2_000, lastInputAt: 2_000, upstream: 'u', policy: '', migrating: false, seamlessMigrations: 0, fallbackMigrations: 2, channels: [] };
    expect(auditLine({ info, endedAt: 1_000, reason: 'r', bytesToClient: 0, bytesToGuest: 0 })).toMatchObject({ durationMs: 0, migrations: { seamless: 0, fallback: 2 } });
  });

  describe('stream entries (the Redis audit stream; XADD/XREVRANGE are in services/api redis-audit smoke test)', () => {
    const line: AuditLine = {
      session: 'gs-1', sessionId: 9, user: 'alice', tenant: 'acme', desktop: 'acme/vd-1', policy: '', source: '192.0.2.9', transport: 'tcp',
      upstream: '10.0.0.7:5901', openedAt: '2026-11-25T10:00:00.000Z', endedAt: '2026-11-25T10:01:00.000Z', durationMs: 60_000,
      bytesToClient: 1, bytesToGuest: 2, reason: 'client closed', migrations: { seamless: 0, fallback: 1 },
    };

    it('writes the filter fields flat and the whole line as JSON, and reads it back unchanged', () => {
      const fields = auditStreamFields(line);
      expect(Object.fromEntries(entryFields(fields))).toMatchObject({ v: AUDIT_STREAM_VERSION, tenant: 'acme', user: 'alice', desktop: 'acme/vd-1' });
      expect(parseAuditStreamEntry(fields)).toEqual(line);
      expect(auditStreamKey()).toBe('deskplane:gateway:audit');
      expect(auditStreamKey('deskplane-local:gateway')).toBe('deskplane-local:gateway:audit');
    });

    it('skips entries of another version or with a damaged line instead of guessing', () => {
      const withField = (name: string, value: string): string[] => {
        const m = entryFields(auditStreamFields(line));
        m.set(name, value);
        return [...m].flat();
      };
      expect(parseAuditStreamEntry(withField('v', '2'))).toBeUndefined();
      expect(parseAuditStreamEntry(withField('line', '{"session":'))).toBeUndefined();
      expect(parseAuditStreamEntry(withField('line', 'null'))).toBeUndefined();
      expect(parseAuditStreamEntry(withField('line', JSON.stringify({ ...line, user: 7 })))).toBeUndefined();
      expect(parseAuditStreamEntry([])).toBeUndefined();
      // An odd trailing name without a value is ignored, the rest still reads.
      expect(parseAuditStreamEntry([...auditStreamFields(line), 'dangling'])).toEqual(line);
    });
  });
});
