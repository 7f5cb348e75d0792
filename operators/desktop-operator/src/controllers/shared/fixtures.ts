/** Test fixtures: terse builders for the API objects (used by *.test.ts files only). */
import { createHash } from 'node:crypto';
import { API_VERSION, type DesktopMigration, type DesktopPolicy, type DesktopTemplate, type KvmHost, type VirtualDesktop } from '@deskplane/api';

export const GiB = 1024 ** 3;
export const NOW = new Date('2026-01-15T10:00:00Z');
export const ago = (s: number): string => new Date(NOW.getTime() - s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A stable uuid-shaped uid per name. */
export function uidOf(name: string): string {
  const h = createHash('sha1').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** A Ready host offering 8 vCPUs, 16 GiB, 500 GiB, nothing allocated. */
export function kvmHost(name: string, o: { ready?: 'True' | 'False' | 'Unknown' | null; spec?: Partial<KvmHost['spec']>; labels?: Record<string, string>; status?: Partial<NonNullable<KvmHost['status']>> } = {}): KvmHost {
  const ready = o.ready === undefined ? 'True' : o.ready;
  return {
    apiVersion: API_VERSION,
    kind: 'KvmHost',
    metadata: { name, uid: `uid-${name}`, generation: 1, creationTimestamp: ago(3600), labels: o.labels ?? {} },
    spec: { agentEndpoint: `${name}:7443`, ...o.spec },
    status: {
      capacity: { vcpus: 8, memory: '16Gi', disk: '500Gi' },
      allocatable: { vcpus: 8, memory: '16Gi', disk: '500Gi' },
      allocated: { vcpus: 0, memory: '0', disk: '0' },
      guestCount: 0,
      heartbeatTime: ago(5),
      conditions: ready === null ? [] : [{ type: 'Ready', status: ready, reason: 'AgentReady', message: '', lastTransitionTime: ago(600) }],
      ...o.status,
    },
  };
}

export function template(name: string, spec: Partial<DesktopTemplate['spec']> = {}, namespace = 'team-a'): DesktopTemplate {
  return { apiVersion: API_VERSION, kind: 'DesktopTemplate', metadata: { name, namespace }, spec: { image: 'debian-12', vcpus: 2, memory: '4Gi', disk: '40Gi', ...spec } };
}

export function desktop(name: string, o: { spec?: Partial<VirtualDesktop['spec']>; status?: VirtualDesktop['status']; meta?: DeepPartial<VirtualDesktop['metadata']> } = {}): VirtualDesktop {
  return {
    apiVersion: API_VERSION,
    kind: 'VirtualDesktop',
    metadata: { name, namespace: 'team-a', uid: uidOf(name), generation: 1, ...(o.meta as object) },
    spec: { templateRef: { name: 'small' }, owner: 'alice', ...o.spec },
    ...(o.status ? { status: o.status } : {}),
  };
}

export function migration(name: string, spec: Partial<DesktopMigration['spec']> = {}, status?: DesktopMigration['status']): DesktopMigration {
  return {
    apiVersion: API_VERSION,
    kind: 'DesktopMigration',
    metadata: { name, namespace: 'team-a', uid: `uid-${name}`, generation: 1 },
    spec: { desktopName: 'd1', ...spec },
    ...(status ? { status } : {}),
  };
}

export function policy(name: string, spec: Partial<DesktopPolicy['spec']>, namespace = 'team-a'): DesktopPolicy {
  return { apiVersion: API_VERSION, kind: 'DesktopPolicy', metadata: { name, namespace }, spec: { subjects: { allUsersInNamespace: true }, ...spec } };
}
