import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '../config';

/** pino options: JSON logs with the request id, never credentials, codes or query strings. */
export function loggerOptions(config: AppConfig) {
  return {
    level: config.logLevel,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-api-key"]',
        'req.headers.cookie',
        '*.token',
        '*.code',
        '*.secret',
        '*.apiKey',
        '*.authorization',
        '*.session_key',
        '*.sessionKey',
      ],
      censor: '[redacted]',
    },
    serializers: {
      // Query strings can carry GraphQL documents with login codes: log the path only.
      req: (req: FastifyRequest) => ({ method: req.method, path: req.url.split('?')[0], remoteAddress: req.ip }),
    },
  };
}
