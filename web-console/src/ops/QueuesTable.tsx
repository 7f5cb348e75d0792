import type { QueueCounts } from './types';

/** Waiting, active and failed are what tells ops something is stuck; the rest is in the title. */
export function QueuesTable({ queues }: { queues: readonly QueueCounts[] }) {
  if (queues.length === 0) return <p className="ops-panel__note">No queues.</p>;
  return (
    <div className="ops-table-wrap">
      <table className="ops-table ops-table--numeric">
        <caption className="ops-visually-hidden">Work queue depth</caption>
        <thead>
          <tr>
            <th scope="col">Queue</th>
            <th scope="col">Waiting</th>
            <th scope="col">Active</th>
            <th scope="col">Delayed</th>
            <th scope="col">Failed</th>
          </tr>
        </thead>
        <tbody>
          {queues.map((q) => (
            <tr key={q.queue}>
              <th scope="row">
                {q.queue}
                {q.paused && <span className="ops-state ops-state--draining"> paused</span>}
              </th>
              <td>{q.counts.waiting + (q.counts.prioritized ?? 0)}</td>
              <td>{q.counts.active}</td>
              <td>{q.counts.delayed}</td>
              <td className={q.counts.failed > 0 ? 'ops-num--bad' : undefined}>{q.counts.failed}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
