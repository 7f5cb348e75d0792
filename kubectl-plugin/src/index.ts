/**
 * @deskplane/kubectl-desktop: the `kubectl desktop` plugin. The executable is main.ts;
 * this entry exports the pieces for tests and for tools that embed the commands.
 *
 * @example
 * import { run, processIo } from '@deskplane/kubectl-desktop';
 * process.exitCode = await run(['list', '-A'], processIo());
 */
export { run } from './cli';
export { processIo, type Io } from './io';
export { parseArgs, UsageError, COMMANDS, type Command, type CommandName, type GlobalOptions, type Invocation } from './args';
export { helpText } from './help';
export { CliError } from './errors';
export { CLIENT_CONFIGMAP, ENV } from './discovery';
