/**
 * The `.vv` file the console hands a user: remote-viewer (virt-viewer) opens it and connects
 * to the gateway with the ticket as the SPICE password. remote-viewer reads it with GLib's
 * GKeyFile, so values follow GKeyFile's string rules: a backslash starts an escape (\\ \s \t
 * \n \r), leading whitespace is dropped unless escaped, and a line break ends the value.
 */
export interface VvFileOptions {
  /** What the client connects to: the gateway (or, with `proxy`, the CONNECT target). */
  host: string;
  port: number;
  /** The console ticket. */
  password: string;
  title?: string;
  /** HTTP CONNECT proxy, e.g. `http://gw.example:3128` (the gateway's CONNECT front). */
  proxy?: string;
  tlsPort?: number;
  /** PEM of the CA that signs the TLS port's certificate; newlines are escaped, not refused. */
  caCert?: string;
  /** Expected TLS subject, e.g. `C=XX,O=Deskplane,CN=gw.example`. */
  hostSubject?: string;
  /** Key combination sent as Ctrl+Alt+Del (virt-viewer's `secure-attention`), e.g. `ctrl+alt+end`. */
  secureAttention?: string;
  /** remote-viewer deletes the file once read, so the ticket does not linger on disk. Default true. */
  deleteThisFile?: boolean;
  fullscreen?: boolean;
}

/**
 * Rejects what would break out of the value: a line break would start a new key (ini
 * injection: `password=x\nhost=evil`), a NUL would cut the file short for C readers.
 */
function checkRaw(field: string, value: string): void {
  if (/[\r\n\0]/.test(value)) throw new RangeError(`${field} must not contain CR, LF or NUL`);
}

/** GKeyFile string escaping: backslashes always, leading blanks so they are not trimmed. */
function escapeValue(value: string): string {
  const escaped = value.replace(/\\/g, '\\\\');
  const lead = /^[ \t]*/.exec(escaped)![0];
  return lead.replace(/ /g, '\\s').replace(/\t/g, '\\t') + escaped.slice(lead.length);
}

function checkPort(field: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new RangeError(`${field} must be an integer port 1..65535, got ${port}`);
}

/** Builds the `[virt-viewer]` section; throws RangeError naming the first bad field. */
export function buildVvFile(o: VvFileOptions): string {
  const lines: [string, string][] = [['type', 'spice']];
  const text = (key: string, field: string, value: string | undefined): void => {
    if (value === undefined) return;
    checkRaw(field, value);
    lines.push([key, escapeValue(value)]);
  };
  if (o.host === '') throw new RangeError('host must not be empty');
  text('host', 'host', o.host);
  checkPort('port', o.port);
  lines.push(['port', String(o.port)]);
  if (o.tlsPort !== undefined) {
    checkPort('tlsPort', o.tlsPort);
    lines.push(['tls-port', String(o.tlsPort)]);
    // Without it spice-gtk speaks plain SPICE to `port` first and never falls back to TLS
    // (measured with remote-viewer 11): a TLS console would silently run unencrypted.
    lines.push(['secure-channels', 'all']);
  }
  text('password', 'password', o.password);
  if (o.proxy !== undefined && !/^https?:\/\/[^\s/]+\/?$/i.test(o.proxy)) throw new RangeError(`proxy must be http://host:port, got ${JSON.stringify(o.proxy)}`);
  text('proxy', 'proxy', o.proxy);
  text('title', 'title', o.title);
  if (o.caCert !== undefined) {
    if (o.caCert.includes('\0')) throw new RangeError('caCert must not contain NUL');
    lines.push(['ca', o.caCert.replace(/\\/g, '\\\\').replace(/\r/g, '\\r').replace(/\n/g, '\\n')]);
  }
  text('host-subject', 'hostSubject', o.hostSubject);
  text('secure-attention', 'secureAttention', o.secureAttention);
  if (o.fullscreen !== undefined) lines.push(['fullscreen', o.fullscreen ? '1' : '0']);
  lines.push(['delete-this-file', o.deleteThisFile === false ? '0' : '1']);
  return ['[virt-viewer]', ...lines.map(([k, v]) => `${k}=${v}`), ''].join('\n');
}
