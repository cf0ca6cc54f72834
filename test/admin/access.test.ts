import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { setAdminRole } from '../../src/admin/admin-role';
import {
  AdminAdjustBalanceDocument,
  AdminAuditLogDocument,
  AdminCreateRedeemCodesDocument,
  AdminModerationEventsDocument,
  AdminMyRoleDocument,
  AdminOrdersDocument,
  AdminRatingsDocument,
  AdminReconciliationDocument,
  AdminReloadModelsDocument,
  AdminSuspendUserDocument,
  AdminUserDocument,
  AdminUsersDocument,
} from '../generated/graphql';
import { login, rows } from '../helpers/accounts';
import { dataOf } from '../helpers/replies';
import { startTestApp, type Credentials, type TestApp } from '../helpers/test-app';
import { adminLogin, adminState, apiKeyOf, outcome } from './setup';

/*
 * Who may call the admin operations: only an admin's login token, with the role read from
 * the database on every call. A normal user and any API key (an admin's too) are FORBIDDEN,
 * anonymous UNAUTHENTICATED, and a refusal writes nothing.
 */

let t: TestApp;
let target: { token: string; userId: string };

beforeAll(async () => {
  t = await startTestApp();
  target = await login(t);
});
afterAll(() => t.close());

type Op = [name: string, doc: TypedDocumentNode<unknown, Record<string, unknown>>, variables: () => Record<string, unknown>];
/** The documents' own types differ; the table only runs them. */
const op = <R, V>(name: string, doc: TypedDocumentNode<R, V>, variables: () => V): Op => [name, doc as unknown as Op[1], variables as unknown as Op[2]];

const OPS: Op[] = [
  op('adminUsers', AdminUsersDocument, () => ({})),
  op('adminUser', AdminUserDocument, () => ({ id: target.userId })),
  op('adminOrders', AdminOrdersDocument, () => ({})),
  op('adminModerationEvents', AdminModerationEventsDocument, () => ({})),
  op('adminRatings', AdminRatingsDocument, () => ({})),
  op('adminAuditLog', AdminAuditLogDocument, () => ({})),
  op('adminAdjustBalance', AdminAdjustBalanceDocument, () => ({ userId: target.userId, amount: 100, reason: 'goodwill' })),
  op('adminSuspendUser', AdminSuspendUserDocument, () => ({ userId: target.userId, until: null, reason: 'check' })),
  op('adminCreateRedeemCodes', AdminCreateRedeemCodesDocument, () => ({ amount: 100, count: 1 })),
  op('adminReloadModels', AdminReloadModelsDocument, () => ({})),
  op('adminReconciliation', AdminReconciliationDocument, () => ({})),
];

const run = (o: Op, creds: Credentials) => t.gql(o[1], o[2](), creds);

describe.each(OPS)('%s', (name, doc, variables) => {
  const o: Op = [name, doc, variables];

  it('refuses a normal user (FORBIDDEN / ADMIN_REQUIRED), anonymous (UNAUTHENTICATED) and API keys, an admin\'s too, changing nothing', async () => {
    const user = await login(t);
    const admin = await adminLogin(t);
    const userKey = await apiKeyOf(t, user.token);
    const adminKey = await apiKeyOf(t, admin.token);
    const before = await adminState(t);
    expect(outcome(await run(o, { token: user.token }))).toEqual({ status: 403, code: 'FORBIDDEN', reason: 'ADMIN_REQUIRED' });
    expect(outcome(await run(o, {}))).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    expect(outcome(await run(o, { token: 'not-a-token' }))).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    expect(outcome(await run(o, { apiKey: userKey }))).toEqual({ status: 403, code: 'FORBIDDEN', reason: 'LOGIN_TOKEN_REQUIRED' });
    expect(outcome(await run(o, { apiKey: adminKey }))).toEqual({ status: 403, code: 'FORBIDDEN', reason: 'LOGIN_TOKEN_REQUIRED' });
    expect(await adminState(t)).toBe(before);
  });

  it("works for an admin's login token, and stops at once when the role is revoked", async () => {
    const admin = await adminLogin(t);
    expect(outcome(await run(o, { token: admin.token }))).toEqual({ status: 200, code: 'OK' });
    await setAdminRole(t.app.deps.orm.em.fork(), admin.userId, false);
    const before = await adminState(t);
    expect(outcome(await run(o, { token: admin.token }))).toEqual({ status: 403, code: 'FORBIDDEN', reason: 'ADMIN_REQUIRED' });
    expect(await adminState(t)).toBe(before);
  });
});

describe('the role', () => {
  it('is USER for new users and shows on me', async () => {
    const u = await login(t);
    expect(dataOf(await t.gql(AdminMyRoleDocument, {}, { token: u.token })).me).toEqual({ id: u.userId, role: 'USER' });
  });

  it('is granted and revoked by the command, by id or openid, each change audited once; unknown users are refused', async () => {
    const u = await login(t);
    const [{ openid }] = await rows(t, 'select openid from users where id = ?', [u.userId]);
    const em = () => t.app.deps.orm.em.fork();
    expect(await setAdminRole(em(), String(openid), true)).toMatchObject({ userId: u.userId, role: 'ADMIN', changed: true });
    expect(dataOf(await t.gql(AdminMyRoleDocument, {}, { token: u.token })).me.role).toBe('ADMIN');
    // Granting again changes nothing and writes no second audit row.
    expect(await setAdminRole(em(), u.userId, true)).toMatchObject({ changed: false });
    expect(await setAdminRole(em(), u.userId, false)).toMatchObject({ role: 'USER', changed: true });
    expect(dataOf(await t.gql(AdminMyRoleDocument, {}, { token: u.token })).me.role).toBe('USER');
    const audit = await rows(t, 'select admin_id, action, target_type, target_id from admin_audit where target_id = ? order by created_at, id', [u.userId]);
    expect(audit).toEqual([
      { admin_id: null, action: 'GRANT_ADMIN', target_type: 'USER', target_id: u.userId },
      { admin_id: null, action: 'REVOKE_ADMIN', target_type: 'USER', target_id: u.userId },
    ]);
    const before = await adminState(t);
    await expect(setAdminRole(em(), 'nobody-such', true)).rejects.toThrow('User "nobody-such" not found');
    await expect(setAdminRole(em(), '01m8y0v228hz5x7s28xkc7m6m4', true)).rejects.toThrow('not found');
    expect(await adminState(t)).toBe(before);
  });

  it('cannot be set through the API: there is no such mutation or input field', async () => {
    const u = await login(t);
    const res = await t.gql('mutation { updateSettings(input: { role: ADMIN }) { isDarkMode } }', {}, { token: u.token });
    expect(res.status).toBe(400);
    expect(dataOf(await t.gql(AdminMyRoleDocument, {}, { token: u.token })).me.role).toBe('USER');
  });
});
