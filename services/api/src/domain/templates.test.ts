import { beforeEach, describe, expect, it } from 'vitest';
import type { EmbeddedStore } from '@deskplane/resource-store';
import { Desktops } from './desktops';
import { Templates } from './templates';
import { Tenants } from './tenants';
import { addTemplate, caller, newStore } from './test-fixtures';
import { clients } from './resources';

const alice = caller('alice', 'team-a');
const ops = caller('olga', 'ops', 'platform-ops');

let store: EmbeddedStore;

beforeEach(async () => {
  store = newStore();
  await addTemplate(store, 'team-a', 'own', 2, '4Gi');
  await addTemplate(store, 'team-a', 'linux', 8, '16Gi'); // shadows the shared "linux"
  await addTemplate(store, 'deskplane-system', 'linux', 1, '1Gi');
  await addTemplate(store, 'deskplane-system', 'windows', 4, '8Gi');
  await addTemplate(store, 'team-b', 'secret-b', 1, '1Gi');
});

describe('Templates', () => {
  it("lists the tenant's own and the shared ones; a tenant template shadows a shared one of the same name", async () => {
    const list = await new Templates({ store }).list(alice);
    expect(list.map((t) => `${t.name}:${t.source}:${t.vcpus}`)).toEqual(['linux:tenant:8', 'own:tenant:2', 'windows:shared:4']);
  });

  it('uses a configurable shared namespace, or none', async () => {
    await addTemplate(store, 'catalog', 'mac', 2, '2Gi');
    expect((await new Templates({ store, sharedNamespace: 'catalog' }).list(alice)).map((t) => t.name)).toEqual(['linux', 'mac', 'own']);
    expect((await new Templates({ store, sharedNamespace: null }).list(alice)).map((t) => t.name)).toEqual(['linux', 'own']);
  });

  it('shows a used shared template once, as shared, and refreshes an outdated copy on the next use', async () => {
    const templates = new Templates({ store });
    const desktops = new Desktops({ store, templates, tenants: new Tenants({ store }) });
    await desktops.create(alice, { name: 'w1', template: 'windows' });
    expect((await templates.list(alice)).filter((t) => t.name === 'windows')).toEqual([expect.objectContaining({ source: 'shared', vcpus: 4 })]);
    const shared = (await clients(store).templates.get('windows', 'deskplane-system'))!;
    await clients(store).templates.update({ ...shared, spec: { ...shared.spec, vcpus: 6 } });
    await desktops.create(alice, { name: 'w2', template: 'windows' });
    expect((await clients(store).templates.get('windows', 'team-a'))?.spec.vcpus).toBe(6);
  });

  it('get: 404 for a template of another tenant, ops may name the tenant', async () => {
    const templates = new Templates({ store });
    await expect(templates.get(alice, 'secret-b')).rejects.toMatchObject({ status: 404 });
    await expect(templates.get(ops, 'secret-b', { tenant: 'team-b' })).resolves.toMatchObject({ source: 'tenant' });
    await expect(templates.get(alice, 'Bad_Name')).rejects.toMatchObject({ status: 400, field: 'name' });
  });
});
