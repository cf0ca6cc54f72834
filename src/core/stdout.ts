import { writeSync } from 'node:fs';

/** How many times a full pipe (EAGAIN) is tried again before a log line is dropped. */
const FULL_PIPE_RETRIES = 1_000;

/**
 * Standard output for the logger, written synchronously. Unlike pino's default destination
 * it survives a reader that goes away (`node dist/index.js | cat` and Ctrl-C, a `tee` that
 * was killed): later lines are dropped instead of the process hanging at exit, where
 * sonic-boom retries a write to a closed pipe forever.
 */
export function stdoutSink(fd = 1): { write(line: string): void } {
  let closed = false;
  return {
    write(line: string) {
      if (closed) return;
      let data = Buffer.from(line, 'utf8');
      for (let retries = 0; data.length > 0; ) {
        try {
          data = data.subarray(writeSync(fd, data));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN' && ++retries < FULL_PIPE_RETRIES) continue;
          // EPIPE and the like: nobody reads any more. Drop this line and the rest.
          if (code !== 'EAGAIN') closed = true;
          return;
        }
      }
    },
  };
}
