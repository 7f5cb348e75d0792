/**
 * The provision job drift repair enqueues for a desktop whose guest is gone (pure).
 *
 * Its id is the operator's provision id plus `.r<n>`: `provision.<uid>.g<generation>.r<n>`.
 * The plain id names the first provisioning of that generation and still exists in BullMQ
 * (completed), so re-enqueueing it would be dropped as a replay; `n` counts the repairs of
 * the desktop (annotation `deskplane.io/repairs`, bumped before the enqueue), so every
 * repair is a new decision made exactly once. The provision processor recognises the
 * suffix and lets a repair run on a desktop that is Running or Stopped.
 */
import { parseQuantity, type DesktopTemplate, type VirtualDesktop } from '@deskplane/api';
import { jobIdFor, lifecycleJob, type JobRequest, type ProvisionDesktopJob } from '@deskplane/queue-contracts';

export const REPAIRS_ANNOTATION = 'deskplane.io/repairs';

export function repairsOf(vd: Pick<VirtualDesktop, 'metadata'>): number {
  const n = Number(vd.metadata.annotations?.[REPAIRS_ANNOTATION] ?? 0);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

export function repairJobId(ref: { uid: string; generation: number }, n: number): string {
  return `${jobIdFor('provision', ref)}.r${n}`;
}

/** Pure: is this a drift repair's provision job? */
export function isRepairJobId(id: string): boolean {
  return /^provision\.[0-9a-f-]+\.g\d+(\.e\d+)?\.r\d+$/i.test(id);
}

/**
 * The repair: the same provision job the operator builds (template values read now), on
 * the host the desktop is placed on; a desktop that was Stopped is defined and left
 * stopped (`Halted`), a Running one is started.
 */
export function repairJob(
  vd: Pick<VirtualDesktop, 'metadata' | 'spec'>,
  template: Pick<DesktopTemplate, 'metadata' | 'spec'>,
  host: string,
  phase: 'Running' | 'Stopped',
  n: number,
): JobRequest<ProvisionDesktopJob> {
  const t = template.spec;
  const desktop = { namespace: vd.metadata.namespace ?? '', name: vd.metadata.name ?? '', uid: vd.metadata.uid ?? '', generation: vd.metadata.generation ?? 1 };
  const job = lifecycleJob<ProvisionDesktopJob>({
    action: 'provision',
    desktop,
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
    runStrategy: phase === 'Stopped' ? 'Halted' : (vd.spec.runStrategy ?? 'Always'),
  });
  return { ...job, jobId: repairJobId(desktop, n) };
}
