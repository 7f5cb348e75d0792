import { describe, expect, it } from 'vitest';
import { schedule } from '../../scheduler';
import { desktop, GiB, kvmHost, migration, template } from './fixtures';
import { desktopRequest, hostCandidate, Mutex, placedDesktops, placedEntry, PlacementLedger, templateResources } from './placement';

const tpl = template('small');
const res = templateResources(tpl);

describe('hostCandidate', () => {
  it('maps a KvmHost: allocatable as capacity, the larger of agent and operator allocations', () => {
    const h = kvmHost('h1', { labels: { zone: 'a' }, status: { allocated: { vcpus: 1, memory: '6Gi', disk: '1Gi' } } });
    const placed = placedDesktops([desktop('d1', { status: { host: 'h1' } }), desktop('d2', { status: { host: 'other' } })], [], () => tpl);
    expect(hostCandidate(h, placed)).toEqual({
      name: 'h1',
      labels: { zone: 'a' },
      ready: true,
      schedulable: true,
      maintenance: false,
      capacity: { vcpus: 8, memoryBytes: 16 * GiB, diskBytes: 500 * GiB },
      overcommit: { cpu: 1, memory: 1 },
      allocated: { vcpus: 2, memoryBytes: 6 * GiB, diskBytes: 40 * GiB },
      guests: [{ desktop: 'team-a/d1', owner: 'team-a/alice' }],
    });
  });

  it.each([
    ['Ready False', kvmHost('h', { ready: 'False' }), false],
    ['no Ready condition', kvmHost('h', { ready: null }), false],
    ['being deleted', { ...kvmHost('h'), metadata: { ...kvmHost('h').metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } }, false],
    ['Ready True', kvmHost('h'), true],
  ])('ready: %s → %s', (_n, h, ready) => {
    expect(hostCandidate(h, []).ready).toBe(ready);
  });
});

describe('placedDesktops', () => {
  it('counts placed desktops (deleting ones too) and reserves migration targets', () => {
    const d1 = desktop('d1', { status: { host: 'h1' } });
    const deleting = desktop('d2', { status: { host: 'h2', phase: 'Deleting' }, meta: { deletionTimestamp: '2026-01-01T00:00:00Z' } });
    const placed = placedDesktops(
      [d1, deleting, desktop('d3')],
      [migration('m1', { desktopName: 'd1' }, { phase: 'PreparingTarget', sourceHost: 'h1', targetHost: 'h2' }), migration('m2', { desktopName: 'd1' }, { phase: 'Failed', targetHost: 'h3' })],
      () => tpl,
    );
    expect(placed.map((p) => [p.id.startsWith('migration:') ? 'reservation' : p.desktop, p.host])).toEqual([
      ['team-a/d1', 'h1'],
      ['team-a/d2', 'h2'],
      ['reservation', 'h2'],
    ]);
  });
});

describe('PlacementLedger', () => {
  it('two desktops decided back to back never take the last slot twice', () => {
    // The host has room for exactly one more desktop; the cache has not seen the first decision yet.
    const host = kvmHost('h1', { status: { allocatable: { vcpus: 2, memory: '4Gi', disk: '500Gi' } } });
    const ledger = new PlacementLedger();
    const cache: ReturnType<typeof placedDesktops> = [];
    const first = schedule(desktopRequest(desktop('d1'), res), [hostCandidate(host, ledger.merge(cache))]);
    expect(first.ok).toBe(true);
    ledger.assume(placedEntry(desktop('d1'), 'uid-d1', 'h1', res));
    const second = schedule(desktopRequest(desktop('d2'), res), [hostCandidate(host, ledger.merge(cache))]);
    expect(second.ok).toBe(false);
  });

  it('drops an assumption once the cache shows it, or after its TTL', () => {
    let now = 0;
    const ledger = new PlacementLedger(1_000, () => now);
    const p = placedEntry(desktop('d1'), 'uid-d1', 'h1', res);
    ledger.assume(p);
    expect(ledger.merge([])).toHaveLength(1);
    expect(ledger.merge([p])).toHaveLength(1); // from the cache
    expect(ledger.merge([])).toHaveLength(0); // confirmed, then forgotten
    ledger.assume(p);
    now = 2_000;
    expect(ledger.merge([])).toHaveLength(0);
  });
});

describe('Mutex', () => {
  it('runs sections one at a time, even when one throws', async () => {
    const m = new Mutex();
    const log: string[] = [];
    const section = (name: string, fail = false) => async () => {
      log.push(`${name}+`);
      await new Promise((r) => setTimeout(r, 5));
      log.push(`${name}-`);
      if (fail) throw new Error(name);
    };
    await Promise.allSettled([m.run(section('a', true)), m.run(section('b')), m.run(section('c'))]);
    expect(log).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
  });
});
