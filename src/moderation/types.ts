import type { ModerationStage } from '../db/entities/moderation-event.entity';

/** Who wrote a text (input) or who it is for (output), as the engines need it. */
export interface ContentAuthor {
  /** Null for a first login, before the account exists. */
  userId: string | null;
  /** The mini-program of the openid ('local' for development logins, which have none). */
  appId: string;
  openid: string;
}

/** One text of a request to check, with the input field it came from (for the error and the record). */
export interface InputItem {
  field: string;
  text: string;
}

/** What an engine says about one text. */
export type Verdict =
  | { action: 'pass' }
  | { action: 'block'; labels: string[] }
  /** Only the webhook masks: `text` is the input with the offending parts replaced. */
  | { action: 'mask'; labels: string[]; text: string }
  /** The engine cannot judge this author's text (WeChat: no usable openid); `why` is logged. */
  | { action: 'skip'; why: string; loud: boolean };

export interface CheckContext {
  stage: ModerationStage;
  author: ContentAuthor;
  /** Identifies the check in the engine's logs and ours. */
  requestId: string;
  /** A profile text (the nickname) rather than a message: WeChat judges those by other rules. */
  profile?: boolean;
}

/** A checker called over the network (the webhook, WeChat). Throws CheckerError when it cannot answer. */
export interface RemoteEngine {
  readonly name: 'webhook' | 'wechat';
  /** The most characters one call takes; longer texts are split. */
  readonly maxChars: number;
  /** Whether it can judge this author's texts at all (WeChat needs a mini-program openid). */
  applies(author: ContentAuthor): boolean;
  check(text: string, ctx: CheckContext): Promise<Verdict>;
}

/** A checker that is down, timed out, refused us or answered nonsense: MODERATION_ON_ERROR decides. */
export class CheckerError extends Error {
  constructor(
    readonly engine: string,
    message: string,
  ) {
    super(message);
    this.name = 'CheckerError';
  }
}
