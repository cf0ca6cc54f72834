import { startTestApp, type TestApp } from '../helpers/test-app';

/** Production has no GraphiQL page; a browser is told so, not refused as a CSRF attempt. */
describe('GET /graphql in production', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(48), WECHAT_APP_ID: 'wx1', WECHAT_APP_SECRET: 's', ALLOW_ECHO_IN_PRODUCTION: 'true' } });
  });
  afterAll(() => t.close());

  it('tells a browser that GraphiQL is off, and still answers a GraphQL GET request', async () => {
    const page = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(page.status).toBe(404);
    expect(await page.text()).toMatch(/^GraphiQL is turned off in production\. Send GraphQL requests to POST \/graphql/);

    const query = await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ models { id } }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(query.status).toBe(200);
    expect(await query.json()).toEqual({ data: { models: [{ id: 'echo' }] } });
  });
});
