// Errors reach the SDKs as their own typed errors, with the right status.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startStack, FORMATS, MODEL } from '../lib/stack.js';
import { openai, anthropic, PROMPT } from '../lib/clients.js';

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

const chatBody = (model, extra = {}) => ({ model, messages: [{ role: 'user', content: PROMPT }], ...extra });
const messagesBody = (model, extra = {}) => ({
  model,
  max_tokens: 256,
  messages: [{ role: 'user', content: PROMPT }],
  ...extra,
});
const responsesBody = (model, extra = {}) => ({ model, input: PROMPT, store: false, ...extra });

// Awaits `promise`, which must fail with an error of class `Type` and status `status`.
async function rejects(promise, Type, status) {
  let error;
  try {
    const value = await promise;
    // A stream whose error is in-band would only fail while being read.
    if (value && typeof value[Symbol.asyncIterator] === 'function') for await (const _ of value);
  } catch (e) {
    error = e;
  }
  assert.ok(error, `expected ${Type.name}, got success`);
  assert.ok(error instanceof Type, `expected ${Type.name}, got ${error?.constructor?.name}: ${error?.message}`);
  assert.equal(error.status, status);
  return error;
}

for (const format of FORMATS) {
  describe(`errors via a ${format} provider`, () => {
    const server = () => stack.servers[format];

    it('a bad key is a 401 AuthenticationError', async () => {
      const o = openai(server(), { apiKey: 'wrong-key' });
      const a = anthropic(server(), { apiKey: 'wrong-key' });
      const e1 = await rejects(o.chat.completions.create(chatBody(MODEL)), OpenAI.AuthenticationError, 401);
      assert.match(e1.message, /API key/);
      await rejects(o.chat.completions.create(chatBody(MODEL, { stream: true })), OpenAI.AuthenticationError, 401);
      await rejects(o.responses.create(responsesBody(MODEL)), OpenAI.AuthenticationError, 401);
      await rejects(o.models.list(), OpenAI.AuthenticationError, 401);
      const e2 = await rejects(a.messages.create(messagesBody(MODEL)), Anthropic.AuthenticationError, 401);
      assert.equal(e2.error?.type, 'error');
      assert.equal(e2.error?.error?.type, 'authentication_error');
      await rejects(a.messages.stream(messagesBody(MODEL)).finalMessage(), Anthropic.AuthenticationError, 401);
      await rejects(a.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }), Anthropic.AuthenticationError, 401);
      // No key at all is refused the same way.
      const none = await fetch(`${server().url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(chatBody(MODEL)),
      });
      assert.equal(none.status, 401);
    });

    it('a model no rule routes is a 400 BadRequestError', async () => {
      const e1 = await rejects(openai(server()).chat.completions.create(chatBody('no-rule-for-this')), OpenAI.BadRequestError, 400);
      assert.match(e1.message, /no-rule-for-this|route|rule/i);
      await rejects(openai(server()).chat.completions.create(chatBody('no-rule-for-this', { stream: true })), OpenAI.BadRequestError, 400);
      await rejects(openai(server()).responses.create(responsesBody('no-rule-for-this')), OpenAI.BadRequestError, 400);
      const e2 = await rejects(anthropic(server()).messages.create(messagesBody('no-rule-for-this')), Anthropic.BadRequestError, 400);
      assert.equal(e2.error?.error?.type, 'invalid_request_error');
      await rejects(anthropic(server()).messages.stream(messagesBody('no-rule-for-this')).finalMessage(), Anthropic.BadRequestError, 400);
    });

    it('an upstream 429 is a RateLimitError with its retry-after, streamed or not', async () => {
      const e1 = await rejects(openai(server()).chat.completions.create(chatBody('status-429')), OpenAI.RateLimitError, 429);
      assert.equal(e1.headers.get('retry-after'), '7');
      const e2 = await rejects(openai(server()).chat.completions.create(chatBody('status-429', { stream: true })), OpenAI.RateLimitError, 429);
      assert.equal(e2.headers.get('retry-after'), '7');
      const e3 = await rejects(openai(server()).responses.create(responsesBody('status-429')), OpenAI.RateLimitError, 429);
      assert.equal(e3.headers.get('retry-after'), '7');
      const e4 = await rejects(anthropic(server()).messages.create(messagesBody('status-429')), Anthropic.RateLimitError, 429);
      assert.equal(e4.headers.get('retry-after'), '7');
      assert.equal(e4.error?.error?.type, 'rate_limit_error');
      const e5 = await rejects(anthropic(server()).messages.stream(messagesBody('status-429')).finalMessage(), Anthropic.RateLimitError, 429);
      assert.equal(e5.headers.get('retry-after'), '7');
    });

    it('an upstream 500 on every provider (failover exhausted) is a 502', async () => {
      const e1 = await rejects(openai(server()).chat.completions.create(chatBody('status-500')), OpenAI.InternalServerError, 502);
      // The backup was tried last.
      assert.equal(e1.headers.get('x-router-provider'), server().backup);
      await rejects(openai(server()).chat.completions.create(chatBody('status-500', { stream: true })), OpenAI.InternalServerError, 502);
      await rejects(openai(server()).responses.create(responsesBody('status-500')), OpenAI.InternalServerError, 502);
      const e2 = await rejects(anthropic(server()).messages.create(messagesBody('status-500')), Anthropic.InternalServerError, 502);
      assert.equal(e2.headers.get('x-router-provider'), server().backup);
      await rejects(anthropic(server()).messages.stream(messagesBody('status-500')).finalMessage(), Anthropic.InternalServerError, 502);
    });

    it('a malformed body is a 400 BadRequestError', async () => {
      const o = openai(server());
      const a = anthropic(server());
      const broken = '{"model": "alias/e2e", "messages": [';
      const json = { 'content-type': 'application/json' };
      await rejects(o.post('/chat/completions', { body: broken, headers: json }), OpenAI.BadRequestError, 400);
      await rejects(o.post('/responses', { body: broken, headers: json }), OpenAI.BadRequestError, 400);
      await rejects(a.post('/v1/messages', { body: broken, headers: json }), Anthropic.BadRequestError, 400);
      // Valid JSON of the wrong shape names the offending member.
      const e1 = await rejects(o.chat.completions.create({ model: MODEL, messages: 'hello' }), OpenAI.BadRequestError, 400);
      assert.match(e1.message, /messages/);
      const e2 = await rejects(a.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 42 }] }), Anthropic.BadRequestError, 400);
      assert.match(e2.message, /content/);
    });
  });
}

// The SDKs honour retry-after: with one retry allowed, the second attempt comes ~7 s
// after the first. All run at once, so the suite waits 7 s once.
describe('retry-after is honoured by the SDKs', { concurrency: true }, () => {
  // A fetch that notes when each request went out.
  const timedFetch = (times) => (url, init) => {
    times.push(Date.now());
    return fetch(url, init);
  };
  for (const format of FORMATS) {
    it(`OpenAI SDK, ${format} provider`, { timeout: 30_000 }, async () => {
      const times = [];
      const client = openai(stack.servers[format], { maxRetries: 1, fetch: timedFetch(times) });
      await rejects(client.chat.completions.create(chatBody('status-429')), OpenAI.RateLimitError, 429);
      assert.equal(times.length, 2);
      assert.ok(times[1] - times[0] >= 6_900, `waited ${times[1] - times[0]} ms`);
    });
    it(`Anthropic SDK, ${format} provider`, { timeout: 30_000 }, async () => {
      const times = [];
      const client = anthropic(stack.servers[format], { maxRetries: 1, fetch: timedFetch(times) });
      await rejects(client.messages.create(messagesBody('status-429')), Anthropic.RateLimitError, 429);
      assert.equal(times.length, 2);
      assert.ok(times[1] - times[0] >= 6_900, `waited ${times[1] - times[0]} ms`);
    });
  }
});
