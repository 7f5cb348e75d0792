import { describe, expect, it } from 'vitest';
import { migrationProgress, route, splitMigrations } from './migrations';
import type { Migration } from './types';

const m = (over: Partial<Migration>): Migration => ({ name: 'm', tenant: 't', desktop: 'd', phase: 'Migrating', aborting: false, ...over });

describe('migrationProgress', () => {
  it('uses the reported percent and shows bytes', () => {
    expect(migrationProgress(m({ progressPercent: 42.4, bytesProcessed: 100 * 2 ** 20, bytesRemaining: 140 * 2 ** 20 }))).toEqual({
      percent: 42,
      label: '42% · 100 MiB sent, 140 MiB left',
    });
  });

  it('derives the percent from bytes when none is reported', () => {
    expect(migrationProgress(m({ bytesProcessed: 3 * 2 ** 30, bytesRemaining: 2 ** 30 })).percent).toBe(75);
  });

  it('clamps a percent past 100 (dirty pages re-sent) but keeps the bytes as reported', () => {
    expect(migrationProgress(m({ progressPercent: 130, bytesProcessed: 2048 }))).toEqual({ percent: 100, label: '100% · 2 KiB sent' });
  });

  it('is indeterminate with words before libvirt reports', () => {
    expect(migrationProgress(m({ phase: 'Scheduling' }))).toEqual({ percent: undefined, label: 'choosing a target host' });
    expect(migrationProgress(m({ phase: 'Migrating', bytesProcessed: 0, bytesRemaining: 0 }))).toEqual({ percent: undefined, label: '0 B sent, 0 B left' });
  });

  it('shows a finished one at 100% with downtime', () => {
    expect(migrationProgress(m({ phase: 'Succeeded', bytesProcessed: 2 ** 20, downtimeMs: 35 })).label).toBe('100% · 1 MiB sent · 35 ms downtime');
    expect(migrationProgress(m({ phase: 'Failed' }))).toEqual({ percent: undefined, label: 'Failed' });
  });
});

it('route names an unpicked target with ?', () => {
  expect(route(m({ sourceHost: 'a' }))).toBe('a → ?');
});

it('splitMigrations: in flight oldest first, then the newest finished few', () => {
  const items = [
    m({ name: '1', phase: 'Migrating', startTime: '2025-01-01T00:00:05Z' }),
    m({ name: '2', phase: 'Pending', createdAt: '2025-01-01T00:00:01Z' }),
    m({ name: '3', phase: 'Succeeded', endTime: '2025-01-01T00:00:03Z' }),
    m({ name: '4', phase: 'Failed', endTime: '2025-01-01T00:00:09Z' }),
    m({ name: '5', phase: 'Aborted', endTime: '2025-01-01T00:00:01Z' }),
  ];
  const { active, finished } = splitMigrations(items, 2);
  expect(active.map((x) => x.name)).toEqual(['2', '1']);
  expect(finished.map((x) => x.name)).toEqual(['4', '3']);
});
