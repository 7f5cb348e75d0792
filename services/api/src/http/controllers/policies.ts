import { DesktopPolicyKind, type DesktopPolicy } from '@deskplane/api';
import type { KubeObject, ResourceClient } from '@deskplane/resource-store';
import { isOps, isTenantAdmin, oneTenant } from '../../domain/access';
import type { Caller } from '../../domain/caller';
import { Forbidden } from '../../domain/errors';
import type { StoreClients } from '../../domain/resources';

export type PolicyObject = DesktopPolicy & KubeObject;

export interface PolicyView {
  name: string;
  spec: DesktopPolicy['spec'];
  ready?: boolean;
  createdAt?: string;
}

/**
 * A tenant's DesktopPolicies, read-only: what limits its users' console sessions. The
 * gateway applies them; tenant admins see their own tenant's, ops any tenant's.
 */
export class TenantPolicies {
  private readonly policies: ResourceClient<PolicyObject>;

  constructor(store: StoreClients) {
    this.policies = store.client<PolicyObject>(DesktopPolicyKind.info);
  }

  /** Highest priority first (the one that wins when several bind a user), then by name. */
  async list(caller: Caller, tenant?: string): Promise<PolicyView[]> {
    const ns = oneTenant(caller, tenant);
    if (!isOps(caller) && !isTenantAdmin(caller)) throw new Forbidden("the tenant's policies are for tenant admins");
    const { items } = await this.policies.list({ namespace: ns });
    return items
      .sort((a, b) => (b.spec.priority ?? 0) - (a.spec.priority ?? 0) || a.metadata.name.localeCompare(b.metadata.name))
      .map((p) => {
        const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
        return {
          name: p.metadata.name,
          spec: p.spec,
          ...(ready ? { ready: ready.status === 'True' } : {}),
          ...(p.metadata.creationTimestamp ? { createdAt: p.metadata.creationTimestamp } : {}),
        };
      });
  }
}
