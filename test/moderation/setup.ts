import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config';
import type { AppDeps } from '../../src/deps';
import { startFakeOpenAI, type FakeOpenAIOptions } from '../fakes/openai';
import { rows } from '../helpers/accounts';
import { captureLogs } from '../helpers/log-capture';
import { startTestApp, type TestApp } from '../helpers/test-app';

/** The list most tests use: a Chinese term, an English one, and a traditional-script one. */
export const TERMS = ['敏感词', 'forbiddenword', '違禁品'];

/** A keyword list file with these terms (and a comment line), in a folder of its own. */
export function keywordFile(terms: readonly string[] = TERMS): string {
  const file = join(mkdtempSync(join(tmpdir(), 'keywords-')), 'keywords.txt');
  writeFileSync(file, `# test list\n${terms.join('\n')}\n`);
  return file;
}

/** The number from a `select count(*) as n ...`. */
export async function count(t: TestApp, sql: string, params: unknown[] = []): Promise<number> {
  return Number((await rows(t, sql, params))[0].n);
}

/** Rows and provider calls a refused request must leave as they were. */
export async function footprint(t: TestApp, ai?: { calls: unknown[] }) {
  return {
    chats: await count(t, 'select count(*) as n from chats'),
    messages: await count(t, 'select count(*) as n from messages'),
    tags: await count(t, 'select count(*) as n from chat_tags'),
    aiCalls: ai?.calls.length ?? 0,
  };
}

export const events = (t: TestApp, userId?: string) =>
  rows(t, `select stage, engine, action, labels, field, message_id, excerpt, text_hash from moderation_events${userId ? ' where user_id = ?' : ''} order by created_at, id`, userId ? [userId] : []);

/**
 * The app with the keyword list (unless `terms` is null), a fake OpenAI-compatible provider as
 * its default model, and whatever else `env` sets; `logs` captures what it logs.
 */
export async function startModeratedApp(opts: { terms?: readonly string[] | null; env?: Record<string, string>; ai?: FakeOpenAIOptions; overrides?: Partial<AppDeps> } = {}) {
  const ai = await startFakeOpenAI(opts.ai);
  const file = opts.terms === null ? undefined : keywordFile(opts.terms);
  const env = { ...ai.env(), DEFAULT_MODEL: 'gpt-test', ...(file ? { MODERATION_KEYWORDS_FILE: file } : {}), ...opts.env };
  const logs = captureLogs(parseConfig({ NODE_ENV: 'test' }), 'info');
  const t = await startTestApp({ env, overrides: { logger: logs.logger, ...opts.overrides } });
  return {
    t,
    ai,
    file,
    logs,
    close: async () => {
      await t.close();
      await ai.close();
    },
  };
}

/** Log lines (parsed) whose msg contains `text`. */
export function logged(logs: { lines: string[] }, text: string): Array<Record<string, unknown>> {
  return logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l.msg).includes(text));
}
