import { AdminAuditLogDocument, AdminCreateRedeemCodesDocument, RedeemCodeDocument } from '../generated/graphql';
import { everyTable, login, rows } from '../helpers/accounts';
import { balanceOf, ledgerOf } from '../helpers/payments';
import { dataOf } from '../helpers/replies';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { adminLogin, adminState, count, outcome } from './setup';

let t: TestApp;
let admin: { token: string; userId: string };

beforeAll(async () => {
  // High enough for the concurrency test; the rate-limit test has an app of its own.
  t = await startTestApp({ env: { REDEEM_RATE_LIMIT_PER_MINUTE: '1000' } });
  admin = await adminLogin(t);
});
afterAll(() => t.close());

const create = (vars: { amount: number; count: number; expiresAt?: string | null; note?: string | null }) => t.gql(AdminCreateRedeemCodesDocument, vars, { token: admin.token });
const codes = async (amount: number, n: number, expiresAt?: string) => dataOf(await create({ amount, count: n, expiresAt, note: 'spring campaign' })).adminCreateRedeemCodes;
const redeem = (token: string, code: string) => t.gql(RedeemCodeDocument, { code }, { token });
const INVALID_CODE = { status: 400, code: 'BAD_REQUEST', reason: 'INVALID_CODE', field: 'code' };

/** Every text value of every table, to look for a plain code. */
async function everyStoredText(): Promise<string> {
  return JSON.stringify(await everyTable(t));
}

it('creates codes shown once: unguessable, distinct, and only their hashes stored; audited without them', async () => {
  const made = await codes(1234, 50);
  expect(made).toHaveLength(50);
  expect(new Set(made).size).toBe(50);
  for (const code of made) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}-[0-9A-HJKMNP-TV-Z]{2}$/);
  const stored = await everyStoredText();
  for (const code of made) {
    expect(stored).not.toContain(code);
    expect(stored).not.toContain(code.replace(/-/g, ''));
  }
  expect(await count(t, 'select count(*) as n from redeem_codes where amount = 1234 and used_by is null and note = ?', ['spring campaign'])).toBe(50);
  const log = dataOf(await t.gql(AdminAuditLogDocument, { first: 1 }, { token: admin.token })).adminAuditLog.nodes[0];
  expect(log).toMatchObject({ adminId: admin.userId, action: 'CREATE_REDEEM_CODES', targetType: 'REDEEM_BATCH' });
  expect(JSON.parse(log.details)).toEqual({ amount: 1234, count: 50, expiresAt: null, note: 'spring campaign' });
});

it('redeems once: the balance and a REDEEM ledger row; typed loosely (lowercase, no dashes, O for 0) it still matches', async () => {
  const [code] = await codes(500, 1);
  const u = await login(t);
  const loose = code.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o');
  expect(dataOf(await redeem(u.token, loose)).redeemCode).toEqual({ id: u.userId, balance: 500 });
  const [row] = await rows(t, 'select id, used_by from redeem_codes where used_by = ?', [u.userId]);
  expect(await ledgerOf(t, u.userId)).toEqual([{ kind: 'REDEEM', reference: row.id, amount: 500, balanceAfter: 500 }]);

  // Used: by the same user or anyone else.
  const other = await login(t);
  const before = await adminState(t);
  expect(outcome(await redeem(u.token, code))).toEqual(INVALID_CODE);
  expect(outcome(await redeem(other.token, code))).toEqual(INVALID_CODE);
  expect(await balanceOf(t, { token: u.token })).toBe(500);
  expect(await adminState(t)).toBe(before);
});

it('10 concurrent redemptions of one code: exactly one succeeds, with one ledger row', async () => {
  const [code] = await codes(700, 1);
  const users = await Promise.all(Array.from({ length: 10 }, () => login(t)));
  const results = await Promise.all(users.map((u) => redeem(u.token, code)));
  const won = results.filter((r) => r.body.data?.redeemCode);
  expect(won).toHaveLength(1);
  expect(results.filter((r) => outcome(r).reason === 'INVALID_CODE')).toHaveLength(9);
  const winner = won[0].body.data!.redeemCode.id;
  expect(await count(t, "select count(*) as n from ledger_entries where kind = 'REDEEM' and user_id in (" + users.map(() => '?').join(',') + ')', users.map((u) => u.userId))).toBe(1);
  expect(won[0].body.data!.redeemCode.balance).toBe(700);
  expect(await count(t, 'select count(*) as n from redeem_codes where used_by = ?', [winner])).toBe(1);
});

it('unknown, expired and malformed codes are INVALID_CODE alike and change nothing', async () => {
  const [soon] = await codes(300, 1, new Date(Date.now() + 60_000).toISOString());
  // Expire it without waiting: move its expiry into the past.
  await rows(t, 'update redeem_codes set expires_at = ? where amount = 300', [new Date(Date.now() - 1000)]);
  const u = await login(t);
  const before = await adminState(t);
  for (const code of [soon, 'ABCD-EFGH-JKMN-PQRS-TVWX-YZ', '', '   ', 'x'.repeat(100_000), '中文', 'a\u202eb', "'; drop table users; --", 'ABCD%']) {
    expect(outcome(await redeem(u.token, code))).toEqual(INVALID_CODE);
  }
  expect(await adminState(t)).toBe(before);
});

it('POST /v1/user/redeem redeems for REST clients', async () => {
  const [code] = await codes(250, 1);
  const u = await login(t);
  const res = await t.rest<{ id: string; balance: number }>('POST', '/v1/user/redeem', { token: u.token, body: { code } });
  expect(res.status).toBe(200);
  expect(res.body.data).toEqual({ id: u.userId, balance: 250 });
  const again = await t.rest('POST', '/v1/user/redeem', { token: u.token, body: { code } });
  expect([again.status, again.body.error?.details?.reason]).toEqual([400, 'INVALID_CODE']);
  const anonymous = await t.rest('POST', '/v1/user/redeem', { body: { code } });
  expect(anonymous.status).toBe(401);
  const malformed = await t.rest('POST', '/v1/user/redeem', { token: u.token, body: { code: 5 } });
  expect(malformed.status).toBe(400);
});

it('refuses anonymous callers', async () => {
  const [code] = await codes(100, 1);
  const before = await adminState(t);
  expect(outcome(await t.gql(RedeemCodeDocument, { code }))).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
  expect(await adminState(t)).toBe(before);
});

describe('adminCreateRedeemCodes refuses bad batches, creating nothing', () => {
  it.each([
    ['amount 0', { amount: 0, count: 1 }, { reason: 'INVALID', field: 'amount' }],
    ['amount over 10,000,000', { amount: 10_000_001, count: 1 }, { reason: 'INVALID', field: 'amount' }],
    ['count 0', { amount: 1, count: 0 }, { reason: 'INVALID', field: 'count' }],
    ['count over 1000', { amount: 1, count: 1001 }, { reason: 'INVALID', field: 'count' }],
    ['expiry in the past', { amount: 1, count: 1, expiresAt: '2001-01-01T00:00:00.000Z' }, { reason: 'INVALID', field: 'expiresAt' }],
    ['note over 200 characters', { amount: 1, count: 1, note: 'x'.repeat(201) }, { reason: 'TOO_LONG', field: 'note' }],
    ['note with a lone surrogate', { amount: 1, count: 1, note: 'a\ud800' }, { reason: 'INVALID_TEXT', field: 'note' }],
  ])('%s', async (_what, vars, expected) => {
    const before = await adminState(t);
    expect(outcome(await create(vars))).toEqual({ status: 400, code: 'BAD_REQUEST', ...expected });
    expect(await adminState(t)).toBe(before);
  });

  it('malformed types', async () => {
    const before = await adminState(t);
    expect(outcome(await t.gql('mutation { adminCreateRedeemCodes(amount: "5", count: 1) }', {}, { token: admin.token })).code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(outcome(await t.gql(AdminCreateRedeemCodesDocument, { amount: 1, count: 1, expiresAt: 'soon' }, { token: admin.token })).code).toBe('BAD_USER_INPUT');
    expect(await adminState(t)).toBe(before);
  });
});

it('limits guessing: past REDEEM_RATE_LIMIT_PER_MINUTE attempts a minute, RATE_LIMITED (a valid code too)', async () => {
  const limited = await startTestApp({ env: { REDEEM_RATE_LIMIT_PER_MINUTE: '3' } });
  try {
    const boss = await adminLogin(limited);
    const [code] = dataOf(await limited.gql(AdminCreateRedeemCodesDocument, { amount: 100, count: 1 }, { token: boss.token })).adminCreateRedeemCodes;
    const u = await login(limited);
    for (let i = 0; i < 3; i++) expect(outcome(await limited.gql(RedeemCodeDocument, { code: `WRONG-${i}` }, { token: u.token })).reason).toBe('INVALID_CODE');
    const res = await limited.gql(RedeemCodeDocument, { code }, { token: u.token });
    expect(outcome(res)).toEqual({ status: 429, code: 'RATE_LIMITED' });
    expect(await balanceOf(limited, { token: u.token })).toBe(0);
    // Counted per user: another user is not held back.
    const other = await login(limited);
    expect(dataOf(await limited.gql(RedeemCodeDocument, { code }, { token: other.token })).redeemCode.balance).toBe(100);
  } finally {
    await limited.close();
  }
});
