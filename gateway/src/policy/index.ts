/**
 * DesktopPolicy enforcement for the gateway: which policy a session gets, whether a
 * channel or session is admitted, token buckets per channel type, session, user and
 * tenant, the pump that shapes a channel with them, and session deadlines.
 *
 * @example
 * ```ts
 * const policies = await StorePolicySource.start(store, { log });
 * const book = new BucketBook();
 * const p = policies.current({ tenant: 'team-a', user: 'alice', groups: [] }, ticket.policy);
 * if (admitSession(p, registry.countByUser('team-a', 'alice')) !== LinkError.OK) refuse();
 * const shaper = book.forSession({ key, tenant: 'team-a', user: 'alice' }, p);
 * shapedPump(upstream, client, { buckets: () => shaper.buckets(ChannelType.DISPLAY, 'toClient'), onBytes });
 * policies.onChange(() => shaper.setPolicy(policies.current(who, ticket.policy)));
 * ```
 */
export { TokenBucket } from './token-bucket';
export { shapedPump, MAX_SLEEP_MS, type ShapedPump, type ShapedPumpOptions, type HoldReason } from './shaped-pump';
export {
  resolvePolicy,
  bindingOrder,
  kbpsToBytesPerSec,
  UNRESTRICTED,
  UNDENIABLE,
  POLICY_VALID_CONDITION,
  type EffectivePolicy,
  type PolicySubject,
} from './effective-policy';
export { BucketBook, burstFor, type SessionShaper, type Direction } from './bucket-book';
export { sessionDeadline, type Deadline, type DeadlineReason } from './session-timers';
export { admitChannel, admitSession, filterChannelsList, DENIED_CHANNEL_ERROR } from './admission';
export {
  StaticPolicySource,
  StorePolicySource,
  POLICY_APPLIED,
  POLICY_NOT_APPLIED,
  type PolicySource,
  type StorePolicySourceOptions,
} from './policy-source';
