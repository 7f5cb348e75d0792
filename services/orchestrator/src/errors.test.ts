import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { AgentCallError, HostNotFoundError, isRetryable, MigrationFailedError, SlotUnavailableError } from './errors';
import { isFinalAttempt } from './worker';

describe('error classification', () => {
  it.each([
    ['INVALID_ARGUMENT', status.INVALID_ARGUMENT, false],
    ['FAILED_PRECONDITION', status.FAILED_PRECONDITION, false],
    ['ALREADY_EXISTS', status.ALREADY_EXISTS, false],
    ['RESOURCE_EXHAUSTED', status.RESOURCE_EXHAUSTED, false],
    ['NOT_FOUND', status.NOT_FOUND, false],
    ['UNAVAILABLE', status.UNAVAILABLE, true],
    ['DEADLINE_EXCEEDED', status.DEADLINE_EXCEEDED, true],
    ['ABORTED', status.ABORTED, true],
    ['INTERNAL', status.INTERNAL, true],
    ['CANCELLED', status.CANCELLED, true],
  ])('%s from an agent is retryable=%s', (name, code, retryable) => {
    const e = new AgentCallError('kvm-1', 'EnsureGuest', code, 'boom');
    expect(e.retryable).toBe(retryable);
    expect(e.code).toBe(`AGENT_${name}`);
    expect(e.message).toBe(`EnsureGuest on kvm-1: ${name}: boom`);
    expect(isRetryable(e)).toBe(retryable);
  });

  it('own errors say whether they are retryable; unknown errors are retried', () => {
    expect(isRetryable(new HostNotFoundError('x'))).toBe(true);
    expect(isRetryable(new MigrationFailedError('nope'))).toBe(false);
    expect(isRetryable(new SlotUnavailableError('h', 100))).toBe(true);
    expect(isRetryable(new Error('bug'))).toBe(true);
  });

  it('an attempt is final when the error is permanent or no attempt is left', () => {
    const transient = new AgentCallError('h', 'StartGuest', status.UNAVAILABLE, 'down');
    const permanent = new AgentCallError('h', 'StartGuest', status.FAILED_PRECONDITION, 'no');
    expect(isFinalAttempt(transient, 0, 5)).toBe(false);
    expect(isFinalAttempt(transient, 4, 5)).toBe(true);
    expect(isFinalAttempt(permanent, 0, 5)).toBe(true);
    expect(isFinalAttempt(transient, 0, undefined)).toBe(true);
  });
});
