import { PoolAssignments } from '@deskplane/api';
import { Type } from '@sinclair/typebox';
import { DesktopView } from './desktops';
import { ObjectName, OneOf } from './common';

/** Desktop pools as their claimants see them. */

export const PoolParams = Type.Object({ name: ObjectName('The pool (a DesktopPool of my tenant).') });

export const PoolView = Type.Object(
  {
    name: Type.String(),
    tenant: Type.String(),
    template: Type.String({ description: 'The template every desktop of the pool is made from.' }),
    assignment: OneOf(PoolAssignments, 'Dedicated: a claimed desktop stays mine; Floating: it goes back to the pool (reset) after I sign out.'),
    size: Type.Integer({ minimum: 0, description: 'Desktops the pool keeps, claimed or not.' }),
    desktops: Type.Integer({ minimum: 0, description: 'Desktops that exist now.' }),
    free: Type.Integer({ minimum: 0, description: 'Unclaimed and running: a console is there at once.' }),
    available: Type.Integer({ minimum: 0, description: 'Unclaimed in any usable state (free, starting, defined but stopped): a claim succeeds.' }),
    claimed: Type.Integer({ minimum: 0 }),
    mine: Type.Optional(DesktopView),
  },
  { title: 'Pool' },
);

export const PoolList = Type.Object({ items: Type.Array(PoolView) }, { title: 'PoolList' });

export const PoolClaim = Type.Object(
  {
    pool: Type.String(),
    tenant: Type.String(),
    result: OneOf(['claimed', 'reclaimed'] as const, 'claimed: a free desktop became mine; reclaimed: I already held this one.'),
    desktop: DesktopView,
  },
  { title: 'PoolClaim' },
);
