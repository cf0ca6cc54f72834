import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { print } from 'graphql';
import { ECHO_MODEL, ModelCatalog } from '../../src/models/model-catalog';
import { processTempDir } from '../../src/speech/speech.service';
import { MeDocument, ModelIdsDocument } from '../generated/graphql';
import { login } from '../helpers/accounts';
import { wavFile } from '../helpers/audio';
import { openGraphqlWs } from '../helpers/raw-ws';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';

/*
 * A client that sends its request body a byte at a time (slowloris) used to hold its
 * connection, and whatever the server had set up for the request, for as long as it liked.
 * Now the whole request must arrive within a deadline; WebSockets and responses that take
 * long after the request arrived are not affected.
 */

const BOUNDARY = 'slow-body-boundary';

/** A catalog whose listing waits for `open()`: a response that takes as long as the test wants. */
class GatedCatalog extends ModelCatalog {
  entered = false;
  private opened = () => undefined as void;
  private readonly gate = new Promise<void>((resolve) => (this.opened = resolve));
  open = () => this.opened();
  override list() {
    this.entered = true;
    return this.gate.then(() => super.list()) as never;
  }
}

/** The app with a half-second deadline for requests, checked often. */
const startApp = (catalog?: ModelCatalog) =>
  startTestApp({
    overrides: catalog ? { catalog } : {},
    timings: (timings) => {
      timings.requests.requestTimeoutMs = 500;
      timings.requests.timeoutCheckIntervalMs = 50;
    },
  });

describe('a request body sent too slowly', () => {
  let t: TestApp;
  /** The server's side of each connection, by the client's port. */
  const serverSockets = new Map<number, Socket>();
  beforeAll(async () => {
    t = await startApp();
    t.app.server.server.on('connection', (socket: Socket) => serverSockets.set(socket.remotePort!, socket));
  });
  afterAll(() => t.close());

  /**
   * Sends `head` at once, then one byte of body every 20 ms, never finishing; resolves once the
   * server closes the connection, with what it answered and its own side of the connection.
   */
  async function trickle(head: string | Buffer): Promise<{ answer: string; serverSide: Socket | undefined }> {
    const socket = connect(Number(new URL(t.url).port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.on('error', () => undefined); // writes racing the server's close
    const port = socket.localPort!; // gone once closed
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(head);
    const dripping = setInterval(() => socket.write('x'), 20);
    await closed;
    clearInterval(dripping);
    return { answer, serverSide: serverSockets.get(port) };
  }

  it('cuts a trickled JSON body with 408 and closes its connection', async () => {
    const { answer, serverSide } = await trickle('POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"query":"');
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(serverSide?.destroyed).toBe(true);
    // The server goes on serving.
    expect((await t.gql(ModelIdsDocument)).status).toBe(200);
  });

  it('cuts a trickled upload and removes what it had buffered', async () => {
    const { token } = await login(t);
    const head = Buffer.concat([
      Buffer.from(
        `POST /v1/ai/speech-to-text HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${1024 * 1024}\r\n\r\n` +
          `--${BOUNDARY}\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`,
      ),
      wavFile(10).subarray(0, 16 * 1024),
    ]);
    const { answer, serverSide } = await trickle(head);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(serverSide?.destroyed).toBe(true);
    await waitFor(() => readdirSync(processTempDir()).length === 0, 5000, 'the upload buffers being removed');
  });

  it('leaves established WebSockets and long responses alone', async () => {
    const gated = new GatedCatalog([ECHO_MODEL]);
    const u = await startApp(gated);
    try {
      const { token, userId } = await login(u);
      const ws = await openGraphqlWs(u.wsUrl, { authorization: `Bearer ${token}` });
      expect(ws.acked).toBe(true);
      const slow = u.gql(ModelIdsDocument); // its request arrives at once; its answer waits for the gate
      await waitFor(() => gated.entered, 5000, 'the slow request reaching the catalog');

      // A body trickled from now on is cut after the deadline: both have been open longer by then.
      const port = Number(new URL(u.url).port);
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      const cut = new Promise<string>((resolve) => {
        let answer = '';
        socket.on('data', (d: Buffer) => (answer += d.toString()));
        socket.once('close', () => resolve(answer));
      });
      socket.write('POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
      const dripping = setInterval(() => socket.write(' '), 20);
      expect(await cut).toMatch(/^HTTP\/1\.1 408 /);
      clearInterval(dripping);

      gated.open();
      const res = await slow;
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ models: [{ id: 'echo' }] });

      // The socket is still open and answers an operation.
      expect(ws.socket.readyState).toBe(ws.socket.OPEN);
      ws.socket.send(JSON.stringify({ id: 'me', type: 'subscribe', payload: { query: print(MeDocument) } }));
      await waitFor(() => ws.messages.find((m) => m.type === 'next' && m.id === 'me'), 5000, 'the socket answering');
      expect(ws.messages.find((m) => m.type === 'next' && m.id === 'me')).toEqual({ id: 'me', type: 'next', payload: { data: { me: { id: userId } } } });
      ws.socket.close();
    } finally {
      gated.open();
      await u.close();
    }
  });
});
