import { describe, expect, it } from 'vitest';
import {
  API_VERSION,
  InvalidResourceError,
  applyDefaults,
  assertValid,
  validate,
  validateDesktopMigration,
  validateDesktopPolicy,
  validateDesktopPool,
  validateDesktopTemplate,
  validateKvmHost,
  validateVirtualDesktop,
  type DesktopMigration,
  type VirtualDesktop,
} from './index';

const vd = (spec: Record<string, unknown>, name = 'alice-dev'): unknown => ({ apiVersion: API_VERSION, kind: 'VirtualDesktop', metadata: { name }, spec });
const pool = (spec: Record<string, unknown>): unknown => ({ apiVersion: API_VERSION, kind: 'DesktopPool', metadata: { name: 'p' }, spec });
const template = (spec: Record<string, unknown>): unknown => ({ apiVersion: API_VERSION, kind: 'DesktopTemplate', metadata: { name: 't' }, spec });
const issues = (r: { ok: boolean; issues?: unknown }): unknown => (r.ok ? [] : r.issues);

describe('validate*', () => {
  it('accepts a minimal desktop and types it', () => {
    const result = validateVirtualDesktop(vd({ templateRef: { name: 'debian-xfce' }, owner: 'alice' }));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.spec.templateRef.name).toBe('debian-xfce');
  });

  it.each([
    ['an unknown run strategy', vd({ templateRef: { name: 't' }, owner: 'a', runStrategy: 'Sometimes' }), 'spec.runStrategy', 'Unsupported value: "Sometimes": supported values: "Always", "Halted", "Manual"'],
    ['a missing templateRef', vd({ owner: 'a' }), 'spec.templateRef', 'Required value'],
    ['an unknown field', vd({ templateRef: { name: 't' }, owner: 'a', color: 'blue' }), 'spec.color', 'field not declared in schema'],
    ['a bad reference name', vd({ templateRef: { name: 'Not_A_Name' }, owner: 'a' }), 'spec.templateRef.name', "should match '^[a-z0-9]"],
    ['a desktop without owner or pool (CEL)', vd({ templateRef: { name: 't' } }), 'spec.owner', 'owner is required unless the desktop belongs to a pool'],
    ['pool anti-affinity without a pool (CEL)', vd({ templateRef: { name: 't' }, owner: 'a', placement: { antiAffinity: 'pool' } }), 'spec.placement.antiAffinity', 'needs poolRef'],
    ['a 64-character name (CEL)', vd({ templateRef: { name: 't' }, owner: 'a' }, 'x'.repeat(64)), '', 'at most 63 characters'],
    ['memory "lots"', template({ image: 'img', vcpus: 2, memory: 'lots' }), 'spec.memory', 'Invalid value: "lots": must be a quantity'],
    ['65 vCPUs', template({ image: 'img', vcpus: 65, memory: '2Gi' }), 'spec.vcpus', 'should be less than or equal to 64'],
    ['warm > size (CEL)', pool({ templateRef: { name: 't' }, size: 2, warm: 3 }), 'spec.warm', 'warm must not exceed size'],
  ])('rejects %s with a useful message', (_what, obj, path, message) => {
    const result = validate(obj);
    expect(result.ok).toBe(false);
    const found = issues(result) as Array<{ path: string; message: string }>;
    expect(found).toContainEqual({ path, message: expect.stringContaining(message) as string });
  });

  it('accepts quantities written as strings or whole byte counts, and rejects negatives', () => {
    for (const memory of ['2Gi', '512Mi', '1.5G', '4e9', 2147483648]) expect(validate(template({ image: 'i', vcpus: 1, memory })).ok, String(memory)).toBe(true);
    for (const memory of ['-1Gi', '2GB', '100m', -5, 1.5, '']) expect(validate(template({ image: 'i', vcpus: 1, memory })).ok, String(memory)).toBe(false);
  });

  it('checks every kind, and the kind field picks the schema', () => {
    expect(validateKvmHost({ apiVersion: API_VERSION, kind: 'KvmHost', metadata: { name: 'h' }, spec: { agentEndpoint: '[::1]:7443' } }).ok).toBe(true);
    expect(issues(validateKvmHost({ apiVersion: API_VERSION, kind: 'KvmHost', metadata: { name: 'h' }, spec: { agentEndpoint: 'http://h' } }))).toMatchObject([{ path: 'spec.agentEndpoint' }]);
    expect(validateDesktopTemplate(template({ image: 'i', vcpus: 1, memory: '1Gi' })).ok).toBe(true);
    expect(validateDesktopPool(pool({ templateRef: { name: 't' }, size: 2, warm: 2 })).ok).toBe(true);
    expect(issues(validateDesktopPolicy({ apiVersion: API_VERSION, kind: 'DesktopPolicy', metadata: { name: 'p' }, spec: { subjects: {} } }))).toEqual([
      { path: 'spec.subjects', message: 'Invalid value: "object": subjects must name users or groups, or set allUsersInNamespace' },
    ]);
    expect(issues(validate({ apiVersion: API_VERSION, kind: 'Widget', metadata: {}, spec: {} }))).toMatchObject([{ path: 'kind' }]);
    expect(issues(validateVirtualDesktop(pool({ templateRef: { name: 't' }, size: 1 })))).toContainEqual({
      path: 'kind',
      message: 'Unsupported value: "DesktopPool": supported values: "VirtualDesktop"',
    });
  });

  it('rejects a channel that cannot be denied and a duplicate-free list stays a set', () => {
    const policy = (deniedChannels: string[]): unknown => ({
      apiVersion: API_VERSION,
      kind: 'DesktopPolicy',
      metadata: { name: 'p' },
      spec: { subjects: { users: ['alice'] }, deniedChannels },
    });
    expect(validate(policy(['usbredir', 'webdav'])).ok).toBe(true);
    expect(issues(validate(policy(['display'])))).toMatchObject([{ path: 'spec.deniedChannels[0]', message: expect.stringContaining('supported values') as string }]);
  });

  it('runs transition rules only on update: a migration spec is immutable', () => {
    const mig = (targetHost: string): DesktopMigration => ({
      apiVersion: API_VERSION,
      kind: 'DesktopMigration',
      metadata: { name: 'm' },
      spec: { desktopName: 'alice-dev', targetHost },
    });
    expect(validateDesktopMigration(mig('h1')).ok).toBe(true);
    expect(validateDesktopMigration(mig('h1'), mig('h1')).ok).toBe(true);
    expect(issues(validateDesktopMigration(mig('h2'), mig('h1')))).toEqual([
      { path: 'spec', message: 'Invalid value: "object": spec is immutable: delete the migration and create a new one' },
    ]);
  });

  it('lets a desktop gain an owner but not change template', () => {
    const before = vd({ templateRef: { name: 't' }, poolRef: { name: 'p' } });
    expect(validate(vd({ templateRef: { name: 't' }, poolRef: { name: 'p' }, owner: 'bob' }), before).ok).toBe(true);
    expect(issues(validate(vd({ templateRef: { name: 'u' }, poolRef: { name: 'p' } }), before))).toMatchObject([{ path: 'spec.templateRef' }]);
  });

  it('validates status too, so a controller cannot write a phase the apiserver refuses', () => {
    const obj = { ...(vd({ templateRef: { name: 't' }, owner: 'a' }) as object), status: { phase: 'Dancing', console: { ready: true, password: 'x' } } };
    const found = issues(validate(obj)) as Array<{ path: string }>;
    expect(found.map((i) => i.path).sort()).toEqual(['status.console.password', 'status.phase']);
  });

  it('assertValid throws InvalidResourceError naming the object and every issue', () => {
    expect(() => assertValid(pool({ templateRef: { name: 't' }, size: 1, warm: 5 }))).toThrow(InvalidResourceError);
    const thrown = ((): unknown => {
      try {
        assertValid(vd({ templateRef: { name: 't' }, owner: 'a', runStrategy: 'Sometimes' }));
      } catch (e) {
        return e;
      }
    })();
    expect(thrown).toMatchObject({ code: 'DESKPLANE_INVALID_RESOURCE', kind: 'VirtualDesktop', objectName: 'alice-dev', retryable: false });
    expect((thrown as Error).message).toBe(
      'VirtualDesktop "alice-dev" is invalid: spec.runStrategy: Unsupported value: "Sometimes": supported values: "Always", "Halted", "Manual"',
    );
  });
});

describe('applyDefaults', () => {
  it('fills defaults where the parent exists, like the apiserver, without touching the input', () => {
    const input = vd({ templateRef: { name: 't' }, owner: 'a' }) as VirtualDesktop;
    const out = applyDefaults(input);
    expect(out.spec).toEqual({ templateRef: { name: 't' }, owner: 'a', runStrategy: 'Always', persistent: true });
    expect(input.spec.runStrategy).toBeUndefined();
    const placed = applyDefaults(vd({ templateRef: { name: 't' }, owner: 'a', placement: {} }) as VirtualDesktop);
    expect(placed.spec.placement).toEqual({ antiAffinity: 'none' });
  });

  it('keeps values that are set', () => {
    expect(applyDefaults(vd({ templateRef: { name: 't' }, owner: 'a', runStrategy: 'Halted', persistent: false }) as VirtualDesktop).spec).toMatchObject({
      runStrategy: 'Halted',
      persistent: false,
    });
  });
});
