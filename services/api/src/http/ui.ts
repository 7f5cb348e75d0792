import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { ConfigError, PREFIX } from '../config';

/** Built files named by content hash: they never change under one name. */
const HASHED = /[/\\]assets[/\\][^/\\]+-[A-Za-z0-9_-]{8,}\.\w+$/;

/**
 * Serves the built web console (web-console/dist) at /ui/: its files, and index.html for
 * every other /ui/ path, so client-side routes survive a reload. `/` redirects to `/ui/`.
 * These are plain Fastify routes, outside the Nest guard: the page itself holds no data;
 * everything it shows comes from the API with the signed-in user's token.
 */
export async function serveUi(app: NestFastifyApplication, dir: string): Promise<void> {
  const root = resolve(dir);
  if (!existsSync(join(root, 'index.html'))) throw new ConfigError(`${PREFIX}UI_DIR`, `${root} has no index.html: build the web console (npm run build -w @deskplane/web-console)`);
  await app.register(async (scope: FastifyInstance) => {
    // Encapsulated, so its reply.sendFile does not clash with the one Swagger UI registers.
    await scope.register(fastifyStatic, {
      root,
      prefix: '/',
      wildcard: true,
      redirect: true,
      index: ['index.html'],
      cacheControl: false,
      setHeaders: (reply, path) => {
        reply.header('cache-control', HASHED.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
    scope.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0] ?? '';
      // A missing asset is a 404, not the page: a stale tab must not parse HTML as a script.
      if (request.method !== 'GET' || /\.\w+$/.test(path)) {
        return reply.code(404).type('text/plain').send('not found');
      }
      return reply.sendFile('index.html');
    });
  }, { prefix: '/ui' });
  await app.register((scope: FastifyInstance, _opts: unknown, done: (err?: Error) => void) => {
    scope.get('/', (_request, reply) => reply.redirect('/ui/'));
    done();
  });
}
