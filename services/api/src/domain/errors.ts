export class ApiError extends Error { constructor(readonly status: number, readonly code: string, message: string, readonly field?: string) { super(message); } }
export class BadRequest extends ApiError { constructor(message: string, field?: string) { super(400, 'BadRequest', message, field); } }
export class Unauthorized extends ApiError { constructor(message: string) { super(401, 'Unauthorized', message); } }
export class Forbidden extends ApiError { constructor(message: string) { super(403, 'Forbidden', message); } }
export class NotFound extends ApiError { constructor(message: string) { super(404, 'NotFound', message); } }
/** `quota`: the quota a create would exceed. `reason`: a machine-readable why, e.g. `exhausted` (a pool has no free desktop), `starting`. */
export class Conflict extends ApiError { constructor(message: string, readonly quota?: string, readonly reason?: string) { super(409, 'Conflict', message); } }
export class TooManyRequests extends ApiError { constructor(message: string, readonly retryAfterSeconds: number) { super(429, 'TooManyRequests', message); } }
