/// <reference lib="dom" />
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { chromium, type Browser, type Page } from 'playwright-core';
import { login } from '../helpers/accounts';
import { startAppWithFakeAi, sent } from '../helpers/replies';
import type { TestApp } from '../helpers/test-app';
import type { FakeOpenAI } from '../fakes/openai';

const CHROMIUM = '/usr/bin/chromium';
// `.ci/run` installs chromium and sets REQUIRE_BROWSER=1, so CI can never skip this;
// a laptop without chromium skips it loudly instead of failing `npm test`.
const available = existsSync(CHROMIUM);
if (!available && process.env.REQUIRE_BROWSER) throw new Error(`REQUIRE_BROWSER is set but ${CHROMIUM} is missing`);
if (!available) console.warn(`GraphiQL browser test skipped: ${CHROMIUM} not installed (apt-get install -y chromium)`);
const describeWithBrowser = available ? describe : describe.skip;

describeWithBrowser('GraphiQL in a real browser', () => {
  let t: TestApp;
  let ai: FakeOpenAI;
  let closeApp: () => Promise<void>;
  let browser: Browser;
  beforeAll(async () => {
    ({ t, ai, close: closeApp } = await startAppWithFakeAi({ chunkSize: 2 }));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await closeApp?.();
  });

  /** Replaces the text of the CodeMirror editor under `selector` by typing `text` into it. */
  async function typeInto(page: Page, selector: string, text: string): Promise<void> {
    const editor = page.locator(`${selector} .CodeMirror`).first();
    await editor.waitFor({ timeout: 20_000 });
    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type(text);
  }

  /** What the response pane shows, without whitespace. */
  const responseText = async (page: Page) => (await page.locator('.graphiql-response').innerText()).replace(/\s+/g, '');

  it('opens, runs { models { id } }, shows the catalog, and loads nothing from another host', async () => {
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
    await typeInto(page, '.graphiql-query-editor', '{ models { id } }');
    await page.keyboard.press('ControlOrMeta+Enter');
    await page.waitForFunction(() => document.querySelector('.graphiql-response')?.textContent?.includes('gpt-test'), null, { timeout: 20_000 }).catch(() => undefined);
    await page.screenshot({ path: `${tmpdir()}/graphiql.png` });
    expect(await responseText(page)).toContain('{"data":{"models":[{"id":"gpt-test"}]}}');

    expect(foreign).toEqual([]);
    expect(pageErrors.filter((e) => /Content Security Policy|Refused/.test(e))).toEqual([]);
  }, 60_000);

  it('runs a subscription to a streamed reply over graphql-ws, with the token typed in the Headers tab', async () => {
    const { token } = await login(t);
    ai.delayMs = 30;
    ai.nextReplies.push('流式回复：你好，GraphiQL！');
    const started = await sent(t, token, { content: '你好', stream: true });
    expect(started.reply.status).toBe('STREAMING');

    const page = await browser.newPage();
    await page.goto(`${t.url}/graphql`, { waitUntil: 'networkidle' });
    await typeInto(page, '.graphiql-query-editor', `subscription { replyStream(messageId: "${started.messageId}") { seq done message { status content } } }`);
    // What is typed in the Headers tab becomes the socket's connection_init payload.
    await page.getByRole('button', { name: 'Headers' }).click();
    await typeInto(page, '.graphiql-editor-tool .graphiql-editor:not(.hidden)', `{"Authorization": "Bearer ${token}"}`);
    await page.locator('.graphiql-query-editor .CodeMirror').first().click();
    await page.keyboard.press('ControlOrMeta+Enter');
    await page.waitForFunction(() => document.querySelector('.graphiql-response')?.textContent?.includes('COMPLETE'), null, { timeout: 20_000 }).catch(() => undefined);
    await page.screenshot({ path: `${tmpdir()}/graphiql-subscription.png` });
    const shown = await responseText(page);
    expect(shown).toContain('"done":true');
    expect(shown).toContain('"status":"COMPLETE","content":"流式回复：你好，GraphiQL！"');
  }, 60_000);

  it('refuses a subscription whose Headers tab carries no token (the server answers, the page shows the refusal)', async () => {
    const { token } = await login(t);
    const started = await sent(t, token, { content: 'hi', stream: true });
    const page = await browser.newPage();
    await page.goto(`${t.url}/graphql`, { waitUntil: 'networkidle' });
    await typeInto(page, '.graphiql-query-editor', `subscription { replyStream(messageId: "${started.messageId}") { seq done } }`);
    await page.keyboard.press('ControlOrMeta+Enter');
    await page.waitForFunction(() => document.querySelector('.graphiql-response')?.textContent?.includes('UNAUTHENTICATED'), null, { timeout: 20_000 }).catch(() => undefined);
    expect(await responseText(page)).toContain('UNAUTHENTICATED');
  }, 60_000);
});
