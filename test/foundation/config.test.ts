import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ENV_VARIABLES, parseConfig, withDevJwtSecret } from '../../src/config';
import { openOrm } from '../../src/db/orm';

const dataDir = () => mkdtempSync(join(tmpdir(), 'cfg-'));

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env, dataDir());
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('parseConfig', () => {
  it('runs with nothing set: SQLite in ./data, port 4000 on 127.0.0.1, echo-ready defaults', () => {
    const dir = dataDir();
    const c = parseConfig({}, dir);
    expect(c.port).toBe(4000);
    expect(c.host).toBe('127.0.0.1');
    expect(c.database).toEqual({ kind: 'sqlite', path: join(process.cwd(), 'data/app.db') });
    expect(c.jwt.ttlSeconds).toBe(7 * 86400);
    expect(c.limits).toMatchObject({ perMinute: 300, aiPerMinute: 30, loginPerMinute: 20 });
    expect(c.ai).toMatchObject({ timeoutMs: 60000, maxConcurrentStreams: 3, openaiBaseUrl: 'https://api.openai.com/v1' });
    expect(c.stt).toMatchObject({ model: 'whisper-1', maxUploadBytes: 25 * 1024 * 1024 });
    expect(c.wechatPay).toBeUndefined();
    expect(c.alipay).toBeUndefined();
    // Parsing writes nothing; at startup the generated dev secret is kept so tokens survive a restart.
    expect(c.jwt.secret).toBe('');
    expect(existsSync(join(dir, 'jwt-secret'))).toBe(false);
    const started = withDevJwtSecret(c);
    expect(started.jwt.secret.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(join(dir, 'jwt-secret'), 'utf8')).toBe(started.jwt.secret);
    expect(withDevJwtSecret(parseConfig({}, dir)).jwt.secret).toBe(started.jwt.secret);
    expect(withDevJwtSecret(parseConfig({ JWT_SECRET: 'given' }, dir)).jwt.secret).toBe('given');
  });

  it('documents every variable it reads in .env.example and the README', () => {
    const example = readFileSync(join(__dirname, '..', '..', '.env.example'), 'utf8');
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    expect(ENV_VARIABLES.length).toBeGreaterThan(40);
    expect(ENV_VARIABLES.filter((name) => !new RegExp(`^#?\\s*${name}=`, 'm').test(example))).toEqual([]);
    expect(ENV_VARIABLES.filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });

  it.each([
    ['PORT', 'eighty', 'PORT'],
    ['PORT', '70000', 'PORT'],
    ['NODE_ENV', 'staging', 'NODE_ENV'],
    ['DATABASE_URL', 'postgres://localhost/db', 'DATABASE_URL'],
    ['DATABASE_URL', 'mysql://root@localhost:3306', 'DATABASE_URL'],
    ['REDIS_URL', 'http://localhost:6379', 'REDIS_URL'],
    ['JWT_TTL', 'forever', 'JWT_TTL'],
    ['OPENAI_BASE_URL', 'not a url', 'OPENAI_BASE_URL'],
    ['RATE_LIMIT_PER_MINUTE', '0', 'RATE_LIMIT_PER_MINUTE'],
    ['AI_TIMEOUT_MS', '-5', 'AI_TIMEOUT_MS'],
    ['TRUST_PROXY', 'maybe', 'TRUST_PROXY'],
    ['MAX_UPLOAD_MB', '1.5', 'MAX_UPLOAD_MB'],
    ['CORS_ORIGINS', 'app.example.com', 'CORS_ORIGINS'],
    ['WECHATPAY_APIV3_KEY', 'short', 'WECHATPAY_APIV3_KEY'],
    ['ALIPAY_PRIVATE_KEY', '/no/such/file.pem', 'ALIPAY_PRIVATE_KEY'],
    ['WECHAT_APP_ID', 'wx123', 'WECHAT_APP_SECRET'],
  ])('%s=%s is reported, naming %s', (key, value, named) => {
    const problems = problemsOf({ [key]: value });
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toContain(named);
  });

  it('lists every problem at once, including cross-field ones next to field errors', () => {
    const problems = problemsOf({ PORT: 'x', REDIS_URL: 'nope', JWT_TTL: '??', WECHAT_APP_ID: 'wx1' });
    expect(problems.map((p) => p.split(':')[0].split(' ')[0])).toEqual(expect.arrayContaining(['PORT', 'REDIS_URL', 'JWT_TTL', 'WECHAT_APP_ID']));
    expect(problems).toHaveLength(4);
    const err = (() => {
      try {
        parseConfig({ PORT: 'x', REDIS_URL: 'nope' }, dataDir());
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toMatch(/^Invalid configuration:\n {2}- PORT: .*\n {2}- REDIS_URL: /);
  });

  it('refuses dev-only defaults in production', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems.join('\n')).toContain('JWT_SECRET: required in production');
    expect(problems.join('\n')).toContain('required in production (local login is for development only)');
    expect(problems.join('\n')).toContain('production needs a real AI provider');
    const wechat = { WECHAT_APP_ID: 'a', WECHAT_APP_SECRET: 'b', OPENAI_API_KEY: 'sk-real' };
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'short', ...wechat })).toEqual(['JWT_SECRET: must be at least 32 characters in production']);
    const ok = parseConfig({ NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32), ...wechat }, dataDir());
    expect(ok.production).toBe(true);
    // Echo alone in production only when asked for.
    const echoOnly = { NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32), WECHAT_APP_ID: 'a', WECHAT_APP_SECRET: 'b' };
    expect(problemsOf(echoOnly)).toEqual([expect.stringContaining('ALLOW_ECHO_IN_PRODUCTION=true')]);
    expect(parseConfig({ ...echoOnly, ALLOW_ECHO_IN_PRODUCTION: 'true' }, dataDir()).ai.models).toEqual([]);
  });

  it('accepts MySQL URLs, JDBC-style too', () => {
    expect(parseConfig({ DATABASE_URL: 'mysql://u:p%40ss@db:3306/app' }, dataDir()).database).toEqual({ kind: 'mysql', url: 'mysql://u:p%40ss@db:3306', dbName: 'app' });
    expect(parseConfig({ DATABASE_URL: 'jdbc:mysql://db:3307/chat' }, dataDir()).database).toEqual({ kind: 'mysql', url: 'mysql://db:3307', dbName: 'chat' });
    // The seed's JDBC URLs name the user in the query, next to options only Java reads.
    expect(parseConfig({ DATABASE_URL: 'jdbc:mysql://db:3306/chat?user=app&password=s%40cret&useUnicode=true&serverTimezone=Asia/Shanghai' }, dataDir()).database).toEqual({
      kind: 'mysql',
      url: 'mysql://app:s%40cret@db:3306',
      dbName: 'chat',
    });
  });

  it('reads a PEM setting from text or from a file path, and reports partial payment setups', () => {
    const dir = dataDir();
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n';
    writeFileSync(join(dir, 'key.pem'), pem);
    const env = { ALIPAY_APP_ID: '2021', ALIPAY_PRIVATE_KEY: join(dir, 'key.pem'), ALIPAY_PUBLIC_KEY: pem, ALIPAY_NOTIFY_URL: 'https://x.example/n' };
    expect(parseConfig(env, dir).alipay?.privateKey).toBe(pem);
    expect(problemsOf({ ALIPAY_APP_ID: '2021' }).join()).toContain('Alipay is partly configured; missing ALIPAY_PRIVATE_KEY, ALIPAY_PUBLIC_KEY, ALIPAY_NOTIFY_URL');
  });

  it('parses durations and lists', () => {
    const c = parseConfig({ JWT_TTL: '12h', CORS_ORIGINS: 'https://a.example, http://localhost:5173', TRUST_PROXY: 'true' }, dataDir());
    expect(c.jwt.ttlSeconds).toBe(43200);
    expect(c.corsOrigins).toEqual(['https://a.example', 'http://localhost:5173']);
    expect(c.trustProxy).toBe(1);
  });
});

describe('an SQLite file that cannot be opened', () => {
  it.each([
    ['a path under a regular file', (dir: string) => join(writeFile(dir, 'regular-file', ''), 'app.db')],
    ['a file that is not a database', (dir: string) => writeFile(dir, 'not-a-database.db', 'plain text, not SQLite')],
  ])('is a startup error naming the path: %s', async (_label, pathIn) => {
    const path = pathIn(dataDir());
    const config = parseConfig({ DATABASE_URL: `sqlite:${path}` }, dataDir());
    expect(config.database).toEqual({ kind: 'sqlite', path });
    await expect(openOrm(config.database, { migrate: true })).rejects.toThrow(`cannot open the SQLite database ${path}: `);
  });
});

function writeFile(dir: string, name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
