/**
 * Pure: argv (what kubectl passes after `desktop`) to one command. kubectl hands plugins
 * every flag untouched (it refuses flags placed before the plugin name), so the global
 * ones (--kubeconfig, --context, -n) are accepted anywhere, as kubectl itself does.
 */
import { parseDuration } from './duration';

export const COMMANDS = ['list', 'migrate', 'drain', 'undrain', 'console'] as const;
export type CommandName = (typeof COMMANDS)[number];

export const OUTPUTS = ['wide', 'json', 'name'] as const;
export type Output = 'table' | (typeof OUTPUTS)[number];

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export type Command =
  | { name: 'help'; topic?: CommandName }
  | { name: 'list'; allNamespaces: boolean; output: Output }
  | { name: 'migrate'; desktop: string; to?: string; wait: boolean; timeoutMs: number }
  | { name: 'drain'; host: string; wait: boolean; timeoutMs: number }
  | { name: 'undrain'; host: string }
  /** Exactly one of desktop (NAME) and pool (--pool: claim a desktop of the pool). */
  | { name: 'console'; desktop?: string; pool?: string; detach: boolean; viewer?: string; save?: string; apiUrl?: string; apiCa?: string; token?: string };

export interface Invocation {
  global: GlobalOptions;
  command: Command;
}

/** Exit code 2: the command line itself is wrong. `topic` names the help that explains it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly topic?: CommandName,
  ) {
    super(message);
  }
}

export const DEFAULT_MIGRATE_TIMEOUT = '10m';
/** A drain moves every desktop of the host, a few at a time: it takes longer than one migration. */
export const DEFAULT_DRAIN_TIMEOUT = '30m';

interface FlagSpec {
  long: string;
  short?: string;
  value: boolean;
}

const GLOBAL_FLAGS: FlagSpec[] = [
  { long: 'kubeconfig', value: true },
  { long: 'context', value: true },
  { long: 'namespace', short: 'n', value: true },
  { long: 'help', short: 'h', value: false },
];

const COMMAND_FLAGS: Record<CommandName, FlagSpec[]> = {
  list: [
    { long: 'all-namespaces', short: 'A', value: false },
    { long: 'output', short: 'o', value: true },
  ],
  migrate: [
    { long: 'to', value: true },
    { long: 'wait', value: false },
    { long: 'timeout', value: true },
  ],
  drain: [
    { long: 'wait', value: false },
    { long: 'timeout', value: true },
  ],
  undrain: [],
  console: [
    { long: 'pool', value: true },
    { long: 'detach', value: false },
    { long: 'viewer', value: true },
    { long: 'save', value: true },
    { long: 'api-url', value: true },
    { long: 'api-ca', value: true },
    { long: 'token', value: true },
  ],
};

const POSITIONAL: Record<CommandName, { what: string; kind: 'desktop' | 'host' } | undefined> = {
  list: undefined,
  migrate: { what: 'NAME', kind: 'desktop' },
  drain: { what: 'HOST', kind: 'host' },
  undrain: { what: 'HOST', kind: 'host' },
  console: { what: 'NAME', kind: 'desktop' },
};

// Kubernetes object names: DNS-1123 subdomain (desktops are further capped at 63 by their CRD).
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const isCommand = (s: string): s is CommandName => (COMMANDS as readonly string[]).includes(s);

function checkName(value: string, kind: string, topic?: CommandName): string {
  if (value.length > 253 || !OBJECT_NAME.test(value)) {
    throw new UsageError(`invalid ${kind} name ${JSON.stringify(value)}: use lowercase letters, digits, '-' and '.'`, topic);
  }
  return value;
}

function parseBool(flag: string, raw: string, topic?: CommandName): boolean {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new UsageError(`flag --${flag} takes true or false, not ${JSON.stringify(raw)}`, topic);
}

/** Parses what follows `kubectl desktop`. Throws UsageError. */
export function parseArgs(argv: readonly string[]): Invocation {
  // Nothing at all is a request for help, as with kubectl itself.
  if (argv.length === 0) return { global: {}, command: { name: 'help' } };
  const positionals: string[] = [];
  const values = new Map<string, string>();
  const bools = new Map<string, boolean>();
  let help = false;
  let command: CommandName | undefined;
  // Flags are checked once the command is known (they may come before it); whether a flag
  // takes the next token as its value is known from its name alone.
  const raw: { token: string; next?: string }[] = [];

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (token.startsWith('-') && token !== '-') {
      const takesNext = findAnySpec(token)?.value === true && splitFlag(token).inline === undefined;
      const next = takesNext ? argv[++i] : undefined;
      raw.push(next !== undefined ? { token, next } : { token });
      continue;
    }
    positionals.push(token);
  }

  const first = positionals[0];
  if (first === 'help') {
    const topic = positionals[1];
    if (topic !== undefined && !isCommand(topic)) throw new UsageError(`unknown command ${JSON.stringify(topic)}: choose one of ${COMMANDS.join(', ')}`);
    return { global: {}, command: topic ? { name: 'help', topic } : { name: 'help' } };
  }
  if (first !== undefined) {
    if (!isCommand(first)) throw new UsageError(`unknown command ${JSON.stringify(first)}: choose one of ${COMMANDS.join(', ')}`);
    command = first;
  }

  for (const r of raw) {
    const { name, inline } = splitFlag(r.token);
    const spec = findSpec(r.token, command);
    if (!spec) {
      const where = command ? ` for "${command}"` : '';
      throw new UsageError(`unknown flag ${name.length === 1 ? '-' : '--'}${name}${where}`, command);
    }
    if (spec.long === 'help') {
      help = true;
      continue;
    }
    if (spec.value) {
      const value = inline ?? r.next;
      if (value === undefined || (inline === undefined && value.startsWith('-') && value !== '-')) {
        throw new UsageError(`flag --${spec.long} needs a value`, command);
      }
      if (value === '') throw new UsageError(`flag --${spec.long} needs a non-empty value`, command);
      values.set(spec.long, value);
    } else {
      bools.set(spec.long, inline === undefined ? true : parseBool(spec.long, inline, command));
    }
  }

  if (help) return { global: {}, command: command ? { name: 'help', topic: command } : { name: 'help' } };
  if (!command) throw new UsageError('no command given: choose one of ' + COMMANDS.join(', '));

  const global: GlobalOptions = {};
  for (const key of ['kubeconfig', 'context', 'namespace'] as const) {
    const v = values.get(key);
    if (v !== undefined) global[key] = v;
  }
  if (global.namespace !== undefined && (global.namespace.length > 63 || !NAMESPACE_NAME.test(global.namespace))) {
    throw new UsageError(`invalid namespace ${JSON.stringify(global.namespace)}: use lowercase letters, digits and '-'`, command);
  }

  const args = positionals.slice(1);
  // A pool console names the pool instead of a desktop: which desktop is the claim's answer.
  const byPool = command === 'console' && values.has('pool');
  if (byPool && args.length > 0) throw new UsageError(`--pool claims a desktop of the pool and opens it: drop the desktop name ${JSON.stringify(args[0])}`, command);
  const pos = byPool ? undefined : POSITIONAL[command];
  if (!pos && args.length > 0) throw new UsageError(`"${command}" takes no arguments, got ${JSON.stringify(args[0])}`, command);
  if (pos && args.length === 0) throw new UsageError(`"${command}" needs ${pos.what}${command === 'console' ? ' (or --pool POOL)' : ''}`, command);
  if (pos && args.length > 1) throw new UsageError(`"${command}" takes one ${pos.what}, got ${args.length}: ${args.join(' ')}`, command);
  const target = pos ? checkName(args[0]!, pos.kind, command) : '';

  const timeout = (fallback: string): number => {
    const text = values.get('timeout') ?? fallback;
    const ms = parseDuration(text);
    if (ms === undefined) throw new UsageError(`invalid --timeout ${JSON.stringify(text)}: use a duration like 90s, 10m or 1h30m`, command);
    return ms;
  };
  const wait = bools.get('wait') ?? false;
  if (values.has('timeout') && !wait) throw new UsageError('--timeout only applies with --wait', command);

  switch (command) {
    case 'list': {
      const o = values.get('output');
      if (o !== undefined && !(OUTPUTS as readonly string[]).includes(o)) {
        throw new UsageError(`invalid --output ${JSON.stringify(o)}: choose one of ${OUTPUTS.join(', ')}`, command);
      }
      return { global, command: { name: 'list', allNamespaces: bools.get('all-namespaces') ?? false, output: (o as Output | undefined) ?? 'table' } };
    }
    case 'migrate': {
      const to = values.get('to');
      return { global, command: { name: 'migrate', desktop: target, ...(to !== undefined ? { to: checkName(to, 'host', command) } : {}), wait, timeoutMs: timeout(DEFAULT_MIGRATE_TIMEOUT) } };
    }
    case 'drain':
      return { global, command: { name: 'drain', host: target, wait, timeoutMs: timeout(DEFAULT_DRAIN_TIMEOUT) } };
    case 'undrain':
      return { global, command: { name: 'undrain', host: target } };
    case 'console': {
      const detach = bools.get('detach') ?? false;
      const save = values.get('save');
      if (save !== undefined && detach) throw new UsageError('--save writes the file and launches nothing: drop --detach', command);
      if (save !== undefined && values.has('viewer')) throw new UsageError('--save writes the file and launches nothing: drop --viewer', command);
      const pool = values.get('pool');
      const c: Command = { name: 'console', ...(pool !== undefined ? { pool: checkName(pool, 'pool', command) } : { desktop: target }), detach };
      for (const [flag, key] of [['viewer', 'viewer'], ['save', 'save'], ['api-url', 'apiUrl'], ['api-ca', 'apiCa'], ['token', 'token']] as const) {
        const v = values.get(flag);
        if (v !== undefined) c[key] = v;
      }
      return { global, command: c };
    }
  }
}

function splitFlag(token: string): { name: string; inline?: string } {
  if (token.startsWith('--')) {
    const eq = token.indexOf('=');
    return eq < 0 ? { name: token.slice(2) } : { name: token.slice(2, eq), inline: token.slice(eq + 1) };
  }
  // Short flags: -n foo, -n=foo, -nfoo (as kubectl accepts them).
  const name = token.slice(1, 2);
  const rest = token.slice(2);
  if (rest === '') return { name };
  return { name, inline: rest.startsWith('=') ? rest.slice(1) : rest };
}

function specsFor(command: CommandName | undefined): FlagSpec[] {
  return command ? [...GLOBAL_FLAGS, ...COMMAND_FLAGS[command]] : GLOBAL_FLAGS;
}

function findSpec(token: string, command: CommandName | undefined): FlagSpec | undefined {
  const { name } = splitFlag(token);
  const long = token.startsWith('--');
  return specsFor(command).find((s) => (long ? s.long === name : s.short === name));
}

/** Before the command is known: a flag of any command, to tell whether it eats the next token. */
function findAnySpec(token: string): FlagSpec | undefined {
  for (const c of COMMANDS) {
    const s = findSpec(token, c);
    if (s) return s;
  }
  return undefined;
}
