import { createHash } from 'node:crypto';
import { login, rows } from '../helpers/accounts';
import { openGraphqlWs } from '../helpers/raw-ws';
import { collect, startTestApp, type TestApp } from '../helpers/test-app';
import { ApiKeysDocument, CreateApiKeyDocument, LogoutDocument, MeDocument, RevokeApiKeyDocument } from '../generated/graphql';

describe('API keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  async function createKey(token: string, name = 'script') {
    const res = await t.gql(CreateApiKeyDocument, { name }, { token });
    if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
    return res.body.data.createApiKey;
  }

  it('returns the secret once, stores only its SHA-256, and lists the key without it', async () => {
    const { token } = await login(t);
    const created = await createKey(token, '  nightly export  ');
    expect(created.secret).toMatch(/^cak_[A-Za-z0-9_-]{43}$/);
    expect(created.apiKey).toMatchObject({ name: 'nightly export', prefix: created.secret.slice(0, 12), lastUsedAt: null });

    const [row] = await rows(t, 'select * from api_keys where id = ?', [created.apiKey.id]);
    expect(row.secret_hash).toBe(createHash('sha256').update(created.secret).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(created.secret.slice(12));

    const list = await t.gql(ApiKeysDocument, {}, { token });
    expect(list.body.data!.apiKeys).toEqual([{ id: created.apiKey.id, name: 'nightly export', prefix: created.secret.slice(0, 12), lastUsedAt: null }]);
    expect(JSON.stringify(list.body)).not.toContain(created.secret);
  });

  it("authenticates as the key's owner over HTTP, REST and graphql-ws, and records lastUsedAt", async () => {
    const { token, userId } = await login(t);
    const { secret, apiKey } = await createKey(token);
    expect((await t.gql(MeDocument, {}, { apiKey: secret })).body.data!.me.id).toBe(userId);
    expect((await t.rest<{ id: string }>('GET', '/v1/user/info', { apiKey: secret })).body.data.id).toBe(userId);
    const ws = await collect(t.ws({ apiKey: secret }), MeDocument);
    expect(ws.results[0].data!.me.id).toBe(userId);
    const [row] = await rows(t, 'select last_used_at from api_keys where id = ?', [apiKey.id]);
    expect(row.last_used_at).not.toBeNull();
  });

  it('refuses an unknown or malformed key with UNAUTHENTICATED', async () => {
    for (const apiKey of ['cak_' + 'A'.repeat(43), 'nonsense', 'cak_' + 'x'.repeat(500)]) {
      const res = await t.gql(MeDocument, {}, { apiKey });
      expect([res.status, res.body.errors?.[0].extensions.code]).toEqual([401, 'UNAUTHENTICATED']);
    }
    expect((await openGraphqlWs(t.wsUrl, { apiKey: 'cak_nope' })).acked).toBe(false);
  });

  it('revokes at once: the key stops working everywhere and its open socket closes', async () => {
    const { token } = await login(t);
    const { secret, apiKey } = await createKey(token);
    const ws = await openGraphqlWs(t.wsUrl, { apiKey: secret });
    expect(ws.acked).toBe(true);

    expect((await t.gql(RevokeApiKeyDocument, { id: apiKey.id }, { token })).body.data!.revokeApiKey).toBe(true);
    expect(await ws.closed).toEqual({ code: 4403, reason: 'API key revoked' });
    expect((await t.gql(MeDocument, {}, { apiKey: secret })).status).toBe(401);
    expect((await t.rest('GET', '/v1/user/info', { apiKey: secret })).status).toBe(401);
    expect((await t.gql(ApiKeysDocument, {}, { token })).body.data!.apiKeys).toEqual([]);
    // Revoking again is harmless.
    expect((await t.gql(RevokeApiKeyDocument, { id: apiKey.id }, { token })).body.data!.revokeApiKey).toBe(true);
  });

  it("answers NOT_FOUND for someone else's key, an unknown id and a malformed id, and revokes nothing", async () => {
    const owner = await login(t);
    const other = await login(t);
    const { secret, apiKey } = await createKey(owner.token);
    for (const id of [apiKey.id, '01hzzzzzzzzzzzzzzzzzzzzzzz', "1' or '1'='1"]) {
      const res = await t.gql(RevokeApiKeyDocument, { id }, { token: other.token });
      expect([id, res.status, res.body.errors?.[0].extensions.code]).toEqual([id, 404, 'NOT_FOUND']);
    }
    expect((await t.gql(MeDocument, {}, { apiKey: secret })).body.data!.me.id).toBe(owner.userId);
    expect((await t.gql(ApiKeysDocument, {}, { token: other.token })).body.data!.apiKeys).toEqual([]);
  });

  it.each([
    ['', 'empty'],
    ['   ', 'blank'],
    ['n'.repeat(65), '65 characters'],
    ['n'.repeat(10_000), 'oversized'],
  ])('refuses the name %j (%s) with BAD_REQUEST and creates nothing', async (name) => {
    const { token, userId } = await login(t);
    const res = await t.gql(CreateApiKeyDocument, { name }, { token });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'name' } });
    expect(await rows(t, 'select id from api_keys where user_id = ?', [userId])).toEqual([]);
  });

  it('accepts a 64-character name', async () => {
    const { token } = await login(t);
    expect((await createKey(token, 'n'.repeat(64))).apiKey.name).toHaveLength(64);
  });

  it('refuses API key operations without a credential', async () => {
    expect((await t.gql(CreateApiKeyDocument, { name: 'x' })).status).toBe(401);
    expect((await t.gql(ApiKeysDocument)).status).toBe(401);
    expect((await t.gql(RevokeApiKeyDocument, { id: 'x' })).status).toBe(401);
  });

  it('allows at most 20 live keys, also when 25 creations race', async () => {
    const { token, userId } = await login(t);
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => t.gql(CreateApiKeyDocument, { name: `k${i}` }, { token })));
    expect(results.filter((r) => r.body.data).length).toBe(20);
    const refused = results.filter((r) => r.body.errors);
    expect(refused.length).toBe(5);
    expect(refused[0].body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'TOO_MANY_API_KEYS' } });
    expect((await rows(t, 'select count(*) as n from api_keys where user_id = ?', [userId]))[0].n).toBe(20);

    const first = results.find((r) => r.body.data)!.body.data!.createApiKey.apiKey.id;
    await t.gql(RevokeApiKeyDocument, { id: first }, { token });
    expect((await t.gql(CreateApiKeyDocument, { name: 'after revoking one' }, { token })).body.data!.createApiKey.secret).toMatch(/^cak_/);
  });

  it('cannot log out with an API key (it is not a login token)', async () => {
    const { token } = await login(t);
    const { secret } = await createKey(token);
    const res = await t.gql(LogoutDocument, {}, { apiKey: secret });
    expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'NOT_A_LOGIN_TOKEN' } });
    expect((await t.gql(MeDocument, {}, { apiKey: secret })).status).toBe(200);
  });
});
