import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { login } from '../helpers/accounts';
import { waitFor } from '../helpers/wait';
import { ModeratedSendDocument } from '../generated/graphql';
import { logged, startModeratedApp } from './setup';

/* The keyword list is reloaded while the server runs, however the file is changed. */
describe('content security: keyword list reload', () => {
  let app: Awaited<ReturnType<typeof startModeratedApp>>;
  beforeAll(async () => {
    app = await startModeratedApp({ terms: ['敏感词'] });
  });
  afterAll(() => app.close());

  const reasonOf = async (content: string) => {
    const { token } = await login(app.t);
    const res = await app.t.gql(ModeratedSendDocument, { input: { content } }, { token });
    return res.body.errors?.[0].extensions.details?.reason ?? res.body.data?.sendMessage.reply.status;
  };
  const reloads = () => app.t.app.deps.moderation.keywords!.reloads;

  it('picks up a file written in place, and one replaced by a rename, without a restart', async () => {
    const file = app.file!;
    expect(await reasonOf('说一个新词')).toBe('COMPLETE');

    writeFileSync(file, '# rewritten\n新词\n');
    await waitFor(() => reloads() === 1, 10_000, 'the list being reloaded');
    expect(await reasonOf('说一个新词')).toBe('CONTENT_BLOCKED');
    expect(await reasonOf('敏感词 is no longer listed')).toBe('COMPLETE');

    // As editors and deploy tools do: a new file moved over the old one.
    const next = join(dirname(file), 'keywords.txt.tmp');
    writeFileSync(next, '另一个词\n');
    renameSync(next, file);
    await waitFor(() => reloads() === 2, 10_000, 'the replaced list being loaded');
    expect(await reasonOf('这是另一个词')).toBe('CONTENT_BLOCKED');
    expect(await reasonOf('说一个新词')).toBe('COMPLETE');
    expect(logged(app.logs, 'keyword list reloaded').map((l) => l.terms)).toEqual([1, 1]);
  });

  it('keeps the list in force when the file disappears, and says so', async () => {
    unlinkSync(app.file!);
    await waitFor(() => logged(app.logs, 'cannot read the keyword file').length > 0, 10_000, 'the failed read being logged');
    expect(logged(app.logs, 'cannot read the keyword file')[0]).toMatchObject({ level: 50, file: app.file });
    expect(await reasonOf('这是另一个词')).toBe('CONTENT_BLOCKED');
  });
});
