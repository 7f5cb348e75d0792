import { describe, expect, it } from 'vitest';
import { hostState, memoryBar, vcpuBar } from './capacity';
import type { Host } from './types';

const base: Host = { name: 'h1', labels: {}, agentEndpoint: '127.0.0.1:1', ready: true, schedulable: true, maintenance: false, drained: false, desktops: 0 };

describe('capacity bars', () => {
  it('measures allocated against allocatable', () => {
    const h: Host = { ...base, capacity: { vcpus: 4, memory: '8Gi' }, allocatable: { vcpus: 16, memory: '7Gi' }, allocated: { vcpus: 4, memory: '1792Mi' } };
    expect(vcpuBar(h)).toEqual({ fraction: 0.25, percent: 25, level: 'ok', label: '4 of 16 vCPUs (25%)' });
    expect(memoryBar(h)).toEqual({ fraction: 0.25, percent: 25, level: 'ok', label: '1.75 GiB of 7 GiB memory (25%)' });
  });

  it('falls back to capacity when allocatable is not reported, and counts nothing allocated as 0', () => {
    const h: Host = { ...base, capacity: { vcpus: 8, memory: '4294967296' } };
    expect(vcpuBar(h).label).toBe('0 of 8 vCPUs (0%)');
    expect(memoryBar(h).label).toBe('0 B of 4 GiB memory (0%)');
  });

  it('flags a nearly full host and clamps an overcommitted one', () => {
    const high: Host = { ...base, allocatable: { vcpus: 20, memory: '1Gi' }, allocated: { vcpus: 17, memory: '1.5Gi' } };
    expect(vcpuBar(high)).toMatchObject({ level: 'high', percent: 85 });
    expect(memoryBar(high)).toMatchObject({ level: 'over', percent: 150, fraction: 1 });
  });

  it('says "not reported" when the agent has sent nothing', () => {
    expect(vcpuBar(base)).toEqual({ fraction: 0, percent: 0, level: 'unknown', label: 'vCPUs: not reported' });
    expect(memoryBar({ ...base, allocatable: { vcpus: 1, memory: 'lots' } }).level).toBe('unknown');
  });

  it('treats anything on a host with zero allocatable as over', () => {
    const h: Host = { ...base, allocatable: { vcpus: 0, memory: '0' }, allocated: { vcpus: 1, memory: '0' } };
    expect(vcpuBar(h)).toMatchObject({ level: 'over', fraction: 1 });
    expect(memoryBar(h)).toMatchObject({ level: 'ok', fraction: 0 });
  });
});

describe('hostState', () => {
  it('puts drained over draining over readiness', () => {
    expect(hostState({ ...base, maintenance: true, drained: true, ready: false }).label).toBe('Drained');
    expect(hostState({ ...base, maintenance: true }).label).toBe('Draining');
    expect(hostState({ ...base, ready: false, readyReason: 'HeartbeatMissed' }).label).toBe('Not ready (HeartbeatMissed)');
    expect(hostState({ ...base, schedulable: false }).state).toBe('cordoned');
    expect(hostState(base)).toEqual({ state: 'ready', label: 'Ready' });
  });
});
