import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** A tiny HTTP server on 127.0.0.1 for fakes of upstream providers. */
export async function listenFake(handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      Promise.resolve(handler(req, res, Buffer.concat(chunks))).catch((err) => {
        res.writeHead(500).end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A fake's scripted latency: what it simulates, not a test waiting. The timers are unref'd
 * and `clear()` (on close) cancels them, so a slow or hanging script never keeps jest alive.
 */
export function scriptedDelays() {
  const timers = new Set<NodeJS.Timeout>();
  return {
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, ms);
        t.unref();
        timers.add(t);
      }),
    clear: () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
