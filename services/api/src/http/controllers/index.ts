import { ConsolesController } from './consoles.controller';
import { DesktopsController } from './desktops.controller';
import { OpsController } from './ops.controller';
import { PoolsController } from './pools.controller';
import { TenantController } from './tenant.controller';

export { ConsolesController, DesktopsController, OpsController, PoolsController, TenantController };
export { inTenant, wholeScope, type DomainDeps } from './deps';
export { TenantPolicies, type PolicyView } from './policies';

/** Every domain controller; mount them with `createApiApp(deps, config, { controllers: DOMAIN_CONTROLLERS })`. */
export const DOMAIN_CONTROLLERS = [DesktopsController, ConsolesController, PoolsController, TenantController, OpsController];
