import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { LockWaitTimeoutException, MikroORM, type Options } from '@mikro-orm/core';
import { BetterSqliteDriver } from '@mikro-orm/better-sqlite';
import { MySqlDriver } from '@mikro-orm/mysql';
import { Migrator } from '@mikro-orm/migrations';
import type { DatabaseConfig, Timings } from '../config';
import { AppError, UpstreamError } from '../core/errors';
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
  /**
   * The server's deadlines; without them (scripts, tests' own connections) nothing is limited.
   * Migrations never run under them: a long ALTER TABLE is not a hung database.
   */
  deadlines?: DatabaseDeadlines;
  /** Told of each statement or connection wait that ran out of time (the server logs it). */
  warn?: (message: string) => void;
}

export type DatabaseDeadlines = Pick<Timings['dependencies'], 'databaseStatementTimeoutMs' | 'databaseAcquireTimeoutMs' | 'sqliteBusyTimeoutMs'>;

/** MikroORM options for either driver; shared by the server, the tests and the migration script. */
export function ormOptions(db: DatabaseConfig, onQuery?: (sql: string) => void, log?: (message: string) => void, deadlines?: DatabaseDeadlines): Options {
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
    // One connection: a request waits for it while a transaction holds it.
    const pool = deadlines ? { pool: { acquireTimeoutMillis: deadlines.databaseAcquireTimeoutMs, afterCreate: sqliteBusyTimeout(deadlines) } } : {};
    return { ...common, driver: BetterSqliteDriver, dbName: db.path, ...pool };
  }
  return {
    ...common,
    driver: MySqlDriver,
    clientUrl: db.url,
    dbName: db.dbName,
    timezone: '+00:00',
    pool: { min: 0, max: 10, ...(deadlines ? { acquireTimeoutMillis: deadlines.databaseAcquireTimeoutMs, afterCreate: mysqlSessionDeadlines(deadlines) } : {}) },
  };
}

/** The raw connections knex hands to a pool's afterCreate. */
type AfterCreate<C> = (connection: C, done: (err: Error | null, connection: C) => void) => void;
type MysqlRawConnection = { query(sql: string, cb: (err: Error | null, rows?: Array<{ v: string }>) => void): void };
type SqliteRawConnection = { pragma(source: string): unknown };

/**
 * Every connection's statements end at the deadline, waits for locks included, enforced by the
 * server, so the statement stops and its connection comes back. MariaDB's max_statement_time
 * covers every statement; MySQL's max_execution_time only SELECTs, so writes are bounded by the
 * lock wait timeouts (whole seconds): row locks (InnoDB) and table/metadata locks (LOCK TABLES).
 */
function mysqlSessionDeadlines(d: DatabaseDeadlines): AfterCreate<MysqlRawConnection> {
  const lockWaitSeconds = Math.max(1, Math.ceil(d.databaseStatementTimeoutMs / 1000));
  return (connection, done) => {
    connection.query('select version() as v', (err, rows) => {
      if (err) return done(err, connection);
      const statementLimit = /mariadb/i.test(rows?.[0]?.v ?? '') ? `max_statement_time = ${d.databaseStatementTimeoutMs / 1000}` : `max_execution_time = ${d.databaseStatementTimeoutMs}`;
      const sql = `set session ${statementLimit}, lock_wait_timeout = ${lockWaitSeconds}, innodb_lock_wait_timeout = ${lockWaitSeconds}`;
      connection.query(sql, (setErr) => done(setErr, connection));
    });
  };
}

/**
 * SQLite waits for another process's write lock (a backup, a script) for the busy timeout,
 * synchronously: better-sqlite3 blocks the event loop meanwhile, hence its own short deadline.
 */
function sqliteBusyTimeout(d: DatabaseDeadlines): AfterCreate<SqliteRawConnection> {
  return (connection, done) => {
    connection.pragma(`busy_timeout = ${d.sqliteBusyTimeoutMs}`);
    done(null, connection);
  };
}

/** MySQL/MariaDB error numbers of a statement stopped by a deadline. */
const DEADLINE_ERRNOS = new Set([
  1205, // lock wait timeout (innodb_lock_wait_timeout, lock_wait_timeout)
  1969, // MariaDB max_statement_time
  3024, // MySQL max_execution_time
]);

/**
 * A statement or a wait for a connection or a lock that ran out of time, from either driver.
 * Judged by its fields, not `instanceof Error`: a native driver's errors may come from another
 * realm (a test runner's sandbox).
 */
function isDeadlineError(err: unknown): err is { message: string } {
  if (typeof err !== 'object' || err === null) return false;
  const { errno, code, name } = err as { errno?: unknown; code?: unknown; name?: unknown };
  return (
    (typeof errno === 'number' && DEADLINE_ERRNOS.has(errno)) ||
    (typeof code === 'string' && code.startsWith('SQLITE_BUSY')) || // SQLITE_BUSY and its extended codes
    name === 'KnexTimeoutError' || // no free pool connection in time
    err instanceof LockWaitTimeoutException
  );
}

/**
 * Makes a deadline a clear, retryable UPSTREAM_ERROR (DATABASE_UNAVAILABLE) wherever a statement
 * runs: raw statements and transactions (the connection) as well as the ORM's own (the driver,
 * which would otherwise wrap our error in its own exception type).
 */
function failClearlyOnDeadlines(orm: Orm, warn?: (message: string) => void): void {
  const translate = (err: unknown): unknown => {
    if (!isDeadlineError(err)) return err;
    warn?.(`the database did not answer in time: ${err.message}`);
    return new UpstreamError('Temporarily unavailable: the database did not answer in time; try again shortly', { reason: 'DATABASE_UNAVAILABLE' });
  };
  const rethrow = (err: unknown): never => {
    throw translate(err);
  };
  const connection = orm.em.getConnection();
  const { execute, begin } = connection;
  connection.execute = ((...args: Parameters<typeof execute>) => execute.apply(connection, args).catch(rethrow)) as typeof execute;
  connection.begin = ((...args: Parameters<typeof begin>) => begin.apply(connection, args).catch(rethrow)) as typeof begin;
  const driver = orm.em.getDriver();
  const convert = driver.convertException.bind(driver);
  driver.convertException = (err) => {
    const translated = translate(err);
    // Ours is final; the driver's type says DriverException only because it never expected one.
    return translated instanceof AppError ? (translated as never) : convert(err);
  };
}

/** Connects, and brings the schema up to date when asked. */
export async function openOrm(db: DatabaseConfig, opts: OpenOrmOptions): Promise<Orm> {
  if (opts.deadlines && opts.migrate && db.kind === 'mysql') {
    // Migrations first, on connections without deadlines, then the server's own connections.
    await (await openOrm(db, { ...opts, deadlines: undefined })).close(true);
    return openOrm(db, { ...opts, migrate: false });
  }
  const orm = db.kind === 'sqlite' && db.path !== ':memory:' ? await openSqliteFile(db, opts) : await MikroORM.init(ormOptions(db, opts.onQuery, opts.log, opts.deadlines));
  if (opts.deadlines) failClearlyOnDeadlines(orm, opts.warn);
  if (db.kind === 'mysql') await orm.schema.ensureDatabase({ create: true });
  if (opts.migrate) await migrate(orm, db);
  return orm;
}

/**
 * Opens (creating when absent) an SQLite file. The driver's own errors ("unable to open
 * database file", "file is not a database", EEXIST from mkdir) do not say which file, and the
 * path is what an operator has to fix, so the error names it.
 */
async function openSqliteFile(db: DatabaseConfig & { kind: 'sqlite' }, opts: OpenOrmOptions): Promise<Orm> {
  let orm: Orm | undefined;
  try {
    mkdirSync(dirname(db.path), { recursive: true });
    orm = await MikroORM.init(ormOptions(db, opts.onQuery, opts.log, opts.deadlines));
    // The file is opened by the first statement. better-sqlite3 runs on the event loop: in the
    // default rollback-journal mode every commit fsyncs there (measured: event-loop stalls up to
    // 1.2 s under 500 concurrent replies). WAL with synchronous=NORMAL is durable across process
    // crashes and far cheaper per commit.
    await orm.em.getConnection().execute('pragma journal_mode = WAL');
    await orm.em.getConnection().execute('pragma synchronous = NORMAL');
    return orm;
  } catch (err) {
    await orm?.close(true).catch(() => undefined);
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot open the SQLite database ${db.path}: ${reason}`, { cause: err });
  }
}

export async function migrate(orm: Orm, db: DatabaseConfig): Promise<void> {
  if (db.kind === 'sqlite') {
    // SQLite is the zero-install mode: its schema comes straight from the entities.
    await orm.schema.updateSchema({ safe: true });
  } else {
    await orm.migrator.up();
  }
}

/**
 * Readiness: one row (or none) read from every table. A locked table (LOCK TABLES, an ALTER
 * waiting for its metadata lock) makes every statement on it wait, which `select 1` would not
 * notice. Row locks do not block these reads; statements that wait on them end at the
 * statement deadline. The caller bounds the wait (/readyz has its own deadline).
 */
export async function isDatabaseReachable(orm: Orm): Promise<boolean> {
  const platform = orm.em.getPlatform();
  const tables = new Set(Object.values(orm.getMetadata().getAll()).filter((m) => m.tableName && !m.embeddable && !m.virtual && !m.abstract).map((m) => m.tableName));
  const reads = [...tables].map((table, i) => `(select 1 from ${platform.quoteIdentifier(table)} limit 1) as t${i}`);
  await orm.em.getConnection().execute(`select ${reads.join(', ') || '1'}`);
  return true;
}
