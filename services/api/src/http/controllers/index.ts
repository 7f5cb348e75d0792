import { ConsolesController } from './consoles.controller';
import { DesktopsController } from './desktops.controller';
import { OpsController } from './ops.controller';
import { TenantController } from './tenant.controller';

export { ConsolesController, DesktopsController, OpsController, TenantController };
export { inTenant, wholeScope, type DomainDeps } from './deps';
export { TenantPolicies, type PolicyView } from './policies';

/** Every domain controller; mount them with `createApiApp(deps, config, { controllers: DOMAIN_CONTROLLERS })`. */
export const DOMAIN_CONTROLLERS = [DesktopsController, ConsolesController, TenantController, OpsController];
