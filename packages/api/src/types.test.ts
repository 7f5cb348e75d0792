// Compile-time checks of the static types (tsc -p packages/api checks them; vitest runs the file).
import { describe, expectTypeOf, it } from 'vitest';
import { type Condition, type DesktopMigrationStatus, type DesktopPhase, type KvmHostSpec, type RunStrategy, type VirtualDesktop, type VirtualDesktopSpec } from './index';

describe('static types', () => {
  it('are literal unions, optional where the schema says so', () => {
    expectTypeOf<VirtualDesktopSpec['runStrategy']>().toEqualTypeOf<RunStrategy | undefined>();
    expectTypeOf<RunStrategy>().toEqualTypeOf<'Always' | 'Halted' | 'Manual'>();
    expectTypeOf<NonNullable<VirtualDesktop['status']>['phase']>().toEqualTypeOf<DesktopPhase | undefined>();
    expectTypeOf<VirtualDesktop['apiVersion']>().toEqualTypeOf<'deskplane.io/v1alpha1'>();
    expectTypeOf<VirtualDesktop['kind']>().toEqualTypeOf<'VirtualDesktop'>();
    expectTypeOf<KvmHostSpec['agentEndpoint']>().toEqualTypeOf<string>();
    expectTypeOf<Condition['status']>().toEqualTypeOf<'True' | 'False' | 'Unknown'>();
    expectTypeOf<NonNullable<DesktopMigrationStatus['bytesRemaining']>>().toEqualTypeOf<number>();
    // @ts-expect-error not a run strategy
    const bad: VirtualDesktopSpec = { templateRef: { name: 't' }, runStrategy: 'Sometimes' };
    void bad;
  });
});
