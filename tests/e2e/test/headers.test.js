// The router's response headers, through the SDKs' raw-response APIs, on streams too.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, FORMATS, MODEL } from '../lib/stack.js';
import { EXPECTED } from '../lib/fixtures.js';
import { openai, anthropic, PROMPT, CHAT_TOOLS, ANTHROPIC_TOOLS, RESPONSES_TOOLS } from '../lib/clients.js';

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

const tags = (response) => (response.headers.get('x-router-request-tags') ?? '').split(',').filter(Boolean).sort();

for (const format of FORMATS) {
  describe(`X-Router-* headers via a ${format} provider`, () => {
    const server = () => stack.servers[format];
    const expected = EXPECTED[format];

    // What every routed reply carries; `tools`: whether the request defined tools.
    function checkRouted(response, { tools }) {
      assert.equal(response.headers.get('x-router-provider'), server().provider);
      assert.equal(response.headers.get('x-router-model'), server().sentModel);
      assert.match(response.headers.get('x-router-request-id') ?? '', /^\d+$/);
      // The keyword classifier tags "what time" prompts `clock`; tool definitions add `tools`.
      assert.deepEqual(tags(response), tools ? ['clock', 'tools'] : ['clock']);
    }

    it('chat.completions: withResponse(), streamed and not', async () => {
      const client = openai(server());
      const messages = [{ role: 'user', content: PROMPT }];
      const { data, response } = await client.chat.completions.create({ model: MODEL, messages, tools: CHAT_TOOLS }).withResponse();
      checkRouted(response, { tools: true });
      assert.equal(response.headers.get('x-router-input-tokens'), String(expected.whole.usage.input));
      assert.equal(response.headers.get('x-router-output-tokens'), String(expected.whole.usage.output));
      assert.equal(data.choices[0].message.content, expected.whole.text); // the body is untouched

      const streamed = await client.chat.completions.create({ model: MODEL, messages, stream: true }).withResponse();
      checkRouted(streamed.response, { tools: false });
      assert.match(streamed.response.headers.get('content-type'), /^text\/event-stream/);
      let text = '';
      for await (const chunk of streamed.data) text += chunk.choices[0]?.delta?.content ?? '';
      assert.equal(text, expected.stream.text);
    });

    it('messages: withResponse() on create and on stream', async () => {
      const client = anthropic(server());
      const body = { model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: PROMPT }], tools: ANTHROPIC_TOOLS };
      const { data, response } = await client.messages.create(body).withResponse();
      checkRouted(response, { tools: true });
      assert.equal(data.stop_reason, 'tool_use');

      const stream = client.messages.stream({ ...body, tools: undefined });
      const raw = await stream.withResponse();
      checkRouted(raw.response, { tools: false });
      const final = await stream.finalMessage();
      assert.equal(final.content.filter((b) => b.type === 'text').map((b) => b.text).join(''), expected.stream.text);
    });

    it('responses: withResponse(), streamed and not', async () => {
      const client = openai(server());
      const body = { model: MODEL, input: PROMPT, tools: RESPONSES_TOOLS, store: false };
      const { data, response } = await client.responses.create(body).withResponse();
      checkRouted(response, { tools: true });
      assert.equal(data.output_text, expected.whole.text);

      const streamed = await client.responses.create({ ...body, stream: true }).withResponse();
      checkRouted(streamed.response, { tools: true });
      let completed = null;
      for await (const event of streamed.data) if (event.type === 'response.completed') completed = event.response;
      const message = completed?.output.find((o) => o.type === 'message');
      assert.equal(message?.content.map((c) => c.text).join(''), expected.stream.text);
    });

    it('an error carries them too, streamed or not (the provider tried last)', async () => {
      for (const stream of [false, true]) {
        const error = await openai(server())
          .chat.completions.create({ model: 'status-429', messages: [{ role: 'user', content: PROMPT }], stream })
          .then(
            () => null,
            (e) => e,
          );
        assert.equal(error?.status, 429);
        assert.equal(error.headers.get('x-router-provider'), server().backup);
        assert.equal(error.headers.get('x-router-model'), 'status-429');
        assert.match(error.headers.get('x-router-request-id') ?? '', /^\d+$/);
      }
    });
  });
}
