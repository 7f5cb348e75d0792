import { parseArgs } from 'node:util';
import { resolveConfig, statePath, type TestbedConfig } from './config';
import { down, status, up } from './testbed';

const USAGE = `usage: testbed <up|down|status> [options]

  up       start Redis, etcd + kube-apiserver and N libvirt hosts (installs and builds
           what is missing; reuses what is already running)
  down     stop everything the instance started, by pid, and remove its state
  status   health of each part (exit 1 if any part is unhealthy or nothing is up)

options:
  --name NAME     instance name (default: $DESKPLANE_TESTBED_NAME or "default")
  --hosts N       number of simulated KVM hosts (default 2)
  --subnet S      hosts listen on 127.0.S.N (default 1; a second instance needs another)
  --no-kube       skip etcd + kube-apiserver
  --no-hosts      skip libvirt hosts and the guest image
  --no-redis      skip Redis
  --json          status: print the whole state as JSON
`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      hosts: { type: 'string' },
      subnet: { type: 'string' },
      'no-kube': { type: 'boolean', default: false },
      'no-hosts': { type: 'boolean', default: false },
      'no-redis': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const cmd = positionals[0];
  if (values.help || !cmd) {
    process.stdout.write(USAGE);
    return cmd || values.help ? 0 : 2;
  }
  const overrides: Partial<TestbedConfig> = {
    ...(values.name ? { name: values.name } : {}),
    ...(values.hosts ? { hosts: parseIntIn('--hosts', values.hosts, 1, 16) } : {}),
    ...(values.subnet ? { hostSubnet: parseIntIn('--subnet', values.subnet, 1, 254) } : {}),
    parts: { redis: !values['no-redis'], kube: !values['no-kube'], hosts: !values['no-hosts'] },
  };
  const log = (msg: string): void => void process.stderr.write(`[testbed] ${msg}\n`);
  switch (cmd) {
    case 'up': {
      const t0 = Date.now();
      await up(overrides, log);
      log(`up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return printStatus(overrides, false);
    }
    case 'down':
      await down(overrides, log);
      return 0;
    case 'status':
      return printStatus(overrides, values.json);
    default:
      process.stderr.write(`unknown command "${cmd}"\n\n${USAGE}`);
      return 2;
  }
}

function parseIntIn(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} must be an integer from ${min} to ${max}, got "${v}"`);
  return n;
}

async function printStatus(overrides: Partial<TestbedConfig>, json: boolean): Promise<number> {
  const { state, parts } = await status(overrides);
  if (json) {
    process.stdout.write(JSON.stringify(state ?? null, null, 2) + '\n');
  } else if (!state) {
    process.stdout.write('testbed is down\n');
  } else {
    for (const p of parts) process.stdout.write(`${p.ok ? 'ok  ' : 'FAIL'} ${p.part.padEnd(15)} ${p.detail}\n`);
    if (state.kube) process.stdout.write(`kubeconfig      ${state.kube.kubeconfig}\n`);
    process.stdout.write(`state file      ${statePath(resolveConfig(overrides).stateDir)}\n`);
  }
  return state && parts.every((p) => p.ok) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`testbed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
