import { createHash } from 'node:crypto';
import { DriverException } from '@mikro-orm/core';
import type { FastifyRequest } from 'fastify';
import pino from 'pino';
import type { AppConfig } from '../config';

/** pino options: JSON logs with the request id, never credentials, codes or query strings. */
export function loggerOptions(config: AppConfig) {
  return {
    level: config.logLevel,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-api-key"]',
        'req.headers.cookie',
        '*.token',
        '*.code',
        '*.secret',
        '*.apiKey',
        '*.authorization',
        '*.session_key',
        '*.sessionKey',
      ],
      censor: '[redacted]',
    },
    serializers: {
      // Query strings can carry GraphQL documents with login codes: log the path only.
      req: (req: FastifyRequest) => ({ method: req.method, path: req.url.split('?')[0], remoteAddress: req.ip }),
      err: serializeError,
    },
  };
}

type ErrorLike = Error & Record<string, unknown>;

const isErrorLike = (value: unknown): value is ErrorLike => typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';

/**
 * A failed statement: MikroORM's exceptions (their message is the statement with its values
 * inlined, then the driver's message), or a driver's own error, as raw SQL (`execute`) throws
 * it: mysql2's carry `sql`, `sqlMessage`, `sqlState`; better-sqlite3's a SQLITE_ code, with
 * knex's "<statement with values> - " in front of the message.
 */
const isDatabaseError = (err: ErrorLike): boolean =>
  err instanceof DriverException ||
  typeof err.sql === 'string' ||
  typeof err.sqlMessage === 'string' ||
  typeof err.sqlState === 'string' ||
  err.name === 'SqliteError' ||
  (typeof err.code === 'string' && err.code.startsWith('SQLITE_'));

/**
 * The first database error in `err` or what it wraps: `cause`, graphql's `originalError` and
 * `thrownValue`, an AggregateError's `errors`, or any other property holding an error.
 */
function findDatabaseError(err: ErrorLike, depth = 0): ErrorLike | undefined {
  if (isDatabaseError(err)) return err;
  if (depth >= 5) return undefined;
  const inner = [err.cause, err.originalError, err.thrownValue, ...(Array.isArray(err.errors) ? err.errors : []), ...Object.values(err)];
  for (const e of inner) {
    const found = isErrorLike(e) ? findDatabaseError(e, depth + 1) : undefined;
    if (found) return found;
  }
  return undefined;
}

/**
 * pino's error serializer, except for database errors: their statements, parameters and
 * messages carry what users wrote (chat content, search terms). Those are logged as what
 * failed and where (code, errno, SQLSTATE, statement kind, tables, a hash of the statement's
 * shape) with the driver's message stripped of quoted values.
 */
export function serializeError(err: unknown): unknown {
  if (!isErrorLike(err)) return err;
  const db = findDatabaseError(err);
  if (!db) return pino.stdSerializers.err(err);
  const type = (e: ErrorLike) => e.constructor?.name ?? e.name;
  const message = driverMessage(db);
  const statement = statementText(db);
  const shape = statement === undefined ? undefined : statementShape(statement);
  const frames = (db.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  return {
    type: type(db),
    ...(db === err ? {} : { wrappedIn: type(err) }),
    message,
    stack: [`${db.name}: ${message}`, ...frames].join('\n'),
    // Not `code` at this level: the redaction of login codes would hide it.
    db: {
      code: db.code,
      errno: db.errno,
      sqlState: db.sqlState,
      ...(shape === undefined
        ? {}
        : {
            kind: /^[a-z]+/i.exec(shape)?.[0].toLowerCase(),
            tables: [...new Set(Array.from(shape.matchAll(/\b(?:into|from|update|join)\s+(?:`([^`]+)`|([A-Za-z_]\w*))/gi), (m) => m[1] ?? m[2]))],
            statementHash: createHash('sha256').update(shape).digest('hex').slice(0, 12),
          }),
    },
  };
}

/** Names a driver message quotes are kept ("for key 'k'"); any other quoted text is a value ("Duplicate entry 'x'"). */
const QUOTED = /(\b(?:key|column|table|constraint|index|database|field|trigger|function|procedure)\s+)?'(?:[^'\\]|\\.|'')*'/gi;
const LOOKS_LIKE_A_STATEMENT = /\b(?:select|insert|update|delete|replace)\b[\s\S]*\b(?:from|into|set|values)\b/i;

/** The driver's own message, with quoted values replaced by `?`; a statement quoted in it is dropped whole. */
function driverMessage(err: ErrorLike): string {
  let text = typeof err.sqlMessage === 'string' ? err.sqlMessage : err.message;
  // MikroORM (and knex) write "<statement with values> - <driver message>".
  const sep = text.lastIndexOf(' - ');
  if (typeof err.sqlMessage !== 'string' && sep >= 0) text = text.slice(sep + 3);
  if (LOOKS_LIKE_A_STATEMENT.test(text)) return '[statement redacted]';
  text = text.replace(QUOTED, (match: string, name: string | undefined) => (name ? match : "'?'"));
  // An unclosed quote (a message cut short): drop everything after it.
  if ((text.match(/'/g)?.length ?? 0) % 2) text = `${text.slice(0, text.lastIndexOf("'"))}'?`;
  return text;
}

function statementText(err: ErrorLike): string | undefined {
  if (typeof err.sql === 'string') return err.sql;
  const sep = err.message.lastIndexOf(' - ');
  return sep >= 0 ? err.message.slice(0, sep) : undefined;
}

/**
 * The statement with every literal (string, number) replaced by `?` and lists of them
 * collapsed: the same text for every run of one query, whatever its values.
 */
export function statementShape(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < sql.length && sql[j] !== c) j += sql[j] === '\\' ? 2 : 1;
      // A doubled quote is an escaped one: the literal goes on.
      if (sql[j + 1] === c) {
        i = j + 1;
        continue;
      }
      out += '?';
      i = j + 1;
    } else if (c === '`') {
      const end = sql.indexOf('`', i + 1);
      const next = end < 0 ? sql.length : end + 1;
      out += sql.slice(i, next);
      i = next;
    } else if (/[A-Za-z_$]/.test(c)) {
      const word = /^[\w$]+/.exec(sql.slice(i))![0];
      out += word;
      i += word.length;
    } else if (/[0-9]/.test(c)) {
      i += /^[0-9a-fA-FxX.eE+-]*/.exec(sql.slice(i))![0].length;
      out += '?';
    } else {
      out += c;
      i++;
    }
  }
  return out
    .replace(/\?(?:\s*,\s*\?)+/g, '?+')
    .replace(/\(\?\+?\)(?:\s*,\s*\(\?\+?\))+/g, '(?+)+')
    .replace(/\s+/g, ' ')
    .trim();
}
