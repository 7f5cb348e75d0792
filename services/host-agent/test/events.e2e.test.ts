import { randomBytes, randomUUID } from 'node:crypto';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { hostAgent } from '@deskplane/grpc-contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, qemuPidOf, serialLogOf, startAgent, stopAgent, waitForTicks, waitUntil, type AgentUnderTest } from './support/agents';
import { TEST_GOLDEN_IMAGE, testbedHosts, type TestbedHosts } from './support/testbed-hosts';

// WatchEvents on a real libvirtd: a guest whose QEMU is killed shows up as CRASHED, and a
// client that reconnects with its last sequence gets exactly the events it missed.

const MiB = 1024n * 1024n;
const T = hostAgent.GuestEventType;

/** A WatchEvents stream that records what it receives until cancelled. */
function watch(a: AgentUnderTest, afterSequence: bigint, epoch = ''): { events: hostAgent.GuestEvent[]; stream: ClientReadableStream<hostAgent.GuestEvent>; errors: Error[] } {
  const events: hostAgent.GuestEvent[] = [];
  const errors: Error[] = [];
  const stream = a.client.watchEvents({ afterSequence, epoch });
  stream.on('data', (e: hostAgent.GuestEvent) => events.push(e));
  stream.on('error', (err: Error & { code?: number }) => {
    if (err.code !== 1) errors.push(err); // 1 = CANCELLED: we hung up
  });
  return { events, stream, errors };
}

const of = (events: hostAgent.GuestEvent[], uid: string, type: hostAgent.GuestEventType): hostAgent.GuestEvent | undefined =>
  events.find(e => e.desktopUid === uid && e.type === type);

describe('host agent e2e: lifecycle events', () => {
  let tb: TestbedHosts;
  let a: AgentUnderTest;
  const uid = randomUUID();

  beforeAll(async () => {
    tb = testbedHosts();
    a = await startAgent(tb, tb.hosts[0]!);
    const spec: hostAgent.GuestSpec = {
      desktopUid: uid,
      displayName: 'e2e events',
      vcpus: 1,
      memoryBytes: 192n * MiB,
      diskBytes: 256n * MiB,
      goldenImage: TEST_GOLDEN_IMAGE,
      spice: { password: randomBytes(12).toString('base64url'), imageCompression: 0, streamingMode: 0 },
    };
    await call(cb => a.client.ensureGuest({ spec }, cb));
  });

  afterAll(async () => {
    await call(cb => a?.client.deleteGuest({ desktopUid: uid }, cb)).catch(() => undefined);
    await stopAgent(a);
    await tb?.cleanup();
  });

  it("killing the guest's QEMU by pid produces CRASHED on the stream", async () => {
    const w = watch(a, 0n);
    try {
      await call(cb => a.client.startGuest({ desktopUid: uid }, cb));
      await waitUntil('STARTED', () => of(w.events, uid, T.GUEST_EVENT_TYPE_STARTED), 30_000);
      await waitForTicks(serialLogOf(tb.storageDir, uid), 0, 60_000);
      const pid = qemuPidOf(`dp-${uid}`);
      expect(pid).toBeGreaterThan(0);
      process.kill(pid!, 'SIGKILL');
      const crashed = await waitUntil('CRASHED', () => of(w.events, uid, T.GUEST_EVENT_TYPE_CRASHED), 30_000);
      expect(crashed.sequence).toBeGreaterThan(of(w.events, uid, T.GUEST_EVENT_TYPE_STARTED)!.sequence);
      expect(Date.parse(crashed.time)).toBeGreaterThan(Date.now() - 60_000);
      const g = await call<hostAgent.Guest>(cb => a.client.getGuest({ desktopUid: uid }, cb));
      expect(g.state).not.toBe(hostAgent.GuestState.GUEST_STATE_RUNNING);
      expect(w.errors).toEqual([]);
    } finally {
      w.stream.cancel();
    }
  });

  it('a client that reconnects with its last sequence misses nothing', async () => {
    // `witness` stays connected throughout; `client` hangs up and comes back.
    const witness = watch(a, 0n);
    const first = watch(a, 0n);
    try {
      await call(cb => a.client.startGuest({ desktopUid: uid }, cb));
      await waitUntil('STARTED on the first connection', () => of(first.events, uid, T.GUEST_EVENT_TYPE_STARTED), 30_000);
      first.stream.cancel();
      const last = first.events.at(-1)!.sequence;

      // events while the client is away: a stop and a start
      await call(cb => a.client.stopGuest({ desktopUid: uid, timeoutSeconds: 1 }, cb));
      await call(cb => a.client.startGuest({ desktopUid: uid }, cb));
      await waitUntil('the witness to see the restart', () => witness.events.filter(e => e.desktopUid === uid && e.type === T.GUEST_EVENT_TYPE_STARTED).length >= 2 || undefined, 30_000);

      // resume with the position AND the epoch it came from, as a real client does
      const again = watch(a, last, first.events.at(-1)!.epoch);
      try {
        const missed = await waitUntil('the replay', () => (again.events.length >= witness.events.filter(e => e.sequence > last).length ? again.events : undefined), 10_000);
        // contiguous from last + 1, same as what the witness saw after `last`
        expect(missed.map(e => e.sequence)).toEqual(missed.map((_, i) => last + 1n + BigInt(i)));
        expect(missed).toEqual(witness.events.filter(e => e.sequence > last));
        expect(of(missed, uid, T.GUEST_EVENT_TYPE_STOPPED)).toBeDefined();
        expect(of(missed, uid, T.GUEST_EVENT_TYPE_STARTED)).toBeDefined();

        // and then it tails live, still contiguous
        await call(cb => a.client.stopGuest({ desktopUid: uid, timeoutSeconds: 1 }, cb));
        await waitUntil('the live STOPPED', () => (again.events.filter(e => e.type === T.GUEST_EVENT_TYPE_STOPPED).length >= 2 ? true : undefined), 30_000);
        expect(again.events.map(e => e.sequence)).toEqual(again.events.map((_, i) => last + 1n + BigInt(i)));
        expect([...first.errors, ...again.errors, ...witness.errors]).toEqual([]);
      } finally {
        again.stream.cancel();
      }
    } finally {
      witness.stream.cancel();
      first.stream.cancel();
    }
  });

  it('a position the agent no longer has is OUT_OF_RANGE', async () => {
    const w = watch(a, 1_000_000n);
    await waitUntil('the stream to fail', () => w.errors[0], 10_000);
    expect(w.errors[0]).toMatchObject({ code: 11 });
    expect(w.errors[0]!.message).toMatch(/relist with ListGuests/);
  });
});
