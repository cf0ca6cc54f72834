import type { MikroORM } from '@mikro-orm/core';
import { AccountSuspendedError, ForbiddenError, UpstreamError } from '../core/errors';
import { newId } from '../core/ids';
import type { Logger } from '../core/logger';
import { ModerationAction, ModerationStage } from '../db/entities/moderation-event.entity';
import { User } from '../db/entities/user.entity';
import type { OutputFilterFactory } from '../replies/output-filter';
import type { KeywordList } from './keyword-list';
import type { ModerationRecords } from './moderation-records';
import { ModeratedReply } from './output-moderation';
import { type CheckContext, CheckerError, type ContentAuthor, type InputItem, type RemoteEngine, type Verdict } from './types';

export interface ModerationParts {
  keywords?: KeywordList;
  /** Called in this order; the webhook before WeChat, so WeChat sees the webhook's masking. */
  engines: readonly RemoteEngine[];
  onError: 'allow' | 'block';
  records: ModerationRecords;
  orm: MikroORM;
  logger: Logger;
}

/** Remote calls of one input check at once (a saved chat may need many). */
const CONCURRENCY = 4;

/** The identity engines need, from a user row. */
export const authorOf = (user: Pick<User, 'id' | 'appId' | 'openid'>): ContentAuthor => ({ userId: user.id, appId: user.appId, openid: user.openid });

const blocked = (field: string) => new ForbiddenError('This text breaks the content rules and was not accepted', { field, reason: 'CONTENT_BLOCKED' });

/**
 * Content security: what users send is checked before it is stored or sent to a model
 * (`checkInput`), what models write is checked while it streams (`outputFilters`, plugged
 * into the reply runner), and users who keep breaking the rules are suspended
 * (`assertNotSuspended`). The engines (a keyword list, the operator's webhook, WeChat's
 * msgSecCheck) are each optional; with none, every check passes at once. A checker that
 * fails is never silent: MODERATION_ON_ERROR lets the text through with an error log, or
 * refuses it (UPSTREAM_ERROR / MODERATION_UNAVAILABLE), and neither counts as a hit.
 */
export class ModerationService {
  constructor(private readonly parts: ModerationParts) {}

  /** Whether anything is checked at all. */
  get active(): boolean {
    return this.parts.keywords !== undefined || this.parts.engines.length > 0;
  }

  get keywords(): KeywordList | undefined {
    return this.parts.keywords;
  }

  /** FORBIDDEN / ACCOUNT_SUSPENDED while the user's suspension runs. */
  assertNotSuspended(user: Pick<User, 'suspendedUntil'>): void {
    if (user.suspendedUntil && user.suspendedUntil.getTime() > Date.now()) throw new AccountSuspendedError(user.suspendedUntil);
  }

  /**
   * Checks the texts of one request, keywords first, then each remote engine. Returns the
   * texts to use (the webhook may have masked some). A hit is recorded (and may suspend the
   * user), then FORBIDDEN / CONTENT_BLOCKED names the field: the caller stores nothing.
   */
  async checkInput(author: ContentAuthor, items: readonly InputItem[], opts: { profile?: boolean } = {}): Promise<string[]> {
    const texts = items.map((i) => i.text);
    if (!this.active) return texts;
    const matcher = this.parts.keywords?.current;
    if (matcher) {
      for (const [i, item] of items.entries()) {
        const hit = matcher.scan(item.text);
        if (!hit) continue;
        await this.hit({ author, engine: 'keywords', action: ModerationAction.BLOCK, labels: ['keyword'], field: item.field, text: item.text, excerpt: hit.excerpt });
        throw blocked(items[i].field);
      }
    }
    const ctx: CheckContext = { stage: ModerationStage.INPUT, author, requestId: newId(), ...opts };
    for (const engine of this.parts.engines) {
      if (engine.applies(author)) await this.runEngine(engine, ctx, items, texts);
    }
    return texts;
  }

  /**
   * A nickname at login (WeChat's profile scene), before the account is created or updated;
   * a hit is recorded against the account when it exists already.
   */
  async checkNickname(identity: { appId: string; openid: string }, nickName: string): Promise<string[]> {
    if (!this.active) return [nickName];
    const known = await this.parts.orm.em.fork().findOne(User, { appId: identity.appId, openid: identity.openid }, { fields: ['id'] });
    return this.checkInput({ userId: known?.id ?? null, ...identity }, [{ field: 'userInfo.nickName', text: nickName }], { profile: true });
  }

  /** `checkInput` for a user known by id (the speech service has no user row at hand). */
  async checkUserInput(userId: string, items: readonly InputItem[]): Promise<string[]> {
    if (!this.active) return items.map((i) => i.text);
    const user = await this.parts.orm.em.fork().findOneOrFail(User, userId, { fields: ['appId', 'openid'] });
    return this.checkInput(authorOf(user), items);
  }

  /** The reply runner's output filter: keywords on every delta, remote engines on windows. */
  outputFilters(): OutputFilterFactory {
    return {
      forReply: (reply) => {
        if (!this.active) return null;
        const author: ContentAuthor = { userId: reply.ownerId, appId: reply.author?.appId ?? '', openid: reply.author?.openid ?? '' };
        return new ModeratedReply({
          keywords: this.parts.keywords?.current,
          engines: this.parts.engines.filter((e) => e.applies(author)),
          messageId: reply.messageId,
          author,
          onCheckerError: (engine, err) => this.checkerFailed(engine, err),
          onSkip: (engine, why, loud) => this.skipped(engine, why, loud, author),
          record: (hit) => this.hit({ author, messageId: reply.messageId, ...hit }).catch((err: Error) => this.parts.logger.error({ err, messageId: reply.messageId }, 'recording a moderation hit failed')),
        });
      },
    };
  }

  close(): void {
    this.parts.keywords?.close();
  }

  /**
   * One engine over a request's texts: packed into as few calls as its size allows; a call
   * that does not pass for several texts is made again for each, to know which field to name
   * (and what to mask).
   */
  private async runEngine(engine: RemoteEngine, ctx: CheckContext, items: readonly InputItem[], texts: string[]): Promise<void> {
    const batches = pack(texts, engine.maxChars);
    let stop = false;
    const judge = async (indexes: number[]): Promise<void> => {
      if (stop) return;
      let verdict: Verdict;
      try {
        verdict = await engine.check(indexes.map((i) => texts[i]).join('\n'), ctx);
      } catch (err) {
        if (!(err instanceof CheckerError)) throw err;
        stop = true;
        if (this.checkerFailed(engine.name, err)) throw new UpstreamError('The content check is unavailable; try again shortly', { reason: 'MODERATION_UNAVAILABLE' });
        // Allowed through: the rest of this engine's calls would fail alike, and each would log.
        return;
      }
      if (verdict.action === 'pass' || stop) return;
      if (verdict.action === 'skip') {
        stop = true;
        return this.skipped(engine.name, verdict.why, verdict.loud, ctx.author);
      }
      if (indexes.length > 1) {
        for (const i of indexes) await judge([i]);
        return;
      }
      const [i] = indexes;
      const { field } = items[i];
      if (verdict.action === 'mask') {
        await this.hit({ author: ctx.author, engine: engine.name, action: ModerationAction.MASK, labels: verdict.labels, field, text: texts[i] });
        texts[i] = verdict.text;
        return;
      }
      stop = true;
      await this.hit({ author: ctx.author, engine: engine.name, action: ModerationAction.BLOCK, labels: verdict.labels, field, text: texts[i] });
      throw blocked(field);
    };
    // A few calls at a time; the first refusal stops the rest.
    const queue = [...batches];
    const worker = async () => {
      for (let next = queue.shift(); next && !stop; next = queue.shift()) await judge(next);
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  }

  private hit(h: { author: ContentAuthor; engine: string; action: ModerationAction; labels: readonly string[]; field?: string; messageId?: string; text: string; excerpt?: string }): Promise<void> {
    const stage = h.messageId ? ModerationStage.OUTPUT : ModerationStage.INPUT;
    return this.parts.records.record({ ...h, userId: h.author.userId, stage });
  }

  /** MODERATION_ON_ERROR: true when the unchecked text is to be refused. Logged at error either way: never silent. */
  private checkerFailed(engine: string, err: CheckerError): boolean {
    const refuse = this.parts.onError === 'block';
    this.parts.logger.error({ component: 'moderation', engine, err: { message: err.message }, onError: this.parts.onError }, refuse ? 'content checker failed; refusing the text' : 'content checker failed; letting the text through unchecked');
    return refuse;
  }

  private skipped(engine: string, why: string, loud: boolean, author: ContentAuthor): void {
    this.parts.logger[loud ? 'error' : 'warn']({ component: 'moderation', engine, userId: author.userId, why }, 'content checker cannot check this user; skipped');
  }
}

/** Indexes of the non-empty texts, grouped so that each group joined by newlines stays within `max` (a longer text goes alone). */
function pack(texts: readonly string[], max: number): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  let size = 0;
  texts.forEach((text, i) => {
    if (!text.trim()) return;
    if (current.length && size + 1 + text.length > max) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(i);
    size += (current.length > 1 ? 1 : 0) + text.length;
  });
  if (current.length) batches.push(current);
  return batches;
}
