/** Request heads larger than this are refused (400) before the blank line is even seen. */
export const MAX_CONNECT_HEAD = 8 * 1024;

export type ConnectHead =
  | { kind: 'incomplete' }
  | { kind: 'error'; status: 400 | 405; reason: string }
  | {
      kind: 'ok';
      /** Target host as written (IPv6 without brackets), lower-cased. */
      host: string;
      port: number;
      version: '1.0' | '1.1';
      /** Header names lower-cased, values trimmed, in order. */
      headers: [string, string][];
      /** Bytes of the head including the blank line; whatever follows is tunnelled data. */
      headLength: number;
    };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HOST = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

const bad = (reason: string): ConnectHead => ({ kind: 'error', status: 400, reason });

function parseRequestLine(line: string): ConnectHead | { host: string; port: number; version: '1.0' | '1.1' } {
  const parts = line.split(' ');
  if (parts.length !== 3) return bad('malformed request line');
  const [method, target, proto] = parts as [string, string, string];
  if (!TOKEN.test(method)) return bad('malformed method');
  if (proto !== 'HTTP/1.1' && proto !== 'HTTP/1.0') return bad('unsupported HTTP version');
  if (method !== 'CONNECT') return { kind: 'error', status: 405, reason: `method ${method}` };
  const m = HOST.exec(target);
  if (m === null) return bad('CONNECT target is not host:port');
  const port = Number(m[3]);
  if (port < 1 || port > 65_535) return bad('CONNECT port out of range');
  return { host: (m[1] ?? m[2]!).toLowerCase(), port, version: proto === 'HTTP/1.1' ? '1.1' : '1.0' };
}

/**
 * Parses an HTTP CONNECT request head from everything received so far. Pure: call it again
 * with the grown buffer until it is not `incomplete`. The request line is judged as soon as
 * it is complete, so the answer never depends on how the bytes were split. Lines end in CRLF
 * (a bare LF is refused); obsolete line folding is refused.
 */
export function parseConnectHead(buf: Buffer, maxHead = MAX_CONNECT_HEAD): ConnectHead {
  const window = buf.subarray(0, maxHead);
  // latin1 maps bytes 1:1, so indexes in the string are byte offsets.
  const text = window.toString('latin1');
  const firstEol = text.indexOf('\r\n');
  if (firstEol === -1) {
    if (text.includes('\n')) return bad('bare LF');
    return buf.length >= maxHead ? bad('request head too large') : { kind: 'incomplete' };
  }
  const line = parseRequestLine(text.slice(0, firstEol));
  if ('kind' in line) return line;
  const end = text.indexOf('\r\n\r\n', firstEol);
  const headEnd = end === -1 ? -1 : end + 4;
  const scanned = end === -1 ? text : text.slice(0, headEnd);
  if (/[^\r]\n|^\n/.test(scanned)) return bad('bare LF');
  if (end === -1) return buf.length >= maxHead ? bad('request head too large') : { kind: 'incomplete' };
  if (firstEol === end) return { kind: 'ok', ...line, headers: [], headLength: headEnd };
  const headers: [string, string][] = [];
  for (const field of text.slice(firstEol + 2, end).split('\r\n')) {
    const colon = field.indexOf(':');
    if (colon <= 0) return bad('malformed header');
    const name = field.slice(0, colon);
    if (!TOKEN.test(name)) return bad('malformed header name'); // also refuses obs-fold (leading space)
    const value = field.slice(colon + 1);
    if (!FIELD_VALUE.test(value)) return bad('malformed header value');
    headers.push([name.toLowerCase(), value.trim()]);
  }
  return { kind: 'ok', ...line, headers, headLength: headEnd };
}
