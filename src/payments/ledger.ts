import type { EntityManager } from '@mikro-orm/core';
import { ForbiddenError } from '../core/errors';
import { LedgerEntry, type LedgerKind } from '../db/entities/ledger-entry.entity';
import { User } from '../db/entities/user.entity';

/**
 * Balance changes. Each is a ledger row plus an in-place `balance = balance + ?` update, run
 * inside the caller's transaction; the ledger's unique (kind, reference) makes a repeated
 * change fail instead of counting twice. The update is relative, never "read, add, write",
 * so concurrent changes to one balance cannot overwrite each other.
 */
export async function changeBalance(em: EntityManager, change: { userId: string; kind: LedgerKind; reference: string; amount: number; noOverdraft?: boolean }): Promise<LedgerEntry> {
  if (!Number.isSafeInteger(change.amount) || change.amount === 0) throw new RangeError(`not a balance change in fen: ${change.amount}`);
  const connection = em.getConnection();
  const table = em.getMetadata().get(User.name).tableName;
  // Takes the user's row lock (MySQL) first, so balanceAfter below is this change's result.
  // With noOverdraft the condition sits in the same statement, so concurrent debits cannot pass
  // it together; what running replies hold stays untouched (balance - held is what is free).
  const floor = change.noOverdraft ? ' and balance - held + ? >= 0' : '';
  const params = change.noOverdraft ? [change.amount, change.userId, change.amount] : [change.amount, change.userId];
  const updated = await connection.execute<{ affectedRows: number }>(`update ${table} set balance = balance + ? where id = ?${floor}`, params, 'run', em.getTransactionContext());
  if (change.noOverdraft && updated.affectedRows !== 1) throw new ForbiddenError('The balance (less what running replies hold) does not cover this deduction; it never goes below zero', { reason: 'INSUFFICIENT_BALANCE' });
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
