import { SpiceLinkError } from './errors';

/** States every staged decoder has besides its own. */
export type TerminalState = 'done' | 'failed';

/**
 * Incremental decoding for protocols where each state knows, before reading, exactly
 * how many bytes it needs. Subclasses give the byte count of the current state
 * (`need`) and turn exactly that many bytes into at most one message plus the next
 * state (`step`). Validation happens in `step`, so a length field is checked before the
 * state that would read that many bytes exists: nothing is buffered beyond the
 * current state's need plus the chunk that completed it.
 *
 * After 'done', the bytes that followed belong to the next protocol phase: take them
 * with `takeRemainder()` and hand them to the next parser. After an error every call
 * throws the same error: a link with bad framing cannot be resynchronised.
 */
export abstract class StagedDecoder<S extends string, M> {
  protected state: S | TerminalState;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failure: SpiceLinkError | undefined;

  protected constructor(initial: S) {
    this.state = initial;
  }

  /** Current state, for logs and for the glue to decide what comes next. */
  get currentState(): S | TerminalState {
    return this.state;
  }

  get isDone(): boolean {
    return this.state === 'done';
  }

  /** Bytes the current state still waits for (0 when done or failed). */
  get bytesWanted(): number {
    if (this.state === 'done' || this.state === 'failed') return 0;
    return Math.max(0, this.need(this.state) - this.buffered);
  }

  /** Adds bytes; returns the messages they completed, in order. Throws SpiceLinkError. */
  feed(chunk: Buffer): M[] {
    this.throwIfFailed();
    if (this.state === 'done') {
      if (chunk.length === 0) return [];
      throw new SpiceLinkError('SPICE_FEED_AFTER_DONE', 'link phase already complete: take the remainder and switch parsers');
    }
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: M[] = [];
    try {
      while (this.state !== 'done' && this.state !== 'failed') {
        const need = this.need(this.state);
        if (this.buffered < need) break;
        const { message, next } = this.step(this.state, this.take(need));
        if (message !== undefined) out.push(message);
        this.state = next;
      }
    } catch (err) {
      throw this.fail(err);
    }
    return out;
  }

  /** Call when the peer closed: throws SPICE_TRUNCATED unless the phase completed. */
  end(): void {
    this.throwIfFailed();
    const state = this.state;
    if (state !== 'done' && state !== 'failed') {
      throw this.fail(
        new SpiceLinkError('SPICE_TRUNCATED', `stream ended in state ${state} with ${this.buffered} of ${this.need(state)} bytes`),
      );
    }
  }

  /** Bytes received after the link phase ended (e.g. the first MAIN_INIT). */
  takeRemainder(): Buffer {
    if (this.state !== 'done') {
      throw new SpiceLinkError('SPICE_BAD_ARGUMENT', `no remainder before the link phase is done (state ${this.state})`);
    }
    const rest = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    return rest;
  }

  protected abstract need(state: S): number;
  protected abstract step(state: S, bytes: Buffer): { message?: M; next: S | 'done' };

  private take(n: number): Buffer {
    const first = this.chunks[0];
    let bytes: Buffer;
    if (first !== undefined && first.length >= n) {
      bytes = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks, this.buffered);
      bytes = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.buffered -= n;
    return bytes;
  }

  private fail(err: unknown): SpiceLinkError {
    const failure =
      err instanceof SpiceLinkError ? err : new SpiceLinkError('SPICE_BAD_ARGUMENT', `decoder bug: ${String(err)}`);
    this.state = 'failed';
    this.failure = failure;
    this.chunks = [];
    this.buffered = 0;
    return failure;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
