import { describe, expect, it } from 'vitest';
import { buildVvFile, type VvFileOptions } from './vv-file';

/** Reads a .vv the way remote-viewer's GKeyFile does: one key per line, escapes undone. */
function readVv(text: string): Map<string, string> {
  const lines = text.split('\n').filter((l) => l !== '');
  expect(lines[0]).toBe('[virt-viewer]');
  const out = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const eq = line.indexOf('=');
    expect(eq, line).toBeGreaterThan(0);
    const key = line.slice(0, eq);
    expect(out.has(key), `duplicate key ${key}`).toBe(false);
    const raw = line.slice(eq + 1).replace(/^[ \t]+/, '');
    out.set(key, raw.replace(/\\(.)/g, (_, c: string) => ({ s: ' ', t: '\t', n: '\n', r: '\r', '\\': '\\' })[c] ?? `<bad escape ${c}>`));
  }
  return out;
}

const base: VvFileOptions = { host: 'gw.example', port: 5900, password: 'tkt' };
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\nAbC+/=\n-----END CERTIFICATE-----\n';

describe('buildVvFile', () => {
  it('writes the minimal section remote-viewer needs, deleting itself by default', () => {
    expect(buildVvFile(base)).toBe('[virt-viewer]\ntype=spice\nhost=gw.example\nport=5900\npassword=tkt\ndelete-this-file=1\n');
  });

  it('writes every optional field under the key virt-viewer reads', () => {
    const vv = readVv(
      buildVvFile({
        ...base,
        title: 'vd-1 (alice)',
        proxy: 'http://127.0.0.1:3128',
        tlsPort: 5901,
        caCert: PEM,
        hostSubject: 'C=XX,O=Deskplane,CN=gw.example',
        secureAttention: 'ctrl+alt+end',
        fullscreen: true,
        deleteThisFile: false,
      }),
    );
    expect(Object.fromEntries(vv)).toEqual({
      type: 'spice',
      host: 'gw.example',
      port: '5900',
      'tls-port': '5901',
      'secure-channels': 'all',
      password: 'tkt',
      proxy: 'http://127.0.0.1:3128',
      title: 'vd-1 (alice)',
      ca: PEM,
      'host-subject': 'C=XX,O=Deskplane,CN=gw.example',
      'secure-attention': 'ctrl+alt+end',
      fullscreen: '1',
      'delete-this-file': '0',
    });
  });

  it('keeps the CA on one line with \\n escapes, and CRLF PEMs too', () => {
    const text = buildVvFile({ ...base, caCert: PEM.replace(/\n/g, '\r\n') });
    const caLine = text.split('\n').find((l) => l.startsWith('ca='));
    expect(caLine).toBe('ca=-----BEGIN CERTIFICATE-----\\r\\nMIIBszCCAVmgAwIBAgIU\\r\\nAbC+/=\\r\\n-----END CERTIFICATE-----\\r\\n');
    expect(readVv(text).get('ca')).toBe(PEM.replace(/\n/g, '\r\n'));
  });

  it.each([
    ['backslashes', 'a\\nb\\\\c'],
    ['leading blanks', '  \tpw'],
    ['trailing blanks', 'pw  '],
    ['ini punctuation', 'a=b;c#d[e]'],
    ['non-ASCII', 'pässwörd✓'],
  ])('escapes %s so the value reads back unchanged', (_, value) => {
    const vv = readVv(buildVvFile({ ...base, password: value, title: value }));
    expect(vv.get('password')).toBe(value);
    expect(vv.get('title')).toBe(value);
  });

  const fields = [
    ['host', { host: 'gw\nproxy=http://evil:1' }],
    ['password', { password: 'x\nhost=evil.example' }],
    ['password', { password: 'x\rhost=evil.example' }],
    ['password', { password: 'x\0y' }],
    ['title', { title: 'x\n[virt-viewer]' }],
    ['hostSubject', { hostSubject: 'CN=a\nca=x' }],
    ['secureAttention', { secureAttention: 'ctrl\n' }],
    ['caCert', { caCert: 'PEM\0' }],
  ] as const;
  it.each(fields)('refuses %s with CR, LF or NUL (ini injection) with a RangeError naming it', (field, bad) => {
    expect(() => buildVvFile({ ...base, ...bad })).toThrow(RangeError);
    expect(() => buildVvFile({ ...base, ...bad })).toThrow(new RegExp(`^${field} `));
  });

  it.each([
    ['port', { port: 0 }],
    ['port', { port: 65_536 }],
    ['port', { port: 59.5 }],
    ['tlsPort', { tlsPort: -1 }],
    ['host', { host: '' }],
    ['proxy', { proxy: 'socks5://127.0.0.1:1080' }],
    ['proxy', { proxy: 'http://a b:1' }],
    ['proxy', { proxy: 'http://h:1/x\nhost=evil' }],
  ] as const)('refuses a bad %s (%j)', (field, bad) => {
    expect(() => buildVvFile({ ...base, ...bad })).toThrow(new RegExp(`^${field} `));
  });
});
