// /v1/embeddings and /v1/completions through the official OpenAI SDK: embeddings from an
// OpenAI-format and an Ollama-format provider (the SDK asks for base64 unless told
// otherwise; Ollama's vectors are encoded by the router), legacy completions passed through.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack, MODEL } from '../lib/stack.js';
import { openai } from '../lib/clients.js';

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

// The mock's vector for input i of text length L: [L, (i+1)/4, -(i+1)/2, 3(i+1)/4] (exact
// in float32, so base64 decodes to these very numbers).
const expected = (text, i) => [text.length, (i + 1) * 0.25, -(i + 1) * 0.5, (i + 1) * 0.75];

for (const format of ['openai', 'ollama']) {
  describe(`embeddings through a server with an ${format} provider`, () => {
    const server = () => stack.servers[format];

    it('embeddings.create() with the SDK default (base64) decodes to the vectors', async () => {
      const { data, response } = await openai(server())
        .embeddings.create({ model: MODEL, input: ['hello', 'hi'] })
        .withResponse();
      assert.equal(response.headers.get('x-router-provider'), server().provider);
      assert.equal(response.headers.get('x-router-model'), server().sentModel);
      assert.equal(data.object, 'list');
      assert.equal(data.data.length, 2);
      assert.deepEqual(data.data[0].embedding, expected('hello', 0));
      assert.deepEqual(data.data[1].embedding, expected('hi', 1));
      assert.equal(data.data[1].index, 1);
      assert.ok(data.usage.prompt_tokens > 0);
    });

    it('embeddings.create() with encoding_format float gets numbers', async () => {
      const res = await openai(server()).embeddings.create({
        model: MODEL,
        input: 'abc',
        encoding_format: 'float',
        dimensions: 3,
      });
      assert.deepEqual(res.data[0].embedding, [3, 0.25, -0.5]);
    });
  });
}

describe('embeddings and completions where the provider format has none', () => {
  it('embeddings.create() through an anthropic provider is a 400 that says so', async () => {
    await assert.rejects(
      openai(stack.servers.anthropic).embeddings.create({ model: MODEL, input: 'x' }),
      (e) => e instanceof OpenAI.BadRequestError && /served by openai and ollama providers only/.test(e.message),
    );
  });

  it('completions.create() through an ollama provider is a 400 that says so', async () => {
    await assert.rejects(
      openai(stack.servers.ollama).completions.create({ model: MODEL, prompt: 'Say hi' }),
      (e) => e instanceof OpenAI.BadRequestError && /served by openai providers only/.test(e.message),
    );
  });
});

describe('legacy completions through a server with an openai provider', () => {
  const server = () => stack.servers.openai;

  it('completions.create() is passed through', async () => {
    const { data, response } = await openai(server())
      .completions.create({ model: MODEL, prompt: 'Say hi', max_tokens: 5 })
      .withResponse();
    assert.equal(response.headers.get('x-router-provider'), server().provider);
    assert.equal(data.object, 'text_completion');
    assert.equal(data.choices[0].text, ' mock completion');
    assert.equal(data.usage.completion_tokens, 2);
  });

  it('completions.create({stream: true}) streams the upstream chunks', async () => {
    const stream = await openai(server()).completions.create({
      model: MODEL,
      prompt: 'Say hi',
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) text += choice.text;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, ' mock completion');
    assert.equal(usage?.total_tokens, 5);
  });
});
