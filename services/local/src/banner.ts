import type { RunningLocal } from './local';

/**
 * What the local run prints once everything is up: where to go and how to log in. The
 * demo passwords are printed on every start on purpose: the local run is one person's
 * machine, and these users exist only there.
 */
export function banner(local: Pick<RunningLocal, 'gateway' | 'identity' | 'apiUrl'>, dataDir: string): string {
  const g = local.gateway;
  const width = Math.max(...local.identity.credentials.map((c) => c.username.length));
  return [
    'Deskplane is running. Ctrl-C stops it.',
    `  API        ${local.apiUrl ? `${local.apiUrl}  (OpenAPI ${local.apiUrl}/docs; log ${dataDir}/logs/api.log)` : '(off: DESKPLANE_LOCAL_API_LISTEN=off)'}`,
    `  gateway    spice://${g.host}:${g.port}${g.connectPort !== undefined ? `  (HTTP CONNECT proxy ${g.host}:${g.connectPort})` : ''}${g.websocketUrl !== undefined ? `  browser consoles ${g.websocketUrl}` : ''}  admin ${g.adminAddress}`,
    `  data       ${dataDir}  (gateway log: ${dataDir}/logs/gateway.log)`,
    '  demo users (tenant demo):',
    ...local.identity.credentials.map((c) => `    ${c.username.padEnd(width)}  password ${c.password}  (${c.roles.join(', ')})`),
    '',
  ].join('\n');
}
