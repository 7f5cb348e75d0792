import type { Desktop, DesktopPhase } from '../api/types';

export type Tone = 'ok' | 'busy' | 'idle' | 'error';

export interface PhaseView {
  /** Text shown in the badge: colour is never the only signal. */
  label: string;
  tone: Tone;
  /** A glyph beside the label, hidden from screen readers. */
  icon: string;
}

const VIEWS: Record<DesktopPhase, PhaseView> = {
  Pending: { label: 'Pending', tone: 'busy', icon: '…' },
  Scheduling: { label: 'Finding a host', tone: 'busy', icon: '…' },
  Provisioning: { label: 'Preparing disk', tone: 'busy', icon: '…' },
  Starting: { label: 'Starting', tone: 'busy', icon: '▸' },
  Running: { label: 'Running', tone: 'ok', icon: '●' },
  Stopping: { label: 'Stopping', tone: 'busy', icon: '■' },
  Stopped: { label: 'Stopped', tone: 'idle', icon: '○' },
  Migrating: { label: 'Moving host', tone: 'busy', icon: '⇄' },
  Failed: { label: 'Failed', tone: 'error', icon: '!' },
  Deleting: { label: 'Deleting', tone: 'busy', icon: '×' },
};

export function phaseView(d: Pick<Desktop, 'phase' | 'deleting'>): PhaseView {
  if (d.deleting) return VIEWS.Deleting;
  return VIEWS[d.phase] ?? { label: d.phase, tone: 'idle', icon: '?' };
}

/** Which actions make sense now; the API decides in the end, this only avoids offering nonsense. */
export function actionsFor(d: Pick<Desktop, 'phase' | 'deleting' | 'runStrategy'>): { start: boolean; stop: boolean; restart: boolean; remove: boolean } {
  if (d.deleting) return { start: false, stop: false, restart: false, remove: false };
  // start / stop set the run strategy to Always / Halted: offer the one that changes something.
  return { start: d.runStrategy !== 'Always', stop: d.runStrategy !== 'Halted', restart: d.phase === 'Running', remove: true };
}

/**
 * Why the console cannot open yet, in words; undefined when it can. Shown next to the
 * disabled console buttons, so nobody has to guess.
 */
export function consoleHint(d: Pick<Desktop, 'phase' | 'deleting' | 'consoleReady' | 'reason' | 'runStrategy'>): string | undefined {
  if (d.consoleReady) return undefined;
  if (d.deleting) return 'This desktop is being deleted.';
  switch (d.phase) {
    case 'Pending':
    case 'Scheduling':
    case 'Provisioning':
    case 'Starting':
      return 'Not ready yet: the console opens once the desktop is Running.';
    case 'Stopped':
      return 'The desktop is stopped: start it to open the console.';
    case 'Stopping':
      return 'The desktop is stopping.';
    case 'Migrating':
      return 'The desktop is moving to another host; the console is back in a moment.';
    case 'Failed':
      return `The desktop failed${d.reason ? ` (${d.reason})` : ''}: try Restart, or delete it.`;
    case 'Running':
      return 'Running, but its console is not reachable yet; try again in a moment.';
    default:
      return 'The console is not available.';
  }
}
