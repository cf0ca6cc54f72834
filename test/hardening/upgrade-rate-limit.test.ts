import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { openGraphqlWs } from '../helpers/raw-ws';
import { startTestApp, type TestApp } from '../helpers/test-app';

/*
 * Only real WebSocket handshakes on the WebSocket paths skip the per-request HTTP limit (their
 * operations are counted instead). Any other request that carries an `Upgrade:` header is
 * counted like every request. Requests are written by hand: fetch refuses these headers.
 */

const LIMIT = 2;
const QUERY = JSON.stringify({ query: '{ models { id } }' });
const handshakeHeaders = (key = randomBytes(16).toString('base64')) => `Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n`;

/** Sends one raw HTTP/1.1 request and returns the status code of the answer. */
async function statusOf(url: string, request: string): Promise<number> {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  try {
    return await new Promise<number>((resolve, reject) => {
      let head = '';
      socket.on('data', (d: Buffer) => {
        head += d.toString('latin1');
        const line = /^HTTP\/1\.1 (\d{3})/.exec(head);
        if (line) resolve(Number(line[1]));
      });
      socket.once('error', reject);
      socket.once('close', () => reject(new Error(`closed without an answer: ${JSON.stringify(head)}`)));
      socket.write(request);
    });
  } finally {
    socket.destroy();
  }
}

const post = (headers: string) =>
  `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(QUERY)}\r\n${headers}\r\n${QUERY}`;
const get = (path: string, headers: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`;

/** The statuses of LIMIT + 1 of the same request, one after another. */
async function statuses(t: TestApp, request: () => string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i <= LIMIT; i++) out.push(await statusOf(t.url, request()));
  return out;
}

describe('requests carrying an Upgrade header count against the request limit', () => {
  // A fresh app per test: every request here is anonymous from 127.0.0.1.
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ env: { RATE_LIMIT_PER_MINUTE: String(LIMIT) } });
  });
  afterEach(() => t.close());

  it('a POST /graphql with Upgrade: websocket (no Connection: upgrade)', async () => {
    expect(await statuses(t, () => post('Upgrade: websocket\r\n'))).toEqual([200, 200, 429]);
  });

  it('a POST /graphql with the full set of handshake headers', async () => {
    // Node hands an upgrade request's body to the upgrade, not to the request: Apollo finds none (400).
    expect(await statuses(t, () => post(handshakeHeaders()))).toEqual([400, 400, 429]);
  });

  it('a GET /graphql query with Upgrade: websocket but no handshake', async () => {
    const path = `/graphql?query=${encodeURIComponent('{ models { id } }')}`;
    expect(await statuses(t, () => get(path, 'Upgrade: websocket\r\nApollo-Require-Preflight: 1\r\n'))).toEqual([200, 200, 429]);
  });

  it('a handshake on /graphql that the WebSocket server refuses (a malformed key)', async () => {
    expect(await statuses(t, () => get('/graphql', handshakeHeaders('not-a-key')))).toEqual([400, 400, 429]);
  });

  it('a handshake on a REST path, which has no WebSocket', async () => {
    // The socket library switches protocols and closes a socket nobody serves; the third is refused first.
    expect(await statuses(t, () => get('/v1/models', handshakeHeaders()))).toEqual([101, 101, 429]);
  });

  it('but not a real graphql-ws handshake on /graphql: it opens even when the HTTP limit is spent', async () => {
    expect(await statuses(t, () => post('Upgrade: websocket\r\n'))).toEqual([200, 200, 429]);
    const ws = await openGraphqlWs(t.wsUrl);
    try {
      expect(ws.acked).toBe(true);
    } finally {
      ws.socket.close();
    }
  });
});
