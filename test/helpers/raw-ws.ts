import WebSocket from 'ws';

/**
 * A raw graphql-transport-ws connection: sends connection_init with `payload` and resolves
 * once acknowledged (or closed), exposing how and why the socket closed.
 */
export async function openGraphqlWs(wsUrl: string, payload?: Record<string, unknown>) {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const messages: Array<Record<string, unknown>> = [];
  const ackReceived = new Promise<boolean>((resolve) => {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Record<string, unknown>;
      messages.push(message);
      if (message.type === 'connection_ack') resolve(true);
    });
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no WebSocket connection to ${wsUrl} within 5 s`)), 5000);
    socket.once('open', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload }));
  const acked = await Promise.race([ackReceived, closed.then(() => false)]);
  return { socket, acked, closed, messages };
}
