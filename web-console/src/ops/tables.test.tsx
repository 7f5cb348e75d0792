// @vitest-environment happy-dom
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { BandwidthSummary } from './BandwidthPanel';
import { HostsTable } from './HostsPanel';
import { MigrationsTable } from './MigrationsTable';
import type { Host, Migration, Session } from './types';

afterEach(cleanup);

const host = (name: string, over: Partial<Host> = {}): Host => ({
  name,
  labels: {},
  agentEndpoint: '127.0.0.1:1',
  ready: true,
  schedulable: true,
  maintenance: false,
  drained: false,
  desktops: 2,
  guestCount: 2,
  allocatable: { vcpus: 8, memory: '4Gi' },
  allocated: { vcpus: 2, memory: '512Mi' },
  ...over,
});

describe('HostsTable', () => {
  it('shows capacity as text and as a meter, and drains the chosen host after confirmation', async () => {
    const drained: string[] = [];
    const undrained: string[] = [];
    let refreshed = 0;
    render(
      <HostsTable
        hosts={[host('host-a'), host('host-b', { maintenance: true })]}
        now={Date.now()}
        drain={(h) => Promise.resolve(void drained.push(h))}
        undrain={(h) => Promise.resolve(void undrained.push(h))}
        onDone={() => refreshed++}
      />,
    );
    expect(screen.getAllByRole('columnheader').map((c) => c.textContent)).toContain('vCPUs allocated');
    const meter = screen.getByRole('meter', { name: 'host-a vCPUs allocated' });
    expect(meter.getAttribute('aria-valuetext')).toBe('2 of 8 vCPUs (25%)');
    const rowB = screen.getByRole('row', { name: /host-b/ });
    expect(within(rowB).getByText('Draining')).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Drain host-a' }));
    expect(screen.getByText('Drain host-a? Its 2 desktops will be live-migrated to other hosts.')).toBeTruthy();
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Drain host-a' }));
      await Promise.resolve();
    });
    expect(drained).toEqual(['host-a']);
    expect(undrained).toEqual([]);
    expect(refreshed).toBe(1);
  });

  it('says so when there are no hosts', () => {
    render(<HostsTable hosts={[]} now={0} drain={() => Promise.resolve()} undrain={() => Promise.resolve()} />);
    expect(screen.getByText('No hosts are registered.')).toBeTruthy();
  });
});

describe('MigrationsTable', () => {
  it('shows progress and disables abort while aborting', () => {
    const m = (name: string, over: Partial<Migration>): Migration => ({ name, tenant: 'demo', desktop: name, phase: 'Migrating', aborting: false, ...over });
    render(
      <MigrationsTable
        migrations={[m('d1', { progressPercent: 40, bytesProcessed: 2 ** 20, bytesRemaining: 3 * 2 ** 20, sourceHost: 'a', targetHost: 'b' }), m('d2', { aborting: true }), m('d3', { phase: 'Succeeded' })]}
        now={Date.now()}
        abort={() => Promise.resolve()}
      />,
    );
    const bar = screen.getByRole<HTMLProgressElement>('progressbar', { name: 'demo/d1 migration progress' });
    expect(bar.value).toBe(40);
    expect(screen.getByText('40% · 1 MiB sent, 3 MiB left')).toBeTruthy();
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Abort migration of demo/d2' }).disabled).toBe(true);
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Abort migration of demo/d1' }).disabled).toBe(false);
    expect(screen.getByText('Recently finished (1)')).toBeTruthy();
  });
});

describe('BandwidthSummary', () => {
  const s = (bytes: number): Session => ({
    key: 'k',
    user: 'u',
    tenant: 'demo',
    desktop: 'demo/d',
    source: 's',
    transport: 'tcp',
    openedAt: '2025-01-01T00:00:00Z',
    lastInputAt: '2025-01-01T00:00:00Z',
    policy: '',
    migrating: false,
    channels: [{ name: 'display', bytesToClient: bytes, bytesToGuest: 0 }],
  });

  it('waits for two samples', () => {
    render(<BandwidthSummary samples={[{ t: 0, sessions: [s(0)] }]} />);
    expect(screen.getByRole('status').textContent).toMatch(/Measuring/);
  });

  it('summarizes the rate per tenant as a table', () => {
    render(
      <BandwidthSummary
        samples={[
          { t: 0, sessions: [s(0)] },
          { t: 2000, sessions: [s(4096)] },
          { t: 4000, sessions: [s(5120)] },
        ]}
      />,
    );
    const row = screen.getByRole('row', { name: /demo/ });
    expect(within(row).getAllByRole('cell').map((c) => c.textContent)).toEqual(['512 B/s', '1.25 KiB/s', '2 KiB/s']);
  });
});
