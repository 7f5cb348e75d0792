import type { VirtualDesktop } from '@deskplane/api';
import { describe, expect, it } from 'vitest';
import { NONE, consoleCell, desktopJson, desktopNames, desktopTable, formatAge, renderTable } from './table';

const NOW = new Date('2026-03-01T12:00:00Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000);

function vd(name: string, ns: string, extra: Partial<VirtualDesktop> = {}): VirtualDesktop {
  return {
    apiVersion: 'deskplane.io/v1alpha1',
    kind: 'VirtualDesktop',
    metadata: { name, namespace: ns, creationTimestamp: '2026-03-01T11:55:00Z' },
    spec: { templateRef: { name: 'debian-xfce' }, owner: 'alice' },
    ...extra,
  };
}

describe('formatAge', () => {
  it.each([
    [0, '0s'],
    [59, '59s'],
    [119, '119s'],
    [120, '2m'],
    [200, '3m20s'],
    [599, '9m59s'],
    [600, '10m'],
    [3 * 3600 - 1, '179m'],
    [3 * 3600, '3h'],
    [5 * 3600 + 12 * 60, '5h12m'],
    [8 * 3600, '8h'],
    [47 * 3600, '47h'],
    [2 * 86400 + 4 * 3600, '2d4h'],
    [8 * 86400, '8d'],
    [400 * 86400, '400d'],
    [2 * 365 * 86400 + 10 * 86400, '2y10d'],
    [9 * 365 * 86400, '9y'],
  ])('%i s old is %s', (s, text) => expect(formatAge(ago(s), NOW)).toBe(text));

  it('treats small clock skew as now and large skew as invalid', () => {
    expect(formatAge(ago(-0.5), NOW)).toBe('0s');
    expect(formatAge(ago(-30), NOW)).toBe('<invalid>');
    expect(formatAge(new Date('garbage'), NOW)).toBe(NONE);
  });
});

describe('desktop tables', () => {
  const running = vd('alice-dev', 'team-a', {
    status: { phase: 'Running', host: 'kvm-host-1', console: { ready: true, address: '10.0.0.5', port: 5901 } },
  });
  const pending = vd('bob-dev', 'team-b', { spec: { templateRef: { name: 'win11' }, poolRef: { name: 'pool' } } });
  const zed = vd('zed', 'team-a', { status: { phase: 'Starting', host: 'kvm-host-2', console: { ready: false } } });

  it('prints NAME PHASE HOST AGE, sorted, <none> for what is not known yet', () => {
    expect(desktopTable([zed, running], { wide: false, allNamespaces: false, now: NOW }).split('\n')).toEqual([
      'NAME        PHASE      HOST         AGE',
      'alice-dev   Running    kvm-host-1   5m',
      'zed         Starting   kvm-host-2   5m',
    ]);
    expect(desktopTable([pending], { wide: false, allNamespaces: false, now: NOW })).toContain(`bob-dev   ${NONE}   ${NONE}   5m`);
  });

  it('adds NAMESPACE with -A and TEMPLATE, OWNER, CONSOLE with -o wide', () => {
    expect(desktopTable([pending, zed, running], { wide: true, allNamespaces: true, now: NOW }).split('\n')).toEqual([
      'NAMESPACE   NAME        PHASE      HOST         AGE   TEMPLATE      OWNER    CONSOLE',
      'team-a      alice-dev   Running    kvm-host-1   5m    debian-xfce   alice    Ready 10.0.0.5:5901',
      'team-a      zed         Starting   kvm-host-2   5m    debian-xfce   alice    NotReady',
      'team-b      bob-dev     <none>     <none>       5m    win11         <none>   <none>',
    ]);
  });

  it('says where the console is only when it is ready', () => {
    expect([running, zed, pending].map(consoleCell)).toEqual(['Ready 10.0.0.5:5901', 'NotReady', NONE]);
  });

  it('prints -o name and -o json as kubectl does', () => {
    expect(desktopNames([zed, running])).toBe('virtualdesktop.deskplane.io/alice-dev\nvirtualdesktop.deskplane.io/zed');
    const list = JSON.parse(desktopJson([zed, running])) as { apiVersion: string; kind: string; items: VirtualDesktop[] };
    expect(list.apiVersion).toBe('v1');
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => i.metadata.name)).toEqual(['alice-dev', 'zed']);
    expect(list.items[0]!.status?.host).toBe('kvm-host-1');
  });

  it('pads every column but the last', () => {
    expect(renderTable(['A', 'LONGER'], [['xxxx', 'y']])).toBe('A      LONGER\nxxxx   y');
  });
});
