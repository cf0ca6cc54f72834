import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { print } from 'graphql';
import { processTempDir } from '../../src/speech/speech.service';
import { LoginDocument } from '../generated/graphql';
import { login } from '../helpers/accounts';
import { wavFile } from '../helpers/audio';
import { type ChildServer, startChildServer } from '../helpers/child-server';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';

/*
 * A client that goes away in the middle of a REST speech upload must leave no temporary file
 * and no open file descriptor behind; and the files a crashed run left are removed at the
 * next start. Files are counted in the server's temporary folders, descriptors in
 * /proc/self/fd (the app runs in this process).
 */

/** This process's folder (the app's, since it runs here) and the root of every process's. */
const OWN_DIR = processTempDir();
const TEMP_ROOT = dirname(OWN_DIR);

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
      .sort();
  } catch {
    return [];
  }
}

/** What this process's descriptors point at. */
function openFds(): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return []; // closed while listing (readdir's own)
    }
  });
}
const fdsOnTempFiles = () => openFds().filter((target) => target.startsWith(TEMP_ROOT));
/** Descriptors other than sockets (the database pool and Redis may open connections meanwhile). */
const fileFds = () => openFds().filter((target) => !target.startsWith('socket:'));

const BOUNDARY = 'hardening-boundary';

/** Opens a REST speech upload by hand and sends the first `bytes` of a WAV that claims to be much longer. */
async function startUpload(url: string, token: string, bytes: number): Promise<Socket> {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => undefined);
  const head =
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="language"\r\n\r\nzh\r\n` +
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`;
  socket.write(
    `POST /v1/ai/speech-to-text HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n${head}`,
  );
  socket.write(wavFile(10).subarray(0, bytes));
  return socket;
}

describe('abandoned REST speech uploads', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp();
    ({ token } = await login(t));
  });
  afterAll(() => t.close());

  it('remove both temporary files and close both descriptors when the client goes away mid-upload', async () => {
    const before = fileFds().length;
    expect(filesUnder(OWN_DIR)).toEqual([]);

    const sockets = await Promise.all([1, 2, 3].map(() => startUpload(t.url, token, 64 * 1024)));
    // Each upload is buffered (fs-capacitor) and copied by the speech service as it arrives:
    // two files and two descriptors each, while the rest of the body is awaited.
    const during = await waitFor(() => {
      const files = filesUnder(OWN_DIR);
      return files.length === 6 && fdsOnTempFiles().length === 6 && files;
    }, 5000, 'three uploads being received');
    expect(during.filter((f) => /^capacitor-[0-9a-f]+\.tmp$/.test(f))).toHaveLength(3);
    expect(during.filter((f) => /^stt-[^/]+\/upload$/.test(f))).toHaveLength(3);

    for (const socket of sockets) socket.destroy();
    await waitFor(() => filesUnder(OWN_DIR).length === 0 && fdsOnTempFiles().length === 0, 5000, 'the temporary files being removed').catch(() => undefined);
    expect(filesUnder(OWN_DIR)).toEqual([]);
    expect(fdsOnTempFiles()).toEqual([]);
    // Nor any other file: the process holds no more than before.
    await waitFor(() => fileFds().length <= before, 5000, 'descriptors coming back to where they were').catch(() => undefined);
    expect(fileFds().length).toBeLessThanOrEqual(before);
  });

  it('leaves nothing when the client goes away before the file starts, and still transcribes afterwards', async () => {
    const { port } = new URL(t.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.on('error', () => undefined);
    socket.write(
      `POST /v1/ai/speech-to-text HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: 100000\r\n\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="language"\r\n\r\nzh`,
    );
    socket.destroy();

    const form = new FormData();
    form.append('audio', new Blob([new Uint8Array(wavFile(0.5))]), 'a.wav');
    const res = await fetch(`${t.url}/v1/ai/speech-to-text`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: { durationSeconds: number } }).data.durationSeconds).toBe(0.5);
    await waitFor(() => filesUnder(OWN_DIR).length === 0 && fdsOnTempFiles().length === 0, 5000, 'the temporary files being removed').catch(() => undefined);
    expect(filesUnder(OWN_DIR)).toEqual([]);
    expect(fdsOnTempFiles()).toEqual([]);
  });
});

/** The real server in a process of its own, on its own SQLite file, to kill with SIGKILL. */
function startChild(): Promise<ChildServer> {
  return startChildServer({ DATABASE_URL: `sqlite:${join(mkdtempSync(join(tmpdir(), 'chat-test-')), 'app.db')}` });
}

describe('temporary files of a crashed run', () => {
  it('are removed at the next start; those of running processes and other files are kept', async () => {
    const child = await startChild();
    let childDir: string | undefined;
    try {
      const res = await fetch(`${child.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: print(LoginDocument), variables: { input: { code: 'crash-test' } } }),
      });
      const childToken = ((await res.json()) as { data: { wechatLogin: { token: string } } }).data.wechatLogin.token;
      const socket = await startUpload(child.url, childToken, 64 * 1024);
      childDir = await waitFor(() => {
        const dir = readdirSync(TEMP_ROOT).find((name) => name.startsWith(`${child.pid}-`));
        return dir && filesUnder(join(TEMP_ROOT, dir)).length === 2 && join(TEMP_ROOT, dir);
      }, 10_000, "the child's upload being received");
      await child.kill9();
      socket.destroy();
    } finally {
      await child.kill9();
    }
    // The killed process could not clean up: its two files are still there.
    expect(filesUnder(childDir)).toHaveLength(2);

    // A folder of a process that still runs (this test's parent), and a file that is not a process folder.
    const runningDir = join(TEMP_ROOT, `${process.ppid}-0123456789ab`);
    mkdirSync(runningDir, { recursive: true });
    writeFileSync(join(runningDir, 'capacitor-1.tmp'), 'in use');
    writeFileSync(join(TEMP_ROOT, 'notes.txt'), 'not ours to judge');
    writeFileSync(join(OWN_DIR, 'capacitor-own.tmp'), 'this process');
    const t = await startTestApp();
    try {
      expect(readdirSync(TEMP_ROOT)).not.toContain(childDir.slice(TEMP_ROOT.length + 1));
      expect(filesUnder(runningDir)).toEqual(['capacitor-1.tmp']);
      expect(readdirSync(TEMP_ROOT)).toEqual(expect.arrayContaining(['notes.txt', OWN_DIR.slice(TEMP_ROOT.length + 1)]));
      expect(filesUnder(OWN_DIR)).toEqual(['capacitor-own.tmp']);
    } finally {
      await t.close();
      for (const path of [runningDir, join(TEMP_ROOT, 'notes.txt'), join(OWN_DIR, 'capacitor-own.tmp')]) rmSync(path, { recursive: true, force: true });
    }
  });
});
