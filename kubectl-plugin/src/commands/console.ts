/**
 * `kubectl desktop console NAME` (or `--pool POOL`: claim a desktop of the pool first): a
 * `.vv` from the Deskplane API, opened in remote-viewer.
 * Order matters for what a failure costs: the viewer is found before a ticket is minted
 * (tickets are rate-limited), and nothing touches the disk before the API said yes.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from '../args';
import { fetchConsole, looksLikeVv, CONSOLE_TIMEOUT_MS, POOL_CONSOLE_TIMEOUT_MS, type ConsoleAnswer, type ConsoleTarget } from '../api-client';
import { consoleErrorMessage, consoleTransportMessage } from '../console-errors';
import { API_URL_HINT, findExecutable, mayCarryCredential, resolveApiUrl, resolveCredential, resolveViewer, type ConfigMapReader } from '../discovery';
import { CliError, KubeHttpError, TransportError, oneLine } from '../errors';
import type { Io } from '../io';
import { paths, type KubeClient } from '../kube';
import { VIEWER_INSTALL_HINT, detachViewer, isExecutableFile, makeSecretFile, runViewer, writeSecretFile } from '../viewer';

function configMapReader(kube: KubeClient): ConfigMapReader {
  return async (namespace, name) => {
    try {
      const cm = (await kube.raw('GET', paths.configMap(namespace, name))) as { data?: Record<string, string> };
      return cm.data ?? {};
    } catch (e) {
      if (e instanceof KubeHttpError && e.code === 404) return undefined;
      if (e instanceof KubeHttpError && e.code === 403) throw new CliError(`you may not read ConfigMap ${namespace}/${name} to find the Deskplane API: ${API_URL_HINT}`);
      throw kube.explain(e, { verb: 'get', resource: 'configmaps', kind: 'ConfigMap', name, namespace });
    }
  };
}

export async function openConsole(kube: KubeClient, cmd: Extract<Command, { name: 'console' }>, io: Io): Promise<number> {
  const tenant = kube.namespace;
  let viewer: string[] | undefined;
  if (cmd.save === undefined) {
    const v = resolveViewer(cmd.viewer, io.env);
    const path = findExecutable(v.argv[0]!, io.env.PATH, isExecutableFile);
    if (!path) throw new CliError(`${v.argv[0]} not found${v.source === 'default' ? '' : ` (from ${v.source})`}: ${VIEWER_INSTALL_HINT}`);
    viewer = [path, ...v.argv.slice(1)];
  }

  const api = await resolveApiUrl(cmd.apiUrl, io.env, configMapReader(kube));
  if (!mayCarryCredential(api.url)) {
    throw new CliError(`refusing to send your credentials in clear text to ${api.url} (from ${api.source}): use an https:// URL`);
  }
  const cred = await resolveCredential(cmd.token, io.env, () => kube.authorizationHeader());
  let ca: string | undefined;
  if (cmd.apiCa !== undefined) {
    try {
      ca = await readFile(cmd.apiCa, 'utf8');
    } catch (e) {
      throw new CliError(`cannot read --api-ca ${cmd.apiCa}: ${oneLine((e as Error).message)}`);
    }
  }

  const target: ConsoleTarget = cmd.pool !== undefined ? { pool: cmd.pool } : { desktop: cmd.desktop! };
  // A cold pool desktop can take a minute or two to start; say why nothing happens meanwhile.
  if (cmd.pool !== undefined) io.err(`claiming a desktop of pool "${cmd.pool}"; if none is running yet, this waits while it starts`);
  let answer: ConsoleAnswer;
  try {
    answer = await fetchConsole({ apiUrl: api.url, target, tenant, authorization: cred.authorization, ...(ca !== undefined ? { ca } : {}) });
  } catch (e) {
    if (e instanceof TransportError) throw new CliError(consoleTransportMessage(e, { apiUrl: api.url, urlSource: api.source }, 'pool' in target ? POOL_CONSOLE_TIMEOUT_MS : CONSOLE_TIMEOUT_MS));
    throw e;
  }
  if (answer.status !== 200) {
    throw new CliError(consoleErrorMessage(answer, { ...target, tenant, apiUrl: api.url, urlSource: api.source, credentialSource: cred.source, now: io.now() }));
  }
  if (!looksLikeVv(answer.body)) {
    throw new CliError(`${api.url} (from ${api.source}) answered 200 with something that is not a .vv file: check the API URL; ${API_URL_HINT}`);
  }
  const desktop = cmd.desktop ?? answer.desktop;
  if (desktop === undefined) throw new CliError(`${api.url} (from ${api.source}) did not say which desktop of pool "${cmd.pool}" it gave you: is it the Deskplane API?`);
  if (cmd.pool !== undefined) io.err(`desktop "${desktop}" of pool "${cmd.pool}" (${answer.claim === 'reclaimed' ? 'already yours' : 'now yours'})`);

  if (cmd.save !== undefined) {
    try {
      await writeSecretFile(cmd.save, answer.body);
    } catch (e) {
      throw new CliError(`cannot write ${cmd.save}: ${oneLine((e as Error).message)}`);
    }
    io.out(`saved the console of desktop "${desktop}" to ${cmd.save} (mode 0600); its ticket is short-lived: open it soon with "remote-viewer ${cmd.save}"`);
    return 0;
  }

  const secret = await makeSecretFile(desktop, answer.body);
  const run = { argv: viewer!, secret, env: io.env as NodeJS.ProcessEnv, note: (line: string) => io.err(line) };
  return cmd.detach ? detachViewer(run) : runViewer(run);
}
