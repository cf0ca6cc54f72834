import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { GRAPHIQL_SETUP_JS } from './graphiql-setup';

const STATIC_PATH = '/graphiql-static/';

/** Everything comes from this server, so the page works offline and loads nothing from another host. */
const GRAPHIQL_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // React and CodeMirror set style attributes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "frame-ancestors 'none'",
].join('; ');

const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

/**
 * The page's files, by the name the page asks for: GraphiQL's browser bundle and the React,
 * ReactDOM and graphql-ws builds it runs on (plus the page's own `setup.js`). Nothing else is served.
 */
const ASSETS: Record<string, { path: () => string; type: string }> = {
  'graphiql.min.css': { path: () => join(packageDir('graphiql'), 'graphiql.min.css'), type: 'text/css; charset=utf-8' },
  'graphiql.min.js': { path: () => join(packageDir('graphiql'), 'graphiql.min.js'), type: 'text/javascript; charset=utf-8' },
  'react.min.js': { path: () => join(packageDir('react'), 'umd', 'react.production.min.js'), type: 'text/javascript; charset=utf-8' },
  'react-dom.min.js': { path: () => join(packageDir('react-dom'), 'umd', 'react-dom.production.min.js'), type: 'text/javascript; charset=utf-8' },
  'graphql-ws.min.js': { path: () => join(packageDir('graphql-ws'), 'umd', 'graphql-ws.min.js'), type: 'text/javascript; charset=utf-8' },
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphiQL · Chat assistant API</title>
<link rel="stylesheet" href="${STATIC_PATH}graphiql.min.css">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="${STATIC_PATH}react.min.js"></script>
<script src="${STATIC_PATH}react-dom.min.js"></script>
<script src="${STATIC_PATH}graphql-ws.min.js"></script>
<script src="${STATIC_PATH}graphiql.min.js"></script>
<script src="${STATIC_PATH}setup.js"></script>
</body>
</html>
`;

/** Self-hosted GraphiQL: the page and its files. Returns the page handler. */
export function registerGraphiqlAssets(app: FastifyInstance): (reply: FastifyReply) => FastifyReply {
  const cache = new Map<string, Buffer>();
  app.get<{ Params: { file: string } }>(`${STATIC_PATH}:file`, { schema: { hide: true } }, async (req, reply) => {
    const asset = Object.hasOwn(ASSETS, req.params.file) ? ASSETS[req.params.file] : undefined;
    if (req.params.file === 'setup.js') return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(GRAPHIQL_SETUP_JS);
    if (!asset) return reply.code(404).send({ status: 'not found' });
    let content = cache.get(req.params.file);
    if (!content) {
      content = await readFile(asset.path());
      cache.set(req.params.file, content);
    }
    return reply.type(asset.type).header('cache-control', 'public, max-age=86400').send(content);
  });

  return (reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', GRAPHIQL_CSP).send(PAGE);
}
