import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startViewer, ViewerExitedError, writePng, type Viewer } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryTicketStore, startGateway, type Gateway } from '../src/index';
import { buildVvFile, type VvFileOptions } from '../src/vv-file';
import { startGuest, stopGuest, waitForGuestPicture, waitForSerial, type Guest } from './support/guest';
import { HOST } from './support/qemu';
import { makeTestCerts } from './support/tls-certs';

/** Git-ignored (/test-artifacts/ in .gitignore): what a person can look at after a run. */
const ARTIFACTS = resolve(__dirname, '..', '..', 'test-artifacts', 'gateway-tls-viewer');

type LogEntry = { at: number; event: string; fields: Record<string, unknown> };

describe('remote-viewer through the gateway\'s SPICE TLS port (issue 6)', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const tickets = new MemoryTicketStore();
  const logs: LogEntry[] = [];
  const work = mkdtempSync(join(tmpdir(), 'deskplane-tls-viewer-'));
  const pki = makeTestCerts(['gw']);
  const cert = pki.certs.gw!;
  let guest: Guest | undefined;
  let gw: Gateway | undefined;
  /** The .vv's plain `port`: a listener that only counts, to show the viewer never used it. */
  let plain: Server | undefined;
  let plainDials = 0;

  const since = (t0: number, event: string): LogEntry[] => logs.filter((l) => l.at >= t0 && l.event === event);
  /** The .vv a console would hand out for the TLS port (buildVvFile adds `secure-channels=all`). */
  const writeVv = async (name: string, o: Partial<VvFileOptions>): Promise<string> => {
    const { ticket } = await tickets.mint({ user: 'alice', tenant: 'acme', desktop: 'vd-1', upstream: { host: HOST, port: guest!.spicePort, password }, ttlMs: 60_000 });
    const file = join(work, `${name}.vv`);
    const plainPort = (plain!.address() as { port: number }).port;
    const text = buildVvFile({ host: HOST, port: plainPort, tlsPort: gw!.port, password: ticket, caCert: cert.cert.toString('utf8'), hostSubject: cert.subject, title: `vd-1 ${name}`, ...o });
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  };
  const open = (name: string, vvFile: string): Promise<Viewer> => startViewer({ vvFile, log: join(ARTIFACTS, `${name}.remote-viewer.log`) });

  beforeAll(async () => {
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    plain = createServer((s) => {
      plainDials++;
      s.destroy();
    });
    await new Promise<void>((r) => plain!.listen(0, HOST, r));
    guest = await startGuest({ password });
    await waitForSerial(guest, /deskplane-guest tick 1\b/);
    gw = await startGateway({
      listen: { host: HOST, port: 0, tls: { cert: cert.cert, key: cert.key } },
      tickets,
      log: (event, fields) => void logs.push({ at: Date.now(), event, fields }),
      failedTickets: { maxFailures: 1_000 },
    });
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    if (guest) await stopGuest(guest);
    await new Promise<void>((r) => (plain ? plain.close(() => r()) : r()));
    rmSync(work, { recursive: true, force: true });
    pki.remove();
  });

  it('tls-port + ca + host-subject: the guest console, every channel over TLS, the plain port never dialled', async () => {
    const t0 = Date.now();
    const v = await open('tls', await writeVv('tls', {}));
    try {
      const first = await waitForGuestPicture(v, guest!, 30_000);
      const shot = join(ARTIFACTS, 'tls-1.png');
      writePng(shot, first.frame);
      const spliced = since(t0, 'link.spliced');
      console.log(`[tls] first guest frame ${first.firstFrameAt - v.startedAt} ms after spawn; ${spliced.length} channels spliced; screenshot ${shot}`);
      expect(spliced.length, 'main and display at least').toBeGreaterThanOrEqual(2);
      expect(new Set(spliced.map((l) => l.fields.transport))).toEqual(new Set(['tls']));
      expect(since(t0, 'tls.failed')).toEqual([]);
      expect(plainDials).toBe(0);
    } finally {
      await v.close();
    }
  }, 60_000);

  it('refuses a gateway whose certificate does not carry the host-subject: the viewer aborts the handshake, nothing links', async () => {
    const t0 = Date.now();
    let v: Viewer | undefined;
    try {
      v = await open('wrong-subject', await writeVv('wrong-subject', { hostSubject: 'O=Deskplane,CN=impostor.test' }));
    } catch (err) {
      if (!(err instanceof ViewerExitedError)) throw err; // an error dialog or an exit: either way it must not link
    }
    try {
      const deadline = Date.now() + 15_000;
      while (since(t0, 'tls.failed').length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const failed = since(t0, 'tls.failed');
      console.log(`[wrong-subject] gateway saw: ${JSON.stringify(failed.map((l) => l.fields.code))}`);
      expect(failed.length).toBeGreaterThanOrEqual(1);
      expect(failed.every((l) => l.fields.transport === 'tls')).toBe(true);
      expect(since(t0, 'link.spliced')).toEqual([]);
      expect(since(t0, 'link.refused')).toEqual([]);
      expect(plainDials).toBe(0);
    } finally {
      await v?.close();
    }
  }, 60_000);
});
