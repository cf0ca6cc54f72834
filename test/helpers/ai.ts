import type { TestApp } from './test-app';

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
