/**
 * Where each desktop's SPICE password lives: a core/v1 Secret `<desktop>-console` on
 * Kubernetes (key `password`, label `deskplane.io/desktop=<name>`, owned by the
 * VirtualDesktop), or the same object in the embedded store's `secrets` space for the
 * local run. The password is generated ONCE per desktop (read before create), so a
 * replayed or retried provision job never rotates it. It never goes into status, Events
 * or logs; it leaves this module only towards the host agent (EnsureGuest).
 */
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { API_VERSION, VirtualDesktopKind } from '@deskplane/api';
import { AlreadyExistsError, type KubeObject, type ResourceClient, type ResourceStore, type ResourceType } from '@deskplane/resource-store';
import { SecretStoreError } from './errors';

export interface DesktopIdentity {
  namespace: string;
  name: string;
  uid: string;
}

export interface ConsoleSecretStore {
  /** The desktop's password: the stored one, or a new one stored now. */
  ensure(desktop: DesktopIdentity): Promise<string>;
  /** The stored password, if the desktop (this uid) has one. */
  get(desktop: DesktopIdentity): Promise<string | undefined>;
  /** Deletes the desktop's secret (only this uid's); true when one was deleted. */
  delete(desktop: DesktopIdentity): Promise<boolean>;
}

export const DESKTOP_LABEL = 'deskplane.io/desktop';
export const PASSWORD_KEY = 'password';
/** URL-safe, printable ASCII: 64 symbols, so one random byte & 63 picks one without bias. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
export const PASSWORD_LENGTH = 32; // ≤ 59 bytes: spice-server compares no more

export function generatePassword(random: (n: number) => Buffer = randomBytes): string {
  return [...random(PASSWORD_LENGTH)].map((b) => ALPHABET[b & 63]).join('');
}

export const secretName = (desktopName: string): string => `${desktopName}-console`;

interface SecretObject extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

/** Pure: the Secret for a desktop (base64 data, owner reference, label). */
export function buildSecret(d: DesktopIdentity, password: string): SecretObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName(d.name),
      namespace: d.namespace,
      labels: { [DESKTOP_LABEL]: d.name },
      ownerReferences: [{ apiVersion: API_VERSION, kind: VirtualDesktopKind.info.kind, name: d.name, uid: d.uid, controller: true }],
    },
    type: 'Opaque',
    data: { [PASSWORD_KEY]: Buffer.from(password, 'utf8').toString('base64') },
  };
}

/** The password a secret holds for this desktop uid; undefined when it belongs to another (older) desktop of that name. */
export function passwordOf(s: Pick<SecretObject, 'metadata' | 'data'>, uid: string): string | undefined {
  const owned = s.metadata.ownerReferences?.some((o) => o.uid === uid);
  const b64 = s.data?.[PASSWORD_KEY];
  return owned && b64 ? Buffer.from(b64, 'base64').toString('utf8') : undefined;
}

/** The read/create/delete a backend offers; the ensure logic is shared. */
interface SecretBackend {
  read(namespace: string, name: string): Promise<SecretObject | undefined>;
  /** AlreadyExistsError-like: resolves false when the name is taken. */
  create(s: SecretObject): Promise<boolean>;
  remove(namespace: string, name: string): Promise<boolean>;
}

class SecretStore implements ConsoleSecretStore {
  constructor(private readonly b: SecretBackend) {}

  async ensure(d: DesktopIdentity): Promise<string> {
    for (let i = 0; i < 3; i++) {
      const existing = await this.b.read(d.namespace, secretName(d.name));
      if (existing) {
        const pw = passwordOf(existing, d.uid);
        if (pw) return pw;
        // Left over from a deleted desktop of the same name: never reuse its password.
        await this.b.remove(d.namespace, secretName(d.name));
        continue;
      }
      const password = generatePassword();
      if (await this.b.create(buildSecret(d, password))) return password;
      // Another worker created it first: read theirs.
    }
    throw new SecretStoreError(`could not create or read secret ${d.namespace}/${secretName(d.name)}`, true);
  }

  async get(d: DesktopIdentity): Promise<string | undefined> {
    const s = await this.b.read(d.namespace, secretName(d.name));
    return s ? passwordOf(s, d.uid) : undefined;
  }

  async delete(d: DesktopIdentity): Promise<boolean> {
    const s = await this.b.read(d.namespace, secretName(d.name));
    if (!s || !s.metadata.ownerReferences?.some((o) => o.uid === d.uid)) return false;
    return this.b.remove(d.namespace, secretName(d.name));
  }
}

const codeOf = (e: unknown): number | undefined => (e instanceof k8s.ApiException ? e.code : undefined);

function kubeError(e: unknown, what: string): SecretStoreError {
  const code = codeOf(e);
  // 403 (RBAC) and 422 (invalid) will not fix themselves; the rest (5xx, network) may.
  return new SecretStoreError(`${what}: ${code ?? ''} ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`.trim(), code !== 403 && code !== 422);
}

/** core/v1 Secrets through client-node's CoreV1Api. */
export function kubernetesSecretStore(kc: k8s.KubeConfig): ConsoleSecretStore {
  const api = kc.makeApiClient(k8s.CoreV1Api);
  return new SecretStore({
    async read(namespace, name) {
      try {
        return (await api.readNamespacedSecret({ name, namespace })) as unknown as SecretObject;
      } catch (e) {
        if (codeOf(e) === 404) return undefined;
        throw kubeError(e, `reading secret ${namespace}/${name}`);
      }
    },
    async create(s) {
      try {
        await api.createNamespacedSecret({ namespace: s.metadata.namespace!, body: s as unknown as k8s.V1Secret });
        return true;
      } catch (e) {
        if (codeOf(e) === 409) return false;
        throw kubeError(e, `creating secret ${s.metadata.namespace}/${s.metadata.name}`);
      }
    },
    async remove(namespace, name) {
      try {
        await api.deleteNamespacedSecret({ name, namespace });
        return true;
      } catch (e) {
        if (codeOf(e) === 404) return false;
        throw kubeError(e, `deleting secret ${namespace}/${name}`);
      }
    },
  });
}

/** The embedded store's secret space (core/v1 shape, so the local run and a cluster look alike). */
export const SECRET_TYPE: ResourceType = { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true };

export function embeddedSecretStore(store: Pick<ResourceStore, 'client'>): ConsoleSecretStore {
  const client: ResourceClient<SecretObject> = store.client<SecretObject>(SECRET_TYPE);
  return new SecretStore({
    read: (namespace, name) => client.get(name, namespace),
    async create(s) {
      try {
        await client.create(s);
        return true;
      } catch (e) {
        if (e instanceof AlreadyExistsError) return false;
        throw e;
      }
    },
    remove: (namespace, name) => client.delete(name, namespace),
  });
}
