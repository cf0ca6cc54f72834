import type { FastifyInstance } from 'fastify';

/** A named dependency the instance needs in order to serve traffic. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
}

/** `/healthz`: the process is up. `/readyz`: every dependency answers. */
export function registerHealthRoutes(app: FastifyInstance, checks: readonly ReadinessCheck[]): void {
  const hidden = { schema: { hide: true } };
  app.get('/healthz', hidden, async () => ({ status: 'ok' }));
  app.get('/readyz', hidden, async (_req, reply) => {
    const results = await Promise.all(checks.map(async (c) => [c.name, await c.check().catch(() => false)] as const));
    const failing = results.filter(([, ok]) => !ok).map(([name]) => name);
    if (failing.length) return reply.code(503).send({ status: 'unavailable', failing });
    return { status: 'ok' };
  });
}
