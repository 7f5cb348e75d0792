import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { API_VERSION, type DesktopPolicy, type DesktopPolicySpec } from '@deskplane/api';
import { ChannelType } from '@deskplane/spice-protocol';
import { freePort, probeSpiceLink, startViewer, type Viewer } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENIED_CHANNEL_ERROR, MemoryTicketStore, StaticPolicySource, buildVvFile, startGateway, type Gateway, type SessionEnd, type SessionInfo } from '../src/index';
import { isAlive, queryStatus, startGuest, stopGuest, waitForGuestPicture, waitForSerial, type Guest } from './support/guest';
import { countingRelay, ratesOver, sendInput, waitFor, type CountingRelay } from './support/policy-harness';
import { HOST, startQemu, stopQemu } from './support/qemu';

/** Git-ignored: remote-viewer logs of this run. */
const ARTIFACTS = resolve(__dirname, '..', '..', 'test-artifacts', 'gateway-policy');
const TENANT = 'acme';
/** 2000 kbit/s, as DesktopPolicy writes it, is 250 000 bytes/s each way. */
const CAP_KBPS = 2000;
const CAP = CAP_KBPS * 125;
const IDLE_S = 3;
const MAX_SESSION_S = 4;
const CHECK_MS = 200;
/** A refusal closes the session within one check period; the rest is TCG and event-loop slack. */
const LATE_MS = CHECK_MS + 1_500;

/**
 * Tiny idle and session times go through the gateway's pure path (resolvePolicy: seconds ×
 * 1000): the CRD's 60 s minimum is the API server's rule, not the gateway's, and a
 * StaticPolicySource takes the objects as given.
 */
const policy = (name: string, user: string, spec: Partial<DesktopPolicySpec>): DesktopPolicy => ({
  apiVersion: API_VERSION,
  kind: 'DesktopPolicy',
  metadata: { name, namespace: TENANT, generation: 1 },
  spec: { subjects: { users: [user] }, ...spec },
});
const BASE: readonly DesktopPolicy[] = [
  policy('display-cap', 'alice', { bandwidth: { perChannel: { display: CAP_KBPS } } }),
  policy('no-usb', 'carol', { deniedChannels: ['usbredir'] }),
  policy('one-session', 'dave', { maxConcurrentSessions: 1 }),
  policy('idle', 'erin', { idleTimeoutSeconds: IDLE_S }),
  policy('short', 'frank', { maxSessionSeconds: MAX_SESSION_S }),
];

type LogEntry = { at: number; event: string; fields: Record<string, unknown> };
interface Opened {
  v: Viewer;
  ticket: string;
  key: string;
}

describe('DesktopPolicy end to end: real guests, real remote-viewers, one gateway (issue 6)', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const tickets = new MemoryTicketStore();
  const policies = new StaticPolicySource(BASE);
  const logs: LogEntry[] = [];
  const ends: SessionEnd[] = [];
  const viewers = new Set<Viewer>();
  let floodA: Guest | undefined;
  let floodB: Guest | undefined;
  let usb: Guest | undefined;
  let paused: { child: ChildProcess; port: number } | undefined;
  let relayA: CountingRelay | undefined;
  let relayU: CountingRelay | undefined;
  let gw: Gateway | undefined;

  const session = (key: string): SessionInfo | undefined => gw!.sessions.get(key);
  const bytes = (key: string, type: number, dir: 'bytesToClient' | 'bytesToGuest'): number =>
    (session(key)?.channels ?? []).filter((c) => c.channelType === type).reduce((n, c) => n + c[dir], 0);
  const types = (key: string): number[] => (session(key)?.channels ?? []).map((c) => c.channelType).sort((a, b) => a - b);
  const mint = async (user: string, port: number): Promise<string> =>
    (await tickets.mint({ user, tenant: TENANT, desktop: `vd-${user}`, upstream: { host: HOST, port, password }, ttlMs: 120_000 })).ticket;
  const endOf = (key: string): SessionEnd | undefined => ends.find((e) => e.info.key === key);

  /** remote-viewer with a .vv naming the gateway; resolves once its session has display and inputs spliced. */
  async function open(user: string, port: number): Promise<Opened> {
    const ticket = await mint(user, port);
    const vvFile = join(ARTIFACTS, `${user}.vv`);
    writeFileSync(vvFile, buildVvFile({ host: HOST, port: gw!.port, password: ticket, title: user }), { mode: 0o600 });
    const v = await startViewer({ vvFile, log: join(ARTIFACTS, `${user}.remote-viewer.log`) });
    viewers.add(v);
    const s = await waitFor(`${user}'s session with display and inputs`, () =>
      gw!.sessions.list({ user }).find((x) => x.channels.some((c) => c.channelType === ChannelType.DISPLAY) && x.channels.some((c) => c.channelType === ChannelType.INPUTS)),
    );
    return { v, ticket, key: s.key };
  }
  async function close(o: Opened): Promise<void> {
    await o.v.close();
    viewers.delete(o.v);
    await waitFor(`${o.key} to end`, () => endOf(o.key));
  }
  /** The guest survived whatever the gateway closed: its process runs and its CPU is not stopped. */
  async function guestRuns(g: Guest): Promise<void> {
    expect(isAlive(g), 'QEMU is still running').toBe(true);
    expect(await queryStatus(g)).toBe('running');
  }

  beforeAll(async () => {
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    const usbArgs = ['-device', 'qemu-xhci', '-chardev', 'spicevmc,name=usbredir,id=usbredirchardev1', '-device', 'usb-redir,chardev=usbredirchardev1'];
    [floodA, floodB, usb] = await Promise.all([
      startGuest({ password, extraCmdline: 'deskplane.flood' }),
      startGuest({ password, extraCmdline: 'deskplane.flood' }),
      startGuest({ password, extraArgs: usbArgs }),
    ]);
    const pausedPort = await freePort(HOST);
    paused = { child: await startQemu(pausedPort, password), port: pausedPort };
    relayA = await countingRelay(floodA.spicePort);
    relayU = await countingRelay(usb.spicePort);
    gw = await startGateway({
      listen: { host: HOST, port: 0 },
      tickets,
      policies,
      policyCheckMs: CHECK_MS,
      failedTickets: { maxFailures: 1_000 },
      log: (event, fields) => void logs.push({ at: Date.now(), event, fields }),
    });
    gw.sessions.on('closed', (e) => void ends.push(e));
    // Three TCG guests booting at once on two cores: give them time.
    await Promise.all([floodA, floodB, usb].map((g) => waitForSerial(g, /deskplane-guest tick 1\b/, 120_000)));
  }, 200_000);

  afterAll(async () => {
    for (const v of viewers) await v.close();
    await gw?.close();
    await relayA?.close();
    await relayU?.close();
    if (paused) await stopQemu(paused.child);
    for (const g of [floodA, floodB, usb]) if (g) await stopGuest(g);
  }, 60_000);

  describe('bandwidth', () => {
    let a: Opened | undefined;
    let b: Opened | undefined;
    afterAll(async () => {
      for (const o of [a, b]) if (o) await close(o);
      // The flooding guests are done: free their CPU for the rest of the file.
      for (const g of [floodA, floodB]) if (g) await stopGuest(g);
    }, 60_000);

    it('a 2 Mbit/s display cap holds within ±10% over 10 s; the uncapped user beside it is not slowed; nothing piles up in the gateway', async () => {
      b = await open('bob', floodB!.spicePort);
      await new Promise((r) => setTimeout(r, 5_000)); // the first full-screen updates
      const [bAlone] = await ratesOver([() => bytes(b!.key, ChannelType.DISPLAY, 'bytesToClient')], 10_000);

      a = await open('alice', relayA!.port);
      await new Promise((r) => setTimeout(r, 5_000));
      const display = relayA!.links().filter((l) => l.channelType === ChannelType.DISPLAY && !l.closed);
      expect(display, 'alice has one display link to her guest').toHaveLength(1);
      const rss: number[] = [process.memoryUsage().rss];
      const sampler = setInterval(() => rss.push(process.memoryUsage().rss), 250);
      const [aRate, bBoth, aFromGuest] = await ratesOver(
        [() => bytes(a!.key, ChannelType.DISPLAY, 'bytesToClient'), () => bytes(b!.key, ChannelType.DISPLAY, 'bytesToClient'), () => display[0]!.fromGuest],
        10_000,
      );
      clearInterval(sampler);
      const rssGrowth = Math.max(...rss) - rss[0]!;
      const ratio = bBoth! / bAlone!;
      console.log(
        `[bandwidth] alice capped ${Math.round(aRate!)} B/s to the client, ${Math.round(aFromGuest!)} B/s from her guest (cap ${CAP}); ` +
          `bob alone ${Math.round(bAlone!)} B/s, beside alice ${Math.round(bBoth!)} B/s, ratio ${ratio.toFixed(2)}; ` +
          `gateway process RSS ${Math.round(rss[0]! / 2 ** 20)} MiB, +${Math.round(rssGrowth / 2 ** 20)} MiB at most while capped`,
      );
      // The flood must be far above the cap or the cap proves nothing (measured 1–2.8 MB/s).
      expect(bAlone, 'an uncapped flooding guest sends well over 2 Mbit/s').toBeGreaterThan(4 * CAP);
      expect(aRate).toBeGreaterThan(0.9 * CAP);
      expect(aRate).toBeLessThan(1.1 * CAP);
      // Backpressure reaches QEMU: the guest could send only what the gateway passed on.
      // Were the gateway reading ahead, this would be the guest's full flood rate.
      expect(aFromGuest).toBeLessThan(1.2 * CAP);
      expect(rssGrowth, 'the gateway holds no growing backlog').toBeLessThan(64 * 2 ** 20);
      // Bob is not slowed. Both windows run with both flooding guests on (alice's guest
      // floods before she connects), so the CPU those take is the same in each; what
      // differs is alice's capped session in the gateway and her viewer decoding 250 kB/s.
      // Bob's own rate swings ±40% between 10 s windows on a loaded 2-core TCG host, so a
      // tight ratio would flake; sharing alice's bucket, or a gateway stalled by shaping,
      // would pin bob at or under 250 kB/s, a ratio below ~0.25 and under 2× the cap.
      expect(bBoth, 'bob is not held to alice\'s cap').toBeGreaterThan(2 * CAP);
      expect(ratio, 'bob beside alice vs bob alone').toBeGreaterThan(0.5);
    });

    it('a lowered display cap applies to the open session', async () => {
      const lowered = CAP_KBPS / 2;
      policies.set([policy('display-cap', 'alice', { bandwidth: { perChannel: { display: lowered } } }), ...BASE.slice(1)]);
      await new Promise((r) => setTimeout(r, 2_000)); // a debt left at the old rate is repaid
      const [rate] = await ratesOver([() => bytes(a!.key, ChannelType.DISPLAY, 'bytesToClient')], 8_000);
      console.log(`[policy change] alice's display ${Math.round(rate!)} B/s after the cap went to ${lowered * 125} B/s`);
      expect(session(a!.key)?.policy).toBe('display-cap');
      expect(rate).toBeGreaterThan(0.9 * lowered * 125);
      expect(rate).toBeLessThan(1.1 * lowered * 125);
      policies.set(BASE);
    });
  });

  describe('channels', () => {
    it('a denied usbredir channel is refused (error 9, never reaches QEMU) while display and inputs work', async () => {
      const c = await open('carol', relayU!.port);
      try {
        const s = session(c.key)!;
        expect(s.policy).toBe('no-usb');
        const shown = await waitForGuestPicture(c.v, usb!, 30_000);
        expect(shown.match, 'the viewer shows the guest\'s own screen').toBeDefined();
        const displayBefore = bytes(c.key, ChannelType.DISPLAY, 'bytesToClient');
        const watch = c.v.watchChanges({ intervalMs: 50 });
        await new Promise((r) => setTimeout(r, 3_000));
        const { changes } = watch.stop();
        expect(changes.length, 'the picture moved with the guest\'s counter').toBeGreaterThanOrEqual(2);
        expect(bytes(c.key, ChannelType.DISPLAY, 'bytesToClient')).toBeGreaterThan(displayBefore);

        const inputBefore = bytes(c.key, ChannelType.INPUTS, 'bytesToGuest');
        await sendInput(c.v);
        await waitFor('inputs bytes to the guest', () => bytes(c.key, ChannelType.INPUTS, 'bytesToGuest') > inputBefore, 5_000);

        // The channel list the client got had no usbredir: it never tried, nothing reached QEMU.
        expect(types(c.key)).not.toContain(ChannelType.USBREDIR);
        expect(types(c.key)).toEqual(expect.arrayContaining([ChannelType.MAIN, ChannelType.DISPLAY, ChannelType.INPUTS]));
        const upstreamLinks = relayU!.links().length;
        const raw = await probeSpiceLink({ host: HOST, port: gw!.port, password: c.ticket, channelType: ChannelType.USBREDIR, connectionId: s.sessionId });
        expect(raw.result).toBe(DENIED_CHANNEL_ERROR);
        expect(relayU!.links().length, 'the refused link never reached QEMU').toBe(upstreamLinks);
        expect(relayU!.links().filter((l) => l.openedAt >= s.openedAt && l.channelType === ChannelType.USBREDIR)).toEqual([]);
        const refused = logs.filter((l) => l.event === 'link.refused' && l.fields.channelType === ChannelType.USBREDIR);
        expect(refused.map((l) => l.fields.error)).toEqual([DENIED_CHANNEL_ERROR]);
        expect(session(c.key), 'the session lives on').toBeDefined();
      } finally {
        await close(c);
      }
    });

    it('control: without the policy the same viewer opens usbredir, a raw link joins; denying it then closes that open channel only', async () => {
      const g = await open('grace', relayU!.port);
      try {
        await waitFor('grace\'s usbredir channel', () => types(g.key).includes(ChannelType.USBREDIR));
        expect(session(g.key)!.policy).toBe('');
        const upstreamLinks = relayU!.links().length;
        const raw = await probeSpiceLink({ host: HOST, port: gw!.port, password: g.ticket, channelType: ChannelType.USBREDIR, connectionId: session(g.key)!.sessionId });
        expect(raw.result).toBe(0);
        expect(relayU!.links().slice(upstreamLinks).map((l) => l.channelType)).toEqual([ChannelType.USBREDIR]);
        // The probe hangs up after the link result; its channel leaves the session, the viewer's stays.
        const usbChannels = (): number => types(g.key).filter((t) => t === ChannelType.USBREDIR).length;
        await waitFor('the probe\'s usbredir channel to go', () => usbChannels() === 1, 5_000);

        const t0 = Date.now();
        policies.set([...BASE, policy('no-usb-now', 'grace', { deniedChannels: ['usbredir'] })]);
        await waitFor('the usbredir channel to close', () => !types(g.key).includes(ChannelType.USBREDIR), 5_000);
        expect(logs.filter((l) => l.at >= t0 && l.event === 'policy.channel-closed').map((l) => [l.fields.session, l.fields.channelType])).toEqual([
          [g.key, ChannelType.USBREDIR],
        ]);
        expect(session(g.key)?.policy).toBe('no-usb-now');
        expect(types(g.key)).toEqual(expect.arrayContaining([ChannelType.MAIN, ChannelType.DISPLAY, ChannelType.INPUTS]));
        const displayBefore = bytes(g.key, ChannelType.DISPLAY, 'bytesToClient');
        await waitFor('display traffic after the close', () => bytes(g.key, ChannelType.DISPLAY, 'bytesToClient') > displayBefore, 5_000);
        expect(g.v.isAlive()).toBe(true);
        await guestRuns(usb!);
      } finally {
        policies.set(BASE);
        await close(g);
      }
    });
  });

  describe('session limits', () => {
    it('maxConcurrentSessions 1: a second session of the same user is refused (7) before the guest; another user is fine; after the first ends, admitted', async () => {
      const d = await open('dave', relayU!.port);
      try {
        const upstreamLinks = relayU!.links().length;
        const second = await probeSpiceLink({ host: HOST, port: gw!.port, password: await mint('dave', relayU!.port) });
        expect(second.result).toBe(7);
        expect(relayU!.links().length, 'the refused session never reached QEMU').toBe(upstreamLinks);
        expect(session(d.key), 'the first session is untouched').toBeDefined();
        // Another user at the same time (on a separate guest: spice-server takes one client).
        expect((await probeSpiceLink({ host: HOST, port: gw!.port, password: await mint('henry', paused!.port) })).result).toBe(0);
      } finally {
        await close(d);
      }
      expect((await probeSpiceLink({ host: HOST, port: gw!.port, password: await mint('dave', paused!.port) })).result).toBe(0);
    });

    it(`idle timeout ${IDLE_S} s: input keeps the session open, ${IDLE_S} s without input ends it; the guest runs on`, async () => {
      const e = await open('erin', relayU!.port);
      for (let i = 0; i < 6; i++) {
        await sendInput(e.v);
        await new Promise((r) => setTimeout(r, 1_000));
      }
      const s = session(e.key);
      expect(s, 'alive after 2× the idle timeout with input').toBeDefined();
      expect(Date.now() - s!.openedAt).toBeGreaterThan(2 * IDLE_S * 1000);
      const end = await waitFor('the idle timeout', () => endOf(e.key), IDLE_S * 1000 + 5_000);
      const idleFor = end.endedAt - end.info.lastInputAt;
      console.log(`[idle] ended ${idleFor} ms after the last input (${end.reason})`);
      expect(end.reason).toBe('idle timeout');
      expect(idleFor).toBeGreaterThanOrEqual(IDLE_S * 1000);
      expect(idleFor).toBeLessThan(IDLE_S * 1000 + LATE_MS);
      await new Promise((r) => setTimeout(r, 2_000));
      expect(gw!.sessions.list({ user: 'erin' }), 'the viewer did not come back with a new session').toEqual([]);
      await e.v.close();
      viewers.delete(e.v);
      await guestRuns(usb!);
    });

    it(`max session time ${MAX_SESSION_S} s ends a session that has input; the guest runs on and serves the next session`, async () => {
      const f = await open('frank', relayU!.port);
      const stop = { now: false };
      const typing = (async () => {
        while (!stop.now) {
          await sendInput(f.v).catch(() => undefined);
          await new Promise((r) => setTimeout(r, 500));
        }
      })();
      try {
        const end = await waitFor('the session time limit', () => endOf(f.key), MAX_SESSION_S * 1000 + 5_000);
        const lasted = end.endedAt - end.info.openedAt;
        console.log(`[max session] ended after ${lasted} ms (${end.reason}); last input ${end.endedAt - end.info.lastInputAt} ms before`);
        expect(end.reason).toBe('max session time');
        expect(lasted).toBeGreaterThanOrEqual(MAX_SESSION_S * 1000);
        expect(lasted).toBeLessThan(MAX_SESSION_S * 1000 + LATE_MS);
        expect(end.endedAt - end.info.lastInputAt, 'it was not idle').toBeLessThan(1_500);
        await new Promise((r) => setTimeout(r, 2_000));
        expect(gw!.sessions.list({ user: 'frank' }), 'the viewer did not come back with a new session').toEqual([]);
      } finally {
        stop.now = true;
        await typing;
        await f.v.close();
        viewers.delete(f.v);
      }
      await guestRuns(usb!);
      const next = await open('bob', relayU!.port);
      await waitForGuestPicture(next.v, usb!, 30_000);
      await close(next);
    });
  });
});
