import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { UnauthenticatedError } from '../core/errors';
import type { AppDeps } from '../deps';
import { exportChats, writeJsonExport, writeMarkdownZip } from './chat-export';

const FORMATS = {
  json: { type: 'application/json; charset=utf-8', extension: 'json', write: writeJsonExport },
  markdown: { type: 'application/zip', extension: 'zip', write: writeMarkdownZip },
} as const;

const day = (d: Date) => d.toISOString().slice(0, 10).replace(/-/g, '');

/**
 * GET /v1/chats/export: every chat of the caller as a download, written while it is read from
 * the database (never built whole in memory). Not a route-table entry: it answers a file, not
 * the envelope (errors before the download starts are still enveloped). A failure after the
 * first byte can only cut the download short, which the client sees as a truncated file.
 */
export function registerChatExportRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Querystring: { format?: keyof typeof FORMATS } }>(
    '/v1/chats/export',
    {
      config: { rateLimited: true },
      schema: {
        summary: "Download all your chats: format=json (this server's export, which importChats / POST /v1/chats/import reads back) or format=markdown (a zip with one .md file per chat)",
        tags: ['v1'],
        security: [{ bearerAuth: [] }, { apiKey: [] }],
        querystring: { type: 'object', properties: { format: { type: 'string', enum: Object.keys(FORMATS), default: 'json' } } },
      },
    },
    async (req, reply) => {
      const viewer = req.identification?.viewer;
      if (!viewer) throw req.identification?.authError ?? new UnauthenticatedError();
      const format = FORMATS[req.query.format ?? 'json'];
      const now = new Date();
      const body = new PassThrough();
      format.write(exportChats(deps.orm.em.fork(), viewer), body).catch((err: unknown) => {
        if (!body.destroyed) req.log.error({ err, requestId: req.id }, 'chat export failed');
        body.destroy(err instanceof Error ? err : new Error(String(err)));
      });
      return reply
        .header('content-type', format.type)
        .header('content-disposition', `attachment; filename="chats-${day(now)}.${format.extension}"`)
        .header('cache-control', 'no-store')
        .send(body);
    },
  );
}
