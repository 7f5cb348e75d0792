// @vitest-environment happy-dom
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import { ConfirmDialog } from './ConfirmDialog';

afterEach(cleanup);

function Harness({ onConfirm }: { onConfirm: () => unknown }) {
  const [open, setOpen] = useState(false);
  const [log, setLog] = useState<string[]>([]);
  return (
    <>
      <button onClick={() => setOpen(true)}>Delete it</button>
      <output>{log.join(',')}</output>
      <ConfirmDialog
        open={open}
        title="Delete d1?"
        confirmLabel="Delete"
        danger
        onConfirm={async () => {
          await onConfirm();
          setLog((l) => [...l, 'done']);
        }}
        onClose={() => setOpen(false)}
      >
        <p>Gone for good.</p>
      </ConfirmDialog>
    </>
  );
}

describe('ConfirmDialog', () => {
  it('opens with focus on Cancel; Escape closes without acting and returns focus', () => {
    let calls = 0;
    render(<Harness onConfirm={() => calls++} />);
    const opener = screen.getByText('Delete it');
    opener.focus();
    fireEvent.click(opener);
    const dialog = screen.getByRole('alertdialog', { name: 'Delete d1?' });
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(document.activeElement?.textContent).toBe('Cancel');
    fireEvent.keyDown(dialog, { key: 'Escape' });
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(calls).toBe(0);
    expect(document.activeElement).toBe(opener);
  });

  it('acts once on confirm and closes', async () => {
    let calls = 0;
    render(<Harness onConfirm={() => calls++} />);
    fireEvent.click(screen.getByText('Delete it'));
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Delete' }));
      await Promise.resolve();
    });
    expect(calls).toBe(1);
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(screen.getByRole('status').textContent).toBe('done');
  });

  it('stays open and shows the API message when the action fails', async () => {
    render(<Harness onConfirm={() => Promise.reject(new ApiError(409, 'Conflict', 'cannot delete desktop d1: it is being deleted', { requestId: 'req-9' }))} />);
    fireEvent.click(screen.getByText('Delete it'));
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Delete' }));
      await new Promise((r) => setTimeout(r, 0));
    });
    expect(screen.getByRole('alertdialog')).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toBe('cannot delete desktop d1: it is being deleted (request req-9)');
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Delete' }).disabled).toBe(false);
  });

  it('keeps Tab inside the dialog', () => {
    render(<Harness onConfirm={() => undefined} />);
    fireEvent.click(screen.getByText('Delete it'));
    const dialog = screen.getByRole('alertdialog');
    screen.getByRole('button', { name: 'Delete' }).focus();
    fireEvent.keyDown(dialog, { key: 'Tab' });
    expect(document.activeElement?.textContent).toBe('Cancel');
    fireEvent.keyDown(dialog, { key: 'Tab', shiftKey: true });
    expect(document.activeElement?.textContent).toBe('Delete');
  });
});
