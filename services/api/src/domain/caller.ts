export type Role = 'user' | 'tenant-admin' | 'platform-ops';
/** Who is calling, after authentication. tenant = the Kubernetes namespace of their desktops. */
export interface Caller { subject: string; user: string; tenant: string; groups: string[]; roles: ReadonlySet<Role> }
