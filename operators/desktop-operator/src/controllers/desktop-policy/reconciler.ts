/**
 * DesktopPolicy loop: check what the schema cannot (validate.ts), write Valid with
 * observedGeneration, and record a Warning Event for an invalid generation. Nothing is
 * retried: only a new spec can change the answer.
 */
import type { Informer, ResourceClient } from '@deskplane/resource-store';
import type { PolicyObject } from '../../resources';
import type { ReconcileResult } from '../../runtime/controller';
import type { EventSink, ReconcileContext } from '../shared/context';
import { writeStatus } from '../shared/status';
import { getCondition } from '@deskplane/api';
import { POLICY_VALID } from './resolve';
import { validatePolicy } from './validate';

export interface DesktopPolicyReconcilerDeps {
  policies: Informer<PolicyObject>;
  client: ResourceClient<PolicyObject>;
  events: EventSink;
  now: () => Date;
}

export class DesktopPolicyReconciler {
  constructor(private readonly d: DesktopPolicyReconcilerDeps) {}

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const p = this.d.policies.get(key);
    if (!p || p.metadata.deletionTimestamp) return {};
    const issues = validatePolicy(p.spec);
    const gen = p.metadata.generation !== undefined ? { observedGeneration: p.metadata.generation } : {};
    const message = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
    const before = getCondition(p.status?.conditions, POLICY_VALID);
    await writeStatus(
      this.d.client,
      p,
      {
        set: gen,
        conditions: [
          issues.length
            ? { type: POLICY_VALID, status: 'False', reason: 'InvalidPolicy', message, ...gen }
            : { type: POLICY_VALID, status: 'True', reason: 'PolicyValid', message: '', ...gen },
        ],
      },
      this.d.now(),
    );
    const changed = before?.status !== (issues.length ? 'False' : 'True') || before.observedGeneration !== p.metadata.generation;
    if (issues.length && changed) {
      await this.d.events.warning(p, 'InvalidPolicy', message);
      ctx.log.info({ issues }, 'policy invalid');
    }
    return {};
  }
}
