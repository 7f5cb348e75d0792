import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { credentials, type ChannelCredentials, type ChannelOptions, type ClientReadableStream, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { hostAgent } from '@deskplane/grpc-contracts';
import type { HostState } from '@deskplane/testbed';
import { parseConfig, type HostAgentConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { startHostAgent, type RunningHostAgent } from '../../src/server';
import type { TestbedHost, TestbedHosts } from './testbed-hosts';

/** A host agent started on one testbed host (127.0.0.1:0) and a generated client for it. */
export interface AgentUnderTest {
  host: HostState;
  config: HostAgentConfig;
  agent: RunningHostAgent;
  client: hostAgent.HostAgentClient;
  storageDir: string;
}

export function agentConfig(tb: TestbedHosts, h: TestbedHost, over: Partial<HostAgentConfig> = {}): HostAgentConfig {
  const base = parseConfig({}, { DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS: h.host.address });
  return {
    ...base,
    hostName: h.host.name,
    listen: { host: '127.0.0.1', port: 0 },
    metricsListen: { host: '127.0.0.1', port: 0 },
    libvirtUri: h.config.libvirtUri,
    migrationUri: h.config.libvirtUri,
    storageDir: tb.storageDir,
    goldenImagesDir: tb.goldenImagesDir,
    assumeSharedStorage: true,
    logLevel: (process.env.HOST_AGENT_TEST_LOG as HostAgentConfig['logLevel'] | undefined) ?? 'error',
    shutdownGraceMs: 2_000,
    ...over,
  };
}

export async function startAgent(
  tb: TestbedHosts,
  h: TestbedHost,
  over: Partial<HostAgentConfig> = {},
  clientCredentials: ChannelCredentials = credentials.createInsecure(),
  clientOptions: ChannelOptions = {},
): Promise<AgentUnderTest> {
  const config = agentConfig(tb, h, over);
  const agent = await startHostAgent(config, undefined, { log: createLogger({ level: config.logLevel, base: { host: h.host.name } }) });
  const client = new hostAgent.HostAgentClient(`127.0.0.1:${agent.port}`, clientCredentials, clientOptions);
  return { host: h.host, config, agent, client, storageDir: tb.storageDir };
}

export async function stopAgent(a: AgentUnderTest | undefined): Promise<void> {
  if (!a) return;
  a.client.close();
  await a.agent.close();
}

/** Promise form of a unary call: `call<Guest>(cb => client.getGuest(req, cb))`. */
export function call<T>(fn: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** Collects a server stream until it ends; rejects with the status error. */
export function collect<T>(stream: ClientReadableStream<T>, onMessage?: (m: T) => void): Promise<T[]> {
  const got: T[] = [];
  return new Promise((resolve, reject) => {
    stream.on('data', (m: T) => {
      got.push(m);
      onMessage?.(m);
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(got));
  });
}

/** The gRPC error a promise rejects with (fails the test when it resolves). */
export async function grpcError(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
}

export function virsh(uri: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('virsh', ['-q', '-c', uri, ...args], { timeout: timeoutMs }, (err, stdout, stderr) =>
      err ? reject(new Error(`virsh ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}

export async function domainNames(uri: string): Promise<string[]> {
  return (await virsh(uri, ['list', '--all', '--name']))
    .split('\n')
    .map(s => s.trim())
    .filter(Boolean)
    .sort();
}

export const listDir = (dir: string): string[] => readdirSync(dir).sort();

/** pid of the QEMU process running domain `name` (any host: QEMU command lines are visible from here). */
export function qemuPidOf(name: string): number | undefined {
  for (const pid of readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (cmdline[0]?.includes('qemu-system') && cmdline.some(a => a === `guest=${name}` || a.startsWith(`guest=${name},`))) return Number(pid);
    } catch {
      /* gone while we looked */
    }
  }
  return undefined;
}

export const serialLogOf = (storageDir: string, desktopUid: string): string => join(storageDir, `dp-${desktopUid}.serial.log`);

/** Tick numbers the guest's init printed so far ("deskplane-guest tick N"). */
export function ticks(serialLog: string): number[] {
  try {
    return [...readFileSync(serialLog, 'utf8').matchAll(/deskplane-guest tick (\d+)/g)].map(m => Number(m[1]));
  } catch {
    return [];
  }
}

/** Waits until the guest's counter shows two different values above `after`; returns the last. */
export async function waitForTicks(serialLog: string, after: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let first: number | undefined;
  while (Date.now() < deadline) {
    const last = ticks(serialLog).filter(t => t > after).at(-1);
    if (last !== undefined) {
      first ??= last;
      if (last !== first) return last;
    }
    await new Promise(r => setTimeout(r, 200));
  }
  throw new Error(`the guest counter in ${serialLog} did not advance past ${after} within ${timeoutMs} ms (seen: ${ticks(serialLog).slice(-3).join(', ') || 'none'})`);
}

export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise(r => setTimeout(r, 200));
  }
}

/**
 * Decodes an 8-bit RGB/RGBA/gray PNG far enough to count distinct pixels (test helper: the
 * screenshot must not be one flat colour).
 */
export function distinctPixels(png: Buffer, limit = 16): { width: number; height: number; distinct: number } {
  if (!png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) throw new Error('not a PNG');
  let off = 8;
  let width = 0;
  let height = 0;
  let bpp = 0;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8]!;
      const channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[data[9]!];
      if (depth !== 8 || !channels || data[12] !== 0) throw new Error(`PNG colour type ${data[9]} depth ${depth} interlace ${data[12]} not supported by the test decoder`);
      bpp = channels;
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const prev = Buffer.alloc(stride);
  const cur = Buffer.alloc(stride);
  const seen = new Set<string>();
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? cur[x - bpp]! : 0;
      const b = prev[x]!;
      const c = x >= bpp ? prev[x - bpp]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][filter] ?? 0;
      cur[x] = (line[x]! + pred) & 0xff;
    }
    for (let x = 0; x < stride && seen.size < limit; x += bpp) seen.add(cur.subarray(x, x + bpp).toString('hex'));
    cur.copy(prev);
  }
  return { width, height, distinct: seen.size };
}

export type { Metadata };
