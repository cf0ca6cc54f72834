import 'reflect-metadata';
import { createApp } from './app';
import { ConfigError, loadConfig } from './config';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const app = await createApp(config);
  const log = app.deps.logger;
  const url = await app.listen();
  const db = config.database.kind === 'sqlite' ? `SQLite at ${config.database.path}` : `MySQL database ${config.database.dbName}`;
  log.info({ url, database: db, graphiql: config.production ? 'off' : `${url}/graphql` }, `listening on ${url}`);

  const stop = (signal: string) => {
    app.shutdown(signal).then(
      (code) => process.exit(code),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  console.error('failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
