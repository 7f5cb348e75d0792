/**
 * The one-command local run as a library.
 *
 * @example
 * import { loadState } from '@deskplane/testbed';
 * import { startLocal } from '@deskplane/local';
 * const local = await startLocal({ testbed: loadState(), dataDir: '/var/lib/deskplane/local' });
 * // … the demo desktop comes up Running on one of the testbed hosts …
 * await local.close();
 */
export { startLocal, type LocalOptions, type RunningLocal } from './local';
export { statusTable } from './status';
export * from './demo';
