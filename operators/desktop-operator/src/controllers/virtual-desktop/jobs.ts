/** Pure builders of the jobs the desktop loop hands to the orchestrator (queue-contracts). */
import { parseQuantity, type DesktopTemplate, type VirtualDesktop } from '@deskplane/api';
import { lifecycleJob, type DeprovisionDesktopJob, type JobRequest, type ObjectRef, type ProvisionDesktopJob } from '@deskplane/queue-contracts';

export function desktopRef(vd: VirtualDesktop, generation = vd.metadata.generation ?? 1): ObjectRef {
  return { namespace: vd.metadata.namespace ?? '', name: vd.metadata.name ?? '', uid: vd.metadata.uid ?? '', generation };
}

export function provisionJob(vd: VirtualDesktop, template: Pick<DesktopTemplate, 'metadata' | 'spec'>, host: string, generation: number): JobRequest<ProvisionDesktopJob> {
  const t = template.spec;
  return lifecycleJob({
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
}

export function deprovisionJob(vd: VirtualDesktop): JobRequest<DeprovisionDesktopJob> {
  return lifecycleJob({ action: 'deprovision', desktop: desktopRef(vd), ...(vd.status?.host ? { host: vd.status.host } : {}) });
}
