import { API_VERSION } from '@deskplane/api';
import { describe, expect, it } from 'vitest';
import type { DesktopObject } from '../../resources';
import { quotaBlock, usageOf, type Size } from './quota';

const GiB = 1024 ** 3;
const sizes: Record<string, Size> = { small: { vcpus: 2, memory: 4 * GiB }, big: { vcpus: 8, memory: 16 * GiB } };
const vd = (name: string, template: string, o: { deleting?: boolean; pool?: string; owner?: string; rv?: string; phase?: 'Running' | 'Stopped'; host?: string } = {}): DesktopObject => ({
  apiVersion: API_VERSION,
  kind: 'VirtualDesktop',
  metadata: { name, namespace: 'team-a', resourceVersion: o.rv ?? '1', ...(o.deleting ? { deletionTimestamp: '2026-01-15T10:00:00Z' } : {}), ...(o.pool ? { labels: { 'deskplane.io/pool': o.pool } } : {}) },
  spec: { templateRef: { name: template }, ...(o.pool ? { poolRef: { name: o.pool } } : { owner: o.owner ?? 'alice' }), ...(o.owner && o.pool ? { owner: o.owner } : {}) },
  status: { ...(o.phase ? { phase: o.phase } : {}), ...(o.host ? { host: o.host } : {}) },
});

describe('usageOf (the API counting rules)', () => {
  it('counts every desktop not being deleted, with its template size; a template-less one as a desktop only', () => {
    const u = usageOf([vd('a', 'small'), vd('b', 'big'), vd('c', 'small', { deleting: true }), vd('d', 'gone')], (t) => sizes[t]);
    expect(u).toEqual({ desktops: 3, vcpus: 10, memory: 20 * GiB });
  });
});

describe('quotaBlock', () => {
  const used = { desktops: 3, vcpus: 6, memory: 12 * GiB };
  it('checks desktops, then vCPUs, then memory, naming the first one crossed', () => {
    expect(quotaBlock({ desktops: 3, vcpus: 1 }, used, sizes.small!)).toEqual({ quota: 'desktops', message: 'quota exceeded: desktops 3/3 used, this desktop needs 1' });
    expect(quotaBlock({ desktops: 4, vcpus: 7 }, used, sizes.small!)?.quota).toBe('vcpus');
    expect(quotaBlock({ memory: '16Gi' }, used, sizes.small!)).toBeUndefined(); // exactly at the limit fits
    expect(quotaBlock({ memory: '15Gi' }, used, sizes.small!)?.message).toBe('quota exceeded: memory 12Gi/15Gi used, this desktop needs 4Gi');
    expect(quotaBlock(undefined, used, sizes.big!)).toBeUndefined();
  });
});
