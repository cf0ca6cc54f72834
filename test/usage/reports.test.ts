import { AdminUsageDocument, MyUsageDocument } from '../generated/graphql';
import { login, rows } from '../helpers/accounts';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { PaymentOrder } from '../../src/db/entities/payment-order.entity';
import { User } from '../../src/db/entities/user.entity';
import { adminLogin } from '../admin/setup';

/*
 * myUsage / adminUsage over a seeded month (rows inserted directly): sums equal the ledger's
 * AI_USAGE debits, days are Asia/Shanghai days, other users' rows never show, and bad
 * periods are refused.
 */
const MONTH_START = Date.parse('2026-03-01T00:00:00+08:00');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MODELS = ['alpha', 'beta'];

/** A stored time as ms: SQLite gives a number, MySQL a Date or a UTC 'YYYY-MM-DD hh:mm:ss.fff' text. */
const msOf = (v: unknown) => (v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Date.parse(`${String(v).replace(' ', 'T')}Z`));

/** The Shanghai day (YYYY-MM-DD) of an instant. */
const shanghaiDay = (ms: number) => new Date(ms + 8 * HOUR).toISOString().slice(0, 10);

let seq = 0;
const id = () => `S${(++seq).toString().padStart(25, '0')}`;

interface Seeded {
  at: number;
  model: string;
  prompt: number;
  completion: number;
  reasoning: number;
  cost: number;
}

/** A usage row and, when it cost something, its AI_USAGE ledger row, as the server writes them. */
async function seed(t: TestApp, userId: string, s: Seeded): Promise<void> {
  const reference = id();
  await rows(t, 'insert into usage_records (id, user_id, kind, model, upstream, reference, prompt_tokens, completion_tokens, reasoning_tokens, cost, latency_ms, outcome, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
    id(),
    userId,
    'REPLY',
    s.model,
    null,
    reference,
    s.prompt,
    s.completion,
    s.reasoning,
    s.cost,
    120,
    'COMPLETE',
    new Date(s.at),
  ]);
  if (s.cost > 0) {
    await rows(t, "insert into ledger_entries (id, user_id, kind, reference, amount, balance_after, created_at) values (?, ?, 'AI_USAGE', ?, ?, 0, ?)", [id(), userId, reference, -s.cost, new Date(s.at)]);
  }
}

/** A month of calls: every day, each model, a few calls at hours that cross the UTC day boundary. */
function month(): Seeded[] {
  const out: Seeded[] = [];
  for (let d = 0; d < 31; d++) {
    for (const [m, model] of MODELS.entries()) {
      for (const hour of [0.5, 7.5, 9, 23.5]) {
        const n = d * 10 + m * 3 + Math.floor(hour);
        out.push({ at: MONTH_START + d * DAY + hour * HOUR, model, prompt: 100 + n, completion: 50 + (n % 17), reasoning: m ? n % 5 : 0, cost: n % 4 === 0 ? 0 : 1 + (n % 9) });
      }
    }
  }
  return out;
}

describe('usage reports', () => {
  let t: TestApp;
  let me: { token: string; userId: string };
  let other: { token: string; userId: string };
  const seeded = month();
  const from = new Date(MONTH_START).toISOString();
  const to = new Date(MONTH_START + 31 * DAY).toISOString();

  beforeAll(async () => {
    t = await startTestApp();
    me = await login(t);
    other = await login(t);
    for (const s of seeded) await seed(t, me.userId, s);
    // Someone else's calls on the same days, and mine outside the period.
    for (const s of seeded.slice(0, 20)) await seed(t, other.userId, { ...s, cost: s.cost + 7 });
    await seed(t, me.userId, { at: MONTH_START - 1, model: 'alpha', prompt: 9, completion: 9, reasoning: 0, cost: 9 });
    await seed(t, me.userId, { at: MONTH_START + 31 * DAY, model: 'alpha', prompt: 9, completion: 9, reasoning: 0, cost: 9 });
  });
  afterAll(() => t.close());

  /** My AI_USAGE debits in the period, grouped by `key`. */
  async function ledgerBy(key: (at: number, reference: string) => string): Promise<Map<string, number>> {
    const entries = await rows(t, "select l.amount, l.created_at, u.model from ledger_entries l join usage_records u on u.reference = l.reference where l.user_id = ? and l.kind = 'AI_USAGE' and l.created_at >= ? and l.created_at < ?", [
      me.userId,
      new Date(MONTH_START),
      new Date(MONTH_START + 31 * DAY),
    ]);
    const out = new Map<string, number>();
    for (const e of entries) {
      const k = key(msOf(e.created_at), String(e.model));
      out.set(k, (out.get(k) ?? 0) - Number(e.amount));
    }
    return out;
  }

  it('groups by Asia/Shanghai day: each day’s cost equals the ledger’s AI_USAGE debits of that day, with totals', async () => {
    const res = await t.gql(MyUsageDocument, { from, to, groupBy: 'DAY' }, me);
    const report = res.body.data!.myUsage;
    expect(report.rows).toHaveLength(31);
    expect(report.rows[0].key).toBe('2026-03-01');
    expect(report.rows.at(-1)!.key).toBe('2026-03-31');
    const ledger = await ledgerBy((at) => shanghaiDay(at));
    expect(Object.fromEntries(report.rows.map((r) => [r.key, r.cost]))).toEqual(Object.fromEntries([...ledger].sort()));
    // Calls at 00:30 and 07:30 Shanghai time are on the previous UTC day: still counted on their own day here.
    for (const r of report.rows) expect(r.requests).toBe(8);
    expect(report.total).toEqual({
      key: 'total',
      requests: seeded.length,
      promptTokens: seeded.reduce((n, s) => n + s.prompt, 0),
      completionTokens: seeded.reduce((n, s) => n + s.completion, 0),
      reasoningTokens: seeded.reduce((n, s) => n + s.reasoning, 0),
      cost: [...ledger.values()].reduce((n, v) => n + v, 0),
      revenue: null,
    });
    expect(report.rows.every((r) => r.revenue === null)).toBe(true);
  });

  it('groups by model, with the same totals', async () => {
    const byDay = (await t.gql(MyUsageDocument, { from, to }, me)).body.data!.myUsage;
    const res = await t.gql(MyUsageDocument, { from, to, groupBy: 'MODEL' }, me);
    const report = res.body.data!.myUsage;
    const ledger = await ledgerBy((_at, model) => model);
    expect(report.rows.map((r) => [r.key, r.requests, r.cost])).toEqual(MODELS.map((m) => [m, seeded.filter((s) => s.model === m).length, ledger.get(m)]));
    expect(report.total).toEqual(byDay.total);
  });

  it('shows nobody else’s usage', async () => {
    const mine = (await t.gql(MyUsageDocument, { from, to, groupBy: 'USER' }, me)).body.data!.myUsage;
    expect(mine.rows.map((r) => r.key)).toEqual([me.userId]);
    const theirs = (await t.gql(MyUsageDocument, { from, to, groupBy: 'USER' }, other)).body.data!.myUsage;
    expect(theirs.rows.map((r) => [r.key, r.requests])).toEqual([[other.userId, 20]]);
    const fresh = await login(t);
    expect((await t.gql(MyUsageDocument, { from, to }, fresh)).body.data!.myUsage).toEqual({ rows: [], total: { key: 'total', requests: 0, promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cost: 0, revenue: null } });
  });

  it.each([
    ['to before from', { from: to, to: from }, 'INVALID_RANGE'],
    ['an empty period', { from, to: from }, 'INVALID_RANGE'],
    ['more than 366 days', { from, to: new Date(MONTH_START + 367 * DAY).toISOString() }, 'INVALID_RANGE'],
  ])('refuses %s with BAD_REQUEST', async (_name, period, reason) => {
    const res = await t.gql(MyUsageDocument, period, me);
    expect(res.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason } });
    expect(res.body.data ?? null).toBeNull();
  });

  it('refuses a malformed date and an unknown grouping', async () => {
    const bad = await t.gql('query($from: DateTime!, $to: DateTime!) { myUsage(from: $from, to: $to) { total { cost } } }', { from: 'yesterday', to });
    expect(bad.body.errors![0].extensions.code).toMatch(/BAD_REQUEST|BAD_USER_INPUT/);
    const grouping = await t.gql('query($from: DateTime!, $to: DateTime!) { myUsage(from: $from, to: $to, groupBy: WEEK) { total { cost } } }', { from, to }, me);
    expect(grouping.body.errors![0].extensions.code).toMatch(/BAD_REQUEST|GRAPHQL_VALIDATION_FAILED/);
  });

  it('refuses anonymous callers with UNAUTHENTICATED', async () => {
    const mine = await t.gql(MyUsageDocument, { from, to });
    const everyone = await t.gql(AdminUsageDocument, { from, to });
    expect([mine.body.errors![0].extensions.code, everyone.body.errors![0].extensions.code]).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
  });

  it('refuses adminUsage to a user who is not an admin', async () => {
    const res = await t.gql(AdminUsageDocument, { from, to }, me);
    expect(res.body.errors![0].extensions.code).toBe('FORBIDDEN');
  });

  it('gives an admin everyone’s usage, with revenue from paid orders by day and by user', async () => {
    const admin = await adminLogin(t);
    const paidAt = MONTH_START + 2 * DAY + 20 * HOUR;
    const em = t.app.deps.orm.em.fork();
    em.create(PaymentOrder, { user: em.getReference(User, other.userId), clientOrderId: 'o1', method: 'WECHAT', amount: 500, outTradeNo: 'T1', status: 'SUCCESS', paidAmount: 500, paidAt: new Date(paidAt), expiresAt: new Date(paidAt + DAY) });
    // Unpaid orders are no revenue.
    em.create(PaymentOrder, { user: em.getReference(User, me.userId), clientOrderId: 'o2', method: 'WECHAT', amount: 800, outTradeNo: 'T2', expiresAt: new Date(paidAt + DAY) });
    await em.flush();
    const byUser = (await t.gql(AdminUsageDocument, { from, to, groupBy: 'USER' }, admin)).body.data!.adminUsage;
    expect(byUser.rows.map((r) => [r.key, r.requests, r.revenue]).sort()).toEqual(
      [
        [me.userId, seeded.length, 0],
        [other.userId, 20, 500],
      ].sort(),
    );
    expect(byUser.total.revenue).toBe(500);
    const byDay = (await t.gql(AdminUsageDocument, { from, to, groupBy: 'DAY' }, admin)).body.data!.adminUsage;
    expect(byDay.rows.find((r) => r.key === shanghaiDay(paidAt))!.revenue).toBe(500);
    expect(byDay.total.requests).toBe(seeded.length + 20);
    const byModel = (await t.gql(AdminUsageDocument, { from, to, groupBy: 'MODEL' }, admin)).body.data!.adminUsage;
    expect(byModel.rows.every((r) => r.revenue === null)).toBe(true);
    expect(byModel.total.cost).toBe(byDay.total.cost);
  });
});
