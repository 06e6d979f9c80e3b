// The team gateway through the official SDKs: each refusal reaches the client as the SDK's
// own error class (401 AuthenticationError, 403 PermissionDeniedError, 429 RateLimitError
// with retry-after, an exhausted budget as OpenAI's insufficient_quota), in both SDKs, and
// GET /v1/usage reports what was counted.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startStack, MODEL, API_KEY } from '../lib/stack.js';
import { openai, anthropic } from '../lib/clients.js';

const ALICE = 'e2e-alice-key';
const BOB = 'e2e-bob-key';

let stack;
before(async () => {
  stack = await startStack(['openai'], {
    env: { E2E_ALICE_KEY: ALICE, E2E_BOB_KEY: BOB },
    extraConfig: `
[[keys]]
name = "alice"
key_env = "E2E_ALICE_KEY"
models = ["alias/*"]
rpm = 2

[[keys]]
name = "bob"
key_env = "E2E_BOB_KEY"
budget_usd = 0.0
budget_period = "day"
`,
  });
});
after(async () => {
  await stack?.stop();
});

const server = () => stack.servers.openai;
const chat = (key, model = MODEL) =>
  openai(server(), { apiKey: key }).chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'hello' }],
  });

describe('team keys through the SDKs', () => {
  it('a wrong key is an AuthenticationError in both SDKs', async () => {
    await assert.rejects(chat('not-a-key'), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
    await assert.rejects(
      anthropic(server(), { apiKey: 'not-a-key' }).messages.create({
        model: MODEL,
        max_tokens: 16,
        messages: [{ role: 'user', content: 'hello' }],
      }),
      (e) => e instanceof Anthropic.AuthenticationError && e.status === 401,
    );
  });

  it('a model outside the key\'s globs is a PermissionDeniedError naming both', async () => {
    await assert.rejects(
      chat(ALICE, 'gpt-4o'),
      (e) =>
        e instanceof OpenAI.PermissionDeniedError &&
        /the key 'alice' may not use the model 'gpt-4o'/.test(e.message) &&
        e.code === 'permission_denied',
    );
    await assert.rejects(
      anthropic(server(), { apiKey: ALICE }).messages.create({
        model: 'claude-3-haiku',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'hello' }],
      }),
      (e) => e instanceof Anthropic.PermissionDeniedError && e.error?.error?.type === 'permission_error',
    );
  });

  it('rpm lets exactly the limit through, then a RateLimitError with retry-after', async () => {
    const first = await chat(ALICE);
    assert.ok(first.choices[0].message.content.length > 0);
    await chat(ALICE);
    await assert.rejects(chat(ALICE), (e) => {
      assert.ok(e instanceof OpenAI.RateLimitError, `got ${e}`);
      assert.equal(e.code, 'rate_limit_exceeded');
      const retry = Number(e.headers.get('retry-after'));
      assert.ok(retry >= 1 && retry <= 61, `retry-after ${retry}`);
      return true;
    });
    // The operator key is not limited.
    await chat(API_KEY);
    await chat(API_KEY);
    await chat(API_KEY);

    const res = await fetch(`${server().url}/v1/usage`, {
      headers: { authorization: `Bearer ${ALICE}` },
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(res.status, 200);
    const usage = await res.json();
    assert.equal(usage.key, 'alice');
    assert.equal(usage.requests, 2);
    assert.equal(usage.window.requests, 2);
    assert.equal(usage.limits.rpm, 2);
    assert.ok(usage.tokens > 0);
  });

  it('an exhausted budget is insufficient_quota to OpenAI clients, a RateLimitError to Anthropic ones', async () => {
    await assert.rejects(chat(BOB), (e) => {
      assert.ok(e instanceof OpenAI.RateLimitError, `got ${e}`);
      assert.equal(e.code, 'insufficient_quota');
      assert.equal(e.type, 'insufficient_quota');
      assert.match(e.message, /the key 'bob' has used its budget of \$0\.00 for the day/);
      return true;
    });
    await assert.rejects(
      anthropic(server(), { apiKey: BOB }).messages.create({
        model: MODEL,
        max_tokens: 16,
        messages: [{ role: 'user', content: 'hello' }],
      }),
      (e) => e instanceof Anthropic.RateLimitError && /renews at \d{4}-\d\d-\d\dT00:00:00Z/.test(e.message),
    );
  });
});
