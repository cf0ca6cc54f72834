import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../core/logger';
import { KeywordMatcher, parseKeywordList } from './keywords';

/**
 * The keyword list of MODERATION_KEYWORDS_FILE, reloaded without a restart when the file
 * changes. fs.watch sees most changes at once; it watches the folder rather than the file
 * because editors and deploy tools replace a file (a new inode) instead of writing into it,
 * and a watch on the old inode would go quiet. A periodic stat catches what fs.watch misses
 * (network and container file systems). A file that cannot be read, mid-write or deleted,
 * leaves the previous list in force and is logged at error.
 */
export class KeywordList {
  private matcher: KeywordMatcher;
  private digest: string;
  private stamp: string;
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  /** How many times a changed list has been loaded (0: the list of the start). */
  reloads = 0;

  constructor(
    private readonly file: string,
    private readonly logger: Logger,
  ) {
    // At start a list that cannot be read stops the server (config.ts checked it is readable).
    const text = readFileSync(file, 'utf8');
    this.matcher = new KeywordMatcher(parseKeywordList(text));
    this.digest = digestOf(text);
    this.stamp = this.statStamp();
    logger.info({ component: 'moderation', file, terms: this.matcher.size }, 'keyword list loaded');
  }

  /** The list in force now. */
  get current(): KeywordMatcher {
    return this.matcher;
  }

  /** Starts watching the file; `checkEveryMs` is the stat fallback's interval. */
  watch(checkEveryMs: number): void {
    try {
      this.watcher = watch(dirname(this.file), { persistent: false }, (_event, name) => {
        if (!name || name === basename(this.file)) this.reload();
      });
      this.watcher.on('error', (err) => this.logger.warn({ component: 'moderation', err: { message: err.message } }, 'watching the keyword file failed; checking it periodically instead'));
    } catch (err) {
      this.logger.warn({ component: 'moderation', err: { message: (err as Error).message } }, 'cannot watch the keyword file; checking it periodically instead');
    }
    this.timer = setInterval(() => {
      if (this.statStamp() !== this.stamp) this.reload();
    }, checkEveryMs);
    this.timer.unref();
  }

  /** Reads the file again; a list with the same text is kept as it is. */
  reload(): void {
    let text: string;
    try {
      this.stamp = this.statStamp();
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      this.logger.error({ component: 'moderation', file: this.file, err: { message: (err as Error).message } }, 'cannot read the keyword file; the previous list stays in force');
      return;
    }
    const digest = digestOf(text);
    if (digest === this.digest) return;
    this.matcher = new KeywordMatcher(parseKeywordList(text));
    this.digest = digest;
    this.reloads++;
    // An empty list is legal (and a file being rewritten may be empty for a moment): say so.
    const level = this.matcher.size ? 'info' : 'warn';
    this.logger[level]({ component: 'moderation', file: this.file, terms: this.matcher.size }, 'keyword list reloaded');
  }

  close(): void {
    this.watcher?.close();
    clearInterval(this.timer);
  }

  /** What changes when the file is written or replaced ('' when it is gone). */
  private statStamp(): string {
    try {
      const s = statSync(this.file);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return '';
    }
  }
}

const digestOf = (text: string) => createHash('sha256').update(text).digest('hex');
