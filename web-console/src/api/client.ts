/**
 * The one way the console talks to the Deskplane API: same origin, bearer token from the
 * auth module, one refresh-and-retry on 401, error bodies turned into ApiError.
 */
import { tokens as defaultTokens, type TokenStore } from '../auth/tokens';

/** An API error body, `{ error: { code, message, field?, quota?, reason?, requestId } }`, or a network failure (status 0). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  status: number;
  code: string;
  field?: string;
  quota?: string;
  /** Why a 409, e.g. `exhausted` (a pool has no free desktop) or `starting`. */
  reason?: string;
  requestId?: string;

  constructor(status: number, code: string, message: string, extra: { field?: string; quota?: string; reason?: string; requestId?: string } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    if (extra.field !== undefined) this.field = extra.field;
    if (extra.quota !== undefined) this.quota = extra.quota;
    if (extra.reason !== undefined) this.reason = extra.reason;
    if (extra.requestId !== undefined) this.requestId = extra.requestId;
  }
}

export interface Api {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  put<T>(path: string, body?: unknown): Promise<T>;
  del<T = void>(path: string): Promise<T>;
  /**
   * Server-sent events with the bearer token (fetch-based); returns a stop function.
   * Reconnects after a dropped stream; each (re)connection first delivers the event `open`
   * (data undefined), so a consumer can drop state the server will send again.
   */
  sse(path: string, onEvent: (event: string, data: unknown) => void, onError?: (e: Error) => void): () => void;
  /** Raw response (e.g. the .vv download). */
  raw(path: string, init?: RequestInit): Promise<Response>;
}

export interface ApiOptions {
  base?: string;
  fetch?: typeof fetch;
  tokens?: Pick<TokenStore, 'accessToken' | 'refresh'>;
  /** Wait before reconnecting a dropped event stream. */
  reconnectMs?: number;
}

/** Turns a failed response into an ApiError, from its JSON error body when it has one. */
export async function errorFrom(res: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const e = (body as { error?: Record<string, unknown> } | undefined)?.error;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  if (e && typeof e === 'object') {
    const field = str(e.field);
    const quota = str(e.quota);
    const reason = str(e.reason);
    const requestId = str(e.requestId);
    return new ApiError(res.status, str(e.code) ?? `Http${res.status}`, str(e.message) ?? res.statusText, {
      ...(field !== undefined && { field }),
      ...(quota !== undefined && { quota }),
      ...(reason !== undefined && { reason }),
      ...(requestId !== undefined && { requestId }),
    });
  }
  return new ApiError(res.status, `Http${res.status}`, `${res.status} ${res.statusText || 'error'}`.trim());
}

function networkError(err: unknown): ApiError {
  return new ApiError(0, 'NetworkError', `the server cannot be reached (${(err as Error).message})`);
}

export function createApi(options: ApiOptions = {}): Api {
  const base = options.base ?? '';
  const doFetch = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
  const tokens = options.tokens ?? defaultTokens;
  const reconnectMs = options.reconnectMs ?? 2000;

  function withAuth(init: RequestInit = {}): RequestInit {
    const headers = new Headers(init.headers);
    const token = tokens.accessToken;
    if (token && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
    return { ...init, headers };
  }

  /** Sends once; on 401 refreshes the tokens and sends once more. */
  async function raw(path: string, init?: RequestInit): Promise<Response> {
    const send = async () => {
      try {
        return await doFetch(base + path, withAuth(init));
      } catch (err) {
        if ((err as Error).name === 'AbortError') throw err;
        throw networkError(err);
      }
    };
    const sentWith = tokens.accessToken;
    const res = await send();
    if (res.status !== 401 || !sentWith) return res;
    // Another request may have refreshed meanwhile: its new token is worth one try as is.
    if (tokens.accessToken && tokens.accessToken !== sentWith) return send();
    return (await tokens.refresh()) ? send() : res;
  }

  async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method, headers: { accept: 'application/json' } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { ...init.headers, 'content-type': 'application/json' };
    }
    const res = await raw(path, init);
    if (!res.ok) throw await errorFrom(res);
    if (res.status === 204) return undefined as T;
    const type = res.headers.get('content-type') ?? '';
    return (type.includes('json') ? await res.json() : await res.text()) as T;
  }

  function sse(path: string, onEvent: (event: string, data: unknown) => void, onError?: (e: Error) => void): () => void {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;

    const run = async (): Promise<void> => {
      const res = await raw(path, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
      if (!res.ok) throw await errorFrom(res);
      if (!res.body) throw new ApiError(res.status, 'NoBody', 'the event stream has no body');
      onEvent('open', undefined);
      await readEvents(res.body, onEvent);
    };
    const loop = (): void => {
      run().then(
        () => {
          if (!abort.signal.aborted) onError?.(new ApiError(0, 'StreamEnded', 'the live updates stopped; reconnecting'));
        },
        (err: unknown) => {
          if (!abort.signal.aborted) onError?.(err instanceof Error ? err : new Error(String(err)));
        },
      ).finally(() => {
        if (abort.signal.aborted) return;
        timer = setTimeout(loop, reconnectMs);
      });
    };
    loop();
    return () => {
      abort.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }

  return {
    get: (path) => json('GET', path),
    post: (path, body) => json('POST', path, body),
    put: (path, body) => json('PUT', path, body),
    del: (path) => json('DELETE', path),
    sse,
    raw,
  };
}

/** Parses a text/event-stream body, calling onEvent per dispatched event (data as JSON when it parses). */
export async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (event: string, data: unknown) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  const dispatch = () => {
    if (data.length > 0) {
      const text = data.join('\n');
      let value: unknown = text;
      try {
        value = JSON.parse(text);
      } catch {
        // not JSON: hand over the text
      }
      onEvent(event || 'message', value);
    }
    event = '';
    data = [];
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') dispatch();
      else if (line.startsWith(':')) continue;
      else {
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        const v = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (name === 'event') event = v;
        else if (name === 'data') data.push(v);
      }
    }
  }
}

export const api: Api = createApi();
