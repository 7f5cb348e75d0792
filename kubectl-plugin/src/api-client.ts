/**
 * The one Deskplane API call the plugin makes: fetch a console `.vv` file. The answer body
 * holds a ticket, so it stays in memory and goes nowhere but the caller.
 */
import { rootCertificates } from 'node:tls';
import * as http from 'node:http';
import * as https from 'node:https';
import { TransportError } from './errors';

export const CONSOLE_TIMEOUT_MS = 30_000;
/** A .vv file is a few KiB (a CA certificate at most); anything far larger is not one. */
const MAX_VV_BYTES = 1024 * 1024;

export interface ConsoleFetch {
  apiUrl: string;
  desktop: string;
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
}

export function consoleUrl(apiUrl: string, desktop: string, tenant: string): URL {
  const u = new URL(`${apiUrl}/desktops/${encodeURIComponent(desktop)}/console`);
  u.searchParams.set('kind', 'vv');
  u.searchParams.set('tenant', tenant);
  return u;
}

export function fetchConsole(f: ConsoleFetch): Promise<ConsoleAnswer> {
  const u = consoleUrl(f.apiUrl, f.desktop, f.tenant);
  const timeout = f.timeoutMs ?? CONSOLE_TIMEOUT_MS;
  const opts: https.RequestOptions = {
    method: 'GET',
    hostname: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port || undefined,
    path: `${u.pathname}${u.search}`,
    headers: { accept: 'application/x-virt-viewer, application/json', authorization: f.authorization, 'user-agent': 'kubectl-desktop' },
    timeout,
    ...(f.ca !== undefined ? { ca: [...rootCertificates, f.ca] } : {}),
  };
  const request = u.protocol === 'http:' ? http.request : https.request;
  return new Promise((resolve, reject) => {
    const req = request(opts, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_VV_BYTES) req.destroy(new TransportError('TOO_LARGE', 'the answer is far larger than a .vv file'));
        else chunks.push(c);
      });
      res.on('end', () => {
        const retry = res.headers['retry-after'];
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          ...(typeof retry === 'string' ? { retryAfter: retry } : {}),
          ...(res.headers['content-type'] ? { contentType: res.headers['content-type'] } : {}),
        });
      });
      res.on('error', (e: NodeJS.ErrnoException) => reject(new TransportError(e.code ?? 'ECONNRESET', e.message)));
    });
    req.on('timeout', () => req.destroy(new TransportError('TIMEOUT', 'timed out')));
    req.on('error', (e: NodeJS.ErrnoException) => reject(e instanceof TransportError ? e : new TransportError(e.code ?? 'ERROR', e.message)));
    req.end();
  });
}

/** The body is a remote-viewer file: its first section is `[virt-viewer]`. */
export function looksLikeVv(body: string): boolean {
  return body.trimStart().startsWith('[virt-viewer]');
}
