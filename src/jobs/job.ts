import type { Logger } from '../core/logger';

/** Work the app does on its own, on a timer: started once the app is up, stopped at shutdown. */
export interface Job {
  readonly name: string;
  start(): void;
  stop(): void;
}

/**
 * A job that runs `work` every `everyMs` (and once at start with `runAtStart`); a failed run
 * is logged and the next one comes as usual.
 */
export function intervalJob(name: string, everyMs: number, work: () => Promise<unknown>, logger: Logger, opts: { runAtStart?: boolean } = {}): Job {
  let timer: NodeJS.Timeout | undefined;
  const run = () => void work().catch((err) => logger.warn({ err, job: name }, `${name} failed`));
  return {
    name,
    start() {
      if (timer) return;
      if (opts.runAtStart) run();
      timer = setInterval(run, everyMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
