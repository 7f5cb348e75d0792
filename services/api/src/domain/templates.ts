/**
 * Templates a caller may use: their tenant's own, plus the shared ones (one namespace the
 * platform fills, `deskplane-system` by default). The operator resolves a desktop's
 * `templateRef` in the desktop's own namespace only, so using a shared template copies it
 * into the tenant's namespace first (labelled as a copy, and kept equal to the original);
 * a tenant template of the same name shadows the shared one.
 */
import { AlreadyExistsError, retryOnConflict } from '@deskplane/resource-store';
import { API_VERSION } from '@deskplane/api';
import { checkName, oneTenant } from './access';
import type { Caller } from './caller';
import { NotFound } from './errors';
import { clients, type StoreClients, type TemplateObject } from './resources';

export const DEFAULT_SHARED_NAMESPACE = 'deskplane-system';
/** On a tenant's copy of a shared template: the namespace it was copied from. */
export const SHARED_COPY_LABEL = 'deskplane.io/shared-template';

export interface TemplateView {
  name: string;
  /** tenant: the tenant's own; shared: offered to every tenant. */
  source: 'tenant' | 'shared';
  image: string;
  vcpus: number;
  memory: string;
  disk?: string;
  /** The template's Ready condition, when its controller has set one. */
  ready?: boolean;
}

export interface TemplatesDeps {
  store: StoreClients;
  /** Namespace of the templates every tenant may use; `null` turns shared templates off. */
  sharedNamespace?: string | null;
}

const isCopy = (t: TemplateObject): boolean => t.metadata.labels?.[SHARED_COPY_LABEL] !== undefined;

function view(t: TemplateObject, source: TemplateView['source']): TemplateView {
  const ready = t.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    name: t.metadata.name,
    source,
    image: t.spec.image,
    vcpus: t.spec.vcpus,
    memory: String(t.spec.memory),
    ...(t.spec.disk !== undefined ? { disk: String(t.spec.disk) } : {}),
    ...(ready ? { ready: ready.status === 'True' } : {}),
  };
}

export class Templates {
  private readonly templates;
  readonly sharedNamespace: string | undefined;

  constructor(deps: TemplatesDeps) {
    this.templates = clients(deps.store).templates;
    this.sharedNamespace = deps.sharedNamespace === null ? undefined : (deps.sharedNamespace ?? DEFAULT_SHARED_NAMESPACE);
  }

  /** The tenant's templates and the shared ones, by name. Ops may name a tenant. */
  async list(caller: Caller, opts: { tenant?: string } = {}): Promise<TemplateView[]> {
    const tenant = oneTenant(caller, opts.tenant);
    const [own, shared] = await Promise.all([this.templates.list({ namespace: tenant }), this.shared()]);
    const byName = new Map<string, TemplateView>();
    for (const t of own.items) byName.set(t.metadata.name, view(t, isCopy(t) ? 'shared' : 'tenant'));
    for (const t of shared) if (byName.get(t.metadata.name)?.source !== 'tenant') byName.set(t.metadata.name, view(t, 'shared'));
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(caller: Caller, name: string, opts: { tenant?: string } = {}): Promise<TemplateView> {
    const tenant = oneTenant(caller, opts.tenant);
    checkName(name, 'name');
    const found = (await this.list(caller, { tenant })).find((t) => t.name === name);
    if (!found) throw new NotFound(`template ${JSON.stringify(name)} not found`);
    return found;
  }

  /**
   * The template a new desktop of `tenant` would be made from — the tenant's own, or the
   * shared one — without writing anything yet (a refused create must leave nothing behind).
   * `ensure()` then puts it in the tenant's namespace: copies the shared one there, or
   * refreshes an outdated copy. NotFound when neither exists. The caller's right to act in
   * `tenant` is the caller's business (Desktops checks it).
   */
  async resolve(tenant: string, name: string): Promise<{ template: TemplateObject; ensure: () => Promise<void> }> {
    const own = await this.templates.get(name, tenant);
    if (own && !isCopy(own)) return { template: own, ensure: () => Promise.resolve() };
    const original = this.sharedNamespace !== undefined && this.sharedNamespace !== tenant ? await this.templates.get(name, this.sharedNamespace) : undefined;
    if (!original) throw new NotFound(`template ${JSON.stringify(name)} not found`);
    return { template: original, ensure: () => this.copy(original, tenant, own) };
  }

  private async copy(original: TemplateObject, tenant: string, existing: TemplateObject | undefined): Promise<void> {
    const name = original.metadata.name;
    if (existing) {
      if (JSON.stringify(existing.spec) !== JSON.stringify(original.spec)) {
        await retryOnConflict(this.templates, name, tenant, (cur) => (isCopy(cur) ? { ...cur, spec: structuredClone(original.spec) } : undefined));
      }
      return;
    }
    const copy: TemplateObject = {
      apiVersion: API_VERSION,
      kind: 'DesktopTemplate',
      metadata: { name, namespace: tenant, labels: { [SHARED_COPY_LABEL]: original.metadata.namespace ?? '' } },
      spec: structuredClone(original.spec),
    };
    try {
      await this.templates.create(copy);
    } catch (err) {
      // Another request copied it first: theirs is the same template.
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
  }

  private async shared(): Promise<TemplateObject[]> {
    if (this.sharedNamespace === undefined) return [];
    return (await this.templates.list({ namespace: this.sharedNamespace })).items;
  }
}
