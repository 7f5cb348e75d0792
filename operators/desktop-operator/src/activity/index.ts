/** Desktop activity: logout release of floating pool desktops, idle stop and recycle, from the gateways' presence. */
export { createActivityTask, runActivityPass, EventReason, type ActivityTaskOptions, type ActivityPassResult } from './task';
export { RedisPresenceReader, presenceKey, lastSessionEndKey, presenceHeartbeatKey, type Presence, type PresenceSnapshot, type PresenceSource, type PresenceRedis } from './presence';
export { decideActivity, poolFacts, Annotations, RecycleReason, DEFAULT_RELEASE_AFTER_SECONDS, NEVER_CONNECTED_FACTOR, NEVER_CONNECTED_MIN_SECONDS, type ActivityAction, type ActivityInput } from './decide';
export { resolveIdleRule, type IdleRule } from './policy';
