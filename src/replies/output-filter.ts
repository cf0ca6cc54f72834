import { AppError } from '../core/errors';

/** The two kinds of text a model writes: the answer, and its visible reasoning. */
export type TextPart = 'content' | 'reasoning';

/**
 * A check on what the model writes before anyone sees it or it is stored: the place where
 * output moderation plugs in. One filter per reply (it may keep state: text held back,
 * checks under way), made by an `OutputFilterFactory` when the reply starts.
 *
 * - `pass` sees every piece of text, in order, and returns what to let through now ('' holds
 *   it all back). Throwing an `OutputBlockedError` ends the reply BLOCKED (its text is
 *   withheld); any other `AppError` ends it FAILED with that error, keeping what was let
 *   through before.
 * - `finish` is awaited once per part when the provider is done (and on a stop or failure,
 *   whose text is kept too): it returns what was held back, once the filter's checks of the
 *   whole text have passed. It may throw as `pass` does.
 * - `watch` gets a function to call when a check running in the background condemns the
 *   reply: generation stops at once and ends as the error says.
 * - `close` is called when the reply has ended, whichever way: stop background work.
 */
export interface OutputFilter {
  pass(delta: string, passedSoFar: string, part: TextPart): string;
  finish?(passedSoFar: string, part: TextPart): string | Promise<string>;
  watch?(interrupt: (error: AppError) => void): void;
  close?(): void;
}

/** Who a reply is written for, as far as filters need it (WeChat's check needs the openid). */
export interface ReplyAudience {
  messageId: string;
  ownerId: string;
  author?: { appId: string; openid: string };
}

/** Makes a reply's filter; null when it has nothing to check for this reply. */
export interface OutputFilterFactory {
  forReply(reply: ReplyAudience): OutputFilter | null;
}

/**
 * Ends a reply BLOCKED / CONTENT_FILTER: nothing of it is shown or stored. CONTENT_BLOCKED
 * when the text broke the rules (its done event says `error.code` CONTENT_BLOCKED),
 * MODERATION_UNAVAILABLE when it could not be checked and unchecked text is refused.
 */
export class OutputBlockedError extends AppError {
  constructor(reason: 'CONTENT_BLOCKED' | 'MODERATION_UNAVAILABLE', message: string) {
    super(reason === 'CONTENT_BLOCKED' ? 'FORBIDDEN' : 'UPSTREAM_ERROR', message, { reason });
  }

  /** The `code` of the done event's error: CONTENT_BLOCKED names itself, as clients look for it there. */
  get eventCode(): string {
    return this.details?.reason === 'CONTENT_BLOCKED' ? 'CONTENT_BLOCKED' : this.code;
  }
}

/** A reply's filters in order: what one lets through goes into the next. */
export class FilterChain {
  constructor(private readonly filters: readonly OutputFilter[]) {}

  pass(delta: string, soFar: string, part: TextPart): string {
    let text = delta;
    for (const f of this.filters) {
      if (!text) break;
      text = f.pass(text, soFar, part);
    }
    return text;
  }

  /** Each filter's held-back text, passed through the filters after it. */
  async finish(soFar: string, part: TextPart): Promise<string> {
    let tail = '';
    for (const f of this.filters) {
      if (tail) tail = f.pass(tail, soFar, part);
      tail += (await f.finish?.(soFar, part)) ?? '';
    }
    return tail;
  }

  watch(interrupt: (error: AppError) => void): void {
    for (const f of this.filters) f.watch?.(interrupt);
  }

  close(): void {
    for (const f of this.filters) f.close?.();
  }
}
