// @vitest-environment happy-dom
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfirmButton } from './ConfirmButton';

afterEach(cleanup);

/** A real deferred action: the test decides when and how it settles. */
function deferred() {
  const calls: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const action = () => new Promise<void>((resolve, reject) => calls.push({ resolve, reject }));
  return { calls, action };
}

function setup() {
  const d = deferred();
  let done = 0;
  render(<ConfirmButton label="Kill" accessibleName="Kill session of alice" question="End alice's session?" confirmLabel="Kill session" busyLabel="Ending…" action={d.action} onDone={() => done++} />);
  return { ...d, done: () => done };
}

describe('ConfirmButton', () => {
  it('asks first, moves focus to Cancel, and runs nothing on cancel', () => {
    const s = setup();
    fireEvent.click(screen.getByRole('button', { name: 'Kill session of alice' }));
    expect(screen.getByText("End alice's session?")).toBeTruthy();
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Cancel' }));
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(s.calls).toHaveLength(0);
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Kill session of alice' }));
  });

  it('Escape cancels', () => {
    const s = setup();
    fireEvent.click(screen.getByRole('button', { name: 'Kill session of alice' }));
    fireEvent.keyDown(screen.getByRole('button', { name: 'Cancel' }), { key: 'Escape' });
    expect(screen.queryByText("End alice's session?")).toBeNull();
    expect(s.calls).toHaveLength(0);
  });

  it('runs once on confirm, shows it is busy, then calls onDone', async () => {
    const s = setup();
    fireEvent.click(screen.getByRole('button', { name: 'Kill session of alice' }));
    fireEvent.click(screen.getByRole('button', { name: 'Kill session' }));
    const busy = screen.getByRole<HTMLButtonElement>('button', { name: 'Ending…' });
    expect(busy.disabled).toBe(true);
    fireEvent.click(busy);
    expect(s.calls).toHaveLength(1);
    await act(async () => {
      s.calls[0]!.resolve();
      await Promise.resolve();
    });
    expect(s.done()).toBe(1);
    expect(screen.getByRole('button', { name: 'Kill session of alice' })).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('shows the failure and allows another attempt', async () => {
    const s = setup();
    fireEvent.click(screen.getByRole('button', { name: 'Kill session of alice' }));
    fireEvent.click(screen.getByRole('button', { name: 'Kill session' }));
    await act(async () => {
      s.calls[0]!.reject(new Error('session not found'));
      await Promise.resolve();
    });
    expect(screen.getByRole('alert').textContent).toBe('Kill session of alice failed: session not found');
    expect(s.done()).toBe(0);
    fireEvent.click(screen.getByRole('button', { name: 'Kill session of alice' }));
    fireEvent.click(screen.getByRole('button', { name: 'Kill session' }));
    expect(s.calls).toHaveLength(2);
  });
});
