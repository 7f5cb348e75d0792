import { ChannelType } from '@deskplane/spice-protocol';
import { describe, expect, it } from 'vitest';
import { CapsBook, upstreamKey } from './caps-book';

// common word 0: bit 0 AUTH_SELECTION, 1 AUTH_SPICE, 2 AUTH_SASL, 3 MINI_HEADER.
const SEEDED_COMMON = 0xb;

describe('CapsBook', () => {
  it('promises the measured spice-server 0.15.1 caps until it learns any', () => {
    const book = new CapsBook();
    expect(book.promised(ChannelType.DISPLAY)).toEqual({ common: [SEEDED_COMMON], channel: [0x1052] });
    expect(book.promised(ChannelType.CURSOR)).toEqual({ common: [SEEDED_COMMON], channel: [] });
    expect(book.promised(ChannelType.SMARTCARD, '10.0.0.1:5900')).toEqual({ common: [SEEDED_COMMON], channel: [] });
  });

  it('promises per upstream when known, else fleet-wide (the latest learned anywhere)', () => {
    const book = new CapsBook();
    book.learn(ChannelType.DISPLAY, { common: [0xb], channel: [0x10] }, 'a:1');
    book.learn(ChannelType.DISPLAY, { common: [0xb], channel: [0x20] }, 'b:2');
    expect(book.promised(ChannelType.DISPLAY, 'a:1').channel).toEqual([0x10]);
    expect(book.promised(ChannelType.DISPLAY, 'b:2').channel).toEqual([0x20]);
    expect(book.promised(ChannelType.DISPLAY, 'c:3').channel).toEqual([0x20]);
    expect(book.promised(ChannelType.DISPLAY).channel).toEqual([0x20]);
    // A link reply without an upstream (the link server's learn(type, caps)) moves only the fleet-wide caps.
    book.learn(ChannelType.DISPLAY, { common: [0xb], channel: [0x40] });
    expect(book.promised(ChannelType.DISPLAY).channel).toEqual([0x40]);
    expect(book.promised(ChannelType.DISPLAY, 'a:1').channel).toEqual([0x10]);
    // A type the upstream was not probed for falls back too.
    expect(book.promised(ChannelType.INPUTS, 'a:1').channel).toEqual([0x1]);
    expect(book.knows('a:1', ChannelType.DISPLAY)).toBe(true);
    expect(book.knows('a:1', ChannelType.INPUTS)).toBe(false);
  });

  it('always sets AUTH_SELECTION and clears AUTH_SASL towards the client', () => {
    const book = new CapsBook();
    book.learn(ChannelType.MAIN, { common: [0b0110], channel: [0xf] }, 'a:1');
    expect(book.promised(ChannelType.MAIN, 'a:1').common).toEqual([0b0011]);
  });

  it('keeps copies: changing learned or promised arrays changes nothing held', () => {
    const book = new CapsBook();
    const caps = { common: [0xb], channel: [0x7] };
    book.learn(ChannelType.PLAYBACK, caps, 'a:1');
    caps.channel[0] = 0;
    const p = book.promised(ChannelType.PLAYBACK, 'a:1');
    p.channel[0] = 0;
    expect(book.promised(ChannelType.PLAYBACK, 'a:1').channel).toEqual([0x7]);
  });

  it('forgets an upstream on request, and the one learned longest ago beyond the limit', () => {
    const book = new CapsBook({ maxUpstreams: 2 });
    const caps = (n: number): { common: number[]; channel: number[] } => ({ common: [0xb], channel: [n] });
    book.learn(ChannelType.MAIN, caps(1), 'a:1');
    book.learn(ChannelType.MAIN, caps(2), 'b:2');
    book.learn(ChannelType.DISPLAY, caps(3), 'a:1'); // a:1 learned again: now the newest
    book.learn(ChannelType.MAIN, caps(4), 'c:3');
    expect(book.knows('a:1', ChannelType.MAIN)).toBe(true);
    expect(book.knows('b:2', ChannelType.MAIN)).toBe(false);
    expect(book.knows('c:3', ChannelType.MAIN)).toBe(true);
    book.forget('a:1');
    expect(book.knows('a:1', ChannelType.MAIN)).toBe(false);
    expect(book.promised(ChannelType.MAIN, 'a:1').channel).toEqual([4]);
  });

  it('keys upstreams by host:port, host case-insensitive', () => {
    expect(upstreamKey({ host: 'Host-1.Example', port: 5901 })).toBe('host-1.example:5901');
    expect(upstreamKey({ host: '127.0.0.1', port: 5900 })).toBe('127.0.0.1:5900');
  });
});
