import {
  AbortedError,
  AlreadyExistsError,
  FailedPreconditionError,
  type HostAgentError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
  UnavailableError,
} from '../errors';

/** What a finished (or killed) virsh call left behind, for mapVirshError. */
export interface VirshFailure {
  /** libvirt URI the call went to. */
  uri: string;
  /** virsh arguments after `-c URI` (the subcommand first). */
  args: readonly string[];
  stderr: string;
  /** True when our deadline killed it. */
  timedOut: boolean;
  timeoutMs?: number;
  /** What the call was about, for the message: "guest dp-…" (defaults to the subcommand). */
  subject?: string;
}

/** libvirt's message without virsh's "error: " prefixes, on one line. */
export function libvirtMessage(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/^error:\s*/, '').trim())
    .filter(Boolean);
  return lines.join('; ') || 'no error output';
}

const UNREACHABLE = [
  /failed to connect to the hypervisor/i,
  /Failed to connect socket/i,
  /Connection refused/i,
  /Connection reset by peer/i,
  /End of file while reading data/i,
  /Cannot recv data/i,
  /Cannot write data/i,
  /client socket is closed/i,
  /no connection driver available/i,
  /Broken pipe/i,
];

/**
 * Turns a failed virsh call into the host agent's error taxonomy. Pure: the table below is
 * the one place where libvirt's words become our error classes.
 */
export function mapVirshError(f: VirshFailure): HostAgentError {
  const cmd = `virsh ${f.args[0] ?? ''}`.trim();
  const subject = f.subject ?? cmd;
  const msg = libvirtMessage(f.stderr);
  const at = `libvirtd at ${f.uri}`;
  if (f.timedOut) {
    return new UnavailableError(`${at} did not answer ${cmd} for ${subject} within ${f.timeoutMs ?? '?'} ms; is libvirtd wedged or overloaded?`, 'LIBVIRT_TIMEOUT');
  }
  if (UNREACHABLE.some((re) => re.test(f.stderr))) {
    return new UnavailableError(`${at} is not reachable (${msg}); is libvirtd running on that host?`);
  }
  if (/failed to get domain|Domain not found|no domain with matching/i.test(f.stderr)) {
    return new NotFoundError(`${subject} is not defined on ${at}`, 'GUEST_NOT_FOUND');
  }
  if (/already exists with uuid|domain '[^']*' already exists|already defined with uuid/i.test(f.stderr)) {
    return new AlreadyExistsError(`${subject}: ${msg}`, 'DOMAIN_EXISTS');
  }
  if (/cannot acquire state change lock|another migration job is already running|job '[^']*' is already running|domain is already being migrated/i.test(f.stderr)) {
    return new AbortedError(`${subject} is busy with another libvirt job on ${at} (${msg}); retry later`, 'GUEST_BUSY');
  }
  if (/operation aborted|canceled by client/i.test(f.stderr)) {
    return new AbortedError(`${cmd} for ${subject} was aborted on ${at}: ${msg}`, 'OPERATION_ABORTED');
  }
  if (/Cannot allocate memory|No space left on device|not enough (free )?memory|Disk quota exceeded/i.test(f.stderr)) {
    return new ResourceExhaustedError(`${at} lacks resources for ${cmd} of ${subject}: ${msg}`);
  }
  if (/Requested operation is not valid|domain is not running|domain is already active|is not active/i.test(f.stderr)) {
    return new FailedPreconditionError(`${cmd} is not possible for ${subject} on ${at} now: ${msg}`, 'INVALID_GUEST_STATE');
  }
  if (/invalid argument|Invalid value|unsupported configuration/i.test(f.stderr) && !/XML error/i.test(f.stderr)) {
    return new InvalidArgumentError(`${cmd} for ${subject} was refused by ${at}: ${msg}`);
  }
  return new InternalError(`${cmd} for ${subject} failed on ${at}: ${msg}`);
}
