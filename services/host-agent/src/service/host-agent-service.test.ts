import { Writable } from 'node:stream';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { hostAgent } from '@deskplane/grpc-contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../config';
import type { DomainEvent, GuestDefinition, GuestInfo, HostDriver, NodeInfo } from '../driver/types';
import { NotFoundError } from '../errors';
import { createLogger } from '../log';
import { startHostAgent, type RunningHostAgent } from '../server';

// The service's own behaviour (error mapping, secrets, per-guest serialization, capacity
// reservations, event log wiring) through a real gRPC server and client, over a scripted
// driver. The real driver is exercised by test/*.e2e.test.ts on the testbed.

const MiB = 1024n * 1024n;
const UID1 = '11111111-1111-4111-8111-111111111111';
const UID2 = '22222222-2222-4222-8222-222222222222';
const PASSWORD = 'hunter2-very-secret';

const node: NodeInfo = {
  hostname: 'stub-host',
  hypervisor: 'qemu-tcg',
  cpus: 2,
  memoryBytes: 4096n * MiB,
  diskCapacityBytes: 1n << 40n,
  diskFreeBytes: 1n << 39n,
  libvirtVersion: '9.0.0',
  qemuVersion: '7.2.0',
};

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

/** A driver whose guest calls are scripted per test; unscripted calls throw. */
class ScriptedDriver implements HostDriver {
  guests = new Map<string, GuestInfo>();
  trace: string[] = [];
  emit: (e: DomainEvent) => void = () => undefined;
  ensureImpl: (def: GuestDefinition) => Promise<GuestInfo> = async def => {
    this.trace.push(`ensure+ ${def.desktopUid}`);
    await sleep(30);
    const g: GuestInfo = { desktopUid: def.desktopUid, domainName: `dp-${def.desktopUid}`, state: 'shutoff', stateReason: 'unknown', spicePort: 0, vcpus: def.vcpus, memoryBytes: def.memoryBytes, diskPath: `/x/${def.desktopUid}`, goldenImage: def.goldenImage };
    this.guests.set(def.desktopUid, g);
    this.trace.push(`ensure- ${def.desktopUid}`);
    return g;
  };

  nodeInfo = (): Promise<NodeInfo> => Promise.resolve(node);
  listGoldenImages = () => Promise.resolve([{ name: 'busybox', path: '/g/busybox.qcow2', virtualSizeBytes: 64n * MiB }]);
  ensureGuest = (def: GuestDefinition) => this.ensureImpl(def);
  startGuest = (): Promise<GuestInfo> => Promise.reject(new Error('unscripted'));
  stopGuest = (): Promise<GuestInfo> => Promise.reject(new Error('unscripted'));
  deleteGuest = (uid: string) => {
    this.trace.push(`delete ${uid}`);
    return Promise.resolve(this.guests.delete(uid));
  };
  getGuest = (uid: string) => {
    const g = this.guests.get(uid);
    return g ? Promise.resolve(g) : Promise.reject(new NotFoundError(`guest dp-${uid} is not defined on stub-host`));
  };
  listGuests = () => Promise.resolve([...this.guests.values()]);
  setConsolePassword = () => Promise.reject(new Error(`virsh update-device failed: <graphics passwd='${PASSWORD}'/> is bad`));
  screenshot = () => Promise.reject(new Error('unscripted'));
  migrateGuest = () => Promise.reject(new Error('unscripted'));
  setMigrationBandwidth = () => Promise.reject(new Error('unscripted'));
  abortMigration = () => Promise.resolve(false);
  watchEvents = (onEvent: (e: DomainEvent) => void) => {
    this.emit = onEvent;
    return { close: () => (this.emit = () => undefined) };
  };
  close = () => Promise.resolve();
}

const spec = (uid: string, memoryMiB = 1024n): hostAgent.GuestSpec => ({
  desktopUid: uid,
  displayName: '',
  vcpus: 1,
  memoryBytes: memoryMiB * MiB,
  diskBytes: 1024n * MiB,
  goldenImage: 'busybox',
  spice: { password: PASSWORD, imageCompression: 0, streamingMode: 0 },
});

function unary<T>(fn: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
}

describe('HostAgentService over a scripted driver', () => {
  let agent: RunningHostAgent | undefined;
  let client: hostAgent.HostAgentClient | undefined;
  let logs = '';

  async function start(driver: ScriptedDriver, env: Record<string, string> = {}): Promise<hostAgent.HostAgentClient> {
    const config = parseConfig({}, { DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS: '127.0.0.1', DESKPLANE_HOST_AGENT_LISTEN: '127.0.0.1:0', DESKPLANE_HOST_AGENT_METRICS_LISTEN: 'off', ...env });
    logs = '';
    const sink = new Writable({ write: (chunk: Buffer, _enc, cb) => ((logs += chunk.toString()), cb()) });
    agent = await startHostAgent(config, driver, { log: createLogger({ level: 'debug' }, sink) });
    client = new hostAgent.HostAgentClient(`127.0.0.1:${agent.port}`, credentials.createInsecure());
    return client;
  }

  afterEach(async () => {
    client?.close();
    await agent?.close();
  });

  it('serializes calls for one guest; different guests run concurrently', async () => {
    const d = new ScriptedDriver();
    const c = await start(d);
    await Promise.all([unary(cb => c.ensureGuest({ spec: spec(UID1) }, cb)), unary(cb => c.deleteGuest({ desktopUid: UID1 }, cb)), unary(cb => c.ensureGuest({ spec: spec(UID2) }, cb))]);
    const one = d.trace.filter(t => t.includes(UID1));
    expect(one).toEqual([`ensure+ ${UID1}`, `ensure- ${UID1}`, `delete ${UID1}`]);
    expect(d.trace.indexOf(`ensure+ ${UID2}`)).toBeLessThan(d.trace.indexOf(`ensure- ${UID1}`));
  });

  it('counts guests being created: two concurrent ensures cannot overcommit the host', async () => {
    const d = new ScriptedDriver();
    const c = await start(d, { DESKPLANE_HOST_AGENT_CAPACITY_MEMORY: '1536MiB' });
    const results = await Promise.allSettled([unary(cb => c.ensureGuest({ spec: spec(UID1) }, cb)), unary(cb => c.ensureGuest({ spec: spec(UID2) }, cb))]);
    expect(results.map(r => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const err = (results.find(r => r.status === 'rejected') as PromiseRejectedResult).reason as ServiceError;
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toBe('stub-host has 0.5 GiB of 1.5 GiB memory left; guest needs 1.0 GiB (place it on another host or free capacity here)');
    // re-ensuring the existing guest on the now-full host is harmless
    await unary(cb => c.ensureGuest({ spec: spec(d.guests.keys().next().value!) }, cb));
  });

  it('an unexpected failure is INTERNAL with the request id; the password is never sent or logged', async () => {
    const d = new ScriptedDriver();
    d.guests.set(UID1, { desktopUid: UID1, domainName: `dp-${UID1}`, state: 'running', stateReason: 'booted', spicePort: 5900, vcpus: 1, memoryBytes: 1024n * MiB, diskPath: '/x', goldenImage: 'busybox' });
    d.ensureImpl = () => Promise.reject(new Error(`virsh define failed: <graphics passwd='${PASSWORD}'/>`));
    const c = await start(d);
    const err = await unary(cb => c.setConsolePassword({ desktopUid: UID1, password: PASSWORD }, cb)).catch((e: ServiceError) => e);
    expect((err as ServiceError).code).toBe(status.INTERNAL);
    const requestId = (err as ServiceError).metadata.get('x-request-id')[0] as string;
    expect((err as ServiceError).details).toBe(`internal error in the host agent (request id ${requestId}); its log has the detail`);
    const err2 = await unary(cb => c.ensureGuest({ spec: spec(UID2) }, cb)).catch((e: ServiceError) => e);
    expect((err2 as ServiceError).code).toBe(status.INTERNAL);
    expect(logs).toContain('virsh update-device failed');
    expect(logs).toContain('[redacted]');
    expect(logs).not.toContain(PASSWORD);
    expect(logs).toContain(`"requestId":"${requestId}"`);
  });

  it('a not-found guest is NOT_FOUND with the driver message; a caller request id is kept', async () => {
    const c = await start(new ScriptedDriver());
    const md = new Metadata();
    md.set('x-request-id', 'req-abc-123');
    const err = (await unary(cb => c.getGuest({ desktopUid: UID1 }, md, cb)).catch((e: ServiceError) => e)) as ServiceError;
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toBe(`guest dp-${UID1} is not defined on stub-host`);
    expect(logs).toMatch(/"requestId":"req-abc-123","method":"GetGuest","uid":"11111111-[^"]+","code":"NOT_FOUND","durationMs":\d+/);
  });

  it('records driver events once and serves them to every watcher from its position', async () => {
    const d = new ScriptedDriver();
    const c = await start(d);
    const ev = (type: DomainEvent['type']): DomainEvent => ({ desktopUid: UID1, domainName: `dp-${UID1}`, type, detail: type, time: new Date() });
    d.emit(ev('started'));
    d.emit(ev('stopped'));
    d.emit(ev('crashed'));
    const got: hostAgent.GuestEvent[] = [];
    const stream = c.watchEvents({ afterSequence: 1n, epoch: '' });
    stream.on('error', () => undefined); // CANCELLED when we hang up
    await new Promise<void>(resolve => {
      stream.on('data', (e: hostAgent.GuestEvent) => {
        got.push(e);
        if (got.length === 3) resolve();
      });
      setTimeout(() => d.emit(ev('started')), 100);
    });
    stream.cancel();
    expect(got.map(e => [e.sequence, e.type])).toEqual([
      [2n, hostAgent.GuestEventType.GUEST_EVENT_TYPE_STOPPED],
      [3n, hostAgent.GuestEventType.GUEST_EVENT_TYPE_CRASHED],
      [4n, hostAgent.GuestEventType.GUEST_EVENT_TYPE_STARTED],
    ]);
  });

  it('refuses to resume from another epoch (an agent restart) with OUT_OF_RANGE', async () => {
    const d = new ScriptedDriver();
    const c = await start(d);
    d.emit({ desktopUid: UID1, domainName: `dp-${UID1}`, type: 'started', detail: 'started', time: new Date() });
    const first = await new Promise<hostAgent.GuestEvent>((resolve) => {
      const s = c.watchEvents({ afterSequence: 0n, epoch: '' });
      s.on('error', () => undefined);
      s.on('data', (e: hostAgent.GuestEvent) => {
        resolve(e);
        s.cancel();
      });
      setTimeout(() => d.emit({ desktopUid: UID1, domainName: `dp-${UID1}`, type: 'stopped', detail: 'stopped', time: new Date() }), 50);
    });
    expect(first.epoch).toMatch(/^[0-9a-f-]{36}$/);
    const stale = c.watchEvents({ afterSequence: 1n, epoch: 'an-earlier-agent-process' });
    const err = await new Promise<ServiceError>((resolve) => stale.on('error', resolve));
    expect(err.code).toBe(status.OUT_OF_RANGE);
    expect(err.details).toMatch(/agent restarted .* relist with ListGuests/);
  });

  it('close() ends open WatchEvents streams with UNAVAILABLE instead of hanging', async () => {
    const c = await start(new ScriptedDriver());
    const stream = c.watchEvents({ afterSequence: 0n, epoch: '' });
    const ended = new Promise<ServiceError>(resolve => stream.on('error', resolve));
    await sleep(50);
    const t0 = Date.now();
    await agent!.close();
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect((await ended).code).toBe(status.UNAVAILABLE);
  });
});
