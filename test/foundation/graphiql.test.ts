/// <reference lib="dom" />
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { chromium, type Browser } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/test-app';

const CHROMIUM = '/usr/bin/chromium';
// `.ci/run` installs chromium and sets REQUIRE_BROWSER=1, so CI can never skip this;
// a laptop without chromium skips it loudly instead of failing `npm test`.
const available = existsSync(CHROMIUM);
if (!available && process.env.REQUIRE_BROWSER) throw new Error(`REQUIRE_BROWSER is set but ${CHROMIUM} is missing`);
if (!available) console.warn(`GraphiQL browser test skipped: ${CHROMIUM} not installed (apt-get install -y chromium)`);
const describeWithBrowser = available ? describe : describe.skip;

describeWithBrowser('GraphiQL in a real browser', () => {
  let t: TestApp;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestApp();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('opens, runs { models { id } }, shows echo, and loads nothing from another host', async () => {
    const page = await browser.newPage();
    const foreign: string[] = [];
    const pageErrors: string[] = [];
    page.on('request', (req) => {
      const u = new URL(req.url());
      if (!['blob:', 'data:'].includes(u.protocol) && u.host !== new URL(t.url).host) foreign.push(req.url());
    });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });

    await page.goto(`${t.url}/graphql`, { waitUntil: 'networkidle' });
    expect(await page.title()).toContain('GraphiQL');
    // Wait for the query editor, replace its text, run it with Ctrl+Enter.
    const editor = page.locator('.graphiql-query-editor .monaco-editor, .graphiql-query-editor .CodeMirror').first();
    await editor.waitFor({ timeout: 20_000 });
    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type('{ models { id } }');
    await page.keyboard.press('ControlOrMeta+Enter');
    await page
      .waitForFunction(() => document.querySelector('.graphiql-response')?.textContent?.includes('"echo"'), null, { timeout: 20_000 })
      .catch(() => undefined);
    await page.screenshot({ path: `${tmpdir()}/graphiql.png` });
    const shown = await page.locator('.graphiql-response').innerText();
    expect(shown.replace(/\s+/g, '')).toContain('{"data":{"models":[{"id":"echo"}]}}');

    expect(foreign).toEqual([]);
    expect(pageErrors.filter((e) => /Content Security Policy|Refused/.test(e))).toEqual([]);
  }, 60_000);
});
