import { rows } from '../helpers/accounts';
import { costOf, PRICES, pricedModelsFile } from '../helpers/replies';
import type { TestApp } from '../helpers/test-app';

export { costOf, PRICES };

/** An AI_MODELS file: a free default and a priced model on the fake (with `maxTokens` for holds). */
export const modelsFile = (baseURL: string, paid: { maxTokens?: number } = {}) => pricedModelsFile(baseURL, { paid });

export interface UsageRow {
  userId: string;
  kind: string;
  model: string;
  upstream: string | null;
  reference: string | null;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cost: number;
  latencyMs: number;
  outcome: string;
}

/** A user's usage rows, oldest first, straight from the database. */
export async function usageOf(t: TestApp, userId: string): Promise<UsageRow[]> {
  const found = await rows(t, 'select * from usage_records where user_id = ? order by created_at, id', [userId]);
  return found.map((r) => ({
    userId: String(r.user_id),
    kind: String(r.kind),
    model: String(r.model),
    upstream: r.upstream === null ? null : String(r.upstream),
    reference: r.reference === null ? null : String(r.reference),
    promptTokens: Number(r.prompt_tokens),
    completionTokens: Number(r.completion_tokens),
    reasoningTokens: Number(r.reasoning_tokens),
    cost: Number(r.cost),
    latencyMs: Number(r.latency_ms),
    outcome: String(r.outcome),
  }));
}

/** Gives a user fen straight in the database, with its TOPUP ledger row (tests of holds start from a known balance). */
export async function grant(t: TestApp, userId: string, fen: number): Promise<void> {
  await rows(t, 'update users set balance = balance + ? where id = ?', [fen, userId]);
  await rows(t, "insert into ledger_entries (id, user_id, kind, reference, amount, balance_after, created_at) values (?, ?, 'TOPUP', ?, ?, ?, ?)", [
    `G${Math.random().toString(36).slice(2, 27).padEnd(25, '0')}`.slice(0, 26),
    userId,
    `grant-${Math.random().toString(36).slice(2)}`,
    fen,
    fen,
    new Date(),
  ]);
}

/** The user's balance and held fen, from the database. */
export async function moneyOf(t: TestApp, userId: string): Promise<{ balance: number; held: number }> {
  const [row] = await rows(t, 'select balance, held from users where id = ?', [userId]);
  return { balance: Number(row.balance), held: Number(row.held) };
}

/** Sum of the user's AI_USAGE debits (positive fen) and how many there are. */
export async function usageDebits(t: TestApp, userId: string): Promise<{ fen: number; count: number }> {
  const [row] = await rows(t, "select coalesce(sum(-amount), 0) as fen, count(*) as n from ledger_entries where user_id = ? and kind = 'AI_USAGE'", [userId]);
  return { fen: Number(row.fen), count: Number(row.n) };
}
