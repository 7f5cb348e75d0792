/**
 * The one Deskplane API call the plugin makes: fetch a console `.vv` file. The answer body
 * holds a ticket, so it stays in memory and goes nowhere but the caller.
 */
import { rootCertificates } from 'node:tls';
import type * as https from 'node:https';
import { exchange } from './http-exchange';

export const CONSOLE_TIMEOUT_MS = 30_000;
/**
 * A pool console answers once the claimed desktop runs: the API waits up to
 * DESKPLANE_API_POOL_CONSOLE_WAIT_S (at most 900 s) without sending a byte.
 */
export const POOL_CONSOLE_TIMEOUT_MS = 960_000;
/** A .vv file is a few KiB (a CA certificate at most); anything far larger is not one. */
const MAX_VV_BYTES = 1024 * 1024;

export interface ConsoleFetch {
  apiUrl: string;
  /** The desktop whose console to open, or (pool) the pool to claim one of. */
  target: ConsoleTarget;
  tenant: string;
  authorization: string;
  /** Extra trusted CA (PEM) for a private API certificate; the system's CAs stay trusted. */
  ca?: string;
  timeoutMs?: number;
}

export interface ConsoleAnswer {
  status: number;
  body: string;
  retryAfter?: string;
  contentType?: string;
  /** A pool console: the desktop the claim gave (x-deskplane-desktop) and how (claimed / reclaimed). */
  desktop?: string;
  claim?: string;
}

export type ConsoleTarget = { desktop: string } | { pool: string };

export function consoleUrl(apiUrl: string, target: ConsoleTarget, tenant: string): URL {
  const u = new URL('pool' in target ? `${apiUrl}/pools/${encodeURIComponent(target.pool)}/console` : `${apiUrl}/desktops/${encodeURIComponent(target.desktop)}/console`);
  u.searchParams.set('kind', 'vv');
  u.searchParams.set('tenant', tenant);
  return u;
}

export function fetchConsole(f: ConsoleFetch): Promise<ConsoleAnswer> {
  const u = consoleUrl(f.apiUrl, f.target, f.tenant);
  const timeout = f.timeoutMs ?? ('pool' in f.target ? POOL_CONSOLE_TIMEOUT_MS : CONSOLE_TIMEOUT_MS);
  const opts: https.RequestOptions = {
    method: 'GET',
    hostname: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port || undefined,
    path: `${u.pathname}${u.search}`,
    headers: { accept: 'application/x-virt-viewer, application/json', authorization: f.authorization, 'user-agent': 'kubectl-desktop' },
    timeout,
    ...(f.ca !== undefined ? { ca: [...rootCertificates, f.ca] } : {}),
  };
  return exchange(u.protocol, opts, { maxBytes: MAX_VV_BYTES, tooLarge: 'the answer is far larger than a .vv file' }).then(({ status, headers, body }) => {
    const retry = headers['retry-after'];
    const desktop = headers['x-deskplane-desktop'];
    const claim = headers['x-deskplane-claim'];
    return {
      status,
      body,
      ...(typeof retry === 'string' ? { retryAfter: retry } : {}),
      ...(headers['content-type'] ? { contentType: headers['content-type'] } : {}),
      ...(typeof desktop === 'string' && DESKTOP_NAME.test(desktop) ? { desktop } : {}),
      ...(typeof claim === 'string' ? { claim } : {}),
    };
  });
}

/** The claimed desktop's name becomes a file name: nothing but a desktop name is taken. */
const DESKTOP_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The body is a remote-viewer file: its first section is `[virt-viewer]`. */
export function looksLikeVv(body: string): boolean {
  return body.trimStart().startsWith('[virt-viewer]');
}
