/**
 * GET /ops/audit's reader on the testbed's Redis: the gateway's session records (written by
 * the gateway's own RedisAuditStream) and the API's own entries, merged newest first, with
 * the query's filters and limit applied to both.
 */
import { randomBytes } from 'node:crypto';
import { RedisAuditStream, type AuditLine } from '@deskplane/gateway';
import { loadState } from '@deskplane/testbed';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAuditReader } from '../src/audit/redis-audit';
import { MemoryAuditLog } from '../src/domain/audit';
import { CombinedAuditReader } from '../src/wiring';

const prefix = `api-audit-${randomBytes(3).toString('hex')}`;
let redis: Redis;
let reader: CombinedAuditReader;

const line = (session: string, user: string, tenant: string, endedAt: string): AuditLine => ({
  session,
  sessionId: 1,
  user,
  tenant,
  desktop: `${tenant}/dev`,
  policy: '',
  source: '192.0.2.1',
  transport: 'tcp',
  upstream: '10.0.0.7:5901',
  openedAt: '2025-01-01T09:00:00.000Z',
  endedAt,
  durationMs: 1000,
  bytesToClient: 10,
  bytesToGuest: 5,
  reason: 'client closed',
  migrations: { seamless: 0, fallback: 0 },
});

beforeAll(async () => {
  const { redis: at } = loadState();
  redis = new Redis({ host: at!.host, port: at!.port, maxRetriesPerRequest: 1 });
  const stream = new RedisAuditStream(redis, { prefix });
  stream.write(line('gs-1', 'alice', 'team-a', '2025-01-01T10:00:00.000Z'));
  stream.write(line('gs-2', 'bob', 'team-b', '2025-01-01T10:20:00.000Z'));
  stream.write(line('gs-3', 'alice', 'team-a', '2025-01-01T10:40:00.000Z'));
  await stream.flush();
  const own = new MemoryAuditLog();
  own.record({ action: 'desktop.create', user: 'alice', tenant: 'team-a', desktop: 'team-a/dev', time: '2025-01-01T10:10:00.000Z' });
  own.record({ action: 'console.open', user: 'alice', tenant: 'team-a', desktop: 'team-a/dev', time: '2025-01-01T10:30:00.000Z' });
  reader = new CombinedAuditReader(own, new RedisAuditReader(redis, { prefix }));
});

afterAll(async () => {
  await redis?.del(`${prefix}:audit`);
  redis?.disconnect();
});

const summary = (entries: { action: string; time: string; user?: string }[]): string[] => entries.map((e) => `${e.time.slice(11, 16)} ${e.action} ${e.user ?? ''}`);

describe('the combined audit reader on Redis', () => {
  it('merges the gateway’s records and the API’s entries, newest first', async () => {
    expect(summary(await reader.query({ limit: 10 }))).toEqual([
      '10:40 session.end alice',
      '10:30 console.open alice',
      '10:20 session.end bob',
      '10:10 desktop.create alice',
      '10:00 session.end alice',
    ]);
  });

  it('applies the filters and the limit to both', async () => {
    expect(summary(await reader.query({ tenant: 'team-a', limit: 3 }))).toEqual(['10:40 session.end alice', '10:30 console.open alice', '10:10 desktop.create alice']);
    expect(summary(await reader.query({ user: 'bob', limit: 10 }))).toEqual(['10:20 session.end bob']);
    // Redis ids carry the write time (now); `since` still filters on when the session ended.
    expect(summary(await reader.query({ since: new Date('2025-01-01T10:15:00Z'), limit: 10 }))).toEqual(['10:40 session.end alice', '10:30 console.open alice', '10:20 session.end bob']);
    expect(await reader.query({ desktop: 'team-c/dev', limit: 10 })).toEqual([]);
  });
});
