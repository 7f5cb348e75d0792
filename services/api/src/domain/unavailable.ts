import { ApiError } from './errors';

/**
 * Thrown when something the call needs is not there right now — the gateway, the guest's
 * console server, a backend this server was started without: 503, try again later.
 */
export class Unavailable extends ApiError {
  constructor(message: string) {
    super(503, 'Unavailable', message);
  }
}
