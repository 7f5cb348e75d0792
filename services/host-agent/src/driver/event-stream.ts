import type { ChildProcess } from 'node:child_process';
import { LifecycleMapper, LineSplitter, parseEventLine } from './events';
import type { DomainEvent, DriverConfig, EventSubscription } from './types';
import type { Virsh } from './virsh';

type Log = NonNullable<DriverConfig['log']>;

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 15_000;
/** A child that lived this long resets the backoff. */
const STABLE_MS = 10_000;

/**
 * ONE long-lived `virsh event --all --loop --timestamp` per driver, shared by every
 * subscriber; restarted with exponential backoff when it exits (libvirtd restarted, socket
 * gone). Started on the first subscription, stopped with the last.
 */
export class EventStream {
  private readonly listeners = new Set<(e: DomainEvent) => void>();
  private child: ChildProcess | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private backoffMs = BACKOFF_MIN_MS;
  private closed = false;

  constructor(
    private readonly virsh: Virsh,
    private readonly log: Log,
  ) {}

  subscribe(onEvent: (e: DomainEvent) => void): EventSubscription {
    this.listeners.add(onEvent);
    if (!this.child && !this.restartTimer) this.startChild();
    return {
      close: () => {
        this.listeners.delete(onEvent);
        if (this.listeners.size === 0) void this.stopChild();
      },
    };
  }

  /** Stops the child for good; resolves once it has exited. */
  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.stopChild();
  }

  private startChild(): void {
    if (this.closed || this.listeners.size === 0) return;
    const child = this.virsh.spawn(['event', '--all', '--loop', '--timestamp']);
    this.child = child;
    const startedAt = Date.now();
    const mapper = new LifecycleMapper();
    const lines = new LineSplitter();
    let stderr = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      for (const line of lines.push(chunk)) {
        const raw = parseEventLine(line);
        const event = raw && mapper.map(raw);
        if (event) this.emit(event);
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2000);
    });
    child.on('error', (err) => this.log('warn', 'virsh event could not run', { uri: this.virsh.uri, err: err.message }));
    child.on('close', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.closed || this.listeners.size === 0) return;
      if (Date.now() - startedAt > STABLE_MS) this.backoffMs = BACKOFF_MIN_MS;
      const delay = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
      this.log('warn', `libvirt event stream of ${this.virsh.uri} ended; reconnecting in ${delay} ms`, {
        code,
        signal,
        stderr: stderr.trim(),
      });
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        this.startChild();
      }, delay);
      this.restartTimer.unref();
    });
  }

  private stopChild(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('close', () => resolve());
      child.kill('SIGTERM');
    });
  }

  private emit(event: DomainEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch (err) {
        this.log('error', 'event listener threw', { err: (err as Error).message });
      }
    }
  }
}
