// @vitest-environment happy-dom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { errorFrom, type Api } from '../api/client';
import type { Desktop } from '../api/types';
import { CreateDesktopForm } from './CreateDesktopForm';

afterEach(cleanup);

const TEMPLATES = { items: [{ name: 'ubuntu-small', source: 'shared', image: 'u', vcpus: 2, memory: '2Gi' }, { name: 'big', source: 'tenant', image: 'b', vcpus: 8, memory: '16Gi' }] };

/** Stands in for the API: POST answers with `status` and `body` turned into an ApiError the way the real client does. */
function standIn(status: number, body: unknown) {
  const posts: unknown[] = [];
  const api: Pick<Api, 'get' | 'post'> = {
    get: <T,>() => Promise.resolve(TEMPLATES as T),
    post: async <T,>(_path: string, b?: unknown) => {
      posts.push(b);
      if (status >= 400) throw await errorFrom(new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }));
      return body as T;
    },
  };
  return { api, posts };
}

function renderForm(api: Pick<Api, 'get' | 'post'>, created: Desktop[] = []) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <CreateDesktopForm api={api} onCreated={(d) => created.push(d)} />
    </QueryClientProvider>,
  );
}

async function fillAndSubmit(name: string) {
  await waitFor(() => expect(screen.getByRole('option', { name: /ubuntu-small/ })).toBeTruthy());
  fireEvent.change(screen.getByLabelText('Name'), { target: { value: name } });
  fireEvent.change(screen.getByLabelText('Template'), { target: { value: 'ubuntu-small' } });
  await act(async () => {
    fireEvent.click(screen.getByRole('button', { name: 'Create desktop' }));
    await new Promise((r) => setTimeout(r, 0));
  });
}

describe('CreateDesktopForm', () => {
  it('catches a bad name before sending', async () => {
    const { api, posts } = standIn(201, {});
    renderForm(api);
    await fillAndSubmit('My_Desktop');
    expect(posts).toHaveLength(0);
    const name = screen.getByLabelText('Name');
    expect(name.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText(/lower-case letters, digits and "-", starting/i)).toBeTruthy();
  });

  it('puts a 400 body’s message beside its field', async () => {
    const { api, posts } = standIn(400, { error: { code: 'BadRequest', message: 'template: template "ubuntu-small" is not offered to this tenant', field: 'template', requestId: 'r1' } });
    renderForm(api);
    await fillAndSubmit('dev-1');
    expect(posts).toEqual([{ name: 'dev-1', template: 'ubuntu-small', runStrategy: 'Always', persistent: true }]);
    const template = screen.getByLabelText('Template');
    expect(template.getAttribute('aria-invalid')).toBe('true');
    const describedBy = template.getAttribute('aria-describedby') ?? '';
    expect(document.getElementById(describedBy.split(' ')[0]!)?.textContent).toBe('Template "ubuntu-small" is not offered to this tenant.');
    expect(screen.getByLabelText('Name').getAttribute('aria-invalid')).toBe('false');
  });

  it('says plainly when the quota is used up, and creates nothing', async () => {
    const created: Desktop[] = [];
    const { api } = standIn(409, { error: { code: 'Conflict', message: 'the tenant may have 2 desktops and has 2', quota: 'desktops', requestId: 'r2' } });
    renderForm(api, created);
    await fillAndSubmit('dev-2');
    expect(screen.getByRole('alert').textContent).toBe(
      "Not created: your team's quota for number of desktops is used up. The tenant may have 2 desktops and has 2. Delete a desktop you no longer need, or ask your administrator for a larger quota.",
    );
    expect(created).toHaveLength(0);
  });

  it('shows an existing name as a name problem', async () => {
    const { api } = standIn(409, { error: { code: 'Conflict', message: 'desktop "dev-3" already exists', requestId: 'r3' } });
    renderForm(api);
    await fillAndSubmit('dev-3');
    expect(screen.getByText('Desktop "dev-3" already exists.')).toBeTruthy();
  });

  it('hands the created desktop over and clears the name', async () => {
    const created: Desktop[] = [];
    const { api } = standIn(201, { name: 'dev-4', tenant: 't', template: 'ubuntu-small', runStrategy: 'Always', persistent: true, phase: 'Pending', ready: false, consoleReady: false, deleting: false });
    renderForm(api, created);
    await fillAndSubmit('dev-4');
    expect(created.map((d) => d.name)).toEqual(['dev-4']);
    expect(screen.getByLabelText<HTMLInputElement>('Name').value).toBe('');
  });
});
