import { Writable } from 'node:stream';
import pino from 'pino';
import { loggerOptions } from '../../src/http/logging';
import type { AppConfig } from '../../src/config';

/** A real pino logger (with the app's redaction) whose lines the test can read. */
export function captureLogs(config: AppConfig, level = 'debug') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = pino({ ...loggerOptions(config), level }, stream);
  return { logger, lines, text: () => lines.join('') };
}
