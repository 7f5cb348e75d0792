/**
 * Pure: every failure becomes one line that says what went wrong and what to do about it.
 * Server-supplied text is flattened to one line and cut short, so a hostile or broken server
 * cannot paint the terminal.
 */

/** Exit code 1 with a one-line message (exit code 2 is UsageError, in args.ts). */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** A Kubernetes API answer other than 2xx; `status` holds the parsed metav1.Status when there was one. */
export class KubeHttpError extends Error {
  override readonly name = 'KubeHttpError';
  constructor(
    readonly code: number,
    readonly status: KubeStatus | undefined,
    readonly text: string,
  ) {
    super(status?.message ?? `HTTP ${code}`);
  }
}

/** The request never got an answer (refused, DNS, TLS, timeout). */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; group?: string };
}

/** Control characters out, one line, at most `max` characters. */
export function oneLine(text: string, max = 300): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export interface KubeCallContext {
  /** e.g. `list`, `get`, `patch`, `create`. */
  verb: string;
  /** Plural resource name, e.g. `virtualdesktops`. */
  resource: string;
  /** Human kind, e.g. `VirtualDesktop`; in not-found messages. */
  kind: string;
  name?: string;
  namespace?: string;
  /** What lists the existing ones, for not-found hints. */
  listHint?: string;
}

export const CRDS_MISSING_HINT = 'install Deskplane (its Helm chart installs the CRDs) or apply packages/api/crds/*.yaml';

/**
 * A Kubernetes error to one line. 404 means two different things: a Status with the
 * object's name is "this object does not exist"; a bare 404 (no Status, or none naming an
 * object) means the apiserver does not serve the resource at all: the CRDs are missing.
 */
export function kubeErrorMessage(e: KubeHttpError, c: KubeCallContext): string {
  const where = c.namespace ? ` in namespace "${c.namespace}"` : '';
  const server = e.status?.message ? oneLine(e.status.message) : oneLine(e.text) || `HTTP ${e.code}`;
  switch (e.code) {
    case 401:
      return `the cluster did not accept your credentials (401 Unauthorized): log in again or check the user of your kubeconfig context`;
    case 403:
      return `forbidden: ${server}; ask your cluster admin for RBAC access (a Role or ClusterRole allowing "${c.verb}" on ${c.resource}.deskplane.io)`;
    case 404:
      if (e.status?.reason === 'NotFound' && e.status.details?.name !== undefined && c.name !== undefined) {
        return `${c.kind} "${c.name}" not found${where}${c.listHint ? `: ${c.listHint} shows what there is` : ''}`;
      }
      return `the Deskplane CRDs are not installed on this cluster (it does not serve ${c.resource}.deskplane.io/v1alpha1): ${CRDS_MISSING_HINT}`;
    case 409:
      return `conflict on ${c.kind}${c.name ? ` "${c.name}"` : ''}: ${server}; try again`;
    case 422:
      return `the cluster refused the ${c.kind}: ${server}`;
    case 429:
      return `the cluster is throttling requests (429): try again in a moment`;
    default:
      if (e.code >= 500) return `the Kubernetes API failed (HTTP ${e.code}): ${server}; try again, or ask your cluster admin if it persists`;
      return `the Kubernetes API answered HTTP ${e.code}: ${server}`;
  }
}

const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** What kind of failure a transport error code is, for the message and its hint. */
export function transportProblem(code: string, timeoutMs: number): string {
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  if (code === 'ETIMEDOUT' || code === 'TIMEOUT') return `no answer within ${Math.round(timeoutMs / 1000)}s`;
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection reset';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'no route to host';
  if (TLS_VERIFY_CODES.has(code)) return `TLS certificate not trusted (${code})`;
  return code;
}

export const isTlsVerifyCode = (code: string): boolean => TLS_VERIFY_CODES.has(code);

export function kubeTransportMessage(e: TransportError, server: string, timeoutMs: number): string {
  const hint = isTlsVerifyCode(e.code)
    ? 'check certificate-authority in your kubeconfig'
    : 'check your kubeconfig context (kubectl config current-context) and that the cluster is up';
  return `cannot reach the Kubernetes API at ${server} (${transportProblem(e.code, timeoutMs)}): ${hint}`;
}
