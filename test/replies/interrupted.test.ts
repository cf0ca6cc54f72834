import { ProviderChatDocument } from '../generated/graphql';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { login, rows } from '../helpers/accounts';
import { dataOf, sent } from '../helpers/replies';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';

/*
 * A reply whose final write fails is not left STREAMING: the instance writes it again on its
 * next sweep, with what the user was given. (A reply whose server died is covered by
 * test/faults/kill-mid-stream.test.ts.)
 */
describe('a reply whose final write fails', () => {
  let ai: FakeOpenAI;
  let t: TestApp;

  beforeAll(async () => {
    ai = await startFakeOpenAI();
    t = await startTestApp({
      env: { ...ai.env(), DEFAULT_MODEL: 'gpt-test' },
      timings: (timings) => {
        timings.replies.sweepIntervalMs = 100;
        timings.replies.sweepMinAgeMs = 50;
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await ai.close();
  });

  it('is answered as generated, stored by the next sweep, and never finished FAILED meanwhile', async () => {
    const { token } = await login(t);
    const store = jest.spyOn(t.app.deps.recorder, 'store');
    store.mockRejectedValueOnce(new Error('the database went away')).mockRejectedValueOnce(new Error('still away'));
    const reply = await sent(t, token, { content: 'remember me' });
    expect(reply.reply).toMatchObject({ status: 'COMPLETE', content: 'Echo: remember me' });

    const status = async () => (await rows(t, 'select status, content from messages where id = ?', [reply.messageId]))[0];
    await waitFor(async () => (await status()).status === 'COMPLETE', 5000, 'the sweep writing the reply');
    expect(await status()).toEqual({ status: 'COMPLETE', content: 'Echo: remember me' });
    // Tried at the end of the reply, again by a sweep (failed), then once more.
    expect(store).toHaveBeenCalledTimes(3);
    const messages = dataOf(await t.gql(ProviderChatDocument, { id: reply.sessionId }, { token })).chat.messages;
    expect(messages[1]).toMatchObject({ status: 'COMPLETE', finishReason: 'STOP', content: 'Echo: remember me' });
    store.mockRestore();
  });
});
