import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pino from 'pino';
import { createApp } from '../app';
import { parseConfig } from '../config';

/**
 * Writes the OpenAPI description of /v1 that `GET /v1/openapi.json` serves (committed beside
 * schema.graphql; CI checks it is current). Builds the app on an in-memory database.
 */
export async function emitOpenApi(file = resolve('openapi.json')): Promise<void> {
  const config = parseConfig({ NODE_ENV: 'test', DATABASE_URL: 'sqlite::memory:', JWT_SECRET: 'emit-openapi-only' });
  const app = await createApp(config, { logger: pino({ level: 'silent' }) });
  await app.server.ready();
  writeFileSync(file, `${JSON.stringify(app.server.swagger(), null, 2)}\n`);
  await app.shutdown('emitted');
}

if (require.main === module) {
  emitOpenApi().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
