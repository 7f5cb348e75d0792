import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError, type Invocation } from './args';

const usage = (argv: string[]): UsageError => {
  try {
    parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error(`parsed: ${argv.join(' ')}`);
};

describe('parseArgs', () => {
  it('parses list with its defaults and every output', () => {
    expect(parseArgs(['list'])).toEqual<Invocation>({ global: {}, command: { name: 'list', allNamespaces: false, output: 'table' } });
    expect(parseArgs(['list', '-A', '-o', 'wide']).command).toEqual({ name: 'list', allNamespaces: true, output: 'wide' });
    expect(parseArgs(['list', '--all-namespaces', '--output=json']).command).toEqual({ name: 'list', allNamespaces: true, output: 'json' });
    expect(parseArgs(['list', '-oname']).command).toEqual({ name: 'list', allNamespaces: false, output: 'name' });
  });

  it('takes the global flags anywhere, in every spelling kubectl accepts', () => {
    const g = { kubeconfig: '/tmp/kc', context: 'prod', namespace: 'team-a' };
    expect(parseArgs(['--kubeconfig', '/tmp/kc', '--context=prod', '-n', 'team-a', 'list']).global).toEqual(g);
    expect(parseArgs(['list', '-nteam-a', '--context', 'prod', '--kubeconfig=/tmp/kc']).global).toEqual(g);
    expect(parseArgs(['list', '-n=team-a', '--namespace', 'team-a', '--context', 'prod', '--kubeconfig', '/tmp/kc']).global).toEqual(g);
  });

  it('parses migrate with --to, --wait and a timeout', () => {
    expect(parseArgs(['migrate', 'alice-dev']).command).toEqual({ name: 'migrate', desktop: 'alice-dev', wait: false, timeoutMs: 600_000 });
    expect(parseArgs(['migrate', 'alice-dev', '--to', 'kvm-host-2', '--wait', '--timeout', '90s']).command).toEqual({
      name: 'migrate',
      desktop: 'alice-dev',
      to: 'kvm-host-2',
      wait: true,
      timeoutMs: 90_000,
    });
    expect(parseArgs(['migrate', '--wait=true', '--timeout=1h30m', 'x']).command).toMatchObject({ desktop: 'x', wait: true, timeoutMs: 5_400_000 });
  });

  it('parses drain (default timeout 30m) and undrain', () => {
    expect(parseArgs(['drain', 'kvm-host-1', '--wait']).command).toEqual({ name: 'drain', host: 'kvm-host-1', wait: true, timeoutMs: 1_800_000 });
    expect(parseArgs(['drain', 'kvm-host-1']).command).toMatchObject({ wait: false });
    expect(parseArgs(['undrain', 'kvm-host-1']).command).toEqual({ name: 'undrain', host: 'kvm-host-1' });
  });

  it('parses console and its flags', () => {
    expect(parseArgs(['console', 'alice-dev']).command).toEqual({ name: 'console', desktop: 'alice-dev', detach: false });
    expect(
      parseArgs(['console', 'alice-dev', '--detach', '--viewer', 'remote-viewer --full-screen', '--api-url', 'https://dp.example', '--api-ca', 'ca.pem', '--token', 't0k']).command,
    ).toEqual({ name: 'console', desktop: 'alice-dev', detach: true, viewer: 'remote-viewer --full-screen', apiUrl: 'https://dp.example', apiCa: 'ca.pem', token: 't0k' });
    expect(parseArgs(['console', 'alice-dev', '--save', 'a.vv']).command).toEqual({ name: 'console', desktop: 'alice-dev', detach: false, save: 'a.vv' });
  });

  it('parses console --pool: the pool instead of a desktop name, before or after the command', () => {
    expect(parseArgs(['console', '--pool', 'office']).command).toEqual({ name: 'console', pool: 'office', detach: false });
    expect(parseArgs(['--pool=office', 'console', '-n', 'team-a', '--detach'])).toEqual({ global: { namespace: 'team-a' }, command: { name: 'console', pool: 'office', detach: true } });
    expect(parseArgs(['console', '--pool', 'office', '--save', 'o.vv']).command).toEqual({ name: 'console', pool: 'office', detach: false, save: 'o.vv' });
  });

  it('answers -h, --help and "help" with the help of the command they go with', () => {
    expect(parseArgs(['--help']).command).toEqual({ name: 'help' });
    expect(parseArgs([]).command).toEqual({ name: 'help' });
    expect(parseArgs(['-h', 'migrate']).command).toEqual({ name: 'help', topic: 'migrate' });
    expect(parseArgs(['console', '--help']).command).toEqual({ name: 'help', topic: 'console' });
    // Help wins over what else is wrong on the line, as in kubectl.
    expect(parseArgs(['drain', '-h']).command).toEqual({ name: 'help', topic: 'drain' });
    expect(parseArgs(['help', 'list']).command).toEqual({ name: 'help', topic: 'list' });
  });

  it.each([
    [['bogus'], /unknown command "bogus"/, undefined],
    [['help', 'bogus'], /unknown command "bogus"/, undefined],
    [['list', '--wide'], /unknown flag --wide for "list"/, 'list'],
    [['list', '-x'], /unknown flag -x for "list"/, 'list'],
    [['list', '-o', 'yaml'], /invalid --output "yaml": choose one of wide, json, name/, 'list'],
    [['list', 'extra'], /"list" takes no arguments/, 'list'],
    [['list', '-n', 'Team_A'], /invalid namespace "Team_A"/, 'list'],
    [['list', '-n'], /flag --namespace needs a value/, 'list'],
    [['migrate'], /"migrate" needs NAME/, 'migrate'],
    [['migrate', 'a', 'b'], /takes one NAME, got 2/, 'migrate'],
    [['migrate', 'Alice_Dev'], /invalid desktop name "Alice_Dev"/, 'migrate'],
    [['migrate', 'a', '--to'], /flag --to needs a value/, 'migrate'],
    [['migrate', 'a', '--to', '--wait'], /flag --to needs a value/, 'migrate'],
    [['migrate', 'a', '--to', 'Bad Host'], /invalid host name "Bad Host"/, 'migrate'],
    [['migrate', 'a', '--wait', '--timeout', 'soon'], /invalid --timeout "soon"/, 'migrate'],
    [['migrate', 'a', '--timeout', '5m'], /--timeout only applies with --wait/, 'migrate'],
    [['migrate', 'a', '--wait=maybe'], /--wait takes true or false/, 'migrate'],
    [['migrate', 'a', '--detach'], /unknown flag --detach for "migrate"/, 'migrate'],
    [['drain'], /"drain" needs HOST/, 'drain'],
    [['drain', 'h', '--to', 'x'], /unknown flag --to for "drain"/, 'drain'],
    [['undrain', 'h', '--wait'], /unknown flag --wait for "undrain"/, 'undrain'],
    [['console'], /"console" needs NAME \(or --pool POOL\)/, 'console'],
    [['console', 'alice-dev', '--pool', 'office'], /--pool claims a desktop of the pool .*: drop the desktop name "alice-dev"/, 'console'],
    [['console', '--pool'], /flag --pool needs a value/, 'console'],
    [['console', '--pool', 'Office_1'], /invalid pool name "Office_1"/, 'console'],
    [['list', '--pool', 'office'], /unknown flag --pool for "list"/, 'list'],
    [['console', 'a', '--save', 'f.vv', '--detach'], /--save .* drop --detach/, 'console'],
    [['console', 'a', '--save', 'f.vv', '--viewer', 'x'], /--save .* drop --viewer/, 'console'],
    [['console', 'a', '--api-url='], /--api-url needs a non-empty value/, 'console'],
    [['--context', 'x'], /no command given/, undefined],
  ])('refuses %j', (argv, message, topic) => {
    const e = usage(argv);
    expect(e.message).toMatch(message);
    expect(e.topic).toBe(topic);
  });

  it('keeps "--" for names that look like flags to nobody else', () => {
    expect(parseArgs(['migrate', '--', 'a']).command).toMatchObject({ desktop: 'a' });
    expect(usage(['migrate', '--', '-a']).message).toMatch(/invalid desktop name "-a"/);
  });
});
