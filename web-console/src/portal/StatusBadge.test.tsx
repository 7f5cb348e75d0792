// @vitest-environment happy-dom
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { DESKTOP_PHASES, type Desktop } from '../api/types';
import { actionsFor, consoleHint, phaseView } from './phase';
import { StatusBadge } from './StatusBadge';

afterEach(cleanup);

const desktop = (over: Partial<Desktop>): Desktop => ({ name: 'd', tenant: 't', template: 'x', runStrategy: 'Always', persistent: true, phase: 'Running', ready: true, consoleReady: true, deleting: false, ...over });

describe('status rendering', () => {
  it('gives every phase a distinct text label, not colour alone', () => {
    const labels = DESKTOP_PHASES.map((phase) => phaseView({ phase, deleting: false }).label);
    expect(new Set(labels).size).toBe(DESKTOP_PHASES.length);
    for (const l of labels) expect(l.length).toBeGreaterThan(2);
  });

  it('renders the label and the tone class; deleting wins over the phase', () => {
    const { container, rerender } = render(<StatusBadge desktop={desktop({ phase: 'Running' })} />);
    expect(screen.getByText('Running')).toBeTruthy();
    expect(container.querySelector('.badge--ok')).toBeTruthy();
    rerender(<StatusBadge desktop={desktop({ phase: 'Failed', reason: 'Unschedulable' })} />);
    expect(screen.getByText('Failed')).toBeTruthy();
    expect(container.querySelector('.badge--error')?.getAttribute('title')).toBe('Unschedulable');
    rerender(<StatusBadge desktop={desktop({ phase: 'Running', deleting: true })} />);
    expect(screen.getByText('Deleting')).toBeTruthy();
    expect(screen.queryByText('Running')).toBeNull();
  });

  it('hides the glyph from screen readers', () => {
    const { container } = render(<StatusBadge desktop={desktop({ phase: 'Stopped' })} />);
    expect(container.querySelector('.badge__icon')?.getAttribute('aria-hidden')).toBe('true');
  });

  it('explains why the console is not available, and says nothing when it is', () => {
    expect(consoleHint(desktop({}))).toBeUndefined();
    expect(consoleHint(desktop({ phase: 'Starting', consoleReady: false }))).toMatch(/not ready yet/i);
    expect(consoleHint(desktop({ phase: 'Stopped', consoleReady: false }))).toMatch(/start it/i);
    expect(consoleHint(desktop({ phase: 'Failed', consoleReady: false, reason: 'ImageMissing' }))).toContain('ImageMissing');
    expect(consoleHint(desktop({ phase: 'Running', consoleReady: false, deleting: true }))).toMatch(/deleted/);
  });

  it('offers start or stop by run strategy, restart only when running, nothing while deleting', () => {
    expect(actionsFor(desktop({ runStrategy: 'Always', phase: 'Running' }))).toEqual({ start: false, stop: true, restart: true, remove: true });
    expect(actionsFor(desktop({ runStrategy: 'Halted', phase: 'Stopped' }))).toEqual({ start: true, stop: false, restart: false, remove: true });
    expect(actionsFor(desktop({ deleting: true }))).toEqual({ start: false, stop: false, restart: false, remove: false });
  });
});
