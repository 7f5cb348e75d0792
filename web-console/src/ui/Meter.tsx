/** A labelled usage bar; `limit` undefined = no limit (the bar stays empty, the text says so). */
export function Meter({ label, used, limit, format = String }: { label: string; used: number; limit: number | undefined; format?: (n: number) => string }) {
  const pct = limit === undefined || limit <= 0 ? (limit === 0 && used > 0 ? 100 : 0) : Math.min(100, Math.round((used / limit) * 100));
  const text = limit === undefined ? `${format(used)} used, no limit` : `${format(used)} of ${format(limit)} (${pct}%)`;
  const level = pct >= 90 ? 'meter--high' : pct >= 70 ? 'meter--warn' : '';
  return (
    <div className={`meter ${level}`}>
      <div className="meter__label">
        <span>{label}</span>
        <span>{text}</span>
      </div>
      <div className="meter__track" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={limit ?? used} aria-valuenow={used} aria-valuetext={text}>
        <div className="meter__fill" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}
