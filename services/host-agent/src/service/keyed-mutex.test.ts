import { describe, expect, it } from 'vitest';
import { KeyedMutex } from './keyed-mutex';

const tick = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

describe('KeyedMutex', () => {
  it('runs calls for one key one at a time, in order, even when one fails', async () => {
    const m = new KeyedMutex();
    const trace: string[] = [];
    const job = (name: string, fail = false) => async () => {
      trace.push(`${name}+`);
      await tick(5);
      trace.push(`${name}-`);
      if (fail) throw new Error(name);
      return name;
    };
    const results = await Promise.allSettled([m.run('a', job('1')), m.run('a', job('2', true)), m.run('a', job('3'))]);
    expect(trace).toEqual(['1+', '1-', '2+', '2-', '3+', '3-']);
    expect(results.map(r => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(m.size).toBe(0);
  });

  it('runs different keys concurrently', async () => {
    const m = new KeyedMutex();
    const trace: string[] = [];
    const job = (name: string) => async () => {
      trace.push(`${name}+`);
      await tick(5);
      trace.push(`${name}-`);
    };
    await Promise.all([m.run('a', job('a')), m.run('b', job('b'))]);
    expect(trace.slice(0, 2).sort()).toEqual(['a+', 'b+']);
  });
});
