/**
 * One HTTP(S) request with its whole answer read into memory, refused past a size cap (a
 * misdirected URL must not fill the terminal's memory), and every failure as a
 * TransportError with a code the error messages map (TIMEOUT, TOO_LARGE, ECONNREFUSED, …).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { TransportError } from './errors';

export interface Exchange {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function exchange(protocol: string, opts: https.RequestOptions, o: { payload?: string; maxBytes: number; tooLarge: string }): Promise<Exchange> {
  const request = protocol === 'http:' ? http.request : https.request;
  return new Promise((resolve, reject) => {
    const req = request(opts, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > o.maxBytes) req.destroy(new TransportError('TOO_LARGE', o.tooLarge));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e: NodeJS.ErrnoException) => reject(new TransportError(e.code ?? 'ECONNRESET', e.message)));
    });
    req.on('timeout', () => req.destroy(new TransportError('TIMEOUT', 'timed out')));
    req.on('error', (e: NodeJS.ErrnoException) => reject(e instanceof TransportError ? e : new TransportError(e.code ?? 'ERROR', e.message)));
    req.end(o.payload);
  });
}
