import { login } from '../helpers/accounts';
import { dataOf } from '../helpers/replies';
import { startFakeModerationWebhook, type FakeModerationWebhook } from '../fakes/moderation-webhook';
import { ModeratedSendDocument } from '../generated/graphql';
import { count, footprint, logged, startModeratedApp } from './setup';

/*
 * A checker that is down, hangs or answers nonsense is never silent: MODERATION_ON_ERROR=allow
 * lets the text through and logs at error; block refuses it (UPSTREAM_ERROR /
 * MODERATION_UNAVAILABLE), stores nothing, calls no provider, and counts no hit.
 */
const ERROR = 50;

describe.each(['allow', 'block'] as const)('content security: a checker that fails, MODERATION_ON_ERROR=%s', (onError) => {
  let webhook: FakeModerationWebhook;
  let app: Awaited<ReturnType<typeof startModeratedApp>>;
  beforeAll(async () => {
    webhook = await startFakeModerationWebhook();
    app = await startModeratedApp({ terms: null, env: { ...webhook.env(), MODERATION_ON_ERROR: onError, MODERATION_WEBHOOK_TIMEOUT_MS: '300' } });
  });
  afterEach(() => {
    webhook.mode = 'ok';
    webhook.judge = () => ({ action: 'pass' });
  });
  afterAll(async () => {
    await app.close();
    await webhook.close();
  });

  it.each([
    ['answers 500', 'down', 'HTTP 500'],
    ['never answers', 'hang', 'no answer within 300 ms'],
    ['answers without an action', 'garbage', 'without a valid action'],
  ] as const)('on input, when the webhook %s', async (_what, mode, why) => {
    const { t, ai, logs } = app;
    const { token } = await login(t);
    webhook.mode = mode;
    const before = await footprint(t, ai);
    const linesBefore = logs.lines.length;
    const res = await t.gql(ModeratedSendDocument, { input: { content: `checked while ${mode}` } }, { token });
    const failures = logged({ lines: logs.lines.slice(linesBefore) }, 'content checker failed');
    const failure = expect.objectContaining({ level: ERROR, engine: 'webhook', onError, err: expect.objectContaining({ message: expect.stringContaining(why) }) });
    // Allowed through, the text reaches the model, whose reply fails its check the same way.
    expect(failures).toEqual(onError === 'allow' ? [failure, failure] : [failure]);
    if (onError === 'allow') {
      expect(res.body.data?.sendMessage.reply).toMatchObject({ status: 'COMPLETE', content: `Echo: checked while ${mode}` });
    } else {
      expect(res.status).toBe(502);
      expect(res.body.errors?.[0].extensions).toEqual({ code: 'UPSTREAM_ERROR', status: 502, details: { reason: 'MODERATION_UNAVAILABLE' } });
      expect(await footprint(t, ai)).toEqual(before);
    }
    expect(await count(t, 'select count(*) as n from moderation_events')).toBe(0);
  });

  it('on output, when the webhook fails on the reply', async () => {
    const { t, logs } = app;
    const { token } = await login(t);
    webhook.judge = (_text, stage) => {
      if (stage === 'output') throw new Error('checker crashed');
      return { action: 'pass' };
    };
    const linesBefore = logs.lines.length;
    const sent = dataOf(await t.gql(ModeratedSendDocument, { input: { content: 'hello' } }, { token })).sendMessage;
    expect(logged({ lines: logs.lines.slice(linesBefore) }, 'content checker failed')).toEqual([expect.objectContaining({ level: ERROR, engine: 'webhook' })]);
    if (onError === 'allow') expect(sent.reply).toMatchObject({ status: 'COMPLETE', content: 'Echo: hello' });
    else expect(sent.reply).toMatchObject({ status: 'BLOCKED', finishReason: 'CONTENT_FILTER', content: '' });
    expect(await count(t, 'select count(*) as n from moderation_events')).toBe(0);
  });
});
