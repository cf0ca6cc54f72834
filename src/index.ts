// First: tracing instruments http, graphql and the drivers, so it must load before they do.
import './tracing';
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

  let stopping = false;
  const stop = (signal: string) => {
    // A second Ctrl-C or SIGTERM means "now".
    if (stopping) process.exit(1);
    stopping = true;
    app.shutdown(signal).then(
      (code) => process.exit(code),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Under `npm start`, npm passes SIGTERM to the shell running the script, which dies without
  // passing it on: this process would live on, orphaned. So its parent going away counts as SIGTERM.
  // Not a setting but how the process was launched: npm sets this for the scripts it runs.
  // eslint-disable-next-line no-restricted-properties
  if (process.env.npm_lifecycle_event) {
    const parent = process.ppid;
    setInterval(() => process.ppid !== parent && !stopping && stop('parent process exited'), 500).unref();
  }
}

main().catch((err) => {
  console.error('failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
