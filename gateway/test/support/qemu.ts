import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { canConnect } from '@deskplane/testbed';

export const HOST = '127.0.0.1';

/** Paused, diskless QEMU with a SPICE server, as testbed/test/spice-probe.smoke.test.ts starts it. */
export async function startQemu(port: number, password: string): Promise<ChildProcess> {
  const child = spawn(
    'qemu-system-x86_64',
    ['-accel', 'tcg', '-m', '64', '-nodefaults', '-vga', 'qxl', '-display', 'none', '-S',
      '-spice', `port=${port},addr=${HOST},password-secret=spice0`, '-object', `secret,id=spice0,data=${password}`],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  child.once('error', () => undefined);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && child.exitCode === null && child.pid !== undefined) {
    if (await canConnect(HOST, port, 500)) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stopQemu(child);
  throw new Error('QEMU did not start listening');
}

export async function stopQemu(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const killer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 5_000);
  await gone;
  clearTimeout(killer);
}

/** A TCP forwarder in front of QEMU that counts connections: what QEMU saw. */
export async function countingProxy(target: number): Promise<{ port: number; count: () => number; close: () => Promise<void> }> {
  let n = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    n++;
    const up = connect({ host: HOST, port: target });
    for (const x of [s, up]) {
      sockets.add(x);
      x.on('error', () => undefined);
      x.on('close', () => {
        sockets.delete(x);
        s.destroy();
        up.destroy();
      });
    }
    s.pipe(up);
    up.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  return {
    port: (server.address() as { port: number }).port,
    count: () => n,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}
