import { DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_SCANNED_MESSAGE_SIZE, MINI_HEADER_SIZE } from './constants';
import { SpiceChannelError } from './errors';

/**
 * Channel-phase framing with the mini header (both ends advertise common cap MINI_HEADER,
 * which spice-gtk and spice-server always do): every message is
 * `SpiceMiniDataHeader { type u16, size u32 }` (little-endian) followed by `size` bytes.
 */

const UINT16_MAX = 0xffff;
const UINT32_MAX = 0xffffffff;

/** One channel message: its type (a *Message constant) and its body. */
export interface MiniFrame {
  type: number;
  /**
   * The message body. When the whole frame arrived in one chunk this is a view into that
   * chunk (no copy); otherwise a Buffer of exactly `size` bytes assembled by the decoder.
   */
  payload: Buffer;
}

/** Where a frame is in the stream, as MiniFrameScanner reports it. */
export interface FrameBoundary {
  type: number;
  /** Body size from the header (the frame is MINI_HEADER_SIZE + size bytes). */
  size: number;
  /** Stream offset of the frame's first header byte (bytes since the scanner started). */
  offset: number;
}

export interface MiniFrameOptions {
  /**
   * Largest body accepted, in bytes; checked as soon as the 6 header bytes are in, before
   * any byte of the body is buffered. Set it per channel.
   */
  maxMessageSize?: number;
}

function checkedLimit(value: number | undefined, fallback: number): number {
  const max = value ?? fallback;
  if (!Number.isInteger(max) || max < 0 || max > UINT32_MAX) {
    throw new SpiceChannelError('SPICE_BAD_ARGUMENT', `maxMessageSize must be an integer in 0..${UINT32_MAX}, got ${max}`);
  }
  return max;
}

function checkInt(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new SpiceChannelError('SPICE_BAD_ARGUMENT', `${name} must be an integer in 0..${max}, got ${value}`);
  }
}

function tooLarge(type: number, size: number, max: number): SpiceChannelError {
  return new SpiceChannelError('SPICE_MESSAGE_TOO_LARGE', `message type ${type} announces ${size} bytes, over the limit of ${max}`);
}

/** The 6-byte SpiceMiniDataHeader. */
export function encodeMiniHeader(type: number, size: number): Buffer {
  checkInt('type', type, UINT16_MAX);
  checkInt('size', size, UINT32_MAX);
  const buf = Buffer.allocUnsafe(MINI_HEADER_SIZE);
  buf.writeUInt16LE(type, 0);
  buf.writeUInt32LE(size, 2);
  return buf;
}

/** Header + body in one Buffer, ready to write to a socket. */
export function encodeMiniFrame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  checkInt('type', type, UINT16_MAX);
  checkInt('payload length', payload.length, UINT32_MAX);
  const buf = Buffer.allocUnsafe(MINI_HEADER_SIZE + payload.length);
  buf.writeUInt16LE(type, 0);
  buf.writeUInt32LE(payload.length, 2);
  payload.copy(buf, MINI_HEADER_SIZE);
  return buf;
}

type DecoderState = 'header' | 'body' | 'failed';

/**
 * Incremental mini-header decoder: `feed(chunk) → frames`, for channels the gateway reads
 * message by message (main). States: `header` (collecting the 6 header bytes) → `body`
 * (collecting `size` bytes) → `header` …
 *
 * Bounded: the body size is checked against `maxMessageSize` as soon as the header is
 * complete, before a single body byte is buffered, so a header claiming 4 GiB costs an
 * error and nothing else. At most one partial frame is held: one 6-byte header scratch
 * and, for a frame split across chunks, one Buffer of exactly its size, allocated once.
 * Frames that lie wholly inside a chunk are returned as views, without copying.
 *
 * Errors are sticky: after a SpiceChannelError every call throws it again (a channel with
 * broken framing cannot be resynchronised).
 */
export class MiniFrameDecoder {
  readonly maxMessageSize: number;
  private state: DecoderState = 'header';
  private readonly header = Buffer.alloc(MINI_HEADER_SIZE);
  private headerFill = 0;
  private bodyType = 0;
  private body: Buffer | undefined;
  private bodyFill = 0;
  private failure: SpiceChannelError | undefined;

  constructor(opts: MiniFrameOptions = {}) {
    this.maxMessageSize = checkedLimit(opts.maxMessageSize, DEFAULT_MAX_MESSAGE_SIZE);
  }

  get currentState(): DecoderState {
    return this.state;
  }

  /** Bytes of an incomplete frame currently held (header scratch + partial body). */
  get bufferedBytes(): number {
    return this.headerFill + this.bodyFill;
  }

  /** Adds bytes; returns the frames they completed, in order. Throws SpiceChannelError. */
  feed(chunk: Buffer): MiniFrame[] {
    if (this.failure !== undefined) throw this.failure;
    const out: MiniFrame[] = [];
    const len = chunk.length;
    let pos = 0;
    try {
      while (pos < len) {
        if (this.state === 'body') {
          const body = this.body!;
          const n = Math.min(body.length - this.bodyFill, len - pos);
          chunk.copy(body, this.bodyFill, pos, pos + n);
          this.bodyFill += n;
          pos += n;
          if (this.bodyFill === body.length) {
            out.push({ type: this.bodyType, payload: body });
            this.body = undefined;
            this.bodyFill = 0;
            this.state = 'header';
          }
          continue;
        }
        let type: number;
        let size: number;
        if (this.headerFill === 0 && len - pos >= MINI_HEADER_SIZE) {
          type = chunk.readUInt16LE(pos);
          size = chunk.readUInt32LE(pos + 2);
          pos += MINI_HEADER_SIZE;
        } else {
          const n = Math.min(MINI_HEADER_SIZE - this.headerFill, len - pos);
          chunk.copy(this.header, this.headerFill, pos, pos + n);
          this.headerFill += n;
          pos += n;
          if (this.headerFill < MINI_HEADER_SIZE) break;
          this.headerFill = 0;
          type = this.header.readUInt16LE(0);
          size = this.header.readUInt32LE(2);
        }
        // The limit is checked before anything is allocated or buffered for this body.
        if (size > this.maxMessageSize) throw tooLarge(type, size, this.maxMessageSize);
        if (len - pos >= size) {
          out.push({ type, payload: chunk.subarray(pos, pos + size) });
          pos += size;
        } else {
          this.bodyType = type;
          this.body = Buffer.allocUnsafe(size);
          this.bodyFill = 0;
          this.state = 'body';
        }
      }
    } catch (err) {
      throw this.fail(err);
    }
    return out;
  }

  /** Call when the peer closed: throws SPICE_TRUNCATED if the stream ended inside a frame. */
  end(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.state === 'body' || this.headerFill > 0) {
      const where =
        this.state === 'body'
          ? `${this.bodyFill} of ${this.body!.length} body bytes of message type ${this.bodyType}`
          : `${this.headerFill} of ${MINI_HEADER_SIZE} header bytes`;
      throw this.fail(new SpiceChannelError('SPICE_TRUNCATED', `stream ended inside a frame: ${where}`));
    }
  }

  private fail(err: unknown): SpiceChannelError {
    const failure =
      err instanceof SpiceChannelError ? err : new SpiceChannelError('SPICE_BAD_ARGUMENT', `decoder bug: ${String(err)}`);
    this.state = 'failed';
    this.failure = failure;
    this.body = undefined;
    this.bodyFill = 0;
    this.headerFill = 0;
    return failure;
  }
}

type ScannerState = 'header' | 'body' | 'failed';

/**
 * Zero-copy frame tracking for bulk channels (display, cursor, playback, usbredir): it
 * reads only the 6-byte headers, jumps over bodies, and reports each frame's
 * `{ type, size, offset }` as soon as its header is complete, so the gateway can meter
 * or filter traffic while it forwards the chunks themselves, unmodified. It never
 * retains a chunk and never buffers a body; the only state carried between chunks is
 * up to 5 bytes of a split header and the count of body bytes still to skip.
 *
 * `offset` is absolute (bytes since the scanner started); the frame ends at
 * `offset + MINI_HEADER_SIZE + size`. `position` is the stream offset of the next byte.
 * `maxMessageSize` (default 256 MiB) is a sanity check against a desynchronised stream.
 */
export class MiniFrameScanner {
  readonly maxMessageSize: number;
  private scanned = 0;
  private skip = 0;
  private readonly header = Buffer.alloc(MINI_HEADER_SIZE);
  private headerFill = 0;
  private headerStart = 0;
  private failure: SpiceChannelError | undefined;

  constructor(opts: MiniFrameOptions = {}) {
    this.maxMessageSize = checkedLimit(opts.maxMessageSize, DEFAULT_MAX_SCANNED_MESSAGE_SIZE);
  }

  /** Stream offset of the next byte to be scanned. */
  get position(): number {
    return this.scanned;
  }

  get currentState(): ScannerState {
    if (this.failure !== undefined) return 'failed';
    return this.skip > 0 ? 'body' : 'header';
  }

  /** Scans a chunk (which it does not modify or keep); returns the frames whose header it completed. */
  scan(chunk: Buffer): FrameBoundary[] {
    if (this.failure !== undefined) throw this.failure;
    const out: FrameBoundary[] = [];
    const len = chunk.length;
    const base = this.scanned;
    const max = this.maxMessageSize;
    let pos = 0;

    if (this.skip > 0) {
      const n = Math.min(this.skip, len);
      this.skip -= n;
      pos = n;
    }
    if (this.headerFill > 0 && pos < len) {
      const n = Math.min(MINI_HEADER_SIZE - this.headerFill, len - pos);
      chunk.copy(this.header, this.headerFill, pos, pos + n);
      this.headerFill += n;
      pos += n;
      if (this.headerFill === MINI_HEADER_SIZE) {
        this.headerFill = 0;
        const type = this.header.readUInt16LE(0);
        const size = this.header.readUInt32LE(2);
        if (size > max) throw this.fail(tooLarge(type, size, max));
        out.push({ type, size, offset: this.headerStart });
        pos += size; // may run past the chunk: handled below
      }
    }
    // Hot loop: header to header, bodies are never touched.
    while (pos + MINI_HEADER_SIZE <= len) {
      const type = chunk.readUInt16LE(pos);
      const size = chunk.readUInt32LE(pos + 2);
      if (size > max) throw this.fail(tooLarge(type, size, max));
      out.push({ type, size, offset: base + pos });
      pos += MINI_HEADER_SIZE + size;
    }
    if (pos > len) {
      this.skip = pos - len;
    } else if (pos < len) {
      chunk.copy(this.header, 0, pos, len);
      this.headerFill = len - pos;
      this.headerStart = base + pos;
    }
    this.scanned = base + len;
    return out;
  }

  /** Call when the peer closed: throws SPICE_TRUNCATED if the stream ended inside a frame. */
  end(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.skip > 0 || this.headerFill > 0) {
      const where = this.skip > 0 ? `${this.skip} body bytes missing` : `${this.headerFill} of ${MINI_HEADER_SIZE} header bytes`;
      throw this.fail(new SpiceChannelError('SPICE_TRUNCATED', `stream ended inside a frame: ${where}`));
    }
  }

  private fail(err: SpiceChannelError): SpiceChannelError {
    this.failure = err;
    this.skip = 0;
    this.headerFill = 0;
    return err;
  }
}
