/**
 * The Kubernetes side: kubeconfig loading as kubectl does it, and a small REST client.
 * client-node's KubeConfig does what is hard (exec plugins, OIDC, token files, client
 * certificates, proxies); requests go through node:http(s) so every answer, including the
 * bare 404 of a missing CRD, arrives as status + body and errors.ts can name it precisely.
 */
import { existsSync } from 'node:fs';
import type * as https from 'node:https';
import { API_VERSION, DesktopMigrationKind, KvmHostKind, VirtualDesktopKind } from '@deskplane/api';
import { KubeConfig } from '@kubernetes/client-node';
import type { GlobalOptions } from './args';
import { exchange } from './http-exchange';
import { CliError, KubeHttpError, TransportError, kubeErrorMessage, kubeTransportMessage, oneLine, type KubeCallContext, type KubeStatus } from './errors';

export const REQUEST_TIMEOUT_MS = 30_000;
const MAX_BODY = 64 * 1024 * 1024;

export interface KubeTarget {
  kc: KubeConfig;
  /** -n, else the context's namespace, else `default`. */
  namespace: string;
  server: string;
  userName: string;
}

/** --kubeconfig, else $KUBECONFIG (several files merged), else ~/.kube/config; then --context. */
export function loadKube(g: GlobalOptions): KubeTarget {
  const kc = new KubeConfig();
  try {
    if (g.kubeconfig !== undefined) {
      if (!existsSync(g.kubeconfig)) throw new CliError(`kubeconfig ${g.kubeconfig} does not exist: check --kubeconfig`);
      kc.loadFromFile(g.kubeconfig);
    } else {
      kc.loadFromDefault();
    }
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot read the kubeconfig: ${oneLine((e as Error).message)}; check $KUBECONFIG or --kubeconfig`);
  }
  if (g.context !== undefined) {
    if (!kc.getContextObject(g.context)) throw new CliError(`context "${g.context}" is not in the kubeconfig: "kubectl config get-contexts" lists them`);
    kc.setCurrentContext(g.context);
  }
  const ctx = kc.getContextObject(kc.getCurrentContext());
  const cluster = kc.getCurrentCluster();
  if (!ctx || !cluster) {
    throw new CliError('no current context in the kubeconfig: set KUBECONFIG, pass --kubeconfig, or run "kubectl config use-context NAME"');
  }
  return { kc, namespace: g.namespace ?? ctx.namespace ?? 'default', server: cluster.server, userName: ctx.user };
}

export class KubeClient {
  constructor(private readonly t: KubeTarget) {}

  get namespace(): string {
    return this.t.namespace;
  }

  /** One call; a non-2xx answer throws KubeHttpError, no answer throws TransportError. */
  async raw(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<unknown> {
    const base = new URL(this.t.server);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const opts: https.RequestOptions = {
      protocol: base.protocol,
      hostname: base.hostname.replace(/^\[|\]$/g, ''),
      port: base.port || undefined,
      path: `${base.pathname.replace(/\/+$/, '')}${path}`,
      method,
      headers: { accept: 'application/json', 'user-agent': 'kubectl-desktop', ...(payload !== undefined ? { 'content-type': contentType } : {}) },
      timeout: REQUEST_TIMEOUT_MS,
    };
    try {
      await this.t.kc.applyToHTTPSOptions(opts);
    } catch (e) {
      throw new CliError(`the credentials of kubeconfig user "${this.t.userName}" failed: ${oneLine((e as Error).message)}; log in again`);
    }
    const answer = await exchange(base.protocol, opts, { ...(payload !== undefined && { payload }), maxBytes: MAX_BODY, tooLarge: 'answer too large' });
    if (answer.status >= 200 && answer.status < 300) return answer.body === '' ? {} : JSON.parse(answer.body);
    throw new KubeHttpError(answer.status, parseStatus(answer.body), answer.body);
  }

  /** raw() with failures turned into one-line CliErrors for this call. */
  async call<T>(ctx: KubeCallContext, method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    try {
      return (await this.raw(method, path, body, contentType)) as T;
    } catch (e) {
      throw this.explain(e, ctx);
    }
  }

  explain(e: unknown, ctx: KubeCallContext): unknown {
    if (e instanceof KubeHttpError) return new CliError(kubeErrorMessage(e, ctx));
    if (e instanceof TransportError) return new CliError(kubeTransportMessage(e, this.t.server, REQUEST_TIMEOUT_MS));
    return e;
  }

  /** The Authorization header the kubeconfig user would send (token, exec plugin, OIDC…). */
  async authorizationHeader(): Promise<{ header?: string; user: string }> {
    // A scratch options object: only the header is taken, never the cluster CA or client certificate.
    const scratch: https.RequestOptions = { headers: {} };
    try {
      await this.t.kc.applyToHTTPSOptions(scratch);
    } catch (e) {
      throw new CliError(`the credentials of kubeconfig user "${this.t.userName}" failed: ${oneLine((e as Error).message)}; log in again or pass --token`);
    }
    const value = (scratch.headers as Record<string, unknown> | undefined)?.Authorization;
    return { ...(typeof value === 'string' ? { header: value } : {}), user: this.t.userName };
  }
}

function parseStatus(text: string): KubeStatus | undefined {
  try {
    const parsed = JSON.parse(text) as KubeStatus;
    return parsed && parsed.kind === 'Status' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const apis = `/apis/${API_VERSION}`;
const seg = encodeURIComponent;

/** Paths of the resources the plugin touches. */
export const paths = {
  desktops: (ns?: string) => `${apis}${ns ? `/namespaces/${seg(ns)}` : ''}/${VirtualDesktopKind.info.plural}`,
  desktop: (ns: string, name: string) => `${apis}/namespaces/${seg(ns)}/${VirtualDesktopKind.info.plural}/${seg(name)}`,
  migrations: (ns: string) => `${apis}/namespaces/${seg(ns)}/${DesktopMigrationKind.info.plural}`,
  migration: (ns: string, name: string) => `${apis}/namespaces/${seg(ns)}/${DesktopMigrationKind.info.plural}/${seg(name)}`,
  host: (name: string) => `${apis}/${KvmHostKind.info.plural}/${seg(name)}`,
  configMap: (ns: string, name: string) => `/api/v1/namespaces/${seg(ns)}/configmaps/${seg(name)}`,
};
