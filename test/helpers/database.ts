import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh database for one test app: a temporary SQLite file, or, when TEST_DATABASE_URL
 * names a MySQL/MariaDB server, a new database on it (created and migrated by the app,
 * dropped by the harness).
 */
export function freshDatabaseUrl(): string {
  const base = process.env.TEST_DATABASE_URL;
  if (base && /^(jdbc:)?(mysql|mariadb):/.test(base)) {
    const url = new URL(base.replace(/^jdbc:/, ''));
    url.pathname = `/t_${process.pid}_${randomBytes(4).toString('hex')}`;
    return url.toString();
  }
  return `sqlite:${join(mkdtempSync(join(tmpdir(), 'chat-test-')), 'app.db')}`;
}

export const onMysql = (): boolean => /^(jdbc:)?(mysql|mariadb):/.test(process.env.TEST_DATABASE_URL ?? '');
