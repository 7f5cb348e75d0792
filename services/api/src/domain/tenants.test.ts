import { beforeEach, describe, expect, it } from 'vitest';
import type { EmbeddedStore } from '@deskplane/resource-store';
import { MemoryAuditLog } from './audit';
import { clients } from './resources';
import { Tenants, applyQuotaChange, isAdminByBinding } from './tenants';
import { addDesktop, addTemplate, addTenant, caller, newStore } from './test-fixtures';

const carol = caller('carol', 'team-a', 'tenant-admin');
const ops = caller('olga', 'ops', 'platform-ops');

let store: EmbeddedStore;
let tenants: Tenants;
let log: MemoryAuditLog;

beforeEach(async () => {
  store = newStore();
  log = new MemoryAuditLog();
  tenants = new Tenants({ store, audit: log });
  await addTemplate(store, 'team-a', 'small', 2, '1536Mi');
  await addDesktop(store, 'team-a', 'a1', 'alice', 'small');
  await addDesktop(store, 'team-a', 'a2', 'alice', 'small');
  await addDesktop(store, 'team-a', 'orphan', 'alice', 'gone'); // template deleted: counts as a desktop only
});

describe('Tenants.get', () => {
  it('reports quota and usage to the tenant admin; no Tenant object means no limits', async () => {
    expect(await tenants.get(carol)).toEqual({ name: 'team-a', quota: {}, usage: { desktops: 3, vcpus: 4, memory: '3Gi', memoryBytes: 3 * 2 ** 30 } });
    await addTenant(store, 'team-a', { displayName: 'Team A', quota: { vcpus: 8 }, admins: { groups: ['a-admins'] } });
    expect(await tenants.get(carol)).toMatchObject({ displayName: 'Team A', quota: { vcpus: 8 }, admins: { users: [], groups: ['a-admins'] } });
  });

  it('is for tenant admins and ops (a plain user gets 403)', async () => {
    await expect(tenants.get(caller('alice', 'team-a'))).rejects.toMatchObject({ status: 403 });
    await expect(tenants.get(ops, 'team-a')).resolves.toMatchObject({ usage: { desktops: 3 } });
  });
});

describe('Tenants.setQuota', () => {
  it('creates the Tenant object, then changes, keeps and clears limits', async () => {
    expect(await tenants.setQuota(ops, 'team-a', { desktops: 5, memory: '8192Mi' })).toMatchObject({ quota: { desktops: 5, memory: '8Gi' } });
    expect(await tenants.setQuota(ops, 'team-a', { vcpus: 16, desktops: null })).toMatchObject({ quota: { vcpus: 16, memory: '8Gi' } });
    expect((await clients(store).tenants.get('team-a'))?.spec.quota).toEqual({ vcpus: 16, memory: '8Gi' });
    expect((await log.query({ limit: 5 })).map((e) => e.action)).toEqual(['tenant.quota.set', 'tenant.quota.set']);
  });

  it.each([
    [{ desktops: -1 }, 'quota.desktops'],
    [{ desktops: 1.5 }, 'quota.desktops'],
    [{ vcpus: '4' }, 'quota.vcpus'],
    [{ memory: 'lots' }, 'quota.memory'],
    [{ memory: '-1Gi' }, 'quota.memory'],
    [{ gpus: 1 }, 'quota.gpus'],
  ])('refuses %j with 400 naming %s, changing nothing', async (change, field) => {
    await addTenant(store, 'team-a', { quota: { desktops: 2 } });
    await expect(tenants.setQuota(ops, 'team-a', change as never)).rejects.toMatchObject({ status: 400, field });
    expect((await clients(store).tenants.get('team-a'))?.spec.quota).toEqual({ desktops: 2 });
  });

  it('refuses a tenant name that is no namespace name', async () => {
    await expect(tenants.setQuota(ops, 'Team.A', { desktops: 1 })).rejects.toMatchObject({ status: 400, field: 'tenant' });
  });
});

describe('pure helpers', () => {
  it('applyQuotaChange leaves the input alone', () => {
    const before = { desktops: 1, vcpus: 2 };
    expect(applyQuotaChange(before, { vcpus: null })).toEqual({ desktops: 1 });
    expect(before).toEqual({ desktops: 1, vcpus: 2 });
  });

  it('isAdminByBinding matches users and groups', () => {
    const t = { spec: { admins: { users: ['carol'], groups: ['a-admins'] } } };
    expect(isAdminByBinding(t, 'carol', [])).toBe(true);
    expect(isAdminByBinding(t, 'dan', ['x', 'a-admins'])).toBe(true);
    expect(isAdminByBinding(t, 'dan', ['x'])).toBe(false);
    expect(isAdminByBinding(undefined, 'carol', [])).toBe(false);
  });
});
