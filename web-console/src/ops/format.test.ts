import { expect, it } from 'vitest';
import { formatAge, formatBytes, formatRate, quantityBytes } from './format';

it('quantityBytes reads Kubernetes quantities and refuses others', () => {
  expect(quantityBytes('2Gi')).toBe(2 ** 31);
  expect(quantityBytes('1.5G')).toBe(1.5e9);
  expect(quantityBytes('1e3')).toBe(1000);
  expect(quantityBytes('1073741824')).toBe(2 ** 30);
  expect(quantityBytes(512)).toBe(512);
  for (const bad of ['', 'Gi', '-1Gi', '2 GB', 'lots']) expect(quantityBytes(bad)).toBeUndefined();
  expect(quantityBytes(undefined)).toBeUndefined();
});

it('formatBytes uses binary units with up to three significant digits', () => {
  expect([0, 1023, 1024, 1536, 10.25 * 1024, 123.4 * 2 ** 20, 2 ** 40].map(formatBytes)).toEqual(['0 B', '1023 B', '1 KiB', '1.5 KiB', '10.3 KiB', '123 MiB', '1 TiB']);
  expect(formatBytes(-1)).toBe('—');
  expect(formatRate(2048)).toBe('2 KiB/s');
});

it('formatAge counts back from now', () => {
  const now = Date.parse('2025-01-01T12:00:00Z');
  expect(formatAge('2025-01-01T11:59:48Z', now)).toBe('12 s ago');
  expect(formatAge('2025-01-01T11:57:00Z', now)).toBe('3 min ago');
  expect(formatAge('2025-01-01T09:00:00Z', now)).toBe('3 h ago');
  expect(formatAge('2024-12-28T12:00:00Z', now)).toBe('4 d ago');
  expect(formatAge('not a time', now)).toBe('—');
  expect(formatAge(undefined, now)).toBe('—');
});
