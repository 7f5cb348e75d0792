import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import { api, errorFrom } from '../api/client';
import type { Caller, Role } from '../api/types';
import { tokens, type TokenPairBody } from './tokens';

interface AuthState {
  signedIn: boolean;
  caller: Caller | undefined;
  /** GET /auth/me failed for another reason than a refused token (e.g. the API is down). */
  callerError: unknown;
  signIn: (username: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const AuthContext = createContext<AuthState | undefined>(undefined);

const subscribe = (cb: () => void) => tokens.subscribe(cb);
const snapshot = () => tokens.signedIn;

export function AuthProvider({ children }: { children: ReactNode }) {
  const signedIn = useSyncExternalStore(subscribe, snapshot);
  const queryClient = useQueryClient();
  const me = useQuery({ queryKey: ['auth', 'me'], queryFn: () => api.get<Caller>('/auth/me'), enabled: signedIn, staleTime: 5 * 60_000, retry: 1 });

  useEffect(() => {
    // Nothing cached for one user may show to the next.
    if (!signedIn) queryClient.clear();
  }, [signedIn, queryClient]);

  const signIn = useCallback(async (username: string, password: string) => {
    const res = await api.raw('/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    if (!res.ok) throw await errorFrom(res);
    tokens.set((await res.json()) as TokenPairBody);
  }, []);

  const signOut = useCallback(async () => {
    const refreshToken = tokens.refreshToken;
    try {
      if (refreshToken) await api.post('/auth/logout', { refreshToken });
    } catch {
      // Signing out locally still happens; the refresh token expires on its own.
    }
    tokens.clear();
  }, []);

  const value = useMemo<AuthState>(
    () => ({ signedIn, caller: signedIn ? me.data : undefined, callerError: me.error, signIn, signOut }),
    [signedIn, me.data, me.error, signIn, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth needs an <AuthProvider> above it');
  return ctx;
}

/** The signed-in caller from GET /auth/me; undefined while it loads or when signed out. */
export function useCaller(): Caller | undefined {
  return useAuth().caller;
}

export function hasRole(caller: Caller | undefined, role: Role): boolean {
  return !!caller?.roles.includes(role);
}
