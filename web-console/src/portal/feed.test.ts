import { describe, expect, it } from 'vitest';
import type { Desktop } from '../api/types';
import { applyEvent, emptyFeed, type FeedState } from './feed';

const d = (name: string, phase: Desktop['phase'] = 'Running'): Desktop => ({ name, tenant: 't', template: 'x', runStrategy: 'Always', persistent: true, phase, ready: true, consoleReady: true, deleting: false });
const run = (events: [string, unknown][], from: FeedState = emptyFeed) => events.reduce((s, [e, data]) => applyEvent(s, e, data), from);
const names = (s: FeedState) => [...s.desktops.values()].map((x) => `${x.name}:${x.phase}`).sort();

describe('desktop feed', () => {
  it('builds the list from the snapshot, then follows changes', () => {
    const s = run([['open', undefined], ['added', d('a')], ['added', d('b')], ['synced', null], ['modified', d('a', 'Stopping')], ['deleted', d('b')], ['added', d('c', 'Pending')]]);
    expect(s.synced).toBe(true);
    expect(names(s)).toEqual(['a:Stopping', 'c:Pending']);
  });

  it('after a reconnect, drops what the new snapshot no longer has, without blanking meanwhile', () => {
    const before = run([['open', undefined], ['added', d('a')], ['added', d('gone')], ['synced', null]]);
    const mid = run([['open', undefined], ['added', d('a', 'Migrating')]], before);
    expect(names(mid)).toEqual(['a:Migrating', 'gone:Running']);
    const after = applyEvent(mid, 'synced', null);
    expect(names(after)).toEqual(['a:Migrating']);
  });

  it('ignores events it does not understand', () => {
    const s = run([['open', undefined], ['added', { nope: 1 }], ['weird', d('x')], ['synced', null]]);
    expect(s.desktops.size).toBe(0);
  });
});
