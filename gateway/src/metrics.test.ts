import { ChannelType, LinkError } from '@deskplane/spice-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyRefusal, GatewayMetrics, startMetricsServer, type MetricsServer } from './metrics';
import { SessionRegistry } from './sessions';

const open = (r: SessionRegistry, tenant: string, user = 'u'): string =>
  r.open({ sessionId: 1, user, tenant, desktop: `${tenant}/vd`, source: '10.1.1.1', transport: 'tcp', upstream: 'h:5901', policy: '' });

/** The sample value of one series in Prometheus text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('refusal classification', () => {
  it.each([
    [LinkError.PERMISSION_DENIED, 'unknown or expired ticket', 'ticket'],
    [LinkError.PERMISSION_DENIED, 'too many failed tickets', 'rate_limit'],
    [LinkError.PERMISSION_DENIED, 'ticket already bound to a live session', 'binding'],
    [LinkError.BAD_CONNECTION_ID, 'ticket not bound to this session', 'binding'],
    [LinkError.BAD_CONNECTION_ID, "not this ticket's session", 'binding'],
    [LinkError.BAD_CONNECTION_ID, 'main re-link with no migration in progress', 'binding'],
    [LinkError.PERMISSION_DENIED, 'policy gold', 'policy'],
    [LinkError.CHANNEL_NOT_AVAILABLE, 'policy (none)', 'policy'],
    [LinkError.PERMISSION_DENIED, 'SASL not supported', 'other'],
    [LinkError.PERMISSION_DENIED, 'auth mechanism 2', 'other'],
  ])('error %i "%s" is an auth failure: %s', (error, why, reason) => {
    expect(classifyRefusal(error, why)).toBe(reason);
  });

  it.each([
    [LinkError.INVALID_MAGIC, 'bad-magic'],
    [LinkError.VERSION_MISMATCH, 'version'],
    [LinkError.INVALID_DATA, 'caps-overflow'],
    [LinkError.ERROR, 'upstream: connect ECONNREFUSED 127.0.0.1:1'],
    [LinkError.PERMISSION_DENIED, 'upstream refused the link'],
  ])('error %i "%s" is not an auth failure', (error, why) => {
    expect(classifyRefusal(error, why)).toBeUndefined();
  });
});

describe('gateway metrics', () => {
  it('reads sessions by tenant and monotonic bytes from the registry at scrape', async () => {
    const registry = new SessionRegistry();
    const m = new GatewayMetrics({ sessions: registry, defaultMetrics: false });
    const a = open(registry, 'acme');
    open(registry, 'acme', 'v');
    const g = open(registry, 'globex');
    const main = registry.attach(a, { channelType: ChannelType.MAIN, channelId: 0, upstream: 'h:5901', transport: 'tcp' }, () => undefined);
    registry.count(a, main, 1_000, 20);

    let text = await m.registry.metrics();
    expect(sample(text, 'deskplane_gateway_sessions{tenant="acme"}')).toBe(2);
    expect(sample(text, 'deskplane_gateway_sessions{tenant="globex"}')).toBe(1);
    expect(sample(text, 'deskplane_gateway_bytes_total{tenant="acme",channel="main",direction="to_client"}')).toBe(1_000);
    expect(sample(text, 'deskplane_gateway_bytes_total{tenant="acme",channel="main",direction="to_guest"}')).toBe(20);

    registry.count(a, main, 500, 0);
    registry.detach(a, main); // the session ends; its bytes stay counted
    const gch = registry.attach(g, { channelType: ChannelType.DISPLAY, channelId: 0, upstream: 'h:5901', transport: 'tcp' }, () => undefined);
    registry.detach(g, gch);
    text = await m.registry.metrics();
    expect(sample(text, 'deskplane_gateway_bytes_total{tenant="acme",channel="main",direction="to_client"}')).toBe(1_500);
    expect(sample(text, 'deskplane_gateway_sessions{tenant="acme"}')).toBe(1);
    expect(sample(text, 'deskplane_gateway_sessions{tenant="globex"}')).toBe(0); // kept at 0, not dropped
    text = await m.registry.metrics();
    expect(sample(text, 'deskplane_gateway_bytes_total{tenant="acme",channel="main",direction="to_client"}')).toBe(1_500); // not re-added
  });

  it('counts link outcomes, auth failures by reason, handshake times and migrations', async () => {
    const m = new GatewayMetrics({ defaultMetrics: false });
    m.refused({ transport: 'tcp', channelType: ChannelType.MAIN, error: LinkError.PERMISSION_DENIED, why: 'unknown or expired ticket' });
    m.refused({ transport: 'tcp', channelType: ChannelType.MAIN, error: LinkError.PERMISSION_DENIED, why: 'unknown or expired ticket' });
    m.refused({ transport: 'tcp', error: LinkError.INVALID_MAGIC, why: 'bad-magic' });
    m.refused({ transport: 'websocket', channelType: ChannelType.USBREDIR, error: LinkError.CHANNEL_NOT_AVAILABLE, why: 'policy gold' });
    m.spliced({ transport: 'tcp', channelType: ChannelType.DISPLAY, handshakeMs: 14 });
    m.migrated({ path: 'seamless' });
    const text = await m.registry.metrics();
    expect(sample(text, 'deskplane_gateway_auth_failures_total{reason="ticket"}')).toBe(2);
    expect(sample(text, 'deskplane_gateway_auth_failures_total{reason="policy"}')).toBe(1);
    expect(text).not.toContain('auth_failures_total{reason="other"}');
    expect(sample(text, 'deskplane_gateway_links_total{channel="main",result="permission_denied"}')).toBe(2);
    expect(sample(text, 'deskplane_gateway_links_total{channel="unknown",result="invalid_magic"}')).toBe(1);
    expect(sample(text, 'deskplane_gateway_links_total{channel="display",result="ok"}')).toBe(1);
    expect(sample(text, 'deskplane_gateway_handshake_seconds_bucket{le="0.02",transport="tcp",channel="display"}')).toBe(1);
    expect(sample(text, 'deskplane_gateway_handshake_seconds_bucket{le="0.01",transport="tcp",channel="display"}')).toBe(0);
    expect(sample(text, 'deskplane_gateway_migrations_total{path="seamless"}')).toBe(1);
  });
});

describe('metrics HTTP server', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => server?.close());

  it('serves /metrics, /healthz, /readyz (503 with the reason when not ready) and 404 elsewhere', async () => {
    let ready: { ok: true } | { ok: false; reason: string } = { ok: true };
    server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, new GatewayMetrics({ defaultMetrics: false }), { ready: () => Promise.resolve(ready) });
    const get = async (path: string): Promise<[number, string]> => {
      const res = await fetch(`${server!.url}${path}`);
      return [res.status, await res.text()];
    };
    expect((await get('/metrics'))[1]).toContain('# TYPE deskplane_gateway_sessions gauge');
    expect(await get('/healthz')).toEqual([200, 'ok\n']);
    expect(await get('/readyz')).toEqual([200, 'ready\n']);
    ready = { ok: false, reason: 'stopping' };
    expect(await get('/readyz')).toEqual([503, 'not ready: stopping\n']);
    expect((await get('/nope'))[0]).toBe(404);
  });
});
