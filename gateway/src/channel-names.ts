import { ChannelType } from '@deskplane/spice-protocol';

/** Lower-case channel names as DesktopPolicy, metrics and logs spell them. */
const NAMES: Record<number, string> = {
  [ChannelType.MAIN]: 'main',
  [ChannelType.DISPLAY]: 'display',
  [ChannelType.INPUTS]: 'inputs',
  [ChannelType.CURSOR]: 'cursor',
  [ChannelType.PLAYBACK]: 'playback',
  [ChannelType.RECORD]: 'record',
  [ChannelType.TUNNEL]: 'tunnel',
  [ChannelType.SMARTCARD]: 'smartcard',
  [ChannelType.USBREDIR]: 'usbredir',
  [ChannelType.PORT]: 'port',
  [ChannelType.WEBDAV]: 'webdav',
};
const TYPES = new Map(Object.entries(NAMES).map(([t, n]) => [n, Number(t)]));

/** "display", or "type-42" for a type SPICE may add later. */
export function channelName(type: number): string {
  return NAMES[type] ?? `type-${type}`;
}

/** The channel type for a policy name, or undefined. */
export function channelTypeOf(name: string): number | undefined {
  return TYPES.get(name);
}
