/**
 * Running the real helm and kubectl of the testbed against charts/deskplane, and reading
 * what they render: objects, pod specs, containers, and the env a container would see.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadState } from '@deskplane/testbed';
import { parseAllDocuments } from 'yaml';

export const CHART = join(__dirname, '..', '..', 'deskplane');
/** The value sets under ci/ (helm's convention), by file name. */
export const VALUE_SETS = readdirSync(join(CHART, 'ci')).filter((f) => f.endsWith('-values.yaml')).sort();
/** Default values plus every set: what lint, template and dry-run go through. */
export const ALL_SETS: readonly string[] = ['default', ...VALUE_SETS];

export interface Tools {
  helm: string;
  kubectl: string;
  kubeconfig: string;
}

export function tools(): Tools {
  const kube = loadState().kube;
  if (!kube?.helm) throw new Error('the testbed has no kube-apiserver with helm (testbed up)');
  return { helm: kube.helm, kubectl: kube.kubectl, kubeconfig: kube.kubeconfig };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a binary to the end; a non-zero exit is a result, not an exception. */
export function run(file: string, args: readonly string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new Error(`${file} did not run: ${err.message}`));
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export function kubectl(t: Tools, args: readonly string[], input?: string): Promise<RunResult> {
  return run(t.kubectl, ['--kubeconfig', t.kubeconfig, ...args], input);
}

/** `-f ci/<set>` for a value set, nothing for the defaults. */
export function valuesArgs(set: string): string[] {
  return set === 'default' ? [] : ['-f', join(CHART, 'ci', set)];
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

export const RELEASE = 'rel';
export const NAMESPACE = 'deskplane-system';

/** `helm template` of the chart; throws with helm's message when it fails. */
export async function render(t: Tools, set: string, extra: readonly string[] = [], where = { release: RELEASE, namespace: NAMESPACE }): Promise<{ text: string; objects: K8sObject[] }> {
  const r = await run(t.helm, ['template', where.release, CHART, '-n', where.namespace, ...valuesArgs(set), ...extra]);
  if (r.code !== 0) throw new Error(`helm template (${set}) failed: ${r.stderr}`);
  return { text: r.stdout, objects: parseObjects(r.stdout) };
}

export const byKind = (objs: readonly K8sObject[], kind: string): K8sObject[] => objs.filter((o) => o.kind === kind);

export function find(objs: readonly K8sObject[], kind: string, name: string): K8sObject {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in [${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}]`);
  return o;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: EnvVar[];
  ports?: Array<{ name: string; containerPort: number }>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  readinessProbe?: Record<string, { port?: string | number; path?: string } | number>;
  livenessProbe?: Record<string, { port?: string | number; path?: string } | number>;
}

export interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  securityContext?: Record<string, unknown>;
  nodeSelector?: Record<string, string>;
  affinity?: unknown;
  tolerations?: unknown[];
  containers: Container[];
  volumes?: Array<{ name: string; secret?: { secretName: string }; hostPath?: { path: string }; emptyDir?: unknown; persistentVolumeClaim?: unknown }>;
}

export interface Workload {
  kind: 'Deployment' | 'DaemonSet';
  name: string;
  component: string;
  pod: PodSpec;
}

export function workloads(objs: readonly K8sObject[]): Workload[] {
  return objs
    .filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet')
    .map((o) => ({
      kind: o.kind as Workload['kind'],
      name: o.metadata.name,
      component: o.metadata.labels?.['app.kubernetes.io/component'] ?? '',
      pod: (o as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec,
    }));
}

export function workload(objs: readonly K8sObject[], component: string): Workload {
  const w = workloads(objs).find((x) => x.component === component);
  if (!w) throw new Error(`no workload for component ${component}`);
  return w;
}

export function envOf(c: Container, name: string): EnvVar | undefined {
  return c.env?.find((e) => e.name === name);
}

/** The Secret data the chart renders, decoded: `<secret>/<key>` → value. */
export function renderedSecrets(objs: readonly K8sObject[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of byKind(objs, 'Secret')) {
    for (const [k, v] of Object.entries((s as unknown as { data?: Record<string, string> }).data ?? {})) {
      out.set(`${s.metadata.name}/${k}`, Buffer.from(v, 'base64').toString('utf8'));
    }
  }
  return out;
}

/**
 * The environment the kubelet would give the container: secretKeyRef from the rendered
 * Secrets or `external` (Secrets the user brings), fieldRef from `fields`, and $(VAR)
 * references to earlier variables expanded as Kubernetes does ($$ escapes).
 */
export function resolveEnv(c: Container, secrets: Map<string, string>, external: Record<string, string>, fields: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    let value: string;
    if (e.valueFrom?.secretKeyRef) {
      const ref = `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`;
      const v = secrets.get(ref) ?? external[ref];
      if (v === undefined) throw new Error(`${c.name}: ${e.name} refers to ${ref}, which neither the chart nor the test provides`);
      value = v;
    } else if (e.valueFrom?.fieldRef) {
      const v = fields[e.valueFrom.fieldRef.fieldPath];
      if (v === undefined) throw new Error(`${c.name}: ${e.name} wants field ${e.valueFrom.fieldRef.fieldPath}`);
      value = v;
    } else {
      value = (e.value ?? '').replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name?: string) => (m === '$$' ? '$' : name !== undefined && name in env ? env[name]! : m));
    }
    env[e.name] = value;
  }
  return env;
}
