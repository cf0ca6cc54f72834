import type { FastifyInstance } from 'fastify';

/**
 * JSON bodies as fastify reads them (prototype-poisoning checks included), except that an
 * empty body is `{}`: `wx.request({ method: 'POST' })` without `data` still sends
 * `Content-Type: application/json`, and such a request has nothing wrong with it.
 */
export function readEmptyJsonAsObject(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, {});
    return parse(req, text, done);
  });
}
