export { startAdminServer, serverCredentials, type AdminServer, type AdminServerOptions } from './server';
export { adminImplementation, toSession } from './service';
export { GatewayAdminClient, type AdminClientOptions } from './client';
export * from './errors';
export type { AdminDeps, AdminMintRequest, MigrationControl } from './types';
