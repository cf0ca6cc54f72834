import { startAppWithFakeAi } from '../helpers/replies';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { login } from '../helpers/accounts';
import { type TestApp } from '../helpers/test-app';
import { ApolloChatDocument as CHAT, ApolloFollowDocument as FOLLOW, type ApolloFollowSubscription, ApolloSendDocument as SEND } from '../generated/graphql';

describe('an Apollo Client app: send, subscribe, read back', () => {
  let t: TestApp;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ t, close } = await startAppWithFakeAi({ chunkSize: 2, delayMs: 5 }));
  });
  afterAll(() => close());

  it('runs the whole flow through HttpLink + GraphQLWsLink', async () => {
    const { token } = await login(t);
    const wsClient = createClient({ url: t.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    const http = new HttpLink({ uri: `${t.url}/graphql`, headers: { authorization: `Bearer ${token}` } });
    const link = ApolloLink.split(
      ({ query }) => {
        const def = getMainDefinition(query);
        return def.kind === 'OperationDefinition' && def.operation === 'subscription';
      },
      new GraphQLWsLink(wsClient),
      http,
    );
    const client = new ApolloClient({ link, cache: new InMemoryCache() });
    try {
      const sent = await client.mutate({ mutation: SEND, variables: { input: { content: 'Apollo says hi', stream: true } } });
      const { messageId, sessionId, reply } = sent.data!.sendMessage;
      expect(reply.status).toBe('STREAMING');

      const events: Array<ApolloFollowSubscription['replyStream']> = [];
      await new Promise<void>((resolve, reject) => {
        const sub = client.subscribe({ query: FOLLOW, variables: { messageId } }).subscribe({
          next: (result) => {
            if (result.error) return reject(result.error);
            const e = result.data!.replyStream;
            events.push(e);
            if (e.done) {
              sub.unsubscribe();
              resolve();
            }
          },
          error: reject,
        });
      });
      const text = events.filter((e) => !e.done).map((e) => e.delta).join('');
      expect(text).toBe('Echo: Apollo says hi');
      expect(events.at(-1)!.message).toMatchObject({ id: messageId, content: text, status: 'COMPLETE' });

      const read = await client.query({ query: CHAT, variables: { id: sessionId }, fetchPolicy: 'network-only' });
      expect(read.data!.chat).toMatchObject({
        id: sessionId,
        title: 'Apollo says hi',
        messageCount: 2,
        messages: [
          { role: 'USER', content: 'Apollo says hi', status: 'COMPLETE' },
          { id: messageId, role: 'ASSISTANT', content: text, status: 'COMPLETE' },
        ],
      });
    } finally {
      client.stop();
      await wsClient.dispose();
    }
  });
});
