import { LinkError } from './constants';

/** Stable string codes; the numeric `linkError` is what a SPICE peer would be told. */
export type SpiceLinkErrorCode =
  | 'SPICE_BAD_MAGIC'
  | 'SPICE_VERSION_MISMATCH'
  | 'SPICE_BODY_TOO_SMALL'
  | 'SPICE_BODY_TOO_LARGE'
  | 'SPICE_BAD_CAPS'
  | 'SPICE_BAD_AUTH_MECHANISM'
  | 'SPICE_TRUNCATED'
  | 'SPICE_FEED_AFTER_DONE'
  | 'SPICE_BAD_ARGUMENT'
  | 'SPICE_PASSWORD_TOO_LONG'
  | 'SPICE_BAD_PUBLIC_KEY'
  | 'SPICE_BAD_TICKET';

const LINK_ERROR_OF: Record<SpiceLinkErrorCode, number> = {
  SPICE_BAD_MAGIC: LinkError.INVALID_MAGIC,
  SPICE_VERSION_MISMATCH: LinkError.VERSION_MISMATCH,
  SPICE_BODY_TOO_SMALL: LinkError.INVALID_DATA,
  SPICE_BODY_TOO_LARGE: LinkError.INVALID_DATA,
  SPICE_BAD_CAPS: LinkError.INVALID_DATA,
  SPICE_BAD_AUTH_MECHANISM: LinkError.INVALID_DATA,
  SPICE_TRUNCATED: LinkError.INVALID_DATA,
  SPICE_FEED_AFTER_DONE: LinkError.ERROR,
  SPICE_BAD_ARGUMENT: LinkError.ERROR,
  SPICE_PASSWORD_TOO_LONG: LinkError.PERMISSION_DENIED,
  SPICE_BAD_PUBLIC_KEY: LinkError.ERROR,
  SPICE_BAD_TICKET: LinkError.PERMISSION_DENIED,
};

/**
 * Thrown when link-phase bytes break the protocol (bad magic, wrong major version,
 * sizes or capability counts that do not fit), when a stream ends mid-message, when a
 * ticket cannot be built or read, or when an encoder is given values the wire cannot
 * carry. Not retryable: the same bytes fail the same way.
 *
 * `linkError` is the SPICE link error a server answers with in the same situation
 * (INVALID_MAGIC 2, INVALID_DATA 3, VERSION_MISMATCH 4, PERMISSION_DENIED 7), so a
 * gateway can send it back as is.
 */
export class SpiceLinkError extends Error {
  override readonly name = 'SpiceLinkError';
  readonly linkError: number;
  readonly retryable = false;
  constructor(
    readonly code: SpiceLinkErrorCode,
    message: string,
  ) {
    super(message);
    this.linkError = LINK_ERROR_OF[code];
  }
}

/** Stable string codes of the channel phase (mini-header frames and channel messages). */
export type SpiceChannelErrorCode =
  | 'SPICE_MESSAGE_TOO_LARGE'
  | 'SPICE_INVALID_DATA'
  | 'SPICE_TRUNCATED'
  | 'SPICE_BAD_ARGUMENT';

const CHANNEL_LINK_ERROR_OF: Record<SpiceChannelErrorCode, number> = {
  SPICE_MESSAGE_TOO_LARGE: LinkError.INVALID_DATA,
  SPICE_INVALID_DATA: LinkError.INVALID_DATA,
  SPICE_TRUNCATED: LinkError.INVALID_DATA,
  SPICE_BAD_ARGUMENT: LinkError.ERROR,
};

/**
 * Thrown when channel-phase bytes break the protocol: a mini header announcing a message
 * larger than the channel's limit (`SPICE_MESSAGE_TOO_LARGE`, thrown as soon as the 6
 * header bytes are in, before any byte of the body is buffered), a message whose lengths,
 * counts or offsets do not fit inside it or that is shorter than its fixed part
 * (`SPICE_INVALID_DATA`), a stream that ended inside a frame (`SPICE_TRUNCATED`), or an
 * encoder given values the wire cannot carry (`SPICE_BAD_ARGUMENT`). Not retryable: a
 * channel whose framing broke cannot be resynchronised, so close it.
 *
 * `linkError` is the SPICE error code for the same situation (INVALID_DATA 3, or ERROR 1
 * for a caller's mistake), e.g. for the `reason` of a DISCONNECTING message or a log.
 */
export class SpiceChannelError extends Error {
  override readonly name = 'SpiceChannelError';
  readonly linkError: number;
  readonly retryable = false;
  constructor(
    readonly code: SpiceChannelErrorCode,
    message: string,
  ) {
    super(message);
    this.linkError = CHANNEL_LINK_ERROR_OF[code];
  }
}
