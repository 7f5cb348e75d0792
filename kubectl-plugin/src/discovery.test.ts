import { describe, expect, it } from 'vitest';
import { findExecutable, mayCarryCredential, normalizeApiUrl, resolveApiUrl, resolveCredential, resolveViewer, type ConfigMapReader } from './discovery';
import { CliError } from './errors';

const published: ConfigMapReader = (ns, name) => Promise.resolve(ns === 'kube-public' && name === 'deskplane-client' ? { apiURL: 'https://cm.example/' } : undefined);
const noConfigMap: ConfigMapReader = () => Promise.resolve(undefined);
const unused: ConfigMapReader = () => Promise.reject(new Error('the ConfigMap must not be read'));

describe('API URL discovery', () => {
  it('takes --api-url first, then $DESKPLANE_API_URL, then the published ConfigMap', async () => {
    const env = { DESKPLANE_API_URL: 'https://env.example' };
    expect(await resolveApiUrl('https://flag.example/', env, unused)).toEqual({ url: 'https://flag.example', source: '--api-url' });
    expect(await resolveApiUrl(undefined, env, unused)).toEqual({ url: 'https://env.example', source: '$DESKPLANE_API_URL' });
    expect(await resolveApiUrl(undefined, { DESKPLANE_API_URL: ' ' }, published)).toEqual({ url: 'https://cm.example', source: 'ConfigMap kube-public/deskplane-client' });
    expect(await resolveApiUrl(undefined, {}, published)).toMatchObject({ url: 'https://cm.example' });
  });

  it('says what to do when nothing says where the API is', async () => {
    await expect(resolveApiUrl(undefined, {}, noConfigMap)).rejects.toThrow(/^no Deskplane API URL: ConfigMap kube-public\/deskplane-client does not exist; pass --api-url, set DESKPLANE_API_URL/);
    await expect(resolveApiUrl(undefined, {}, () => Promise.resolve({ other: 'x' }))).rejects.toThrow(/has no apiURL key/);
  });

  it('checks the URL and keeps a path prefix', () => {
    expect(normalizeApiUrl('https://dp.example/api/?x=1#f', 'x')).toBe('https://dp.example/api');
    expect(() => normalizeApiUrl('dp.example', '--api-url')).toThrow(/from --api-url is not a URL/);
    expect(() => normalizeApiUrl('ftp://dp.example', '$DESKPLANE_API_URL')).toThrow(/must start with https:\/\//);
    expect(() => normalizeApiUrl('https://u:p@dp.example', 'x')).toThrow(/must not carry a user or password/);
  });

  it('sends a credential in clear text only to this machine', () => {
    expect(['https://dp.example', 'http://127.0.0.1:8080', 'http://localhost:1', 'http://[::1]:8080'].map(mayCarryCredential)).toEqual([true, true, true, true]);
    expect(['http://dp.example', 'http://10.0.0.1:8080'].map(mayCarryCredential)).toEqual([false, false]);
  });
});

describe('credential discovery', () => {
  const kube = (header?: string) => () => Promise.resolve({ ...(header ? { header } : {}), user: 'alice' });
  const noKube = () => Promise.reject(new Error('the kubeconfig must not be asked'));

  it('takes --token first, then $DESKPLANE_TOKEN, then the kubeconfig user\'s bearer token', async () => {
    expect(await resolveCredential('flag-token', { DESKPLANE_TOKEN: 'env-token' }, noKube)).toEqual({ authorization: 'Bearer flag-token', source: '--token' });
    expect(await resolveCredential(undefined, { DESKPLANE_TOKEN: 'env-token\n' }, noKube)).toEqual({ authorization: 'Bearer env-token', source: '$DESKPLANE_TOKEN' });
    expect(await resolveCredential(undefined, {}, kube('Bearer k8s-token'))).toEqual({ authorization: 'Bearer k8s-token', source: 'kubeconfig user "alice"' });
  });

  it('refuses a kubeconfig user without a bearer token, naming --token', async () => {
    await expect(resolveCredential(undefined, {}, kube())).rejects.toThrow(CliError);
    await expect(resolveCredential(undefined, {}, kube())).rejects.toThrow(/kubeconfig user "alice" has no bearer token .*pass --token or set DESKPLANE_TOKEN/);
    await expect(resolveCredential(undefined, {}, kube('Basic dTpw'))).rejects.toThrow(/no bearer token/);
  });
});

describe('viewer discovery', () => {
  it('takes --viewer, then $DESKPLANE_VIEWER, then remote-viewer, split on blanks', () => {
    expect(resolveViewer('/opt/rv --full-screen', { DESKPLANE_VIEWER: 'x' })).toEqual({ argv: ['/opt/rv', '--full-screen'], source: '--viewer' });
    expect(resolveViewer(undefined, { DESKPLANE_VIEWER: 'my-viewer -v' })).toEqual({ argv: ['my-viewer', '-v'], source: '$DESKPLANE_VIEWER' });
    expect(resolveViewer(undefined, {})).toEqual({ argv: ['remote-viewer'], source: 'default' });
    expect(() => resolveViewer(' ', {})).toThrow(/is empty/);
  });

  it('finds a command on PATH in order, and a path as is', () => {
    const present = new Set(['/usr/local/bin/remote-viewer', '/usr/bin/remote-viewer', '/opt/rv']);
    const isExec = (f: string) => present.has(f);
    expect(findExecutable('remote-viewer', '/nope:/usr/local/bin/:/usr/bin', isExec)).toBe('/usr/local/bin/remote-viewer');
    expect(findExecutable('/opt/rv', '', isExec)).toBe('/opt/rv');
    expect(findExecutable('remote-viewer', '/nope::/sbin', isExec)).toBeUndefined();
    expect(findExecutable('./rv', '/usr/bin', isExec)).toBeUndefined();
  });
});
