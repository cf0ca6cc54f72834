import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Credentials, Identification } from '../accounts/authenticator';
import { type AppContext, createContext } from '../context';
import type { AppDeps } from '../deps';
import { limitKey } from '../limits/rate-limits';
import { isWebSocketHandshake } from '../limits/websocket-handshake';

declare module 'fastify' {
  interface FastifyRequest {
    /** The credential check, made once per request by the rate-limit hook. */
    identification?: Identification;
  }
  interface FastifyContextConfig {
    /** Counts against the per-user (per-IP when anonymous) request limit. */
    rateLimited?: boolean;
  }
}

const credentialsOf = (req: FastifyRequest): Credentials => {
  const apiKey = req.headers['x-api-key'];
  return { authorization: req.headers.authorization, apiKey: typeof apiKey === 'string' ? apiKey : undefined };
};

/**
 * The request limit, checked before the body is read: identifies the caller (kept on the
 * request for the context) and counts the request against the user, or the address when
 * anonymous. Real WebSocket handshakes are counted per operation instead.
 */
export function limitRequests(app: FastifyInstance, deps: AppDeps): void {
  app.addHook('onRequest', async (req) => {
    if (!req.routeOptions.config?.rateLimited || isWebSocketHandshake({ method: req.method, path: req.routeOptions.url, headers: req.headers })) return;
    req.identification = await deps.authenticator.identify(credentialsOf(req));
    await deps.rateLimits.consume('request', limitKey({ userId: req.identification.viewer?.userId, ip: req.ip }));
  });
}

/** The context of an HTTP request (GraphQL or REST): who it is, and a refused credential to report later. */
export function httpContext(deps: AppDeps) {
  return async (req: FastifyRequest): Promise<AppContext> => {
    const who = req.identification ?? (await deps.authenticator.identify(credentialsOf(req)));
    return { ...createContext(deps, { viewer: who.viewer, requestId: req.id, ip: req.ip }), authError: who.authError };
  };
}
