import { describe, expect, it } from 'vitest';
import { compareSemVer, formatSemVer, mayBreak, parseSemVer, type SemVer } from './semver';

const v = (s: string): SemVer => {
  const parsed = parseSemVer(s);
  if (!parsed) throw new Error(`test setup: ${s} should parse`);
  return parsed;
};

describe('parseSemVer', () => {
  it.each(['0.1.0', '1.2.3', '10.20.30', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-0.3.7', '1.0.0-x.7.z.92', '1.0.0+20130313144700', '1.0.0-beta+exp.sha.5114f85'])('accepts %s and formats it back', (s) => {
    expect(formatSemVer(v(s))).toBe(s);
  });

  it.each(['1', '1.2', 'v1.2.3', '01.2.3', '1.02.3', '1.2.03', '1.2.3-', '1.2.3-01', '1.2.3-alpha..1', '1.2.3+', ' 1.2.3', '1.2.3.4', '99999999999999999999.0.0'])('refuses %j', (s) => {
    expect(parseSemVer(s)).toBeUndefined();
  });
});

describe('compareSemVer', () => {
  // semver.org's example order, plus the major/minor/patch basics.
  const ordered = ['0.1.0', '0.1.1', '0.2.0', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.1.0', '2.0.0'];
  it('orders the semver.org precedence example', () => {
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        expect(compareSemVer(v(ordered[i] as string), v(ordered[j] as string)), `${ordered[i]} vs ${ordered[j]}`).toBe(Math.sign(i - j));
      }
    }
  });

  it('ignores build metadata', () => {
    expect(compareSemVer(v('1.0.0+a'), v('1.0.0+b'))).toBe(0);
  });
});

describe('mayBreak', () => {
  it.each([
    ['0.1.0', '0.2.0', true],
    ['0.1.0', '0.1.1', false],
    ['0.9.3', '1.0.0', true],
    ['1.2.0', '1.3.0', false],
    ['1.2.0', '2.0.0', true],
  ])('%s → %s: %s', (from, to, expected) => {
    expect(mayBreak(v(from), v(to))).toBe(expected);
  });
});
