import type { EntityManager } from '@mikro-orm/core';
import { LedgerEntry, type LedgerKind } from '../db/entities/ledger-entry.entity';
import { User } from '../db/entities/user.entity';

/**
 * Balance changes. Each is a ledger row plus an in-place `balance = balance + ?` update, run
 * inside the caller's transaction; the ledger's unique (kind, reference) makes a repeated
 * change fail instead of counting twice. The update is relative, never "read, add, write",
 * so concurrent changes to one balance cannot overwrite each other.
 */
export async function changeBalance(em: EntityManager, change: { userId: string; kind: LedgerKind; reference: string; amount: number }): Promise<LedgerEntry> {
  if (!Number.isSafeInteger(change.amount) || change.amount === 0) throw new RangeError(`not a balance change in fen: ${change.amount}`);
  const connection = em.getConnection();
  const table = em.getMetadata().get(User.name).tableName;
  // Takes the user's row lock (MySQL) first, so balanceAfter below is this change's result.
  await connection.execute(`update ${table} set balance = balance + ? where id = ?`, [change.amount, change.userId], 'run', em.getTransactionContext());
  const [row] = await connection.execute<Array<{ balance: number }>>(`select balance from ${table} where id = ?`, [change.userId], 'all', em.getTransactionContext());
  const entry = em.create(LedgerEntry, {
    user: em.getReference(User, change.userId),
    kind: change.kind,
    reference: change.reference,
    amount: change.amount,
    balanceAfter: Number(row.balance),
  });
  await em.persistAndFlush(entry);
  return entry;
}
