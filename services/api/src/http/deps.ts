import type { Caller, Role } from '../domain/caller';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { BuiltinIdp } from '../auth/builtin-idp';
import type { TokenReviewer } from '../auth/kubernetes-tokens';
import type { TokenVerifier } from '../auth/verifier';
import type { ApiConfig } from '../config';
import type { HttpMetrics } from './observability';
import type { RateLimiter } from './rate-limiter';

/**
 * Injection tokens. esbuild (tests, tsx) emits no decorator metadata, so every constructor
 * parameter of a controller names its token: `@Inject(API_DEPS) deps: MyDeps`.
 */
export const API_DEPS = Symbol.for('deskplane.api.deps');
export const API_RUNTIME = Symbol.for('deskplane.api.runtime');

/** A readiness check for /readyz: resolves when ready, throws (or rejects) with the reason when not. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void> | void;
}

/**
 * What the API works with, handed in by whoever starts it (main.ts, the local run, tests).
 * Open for extension: a controller's helper declares what it needs on top
 * (`interface DesktopDeps extends ApiDeps { desktops: DesktopService }`) and the starter
 * passes an object with those fields.
 */
export interface ApiDeps {
  /** pino logger; default: JSON lines to stdout at config.logLevel. */
  logger?: Logger;
  /** prom-client registry served at /metrics; default: a new one. Add your metrics to it. */
  metrics?: Registry;
  /** Checked by /readyz (each with a 2 s budget). */
  readiness?: ReadinessCheck[];
  /**
   * Roles a caller holds beyond what the token says (e.g. tenant-admin from the Tenant
   * object's admins list), looked up on every authenticated request.
   */
  extraRoles?: (caller: Caller) => Promise<readonly Role[]>;
  /** Who reviews Kubernetes tokens when config.auth.kubernetes is on; default: the cluster of config.platform.kubeconfig. */
  tokenReviewer?: TokenReviewer;
  [name: string]: unknown;
}

/** What the app built itself, for controllers that need it: `@Inject(API_RUNTIME) rt: ApiRuntime`. */
export interface ApiRuntime {
  config: ApiConfig;
  logger: Logger;
  metrics: HttpMetrics;
  verifier: TokenVerifier;
  /** Present when the built-in identity provider is configured. */
  idp?: BuiltinIdp;
  loginLimits: { perIp: RateLimiter; failuresPerUser: RateLimiter };
  /** True once close() began: /readyz answers 503. */
  closing: boolean;
  /**
   * Aborted when close() begins. Long-lived responses (server-sent events) end on it;
   * the server waits for open responses before it stops.
   */
  closeSignal: AbortSignal;
}
