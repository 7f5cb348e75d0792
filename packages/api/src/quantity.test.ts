import { describe, expect, it } from 'vitest';
import { formatQuantity, parseQuantity } from './quantity';

describe('parseQuantity', () => {
  it.each([
    ['2Gi', 2 * 2 ** 30],
    ['512Mi', 512 * 2 ** 20],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['1G', 1e9],
    ['1k', 1000],
    ['4e9', 4e9],
    ['.5Ki', 512],
    ['1073741824', 2 ** 30],
    [1024, 1024],
    ['0', 0],
  ] as const)('%s = %d bytes', (q, bytes) => {
    expect(parseQuantity(q)).toBe(bytes);
  });

  it.each(['lots', '-1Gi', '2GB', '1K', '100m', '', ' 1Gi', -1, 1.5])('rejects %j', (q) => {
    expect(() => parseQuantity(q)).toThrow(RangeError);
  });
});

describe('formatQuantity', () => {
  it.each([
    [2 * 2 ** 30, '2Gi'],
    [1536 * 2 ** 20, '1536Mi'],
    [1500, '1500'],
    [0, '0'],
  ])('%d → %s', (bytes, q) => {
    expect(formatQuantity(bytes)).toBe(q);
    expect(parseQuantity(q)).toBe(bytes);
  });
});
