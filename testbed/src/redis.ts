import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DependencyUnavailableError } from './errors';
import { freePort } from './ports';
import { isRunning, run, spawnDaemon, stopProcess, tail, waitFor, type Log } from './process';
import type { RedisState } from './state';

export const REDIS_PACKAGES = ['redis-server', 'redis-tools'];

/**
 * A private Redis on loopback with append-only persistence, as production runs it for
 * BullMQ: a restart keeps every queued job (tests restart it in the middle of a flow).
 * `port` restarts it where clients expect it.
 */
export async function startRedis(opts: { stateDir: string; log: Log; port?: number }): Promise<RedisState> {
  const dir = join(opts.stateDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const logFile = join(dir, 'redis.log');
  const proc = spawnDaemon(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--daemonize', 'no'],
    { logFile, match: `redis-server 127.0.0.1:${port}` },
  );
  const state: RedisState = { process: proc, host: '127.0.0.1', port, url: `redis://127.0.0.1:${port}` };
  try {
    await waitFor(`Redis on 127.0.0.1:${port} to answer PING`, () => ping(state), { timeoutMs: 15_000 });
  } catch (e) {
    await stopProcess(proc);
    throw new DependencyUnavailableError('Redis', `${(e as Error).message}\n${tail(logFile)}`);
  }
  opts.log(`redis ready on ${state.url} (pid ${proc.pid})`);
  return state;
}

async function ping(r: RedisState): Promise<boolean> {
  const { stdout } = await run('redis-cli', ['-h', r.host, '-p', String(r.port), 'PING'], { timeoutMs: 2000 });
  return stdout.trim() === 'PONG';
}

export async function stopRedis(r: RedisState): Promise<void> {
  await stopProcess(r.process);
}

/** Throws a DependencyUnavailableError naming Redis when it is not running or not answering. */
export async function checkRedis(r: RedisState | undefined): Promise<void> {
  if (!r) throw new DependencyUnavailableError('Redis', 'the testbed was started without Redis');
  if (!isRunning(r.process)) {
    throw new DependencyUnavailableError('Redis', `process ${r.process.pid} is not running (log: ${r.process.logFile})`);
  }
  const ok = await ping(r).catch(() => false);
  if (!ok) throw new DependencyUnavailableError('Redis', `no PONG from ${r.url} within 2 s`);
}
