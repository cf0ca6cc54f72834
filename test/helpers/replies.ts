import { startFakeOpenAI, type FakeOpenAIOptions } from '../fakes/openai';
import { startTestApp, type TestApp } from './test-app';

export const SEND = `mutation($input: SendMessageInput!) {
  sendMessage(input: $input) {
    sessionId messageId
    reply { id chatId role content status model timestamp usage { promptTokens completionTokens totalTokens } }
    metadata { modelType responseLength tokensUsed }
  }
}`;

export const REPLY_STREAM = `subscription($messageId: ID!, $afterSeq: Int) {
  replyStream(messageId: $messageId, afterSeq: $afterSeq) {
    messageId sessionId seq delta done
    message { id content status usage { totalTokens } }
    error { code message }
  }
}`;

export async function send(t: TestApp, token: string, input: Record<string, unknown>) {
  return t.gql<any>(SEND, { input }, { token });
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
