import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MikroORM, type Options } from '@mikro-orm/core';
import { BetterSqliteDriver } from '@mikro-orm/better-sqlite';
import { MySqlDriver } from '@mikro-orm/mysql';
import { Migrator } from '@mikro-orm/migrations';
import type { DatabaseConfig } from '../config';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export type Orm = MikroORM;

export interface OpenOrmOptions {
  /** Where MikroORM's own messages (migrator progress, warnings) go. */
  log?: (message: string) => void;
  /** MySQL: apply pending migrations. SQLite: create/update the schema from the entities. */
  migrate: boolean;
  /** Called with every SQL statement (tests count statements with it). */
  onQuery?: (sql: string) => void;
}

/** MikroORM options for either driver; shared by the server, the tests and the migration script. */
export function ormOptions(db: DatabaseConfig, onQuery?: (sql: string) => void, log?: (message: string) => void): Options {
  const common = {
    entities: [...ENTITIES],
    // Defaults come from the entities' initialisers in code; the DDL only gets explicit ones.
    discovery: { warnWhenNoEntities: false, inferDefaultValues: false },
    extensions: [Migrator],
    // MySQL commits DDL implicitly, so a transaction around a migration promises nothing.
    migrations: { migrationsList: [...MIGRATIONS], transactional: false, snapshot: false, emit: 'ts' as const },
    // Entities are never shared between requests: each request forks its own EntityManager.
    allowGlobalContext: false,
    forceUtcTimezone: true,
    colors: false,
    ...(onQuery ? { debug: ['query' as const] } : {}),
    logger: (line: string) => (onQuery && line.includes('[query]') ? onQuery(line) : log?.(line)),
  };
  if (db.kind === 'sqlite') {
    return { ...common, driver: BetterSqliteDriver, dbName: db.path };
  }
  return {
    ...common,
    driver: MySqlDriver,
    clientUrl: db.url,
    dbName: db.dbName,
    timezone: '+00:00',
    pool: { min: 0, max: 10 },
  };
}

/** Connects, and brings the schema up to date when asked. */
export async function openOrm(db: DatabaseConfig, opts: OpenOrmOptions): Promise<Orm> {
  if (db.kind === 'sqlite' && db.path !== ':memory:') mkdirSync(dirname(db.path), { recursive: true });
  const orm = await MikroORM.init(ormOptions(db, opts.onQuery, opts.log));
  if (db.kind === 'sqlite' && db.path !== ':memory:') {
    // better-sqlite3 runs on the event loop: in the default rollback-journal mode every commit
    // fsyncs there (measured: event-loop stalls up to 1.2 s under 500 concurrent replies). WAL
    // with synchronous=NORMAL is durable across process crashes and far cheaper per commit.
    await orm.em.getConnection().execute('pragma journal_mode = WAL');
    await orm.em.getConnection().execute('pragma synchronous = NORMAL');
  }
  if (db.kind === 'mysql') await orm.schema.ensureDatabase({ create: true });
  if (opts.migrate) await migrate(orm, db);
  return orm;
}

export async function migrate(orm: Orm, db: DatabaseConfig): Promise<void> {
  if (db.kind === 'sqlite') {
    // SQLite is the zero-install mode: its schema comes straight from the entities.
    await orm.schema.updateSchema({ safe: true });
  } else {
    await orm.migrator.up();
  }
}

/** True when a trivial statement succeeds within the time limit. */
export async function isDatabaseReachable(orm: Orm, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const probe = orm.em
    .getConnection()
    .execute('select 1')
    .then(() => true)
    .catch(() => false);
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
