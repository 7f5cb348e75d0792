import { ChannelType as T } from '@deskplane/spice-protocol';
import { describe, expect, it } from 'vitest';
import { BucketBook, burstFor } from './bucket-book';
import { UNRESTRICTED, type EffectivePolicy } from './effective-policy';

const policy = (o: Partial<EffectivePolicy> = {}): EffectivePolicy => ({ ...UNRESTRICTED, name: 'p', ...o });
const rates = (buckets: ReadonlyArray<{ rateBytesPerSec: number }>): number[] => buckets.map((b) => b.rateBytesPerSec);

describe('BucketBook', () => {
  it('gives no bucket at all when nothing is limited', () => {
    const book = new BucketBook();
    const s = book.forSession({ key: 's1', tenant: 't', user: 'u' }, UNRESTRICTED);
    expect(s.buckets(T.DISPLAY, 'toClient')).toEqual([]);
    expect(book.sharedScopes).toBe(0);
  });

  it('charges channel, session, user and tenant buckets, tightest first, only the limited ones', () => {
    const book = new BucketBook();
    const p = policy({ channelBytesPerSec: new Map([[T.DISPLAY, 1000]]), sessionBytesPerSec: 2000, userBytesPerSec: 3000, tenantBytesPerSec: 4000 });
    const s = book.forSession({ key: 's1', tenant: 't', user: 'u' }, p);
    expect(rates(s.buckets(T.DISPLAY, 'toClient'))).toEqual([1000, 2000, 3000, 4000]);
    expect(rates(s.buckets(T.INPUTS, 'toClient'))).toEqual([2000, 3000, 4000]);
  });

  it('keeps one set per direction: a cap applies each way, and one way does not spend the other', () => {
    const t = 0;
    const book = new BucketBook({ now: () => t });
    const s = book.forSession({ key: 's1', tenant: 't', user: 'u' }, policy({ sessionBytesPerSec: 250_000 }));
    const [down] = s.buckets(T.DISPLAY, 'toClient');
    const [up] = s.buckets(T.DISPLAY, 'toGuest');
    expect(down).not.toBe(up);
    down!.take(1_000_000);
    expect(up!.waitMs()).toBe(0);
    expect(down!.waitMs()).toBeGreaterThan(0);
  });

  it('shares the user bucket among one user\'s sessions and the tenant bucket among the tenant\'s', () => {
    const book = new BucketBook();
    const p = policy({ sessionBytesPerSec: 9000, userBytesPerSec: 3000, tenantBytesPerSec: 4000 });
    const a = book.forSession({ key: 's1', tenant: 't', user: 'u' }, p);
    const b = book.forSession({ key: 's2', tenant: 't', user: 'u' }, p);
    const c = book.forSession({ key: 's3', tenant: 't', user: 'v' }, p);
    const d = book.forSession({ key: 's4', tenant: 'other', user: 'u' }, p);
    const [aS, aU, aT] = a.buckets(T.DISPLAY, 'toClient');
    const [bS, bU, bT] = b.buckets(T.DISPLAY, 'toClient');
    const [, cU, cT] = c.buckets(T.DISPLAY, 'toClient');
    const [, dU, dT] = d.buckets(T.DISPLAY, 'toClient');
    expect(aS).not.toBe(bS);
    expect(aU).toBe(bU);
    expect(aU).not.toBe(cU);
    expect(aT).toBe(bT);
    expect(aT).toBe(cT);
    expect(dU).not.toBe(aU); // same user name in another tenant is another user
    expect(dT).not.toBe(aT);
  });

  it('burst is 100 ms of the rate, at least 16 KiB', () => {
    expect(burstFor(250_000)).toBe(25_000);
    expect(burstFor(1000)).toBe(16_384);
    const s = new BucketBook().forSession({ key: 's', tenant: 't', user: 'u' }, policy({ sessionBytesPerSec: 2_000_000 }));
    expect(s.buckets(T.MAIN, 'toGuest')[0]!.burstBytes).toBe(200_000);
  });

  it('setPolicy changes rates in place (debt kept), adds new limits and drops removed ones', () => {
    let t = 0;
    const book = new BucketBook({ now: () => t });
    const s = book.forSession({ key: 's1', tenant: 't', user: 'u' }, policy({ channelBytesPerSec: new Map([[T.DISPLAY, 100_000]]), sessionBytesPerSec: 200_000 }));
    const [display, total] = s.buckets(T.DISPLAY, 'toClient');
    display!.take(116_384); // 100 000 in debt = 1 s at the old rate
    s.setPolicy(policy({ channelBytesPerSec: new Map([[T.DISPLAY, 50_000]]), userBytesPerSec: 300_000 }));
    const after = s.buckets(T.DISPLAY, 'toClient');
    expect(after[0]).toBe(display); // same bucket, new rate
    expect(display!.waitMs()).toBe(2000); // same debt at half the rate
    expect(after).not.toContain(total); // session limit removed
    expect(rates(after)).toEqual([50_000, 300_000]); // user limit added
    t = 2000;
    expect(display!.waitMs()).toBe(0);
  });

  it('a shared bucket runs at the lowest rate its holders ask for, and relaxes when the strict one leaves', () => {
    const book = new BucketBook();
    const a = book.forSession({ key: 's1', tenant: 't', user: 'u' }, policy({ userBytesPerSec: 5000 }));
    const b = book.forSession({ key: 's2', tenant: 't', user: 'u' }, policy({ userBytesPerSec: 2000 }));
    expect(rates(a.buckets(T.DISPLAY, 'toClient'))).toEqual([2000]);
    b.release();
    expect(rates(a.buckets(T.DISPLAY, 'toClient'))).toEqual([5000]);
    a.setPolicy(policy({ userBytesPerSec: 1000 }));
    expect(rates(a.buckets(T.DISPLAY, 'toGuest'))).toEqual([1000]);
  });

  it('refcounts: user and tenant buckets vanish with their last session, and come back fresh', () => {
    const t = 0;
    const book = new BucketBook({ now: () => t });
    const p = policy({ userBytesPerSec: 1000, tenantBytesPerSec: 4000 });
    const a = book.forSession({ key: 's1', tenant: 't', user: 'u' }, p);
    const b = book.forSession({ key: 's2', tenant: 't', user: 'u' }, p);
    expect(book.sharedScopes).toBe(2);
    const [user] = a.buckets(T.DISPLAY, 'toClient');
    user!.take(1_000_000);
    a.release();
    a.release(); // idempotent: must not drop b's share
    expect(book.sharedScopes).toBe(2);
    expect(b.buckets(T.DISPLAY, 'toClient')[0]).toBe(user);
    expect(a.buckets(T.DISPLAY, 'toClient')).toEqual([]);
    a.setPolicy(p); // a released shaper stays released
    expect(a.buckets(T.DISPLAY, 'toClient')).toEqual([]);
    b.release();
    expect(book.sharedScopes).toBe(0);
    const c = book.forSession({ key: 's3', tenant: 't', user: 'u' }, p);
    expect(c.buckets(T.DISPLAY, 'toClient')[0]!.waitMs()).toBe(0); // the old debt went with the old bucket
  });

  it('a session whose new policy drops the user limit leaves the shared bucket', () => {
    const book = new BucketBook();
    const a = book.forSession({ key: 's1', tenant: 't', user: 'u' }, policy({ userBytesPerSec: 1000 }));
    a.setPolicy(policy());
    expect(book.sharedScopes).toBe(0);
    expect(a.buckets(T.DISPLAY, 'toClient')).toEqual([]);
  });
});
