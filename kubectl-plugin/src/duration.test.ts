import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration';

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1.5m', 90_000],
    ['45', 45_000],
  ])('parses %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '0', '0s', '-5m', '10x', 'm', '5 m', '1d'])('refuses %j', (text) => expect(parseDuration(text)).toBeUndefined());

  it('formats back to the short form', () => {
    expect([600_000, 5_400_000, 90_000, 45_000, 3_600_000, 250].map(formatDuration)).toEqual(['10m', '1h30m', '1m30s', '45s', '1h', '250ms']);
  });
});
