/** The API group and version every Deskplane kind is served under, and well-known names. */

export const GROUP = 'deskplane.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

/** `kubectl get deskplane` lists every kind that carries this category. */
export const CATEGORY = 'deskplane';

/**
 * Finalizers, named `deskplane.io/<what the holder cleans up>`. The holder removes its own
 * finalizer once the cleanup is done; nothing else removes it.
 */
export const Finalizers = {
  /** On VirtualDesktop: the guest domain and its disk overlay are removed from the host. */
  DesktopCleanup: 'deskplane.io/desktop-cleanup',
  /** On DesktopMigration: a running migration is aborted (the guest stays on the source). */
  MigrationAbort: 'deskplane.io/migration-abort',
  /** On DesktopPool: the pool's unclaimed desktops are deleted. */
  PoolCleanup: 'deskplane.io/pool-cleanup',
  /** On KvmHost: no guest is left on the host before the host object goes away. */
  HostDrain: 'deskplane.io/host-drain',
} as const;

/** Annotations shared by the pool controller, the API's claim and the operator's activity loop. */
export const Annotations = {
  /** RFC 3339 time a user claimed a pool desktop, written by the API's claim with spec.owner. */
  ClaimedAt: 'deskplane.io/claimed-at',
  /** Set to a reason (`logout`, `idle`, `scale-in`): the pool controller deletes the desktop and makes a fresh one. */
  Recycle: 'deskplane.io/recycle',
} as const;

/** Labels that Deskplane controllers put on the objects they create. */
export const Labels = {
  /** On a pool's desktops: the DesktopPool name. */
  Pool: 'deskplane.io/pool',
  /** On a desktop: the KvmHost it runs on. */
  Host: 'deskplane.io/host',
} as const;
