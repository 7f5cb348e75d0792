import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { ChannelType, CommonCap, LinkError, capsToWords, encodeLinkReply, type LinkMessage } from '@deskplane/spice-protocol';
import { canConnect, freePort, probeSpiceLink } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapsBook, upstreamKey } from '../src/caps-book';
import { CapsProber, PROBED_CHANNEL_TYPES, probeCaps } from '../src/caps-probe';
import { linkUpstream, readMainInit } from '../src/relay';
import { HOST, countingProxy, startQemu, stopQemu } from './support/qemu';

/** Like support/qemu's startQemu, plus a sound card on SPICE audio and a usbredir chardev: all seven channel types. */
async function startFullQemu(port: number, password: string): Promise<ChildProcess> {
  const child = spawn(
    'qemu-system-x86_64',
    ['-accel', 'tcg', '-m', '64', '-nodefaults', '-vga', 'qxl', '-display', 'none', '-S',
      '-spice', `port=${port},addr=${HOST},password-secret=spice0`, '-object', `secret,id=spice0,data=${password}`,
      '-audiodev', 'spice,id=snd0', '-device', 'intel-hda', '-device', 'hda-duplex,audiodev=snd0',
      '-device', 'qemu-xhci', '-chardev', 'spicevmc,name=usbredir,id=ur0', '-device', 'usb-redir,chardev=ur0'],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  child.once('error', () => undefined);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await canConnect(HOST, port, 500)) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stopQemu(child);
  throw new Error('QEMU did not start listening');
}

const alive = (q: ChildProcess): boolean => q.exitCode === null && q.signalCode === null;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const hex = (words: number[]): string[] => words.map((w) => w.toString(16));

/** A TCP server that answers connections as `onSocket` says; closed after the test. */
async function fakeServer(onSocket: (s: Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

// spice-server 0.15.1 as measured (notes/spice-gateway-facts.md): server common 0xb everywhere.
const MEASURED: [number, string[]][] = [
  [ChannelType.MAIN, ['f']],
  [ChannelType.DISPLAY, ['1052']],
  [ChannelType.INPUTS, ['1']],
  [ChannelType.CURSOR, []],
  [ChannelType.PLAYBACK, ['a']],
  [ChannelType.RECORD, ['6']],
  [ChannelType.USBREDIR, ['1']],
];
const UNCONFIGURED = [ChannelType.SMARTCARD, ChannelType.PORT, ChannelType.WEBDAV];

describe('caps probe against a real QEMU', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  let full: ChildProcess | undefined;
  let port = 0;

  beforeAll(async () => {
    port = await freePort();
    full = await startFullQemu(port, password);
  });
  afterAll(async () => {
    if (full) await stopQemu(full);
  });

  it('reads every configured channel type\'s link-reply caps; unconfigured types are absent', async () => {
    const started = Date.now();
    const caps = await probeCaps({ host: HOST, port }, [...PROBED_CHANNEL_TYPES, ...UNCONFIGURED], 3_000);
    const ms = Date.now() - started;
    expect([...caps.keys()].sort((x, y) => x - y)).toEqual(MEASURED.map(([t]) => t));
    for (const [type, channel] of MEASURED) {
      expect({ type, common: hex(caps.get(type)!.common), channel: hex(caps.get(type)!.channel) }).toEqual({ type, common: ['b'], channel });
    }
    expect(ms).toBeLessThan(2_000);
  });

  it('closing at the link reply is harmless for every type, display included: QEMU lives and still links', async () => {
    for (let round = 0; round < 25; round++) await probeCaps({ host: HOST, port }, PROBED_CHANNEL_TYPES, 3_000);
    await sleep(1_000); // a worker-thread crash would take the process down within this
    expect(alive(full!)).toBe(true);
    expect((await probeSpiceLink({ host: HOST, port, password })).result).toBe(LinkError.OK);
    expect((await probeSpiceLink({ host: HOST, port, password: 'wrong' })).result).toBe(LinkError.PERMISSION_DENIED);
  });

  it('control: the liveness check does see the hazard (a LINKED display channel closed early kills QEMU)', async () => {
    const p = await freePort();
    const q = await startQemu(p, password);
    try {
      // The same close, one step later: after the ticket, before DISPLAY_INIT.
      await probeCaps({ host: HOST, port: p }, [ChannelType.DISPLAY], 3_000);
      await sleep(500);
      expect(alive(q)).toBe(true);
      const target = { host: HOST, port: p, password };
      const link = (channelType: number, connectionId: number): LinkMessage => ({
        connectionId, channelType, channelId: 0, channelCaps: [], commonCaps: capsToWords([CommonCap.AUTH_SELECTION, CommonCap.MINI_HEADER]),
      });
      const main = await linkUpstream(target, link(ChannelType.MAIN, 0), 3_000);
      const { sessionId } = await readMainInit(main.socket!, main.remainder, 3_000);
      const display = await linkUpstream(target, link(ChannelType.DISPLAY, sessionId), 3_000);
      expect(display.result).toBe(LinkError.OK);
      display.socket!.destroy();
      const exited = await new Promise<boolean>((resolve) => {
        if (!alive(q)) return resolve(true);
        const t = setTimeout(() => resolve(false), 5_000);
        q.once('exit', () => {
          clearTimeout(t);
          resolve(true);
        });
      });
      main.socket!.destroy();
      expect(exited).toBe(true);
      expect(q.signalCode ?? q.exitCode).toBe('SIGSEGV');
    } finally {
      await stopQemu(q);
    }
  });

  it('a basic guest (no audio, no usbredir) answers only main, display, inputs, cursor', async () => {
    const p = await freePort();
    const q = await startQemu(p, password);
    try {
      const caps = await probeCaps({ host: HOST, port: p }, PROBED_CHANNEL_TYPES, 3_000);
      expect([...caps.keys()].sort((x, y) => x - y)).toEqual([ChannelType.MAIN, ChannelType.DISPLAY, ChannelType.INPUTS, ChannelType.CURSOR]);
    } finally {
      await stopQemu(q);
    }
  });

  describe('CapsProber', () => {
    it('probes once per host:port: concurrent callers share it, then it is cached until cacheMs', async () => {
      const proxy = await countingProxy(port);
      let t = 1_000_000;
      const book = new CapsBook();
      const prober = new CapsProber(book, { cacheMs: 60_000, now: () => t });
      const target = { host: HOST, port: proxy.port };
      const key = upstreamKey(target);
      try {
        expect(book.knows(key, ChannelType.PLAYBACK)).toBe(false);
        await Promise.all([prober.ensure(target), prober.ensure(target), prober.ensure({ ...target })]);
        expect(proxy.count()).toBe(PROBED_CHANNEL_TYPES.length);
        for (const [type, channel] of MEASURED) expect(hex(book.promised(type, key).channel)).toEqual(channel);
        expect(book.knows(key, ChannelType.PLAYBACK)).toBe(true);
        t += 59_999;
        await prober.ensure(target);
        expect(proxy.count()).toBe(PROBED_CHANNEL_TYPES.length);
        t += 1;
        await prober.ensure(target);
        expect(proxy.count()).toBe(2 * PROBED_CHANNEL_TYPES.length);
        prober.invalidate(target);
        await prober.ensure(target);
        expect(proxy.count()).toBe(3 * PROBED_CHANNEL_TYPES.length);
        expect(alive(full!)).toBe(true);
      } finally {
        await proxy.close();
      }
    });

    it('does not remember a failure: the next ensure probes again', async () => {
      const dead = await freePort(); // nothing listens: the proxy accepts, then closes each connection
      const proxy = await countingProxy(dead);
      const book = new CapsBook();
      const prober = new CapsProber(book);
      const target = { host: HOST, port: proxy.port };
      try {
        const both = await Promise.allSettled([prober.ensure(target), prober.ensure(target)]);
        expect(both.map((r) => r.status)).toEqual(['rejected', 'rejected']);
        expect(String((both[0] as PromiseRejectedResult).reason)).toMatch(/no link reply on the main channel/);
        expect(proxy.count()).toBe(PROBED_CHANNEL_TYPES.length);
        await expect(prober.ensure(target)).rejects.toThrow(/main channel/);
        expect(proxy.count()).toBe(2 * PROBED_CHANNEL_TYPES.length);
        expect(book.knows(upstreamKey(target), ChannelType.MAIN)).toBe(false);
      } finally {
        await proxy.close();
      }
    });
  });

  describe('probe failures', () => {
    it('rejects on a refused connection', async () => {
      const dead = await freePort();
      await expect(probeCaps({ host: HOST, port: dead }, [ChannelType.MAIN], 1_000)).rejects.toThrow(/ECONNREFUSED/);
    });

    it('rejects a silent server at the timeout', async () => {
      const silent = await fakeServer(() => undefined);
      try {
        const started = Date.now();
        await expect(probeCaps({ host: HOST, port: silent.port }, [ChannelType.MAIN, ChannelType.DISPLAY], 300)).rejects.toThrow(/no link reply within 300 ms/);
        const ms = Date.now() - started;
        expect(ms).toBeGreaterThanOrEqual(290);
        expect(ms).toBeLessThan(1_500);
      } finally {
        await silent.close();
      }
    });

    it('rejects a server that does not speak SPICE', async () => {
      const http = await fakeServer((s) => s.once('data', () => s.write('HTTP/1.1 400 Bad Request\r\n\r\n')));
      try {
        await expect(probeCaps({ host: HOST, port: http.port }, [ChannelType.MAIN], 1_000)).rejects.toThrow(/magic/i);
      } finally {
        await http.close();
      }
    });

    it('leaves out types the server refuses in its reply; the prober then learns nothing', async () => {
      const refusing = await fakeServer((s) =>
        s.once('data', () => s.write(encodeLinkReply({ error: LinkError.NEED_SECURED, publicKey: Buffer.alloc(0), commonCaps: [], channelCaps: [] }))),
      );
      try {
        expect((await probeCaps({ host: HOST, port: refusing.port }, [ChannelType.MAIN, ChannelType.DISPLAY], 1_000)).size).toBe(0);
        const book = new CapsBook();
        await expect(new CapsProber(book).ensure({ host: HOST, port: refusing.port })).rejects.toThrow(/main channel/);
        expect(book.knows(upstreamKey({ host: HOST, port: refusing.port }), ChannelType.DISPLAY)).toBe(false);
      } finally {
        await refusing.close();
      }
    });
  });
});
