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
  const url = await app.listen();
  console.log(JSON.stringify({ url }));
  process.once('SIGTERM', () => app.shutdown('SIGTERM').then(() => process.exit(0)));
})();
