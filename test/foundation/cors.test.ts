import { startTestApp, type TestApp } from '../helpers/test-app';

const preflight = (t: TestApp, origin: string) =>
  fetch(`${t.url}/graphql`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' } });

describe('CORS', () => {
  it('answers a preflight without CORS_ORIGINS, allowing no other origin', async () => {
    const t = await startTestApp();
    try {
      const res = await preflight(t, 'https://web.example');
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await t.close();
    }
  });

  it('allows the listed origins only', async () => {
    const t = await startTestApp({ env: { CORS_ORIGINS: 'https://web.example' } });
    try {
      const allowed = await preflight(t, 'https://web.example');
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://web.example');
      expect((await preflight(t, 'https://other.example')).headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await t.close();
    }
  });
});
