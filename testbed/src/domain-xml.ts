/**
 * Domain XML for the testbed's smoke-test guests: direct kernel boot of the guest image,
 * one qcow2 overlay, serial console into a file (so a test can read the counter) and
 * SPICE with a password on QXL. The host agent gets its own, fuller builder; this one
 * stays small on purpose.
 */
export interface TestGuestSpec {
  name: string;
  uuid: string;
  memoryMiB: number;
  vcpus: number;
  /** 'qemu' (TCG) where KVM cannot run guests, as on the testbed machines. */
  domainType?: 'qemu' | 'kvm';
  kernel: string;
  initrd: string;
  cmdline: string;
  /** qcow2 overlay of the golden disk; must be reachable from every host it may migrate to. */
  disk: string;
  /** Serial console output file; must be a valid path on the destination of a migration too. */
  serialLog: string;
  spice: { listen: string; password: string };
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

export function buildTestDomainXml(spec: TestGuestSpec): string {
  validate(spec);
  const e = escapeXml;
  return `<domain type='${spec.domainType ?? 'qemu'}'>
  <name>${e(spec.name)}</name>
  <uuid>${e(spec.uuid)}</uuid>
  <memory unit='MiB'>${spec.memoryMiB}</memory>
  <vcpu>${spec.vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${e(spec.kernel)}</kernel>
    <initrd>${e(spec.initrd)}</initrd>
    <cmdline>${e(spec.cmdline)}</cmdline>
  </os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${e(spec.disk)}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'>
      <source path='${e(spec.serialLog)}'/>
      <target port='0'/>
    </serial>
    <graphics type='spice' autoport='yes' listen='${e(spec.spice.listen)}' passwd='${e(spec.spice.password)}'>
      <listen type='address' address='${e(spec.spice.listen)}'/>
    </graphics>
    <video><model type='qxl'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

function validate(spec: TestGuestSpec): void {
  const bad = (what: string): never => {
    throw new Error(`test guest "${spec.name}": ${what}`);
  };
  if (!NAME_RE.test(spec.name)) bad('name must be 1-64 of [A-Za-z0-9_.-], starting alphanumeric');
  if (!UUID_RE.test(spec.uuid)) bad(`uuid ${spec.uuid} is not a UUID`);
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < 32) bad('memoryMiB must be an integer >= 32');
  if (!Number.isInteger(spec.vcpus) || spec.vcpus < 1) bad('vcpus must be an integer >= 1');
  for (const [k, v] of [['kernel', spec.kernel], ['initrd', spec.initrd], ['disk', spec.disk], ['serialLog', spec.serialLog]] as const) {
    if (!v.startsWith('/')) bad(`${k} must be an absolute path (libvirtd resolves it in its own namespace)`);
  }
  // spice-server truncates/refuses long passwords; 60 bytes is the ticket limit in the protocol.
  if (spec.spice.password.length === 0 || spec.spice.password.length > 60) bad('SPICE password must be 1-60 characters');
}
