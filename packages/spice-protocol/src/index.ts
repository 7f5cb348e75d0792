/**
 * @deskplane/spice-protocol — a pure Buffer codec for the SPICE link phase.
 *
 * @example A client linking the main channel (the socket glue is yours):
 * ```ts
 * import * as spice from '@deskplane/spice-protocol';
 *
 * const decoder = new spice.ServerLinkDecoder();
 * socket.write(spice.encodeLinkMessage({
 *   connectionId: 0, channelType: spice.ChannelType.MAIN, channelId: 0,
 *   commonCaps: spice.capsToWords([spice.CommonCap.AUTH_SELECTION, spice.CommonCap.MINI_HEADER]),
 *   channelCaps: [],
 * }));
 * socket.on('data', (chunk) => {
 *   for (const msg of decoder.feed(chunk)) {
 *     if (msg.kind === 'linkReply' && msg.error === spice.LinkError.OK) {
 *       if (spice.hasCap(msg.commonCaps, spice.CommonCap.AUTH_SELECTION)) {
 *         socket.write(spice.encodeAuthMechanism(spice.AuthMechanism.SPICE));
 *       }
 *       socket.write(spice.encryptTicket('password', msg.publicKey));
 *     } else if (msg.kind === 'linkResult') {
 *       console.log(msg.result === spice.LinkError.OK ? 'linked' : `refused (${msg.result})`);
 *       const next = decoder.takeRemainder(); // first bytes of the channel phase
 *     }
 *   }
 * });
 * ```
 */
export * from './constants';
export * from './errors';
export * from './caps';
export * from './messages';
export * from './encode';
export * from './decode';
export * from './ticket';
export type { TerminalState } from './staged-decoder';
