import { describe, expect, it } from 'vitest';
import { consoleErrorMessage, consoleTransportMessage, parseApiError, retryAfterSeconds, type ConsoleCallContext } from './console-errors';
import { KubeHttpError, TransportError, kubeErrorMessage, kubeTransportMessage, oneLine, type KubeCallContext } from './errors';

const listCtx: KubeCallContext = { verb: 'list', resource: 'virtualdesktops', kind: 'VirtualDesktop', namespace: 'team-a' };
const getCtx: KubeCallContext = { verb: 'get', resource: 'virtualdesktops', kind: 'VirtualDesktop', name: 'alice-dev', namespace: 'team-a', listHint: '"kubectl desktop list"' };
const status = (code: number, reason: string, message: string, details?: object) => ({ kind: 'Status', status: 'Failure', code, reason, message, ...(details ? { details } : {}) });

describe('Kubernetes errors', () => {
  it('names RBAC for a forbidden answer and keeps the apiserver\'s words', () => {
    const msg = 'virtualdesktops.deskplane.io is forbidden: User "system:serviceaccount:t:sa" cannot list resource "virtualdesktops" in API group "deskplane.io" in the namespace "team-a"';
    const text = kubeErrorMessage(new KubeHttpError(403, status(403, 'Forbidden', msg), ''), listCtx);
    expect(text).toContain(msg);
    expect(text).toMatch(/^forbidden: .*ask your cluster admin for RBAC access .*"list" on virtualdesktops\.deskplane\.io\)$/);
  });

  it('tells a missing object from a missing CRD', () => {
    const missingObject = new KubeHttpError(404, status(404, 'NotFound', 'virtualdesktops.deskplane.io "alice-dev" not found', { name: 'alice-dev', kind: 'virtualdesktops' }), '');
    expect(kubeErrorMessage(missingObject, getCtx)).toBe('VirtualDesktop "alice-dev" not found in namespace "team-a": "kubectl desktop list" shows what there is');
    // The apiserver's answer for a resource it does not serve: plain text, no Status.
    const noCrd = new KubeHttpError(404, undefined, '404 page not found\n');
    expect(kubeErrorMessage(noCrd, listCtx)).toMatch(/^the Deskplane CRDs are not installed on this cluster \(it does not serve virtualdesktops\.deskplane\.io\/v1alpha1\): install Deskplane/);
    expect(kubeErrorMessage(noCrd, getCtx)).toMatch(/CRDs are not installed/);
    // A Status NotFound without a name (the group itself is unknown) is the CRD case too.
    expect(kubeErrorMessage(new KubeHttpError(404, status(404, 'NotFound', 'the server could not find the requested resource'), ''), getCtx)).toMatch(/CRDs are not installed/);
  });

  it('maps 401, 409, 422, 429 and 5xx to one line each', () => {
    const e = (code: number, m = 'boom') => kubeErrorMessage(new KubeHttpError(code, status(code, 'X', m), ''), getCtx);
    expect(e(401)).toMatch(/did not accept your credentials \(401 Unauthorized\): log in again/);
    expect(e(409)).toMatch(/^conflict on VirtualDesktop "alice-dev": boom; try again$/);
    expect(e(422, 'spec.targetHost: Invalid value')).toBe('the cluster refused the VirtualDesktop: spec.targetHost: Invalid value');
    expect(e(429)).toMatch(/throttling/);
    expect(e(503)).toMatch(/^the Kubernetes API failed \(HTTP 503\): boom; try again/);
  });

  it('says which server could not be reached and why', () => {
    expect(kubeTransportMessage(new TransportError('ECONNREFUSED', 'x'), 'https://127.0.0.1:6443', 30_000)).toBe(
      'cannot reach the Kubernetes API at https://127.0.0.1:6443 (connection refused): check your kubeconfig context (kubectl config current-context) and that the cluster is up',
    );
    expect(kubeTransportMessage(new TransportError('SELF_SIGNED_CERT_IN_CHAIN', 'x'), 'https://k', 30_000)).toMatch(/TLS certificate not trusted .*certificate-authority/);
    expect(kubeTransportMessage(new TransportError('TIMEOUT', 'x'), 'https://k', 30_000)).toMatch(/no answer within 30s/);
  });

  it('flattens server text to one short line', () => {
    expect(oneLine('a\nb\r\n\u001b[31mred\tc')).toBe('a b [31mred c');
    expect(oneLine('x'.repeat(500), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});

describe('console errors', () => {
  const ctx: ConsoleCallContext = {
    desktop: 'alice-dev',
    tenant: 'team-a',
    apiUrl: 'https://dp.example',
    urlSource: 'ConfigMap kube-public/deskplane-client',
    credentialSource: 'kubeconfig user "alice"',
    now: new Date('2026-03-01T12:00:00Z'),
  };
  const body = (code: string, message: string) => JSON.stringify({ error: { code, message, requestId: 'req-7' } });
  const msg = (status: number, b: string, retryAfter?: string) => consoleErrorMessage({ status, body: b, ...(retryAfter ? { retryAfter } : {}) }, ctx);

  it('reads the API error body and nothing else', () => {
    expect(parseApiError(body('Conflict', 'x'))).toEqual({ code: 'Conflict', message: 'x', requestId: 'req-7' });
    expect(parseApiError('<html>')).toBeUndefined();
    expect(parseApiError('{"message":"x"}')).toBeUndefined();
  });

  it('maps 401, 403, 404, 409, 429 and 503 to what to do', () => {
    expect(msg(401, body('Unauthorized', 'token expired'))).toBe(
      'the Deskplane API did not accept your credentials (from kubeconfig user "alice"): token expired; log in again to refresh them, or pass --token',
    );
    expect(msg(403, body('Forbidden', 'only the owner of desktop "alice-dev" may open its console'))).toBe(
      'not allowed to open the console of desktop "alice-dev": only the owner of desktop "alice-dev" may open its console; ask your tenant admin',
    );
    expect(msg(404, body('NotFound', 'desktop not found'))).toBe('desktop "alice-dev" not found in namespace "team-a" (or it is not yours): "kubectl desktop list" shows your desktops');
    expect(msg(409, body('Conflict', 'desktop "alice-dev" is Starting, not Running: try again once it runs'))).toMatch(
      /^desktop "alice-dev" has no console to open yet: desktop "alice-dev" is Starting, not Running; try again when it is Running$/,
    );
    expect(msg(409, body('Conflict', 'desktop "alice-dev" is Stopped, not Running: start it first'))).toBe(
      'desktop "alice-dev" has no console to open yet: desktop "alice-dev" is Stopped, not Running: start it first; try again when it is Running',
    );
    expect(msg(409, body('Conflict', 'the console of desktop "alice-dev" is not ready yet; try again in a moment'))).toBe(
      'desktop "alice-dev" has no console to open yet: the console of desktop "alice-dev" is not ready yet; try again when it is Running',
    );
    expect(msg(429, body('TooManyRequests', 'too many console requests'), '17')).toBe('too many console requests: try again in 17 s');
    expect(msg(503, body('Unavailable', 'not configured: GATEWAY_HOST'))).toMatch(/cannot open consoles right now \(not configured: GATEWAY_HOST\): try again later/);
    expect(msg(500, body('Internal', 'internal error'))).toBe('the Deskplane API failed with HTTP 500 (request id req-7): try again; report the request id if it persists');
  });

  it('recognizes an URL that is not the Deskplane API', () => {
    expect(msg(404, body('NotFound', 'no route GET /desktops/alice-dev/console'))).toMatch(/has no console route .*check the API URL/);
    expect(msg(404, '<html>nginx</html>')).toMatch(/^https:\/\/dp\.example \(from ConfigMap kube-public\/deskplane-client\) answered HTTP 404 without a Deskplane error/);
    // A proxy's own 503 or 429 still reads as the API being busy.
    expect(msg(503, 'upstream down')).toMatch(/cannot open consoles right now: try again later/);
  });

  it('reads Retry-After as seconds or as a date', () => {
    expect(retryAfterSeconds('30', ctx.now)).toBe(30);
    expect(retryAfterSeconds('Sun, 01 Mar 2026 12:00:42 GMT', ctx.now)).toBe(42);
    expect(retryAfterSeconds('soon', ctx.now)).toBeUndefined();
    expect(msg(429, body('TooManyRequests', 'x'))).toBe('too many console requests: try again in 60 s');
  });

  it('says connection refused, and points TLS trouble at --api-ca', () => {
    const refused = consoleTransportMessage(new TransportError('ECONNREFUSED', 'x'), ctx, 30_000);
    expect(refused).toMatch(/^cannot connect to the Deskplane API at https:\/\/dp\.example \(from ConfigMap kube-public\/deskplane-client\): connection refused; /);
    expect(consoleTransportMessage(new TransportError('DEPTH_ZERO_SELF_SIGNED_CERT', 'x'), ctx, 30_000)).toMatch(/TLS certificate not trusted .*--api-ca FILE$/);
    expect(consoleTransportMessage(new TransportError('ENOTFOUND', 'x'), ctx, 30_000)).toMatch(/host name not found/);
  });
});
