import { describe, expect, it } from 'vitest';
import { parsePresence, presenceCommands } from './presence';

const ok = (v: unknown): [null, unknown] => [null, v];

describe('presence read', () => {
  it('asks for the heartbeat, then per desktop: open entries, the latest expired one, the recorded end', () => {
    expect(presenceCommands('dp:gw', ['a/x', 'b/y'], 1_000)).toEqual([
      ['get', 'dp:gw:presence-heartbeat'],
      ['zcount', 'dp:gw:presence:a/x', '(1000', '+inf'],
      ['zrevrangebyscore', 'dp:gw:presence:a/x', 1_000, '-inf', 'WITHSCORES', 'LIMIT', 0, 1],
      ['get', 'dp:gw:last-session-end:a/x'],
      ['zcount', 'dp:gw:presence:b/y', '(1000', '+inf'],
      ['zrevrangebyscore', 'dp:gw:presence:b/y', 1_000, '-inf', 'WITHSCORES', 'LIMIT', 0, 1],
      ['get', 'dp:gw:last-session-end:b/y'],
    ]);
  });

  it('parses open counts and takes the later of the recorded end and an expired entry', () => {
    const s = parsePresence(
      ['a/open', 'a/ended', 'a/crashed', 'a/never'],
      [
        ok('500'),
        ok(2), ok([]), ok(null),
        ok(0), ok([]), ok('900'),
        ok(0), ok(['gs-1', '950']), ok('900'),
        ok(0), ok([]), ok(null),
      ],
    );
    expect(s.watchingSince).toBe(500);
    expect(Object.fromEntries(s.desktops)).toEqual({
      'a/open': { open: 2 },
      'a/ended': { open: 0, lastEndedAt: 900 },
      'a/crashed': { open: 0, lastEndedAt: 950 },
      'a/never': { open: 0 },
    });
  });

  it('no heartbeat: presence is not being watched', () => {
    expect(parsePresence(['a/x'], [ok(null), ok(0), ok([]), ok('900')]).watchingSince).toBeUndefined();
    expect(parsePresence([], [ok('garbage')]).watchingSince).toBeUndefined();
  });

  it('rejects a failed command or a short reply instead of guessing', () => {
    expect(() => parsePresence(['a/x'], [ok('1'), [new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), null], ok([]), ok(null)])).toThrow(/WRONGTYPE/);
    expect(() => parsePresence(['a/x'], [ok('1')])).toThrow(/1 replies for 1 desktops/);
  });
});
