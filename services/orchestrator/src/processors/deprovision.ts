/**
 * deprovision: DeleteGuest (destroy, undefine, remove the disk; "nothing there" is fine)
 * on every host that may hold the guest, then delete the console secret. The job completes
 * only when all of that is gone: the operator drops the desktop's finalizer on completion.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { DeprovisionDesktopJob } from '@deskplane/queue-contracts';
import { AgentCallError } from '../errors';
import { done, type JobContext, type Outcome, type ProcessorDeps } from './context';
import { jobDesktop } from './guest';

/** Pure: the hosts to clean — the job's host, and the desktop's current one when it moved since (a migration). */
export function hostsToClean(jobHost: string | undefined, currentHost: string | undefined, migrationTarget?: string): string[] {
  return [...new Set([jobHost, currentHost, migrationTarget].filter((h): h is string => !!h))];
}

export async function deprovision(job: DeprovisionDesktopJob, deps: ProcessorDeps, ctx: JobContext): Promise<Outcome> {
  const vd = await jobDesktop(deps, job.desktop);
  const migrationName = vd?.status?.migrationRef?.name;
  const migration = migrationName ? await deps.migrations.get(migrationName, job.desktop.namespace) : undefined;
  const hosts = hostsToClean(job.host, vd?.status?.host, migration?.status?.targetHost);
  const deleted: string[] = [];
  for (const host of hosts) {
    const agent = await deps.agents.forHost(host);
    let existed: boolean;
    try {
      existed = await agent.deleteGuest(job.desktop.uid);
    } catch (e) {
      // Refused while the guest migrates: abort the migration (the guest stays put), then delete.
      if (!(e instanceof AgentCallError && e.grpcCode === GrpcStatus.FAILED_PRECONDITION && /migrat/i.test(e.details))) throw e;
      ctx.log.info({ host }, 'guest is migrating; aborting the migration before deleting it');
      await agent.abortMigration(job.desktop.uid);
      existed = await agent.deleteGuest(job.desktop.uid);
    }
    if (existed) deleted.push(host);
    ctx.log.info({ host, existed, step: 'deleteGuest' }, existed ? 'guest deleted' : 'no guest on host');
  }
  const secret = await deps.secrets.delete(job.desktop);
  ctx.log.info({ secretDeleted: secret, step: 'deleteSecret' }, 'console secret removed');
  return done(`guest removed from ${deleted.join(', ') || 'no host (none left)'}`, { hosts, deleted, secretDeleted: secret });
}
