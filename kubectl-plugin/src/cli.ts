/**
 * The plugin's whole run: argv in, exit code out (0 ok, 1 failure, 2 usage). Every
 * failure is printed as one `error: …` line on stderr; nothing else ever reaches the user
 * as a stack trace.
 */
import { parseArgs, UsageError, type Invocation } from './args';
import { openConsole } from './commands/console';
import { drain, undrain } from './commands/hosts';
import { list } from './commands/list';
import { migrate } from './commands/migrate';
import { CliError, oneLine } from './errors';
import { helpText } from './help';
import type { Io } from './io';
import { KubeClient, loadKube } from './kube';

async function dispatch(inv: Invocation, io: Io): Promise<number> {
  const cmd = inv.command;
  if (cmd.name === 'help') {
    io.out(helpText(cmd.topic));
    return 0;
  }
  const kube = new KubeClient(loadKube(inv.global));
  switch (cmd.name) {
    case 'list':
      return list(kube, cmd, io);
    case 'migrate':
      return migrate(kube, cmd, io);
    case 'drain':
      return drain(kube, cmd, io);
    case 'undrain':
      return undrain(kube, cmd, io);
    case 'console':
      return openConsole(kube, cmd, io);
  }
}

export async function run(argv: readonly string[], io: Io): Promise<number> {
  let inv: Invocation;
  try {
    inv = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    const help = e.topic ? `kubectl desktop ${e.topic} --help` : 'kubectl desktop --help';
    io.err(`error: ${e.message} (see "${help}")`);
    return 2;
  }
  try {
    return await dispatch(inv, io);
  } catch (e) {
    if (e instanceof CliError) {
      io.err(`error: ${e.message}`);
      return e.exitCode;
    }
    // A bug, not a user error: still one line, with enough to report it.
    io.err(`error: unexpected failure: ${oneLine(e instanceof Error ? `${e.name}: ${e.message}` : String(e))}; please report it`);
    return 1;
  }
}
