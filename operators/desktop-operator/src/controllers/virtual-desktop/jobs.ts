/** Pure builders of the jobs the desktop loop hands to the orchestrator (queue-contracts). */
import { parseQuantity, type DesktopTemplate, type VirtualDesktop } from '@deskplane/api';
import { lifecycleJob, type DeprovisionDesktopJob, type JobRequest, type ObjectRef, type ProvisionDesktopJob, type SetPowerJob } from '@deskplane/queue-contracts';

/**
 * On a VirtualDesktop: how many times it was evicted from a NotReady host (set by the
 * operator before it clears `status.host`). A re-placement at the same generation must not
 * reuse the first placement's provision job id (BullMQ would drop it as a replay), so from
 * the first eviction on the provision id carries `.e<n>`.
 */
export const EVICTIONS_ANNOTATION = 'deskplane.io/evictions';

export function evictionsOf(vd: Pick<VirtualDesktop, 'metadata'>): number {
  const n = Number(vd.metadata.annotations?.[EVICTIONS_ANNOTATION] ?? 0);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

export function desktopRef(vd: VirtualDesktop, generation = vd.metadata.generation ?? 1): ObjectRef {
  return { namespace: vd.metadata.namespace ?? '', name: vd.metadata.name ?? '', uid: vd.metadata.uid ?? '', generation };
}

export function provisionJob(vd: VirtualDesktop, template: Pick<DesktopTemplate, 'metadata' | 'spec'>, host: string, generation: number): JobRequest<ProvisionDesktopJob> {
  const t = template.spec;
  const job = lifecycleJob({
    action: 'provision',
    desktop: desktopRef(vd, generation),
    host,
    template: {
      name: template.metadata.name ?? vd.spec.templateRef.name,
      goldenImage: t.image,
      vcpus: t.vcpus,
      memoryBytes: String(parseQuantity(t.memory)),
      diskBytes: String(parseQuantity(t.disk ?? '20Gi')),
      imageCompression: t.spice?.imageCompression ?? 'auto_glz',
      streamingMode: t.spice?.streamingMode ?? 'filter',
    },
    runStrategy: vd.spec.runStrategy ?? 'Always',
  });
  const evictions = evictionsOf(vd);
  return evictions > 0 ? { ...job, jobId: `${job.jobId}.e${evictions}` } : job;
}

/** `start` / `stop` for the desktop's current generation: one job per spec change (`start.<uid>.g<generation>`). */
export function powerJob(vd: VirtualDesktop, action: 'start' | 'stop', host: string): JobRequest<SetPowerJob> {
  return lifecycleJob({ action, desktop: desktopRef(vd), host });
}

export function deprovisionJob(vd: VirtualDesktop): JobRequest<DeprovisionDesktopJob> {
  return lifecycleJob({ action: 'deprovision', desktop: desktopRef(vd), ...(vd.status?.host ? { host: vd.status.host } : {}) });
}
