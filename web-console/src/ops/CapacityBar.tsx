import type { Bar } from './capacity';

/** A bar with its numbers beside it: the colour is a hint, the text is the information. */
export function CapacityBar({ bar, name }: { bar: Bar; name: string }) {
  return (
    <div className={`ops-bar ops-bar--${bar.level}`}>
      <div
        className="ops-bar__track"
        role="meter"
        aria-label={name}
        aria-valuemin={0}
        aria-valuemax={Math.max(100, bar.percent)}
        aria-valuenow={bar.percent}
        aria-valuetext={bar.label}
      >
        <div className="ops-bar__fill" style={{ width: `${(bar.fraction * 100).toFixed(1)}%` }} />
      </div>
      <span className="ops-bar__label">{bar.label}</span>
    </div>
  );
}
