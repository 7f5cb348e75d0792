/**
 * Pure (the I/O comes in as functions): where `console` finds the Deskplane API, the
 * credential it sends there, and the viewer it launches. Each answer says where it came
 * from, so a failure can name the knob to turn.
 */
import { CliError } from './errors';

export const CLIENT_CONFIGMAP = { namespace: 'kube-public', name: 'deskplane-client', key: 'apiURL' } as const;
export const ENV = { apiUrl: 'DESKPLANE_API_URL', token: 'DESKPLANE_TOKEN', viewer: 'DESKPLANE_VIEWER' } as const;
export const DEFAULT_VIEWER = 'remote-viewer';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ApiUrl {
  /** Normalized: no trailing slash, no query or fragment. */
  url: string;
  /** `--api-url`, `$DESKPLANE_API_URL` or `ConfigMap kube-public/deskplane-client`. */
  source: string;
}

/** The ConfigMap's data, or undefined when it does not exist (other failures throw). */
export type ConfigMapReader = (namespace: string, name: string) => Promise<Record<string, string> | undefined>;

export const API_URL_HINT = `pass --api-url, set ${ENV.apiUrl}, or ask your platform admin to publish it (ConfigMap ${CLIENT_CONFIGMAP.namespace}/${CLIENT_CONFIGMAP.name}, key ${CLIENT_CONFIGMAP.key})`;

/** Checks and normalizes an API URL; throws CliError naming where the bad value came from. */
export function normalizeApiUrl(raw: string, source: string): string {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new CliError(`the Deskplane API URL from ${source} is not a URL: ${JSON.stringify(raw)}; use e.g. https://deskplane.example.com`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new CliError(`the Deskplane API URL from ${source} must start with https:// (or http:// on this machine), not ${u.protocol}//`);
  }
  if (u.username || u.password) throw new CliError(`the Deskplane API URL from ${source} must not carry a user or password; use --token`);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/** Order: --api-url, then $DESKPLANE_API_URL, then the ConfigMap the Helm chart publishes. */
export async function resolveApiUrl(flag: string | undefined, env: Env, readConfigMap: ConfigMapReader): Promise<ApiUrl> {
  if (flag !== undefined) return { url: normalizeApiUrl(flag, '--api-url'), source: '--api-url' };
  const fromEnv = env[ENV.apiUrl];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { url: normalizeApiUrl(fromEnv, `$${ENV.apiUrl}`), source: `$${ENV.apiUrl}` };
  const source = `ConfigMap ${CLIENT_CONFIGMAP.namespace}/${CLIENT_CONFIGMAP.name}`;
  const data = await readConfigMap(CLIENT_CONFIGMAP.namespace, CLIENT_CONFIGMAP.name);
  const value = data?.[CLIENT_CONFIGMAP.key];
  if (value === undefined || value.trim() === '') {
    throw new CliError(`no Deskplane API URL: ${data ? `${source} has no ${CLIENT_CONFIGMAP.key} key` : `${source} does not exist`}; ${API_URL_HINT}`);
  }
  return { url: normalizeApiUrl(value, source), source };
}

export interface Credential {
  /** The whole header value, `Bearer …`. Never printed. */
  authorization: string;
  /** `--token`, `$DESKPLANE_TOKEN` or `kubeconfig user "NAME"`. */
  source: string;
}

/** The kubeconfig user's Authorization header (token, token file, exec plugin, OIDC), if it yields one. */
export type KubeAuthorization = () => Promise<{ header?: string; user: string }>;

/** Order: --token, then $DESKPLANE_TOKEN, then the kubeconfig user's own bearer credential. */
export async function resolveCredential(flag: string | undefined, env: Env, fromKubeconfig: KubeAuthorization): Promise<Credential> {
  const bearer = (t: string) => `Bearer ${t.trim()}`;
  if (flag !== undefined) return { authorization: bearer(flag), source: '--token' };
  const fromEnv = env[ENV.token];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { authorization: bearer(fromEnv), source: `$${ENV.token}` };
  const { header, user } = await fromKubeconfig();
  if (header === undefined || !/^Bearer\s+\S/i.test(header)) {
    throw new CliError(
      `kubeconfig user "${user}" has no bearer token for the Deskplane API (client certificates and passwords cannot be forwarded): pass --token or set ${ENV.token}`,
    );
  }
  return { authorization: header, source: `kubeconfig user "${user}"` };
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** A credential travels in clear text only to this machine; anywhere else it needs https. */
export function mayCarryCredential(url: string): boolean {
  const u = new URL(url);
  return u.protocol === 'https:' || LOOPBACK.test(u.hostname);
}

/** The viewer command line: --viewer, then $DESKPLANE_VIEWER, then remote-viewer. Split on blanks, no shell. */
export function resolveViewer(flag: string | undefined, env: Env): { argv: string[]; source: string } {
  const pick = flag ?? (env[ENV.viewer]?.trim() ? env[ENV.viewer] : undefined);
  const source = flag !== undefined ? '--viewer' : pick !== undefined ? `$${ENV.viewer}` : 'default';
  const argv = (pick ?? DEFAULT_VIEWER).trim().split(/\s+/).filter(Boolean);
  if (argv.length === 0) throw new CliError(`the viewer from ${source} is empty: pass --viewer remote-viewer`);
  return { argv, source };
}

/** Path of an executable: a name with a slash as is, otherwise the first match on PATH. */
export function findExecutable(command: string, path: string | undefined, isExecutable: (file: string) => boolean): string | undefined {
  if (command.includes('/')) return isExecutable(command) ? command : undefined;
  for (const dir of (path ?? '').split(':')) {
    if (!dir) continue;
    const file = `${dir.replace(/\/+$/, '')}/${command}`;
    if (isExecutable(file)) return file;
  }
  return undefined;
}
