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

  it('reads connection_init keys whatever their case, as GraphiQL sends its Headers tab', async () => {
    const { token, userId } = await login(t);
    const { secret } = await createKey(token);
    for (const params of [{ Authorization: `Bearer ${token}` }, { AUTHORIZATION: `Bearer ${token}` }, { 'X-API-Key': secret }, { 'x-api-key': secret }, { ApiKey: secret }]) {
      const ws = await collect(t.ws(params), MeDocument);
      expect([Object.keys(params)[0], ws.results[0].data?.me.id]).toEqual([Object.keys(params)[0], userId]);
    }
    expect((await openGraphqlWs(t.wsUrl, { 'X-Api-Key': 'cak_nope' })).acked).toBe(false);
  });

  it('refuses an unknown or malformed key with UNAUTHENTICATED', async () => {
    for (const apiKey of ['cak_' + 'A'.repeat(43), 'nonsense', 'cak_' + 'x'.repeat(500)]) {
      const res = await t.gql(MeDocument, {}, { apiKey });
      expect([res.status, res.body.errors?.[0].extensions.code]).toEqual([401, 'UNAUTHENTICATED']);
    }
    expect((await openGraphqlWs(t.wsUrl, { apiKey: 'cak_nope' })).acked).toBe(false);
  });

  it('refuses a bad key sent next to a valid token, and a key and a token of two different accounts', async () => {
    const alice = await login(t);
    const bob = await login(t);
    const bobsKey = (await t.gql(CreateApiKeyDocument, { name: 'bob' }, { token: bob.token })).body.data!.createApiKey.secret;
    const aliceKey = (await t.gql(CreateApiKeyDocument, { name: 'alice' }, { token: alice.token })).body.data!.createApiKey.secret;
    for (const apiKey of ['cak_' + 'A'.repeat(43), bobsKey]) {
      const res = await t.gql(MeDocument, {}, { token: alice.token, apiKey });
      expect([res.status, res.body.errors?.[0].extensions.code]).toEqual([401, 'UNAUTHENTICATED']);
    }
    const both = await t.gql(MeDocument, {}, { token: alice.token, apiKey: aliceKey });
    expect(both.body.data?.me.id).toBe(alice.userId);
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

  describe('what an API key may not do', () => {
    const REFUSED = { code: 'FORBIDDEN', status: 403, details: { reason: 'LOGIN_TOKEN_REQUIRED' } };

    /** A user with two keys, signed in with a login token too. */
    async function userWithKeys() {
      const user = await login(t);
      const first = await createKey(user.token, 'first');
      const second = await createKey(user.token, 'second');
      return { ...user, first, second };
    }
    /** What the database holds for the user: keys (revoked or not) and revoked login tokens. */
    const stored = async (userId: string) => ({
      keys: await rows(t, 'select id, revoked_at from api_keys where user_id = ? order by id', [userId]),
      revokedTokens: await rows(t, 'select jti from revoked_tokens where user_id = ?', [userId]),
    });

    it('cannot create, list or revoke API keys, nor log out, over GraphQL: FORBIDDEN LOGIN_TOKEN_REQUIRED, and nothing changes', async () => {
      const { token, userId, first, second } = await userWithKeys();
      const before = await stored(userId);
      expect(before).toEqual({
        keys: [first.apiKey.id, second.apiKey.id].sort().map((id) => ({ id, revoked_at: null })),
        revokedTokens: [],
      });

      const apiKey = first.secret;
      const answers = [
        await t.gql(CreateApiKeyDocument, { name: 'minted by a key' }, { apiKey }),
        await t.gql(ApiKeysDocument, {}, { apiKey }),
        await t.gql(RevokeApiKeyDocument, { id: second.apiKey.id }, { apiKey }),
        await t.gql(RevokeApiKeyDocument, { id: first.apiKey.id }, { apiKey }),
        await t.gql(RevokeApiKeyDocument, { id: '01hzzzzzzzzzzzzzzzzzzzzzzz' }, { apiKey }),
        await t.gql(LogoutDocument, {}, { apiKey }),
      ];
      for (const res of answers) {
        expect([res.status, res.body.data ?? null, res.body.errors?.[0].extensions]).toEqual([403, null, expect.objectContaining(REFUSED)]);
      }

      expect(await stored(userId)).toEqual(before);
      // Both keys and the login token still work.
      for (const creds of [{ apiKey: first.secret }, { apiKey: second.secret }, { token }]) {
        expect((await t.gql(MeDocument, {}, creds)).body.data!.me.id).toBe(userId);
      }
    });

    it('is refused the same over graphql-ws and REST', async () => {
      const { userId, first } = await userWithKeys();
      const before = await stored(userId);

      const created = await collect(t.ws({ apiKey: first.secret }), CreateApiKeyDocument, { name: 'minted over ws' });
      expect(created.results[0].errors![0].extensions).toMatchObject(REFUSED);
      const listed = await collect(t.ws({ apiKey: first.secret }), ApiKeysDocument);
      expect(listed.results[0].errors![0].extensions).toMatchObject(REFUSED);

      const rest = await t.rest('POST', '/v1/auth/logout', { apiKey: first.secret });
      expect([rest.status, rest.body.data, rest.body.error]).toEqual([403, null, expect.objectContaining({ code: 403, details: { reason: 'LOGIN_TOKEN_REQUIRED' } })]);

      expect(await stored(userId)).toEqual(before);
    });

    it('leaves all of it to a login token', async () => {
      const { token, userId, first, second } = await userWithKeys();
      const listed = await t.gql(ApiKeysDocument, {}, { token });
      expect(listed.body.data!.apiKeys.map((k) => k.id)).toEqual([second.apiKey.id, first.apiKey.id]);
      expect((await t.gql(RevokeApiKeyDocument, { id: first.apiKey.id }, { token })).body.data).toEqual({ revokeApiKey: true });
      expect((await t.gql(LogoutDocument, {}, { token })).body).toEqual({ data: { logout: true } });
      const after = await stored(userId);
      expect(after.keys.find((k) => k.id === first.apiKey.id)!.revoked_at).not.toBeNull();
      expect(after.keys.find((k) => k.id === second.apiKey.id)!.revoked_at).toBeNull();
      expect(after.revokedTokens).toHaveLength(1);
      // A key made before logging out outlives the login token, as it is meant to.
      expect((await t.gql(MeDocument, {}, { apiKey: second.secret })).body.data!.me.id).toBe(userId);
    });
  });
});
