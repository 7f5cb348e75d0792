/**
 * Console sessions through the gateway. Users see and end their own, tenant admins their
 * tenant's, platform ops everyone's. A session of another tenant is NotFound like any
 * other object of theirs.
 */
import { audit, isOps, isTenantAdmin, tenantScope, type AuditSink } from './access';
import type { Caller } from './caller';
import { NotFound } from './errors';
import type { GatewayAccess, GatewaySession, SessionFilter } from './gateway-access';

export interface SessionsDeps {
  gateway: GatewayAccess;
  audit?: AuditSink;
}

export interface SessionQuery {
  /** Ops only: another tenant (unset: every tenant). */
  tenant?: string;
  /** Tenant admins and ops: one user's sessions. */
  user?: string;
  /** A desktop's sessions: its name (in the tenant) or `namespace/name`. */
  desktop?: string;
}

export type SessionView = Omit<GatewaySession, 'upstream'> & { upstream?: string };

export class Sessions {
  constructor(private readonly deps: SessionsDeps) {}

  async list(caller: Caller, q: SessionQuery = {}): Promise<SessionView[]> {
    const filter = this.filterFor(caller, q);
    return (await this.deps.gateway.listSessions(filter)).filter((s) => this.visible(caller, s)).map((s) => view(s, caller));
  }

  /** Ends a session the caller may see (its guest keeps running). */
  async kill(caller: Caller, key: string, reason?: string): Promise<SessionView> {
    const scope = isOps(caller) ? {} : isTenantAdmin(caller) ? { tenant: caller.tenant } : { tenant: caller.tenant, user: caller.user };
    const target = (await this.deps.gateway.listSessions(scope)).find((s) => s.key === key && this.visible(caller, s));
    if (!target) throw new NotFound(`session ${JSON.stringify(key)} not found`);
    const why = reason?.trim() ? reason.trim().slice(0, 200) : `ended by ${caller.user}`;
    const killed = await this.deps.gateway.killSession(key, why);
    if (!killed) throw new NotFound(`session ${JSON.stringify(key)} not found`);
    await audit(this.deps.audit, caller, 'session.kill', { tenant: killed.tenant, desktop: killed.desktop, details: { session: key, reason: why, owner: killed.user } });
    return view(killed, caller);
  }

  private filterFor(caller: Caller, q: SessionQuery): SessionFilter {
    const tenant = tenantScope(caller, q.tenant, { allowAll: true });
    const user = isOps(caller) || isTenantAdmin(caller) ? q.user : caller.user;
    let desktop: string | undefined;
    if (q.desktop !== undefined) {
      if (q.desktop.includes('/')) {
        const ns = q.desktop.slice(0, q.desktop.indexOf('/'));
        if (!isOps(caller) && ns !== caller.tenant) throw new NotFound(`desktop ${JSON.stringify(q.desktop)} not found`);
        desktop = q.desktop;
      } else {
        desktop = `${tenant ?? caller.tenant}/${q.desktop}`;
      }
    }
    return { ...(tenant !== undefined ? { tenant } : {}), ...(user !== undefined ? { user } : {}), ...(desktop !== undefined ? { desktop } : {}) };
  }

  /** The gateway filtered already; this re-checks, so a gateway that ignores a filter leaks nothing. */
  private visible(caller: Caller, s: GatewaySession): boolean {
    if (isOps(caller)) return true;
    if (s.tenant !== caller.tenant) return false;
    return isTenantAdmin(caller) || s.user === caller.user;
  }
}

function view(s: GatewaySession, caller: Caller): SessionView {
  if (isOps(caller)) return s;
  const { upstream: _hidden, ...rest } = s;
  return rest;
}
