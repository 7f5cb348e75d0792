/** Opens the configured resource store and job queue. */
import { KINDS, applyDefaults, issuesFor } from '@deskplane/api';
import { BullJobQueue } from '@deskplane/queue-contracts';
import { EmbeddedStore, KubernetesStore, typeKey, type KubeObject, type ResourceStore, type TypeSchema } from '@deskplane/resource-store';
import type { OperatorConfig } from './config';

/**
 * The embedded backend has no apiserver: the API package's schemas default and validate
 * every Deskplane kind on write, as the CRDs do on a cluster.
 */
export function deskplaneSchemas(): Map<string, TypeSchema> {
  const schemas = new Map<string, TypeSchema>();
  // Every kind, not only the operator's: the local run's API and gateway share this store.
  for (const def of KINDS) {
    schemas.set(typeKey(def.info), {
      applyDefaults: (o: KubeObject) => applyDefaults(o),
      validate: (o: KubeObject) => issuesFor(def, o).map((i) => `${i.path}: ${i.message}`),
    });
  }
  return schemas;
}

export function openStore(backend: OperatorConfig['backend'], instance: string): ResourceStore {
  return backend.kind === 'kubernetes'
    ? new KubernetesStore({ ...(backend.kubeconfig ? { kubeconfig: backend.kubeconfig } : {}), instance })
    : new EmbeddedStore({ dir: backend.dataDir, schemas: deskplaneSchemas() });
}

export function openJobQueue(redisUrl: string, prefix: string): BullJobQueue {
  const u = new URL(redisUrl);
  return new BullJobQueue(
    {
      host: u.hostname,
      port: Number(u.port || 6379),
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
      ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
      ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
      ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    },
    prefix,
  );
}
