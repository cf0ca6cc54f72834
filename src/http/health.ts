import type { FastifyInstance } from 'fastify';

/** A named dependency the instance needs in order to serve traffic. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
}

/**
 * `/healthz`: the process is up. `/readyz`: every dependency answers within `timeoutMs`.
 * A hung dependency (a frozen Redis, a locked table) does not fail, it never answers: so a
 * check still running at the deadline counts as failing, and /readyz still answers in time.
 * A check still running is joined rather than started again, so a hung dependency holds at
 * most one probe (one database connection, one queued command) however often /readyz is asked.
 */
export function registerHealthRoutes(app: FastifyInstance, checks: readonly ReadinessCheck[], opts: { timeoutMs: number }): void {
  const hidden = { schema: { hide: true } };
  const probes = checks.map((c) => ({ name: c.name, run: joinRunning(c.check) }));
  app.get('/healthz', hidden, async () => ({ status: 'ok' }));
  app.get('/readyz', hidden, async (_req, reply) => {
    const results = await Promise.all(probes.map(async (p) => [p.name, await within(p.run(), opts.timeoutMs)] as const));
    const failing = results.filter(([, ok]) => !ok).map(([name]) => name);
    if (failing.length) return reply.code(503).send({ status: 'unavailable', failing });
    return { status: 'ok' };
  });
}

/** `check`, sharing the run in progress, if any; a failure is `false`. */
function joinRunning(check: () => Promise<boolean>): () => Promise<boolean> {
  let running: Promise<boolean> | undefined;
  return () =>
    (running ??= Promise.resolve()
      .then(check)
      .catch(() => false)
      .finally(() => {
        running = undefined;
      }));
}

/** `result`, or false when it has not come within `ms`. */
async function within(result: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([result, late]);
  } finally {
    clearTimeout(timer);
  }
}
