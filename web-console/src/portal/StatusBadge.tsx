import type { Desktop } from '../api/types';
import { phaseView } from './phase';

export function StatusBadge({ desktop }: { desktop: Pick<Desktop, 'phase' | 'deleting' | 'reason'> }) {
  const v = phaseView(desktop);
  return (
    <span className={`badge badge--${v.tone}`} title={desktop.reason}>
      <span className="badge__icon" aria-hidden="true">
        {v.icon}
      </span>
      <span className="badge__label">{v.label}</span>
    </span>
  );
}
