import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminReloadModelsDocument, ModelsDocument } from '../generated/graphql';
import { rows } from '../helpers/accounts';
import { dataOf } from '../helpers/replies';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { adminLogin, outcome } from './setup';

const file = join(mkdtempSync(join(tmpdir(), 'models-')), 'models.json');
const model = (id: string, extra: Record<string, unknown> = {}) => ({ id, name: `Model ${id}`, provider: 'test', baseURL: 'http://127.0.0.1:9/v1', ...extra });
const write = (content: unknown) => writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));

let t: TestApp;
let admin: { token: string; userId: string };

beforeAll(async () => {
  write([model('alpha')]);
  t = await startTestApp({ env: { AI_MODELS: file } });
  admin = await adminLogin(t);
});
afterAll(() => t.close());

const modelIds = async () => dataOf(await t.gql(ModelsDocument)).models.map((m) => m.id);

it('reads a changed AI_MODELS file without a restart, audited', async () => {
  expect(await modelIds()).toEqual(['alpha']);
  write([model('beta'), model('gamma', { default: true })]);
  const reloaded = dataOf(await t.gql(AdminReloadModelsDocument, {}, { token: admin.token })).adminReloadModels;
  expect(reloaded).toEqual([
    { id: 'beta', name: 'Model beta', isDefault: false },
    { id: 'gamma', name: 'Model gamma', isDefault: true },
  ]);
  expect(await modelIds()).toEqual(['beta', 'gamma']);
  const audit = await rows(t, "select admin_id, details from admin_audit where action = 'RELOAD_MODELS'");
  expect(audit.map((r) => [r.admin_id, JSON.parse(String(r.details))])).toEqual([[admin.userId, { previous: ['alpha'], models: ['beta', 'gamma'] }]]);
});

it.each([
  ['not JSON', '[{"id": ', 'cannot read'],
  ['an unknown key', [model('delta', { defualt: true })], 'defualt'],
  ['a duplicate id and a missing key variable', [model('x'), model('x', { apiKeyEnv: 'NOT_SET_ANYWHERE' })], 'appears twice'],
  ['no models', [], 'at least one model'],
])('keeps the catalog in use when the file has problems (%s): BAD_REQUEST / INVALID_MODEL_CATALOG listing them', async (_what, content, problem) => {
  const before = await modelIds();
  const audits = (await rows(t, 'select count(*) as n from admin_audit'))[0].n;
  write(content);
  const res = await t.gql(AdminReloadModelsDocument, {}, { token: admin.token });
  expect(outcome(res)).toEqual({ status: 400, code: 'BAD_REQUEST', reason: 'INVALID_MODEL_CATALOG' });
  expect(res.body.errors![0].message).toContain(problem);
  expect(await modelIds()).toEqual(before);
  expect((await rows(t, 'select count(*) as n from admin_audit'))[0].n).toBe(audits);
});
