/**
 * `kubectl desktop console NAME`: a `.vv` from the Deskplane API, opened in remote-viewer.
 * Order matters for what a failure costs: the viewer is found before a ticket is minted
 * (tickets are rate-limited), and nothing touches the disk before the API said yes.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from '../args';
import { fetchConsole, looksLikeVv, CONSOLE_TIMEOUT_MS, type ConsoleAnswer } from '../api-client';
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

  let answer: ConsoleAnswer;
  try {
    answer = await fetchConsole({ apiUrl: api.url, desktop: cmd.desktop, tenant, authorization: cred.authorization, ...(ca !== undefined ? { ca } : {}) });
  } catch (e) {
    if (e instanceof TransportError) throw new CliError(consoleTransportMessage(e, { apiUrl: api.url, urlSource: api.source }, CONSOLE_TIMEOUT_MS));
    throw e;
  }
  if (answer.status !== 200) {
    throw new CliError(
      consoleErrorMessage(answer, { desktop: cmd.desktop, tenant, apiUrl: api.url, urlSource: api.source, credentialSource: cred.source, now: io.now() }),
    );
  }
  if (!looksLikeVv(answer.body)) {
    throw new CliError(`${api.url} (from ${api.source}) answered 200 with something that is not a .vv file: check the API URL; ${API_URL_HINT}`);
  }

  if (cmd.save !== undefined) {
    try {
      await writeSecretFile(cmd.save, answer.body);
    } catch (e) {
      throw new CliError(`cannot write ${cmd.save}: ${oneLine((e as Error).message)}`);
    }
    io.out(`saved the console of desktop "${cmd.desktop}" to ${cmd.save} (mode 0600); its ticket is short-lived: open it soon with "remote-viewer ${cmd.save}"`);
    return 0;
  }

  const secret = await makeSecretFile(cmd.desktop, answer.body);
  const run = { argv: viewer!, secret, env: io.env as NodeJS.ProcessEnv, note: (line: string) => io.err(line) };
  return cmd.detach ? detachViewer(run) : runViewer(run);
}
