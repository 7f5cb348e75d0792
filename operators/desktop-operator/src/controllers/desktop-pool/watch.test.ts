import { API_VERSION } from '@deskplane/api';
import { describe, expect, it } from 'vitest';
import type { DesktopObject, PoolObject } from '../../resources';
import { poolKeysForDesktop, poolChangeMatters } from './watch';

const vd = (name: string, template: string, o: { deleting?: boolean; pool?: string; owner?: string; rv?: string; phase?: 'Running' | 'Stopped'; host?: string } = {}): DesktopObject => ({
  apiVersion: API_VERSION,
  kind: 'VirtualDesktop',
  metadata: { name, namespace: 'team-a', resourceVersion: o.rv ?? '1', ...(o.deleting ? { deletionTimestamp: '2026-01-15T10:00:00Z' } : {}), ...(o.pool ? { labels: { 'deskplane.io/pool': o.pool } } : {}) },
  spec: { templateRef: { name: template }, ...(o.pool ? { poolRef: { name: o.pool } } : { owner: o.owner ?? 'alice' }), ...(o.owner && o.pool ? { owner: o.owner } : {}) },
  status: { ...(o.phase ? { phase: o.phase } : {}), ...(o.host ? { host: o.host } : {}) },
});

describe('what wakes a pool', () => {
  it('a pool desktop added or deleted wakes its pool; other desktops wake none', () => {
    expect(poolKeysForDesktop(undefined, vd('p-1', 'small', { pool: 'p' }))).toEqual(['team-a/p']);
    expect(poolKeysForDesktop(vd('p-1', 'small', { pool: 'p' }), undefined)).toEqual(['team-a/p']);
    expect(poolKeysForDesktop(undefined, vd('mine', 'small'))).toEqual([]);
  });

  it('an update wakes it when something the pool reads changed, or on a resync', () => {
    const before = vd('p-1', 'small', { pool: 'p', phase: 'Stopped', rv: '1' });
    expect(poolKeysForDesktop(before, vd('p-1', 'small', { pool: 'p', phase: 'Running', rv: '2' }))).toEqual(['team-a/p']);
    expect(poolKeysForDesktop(before, vd('p-1', 'small', { pool: 'p', owner: 'bob', phase: 'Stopped', rv: '2' }))).toEqual(['team-a/p']);
    // A status write the pool does not read (the host) does not.
    expect(poolKeysForDesktop(before, vd('p-1', 'small', { pool: 'p', phase: 'Stopped', host: 'h1', rv: '2' }))).toEqual([]);
    expect(poolKeysForDesktop(before, before)).toEqual(['team-a/p']);
  });

  it("a pool's own status write does not wake it; a spec change does", () => {
    const p = (rv: string, generation: number, ready?: number): PoolObject => ({
      apiVersion: API_VERSION,
      kind: 'DesktopPool',
      metadata: { name: 'p', namespace: 'team-a', resourceVersion: rv, generation },
      spec: { templateRef: { name: 'small' }, size: 2 },
      ...(ready !== undefined ? { status: { ready } } : {}),
    });
    expect(poolChangeMatters(p('1', 1), p('2', 1, 1))).toBe(false);
    expect(poolChangeMatters(p('1', 1), p('2', 2))).toBe(true);
    expect(poolChangeMatters(p('1', 1), p('1', 1))).toBe(true);
  });
});
