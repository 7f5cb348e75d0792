import { LinkError, type ChannelId } from '@deskplane/spice-protocol';
import { UNDENIABLE, type EffectivePolicy } from './effective-policy';

/**
 * The link error for a channel type the policy denies: CHANNEL_NOT_AVAILABLE (9). It is
 * what spice-server itself answers for a channel it does not serve (reds.c: a valid
 * ticket and session for a type it has no channel of gets link result 9), so the client
 * sees a denied channel exactly as a guest without that device. remote-viewer was measured
 * to take 7 and 9 on playback, record, usbredir and inputs gracefully (logs once, never
 * retries, display keeps working); 7 (PERMISSION_DENIED) is kept for what really is a
 * refusal of the user — a bad ticket, too many sessions — where spice-gtk reports an
 * authentication error.
 */
export const DENIED_CHANNEL_ERROR = LinkError.CHANNEL_NOT_AVAILABLE;

/** LinkError.OK, or the error to refuse this channel type with. main, display and cursor always pass. */
export function admitChannel(p: EffectivePolicy, channelType: number): number {
  if (UNDENIABLE.has(channelType)) return LinkError.OK;
  return p.deniedChannels.has(channelType) ? DENIED_CHANNEL_ERROR : LinkError.OK;
}

/**
 * LinkError.OK, or PERMISSION_DENIED when the user already holds maxConcurrentSessions
 * live sessions (`liveSessionsOfUser` excludes the one being opened). Asked for a new
 * main channel only; secondaries join a session that was admitted.
 */
export function admitSession(p: EffectivePolicy, liveSessionsOfUser: number): number {
  if (p.maxConcurrentSessions === undefined) return LinkError.OK;
  return liveSessionsOfUser >= p.maxConcurrentSessions ? LinkError.PERMISSION_DENIED : LinkError.OK;
}

/**
 * CHANNELS_LIST (main message 104) without the denied types, so the client never tries
 * to open them (measured: removed types are simply not opened). Order is kept; the input
 * is not modified. Encode the result with encodeChannelsList.
 */
export function filterChannelsList(list: readonly ChannelId[], p: EffectivePolicy): ChannelId[] {
  return list.filter((c) => admitChannel(p, c.type) === LinkError.OK);
}
