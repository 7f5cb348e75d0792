/**
 * A small reader for the Dockerfile subset this repository writes (no heredocs, default
 * escape character), shared by the lint and the stage rehearsal. dockerfile-utils reports
 * syntax problems; this only has to give instructions, flags, stages and comments.
 */

export interface Instruction {
  /** Upper-cased keyword: FROM, RUN, COPY, ... */
  keyword: string;
  /** Everything after the keyword, continuation lines joined with a space. */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
}

export interface Stage {
  /** Index among the FROM instructions. */
  index: number;
  /** Image reference or earlier stage name as written after FROM. */
  base: string;
  /** The `AS name`, lower-cased, when given. */
  name?: string;
  from: Instruction;
  instructions: Instruction[];
  /** Comment lines (without '#') from this FROM up to the next one. */
  comments: string[];
}

export interface Dockerfile {
  /** ARG instructions before the first FROM (they may be used in FROM lines). */
  globalArgs: Map<string, string | undefined>;
  stages: Stage[];
}

/** Splits a Dockerfile into instructions, joining `\`-continued lines; comments are returned apart. */
export function readInstructions(text: string): { instructions: Instruction[]; comments: { line: number; text: string }[] } {
  const lines = text.split(/\r?\n/);
  const instructions: Instruction[] = [];
  const comments: { line: number; text: string }[] = [];
  let pending: { keyword: string; parts: string[]; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const trimmed = raw.trim();
    if (trimmed.startsWith('#')) {
      // Comment lines inside a continued instruction are dropped by the builder too.
      comments.push({ line: i + 1, text: trimmed.slice(1).trim() });
      continue;
    }
    if (trimmed === '' && !pending) continue;
    const continued = /\\\s*$/.test(raw);
    const body = continued ? raw.replace(/\\\s*$/, '') : raw;
    if (!pending) {
      const m = /^\s*(\S+)\s*(.*)$/.exec(body);
      if (!m) continue;
      pending = { keyword: (m[1] ?? '').toUpperCase(), parts: [m[2] ?? ''], line: i + 1 };
    } else if (trimmed !== '') {
      pending.parts.push(body.trim());
    }
    if (!continued) {
      instructions.push({ keyword: pending.keyword, args: pending.parts.map((p) => p.trim()).filter(Boolean).join(' '), line: pending.line });
      pending = undefined;
    }
  }
  if (pending) instructions.push({ keyword: pending.keyword, args: pending.parts.map((p) => p.trim()).filter(Boolean).join(' '), line: pending.line });
  return { instructions, comments };
}

export function parseDockerfile(text: string): Dockerfile {
  const { instructions, comments } = readInstructions(text);
  const globalArgs = new Map<string, string | undefined>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const { positional } = splitFlags(ins.args);
      const [base = '', as, name] = positional;
      stages.push({ index: stages.length, base, ...(as?.toUpperCase() === 'AS' && name && { name: name.toLowerCase() }), from: ins, instructions: [], comments: [] });
    } else if (stages.length === 0) {
      if (ins.keyword === 'ARG') {
        const [k = '', ...v] = ins.args.split('=');
        globalArgs.set(k.trim(), v.length > 0 ? unquote(v.join('=').trim()) : undefined);
      }
    } else {
      stages[stages.length - 1]?.instructions.push(ins);
    }
  }
  for (const c of comments) {
    const stage = [...stages].reverse().find((s) => s.from.line < c.line);
    stage?.comments.push(c.text);
  }
  return { globalArgs, stages };
}

/** Leading `--flag=value` / `--flag` tokens, then the remaining whitespace-separated words. */
export function splitFlags(args: string): { flags: Map<string, string>; positional: string[] } {
  const words = args.split(/\s+/).filter(Boolean);
  const flags = new Map<string, string>();
  let i = 0;
  for (; i < words.length && (words[i] ?? '').startsWith('--'); i++) {
    const [k = '', ...v] = (words[i] ?? '').slice(2).split('=');
    flags.set(k, v.join('='));
  }
  return { flags, positional: words.slice(i) };
}

/** The JSON array of an exec-form CMD / ENTRYPOINT / RUN, or undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trim().startsWith('[')) return undefined;
  try {
    const v = JSON.parse(args) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

export interface CopyInstruction {
  line: number;
  /** `--from` value (a stage name or index, or an image) when copying from elsewhere than the context. */
  from?: string;
  sources: string[];
  dest: string;
}

/** COPY and ADD of a stage, sources and destination separated (both shell and JSON form). */
export function copies(stage: Stage): CopyInstruction[] {
  const out: CopyInstruction[] = [];
  for (const ins of stage.instructions) {
    if (ins.keyword !== 'COPY' && ins.keyword !== 'ADD') continue;
    const { flags, positional } = splitFlags(ins.args);
    const json = execForm(positional.join(' '));
    const words = json ?? positional;
    if (words.length < 2) continue;
    const from = flags.get('from');
    out.push({ line: ins.line, ...(from !== undefined && { from }), sources: words.slice(0, -1), dest: words[words.length - 1] ?? '' });
  }
  return out;
}

export function unquote(s: string): string {
  return /^(["']).*\1$/.test(s) ? s.slice(1, -1) : s;
}

/** `${NAME}` / `$NAME` replaced from vars; undefined when one is unknown. */
export function expandArgs(s: string, vars: Map<string, string | undefined>): string | undefined {
  let unknown = false;
  const out = s.replace(/\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)/g, (_m, braced: string | undefined, dflt: string | undefined, bare: string | undefined) => {
    const v = vars.get((braced ?? bare) as string) ?? dflt;
    if (v === undefined) unknown = true;
    return v ?? '';
  });
  return unknown ? undefined : out;
}

/** .dockerignore rules in order; a later `!pattern` re-includes what an earlier one excluded. */
export interface IgnoreRule {
  negate: boolean;
  re: RegExp;
  pattern: string;
}

export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let p = raw.trim();
    if (p === '' || p.startsWith('#')) continue;
    const negate = p.startsWith('!');
    if (negate) p = p.slice(1).trim();
    p = p.replace(/^\/+/, '').replace(/\/+$/, '').replace(/^\.\//, '');
    if (p === '') continue;
    rules.push({ negate, re: globToRegExp(p), pattern: p });
  }
  return rules;
}

/** Docker's matching: `**` spans directories, `*` and `?` stay within one path element. */
function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else {
        re += '.*';
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      if (end < 0) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Whether a context path (relative, '/'-separated) is left out of the build context. As in
 * Docker, a rule applies when it matches the path or one of its parent directories, and
 * the last rule that applies decides.
 */
export function isIgnored(path: string, rules: IgnoreRule[]): boolean {
  const parts = path.replace(/^\.\//, '').replace(/\/+$/, '').split('/');
  const prefixes = parts.map((_, n) => parts.slice(0, n + 1).join('/'));
  let ignored = false;
  for (const r of rules) if (prefixes.some((p) => r.re.test(p))) ignored = !r.negate;
  return ignored;
}
