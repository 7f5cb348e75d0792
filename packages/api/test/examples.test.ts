import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { API_VERSION, KINDS, applyDefaults, validate } from '../src';

const DIR = join(__dirname, '..', 'examples');
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
const docs = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d, i) => ({ file, index: i, obj: d.toJS() as { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> } })),
);

describe('examples', () => {
  it('cover every kind, in an order kubectl can apply', () => {
    expect(files.every((f) => /^\d\d-[a-z]+\.yaml$/.test(f))).toBe(true);
    expect(new Set(docs.map((d) => d.obj.kind))).toEqual(new Set(KINDS.map((k) => k.info.kind)));
    expect(docs.filter((d) => d.obj.kind === 'KvmHost')).toHaveLength(2);
  });

  it.each(docs.map((d) => [`${d.file}#${d.index} ${d.obj.kind}/${d.obj.metadata.name}`, d.obj] as const))('%s is valid', (_label, obj) => {
    expect(obj.apiVersion).toBe(API_VERSION);
    const result = validate(applyDefaults(obj));
    expect(result.ok ? [] : result.issues).toEqual([]);
    // Valid as written too: examples do not depend on anything but the CRD defaults.
    expect(validate(obj).ok).toBe(true);
  });

  it('refer to each other consistently', () => {
    const names = (kind: string): string[] => docs.filter((d) => d.obj.kind === kind).map((d) => d.obj.metadata.name);
    const ref = (kind: string, field: string): unknown[] =>
      docs.filter((d) => d.obj.kind === kind).map((d) => (d.obj.spec[field] as { name: string }).name);
    for (const t of [...ref('VirtualDesktop', 'templateRef'), ...ref('DesktopPool', 'templateRef')]) expect(names('DesktopTemplate')).toContain(t);
    for (const p of ref('DesktopTemplate', 'defaultPolicyRef')) expect(names('DesktopPolicy')).toContain(p);
    for (const m of docs.filter((d) => d.obj.kind === 'DesktopMigration')) {
      expect(names('VirtualDesktop')).toContain(m.obj.spec.desktopName);
      expect(names('KvmHost')).toContain(m.obj.spec.targetHost);
    }
  });
});
