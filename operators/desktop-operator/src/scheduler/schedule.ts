import { reasonDetail, reasonSummary, runFilters } from './filters';
import {
  commit,
  prepareHosts,
  prepareRequest,
  resolveConfig,
  toCandidate,
  type PreparedHost,
  type PreparedRequest,
  type ResolvedConfig,
} from './prepared';
import { combinedScore } from './scores';
import type {
  BatchPlacement,
  BatchResult,
  DesktopRequest,
  HostCandidate,
  HostRejection,
  HostScore,
  ReasonCode,
  ScheduleOptions,
  ScheduleResult,
  SchedulerConfig,
  Unschedulable,
} from './types';

// The hot loop's callees, bound once: when this module runs through a bundler's CommonJS
// interop (tsx, esbuild), every call through an import binding is an exports getter call.
const passesOrReason = runFilters;
const scoreOf = combinedScore;

/**
 * Formats the kube-scheduler style message: "0/5 hosts available: 3 insufficient memory,
 * 2 in maintenance". Entries sorted by count (descending), then text (code-unit order).
 */
export function formatUnschedulableMessage(totalHosts: number, counts: ReadonlyArray<readonly [string, number]>): string {
  const head = `0/${totalHosts} hosts available`;
  if (counts.length === 0) return head;
  const parts = [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([text, n]) => `${n} ${text}`);
  return `${head}: ${parts.join(', ')}`;
}

/** Re-runs the filters to say why every host was rejected (the slow path, failures only). */
function explainFailure(req: PreparedRequest, hosts: readonly PreparedHost[]): Unschedulable {
  const reasons: Partial<Record<ReasonCode, number>> = {};
  const rejections: HostRejection[] = [];
  for (const host of hosts) {
    const code = runFilters(req, host);
    if (code === undefined) throw new Error(`scheduler invariant: host ${host.name} passes every filter`);
    reasons[code] = (reasons[code] ?? 0) + 1;
    rejections.push({ host: host.name, code, detail: reasonDetail(code, req, host) });
  }
  const counts = (Object.entries(reasons) as Array<[ReasonCode, number]>).map(
    ([code, n]) => [reasonSummary(code, req), n] as const,
  );
  return { ok: false, reasons, message: formatUnschedulableMessage(hosts.length, counts), rejections };
}

/**
 * The hot loop: every host through the filters, every feasible one scored, the best kept.
 * Highest score wins; equal scores go to the lexicographically smallest name, so the
 * result does not depend on the order of `hosts`.
 */
function pick(req: PreparedRequest, hosts: readonly PreparedHost[], config: ResolvedConfig): number {
  let best = -1;
  let bestScore = -Infinity;
  let bestName = '';
  for (let i = 0; i < hosts.length; i++) {
    const host = hosts[i]!;
    if (passesOrReason(req, host) !== undefined) continue;
    const score = scoreOf(req, host, config);
    if (score > bestScore || (score === bestScore && host.name < bestName)) {
      best = i;
      bestScore = score;
      bestName = host.name;
    }
  }
  return best;
}

function decide(
  req: PreparedRequest,
  hosts: readonly PreparedHost[],
  config: ResolvedConfig,
  options: ScheduleOptions,
): { index: number; result: ScheduleResult } {
  const index = pick(req, hosts, config);
  if (index < 0) return { index, result: explainFailure(req, hosts) };
  const host = hosts[index]!;
  const score = combinedScore(req, host, config);
  if (!options.explain) return { index, result: { ok: true, host: host.name, score } };
  const scores: HostScore[] = [];
  for (const h of hosts) if (runFilters(req, h) === undefined) scores.push({ host: h.name, score: combinedScore(req, h, config) });
  scores.sort((a, b) => b.score - a.score || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  return { index, result: { ok: true, host: host.name, score, scores } };
}

/**
 * Picks a host for one desktop, or says why none fits. Pure: reads its inputs only.
 * Throws `SchedulerConfigError` / `SchedulerInputError` on malformed config or input.
 */
export function schedule(
  desktop: DesktopRequest,
  hosts: readonly HostCandidate[],
  config: SchedulerConfig = {},
  options: ScheduleOptions = {},
): ScheduleResult {
  const resolved = resolveConfig(config);
  return decide(prepareRequest(desktop), prepareHosts(hosts, resolved), resolved, options).result;
}

/**
 * Schedules desktops one after another, in the given order, each seeing the placements
 * before it. Pure: returns the new host states and never mutates `hosts` or `desktops`.
 */
export function scheduleBatch(
  desktops: readonly DesktopRequest[],
  hosts: readonly HostCandidate[],
  config: SchedulerConfig = {},
  options: ScheduleOptions = {},
): BatchResult {
  const resolved = resolveConfig(config);
  const prepared = prepareHosts(hosts, resolved);
  const placements: BatchPlacement[] = [];
  for (const desktop of desktops) {
    const req = prepareRequest(desktop);
    const { index, result } = decide(req, prepared, resolved, options);
    if (index >= 0) commit(prepared[index]!, req);
    placements.push({ desktop, result });
  }
  return { placements, hosts: prepared.map(toCandidate) };
}
