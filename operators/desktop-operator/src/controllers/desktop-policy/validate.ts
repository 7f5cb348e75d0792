/**
 * Pure semantic checks of a DesktopPolicy, beyond what the CRD schema enforces: things a
 * schema cannot say (or that the embedded backend's schema hooks may not catch).
 */
import type { DesktopPolicySpec } from '@deskplane/api';

export interface PolicyIssue {
  field: string;
  message: string;
}

function duplicates(list: readonly string[] | undefined): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const v of list ?? []) (seen.has(v) ? dup : seen).add(v);
  return [...dup].sort();
}

export function validatePolicy(spec: DesktopPolicySpec): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const [field, list] of [
    ['spec.deniedChannels', spec.deniedChannels],
    ['spec.subjects.users', spec.subjects.users],
    ['spec.subjects.groups', spec.subjects.groups],
  ] as const) {
    const dup = duplicates(list);
    if (dup.length) issues.push({ field, message: `duplicate entries: ${dup.join(', ')}` });
  }
  const total = spec.bandwidth?.totalKbps;
  if (total !== undefined) {
    for (const [channel, kbps] of Object.entries(spec.bandwidth?.perChannel ?? {})) {
      if (kbps !== undefined && kbps > total) {
        issues.push({ field: `spec.bandwidth.perChannel.${channel}`, message: `${kbps} kbit/s exceeds totalKbps ${total}` });
      }
    }
  }
  const perChannel = spec.bandwidth?.perChannel ?? {};
  for (const channel of spec.deniedChannels ?? []) {
    if ((perChannel as Record<string, number | undefined>)[channel] !== undefined) {
      issues.push({ field: `spec.bandwidth.perChannel.${channel}`, message: `limits channel ${channel}, which deniedChannels refuses` });
    }
  }
  if (spec.idleTimeoutSeconds !== undefined && spec.maxSessionSeconds !== undefined && spec.idleTimeoutSeconds > spec.maxSessionSeconds) {
    issues.push({ field: 'spec.idleTimeoutSeconds', message: `${spec.idleTimeoutSeconds}s is longer than maxSessionSeconds ${spec.maxSessionSeconds}s and can never fire` });
  }
  return issues;
}
