/**
 * GET /events/desktops in-process on an EmbeddedStore: the stream's framing, what a refusal
 * looks like (a normal JSON error, not a broken stream), and the end of the stream when the
 * server closes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '@deskplane/resource-store';
import { addDesktop } from '../../domain/test-fixtures';
import { apiSchemas } from '../../domain/resources';
import { parseConfig } from '../../config';
import { buildApi, type BuiltApi } from '../../wiring';
import type { ApiApp } from '../app';
import { startTestApi } from '../testing';

const env = { DESKPLANE_API_GATEWAY_HOST: 'gw.example' };
let store: EmbeddedStore;
let built: BuiltApi;
let api: ApiApp;

beforeAll(async () => {
  store = new EmbeddedStore({ schemas: apiSchemas() });
  await addDesktop(store, 'team-a', 'one', 'alice', 'small');
  built = buildApi({ config: parseConfig({ ...env, DESKPLANE_API_USERS_FILE: '/nonexistent' }), store });
  api = await startTestApi(built.deps, { controllers: built.controllers, env });
});

afterAll(async () => {
  await api?.close();
  await built?.close();
});

/** Reads the stream until `until` matches the text so far, or it ends. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, text: { value: string }, until: (t: string) => boolean): Promise<boolean> {
  const decoder = new TextDecoder();
  while (!until(text.value)) {
    const chunk = await reader.read();
    if (chunk.done) return false;
    text.value += decoder.decode(chunk.value, { stream: true });
  }
  return true;
}

describe('GET /events/desktops', () => {
  it('refuses another tenant with a plain 404 JSON error before any event is sent', async () => {
    const token = await api.testToken({ user: 'alice', tenant: 'team-a' });
    const res = await fetch(`${api.url}/events/desktops?tenant=team-b`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NotFound');
  });

  it('frames events as `event:` + `data:` lines, then ends when the server closes', async () => {
    const token = await api.testToken({ user: 'alice', tenant: 'team-a' });
    const res = await fetch(`${api.url}/events/desktops`, { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'sse-test-1' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-request-id')).toBe('sse-test-1');
    const reader = res.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    const text = { value: '' };
    expect(await readUntil(reader, text, (t) => t.includes('event: synced'))).toBe(true);
    expect(text.value).toMatch(/^event: added\ndata: \{"name":"one","tenant":"team-a","owner":"alice",[^\n]*\}\n\nevent: synced\ndata: \{\}\n\n$/);

    await addDesktop(store, 'team-a', 'two', 'alice', 'small');
    await addDesktop(store, 'team-a', 'bobs', 'bob', 'small');
    expect(await readUntil(reader, text, (t) => t.includes('"name":"two"'))).toBe(true);

    const closing = api.close();
    expect(await readUntil(reader, text, () => false)).toBe(false); // the stream ended
    await closing;
    expect(text.value).not.toContain('"name":"bobs"');
  });
});
