import { describe, expect, it } from 'vitest';
import { parseJobInfo, toMiBps } from './jobinfo';

// Captured from libvirt 9.0 during a live migration held at 1 MiB/s (`domjobinfo --rawstats`).
const RAW_RUNNING = `Job type: 2

operation: 5
time_elapsed: 2501
downtime: 300
setup_time: 1
data_total: 403259392
data_processed: 2243020
data_remaining: 400084992
memory_total: 403259392
memory_processed: 2243020
memory_remaining: 400084992
memory_bps: 1067220
memory_constant: 229
memory_normal: 546
memory_normal_bytes: 2236416
memory_dirty_rate: 0
memory_iteration: 1
memory_postcopy_requests: 0
memory_page_size: 4096
disk_total: 0
disk_processed: 0
disk_remaining: 0
`;

const RAW_NONE = 'Job type: 0\n\n';

// Human form, captured: a running job on the source and the completed job on the destination.
const HUMAN_RUNNING = `Job type:         Unbounded   
Operation:        Outgoing migration
Time elapsed:     2998         ms
Data processed:   2.750 MiB
Data remaining:   380.941 MiB
Data total:       384.578 MiB
Memory processed: 2.750 MiB
Memory remaining: 380.941 MiB
Memory total:     384.578 MiB
Memory bandwidth: 1.018 MiB/s
Dirty rate:       0            pages/s
Page size:        4096         bytes
Iteration:        1           
Postcopy requests: 0           
Constant pages:   229         
Normal pages:     702         
Normal data:      2.742 MiB
Expected downtime: 300          ms
Setup time:       1            ms
`;
const HUMAN_COMPLETED = `Job type:         Completed   
Operation:        Incoming migration
Time elapsed:     4468         ms
Time elapsed w/o network: 4466         ms
Data processed:   80.793 MiB
Data remaining:   0.000 B
Data total:       384.578 MiB
Memory bandwidth: 298.692 MiB/s
Iteration:        3           
Total downtime:   30           ms
Downtime w/o network: 28           ms
Setup time:       1            ms
`;

describe('parseJobInfo', () => {
  it('reads raw stats exactly', () => {
    expect(parseJobInfo(RAW_RUNNING)).toEqual({
      type: 'unbounded',
      elapsedMs: 2501,
      dataTotal: 403259392n,
      dataProcessed: 2243020n,
      dataRemaining: 400084992n,
      memoryBps: 1067220n,
      downtimeMs: undefined, // "downtime" of a running job is only the expected one
      iteration: 1,
    });
  });
  it('a raw completed job carries its downtime', () => {
    expect(parseJobInfo(RAW_RUNNING.replace('Job type: 2', 'Job type: 3')).downtimeMs).toBe(300);
  });
  it('no job', () => {
    expect(parseJobInfo(RAW_NONE)).toMatchObject({ type: 'none', dataTotal: 0n });
    expect(parseJobInfo('Job type:         None        \n').type).toBe('none');
  });
  it('reads the human form', () => {
    expect(parseJobInfo(HUMAN_RUNNING)).toEqual({
      type: 'unbounded',
      elapsedMs: 2998,
      dataTotal: BigInt(Math.round(384.578 * 1024 ** 2)),
      dataProcessed: BigInt(Math.round(2.75 * 1024 ** 2)),
      dataRemaining: BigInt(Math.round(380.941 * 1024 ** 2)),
      memoryBps: BigInt(Math.round(1.018 * 1024 ** 2)),
      downtimeMs: undefined,
      iteration: 1,
    });
    expect(parseJobInfo(HUMAN_COMPLETED)).toMatchObject({ type: 'completed', dataRemaining: 0n, downtimeMs: 30, iteration: 3 });
  });
  it('converts bytes/s to MiB/s', () => {
    expect(toMiBps(1067220n)).toBe(1.02);
    expect(toMiBps(0n)).toBe(0);
  });
});
