import { Controller, Inject } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { API_DEPS, API_RUNTIME, type ApiDeps, type ApiRuntime } from './deps';
import { respond, route, Route, type RouteContext } from './route';
import { HealthBody, ReadinessBody } from './schemas';

const healthz = route({ method: 'GET', path: '/healthz', summary: 'Liveness: the process serves', tags: ['operations'], public: true, response: { 200: HealthBody } });
const readyz = route({
  method: 'GET',
  path: '/readyz',
  summary: 'Readiness: every dependency check passes and the API is not stopping',
  tags: ['operations'],
  public: true,
  response: { 200: ReadinessBody, 503: { schema: ReadinessBody, description: 'Not ready; checks says why' } },
});
const metrics = route({
  method: 'GET',
  path: '/metrics',
  summary: 'Prometheus metrics',
  tags: ['operations'],
  public: true,
  response: { 200: { schema: Type.String(), contentType: 'text/plain; version=0.0.4; charset=utf-8', description: 'Prometheus text exposition format' } },
});

const CHECK_BUDGET_MS = 2_000;

async function runCheck(check: () => Promise<void> | void): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(check),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_BUDGET_MS} ms`)), CHECK_BUDGET_MS))),
    ]);
    return 'ok';
  } catch (err) {
    return err instanceof Error ? err.message || err.name : String(err);
  } finally {
    clearTimeout(timer);
  }
}

@Controller()
export class HealthController {
  constructor(
    @Inject(API_DEPS) private readonly deps: ApiDeps,
    @Inject(API_RUNTIME) private readonly runtime: ApiRuntime,
  ) {}

  @Route(healthz)
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Route(readyz)
  async readyz(_ctx: RouteContext<typeof readyz>) {
    const checks: Record<string, string> = {};
    if (this.runtime.closing) checks.api = 'stopping';
    const results = await Promise.all((this.deps.readiness ?? []).map(async (c) => [c.name, await runCheck(() => c.check())] as const));
    for (const [name, result] of results) checks[name] = result;
    const ready = Object.values(checks).every((v) => v === 'ok');
    const body = { status: ready ? ('ready' as const) : ('not-ready' as const), checks };
    return ready ? body : respond(503, body);
  }

  @Route(metrics)
  async metrics(): Promise<string> {
    return this.runtime.metrics.registry.metrics();
  }
}
