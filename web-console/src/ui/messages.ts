import { ApiError } from '../api/client';

/** What to tell a person about a failure: the API's message, with the request id for support. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 0) return err.message;
    return err.requestId ? `${err.message} (request ${err.requestId})` : err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
