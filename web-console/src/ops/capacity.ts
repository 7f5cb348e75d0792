/** Capacity bars: how much of a host's vCPUs and memory the desktops placed on it ask for. */
import { formatBytes, quantityBytes } from './format';
import type { Host } from './types';

export interface Bar {
  /** 0..1 for the bar's width; clamped, so an overcommitted host draws a full bar. */
  fraction: number;
  /** Rounded, not clamped: 130 when the host is over its limit. */
  percent: number;
  level: 'ok' | 'high' | 'over' | 'unknown';
  /** What a screen reader and the bar's caption say. */
  label: string;
}

const HIGH = 0.85;

function bar(used: number | undefined, total: number | undefined, show: (n: number) => string, noun: string): Bar {
  if (used === undefined || total === undefined) return { fraction: 0, percent: 0, level: 'unknown', label: `${noun}: not reported` };
  if (total <= 0) {
    // A host with nothing allocatable: anything placed there is over.
    const over = used > 0;
    return { fraction: over ? 1 : 0, percent: over ? 100 : 0, level: over ? 'over' : 'ok', label: `${show(used)} of ${show(total)} ${noun}` };
  }
  const ratio = used / total;
  const percent = Math.round(ratio * 100);
  const level = ratio > 1 ? 'over' : ratio >= HIGH ? 'high' : 'ok';
  return { fraction: Math.min(1, Math.max(0, ratio)), percent, level, label: `${show(used)} of ${show(total)} ${noun} (${percent}%)` };
}

/**
 * The limit the scheduler places against: allocatable ((capacity - reserved) × overcommit),
 * or capacity when the agent has not reported allocatable yet.
 */
function limitOf(host: Host) {
  return host.allocatable ?? host.capacity;
}

export function vcpuBar(host: Host): Bar {
  const used = host.allocated?.vcpus ?? (host.allocatable || host.capacity ? 0 : undefined);
  return bar(used, limitOf(host)?.vcpus, String, 'vCPUs');
}

export function memoryBar(host: Host): Bar {
  const limit = limitOf(host);
  const used = host.allocated ? quantityBytes(host.allocated.memory) : limit ? 0 : undefined;
  return bar(used, quantityBytes(limit?.memory), formatBytes, 'memory');
}

export type HostState = 'ready' | 'not-ready' | 'draining' | 'drained' | 'cordoned';

/** One word for the host's state; maintenance outranks readiness because it is what ops asked for. */
export function hostState(host: Host): { state: HostState; label: string } {
  if (host.drained) return { state: 'drained', label: 'Drained' };
  if (host.maintenance) return { state: 'draining', label: 'Draining' };
  if (!host.ready) return { state: 'not-ready', label: host.readyReason ? `Not ready (${host.readyReason})` : 'Not ready' };
  if (!host.schedulable) return { state: 'cordoned', label: 'Ready, unschedulable' };
  return { state: 'ready', label: 'Ready' };
}
