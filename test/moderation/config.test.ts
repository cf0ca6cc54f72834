import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../../src/config';
import { keywordFile } from './setup';

const dataDir = () => mkdtempSync(join(tmpdir(), 'cfg-'));
const wechat = { WECHAT_APP_ID: 'wx1', WECHAT_APP_SECRET: 's1' };

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env, dataDir());
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('MODERATION_* settings', () => {
  it('checks nothing by default; WeChat on by default for a mini-program backend', () => {
    expect(parseConfig({}, dataDir()).moderation).toEqual({ wechat: false, onError: 'allow', strikes: 5, strikeWindowMs: 24 * 3_600_000, suspendMs: 24 * 3_600_000 });
    expect(parseConfig(wechat, dataDir()).moderation.wechat).toBe(true);
    expect(parseConfig({ ...wechat, MODERATION_WECHAT: 'off' }, dataDir()).moderation.wechat).toBe(false);
  });

  it('reads every setting', () => {
    const file = keywordFile();
    const m = parseConfig(
      {
        MODERATION_KEYWORDS_FILE: file,
        MODERATION_WEBHOOK_URL: 'https://check.example/v1',
        MODERATION_WEBHOOK_SECRET: 'sec',
        MODERATION_WEBHOOK_TIMEOUT_MS: '1500',
        MODERATION_ON_ERROR: 'block',
        MODERATION_STRIKES: '0',
        MODERATION_STRIKE_WINDOW_HOURS: '48',
        MODERATION_SUSPEND_HOURS: '2',
      },
      dataDir(),
    ).moderation;
    expect(m).toEqual({ keywordsFile: file, wechat: false, webhook: { url: 'https://check.example/v1', secret: 'sec', timeoutMs: 1500 }, onError: 'block', strikes: 0, strikeWindowMs: 48 * 3_600_000, suspendMs: 2 * 3_600_000 });
  });

  it.each<[Record<string, string>, string]>([
    [{ MODERATION_KEYWORDS_FILE: '/no/such/list.txt' }, 'MODERATION_KEYWORDS_FILE: cannot read /no/such/list.txt'],
    [{ MODERATION_WECHAT: 'on' }, 'MODERATION_WECHAT: on needs WECHAT_APP_ID and WECHAT_APP_SECRET'],
    [{ MODERATION_WECHAT: 'yes' }, 'MODERATION_WECHAT: must be on or off'],
    [{ MODERATION_WEBHOOK_URL: 'https://check.example' }, 'MODERATION_WEBHOOK_URL and MODERATION_WEBHOOK_SECRET: set both or neither (every call is signed)'],
    [{ MODERATION_WEBHOOK_SECRET: 'x' }, 'MODERATION_WEBHOOK_URL and MODERATION_WEBHOOK_SECRET: set both or neither (every call is signed)'],
    [{ MODERATION_WEBHOOK_URL: 'ftp://check.example', MODERATION_WEBHOOK_SECRET: 'x' }, 'MODERATION_WEBHOOK_URL: must be an http(s) URL'],
    [{ MODERATION_ON_ERROR: 'ignore' }, 'MODERATION_ON_ERROR: must be allow or block'],
    [{ MODERATION_STRIKES: '-1' }, 'MODERATION_STRIKES: '],
    [{ MODERATION_SUSPEND_HOURS: '0' }, 'MODERATION_SUSPEND_HOURS: '],
  ])('refuses %j', (env, problem) => {
    expect(problemsOf(env)).toEqual(expect.arrayContaining([expect.stringContaining(problem)]));
  });
});
