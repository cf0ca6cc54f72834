import type { AppError } from '../core/errors';
import { ModerationAction, ModerationStage } from '../db/entities/moderation-event.entity';
import { OutputBlockedError, type OutputFilter, type TextPart } from '../replies/output-filter';
import type { KeywordMatcher, KeywordStream } from './keywords';
import { type CheckContext, CheckerError, type ContentAuthor, type RemoteEngine } from './types';

/** A remote check starts once this many characters arrived unchecked (and none is running)... */
export const WINDOW_CHARS = 200;
/** ...and repeats the end of the text it checked before, so that a phrase across the seam is seen whole. */
export const OVERLAP_CHARS = 50;

export interface ModeratedReplyOptions {
  keywords?: KeywordMatcher;
  /** The remote engines that apply to this reply's user. */
  engines: readonly RemoteEngine[];
  messageId: string;
  author: ContentAuthor;
  /** MODERATION_ON_ERROR: true to refuse what could not be checked. */
  onCheckerError(engine: string, err: CheckerError): boolean;
  onSkip(engine: string, why: string, loud: boolean): void;
  record(hit: { engine: string; action: ModerationAction; labels: readonly string[]; text: string; excerpt?: string }): Promise<void>;
}

interface Unchecked {
  /** All of the part so far. */
  text: string;
  /** How much of `text` remote checks have seen. */
  checked: number;
}

const withheld = () => new OutputBlockedError('CONTENT_BLOCKED', 'The reply was withheld: it broke the content rules');

/**
 * One reply's output moderation (an `OutputFilter`). The keyword list checks every delta
 * before it is let through, holding back what may begin a term (see KeywordStream), so a
 * listed term never reaches a subscriber. Remote engines are too slow for that: they check
 * windows of the text in the background (one check at a time, each covering what arrived
 * since the last, plus an overlap) and a hit stops the reply mid-stream; when the reply ends,
 * the rest is checked before it may be stored, so every character of a kept reply passed.
 */
export class ModeratedReply implements OutputFilter {
  private readonly streams?: Record<TextPart, KeywordStream>;
  private readonly unchecked: Record<TextPart, Unchecked> = { content: { text: '', checked: 0 }, reasoning: { text: '', checked: 0 } };
  private engines: RemoteEngine[];
  private running: Promise<void> | null = null;
  private windows = 0;
  private failure: AppError | null = null;
  private interrupt: (error: AppError) => void = () => undefined;
  private closed = false;

  constructor(private readonly opts: ModeratedReplyOptions) {
    this.engines = [...opts.engines];
    if (opts.keywords) this.streams = { content: opts.keywords.stream(), reasoning: opts.keywords.stream() };
  }

  pass(delta: string, _soFar: string, part: TextPart): string {
    if (this.failure) throw this.failure;
    this.unchecked[part].text += delta;
    let released = delta;
    const stream = this.streams?.[part];
    if (stream) {
      const { released: ok, hit } = stream.push(delta);
      if (hit) {
        void this.opts.record({ engine: 'keywords', action: ModerationAction.BLOCK, labels: ['keyword'], text: this.unchecked[part].text, excerpt: hit.excerpt });
        throw (this.failure = withheld());
      }
      released = ok;
    }
    if (this.engines.length) this.checkSoon();
    return released;
  }

  async finish(_soFar: string, part: TextPart): Promise<string> {
    const rest = this.streams?.[part].end() ?? '';
    while (this.running) await this.running;
    if (!this.failure && this.engines.length && this.unchecked[part].checked < this.unchecked[part].text.length) await this.check(part);
    if (this.failure) throw this.failure;
    return rest;
  }

  watch(interrupt: (error: AppError) => void): void {
    this.interrupt = interrupt;
  }

  close(): void {
    this.closed = true;
  }

  /** Starts a window check when enough text waits and none runs. */
  private checkSoon(): void {
    if (this.running || this.failure || this.closed) return;
    const part = (['reasoning', 'content'] as const).find((p) => this.unchecked[p].text.length - this.unchecked[p].checked >= WINDOW_CHARS);
    if (!part) return;
    this.running = this.check(part).finally(() => {
      this.running = null;
      this.checkSoon();
    });
  }

  /** Checks what `part` has unchecked (with the overlap) with every engine in turn. */
  private async check(part: TextPart): Promise<void> {
    const u = this.unchecked[part];
    const end = u.text.length;
    let start = Math.max(0, u.checked - OVERLAP_CHARS);
    // Never start on the second half of a surrogate pair.
    if (start > 0 && /[\uDC00-\uDFFF]/.test(u.text[start])) start--;
    const text = u.text.slice(start, end);
    const ctx: CheckContext = { stage: ModerationStage.OUTPUT, author: this.opts.author, requestId: `${this.opts.messageId}-${++this.windows}` };
    for (const engine of [...this.engines]) {
      if (this.failure) return;
      try {
        const verdict = await engine.check(text, ctx);
        if (verdict.action === 'skip') {
          this.engines = this.engines.filter((e) => e !== engine);
          this.opts.onSkip(engine.name, verdict.why, verdict.loud);
        } else if (verdict.action !== 'pass') {
          // Masking cannot take back what was sent already: for a reply it blocks.
          await this.opts.record({ engine: engine.name, action: ModerationAction.BLOCK, labels: verdict.labels, text });
          return this.fail(withheld());
        }
      } catch (err) {
        if (!(err instanceof CheckerError)) throw err;
        if (this.opts.onCheckerError(engine.name, err)) return this.fail(new OutputBlockedError('MODERATION_UNAVAILABLE', 'The reply was withheld: the content check is unavailable'));
        // Allowed through unchecked (logged): not asked again for this reply.
        this.engines = this.engines.filter((e) => e !== engine);
      }
    }
    u.checked = Math.max(u.checked, end);
  }

  private fail(error: AppError): void {
    this.failure ??= error;
    if (!this.closed) this.interrupt(this.failure);
  }
}
