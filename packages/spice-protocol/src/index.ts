/**
 * @deskplane/spice-protocol — a pure Buffer codec for the SPICE link phase and the
 * channel framing after it (mini headers, the main channel's init and migration messages,
 * the display channel's DISPLAY_INIT).
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
 *
 * @example After the link: main read message by message, display only scanned.
 * ```ts
 * const main = new spice.MiniFrameDecoder({ maxMessageSize: spice.DEFAULT_MAX_MESSAGE_SIZE });
 * for (const frame of main.feed(chunk)) {
 *   const msg = spice.decodeMainServerMessage(frame);
 *   if (msg?.kind === 'migrateBeginSeamless') {
 *     client.write(spice.encodeMainServerMessage({ ...msg, host: 'gw.example', port: 5900, sport: spice.MIGRATE_NO_PORT, certSubject: null }));
 *   } else {
 *     client.write(spice.encodeMiniFrame(frame.type, frame.payload));
 *   }
 * }
 * const display = new spice.MiniFrameScanner();
 * for (const { type, size } of display.scan(chunk)) meter(type, size);
 * client.write(chunk); // untouched
 * ```
 */
export * from './constants';
export * from './errors';
export * from './caps';
export * from './messages';
export * from './encode';
export * from './decode';
export * from './ticket';
export * from './mini-header';
export * from './main-messages';
export * from './display-messages';
export type { TerminalState } from './staged-decoder';
