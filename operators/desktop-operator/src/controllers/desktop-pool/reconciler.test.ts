import { describe, expect, it } from 'vitest';
import { desktopName } from './reconciler';

describe('desktopName', () => {
  it('is <pool>-<suffix>', () => {
    expect(desktopName('training', 'a1b2c')).toBe('training-a1b2c');
  });

  it('cuts a long pool name so the desktop name fits 63 characters, without a dangling dash', () => {
    const name = desktopName(`${'a'.repeat(56)}-bbbbbb`, 'x9y8z');
    expect(name).toBe(`${'a'.repeat(56)}-x9y8z`);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(desktopName('p'.repeat(63), 'abcde')).toHaveLength(63);
  });
});
