import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../src/index';
import { describeStoreContract, GADGET, type Gadget } from './contract';

const dirs: string[] = [];

describeStoreContract({
  name: 'embedded',
  open: () => {
    const dir = mkdtempSync(join(tmpdir(), 'dp-store-'));
    dirs.push(dir);
    return Promise.resolve({ store: new EmbeddedStore({ dir, historySize: 10 }), namespace: 'tenant-a', cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) });
  },
  tooOldVersion: () => Promise.resolve('1'),
});

describe('embedded store persistence', () => {
  it('finds its objects and versions again after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dp-store-'));
    try {
      const s1 = new EmbeddedStore({ dir });
      const c1 = s1.client<Gadget>(GADGET);
      const g = await c1.create({ apiVersion: 'contract.deskplane.io/v1', kind: 'Gadget', metadata: { name: 'keep', namespace: 'a' }, spec: { size: 1 } });
      const g2 = await c1.updateStatus({ ...g, status: { phase: 'Ready' } });
      await c1.create({ apiVersion: 'contract.deskplane.io/v1', kind: 'Gadget', metadata: { name: 'gone', namespace: 'a' }, spec: { size: 1 } });
      await c1.delete('gone', 'a');
      await s1.close();

      const s2 = new EmbeddedStore({ dir });
      const c2 = s2.client<Gadget>(GADGET);
      expect(await c2.get('keep', 'a')).toEqual(g2);
      expect(await c2.get('gone', 'a')).toBeUndefined();
      const next = await c2.update({ ...g2, spec: { size: 3 } });
      expect(Number(next.metadata.resourceVersion)).toBeGreaterThan(Number(g2.metadata.resourceVersion));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('validates and defaults through the schema hooks, rejecting with the field named', async () => {
    const schemas = new Map([
      [
        'gadgets.contract.deskplane.io/v1',
        {
          applyDefaults: (o: Gadget) => ({ ...o, spec: { color: 'grey', ...o.spec } }),
          validate: (o: Gadget) => (o.spec.size < 1 ? [`spec.size: must be at least 1, got ${o.spec.size}`] : []),
        },
      ],
    ]) as unknown as ConstructorParameters<typeof EmbeddedStore>[0] extends infer O ? (O extends { schemas?: infer S } ? S : never) : never;
    const s = new EmbeddedStore({ schemas });
    const c = s.client<Gadget>(GADGET);
    await expect(c.create({ apiVersion: 'contract.deskplane.io/v1', kind: 'Gadget', metadata: { name: 'bad', namespace: 'a' }, spec: { size: 0 } })).rejects.toThrow(
      'gadgets.contract.deskplane.io "bad" is invalid: spec.size: must be at least 1, got 0',
    );
    const ok = await c.create({ apiVersion: 'contract.deskplane.io/v1', kind: 'Gadget', metadata: { name: 'ok', namespace: 'a' }, spec: { size: 1 } });
    expect(ok.spec.color).toBe('grey');
  });
});
