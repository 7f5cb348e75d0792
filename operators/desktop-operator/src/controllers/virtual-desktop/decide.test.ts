import { getCondition } from '@deskplane/api';
import { describe, expect, it } from 'vitest';
import { desktop, kvmHost, NOW, template } from '../shared/fixtures';
import { hostCandidate, placedDesktops } from '../shared/placement';
import { applyStatusPatch } from '../shared/status';
import { decideDeletion, decidePlacement, decisionGeneration } from './decide';
import { deprovisionJob, provisionJob } from './jobs';

const tpl = template('small');
const hosts = (...h: ReturnType<typeof kvmHost>[]) => h.map((x) => hostCandidate(x, []));

describe('decidePlacement', () => {
  it('places the desktop, records the decision and asks for provisioning', () => {
    const vd = desktop('d1');
    const d = decidePlacement({ desktop: vd, template: tpl, hosts: hosts(kvmHost('h1'), kvmHost('h2', { status: { allocated: { vcpus: 4, memory: '8Gi' } } })), scheduler: {}, now: NOW });
    expect(d.kind).toBe('scheduled');
    if (d.kind !== 'scheduled') return;
    expect(d.host).toBe('h1'); // spread: the emptier host
    const status = applyStatusPatch(vd.status, d.patch, NOW);
    expect(status).toMatchObject({
      phase: 'Provisioning',
      host: 'h1',
      observedGeneration: 1,
      scheduling: { host: 'h1', reason: 'strategy spread: 2 of 2 hosts feasible', time: '2026-01-15T10:00:00Z' },
      timings: { scheduledAt: '2026-01-15T10:00:00Z' },
    });
    expect(getCondition(status.conditions, 'Scheduled')).toMatchObject({ status: 'True', reason: 'HostSelected', observedGeneration: 1 });
    expect(d.event).toEqual({ type: 'Normal', reason: 'Scheduled', message: 'Successfully assigned team-a/d1 to h1' });
  });

  const failures: Array<[string, Parameters<typeof decidePlacement>[0]['hosts'], typeof tpl | undefined, string, string]> = [
    ['no host has the memory', hosts(kvmHost('h1'), kvmHost('h2')), template('huge', { memory: '1Ti' }), 'Unschedulable', '0/2 hosts available: 2 insufficient memory'],
    ['hosts not ready or in maintenance', hosts(kvmHost('h1', { ready: 'False' }), kvmHost('h2', { spec: { maintenance: true } })), tpl, 'Unschedulable', '0/2 hosts available: 1 in maintenance, 1 not ready'],
    ['no hosts at all', [], tpl, 'Unschedulable', '0/0 hosts available'],
    ['template missing', hosts(kvmHost('h1')), undefined, 'TemplateNotFound', 'DesktopTemplate "small" not found in namespace team-a'],
  ];
  it.each(failures)('%s → Pending, Scheduled=False with the reason', (_n, candidates, t, reason, message) => {
    const vd = desktop('d1');
    const d = decidePlacement({ desktop: vd, template: t, hosts: candidates, scheduler: {}, now: NOW });
    expect(d.kind).not.toBe('scheduled');
    const status = applyStatusPatch(vd.status, d.patch, NOW);
    expect(status.phase).toBe('Pending');
    expect(getCondition(status.conditions, 'Scheduled')).toMatchObject({ status: 'False', reason, message });
    expect(d.event).toEqual({ type: 'Warning', reason: reason === 'Unschedulable' ? 'FailedScheduling' : 'TemplateNotFound', message });
  });

  it('counts desktops already placed by the operator, not only what the agent reports', () => {
    // Each host fits 4 desktops of 4 GiB; three are already placed on h1 and four on h2.
    const placedVds = [1, 2, 3].map((i) => desktop(`a${i}`, { status: { host: 'h1' } })).concat([1, 2, 3, 4].map((i) => desktop(`b${i}`, { status: { host: 'h2' } })));
    const placed = placedDesktops(placedVds, [], () => tpl);
    const candidates = [kvmHost('h1'), kvmHost('h2')].map((h) => hostCandidate(h, placed));
    const d = decidePlacement({ desktop: desktop('d1'), template: tpl, hosts: candidates, scheduler: {}, now: NOW });
    expect(d.kind === 'scheduled' && d.host).toBe('h1');
    const full = placedDesktops([...placedVds, desktop('a4', { status: { host: 'h1' } })], [], () => tpl);
    const d2 = decidePlacement({ desktop: desktop('d2'), template: tpl, hosts: [kvmHost('h1'), kvmHost('h2')].map((h) => hostCandidate(h, full)), scheduler: {}, now: NOW });
    expect(d2.kind).toBe('unschedulable');
    expect(d2.kind !== 'scheduled' && d2.event.message).toBe('0/2 hosts available: 2 insufficient cpu'); // 4 × 2 vCPUs fill 8
  });

  it('keeps an owner\'s desktops apart with anti-affinity owner', () => {
    const placed = placedDesktops([desktop('a1', { status: { host: 'h1' } })], [], () => tpl);
    const d = decidePlacement({ desktop: desktop('d1', { spec: { placement: { antiAffinity: 'owner' } } }), template: tpl, hosts: [kvmHost('h1'), kvmHost('h2', { status: { allocated: { vcpus: 6, memory: '10Gi' } } })].map((h) => hostCandidate(h, placed)), scheduler: {}, now: NOW });
    expect(d.kind === 'scheduled' && d.host).toBe('h2');
  });
});

describe('decideDeletion', () => {
  const placed = desktop('d1', { status: { host: 'h1', phase: 'Running' } });
  const cases: Array<[string, ReturnType<typeof desktop>, string | undefined, string, string | undefined]> = [
    ['never placed: release at once', desktop('d1'), undefined, 'removeFinalizer', undefined],
    ['placed, no job yet: enqueue deprovision', placed, undefined, 'enqueueDeprovision', 'Deleting'],
    ['job waiting: keep the finalizer', placed, 'waiting', 'waitForDeprovision', 'Deleting'],
    ['job active: keep the finalizer', placed, 'active', 'waitForDeprovision', 'Deleting'],
    ['job failed: keep the finalizer, say so', placed, 'failed', 'deprovisionFailed', 'Deleting'],
    ['job completed: release', placed, 'completed', 'removeFinalizer', undefined],
  ];
  it.each(cases)('%s', (_n, vd, state, kind, phase) => {
    const d = decideDeletion(vd, state);
    expect(d.kind).toBe(kind);
    if ('patch' in d) expect(applyStatusPatch(vd.status, d.patch, NOW).phase).toBe(phase);
  });
});

describe('jobs', () => {
  it('provision job: idempotent id from uid and the decision generation, template resolved to bytes', () => {
    const vd = desktop('d1', { meta: { generation: 3 }, status: { host: 'h1', conditions: [{ type: 'Scheduled', status: 'True', reason: 'HostSelected', message: '', lastTransitionTime: '2026-01-15T10:00:00Z', observedGeneration: 2 }] } });
    const job = provisionJob(vd, tpl, 'h1', decisionGeneration(vd));
    expect(job.jobId).toBe(`provision.${vd.metadata.uid}.g2`);
    expect(job.data).toMatchObject({ host: 'h1', runStrategy: 'Always', template: { name: 'small', goldenImage: 'debian-12', vcpus: 2, memoryBytes: String(4 * 1024 ** 3), diskBytes: String(40 * 1024 ** 3), imageCompression: 'auto_glz', streamingMode: 'filter' } });
    expect(deprovisionJob(vd).data).toMatchObject({ action: 'deprovision', host: 'h1' });
  });
});
