/**
 * The signed-in user's tokens. Kept in memory, mirrored to sessionStorage so a reload of the
 * tab stays signed in while a new tab (or a closed browser) does not.
 */

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

/** The body of POST /auth/login and /auth/refresh. */
export interface TokenPairBody extends TokenPair {
  tokenType: 'Bearer';
  expiresIn: number;
  refreshExpiresIn: number;
}

const STORAGE_KEY = 'deskplane.tokens';

type Listener = (tokens: TokenPair | null) => void;

function storage(): Storage | undefined {
  try {
    return typeof sessionStorage === 'undefined' ? undefined : sessionStorage;
  } catch {
    // Storage can be disabled by the browser's privacy settings: memory alone still works.
    return undefined;
  }
}

export class TokenStore {
  private tokens: TokenPair | null;
  private readonly listeners = new Set<Listener>();
  private refreshing: Promise<boolean> | undefined;

  constructor(
    private readonly fetchImpl: typeof fetch = (...args) => fetch(...args),
    private readonly base = '',
    private readonly store: Storage | undefined = storage(),
  ) {
    this.tokens = this.load();
  }

  get accessToken(): string | undefined {
    return this.tokens?.accessToken;
  }

  get refreshToken(): string | undefined {
    return this.tokens?.refreshToken;
  }

  get signedIn(): boolean {
    return this.tokens !== null;
  }

  set(tokens: TokenPair): void {
    this.tokens = { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
    this.store?.setItem(STORAGE_KEY, JSON.stringify(this.tokens));
    this.emit();
  }

  clear(): void {
    if (this.tokens === null) return;
    this.tokens = null;
    this.store?.removeItem(STORAGE_KEY);
    this.emit();
  }

  /** Called with the new tokens (null = signed out) whenever they change. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Trades the refresh token for a new pair. Concurrent callers share one request: refresh
   * tokens are single use, and a second use would revoke the whole sign-in.
   * Resolves false (and signs out) when the server refuses.
   */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    const refreshToken = this.tokens?.refreshToken;
    if (!refreshToken) return false;
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.base}/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken }),
      });
    } catch {
      // The network failed, not the sign-in: keep the tokens for the next try.
      return false;
    }
    if (!res.ok) {
      if (res.status === 400 || res.status === 401) this.clear();
      return false;
    }
    this.set((await res.json()) as TokenPairBody);
    return true;
  }

  private load(): TokenPair | null {
    const raw = this.store?.getItem(STORAGE_KEY);
    if (!raw) return null;
    try {
      const t = JSON.parse(raw) as Partial<TokenPair>;
      return typeof t.accessToken === 'string' && typeof t.refreshToken === 'string' ? { accessToken: t.accessToken, refreshToken: t.refreshToken } : null;
    } catch {
      return null;
    }
  }

  private emit(): void {
    for (const l of this.listeners) l(this.tokens);
  }
}

/** The page's one store; the API client and the sign-in flow share it. */
export const tokens = new TokenStore();
