import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../src/errors';
import { canConnect, freePort } from '../src/ports';
import { probeSpiceLink } from '../src/probes/spice';

const QEMU = 'qemu-system-x86_64';
const HOST = '127.0.0.1';
const QEMU_READY_MS = 15_000;
const PROBE_RUNS = 20;

/**
 * A bare QEMU with a SPICE server: -S keeps the (diskless, kernel-less) CPU paused, but
 * the SPICE server runs in its own thread and answers links all the same.
 */
async function startQemu(port: number, password: string): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(
    QEMU,
    [
      '-accel', 'tcg', '-m', '64', '-nodefaults', '-vga', 'qxl', '-display', 'none', '-S',
      '-spice', `port=${port},addr=${HOST},password-secret=spice0`,
      '-object', `secret,id=spice0,data=${password}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => undefined); // ENOENT shows up as an exit with no pid below

  const deadline = Date.now() + QEMU_READY_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.pid === undefined) break;
    if (await canConnect(HOST, port, 500)) return { child, stderr: () => stderr };
    await Promise.race([exited, new Promise((r) => setTimeout(r, 100))]);
  }
  await stopQemu(child);
  throw new DependencyUnavailableError(`QEMU SPICE server on ${HOST}:${port}`, stderr.trim() || `${QEMU} did not start listening`);
}

/** SIGTERM by pid, SIGKILL after a grace period; resolves once the process is gone. */
async function stopQemu(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const killer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 5_000);
  await gone;
  clearTimeout(killer);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

describe('SPICE link probe against QEMU', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  let port: number;
  let qemu: Awaited<ReturnType<typeof startQemu>> | undefined;

  beforeAll(async () => {
    port = await freePort(HOST);
    qemu = await startQemu(port, password);
  }, 30_000);

  afterAll(async () => {
    if (qemu) await stopQemu(qemu.child);
  });

  it('links the main channel with the right password (result 0)', async () => {
    const { result, serverCaps } = await probeSpiceLink({ host: HOST, port, password });
    expect(result).toBe(0);
    // spice-server 0.15 offers AUTH_SELECTION (bit 0) and MINI_HEADER (bit 3) on every link.
    expect(serverCaps.common[0]! & 0x9).toBe(0x9);
  });

  it('is refused with the wrong password (result 7)', async () => {
    const { result } = await probeSpiceLink({ host: HOST, port, password: `${password}-wrong` });
    expect(result).toBe(7);
  });

  it(`links ${PROBE_RUNS} times in a row; reports the median handshake time`, async () => {
    const times: number[] = [];
    for (let i = 0; i < PROBE_RUNS; i++) {
      const t0 = performance.now();
      const { result } = await probeSpiceLink({ host: HOST, port, password });
      times.push(performance.now() - t0);
      expect(result).toBe(0);
    }
    const ms = (x: number): string => x.toFixed(1);
    console.log(`SPICE link handshake over ${PROBE_RUNS} probes: median ${ms(median(times))} ms, ` +
      `min ${ms(Math.min(...times))} ms, max ${ms(Math.max(...times))} ms`);
    expect(median(times)).toBeLessThan(1_000);
  });

  it('refuses a password over 60 bytes before sending it', async () => {
    await expect(probeSpiceLink({ host: HOST, port, password: 'x'.repeat(61) })).rejects.toMatchObject({
      code: 'SPICE_PASSWORD_TOO_LONG',
    });
  });

  it('rejects quickly, naming the SPICE server, when the port is closed', async () => {
    const closed = await freePort(HOST);
    const t0 = Date.now();
    const err: unknown = await probeSpiceLink({ host: HOST, port: closed, password }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyUnavailableError);
    expect((err as Error).message).toBe(`SPICE server at ${HOST}:${closed} is not available: connection refused`);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  describe('never hangs on a misbehaving server', () => {
    let server: Server;
    let fakePort: number;
    let behaviour: (s: Socket) => void = () => undefined;
    const sockets = new Set<Socket>();

    beforeAll(async () => {
      server = createServer((s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => undefined);
        behaviour(s);
      });
      await new Promise<void>((r) => server.listen(0, HOST, r));
      fakePort = (server.address() as { port: number }).port;
    });

    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    });

    it('a silent server: rejects at the timeout', async () => {
      behaviour = () => undefined;
      const t0 = Date.now();
      await expect(probeSpiceLink({ host: HOST, port: fakePort, password, timeoutMs: 300 })).rejects.toThrow(
        new RegExp(`^SPICE server at ${HOST}:${fakePort} is not available: no complete link answer within 300 ms`),
      );
      expect(Date.now() - t0).toBeLessThan(1_000);
    });

    it('a server that hangs up: rejects at once', async () => {
      behaviour = (s) => s.end();
      await expect(probeSpiceLink({ host: HOST, port: fakePort, password })).rejects.toThrow(/closed the connection/);
    });

    it('a server speaking another protocol: rejects with the SPICE link error', async () => {
      behaviour = (s) => s.write('SSH-2.0-OpenSSH_9.2\r\n');
      await expect(probeSpiceLink({ host: HOST, port: fakePort, password })).rejects.toMatchObject({
        code: 'SPICE_BAD_MAGIC',
        linkError: 2,
      });
    });
  });
});
