import WebSocket from 'ws';
import { login } from '../helpers/accounts';
import { openGraphqlWs } from '../helpers/raw-ws';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';

/*
 * A graphql-ws socket that closes while its connection_init is being checked (the credential
 * lookup is asynchronous) used to be registered for revocation after it had gone, and never
 * unregistered: 312 of 2,000 such sockets were kept. Every one must be let go.
 */

describe('graphql-ws sockets closed during connection_init', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());
  afterEach(() => jest.restoreAllMocks());

  const liveSessions = () => t.app.deps.authenticator.sessions.count();

  it('counts a socket while it lives and lets it go when it closes', async () => {
    const { token } = await login(t);
    const open = await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${token}` });
    expect(open.acked).toBe(true);
    expect(liveSessions()).toBe(1);
    open.socket.close();
    await open.closed;
    await waitFor(() => liveSessions() === 0, 5000, 'the session being released');
  });

  it('keeps none of many sockets that send connection_init and close while it is checked', async () => {
    const { token } = await login(t);
    // Credential checks finish only when the test says: a slow database, deterministically.
    const authenticator = t.app.deps.authenticator;
    const identify = authenticator.identify.bind(authenticator);
    let letChecksFinish!: () => void;
    const checksMayFinish = new Promise<void>((resolve) => (letChecksFinish = resolve));
    const checking = jest.spyOn(authenticator, 'identify').mockImplementation(async (credentials) => {
      const who = await identify(credentials);
      await checksMayFinish;
      return who;
    });

    const count = 200;
    const sockets = await Promise.all(
      Array.from({ length: count }, async () => {
        const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws');
        await new Promise<void>((resolve, reject) => socket.once('open', () => resolve()).once('error', reject));
        socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
        return socket;
      }),
    );
    await waitFor(() => checking.mock.calls.length === count, 5000, 'every connection_init being checked');
    for (const socket of sockets) socket.terminate();
    await waitFor(() => t.app.server.websocketServer.clients.size === 0, 5000, 'the server seeing every socket close');

    letChecksFinish();
    await Promise.all(checking.mock.results.map((r) => r.value));
    expect(liveSessions()).toBe(0);
  });
});
