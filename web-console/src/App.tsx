import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { lazy, Suspense, type ReactNode } from 'react';
import { BrowserRouter, Navigate, NavLink, Outlet, Route, Routes, useLocation } from 'react-router';
import { AdminPage } from './admin/AdminPage';
import { AuthProvider, hasRole, useAuth } from './auth/AuthProvider';
import { SignInPage } from './auth/SignInPage';
import { DesktopsPage } from './portal/DesktopsPage';
import { messageOf } from './ui/messages';

// The console (spice-html5) and the dashboard (uPlot) are the heavy parts: separate chunks,
// loaded when their page opens.
const ConsolePage = lazy(() => import('./console/ConsolePage').then((m) => ({ default: m.ConsolePage })));
const OpsDashboard = lazy(() => import('./ops/OpsDashboard').then((m) => ({ default: m.OpsDashboard })));

export function createQueryClient(): QueryClient {
  return new QueryClient({ defaultOptions: { queries: { refetchOnWindowFocus: true, staleTime: 2000 } } });
}

function Loading({ what = 'Loading…' }: { what?: string }) {
  return (
    <p className="page muted" role="status">
      {what}
    </p>
  );
}

/** Signed-out visitors go to the sign-in page and come back afterwards. */
function RequireAuth({ children, ticketInUrl }: { children: ReactNode; ticketInUrl?: boolean }) {
  const { signedIn } = useAuth();
  const location = useLocation();
  // A console URL from the API carries its own ticket in the fragment: it works signed out.
  if (signedIn || (ticketInUrl && location.hash.length > 1)) return children;
  return <SignInPage />;
}

function RequireRole({ role, children }: { role: 'tenant-admin' | 'platform-ops'; children: ReactNode }) {
  const { caller, callerError } = useAuth();
  if (callerError) return <p className="page alert alert--error">Who you are cannot be loaded: {messageOf(callerError)}</p>;
  if (!caller) return <Loading />;
  if (!hasRole(caller, role) && !(role === 'tenant-admin' && hasRole(caller, 'platform-ops'))) {
    return (
      <main className="page">
        <h1>Not available</h1>
        <p>This page needs the {role} role. Your roles: {caller.roles.join(', ')}.</p>
      </main>
    );
  }
  return children;
}

function Shell() {
  const { caller, signOut } = useAuth();
  const admin = hasRole(caller, 'tenant-admin');
  const ops = hasRole(caller, 'platform-ops');
  return (
    <>
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <header className="topbar">
        <span className="topbar__brand">Deskplane</span>
        <nav className="topbar__nav" aria-label="Main">
          <NavLink to="/" end>
            Desktops
          </NavLink>
          {admin && <NavLink to="/admin">Admin</NavLink>}
          {ops && <NavLink to="/ops">Ops</NavLink>}
        </nav>
        <div className="topbar__user">
          {caller && (
            <span className="muted">
              {caller.user}
              {caller.tenant && ` · ${caller.tenant}`}
            </span>
          )}
          <button type="button" className="button button--small" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <div id="content" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </div>
    </>
  );
}

/** Platform ops without a tenant have no desktops of their own: their home is the dashboard. */
function Home() {
  const { caller } = useAuth();
  if (caller && !caller.tenant && hasRole(caller, 'platform-ops')) return <Navigate to="/ops" replace />;
  if (!caller) return <Loading />;
  return <DesktopsPage />;
}

export function AppRoutes() {
  return (
    <Routes>
      <Route
        path="/console/:name"
        element={
          <RequireAuth ticketInUrl>
            <Suspense fallback={<Loading what="Loading the console…" />}>
              <ConsolePage />
            </Suspense>
          </RequireAuth>
        }
      />
      <Route
        element={
          <RequireAuth>
            <Shell />
          </RequireAuth>
        }
      >
        <Route index element={<Home />} />
        <Route
          path="admin"
          element={
            <RequireRole role="tenant-admin">
              <AdminPage />
            </RequireRole>
          }
        />
        <Route
          path="ops"
          element={
            <RequireRole role="platform-ops">
              <OpsDashboard />
            </RequireRole>
          }
        />
        <Route path="*" element={<Navigate to="/" replace />} />
      </Route>
    </Routes>
  );
}

export function App({ queryClient = createQueryClient() }: { queryClient?: QueryClient }) {
  return (
    <QueryClientProvider client={queryClient}>
      <AuthProvider>
        <BrowserRouter basename="/ui">
          <AppRoutes />
        </BrowserRouter>
      </AuthProvider>
    </QueryClientProvider>
  );
}
