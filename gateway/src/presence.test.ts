import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  LAST_SESSION_END_TTL_MS,
  PresenceWriter,
  closeCommands,
  openCommands,
  refreshCommands,
  type PresenceRedis,
} from './presence';
import { SessionRegistry } from './sessions';

const P = 'dp:gw';
const A = { key: 'gs-a', desktop: 'acme/vd-1' };
const B = { key: 'gs-b', desktop: 'acme/vd-2' };

/**
 * STAND-IN for Redis (unit tests reach no server): records every pipeline and answers
 * as told. The real Redis is written in presence.smoke.test.ts.
 */
class RecordingRedis implements PresenceRedis {
  readonly sent: (string | number)[][][] = [];
  answer: () => Promise<[Error | null, unknown][] | null> = () => Promise.resolve([]);
  pipeline(commands: (string | number)[][]): { exec(): Promise<[Error | null, unknown][] | null> } {
    this.sent.push(commands);
    return { exec: () => this.answer() };
  }
  names(): string[][] {
    return this.sent.map((cmds) => cmds.map((c) => String(c[0])));
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('presence commands', () => {
  it('open: the session key scored with its expiry, and the set itself expiring after 30 days', () => {
    expect(openCommands(P, A, 1_000, 45_000)).toEqual([
      ['zadd', 'dp:gw:presence:acme/vd-1', 46_000, 'gs-a'],
      ['pexpire', 'dp:gw:presence:acme/vd-1', LAST_SESSION_END_TTL_MS],
    ]);
  });

  it('close: the member removed and the end time kept 30 days', () => {
    expect(closeCommands(P, A, 5_000)).toEqual([
      ['zrem', 'dp:gw:presence:acme/vd-1', 'gs-a'],
      ['set', 'dp:gw:last-session-end:acme/vd-1', 5_000, 'PX', 2_592_000_000],
    ]);
  });

  it('refresh: the heartbeat keeps its first value (NX) and every open session is re-added', () => {
    expect(refreshCommands(P, [A, B], 10_000, 45_000)).toEqual([
      ['set', 'dp:gw:presence-heartbeat', 10_000, 'PX', 45_000, 'NX'],
      ['pexpire', 'dp:gw:presence-heartbeat', 45_000],
      ['zadd', 'dp:gw:presence:acme/vd-1', 55_000, 'gs-a'],
      ['pexpire', 'dp:gw:presence:acme/vd-1', LAST_SESSION_END_TTL_MS],
      ['zadd', 'dp:gw:presence:acme/vd-2', 55_000, 'gs-b'],
      ['pexpire', 'dp:gw:presence:acme/vd-2', LAST_SESSION_END_TTL_MS],
    ]);
    expect(refreshCommands(P, [], 0)).toHaveLength(2);
  });
});

describe('PresenceWriter', () => {
  it('follows the registry: open announces, the last channel closing ends it', () => {
    const redis = new RecordingRedis();
    let t = 1_000;
    const w = new PresenceWriter({ redis, prefix: P, now: () => t });
    const reg = new SessionRegistry({ now: () => t });
    w.attach(reg);
    const key = reg.open({ sessionId: 7, user: 'u', tenant: 'acme', desktop: 'acme/vd-1', source: 's', transport: 'tcp', upstream: 'h:1', policy: '' });
    expect(redis.sent.at(-1)).toEqual([['zadd', 'dp:gw:presence:acme/vd-1', 46_000, key], ['pexpire', 'dp:gw:presence:acme/vd-1', LAST_SESSION_END_TTL_MS]]);
    expect([...w.sessions.keys()]).toEqual([key]);
    const ch = reg.attach(key, { channelType: 1, channelId: 0, upstream: 'h:1', transport: 'tcp' }, () => undefined);
    t = 9_000;
    reg.detach(key, ch);
    expect(redis.sent.at(-1)).toEqual([['zrem', 'dp:gw:presence:acme/vd-1', key], ['set', 'dp:gw:last-session-end:acme/vd-1', 9_000, 'PX', LAST_SESSION_END_TTL_MS]]);
    expect(w.sessions.size).toBe(0);
  });

  it('refreshes on start and every refreshMs, with the sessions open at each tick; stop ends it', async () => {
    vi.useFakeTimers({ now: 0 });
    const redis = new RecordingRedis();
    const w = new PresenceWriter({ redis, prefix: P, refreshMs: 15_000, ttlMs: 45_000 });
    w.opened(A);
    w.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(redis.names()).toEqual([['zadd', 'pexpire'], ['set', 'pexpire', 'zadd', 'pexpire']]);
    await vi.advanceTimersByTimeAsync(14_999);
    expect(redis.sent).toHaveLength(2);
    w.opened(B);
    await vi.advanceTimersByTimeAsync(1);
    expect(redis.sent.at(-1)).toContainEqual(['zadd', 'dp:gw:presence:acme/vd-1', 60_000, 'gs-a']);
    expect(redis.sent.at(-1)).toContainEqual(['zadd', 'dp:gw:presence:acme/vd-2', 60_000, 'gs-b']);
    w.closed(A, 20_000);
    await vi.advanceTimersByTimeAsync(15_000);
    const last = redis.sent.at(-1)!;
    expect(last.filter((c) => c[0] === 'zadd')).toEqual([['zadd', 'dp:gw:presence:acme/vd-2', 75_000, 'gs-b']]);
    const before = redis.sent.length;
    await w.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(redis.sent).toHaveLength(before);
  });

  it('never doubles a refresh while the previous one waits for a slow Redis', async () => {
    vi.useFakeTimers({ now: 0 });
    const redis = new RecordingRedis();
    let release!: () => void;
    redis.answer = () => new Promise((r) => (release = () => r([])));
    const w = new PresenceWriter({ redis, prefix: P, refreshMs: 1_000, ttlMs: 3_000 });
    w.start();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(redis.sent).toHaveLength(1);
    expect(await w.refresh()).toBe(false);
    release();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(redis.sent).toHaveLength(2);
    release();
    await w.stop();
  });

  it('counts and logs a failed write, and the session side never sees it', async () => {
    const redis = new RecordingRedis();
    const logs: { event: string; fields: Record<string, unknown> }[] = [];
    const w = new PresenceWriter({ redis, prefix: P, log: (event, fields) => logs.push({ event, fields }) });
    redis.answer = () => Promise.resolve([[null, 1], [new Error('OOM command not allowed'), null]]);
    expect(() => w.opened(A)).not.toThrow();
    redis.answer = () => Promise.reject(new Error('Connection is closed.'));
    w.closed(A);
    redis.answer = () => Promise.resolve(null);
    await w.refresh();
    await w.flush();
    const counts = (await w.failures.get()).values.map((v) => [v.labels.op, v.value]);
    expect(counts).toEqual([['open', 1], ['close', 1], ['refresh', 1]]);
    expect(logs.map((l) => [l.event, l.fields.op, l.fields.error])).toEqual([
      ['presence.write-failed', 'open', 'OOM command not allowed'],
      ['presence.write-failed', 'close', 'Connection is closed.'],
      ['presence.write-failed', 'refresh', 'pipeline discarded'],
    ]);
    expect(logs[0]?.fields.desktop).toBe('acme/vd-1');
  });

  it('survives a client that throws when asked for a pipeline', async () => {
    const w = new PresenceWriter({
      redis: { pipeline: () => { throw new Error('client closed'); } },
      prefix: P,
    });
    expect(() => w.opened(A)).not.toThrow();
    expect(await w.refresh()).toBe(true);
    expect((await w.failures.get()).values.map((v) => v.value)).toEqual([1, 1]);
  });

  it('refuses a refresh period that would let entries expire between refreshes', () => {
    expect(() => new PresenceWriter({ redis: new RecordingRedis(), refreshMs: 45_000, ttlMs: 45_000 })).toThrow(/must come before entries expire/);
  });
});
