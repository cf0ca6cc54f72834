import { AdminAdjustBalanceDocument, AdminAuditLogDocument, AdminSuspendUserDocument, AdminUserDocument } from '../generated/graphql';
import { login, rows } from '../helpers/accounts';
import { balanceOf, ledgerOf } from '../helpers/payments';
import { dataOf, send } from '../helpers/replies';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { adminLogin, adminState, outcome } from './setup';

let t: TestApp;
let admin: { token: string; userId: string };

beforeAll(async () => {
  t = await startTestApp();
  admin = await adminLogin(t);
});
afterAll(() => t.close());

const adjust = (userId: string, amount: number, reason = 'support ticket 42') => t.gql(AdminAdjustBalanceDocument, { userId, amount, reason }, { token: admin.token });
const audit = (targetId: string) => rows(t, 'select id, admin_id, action, target_type, details from admin_audit where target_id = ? order by created_at, id', [targetId]);

describe('adminAdjustBalance', () => {
  it('grants and deducts through the ledger, each with an audit row naming the admin', async () => {
    const u = await login(t);
    expect(dataOf(await adjust(u.userId, 500)).adminAdjustBalance).toEqual({ id: u.userId, balance: 500 });
    expect(dataOf(await adjust(u.userId, -200, 'refund of the grant')).adminAdjustBalance.balance).toBe(300);
    expect(await balanceOf(t, { token: u.token })).toBe(300);

    const rowsOfAudit = await audit(u.userId);
    expect(rowsOfAudit.map((r) => ({ admin: r.admin_id, action: r.action, type: r.target_type, details: JSON.parse(String(r.details)) as unknown }))).toEqual([
      { admin: admin.userId, action: 'ADJUST_BALANCE', type: 'USER', details: expect.objectContaining({ amount: 500, reason: 'support ticket 42', balanceAfter: 500 }) },
      { admin: admin.userId, action: 'ADJUST_BALANCE', type: 'USER', details: expect.objectContaining({ amount: -200, reason: 'refund of the grant', balanceAfter: 300 }) },
    ]);
    // Each ledger row's reference is its audit row.
    expect(await ledgerOf(t, u.userId)).toEqual([
      { kind: 'ADMIN_ADJUST', reference: rowsOfAudit[0].id, amount: 500, balanceAfter: 500 },
      { kind: 'ADMIN_ADJUST', reference: rowsOfAudit[1].id, amount: -200, balanceAfter: 300 },
    ]);
    const detail = dataOf(await t.gql(AdminUserDocument, { id: u.userId }, { token: admin.token })).adminUser;
    expect(detail.balance).toBe(300);
    expect(detail.adminDetail.ledger.map((e) => [e.kind, e.amount, e.balanceAfter])).toEqual([
      ['ADMIN_ADJUST', -200, 300],
      ['ADMIN_ADJUST', 500, 500],
    ]);
  });

  it('refuses a deduction below zero (FORBIDDEN / INSUFFICIENT_BALANCE), changing nothing', async () => {
    const u = await login(t);
    await adjust(u.userId, 100);
    const before = await adminState(t);
    expect(outcome(await adjust(u.userId, -101))).toEqual({ status: 403, code: 'FORBIDDEN', reason: 'INSUFFICIENT_BALANCE' });
    expect(await adminState(t)).toBe(before);
    expect(dataOf(await adjust(u.userId, -100)).adminAdjustBalance.balance).toBe(0);
  });

  it('leaves what running replies hold: a deduction may take only the free balance', async () => {
    const u = await login(t);
    await adjust(u.userId, 100);
    await rows(t, 'update users set held = 80 where id = ?', [u.userId]);
    const before = await adminState(t);
    expect(outcome(await adjust(u.userId, -21))).toEqual({ status: 403, code: 'FORBIDDEN', reason: 'INSUFFICIENT_BALANCE' });
    expect(await adminState(t)).toBe(before);
    expect(dataOf(await adjust(u.userId, -20)).adminAdjustBalance.balance).toBe(80);
  });

  it('concurrent deductions never take the balance below zero', async () => {
    const u = await login(t);
    await adjust(u.userId, 300);
    const results = await Promise.all(Array.from({ length: 6 }, () => adjust(u.userId, -100)));
    expect(results.filter((r) => r.body.data).length).toBe(3);
    expect(results.filter((r) => outcome(r).reason === 'INSUFFICIENT_BALANCE').length).toBe(3);
    expect(await balanceOf(t, { token: u.token })).toBe(0);
    expect((await ledgerOf(t, u.userId)).length).toBe(4);
  });
});

describe('adminSuspendUser', () => {
  it("suspends (the user's sendMessage is FORBIDDEN / ACCOUNT_SUSPENDED) and reinstates, both audited", async () => {
    const u = await login(t);
    const until = new Date(Date.now() + 3_600_000).toISOString();
    expect(dataOf(await t.gql(AdminSuspendUserDocument, { userId: u.userId, until, reason: 'spam' }, { token: admin.token })).adminSuspendUser).toEqual({ id: u.userId, suspendedUntil: until });
    const refused = await send(t, u.token, { content: 'hello' });
    expect(outcome(refused)).toEqual({ status: 403, code: 'FORBIDDEN', reason: 'ACCOUNT_SUSPENDED' });

    expect(dataOf(await t.gql(AdminSuspendUserDocument, { userId: u.userId, until: null, reason: 'appeal accepted' }, { token: admin.token })).adminSuspendUser.suspendedUntil).toBeNull();
    expect(dataOf(await send(t, u.token, { content: 'hello again' })).sendMessage.reply.status).toBe('COMPLETE');

    const rowsOfAudit = await audit(u.userId);
    expect(rowsOfAudit.map((r) => [r.admin_id, r.action, JSON.parse(String(r.details))])).toEqual([
      [admin.userId, 'SUSPEND_USER', { until, previous: null, reason: 'spam' }],
      [admin.userId, 'REINSTATE_USER', { until: null, previous: until, reason: 'appeal accepted' }],
    ]);
    const log = dataOf(await t.gql(AdminAuditLogDocument, { first: 2 }, { token: admin.token })).adminAuditLog;
    expect(log.nodes.map((n) => n.action)).toEqual(['REINSTATE_USER', 'SUSPEND_USER']);
  });
});

describe('malformed and oversized inputs, and ids of nobody', () => {
  it.each([
    ['adjust: amount 0', () => adjust(admin.userId, 0), { status: 400, code: 'BAD_REQUEST', reason: 'INVALID', field: 'amount' }],
    ['adjust: amount over the limit', () => adjust(admin.userId, 10_000_001), { status: 400, code: 'BAD_REQUEST', reason: 'INVALID', field: 'amount' }],
    ['adjust: deduction over the limit', () => adjust(admin.userId, -10_000_001), { status: 400, code: 'BAD_REQUEST', reason: 'INVALID', field: 'amount' }],
    ['adjust: amount not an Int', () => t.gql(AdminAdjustBalanceDocument, { userId: admin.userId, amount: 1.5, reason: 'r' }, { token: admin.token }), { status: 400, code: 'BAD_USER_INPUT' }],
    ['adjust: amount over 32 bits', () => t.gql(AdminAdjustBalanceDocument, { userId: admin.userId, amount: 2 ** 31, reason: 'r' }, { token: admin.token }), { status: 400, code: 'BAD_USER_INPUT' }],
    ['adjust: empty reason', () => adjust(admin.userId, 5, '   '), { status: 400, code: 'BAD_REQUEST', reason: 'EMPTY', field: 'reason' }],
    ['adjust: reason over 500 characters', () => adjust(admin.userId, 5, 'x'.repeat(501)), { status: 400, code: 'BAD_REQUEST', reason: 'TOO_LONG', field: 'reason' }],
    ['adjust: reason with NUL', () => adjust(admin.userId, 5, 'a\u0000b'), { status: 400, code: 'BAD_REQUEST', reason: 'INVALID_TEXT', field: 'reason' }],
    ['adjust: unknown user', () => adjust('01m8y0v228hz5x7s28xkc7m6m4', 5), { status: 404, code: 'NOT_FOUND' }],
    ['adjust: malformed user id', () => adjust('x'.repeat(1000), 5), { status: 404, code: 'NOT_FOUND' }],
    ['suspend: until in the past', () => t.gql(AdminSuspendUserDocument, { userId: admin.userId, until: '2000-01-01T00:00:00.000Z', reason: 'r' }, { token: admin.token }), { status: 400, code: 'BAD_REQUEST', reason: 'INVALID', field: 'until' }],
    ['suspend: until not a date', () => t.gql(AdminSuspendUserDocument, { userId: admin.userId, until: 'tomorrow', reason: 'r' }, { token: admin.token }), { status: 400, code: 'BAD_USER_INPUT' }],
    ['suspend: reason over 500 characters', () => t.gql(AdminSuspendUserDocument, { userId: admin.userId, until: null, reason: '中'.repeat(501) }, { token: admin.token }), { status: 400, code: 'BAD_REQUEST', reason: 'TOO_LONG', field: 'reason' }],
    ['suspend: unknown user', () => t.gql(AdminSuspendUserDocument, { userId: '01m8y0v228hz5x7s28xkc7m6m4', until: null, reason: 'r' }, { token: admin.token }), { status: 404, code: 'NOT_FOUND' }],
    ['adminUser: unknown user', () => t.gql(AdminUserDocument, { id: 'nope' }, { token: admin.token }), { status: 404, code: 'NOT_FOUND' }],
  ])('%s', async (_what, call, expected) => {
    const before = await adminState(t);
    const res = await call();
    expect(outcome(res)).toEqual(expected);
    expect(await adminState(t)).toBe(before);
  });
});
