import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  AlreadyExistsError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
  UnavailableError,
} from '../errors';
import { libvirtMessage, mapVirshError } from './virsh-errors';

const URI = 'qemu+unix:///system?socket=/run/h1/libvirt-sock';
const D = 'dp-6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f60';

// stderr as virsh 9.0 printed it on the testbed (LC_ALL=C).
const cases: { stderr: string; args: string[]; want: new (...a: never[]) => Error; message: RegExp }[] = [
  { stderr: `error: failed to get domain '${D}'\n`, args: ['dumpxml', D], want: NotFoundError, message: new RegExp(`guest ${D} is not defined on libvirtd at`) },
  {
    stderr: "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/run/h1/libvirt-sock': No such file or directory\n",
    args: ['list'],
    want: UnavailableError,
    message: /libvirtd at qemu\+unix.* is not reachable \(failed to connect to the hypervisor; Failed to connect socket .*\); is libvirtd running/,
  },
  { stderr: "error: Failed to connect socket to '/run/h1/libvirt-sock': Connection refused", args: ['list'], want: UnavailableError, message: /not reachable/ },
  { stderr: 'error: End of file while reading data: Input/output error', args: ['start', D], want: UnavailableError, message: /not reachable/ },
  { stderr: "error: operation failed: domain 'dp-x' already exists with uuid 6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f60", args: ['define', 'f'], want: AlreadyExistsError, message: /already exists/ },
  { stderr: "error: operation aborted: job 'migration out' canceled by client", args: ['migrate', D], want: AbortedError, message: /was aborted/ },
  { stderr: 'error: Timed out during operation: cannot acquire state change lock (held by monitor=remoteDispatchDomainMigratePerform3Params)', args: ['start', D], want: AbortedError, message: /busy with another libvirt job.*retry later/ },
  { stderr: 'error: Requested operation is not valid: domain is not running', args: ['shutdown', D], want: FailedPreconditionError, message: /virsh shutdown is not possible for guest/ },
  { stderr: 'error: Requested operation is not valid: domain is already active', args: ['start', D], want: FailedPreconditionError, message: /already active/ },
  { stderr: "error: internal error: process exited while connecting to monitor: cannot set up guest memory 'pc.ram': Cannot allocate memory", args: ['start', D], want: ResourceExhaustedError, message: /lacks resources/ },
  { stderr: "error: invalid argument: could not find capabilities for arch=x86_64 domaintype=kvm", args: ['define', 'f'], want: InvalidArgumentError, message: /refused by libvirtd/ },
  { stderr: 'error: XML error: Invalid value for attribute', args: ['define', 'f'], want: InternalError, message: /XML error/ },
  { stderr: 'error: Operation not supported: cannot change listen address setting on \'spice\' graphics', args: ['update-device', D], want: InternalError, message: /virsh update-device for guest .* failed on libvirtd at .*: Operation not supported/ },
];

describe('mapVirshError', () => {
  it.each(cases)('$stderr → $want.name', ({ stderr, args, want, message }) => {
    const err = mapVirshError({ uri: URI, args, stderr, timedOut: false, subject: `guest ${D}` });
    expect(err).toBeInstanceOf(want);
    expect(err.message).toMatch(message);
  });

  it('a deadline is Unavailable, retryable, naming the call and the URI', () => {
    const err = mapVirshError({ uri: URI, args: ['dominfo', D], stderr: '', timedOut: true, timeoutMs: 30000, subject: `guest ${D}` });
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.retryable).toBe(true);
    expect(err.code).toBe('LIBVIRT_TIMEOUT');
    expect(err.message).toBe(`libvirtd at ${URI} did not answer virsh dominfo for guest ${D} within 30000 ms; is libvirtd wedged or overloaded?`);
  });

  it('names the subcommand when there is no subject', () => {
    expect(mapVirshError({ uri: URI, args: ['nodeinfo'], stderr: 'error: boom', timedOut: false }).message).toBe(`virsh nodeinfo for virsh nodeinfo failed on libvirtd at ${URI}: boom`);
  });

  it('libvirtMessage strips virsh prefixes and joins lines', () => {
    expect(libvirtMessage('error: a\n\nerror: b\n')).toBe('a; b');
    expect(libvirtMessage('')).toBe('no error output');
  });
});
