import 'reflect-metadata';
import type { IncomingMessage } from 'node:http';
import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { LogController, type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { BuiltinIdp } from '../auth/builtin-idp';
import { testToken, type CallerInit } from '../auth/test-token';
import { clusterTokenReviewer, KubernetesAuthenticator } from '../auth/kubernetes-tokens';
import { oidcIssuer, TokenVerifier, type TrustedIssuer } from '../auth/verifier';
import type { ApiConfig } from '../config';
import type { Caller } from '../domain/caller';
import { AuthController, BuiltinIdpController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { API_DEPS, API_RUNTIME, type ApiDeps, type ApiRuntime } from './deps';
import { ApiErrorFilter } from './error-filter';
import { HealthController } from './health.controller';
import { buildOpenApiDocument, type OpenApiDocument } from './openapi';
import { createApiLogger, HttpMetrics, installRequestHooks, NestPinoLogger, requestIdFrom } from './observability';
import { RateLimiter } from './rate-limiter';
import { setSendSettings } from './respond';
import { listRoutes, routeOf, type RouteInfo } from './route';
import { serveUi } from './ui';

export interface ApiAppOptions {
  /** The domain controllers (desktops, templates, sessions, ops, ...); the foundation's own are always mounted. */
  controllers?: Type<unknown>[];
  /** OpenAPI info.version; default the package version. */
  version?: string;
}

export interface ApiApp {
  app: NestFastifyApplication;
  /** Where it listens, e.g. http://127.0.0.1:40123 (loopback when bound to all interfaces). */
  url: string;
  /** The mounted routes, exactly as the OpenAPI document lists them. */
  routes: RouteInfo[];
  document: OpenApiDocument;
  runtime: ApiRuntime;
  /** A bearer token for `caller`, signed with the built-in identity provider's key (tests). */
  testToken(caller: Caller | CallerInit, ttlSeconds?: number): Promise<string>;
  /** /readyz turns 503, then the server stops (requests in flight finish). Idempotent. */
  close(): Promise<void>;
}

@Module({})
class ApiModule {}

/** Every controller method Nest would route must carry a @Route declaration. */
function assertDeclared(controllers: Type<unknown>[]): void {
  for (const c of controllers) {
    const proto = c.prototype as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(proto)) {
      const fn = proto[key];
      if (key === 'constructor' || typeof fn !== 'function') continue;
      if (Reflect.getMetadata('path', fn) !== undefined && !routeOf(fn)) throw new Error(`${c.name}.${key} is routed without @Route: declare its schemas and access`);
    }
  }
}

const PACKAGE_VERSION = '0.1.0';

/**
 * Builds and starts the API: Nest on Fastify, the auth guard, validation, error mapping,
 * request ids, logs, metrics, health, the built-in identity provider when configured, and
 * the OpenAPI document at /docs (Swagger UI) and /docs/openapi.json. Listens on
 * config.listen (port 0 = any free port).
 */
export async function createApiApp(deps: ApiDeps, config: ApiConfig, options: ApiAppOptions = {}): Promise<ApiApp> {
  const logger = deps.logger ?? createApiLogger(config.logLevel);
  const metrics = new HttpMetrics(deps.metrics ?? new Registry());

  const issuers: TrustedIssuer[] = [];
  let idp: BuiltinIdp | undefined;
  if (config.auth.builtin) {
    idp = await BuiltinIdp.open(config.auth.builtin);
    issuers.push(idp.trustedIssuer());
  }
  if (config.auth.oidc) issuers.push(oidcIssuer(config.auth.oidc));
  const kube = config.auth.kubernetes;
  const fallback = kube && new KubernetesAuthenticator(deps.tokenReviewer ?? clusterTokenReviewer(config.platform.kubeconfig), { ...kube, roleGroups: config.auth.roleGroups });
  const verifier = new TokenVerifier(issuers, {
    roleGroups: config.auth.roleGroups,
    clockToleranceSeconds: config.auth.clockToleranceSeconds,
    ...(fallback && { fallback }),
  });

  const closeController = new AbortController();
  const runtime: ApiRuntime = {
    config,
    logger,
    metrics,
    verifier,
    ...(idp && { idp }),
    loginLimits: {
      perIp: RateLimiter.perMinute(config.loginRateLimit.perIpPerMinute),
      failuresPerUser: RateLimiter.perMinute(config.loginRateLimit.failuresPerUserPerMinute),
    },
    closing: false,
    closeSignal: closeController.signal,
  };

  const controllers: Type<unknown>[] = [HealthController, AuthController, ...(idp ? [BuiltinIdpController] : []), ...(options.controllers ?? [])];
  assertDeclared(controllers);
  const routes = listRoutes(controllers);
  const document = buildOpenApiDocument(routes, {
    title: 'Deskplane API',
    version: options.version ?? PACKAGE_VERSION,
    description: 'Tenant self-service, tenant administration and platform operations for Deskplane virtual desktops.',
  });

  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    // Fastify's own request lines are replaced by one line per request (observability.ts).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: (req: IncomingMessage) => requestIdFrom(req.headers['x-request-id']),
    trustProxy: config.trustProxy,
    bodyLimit: config.bodyLimitBytes,
  });
  const server = adapter.getInstance<FastifyInstance>();
  installRequestHooks(server, logger, metrics);
  setSendSettings(server, { validateResponses: config.validateResponses });

  const module: DynamicModule = {
    module: ApiModule,
    controllers,
    providers: [
      { provide: API_DEPS, useValue: deps },
      { provide: API_RUNTIME, useValue: runtime },
    ],
  };
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, { logger: new NestPinoLogger(logger), abortOnError: false });
  app.useGlobalGuards(new AuthGuard(verifier, deps.extraRoles));
  app.useGlobalFilters(new ApiErrorFilter(logger));
  if (config.docs) {
    SwaggerModule.setup('docs', app, document, {
      jsonDocumentUrl: 'docs/openapi.json',
      raw: ['json'],
      customSiteTitle: 'Deskplane API',
      // Swagger UI would otherwise send the document to an online validator.
      swaggerOptions: { validatorUrl: null },
    });
  }
  if (config.uiDir !== undefined) await serveUi(app, config.uiDir);
  await app.listen(config.listen.port, config.listen.host);

  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  const host = config.listen.host === '0.0.0.0' ? '127.0.0.1' : config.listen.host === '::' ? '[::1]' : config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  logger.info({ event: 'api.listening', url: `http://${host}:${port}`, routes: routes.length, builtinIdp: !!idp, oidc: config.auth.oidc?.issuer }, 'api.listening');

  let closed: Promise<void> | undefined;
  return {
    app,
    url: `http://${host}:${port}`,
    routes,
    document,
    runtime,
    testToken: (caller, ttlSeconds) => {
      if (!idp) throw new Error('testToken needs the built-in identity provider (DESKPLANE_API_USERS_FILE)');
      return testToken(idp, caller, ttlSeconds);
    },
    close: () => {
      runtime.closing = true;
      closeController.abort();
      closed ??= app.close();
      return closed;
    },
  };
}
