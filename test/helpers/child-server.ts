import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface ChildServer {
  url: string;
  pid: number;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The real server in a process of its own (test/faults/child-server.ts, compiled by swc on
 * load), for tests that kill it. `env` is all it reads besides a few test defaults.
 */
export async function startChildServer(env: Record<string, string>): Promise<ChildServer> {
  const proc: ChildProcess = spawn(process.execPath, ['-r', join(ROOT, 'test/helpers/swc-register.js'), join(ROOT, 'test/faults/child-server.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', JWT_SECRET: 'child-server-test-secret-long-enough', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"url"'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    proc.once('exit', (code) => reject(new Error(`the server exited with ${code} before listening`)));
  });
  const signal = async (name: NodeJS.Signals) => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(name);
    await exited;
  };
  return { url, pid: proc.pid!, kill9: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}
