// The real app from dist/, on a fresh SQLite file, logging only warnings.
require('reflect-metadata');
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { createApp } = require('../../dist/app');
const { parseConfig } = require('../../dist/config');

(async () => {
  const config = parseConfig({
    ...process.env,
    PORT: '0',
    LOG_LEVEL: 'warn',
    DATABASE_URL: process.env.BENCH_DATABASE_URL || `sqlite:${join(mkdtempSync(join(tmpdir(), 'bench-')), 'app.db')}`,
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret',
    RATE_LIMIT_PER_MINUTE: '1000000',
  });
  const app = await createApp(config);
  if (process.env.BENCH_STATS) {
    // Event-loop delay and memory of this process, for load scenarios.
    const { monitorEventLoopDelay } = require('node:perf_hooks');
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    app.server.get('/__bench_stats', async () => ({ rss: process.memoryUsage().rss, eventLoopDelayP99Ms: loop.percentile(99) / 1e6, eventLoopDelayMaxMs: loop.max / 1e6 }));
    app.server.post('/__bench_stats/reset', async () => (loop.reset(), { ok: true }));
  }
  const url = await app.listen();
  console.log(JSON.stringify({ url }));
  process.once('SIGTERM', () => app.shutdown('SIGTERM').then(() => process.exit(0)));
})();
