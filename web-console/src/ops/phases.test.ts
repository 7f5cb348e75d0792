import { expect, it } from 'vitest';
import { countPhases } from './phases';

it('counts desktops per tenant and phase in lifecycle order, deleting ones as Deleting', () => {
  const d = (tenant: string, phase: string, deleting = false) => ({ name: `${tenant}-${phase}`, tenant, phase, deleting });
  const t = countPhases([d('b', 'Running'), d('a', 'Stopped'), d('a', 'Running'), d('a', 'Running', true), d('b', 'Pending'), d('b', 'Weird')]);
  expect(t.phases).toEqual(['Pending', 'Running', 'Stopped', 'Deleting', 'Weird']);
  expect(t.rows.map((r) => [r.tenant, r.counts, r.total])).toEqual([
    ['a', { Stopped: 1, Running: 1, Deleting: 1 }, 3],
    ['b', { Running: 1, Pending: 1, Weird: 1 }, 3],
  ]);
  expect(t.totals).toMatchObject({ total: 6, counts: { Running: 2, Stopped: 1, Deleting: 1, Pending: 1, Weird: 1 } });
});

it('is empty for no desktops', () => {
  expect(countPhases([])).toEqual({ phases: [], rows: [], totals: { tenant: 'All tenants', counts: {}, total: 0 } });
});
