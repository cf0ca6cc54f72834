import { ERROR_REASONS } from '../core/errors';
import { sleep } from '../core/sleep';
import type { ReplyEvent } from './reply-event';
import type { ReplyState } from './state/reply-state';

export interface FollowTimings {
  /** Re-read the record after this long without a live event: a local reply's record is in memory... */
  recheckLocalMs: number;
  /** ...one on another instance costs a Redis read. */
  recheckRemoteMs: number;
  /** Give up on a reply that could no longer be running (its instance died), after this long. */
  giveUpAfterMs: number;
}

/**
 * Every event of a reply after `afterSeq`: first what was already recorded, then live ones,
 * then the done event. Subscribes before reading the record and skips by seq, so nothing is
 * lost or doubled at the seam. A gap in the seqs, or a quiet spell, sends the follower back
 * to the record (live events may be lost while the shared pub/sub is down).
 * Yields nothing for a reply the state does not know.
 */
export async function* follow(state: ReplyState, messageId: string, afterSeq: number, timings: FollowTimings, onOrphan?: () => Promise<unknown>): AsyncGenerator<ReplyEvent> {
  if (!state.isLocal(messageId) && !(await state.meta(messageId))) return;
  const live = state.topics.subscribe('reply', messageId)[Symbol.asyncIterator]();
  let lastSeq = afterSeq;
  const deadline = Date.now() + timings.giveUpAfterMs;
  try {
    let pending = live.next();
    while (state.isLocal(messageId) || Date.now() < deadline) {
      for (const e of await state.events(messageId)) {
        if (e.done) {
          yield e;
          return;
        }
        if (e.seq > lastSeq) {
          lastSeq = e.seq;
          yield e;
        }
      }
      // Not done, and its instance is gone: have it finished (the done event lands in the
      // record), or end the follower with a done event of its own when there is no row to finish.
      if (!state.isLocal(messageId) && !(await state.isRunning(messageId))) {
        if ((await onOrphan?.()) || (await state.events(messageId)).some((e) => e.done)) continue;
        yield interrupted(messageId, (await state.meta(messageId))?.sessionId ?? '', lastSeq + 1);
        return;
      }
      const quiet = state.isLocal(messageId) ? timings.recheckLocalMs : timings.recheckRemoteMs;
      for (;;) {
        const next = await Promise.race([pending, sleep(quiet)]);
        if (!next) break; // quiet: look at the record again
        pending = live.next();
        if (next.done) return;
        const e = next.value;
        if (e.seq <= lastSeq && !e.done) continue;
        if (e.seq > lastSeq + 1) break; // missed some: the record has them
        if (e.done) {
          yield e;
          return;
        }
        lastSeq = e.seq;
        yield e;
      }
    }
  } finally {
    await live.return?.();
  }
}

/** The done event of a reply whose instance died and that has no stored row to finish. */
function interrupted(messageId: string, sessionId: string, seq: number): ReplyEvent {
  return { messageId, sessionId, seq, delta: '', reasoningDelta: '', done: true, error: { code: 'UPSTREAM_ERROR', message: ERROR_REASONS.REPLY_INTERRUPTED, reason: 'REPLY_INTERRUPTED' } };
}
