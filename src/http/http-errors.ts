import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, BadRequestError, describeError, PayloadTooLargeError, type ErrorDescription, type ReasonOf } from '../core/errors';
import { errorExtensions } from '../graphql/format-error';
import { failure } from '../rest/envelope';

/** A `/v1` error: the envelope, with the error's HTTP status and Retry-After when it has one. */
export function sendRestError(reply: FastifyReply, d: ErrorDescription): FastifyReply {
  if (d.retryAfterSeconds !== undefined) reply.header('retry-after', String(d.retryAfterSeconds));
  return reply.code(d.status).send(failure(d.status, d.message, d.details));
}

/** An error answered before any route ran: the envelope on `/v1`, a GraphQL error body elsewhere. */
export function sendError(req: FastifyRequest, reply: FastifyReply, d: ErrorDescription): FastifyReply {
  if (req.url.startsWith('/v1/')) return sendRestError(reply, d);
  if (d.retryAfterSeconds !== undefined) reply.header('retry-after', String(d.retryAfterSeconds));
  return reply.code(d.status).send({ errors: [{ message: d.message, extensions: errorExtensions(d) }] });
}

export function sendNotFound(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendError(req, reply, describeError(new AppError('NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`)));
}

/** Fastify's body-parser codes; the others it raises are about the URL or headers. */
function requestReason(code: string | undefined): ReasonOf<'BAD_REQUEST'> {
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'UNSUPPORTED_MEDIA_TYPE';
  if (code?.startsWith('FST_ERR_CTP_')) return 'MALFORMED_BODY';
  return 'INVALID_REQUEST';
}

/**
 * Framework errors (schema validation, body limits, bad JSON, malformed multipart) as ours.
 * The framework's own wording stays in the message; the reason is one of the fixed ones.
 * Anything else is left as it is, to be described as internal.
 */
export function asAppError(err: FastifyError): unknown {
  if (err instanceof AppError) return err;
  if (err.validation?.length) {
    const v = err.validation[0];
    const missing = (v.params as { missingProperty?: string } | undefined)?.missingProperty;
    const field = [v.instancePath.replace(/^\//, '').replace(/\//g, '.'), missing].filter(Boolean).join('.');
    return new BadRequestError(`Invalid ${field || 'request'}: ${v.message ?? 'invalid'}`, { field, reason: v.keyword === 'required' ? 'REQUIRED' : 'INVALID' });
  }
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413 || (err as { status?: number }).status === 413) {
    return new PayloadTooLargeError('Request body is too large', { reason: 'BODY_TOO_LARGE' });
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new BadRequestError(err.message, { reason: requestReason(err.code) });
  return err;
}

/** fastify's error handler: one description, logged with its stack when it is not the client's doing. */
export function handleHttpError(app: FastifyInstance) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const d = describeError(asAppError(err));
    if (d.internal) app.log.error({ err, requestId: req.id }, 'unexpected error');
    return sendError(req, reply, d);
  };
}
