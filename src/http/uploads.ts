import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import processRequest from 'graphql-upload/processRequest.mjs';
import Upload from 'graphql-upload/Upload.mjs';
import { stopReading } from '../rest/multipart';
import { removeLeftoverTempFiles } from '../speech/speech.service';

const isMultipart = (req: FastifyRequest) => (req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/form-data');
const hasPreflightHeader = (req: FastifyRequest) => Boolean(req.headers['apollo-require-preflight'] || req.headers['x-apollo-operation-name']);

/**
 * GraphQL multipart uploads (graphql-upload), read before Apollo sees the request. Only with
 * a preflight header: Apollo's CSRF check refuses the others before any file is read.
 */
export function readGraphqlUploads(maxFileSize: number) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!isMultipart(req) || !hasPreflightHeader(req)) return;
    const body = await processRequest(req.raw, reply.raw, { maxFileSize, maxFiles: 1 });
    pauseWhenAFileIsTooLarge(req, body);
    req.body = body;
  };
}

/** graphql-upload drains the rest of an oversized upload; pause the request instead. */
function pauseWhenAFileIsTooLarge(req: FastifyRequest, body: unknown): void {
  const variables = (body as { variables?: Record<string, unknown> } | undefined)?.variables ?? {};
  for (const value of Object.values(variables)) {
    if (!(value instanceof Upload)) continue;
    value.promise
      .then((file) => {
        const capacitor = (file as { capacitor?: NodeJS.EventEmitter }).capacitor;
        capacitor?.once('error', (err: { status?: number }) => {
          if (err?.status === 413) stopReading(req.raw);
        });
      })
      .catch(() => undefined);
  }
}

/**
 * Multipart bodies are read by graphql-upload or the REST layer, not by fastify. An upload
 * refused mid-body (too large) stops being read instead of drained: the response has been
 * written; closing the socket ends the transfer on the client's side too. At start, the
 * temporary files an earlier run left behind are removed.
 */
export function registerUploadHandling(app: FastifyInstance): void {
  // A crashed run (kill -9, out of memory) cannot delete its half-received uploads itself.
  app.addHook('onReady', async () => {
    const removed = await removeLeftoverTempFiles();
    if (removed.length) app.log.info({ folders: removed }, 'removed temporary files left by an earlier run');
  });
  app.addContentTypeParser('multipart/form-data', (_req, _payload, done) => done(null));
  app.addHook('onSend', async (req, reply) => {
    if (reply.statusCode === 413 && !req.raw.complete) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode === 413 && !req.raw.complete) req.raw.socket?.destroy();
  });
}
