import type { Socket } from 'node:net';
import {
  DISPLAY_INIT_SIZE,
  DisplayClientMessage,
  MINI_HEADER_SIZE,
  SpiceChannelError,
  encodeDisplayInitFrame,
} from '@deskplane/spice-protocol';

/** The only first message a display channel may carry: DISPLAY_INIT, header + 14-byte body. */
const FIRST_MESSAGE_SIZE = MINI_HEADER_SIZE + DISPLAY_INIT_SIZE;
const EMPTY = Buffer.alloc(0);

/** Default wait between a DISPLAY_INIT reaching the guest and closing its channel (facts file: 100–500 ms). */
export const DISPLAY_CLOSE_DELAY_MS = 500;
/** Default time bytes after the client's DISPLAY_INIT are held when a `release` sink is given. */
export const DISPLAY_SETTLE_MS = 100;
/** Default bound on bytes held while settling (the client → guest display direction is tiny). */
export const DISPLAY_MAX_HELD_BYTES = 64 * 1024;

export interface DisplayGuardOptions {
  /**
   * Where bytes that followed the client's DISPLAY_INIT go once the guest had `settleMs` to
   * take the init in (e.g. a Transform's push). Without it they pass at once with the init.
   * Why: spice-server 0.15.1 also crashed QEMU when DISPLAY_INIT and an unparseable message
   * came in one packet (the server drops the channel before the init is processed).
   */
  release?: (bytes: Buffer) => void;
  settleMs?: number;
  maxHeldBytes?: number;
  now?: () => number;
}

type State = 'first' | 'settling' | 'passing' | 'failed' | 'closed';

/**
 * The client → guest direction of one display channel. spice-server 0.15.1 segfaults the
 * whole QEMU process when a display channel closes before the guest has processed a
 * DISPLAY_INIT (measured: on close after nothing, after part of a message, after a
 * complete message of another type, after DISPLAY_INIT with an immediate close).
 *
 * `filter` holds the client's bytes until its first message is complete, and lets it
 * through only if it is a well-formed DISPLAY_INIT (what spice-gtk and spice-html5 send
 * first); anything else throws SpiceChannelError (`SPICE_INVALID_DATA`) and the channel
 * must then be closed through `closeUpstream`, which sends the guest a DISPLAY_INIT of
 * its own first and waits before closing.
 */
export class DisplayGuard {
  private state: State = 'first';
  private held: Buffer[] = [];
  private heldBytes = 0;
  private failure: SpiceChannelError | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private initAt: number | undefined;
  private closing = false;
  private readonly settleMs: number;
  private readonly maxHeld: number;
  private readonly now: () => number;

  constructor(private readonly opts: DisplayGuardOptions = {}) {
    this.settleMs = opts.settleMs ?? DISPLAY_SETTLE_MS;
    this.maxHeld = opts.maxHeldBytes ?? DISPLAY_MAX_HELD_BYTES;
    this.now = opts.now ?? Date.now;
  }

  /** True once a complete DISPLAY_INIT was handed on towards the guest. */
  get firstMessageSeen(): boolean {
    return this.initAt !== undefined;
  }

  /** Bytes currently held back. */
  get heldByteCount(): number {
    return this.heldBytes;
  }

  /** Returns what may go to the guest now. Throws SpiceChannelError (sticky) on a bad first message or overflow. */
  filter(chunk: Buffer): Buffer {
    if (this.failure !== undefined) throw this.failure;
    switch (this.state) {
      case 'passing':
        return chunk;
      case 'closed':
        return EMPTY;
      case 'settling':
        this.hold(chunk);
        return EMPTY;
      default:
        return this.first(chunk);
    }
  }

  /**
   * Makes sure the guest has a DISPLAY_INIT on this channel: sends one if the client's has
   * not gone through (the client's bytes are dropped from then on). Returns the ms left
   * until the guest has had `delayMs` to take it in. A session ending must wait that long
   * before closing its MAIN upstream too: measured, a main channel reset while a display
   * channel had no DISPLAY_INIT froze QEMU (main loop and vCPUs) for ~30 s.
   */
  initUpstream(upstream: Socket, delayMs = DISPLAY_CLOSE_DELAY_MS): number {
    if (this.state !== 'closed') {
      this.state = 'closed';
      clearTimeout(this.settleTimer);
      this.held = [];
      this.heldBytes = 0;
    }
    if (this.initAt === undefined && !upstream.destroyed && upstream.writable) {
      upstream.write(encodeDisplayInitFrame());
      this.initAt = this.now();
    }
    return this.initAt === undefined ? 0 : Math.max(0, this.initAt + delayMs - this.now());
  }

  /**
   * Closes the guest side of this channel without taking QEMU down: `initUpstream`, then
   * closes once the guest has had `delayMs` since the DISPLAY_INIT (at once if it already
   * had). Idempotent; held bytes are dropped.
   */
  closeUpstream(upstream: Socket, delayMs = DISPLAY_CLOSE_DELAY_MS): void {
    if (this.closing) return;
    this.closing = true;
    if (upstream.destroyed) return;
    upstream.on('error', () => undefined); // a reset while we wait must not become an uncaught error
    const waitMs = this.initUpstream(upstream, delayMs);
    if (waitMs <= 0) {
      upstream.destroy();
      return;
    }
    setTimeout(() => {
      upstream.end();
      upstream.destroy();
    }, waitMs).unref();
  }

  private first(chunk: Buffer): Buffer {
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes < MINI_HEADER_SIZE) return EMPTY;
    const bytes = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.heldBytes);
    this.held = [bytes];
    const type = bytes.readUInt16LE(0);
    const size = bytes.readUInt32LE(2);
    if (type !== DisplayClientMessage.INIT || size !== DISPLAY_INIT_SIZE) {
      throw this.fail(`display channel's first message is type ${type} with ${size} bytes, not a ${DISPLAY_INIT_SIZE}-byte DISPLAY_INIT`);
    }
    if (bytes.length < FIRST_MESSAGE_SIZE) return EMPTY;
    this.initAt = this.now();
    const init = bytes.subarray(0, FIRST_MESSAGE_SIZE);
    const tail = bytes.subarray(FIRST_MESSAGE_SIZE);
    this.held = [];
    this.heldBytes = 0;
    const release = this.opts.release;
    if (release === undefined || this.settleMs <= 0) {
      this.state = 'passing';
      return bytes;
    }
    this.state = 'settling';
    if (tail.length > 0) this.hold(tail);
    this.settleTimer = setTimeout(() => {
      if (this.state !== 'settling') return;
      this.state = 'passing';
      const out = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.heldBytes);
      this.held = [];
      this.heldBytes = 0;
      if (out.length > 0) release(out);
    }, this.settleMs);
    return init;
  }

  private hold(chunk: Buffer): void {
    if (this.heldBytes + chunk.length > this.maxHeld) {
      throw this.fail(`client sent over ${this.maxHeld} bytes within ${this.settleMs} ms of DISPLAY_INIT`);
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
  }

  private fail(why: string): SpiceChannelError {
    clearTimeout(this.settleTimer);
    this.state = 'failed';
    this.held = [];
    this.heldBytes = 0;
    this.failure = new SpiceChannelError('SPICE_INVALID_DATA', why);
    return this.failure;
  }
}
