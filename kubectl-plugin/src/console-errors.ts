/**
 * Pure: the Deskplane API's refusals of `GET /desktops/NAME/console` and of
 * `GET /pools/POOL/console` to one line each. The API answers errors as
 * `{ error: { code, message, reason?, requestId } }` (services/api error-filter); anything
 * else means the URL points somewhere that is not the API.
 */
import { API_URL_HINT } from './discovery';
import { isTlsVerifyCode, oneLine, transportProblem, type TransportError } from './errors';

export interface ApiErrorBody {
  code?: string;
  message?: string;
  /** Why a 409: `exhausted` (the pool has no free desktop), `starting` (the claimed desktop still starts). */
  reason?: string;
  requestId?: string;
}

/** The API's error body, or undefined when the body is not one. */
export function parseApiError(text: string): ApiErrorBody | undefined {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    const e = parsed?.error;
    if (e && typeof e === 'object') {
      const { code, message, reason, requestId } = e as Record<string, unknown>;
      return {
        ...(typeof code === 'string' ? { code } : {}),
        ...(typeof message === 'string' ? { message } : {}),
        ...(typeof reason === 'string' ? { reason } : {}),
        ...(typeof requestId === 'string' ? { requestId } : {}),
      };
    }
  } catch {
    // not JSON: handled by the caller as "not the Deskplane API"
  }
  return undefined;
}

/** Seconds from a Retry-After header: delta-seconds or an HTTP date. */
export function retryAfterSeconds(header: string | undefined, now: Date): number | undefined {
  if (header === undefined) return undefined;
  const t = header.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const at = Date.parse(t);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

export interface ConsoleCallContext {
  /** The desktop asked for; with `pool`, the pool asked for instead. */
  desktop?: string;
  pool?: string;
  tenant: string;
  apiUrl: string;
  /** Where the URL came from (discovery.ts). */
  urlSource: string;
  /** Where the credential came from (discovery.ts). */
  credentialSource: string;
  now: Date;
}

export interface ApiAnswer {
  status: number;
  body: string;
  retryAfter?: string;
}

/** A non-200 answer to one line. */
export function consoleErrorMessage(a: ApiAnswer, c: ConsoleCallContext): string {
  const err = parseApiError(a.body);
  const said = err?.message ? oneLine(err.message) : '';
  const d = JSON.stringify(c.desktop ?? '');
  if (!err && a.status !== 429 && a.status !== 503) {
    return `${c.apiUrl} (from ${c.urlSource}) answered HTTP ${a.status} without a Deskplane error: is it the Deskplane API? ${API_URL_HINT}`;
  }
  if (c.pool !== undefined) {
    const pooled = poolErrorMessage(a.status, err ?? {}, said, c.pool, c);
    if (pooled) return pooled;
  }
  switch (a.status) {
    case 400:
      return `the Deskplane API refused the request: ${said || 'bad request'}`;
    case 401:
      return `the Deskplane API did not accept your credentials (from ${c.credentialSource}): ${said ? `${said}; ` : ''}log in again to refresh them, or pass --token`;
    case 403:
      return `not allowed to open the console of desktop ${d}: ${said || 'forbidden'}; ask your tenant admin`;
    case 404:
      if (said.startsWith('no route')) return `${c.apiUrl} (from ${c.urlSource}) has no console route (${said}): check the API URL; ${API_URL_HINT}`;
      return `desktop ${d} not found in namespace "${c.tenant}" (or it is not yours): "kubectl desktop list" shows your desktops`;
    case 409: {
      // The API's own advice ("try again once it runs") would say the same twice.
      const why = said.replace(/[:;,]?\s*try again\b.*$/i, '').trim();
      return `desktop ${d} has no console to open yet: ${why || 'not running'}; try again when it is Running`;
    }
    case 429: {
      const s = retryAfterSeconds(a.retryAfter, c.now);
      return `too many console requests: try again in ${s ?? 60} s`;
    }
    case 503:
      return `the Deskplane API cannot open consoles right now${said ? ` (${said})` : ''}: try again later, or tell your platform admin if it persists`;
    default: {
      const ref = err?.requestId ? ` (request id ${oneLine(err.requestId, 64)})` : '';
      if (a.status >= 500) return `the Deskplane API failed with HTTP ${a.status}${ref}: try again; report the request id if it persists`;
      return `the Deskplane API answered HTTP ${a.status}${ref}: ${said || 'no detail'}`;
    }
  }
}

/** The refusals that read differently for a pool; undefined = as for a desktop. */
function poolErrorMessage(status: number, err: ApiErrorBody, said: string, pool: string, c: ConsoleCallContext): string | undefined {
  const p = JSON.stringify(pool);
  switch (status) {
    case 403:
      return `not allowed to claim a desktop of pool ${p}: ${said || 'forbidden'}`;
    case 404:
      if (said.startsWith('no route')) return `${c.apiUrl} (from ${c.urlSource}) has no pool console route (${said}): the API predates pools, or check the API URL; ${API_URL_HINT}`;
      return `pool ${p} not found in namespace "${c.tenant}": "kubectl get desktoppools -n ${c.tenant}" lists its pools`;
    case 409:
      // The API says what happened and what to do; only its advice is put in a terminal's words.
      if (err.reason === 'exhausted') return said || `pool ${p} has no free desktop; ask your admin to raise its size`;
      if (err.reason === 'starting') {
        const why = said.replace(/[:;,]?\s*(ask again|try again)\b.*$/i, '').trim();
        return `${why || `your desktop of pool ${p} is still starting`}: run the same command again in a moment`;
      }
      return `cannot open a desktop of pool ${p}: ${said || 'conflict'}`;
    default:
      return undefined;
  }
}

/** No answer at all from the API. */
export function consoleTransportMessage(e: TransportError, c: Pick<ConsoleCallContext, 'apiUrl' | 'urlSource'>, timeoutMs: number): string {
  const what = `cannot connect to the Deskplane API at ${c.apiUrl} (from ${c.urlSource}): ${transportProblem(e.code, timeoutMs)}`;
  if (isTlsVerifyCode(e.code)) return `${what}; pass the CA that signed its certificate with --api-ca FILE`;
  return `${what}; check that the URL is right and the API is running, or ${API_URL_HINT}`;
}
