import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import type { FormattedExecutionResult } from 'graphql-ws';
import type { ReplyEvent } from '../../src/replies/reply-event';
import { type ChatEventsSubscription, type SendMessageInput, SendMessageDocument, SendMessageFullDocument, type SendMessageFullMutation } from '../generated/graphql';
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from '../fakes/openai';
import { startTestApp, type GqlResult, type Subscription, type TestApp } from './test-app';
import { waitFor } from './wait';

/** sendMessage as query text, for raw sockets. */
export const SEND = print(SendMessageDocument);

/**
 * The `data` of a GraphQL answer (over HTTP, or one result of a subscription) that the test
 * expects to have it: throws, naming the errors, when it is null or absent.
 */
export function dataOf<T>(result: GqlResult<T> | FormattedExecutionResult<T>): T {
  const { data, errors } = 'body' in result ? result.body : result;
  if (data === null || data === undefined) throw new Error(`expected data, got errors: ${JSON.stringify(errors)}`);
  return data;
}

/** sendMessage as `token`'s user, the whole answer: for tests that expect a refusal. */
export function send(t: TestApp, token: string, input: SendMessageInput): Promise<GqlResult<SendMessageFullMutation>> {
  return t.gql(SendMessageFullDocument, { input }, { token });
}

/** sendMessage as `token`'s user, expected to succeed: its `sendMessage` (throws with the errors otherwise). */
export async function sent(t: TestApp, token: string, input: SendMessageInput): Promise<SendMessageFullMutation['sendMessage']> {
  return dataOf(await send(t, token, input)).sendMessage;
}

/** The app on a fake OpenAI-compatible provider whose catalog default is `gpt-test`. */
export async function startAppWithFakeAi(fake: FakeOpenAIOptions = {}, env: Record<string, string> = {}) {
  const ai = await startFakeOpenAI(fake);
  const t = await startTestApp({ env: { ...ai.env(), DEFAULT_MODEL: 'gpt-test', ...env } });
  return {
    ai,
    t,
    close: async () => {
      await t.close();
      await ai.close();
    },
  };
}

/**
 * `startAppWithFakeAi` for a describe block: started before its tests, closed after them.
 * Read `t` and `ai` inside the tests (before `beforeAll` has run there is nothing to read).
 */
export function useAppWithFakeAi(fake: FakeOpenAIOptions = {}, env: Record<string, string> = {}): { readonly t: TestApp; readonly ai: FakeOpenAI } {
  let app: Awaited<ReturnType<typeof startAppWithFakeAi>> | undefined;
  beforeAll(async () => {
    app = await startAppWithFakeAi(fake, env);
  });
  afterAll(async () => {
    await app?.close();
  });
  const started = () => {
    if (!app) throw new Error('the app starts in beforeAll: read t and ai inside a test');
    return app;
  };
  return {
    get t() {
      return started().t;
    },
    get ai() {
      return started().ai;
    },
  };
}

/** The id of the events `untilChatEventsLive` publishes: a test leaves them out of what it checks. */
export const PROBE_ID = 'probe';

/**
 * Resolves once `sub`, a chatEvents subscription to `sessionId`, is live. The server sends
 * nothing until a reply in the chat moves and has no "subscribed" signal, so this publishes a
 * probe event (messageId `PROBE_ID`) on the chat's topic until the subscriber hears one.
 */
export async function untilChatEventsLive(t: TestApp, sub: Subscription<FormattedExecutionResult<ChatEventsSubscription>>, sessionId: string): Promise<void> {
  const probe: ReplyEvent = { messageId: PROBE_ID, sessionId, seq: 0, delta: '', reasoningDelta: '', done: false };
  await waitFor(
    () => {
      if (sub.results.length > 0 || sub.ended) return true;
      t.app.deps.replies.state.topics.publish('chat', sessionId, probe);
      return false;
    },
    5000,
    'the chatEvents subscription being live',
    50,
  );
  if (sub.error) throw new Error(`the subscription failed: ${JSON.stringify(sub.error)}`);
}

/** The prices (fen per 1,000 tokens) of the priced model in `pricedModelsFile`. */
export const PRICES = { prompt: 30, completion: 70 };

/** What a reply with this usage costs at PRICES, as the server rounds it. */
export const costOf = (u: { promptTokens: number; completionTokens: number }) => Math.ceil((u.promptTokens * PRICES.prompt + u.completionTokens * PRICES.completion) / 1000);

/**
 * An AI_MODELS file with two models on the fake at `baseURL` (key from FAKE_AI_KEY): a free
 * default (`defaultId`, 'free' unless given) and 'paid' at PRICES (plus `paid`, e.g. maxTokens).
 */
export function pricedModelsFile(baseURL: string, opts: { defaultId?: string; paid?: { maxTokens?: number } } = {}): string {
  const file = join(mkdtempSync(join(tmpdir(), 'models-')), 'models.json');
  writeFileSync(
    file,
    JSON.stringify([
      { id: opts.defaultId ?? 'free', name: 'Free', provider: 'fake', baseURL, apiKeyEnv: 'FAKE_AI_KEY', default: true },
      { id: 'paid', name: 'Paid', provider: 'fake', baseURL, apiKeyEnv: 'FAKE_AI_KEY', prices: PRICES, ...opts.paid },
    ]),
  );
  return file;
}
