import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { waitFor } from './wait';

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A private redis-server on its own port (nothing saved to disk) that a test can stop and
 * start again, to see what the app does while Redis is gone.
 */
export async function startPrivateRedis(port = 20000 + Math.floor(Math.random() * 20000)) {
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitFor(() => listening(port), 5000, `redis-server listening on ${port}`, 50);
  };
  const stop = async () => {
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc!.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };
  /** SIGSTOP: the server keeps its connections open but answers nothing (a hung Redis). */
  const pause = () => void proc?.kill('SIGSTOP');
  const resume = () => void proc?.kill('SIGCONT');
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, start, stop, pause, resume };
}
