import type { MikroORM } from '@mikro-orm/core';
import { Message, MessageStatus, Role } from '../db/entities/message.entity';
import type { ReplyRunner } from './reply-runner';

/** Rows looked at per sweep; the next sweep takes the rest. */
const BATCH = 200;

/**
 * Finishes stored replies left STREAMING with nothing generating them: their instance was
 * killed or crashed, or their final write failed and this instance is not retrying it. Each
 * ends FAILED with what its record holds; followers get the done event, the slot is freed.
 * Safe on every instance at once: a row is finished by whichever instance changes it first.
 * First writes again this instance's finished replies whose final write failed.
 */
export async function sweepInterruptedReplies(orm: MikroORM, runner: ReplyRunner, minAgeMs: number): Promise<number> {
  await runner.retryUnwritten();
  const rows = await orm.em.fork().find(
    Message,
    { status: MessageStatus.STREAMING, createdAt: { $lt: new Date(Date.now() - minAgeMs) }, role: Role.ASSISTANT },
    { fields: ['id'], orderBy: { createdAt: 'asc' }, limit: BATCH },
  );
  let finished = 0;
  for (const row of rows) {
    if (await runner.isRunning(row.id)) continue;
    if (await runner.finishInterrupted(row.id, MessageStatus.FAILED)) finished++;
  }
  return finished;
}
