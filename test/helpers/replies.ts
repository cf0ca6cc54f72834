import { print } from 'graphql';
import { ReplyStreamDocument, type SendMessageInput, SendMessageDocument, type SendMessageMutation } from '../generated/graphql';
import { startFakeOpenAI, type FakeOpenAIOptions } from '../fakes/openai';
import { startTestApp, type GqlResult, type TestApp } from './test-app';

/** The typed documents as query text, for raw sockets and for tests that still pass strings. */
export const SEND = print(SendMessageDocument);
export const REPLY_STREAM = print(ReplyStreamDocument);

/**
 * sendMessage's result. `data` is typed as present because callers read it straight away;
 * a test that expects a refusal reads `errors` instead (and `data` is then null).
 */
export type Sent = GqlResult<SendMessageMutation> & { body: { data: SendMessageMutation } };

export async function send(t: TestApp, token: string, input: SendMessageInput): Promise<Sent> {
  return (await t.gql(SendMessageDocument, { input }, { token })) as Sent;
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
