import { describe, expect, it } from 'vitest';
import { ConditionType, formatTime, getCondition, isFalse, isTrue, removeCondition, setCondition, type Condition } from './conditions';

const T0 = new Date('2025-03-01T10:00:00.123Z');
const T1 = new Date('2025-03-01T10:05:00Z');

describe('setCondition', () => {
  it('adds a new condition with lastTransitionTime = now (whole seconds)', () => {
    const list = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Pending', observedGeneration: 1 }, T0);
    expect(list).toEqual([{ type: 'Ready', status: 'False', observedGeneration: 1, lastTransitionTime: '2025-03-01T10:00:00Z', reason: 'Pending', message: '' }]);
  });

  it('keeps lastTransitionTime when the status does not change, but updates reason, message, generation', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'Pending', observedGeneration: 1 }, T0);
    const second = setCondition(first, { type: 'Ready', status: 'False', reason: 'NoFeasibleHost', message: '0/2 hosts fit', observedGeneration: 2 }, T1);
    expect(second[0]).toEqual({ type: 'Ready', status: 'False', observedGeneration: 2, lastTransitionTime: '2025-03-01T10:00:00Z', reason: 'NoFeasibleHost', message: '0/2 hosts fit' });
  });

  it('bumps lastTransitionTime when the status changes', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'Pending' }, T0);
    const second = setCondition(first, { type: 'Ready', status: 'True', reason: 'Running' }, T1);
    expect(second[0]?.lastTransitionTime).toBe('2025-03-01T10:05:00Z');
  });

  it('never mutates its input, keeps order and accepts a preformatted time', () => {
    const start: Condition[] = [
      { type: 'Scheduled', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'HostSelected', message: '' },
      { type: 'Ready', status: 'False', lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'Pending', message: '' },
    ];
    const frozen = structuredClone(start);
    const next = setCondition(start, { type: 'Scheduled', status: 'False', reason: 'NoFeasibleHost' }, '2025-02-02T00:00:00Z');
    expect(start).toEqual(frozen);
    expect(next.map((c) => c.type)).toEqual(['Scheduled', 'Ready']);
    expect(next[0]?.lastTransitionTime).toBe('2025-02-02T00:00:00Z');
    expect(setCondition(start, { type: 'Provisioned', status: 'Unknown', reason: 'Provisioning' }, T0).map((c) => c.type)).toEqual(['Scheduled', 'Ready', 'Provisioned']);
  });
});

describe('getCondition / isTrue / isFalse / removeCondition', () => {
  const list = setCondition(setCondition([], { type: 'Ready', status: 'True', reason: 'Running' }, T0), { type: 'Drained', status: 'False', reason: 'NotInMaintenance' }, T0);

  it('reads conditions by type', () => {
    expect(getCondition(list, ConditionType.Ready)?.reason).toBe('Running');
    expect(getCondition(undefined, 'Ready')).toBeUndefined();
    expect(isTrue(list, 'Ready')).toBe(true);
    expect(isTrue(list, 'Drained')).toBe(false);
    expect(isFalse(list, 'Drained')).toBe(true);
    expect(isTrue(list, 'Missing')).toBe(false);
    expect(isFalse(list, 'Missing')).toBe(false);
  });

  it('removes by type without mutating', () => {
    expect(removeCondition(list, 'Ready').map((c) => c.type)).toEqual(['Drained']);
    expect(list).toHaveLength(2);
  });

  it('formats metav1.Time', () => {
    expect(formatTime(T0)).toBe('2025-03-01T10:00:00Z');
  });
});
