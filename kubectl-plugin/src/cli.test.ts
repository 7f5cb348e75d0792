import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from './cli';
import type { Io } from './io';

function io(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const i: Io = { out: (l) => void out.push(l), err: (l) => void err.push(l), env, now: () => new Date(), sleep: () => Promise.resolve() };
  return { i, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'kd-cli-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A kubeconfig for a cluster where nothing listens (port 1 on loopback refuses at once). */
function deadCluster(): string {
  const file = join(dir, 'dead.kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: dead, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
      'users: [{name: u, user: {token: not-a-secret}}]',
      'contexts: [{name: dead, context: {cluster: dead, user: u, namespace: team-a}}, {name: other, context: {cluster: dead, user: u}}]',
      'current-context: dead',
    ].join('\n'),
  );
  return file;
}

describe('run', () => {
  it('prints help on stdout with exit 0, for the plugin and for each command', async () => {
    for (const argv of [[], ['--help'], ['list', '-h'], ['migrate', '--help'], ['drain', '-h'], ['undrain', '-h'], ['console', '-h']]) {
      const { i, out, err } = io();
      expect(await run(argv, i)).toBe(0);
      expect(err).toEqual([]);
      expect(out.join('\n')).toMatch(/Usage:\n {2}kubectl desktop/);
      expect(out.join('\n')).toMatch(/Examples?:\n {2}kubectl desktop /);
    }
  });

  it('answers a usage error with exit 2 and one line naming the help to read', async () => {
    const { i, out, err } = io();
    expect(await run(['migrate', 'a', '--bogus'], i)).toBe(2);
    expect(out).toEqual([]);
    expect(err).toEqual(['error: unknown flag --bogus for "migrate" (see "kubectl desktop migrate --help")']);
  });

  it('fails with exit 1 and one line when the kubeconfig or its context is wrong', async () => {
    const a = io();
    expect(await run(['list', '--kubeconfig', join(dir, 'nope')], a.i)).toBe(1);
    expect(a.err).toEqual([`error: kubeconfig ${join(dir, 'nope')} does not exist: check --kubeconfig`]);
    const b = io();
    expect(await run(['list', '--kubeconfig', deadCluster(), '--context', 'prod'], b.i)).toBe(1);
    expect(b.err).toEqual(['error: context "prod" is not in the kubeconfig: "kubectl config get-contexts" lists them']);
  });

  it('says which cluster cannot be reached, one line, exit 1', async () => {
    const { i, err } = io();
    expect(await run(['list', '--kubeconfig', deadCluster()], i)).toBe(1);
    expect(err).toEqual([
      'error: cannot reach the Kubernetes API at https://127.0.0.1:1 (connection refused): check your kubeconfig context (kubectl config current-context) and that the cluster is up',
    ]);
  });

  it('finds the kubeconfig through $KUBECONFIG as kubectl does', async () => {
    const prev = process.env.KUBECONFIG;
    process.env.KUBECONFIG = deadCluster();
    try {
      const { i, err } = io();
      expect(await run(['drain', 'kvm-host-1'], i)).toBe(1);
      expect(err[0]).toMatch(/^error: cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:1 /);
    } finally {
      if (prev === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = prev;
    }
  });

  it('checks for the viewer before asking anyone for a ticket', async () => {
    const { i, err } = io({ PATH: dir });
    expect(await run(['console', 'alice-dev', '--kubeconfig', deadCluster(), '--api-url', 'http://127.0.0.1:1'], i)).toBe(1);
    expect(err).toEqual(['error: remote-viewer not found: install virt-viewer ("sudo apt install virt-viewer" or "sudo dnf install virt-viewer"), or pass --viewer CMD']);
  });

  it('never sends a credential in clear text to another machine', async () => {
    const { i, err } = io({ PATH: dir });
    expect(await run(['console', 'alice-dev', '--save', join(dir, 'x.vv'), '--kubeconfig', deadCluster(), '--api-url', 'http://192.0.2.1:8080'], i)).toBe(1);
    expect(err).toEqual(['error: refusing to send your credentials in clear text to http://192.0.2.1:8080 (from --api-url): use an https:// URL']);
  });
});
