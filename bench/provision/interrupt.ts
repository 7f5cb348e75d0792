/**
 * Ctrl-C / SIGTERM during a run: the parts' teardowns (plane, agents, testbed dirs and
 * domains) still run, newest first, so an interrupted bench leaves nothing behind. A second
 * signal exits at once.
 */
const teardowns: Array<() => Promise<void>> = [];
let interrupted = false;

/** Registers a teardown; the returned function unregisters it (call it once it has run normally). */
export function onInterrupt(fn: () => Promise<void>): () => void {
  teardowns.push(fn);
  return () => {
    const i = teardowns.indexOf(fn);
    if (i >= 0) teardowns.splice(i, 1);
  };
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`${signal}: tearing down (again to exit at once)…`);
    void (async () => {
      for (const fn of teardowns.reverse()) await fn().catch((err: unknown) => console.error(err));
      process.exit(130);
    })();
  });
}
