import { describe, expect, it } from 'vitest';
import { MAX_CONNECT_HEAD, parseConnectHead, type ConnectHead } from './connect-head';

const ok = (host: string, port: number, headLength: number, headers: [string, string][] = [], version: '1.0' | '1.1' = '1.1'): ConnectHead => ({
  kind: 'ok', host, port, version, headers, headLength,
});
const err = (status: 400 | 405) => expect.objectContaining({ kind: 'error', status }) as unknown as ConnectHead;

const GOOD = 'CONNECT vd-1.example:5900 HTTP/1.1\r\nHost: vd-1.example:5900\r\n\r\n';

const cases: [string, string, ConnectHead][] = [
  ['no headers', 'CONNECT gw:5900 HTTP/1.1\r\n\r\n', ok('gw', 5900, 28)],
  ['with Host', GOOD, ok('vd-1.example', 5900, GOOD.length, [['host', 'vd-1.example:5900']])],
  ['HTTP/1.0 as spice-gtk', 'CONNECT 10.0.0.7:5901 HTTP/1.0\r\n\r\n', ok('10.0.0.7', 5901, 34, [], '1.0')],
  ['tunnelled bytes follow the head', `${GOOD}REDQ\x02\x00`, ok('vd-1.example', 5900, GOOD.length, [['host', 'vd-1.example:5900']])],
  ['IPv6 target', 'CONNECT [::1]:5900 HTTP/1.1\r\n\r\n', ok('::1', 5900, 31)],
  ['case-folded host, trimmed values', 'CONNECT GW.Example:1 HTTP/1.1\r\nProxy-Authorization:  Basic x  \r\n\r\n', ok('gw.example', 1, 66, [['proxy-authorization', 'Basic x']])],
  ['GET', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', err(405)],
  ['lower-case connect', 'connect gw:5900 HTTP/1.1\r\n\r\n', err(405)],
  ['HTTP/2', 'CONNECT gw:5900 HTTP/2.0\r\n\r\n', err(400)],
  ['no port', 'CONNECT gw HTTP/1.1\r\n\r\n', err(400)],
  ['port 0', 'CONNECT gw:0 HTTP/1.1\r\n\r\n', err(400)],
  ['port too big', 'CONNECT gw:65536 HTTP/1.1\r\n\r\n', err(400)],
  ['URL target', 'CONNECT http://gw:5900/ HTTP/1.1\r\n\r\n', err(400)],
  ['double space', 'CONNECT  gw:5900 HTTP/1.1\r\n\r\n', err(400)],
  ['SPICE magic', 'REDQ\x02\x00\x00\x00\x02\x00\x00\x00\r\n\r\n', err(400)],
  ['SSH banner', 'SSH-2.0-OpenSSH_9.2\r\n', err(400)],
  ['bare LF request line', 'CONNECT gw:5900 HTTP/1.1\n\n', err(400)],
  ['bare LF in headers', 'CONNECT gw:5900 HTTP/1.1\r\nHost: gw\n\r\n', err(400)],
  ['obs-fold', 'CONNECT gw:5900 HTTP/1.1\r\nHost: gw\r\n folded\r\n\r\n', err(400)],
  ['header without colon', 'CONNECT gw:5900 HTTP/1.1\r\nHost gw\r\n\r\n', err(400)],
  ['control byte in value', 'CONNECT gw:5900 HTTP/1.1\r\nHost: g\x01w\r\n\r\n', err(400)],
  ['space before colon', 'CONNECT gw:5900 HTTP/1.1\r\nHost : gw\r\n\r\n', err(400)],
];

describe('parseConnectHead', () => {
  it.each(cases)('%s', (_name, text, expected) => {
    const buf = Buffer.from(text, 'latin1');
    const full = parseConnectHead(buf);
    expect(full).toEqual(expected);
    // Any chunking is a sequence of prefixes: each is undecided or already the final answer.
    for (let n = 0; n < buf.length; n++) {
      const part = parseConnectHead(buf.subarray(0, n));
      if (part.kind !== 'incomplete') expect(part, `prefix of ${n} bytes`).toEqual(full);
    }
  });

  it('waits for more until the head is complete', () => {
    expect(parseConnectHead(Buffer.from('CONNECT gw:5900 HTTP/1.1\r\nHost: gw\r\n'))).toEqual({ kind: 'incomplete' });
    expect(parseConnectHead(Buffer.alloc(0))).toEqual({ kind: 'incomplete' });
  });

  it('refuses a head over the limit, before and after its blank line arrives', () => {
    const long = `CONNECT gw:5900 HTTP/1.1\r\nX-Pad: ${'a'.repeat(MAX_CONNECT_HEAD)}\r\n\r\n`;
    expect(parseConnectHead(Buffer.from(long.slice(0, MAX_CONNECT_HEAD)))).toEqual(err(400));
    expect(parseConnectHead(Buffer.from(long))).toEqual(err(400));
    const longLine = `CONNECT ${'a'.repeat(MAX_CONNECT_HEAD)}:1 HTTP/1.1\r\n\r\n`;
    expect(parseConnectHead(Buffer.from(longLine))).toEqual(err(400));
    // Exactly at the limit is still fine.
    const pad = MAX_CONNECT_HEAD - 'CONNECT gw:5900 HTTP/1.1\r\nX: \r\n\r\n'.length;
    const exact = `CONNECT gw:5900 HTTP/1.1\r\nX: ${'b'.repeat(pad)}\r\n\r\n`;
    expect(parseConnectHead(Buffer.from(exact))).toMatchObject({ kind: 'ok', headLength: MAX_CONNECT_HEAD });
  });
});
