// The live dashboard in headless Chromium (Debian's, driven by playwright-core): a request
// sent through an SDK appears as a card with its prompt, provider, requested -> sent model
// and tags, and the providers table shows one row per provider with its live figures.
// Screenshots are left in the artifacts folder.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startStack, FORMATS, MODEL, API_KEY, artifactsDir } from '../lib/stack.js';
import { openai, anthropic, CHAT_TOOLS, ANTHROPIC_TOOLS } from '../lib/clients.js';

const CHROMIUM = process.env.LLMROUTER_CHROMIUM || '/usr/bin/chromium';
const WAIT_MS = 10_000;

let stack;
let context;
let profile;
before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium (./scripts/install-deps) or set LLMROUTER_CHROMIUM`);
  }
  stack = await startStack();
  profile = mkdtempSync(join(tmpdir(), 'llmrouter-e2e-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    viewport: { width: 1100, height: 700 },
    timeout: 30_000,
  });
});
after(async () => {
  await context?.close().catch(() => {});
  if (profile) rmSync(profile, { recursive: true, force: true });
  await stack?.stop();
});

// One request per server, each through a different SDK and endpoint.
const SEND = {
  openai: (server, prompt) =>
    openai(server).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: prompt }], tools: CHAT_TOOLS }),
  anthropic: (server, prompt) =>
    anthropic(server)
      .messages.stream({ model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: prompt }], tools: ANTHROPIC_TOOLS })
      .finalMessage(),
  ollama: (server, prompt) => openai(server).responses.create({ model: MODEL, input: prompt, store: false }),
};
const CLIENT_FORMAT = { openai: 'openai', anthropic: 'anthropic', ollama: 'responses' };

describe('dashboard', () => {
  for (const format of FORMATS) {
    it(`shows a card for a request routed to the ${format} provider`, { timeout: 30_000 }, async () => {
      const server = stack.servers[format];
      const page = await context.newPage();
      const pageErrors = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      try {
        await page.goto(`${server.url}/dashboard?api_key=${encodeURIComponent(API_KEY)}`, { timeout: WAIT_MS });
        await page.locator('#conn.on').waitFor({ timeout: WAIT_MS }); // the event feed is connected

        const prompt = `What time is it in Lisbon? (dashboard check, ${format} provider)`;
        await SEND[format](server, prompt);

        const card = page.locator('#cards > .card:not(.live)', { hasText: prompt });
        await card.waitFor({ timeout: WAIT_MS });
        assert.equal(await card.count(), 1);
        assert.equal(await card.locator('.prov').first().textContent(), server.provider);
        assert.equal(await card.locator('.row .mono').first().textContent(), `${MODEL} → ${server.sentModel}`);
        assert.equal(await card.locator('.fmt').first().textContent(), CLIENT_FORMAT[format]);
        const tagTexts = await card.locator('.tags .tag:not(.r):not(.p)').allTextContents();
        assert.ok(tagTexts.includes('clock'), `tags: ${tagTexts}`);
        if (format !== 'ollama') assert.ok(tagTexts.includes('tools'), `tags: ${tagTexts}`);
        assert.equal(await card.locator('.txt', { hasText: prompt }).count(), 1, 'the prompt is shown');
        assert.ok(!(await card.getAttribute('class')).includes('fail'));
        assert.equal(await page.locator('#s-total').textContent(), '1');

        // The providers table (GET /v1/providers): one row per configured provider, in
        // config order, and the routed one's figures after the request (the table is read
        // again every few seconds).
        const rows = page.locator('#prov-body tr.prov-row');
        await rows.first().waitFor({ timeout: WAIT_MS });
        assert.deepEqual(await rows.locator('th').allTextContents(), [server.provider, server.backup]);
        assert.deepEqual(await rows.locator('.state').allTextContents(), ['ok', 'ok']);
        await page.waitForFunction(
          (name) => /\d/.test(document.querySelector(`#prov-body tr[data-provider="${name}"] td:nth-of-type(4)`)?.textContent || ''),
          server.provider, { timeout: WAIT_MS });
        assert.equal(await page.locator('#prov-table thead th[scope="col"]').count(), 8);

        await page.screenshot({ path: join(artifactsDir(), `dashboard-${format}.png`), fullPage: true });
        assert.deepEqual(pageErrors, []);
      } finally {
        await page.close().catch(() => {});
      }
    });
  }

  it('refuses the page and its feed without the key', async () => {
    const server = stack.servers.openai;
    assert.equal((await fetch(`${server.url}/dashboard`)).status, 401);
    assert.equal((await fetch(`${server.url}/dashboard/events`)).status, 401);
  });
});
