import { readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ruruHTML } from 'ruru/server';

const STATIC_PATH = '/graphiql-static/';

/**
 * The page's own scripts are inline and Monaco runs in blob workers; everything else comes
 * from this server, so the page works offline and loads nothing from another host.
 */
const GRAPHIQL_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
].join('; ');

const ASSET_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Self-hosted GraphiQL (ruru): the page HTML and its static assets. */
export function registerGraphiqlAssets(app: FastifyInstance): (reply: FastifyReply) => FastifyReply {
  const html = ruruHTML({
    staticPath: STATIC_PATH,
    endpoint: '/graphql',
    subscriptions: true,
    htmlParts: { titleTag: '<title>GraphiQL · Chat assistant API</title>' },
  });

  // ruru ships its built assets as plain files; serve them from disk (its own loader uses a
  // dynamic import that test runners cannot follow). Only bare file names are accepted.
  const assetDir = join(dirname(require.resolve('ruru')), '..', 'static');
  const cache = new Map<string, Buffer>();
  app.get<{ Params: { file: string } }>(`${STATIC_PATH}:file`, { schema: { hide: true } }, async (req, reply) => {
    const { file } = req.params;
    const type = ASSET_TYPES[extname(file)];
    if (!/^[\w.-]+$/.test(file) || file.startsWith('.') || !type) return reply.code(404).send({ status: 'not found' });
    let content = cache.get(file);
    if (!content) {
      content = await readFile(join(assetDir, file)).catch(() => undefined);
      if (!content) return reply.code(404).send({ status: 'not found' });
      cache.set(file, content);
    }
    return reply.type(type).header('cache-control', 'public, max-age=86400').send(content);
  });

  return (reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', GRAPHIQL_CSP).send(html);
}
