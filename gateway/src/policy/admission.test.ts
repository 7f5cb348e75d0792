import { ChannelType as T, LinkError, decodeChannelsList, encodeChannelsList } from '@deskplane/spice-protocol';
import { describe, expect, it } from 'vitest';
import { admitChannel, admitSession, filterChannelsList } from './admission';
import { UNRESTRICTED, type EffectivePolicy } from './effective-policy';

const p = (o: Partial<EffectivePolicy>): EffectivePolicy => ({ ...UNRESTRICTED, ...o });
const viewOnlyNoUsb = p({ deniedChannels: new Set([T.INPUTS, T.USBREDIR, T.RECORD]) });

describe('admitChannel', () => {
  const cases: Array<[string, EffectivePolicy, number, number]> = [
    ['nothing denied: inputs', UNRESTRICTED, T.INPUTS, LinkError.OK],
    ['denied inputs (view-only)', viewOnlyNoUsb, T.INPUTS, LinkError.CHANNEL_NOT_AVAILABLE],
    ['denied usbredir', viewOnlyNoUsb, T.USBREDIR, LinkError.CHANNEL_NOT_AVAILABLE],
    ['not denied playback', viewOnlyNoUsb, T.PLAYBACK, LinkError.OK],
    ['main can never be denied', p({ deniedChannels: new Set([T.MAIN]) }), T.MAIN, LinkError.OK],
    ['display can never be denied', p({ deniedChannels: new Set([T.DISPLAY]) }), T.DISPLAY, LinkError.OK],
    ['cursor can never be denied', p({ deniedChannels: new Set([T.CURSOR]) }), T.CURSOR, LinkError.OK],
    ['a type SPICE may add later is refused only if denied', p({ deniedChannels: new Set([42]) }), 42, LinkError.CHANNEL_NOT_AVAILABLE],
  ];
  it.each(cases)('%s', (_case, policy, type, expected) => {
    expect(admitChannel(policy, type)).toBe(expected);
  });
});

describe('admitSession', () => {
  const cases: Array<[string, EffectivePolicy, number, number]> = [
    ['no limit, many sessions', UNRESTRICTED, 50, LinkError.OK],
    ['below the limit', p({ maxConcurrentSessions: 2 }), 1, LinkError.OK],
    ['at the limit', p({ maxConcurrentSessions: 2 }), 2, LinkError.PERMISSION_DENIED],
    ['above it (a limit lowered under open sessions)', p({ maxConcurrentSessions: 1 }), 3, LinkError.PERMISSION_DENIED],
  ];
  it.each(cases)('%s', (_case, policy, live, expected) => {
    expect(admitSession(policy, live)).toBe(expected);
  });
});

describe('filterChannelsList', () => {
  const list = [
    { type: T.DISPLAY, id: 0 },
    { type: T.INPUTS, id: 0 },
    { type: T.CURSOR, id: 0 },
    { type: T.PLAYBACK, id: 0 },
    { type: T.RECORD, id: 0 },
    { type: T.USBREDIR, id: 0 },
    { type: T.USBREDIR, id: 1 },
  ];

  it('drops every denied type, keeps order and the rest, and round-trips through the codec', () => {
    const out = filterChannelsList(decodeChannelsList(encodeChannelsList(list)), viewOnlyNoUsb);
    expect(out).toEqual([
      { type: T.DISPLAY, id: 0 },
      { type: T.CURSOR, id: 0 },
      { type: T.PLAYBACK, id: 0 },
    ]);
    expect(decodeChannelsList(encodeChannelsList(out))).toEqual(out);
    expect(list).toHaveLength(7); // input untouched
  });

  it('nothing denied: the same list', () => {
    expect(filterChannelsList(list, UNRESTRICTED)).toEqual(list);
  });
});
