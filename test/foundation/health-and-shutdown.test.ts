import WebSocket from 'ws';
import type { AppConfig } from '../../src/config';
import { openOrm } from '../../src/db/orm';
import { ModelIdsDocument, SendMessageDocument } from '../generated/graphql';
import { login } from '../helpers/accounts';
import { dataOf, startAppWithFakeAi } from '../helpers/replies';
import { ECHO_MODEL, ModelCatalog } from '../../src/models/model-catalog';
import { startTestApp } from '../helpers/test-app';

describe('health', () => {
  it('answers /healthz and /readyz, and /readyz turns 503 naming the database when it is gone', async () => {
    const t = await startTestApp();
    try {
      expect(await (await fetch(`${t.url}/healthz`)).json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${t.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ok' });

      await t.app.deps.orm.close(true);
      const down = await fetch(`${t.url}/readyz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ status: 'unavailable', failing: ['database'] });
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    } finally {
      await t.app.deps.orm.connect();
      await t.close();
    }
  });
});

/** A promise with its resolve function, for a test to settle when it chooses. */
function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('graceful shutdown', () => {
  /**
   * A catalog whose listing waits until the test opens `gate` (or forever), standing in for any
   * slow or hanging request; `entered` settles once a request is inside it.
   */
  class GatedCatalog extends ModelCatalog {
    readonly entered = deferred();
    readonly gate = deferred();
    override list() {
      this.entered.resolve();
      return this.gate.promise.then(() => super.list()) as never;
    }
  }

  it('lets a running request finish, closes sockets with 1001, refuses new work and resolves 0', async () => {
    const catalog = new GatedCatalog([ECHO_MODEL]);
    const t = await startTestApp({ overrides: { catalog } });
    const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));

    const slow = t.gql(ModelIdsDocument);
    await catalog.entered.promise; // the request is now inside the resolver
    const stopping = t.app.shutdown('SIGTERM');
    // Sockets are closed first, while the request is still running; then it may finish.
    expect(await closed).toBe(1001);
    catalog.gate.resolve();

    const res = await slow;
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ models: [{ id: 'echo' }] });
    expect(await stopping).toBe(0);
    await expect(fetch(`${t.url}/healthz`)).rejects.toThrow();
    await t.close();
  });

  it('stops waiting after SHUTDOWN_TIMEOUT_MS when a request hangs', async () => {
    const catalog = new GatedCatalog([ECHO_MODEL]); // never opened: the request hangs
    const t = await startTestApp({ env: { SHUTDOWN_TIMEOUT_MS: '300' }, overrides: { catalog } });
    const hanging = t.gql(ModelIdsDocument).catch((e: unknown) => e);
    await catalog.entered.promise;
    // The request never finishes, so shutdown resolving at all is the proof it stopped waiting.
    expect(await t.app.shutdown('SIGTERM')).toBe(0);
    expect(String(await hanging)).toMatch(/fetch failed|terminated|socket/i);
    await t.close();
  });
});

describe('replies running at shutdown', () => {
  it('are given the shutdown timeout to finish, then stored as STOPPED with what they generated', async () => {
    const { t, ai } = await startAppWithFakeAi({ chunkSize: 2, delayMs: 50 }, { SHUTDOWN_TIMEOUT_MS: '300' });
    try {
      const user = await login(t);
      ai.nextReplies.push('x'.repeat(400));
      const sent = dataOf(await t.gql(SendMessageDocument, { input: { content: 'long one', stream: true } }, user)).sendMessage;
      const done = t.app.deps.replies.done(sent.messageId);
      expect(await t.app.shutdown('SIGTERM')).toBe(0);
      // The final write happened before the database closed: the done event carries the final message.
      const final = (await done)!.message!;
      expect(final.status).toBe('STOPPED');
      expect(final.content.length).toBeGreaterThan(0);
      expect(final.content.length).toBeLessThan(400);
      const stored = await readMessage(t.config, sent.messageId);
      expect(stored).toEqual({ status: 'STOPPED', content: final.content });
    } finally {
      await t.close();
      await ai.close();
    }
  });
});

/** Reads one message row after the app has closed its own connection. */
async function readMessage(config: AppConfig, id: string): Promise<{ status: string; content: string }> {
  const orm = await openOrm(config.database, { migrate: false });
  try {
    const [row] = await orm.em.fork().getConnection().execute<Array<{ status: string; content: string }>>('select status, content from messages where id = ?', [id]);
    if (!row) throw new Error(`no message ${id}`);
    return { status: row.status, content: row.content };
  } finally {
    await orm.close(true);
  }
}
