// Anthropic SDK: messages.create, messages.stream and messages.countTokens, against
// providers of every format.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, FORMATS, MODEL } from '../lib/stack.js';
import { EXPECTED } from '../lib/fixtures.js';
import { anthropic, PROMPT, ANTHROPIC_TOOLS, timeIn } from '../lib/clients.js';

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

const SYSTEM_TEXT = 'You are a terse assistant. Answer with local times only.';
const SYSTEM = [
  { type: 'text', text: SYSTEM_TEXT },
  { type: 'text', text: 'Cities are given in English.', cache_control: { type: 'ephemeral' } },
];
const user = [{ role: 'user', content: PROMPT }];

// Checks a final message's content against the mock's reply through `format`.
function checkContent(format, content, expected) {
  const text = content.filter((b) => b.type === 'text');
  assert.equal(text.map((b) => b.text).join(''), expected.text);
  const calls = content.filter((b) => b.type === 'tool_use');
  assert.equal(calls.length, expected.calls.length);
  calls.forEach((c, i) => {
    assert.equal(c.name, expected.calls[i].name);
    assert.deepEqual(c.input, expected.calls[i].args);
    if (expected.calls[i].id) assert.equal(c.id, expected.calls[i].id);
    else assert.match(c.id, /\S/, 'a generated id');
  });
  assert.equal(new Set(calls.map((c) => c.id)).size, calls.length, 'ids are distinct');
  const thinking = content.filter((b) => b.type === 'thinking');
  if (expected.thinking) {
    assert.equal(thinking.length, 1, 'the reasoning arrives as a thinking block');
    assert.equal(thinking[0].thinking, expected.thinking);
    // Signed thinking (from an Anthropic provider) keeps its signature byte for byte.
    if (expected.signature) assert.equal(thinking[0].signature, expected.signature);
    // Blocks come in the upstream's order: thinking first.
    assert.equal(content[0].type, 'thinking');
  } else {
    assert.equal(thinking.length, 0);
  }
}

// The usage an Anthropic client sees: input_tokens without the cached parts.
function checkUsage(usage, expected) {
  const cacheRead = expected.cacheRead ?? 0;
  const cacheWrite = expected.cacheWrite ?? 0;
  assert.equal(usage.output_tokens, expected.output);
  if (expected.anthropicInput !== undefined) {
    assert.equal(usage.input_tokens, expected.anthropicInput);
    assert.equal(usage.cache_read_input_tokens, cacheRead);
    assert.equal(usage.cache_creation_input_tokens, cacheWrite);
  } else {
    assert.equal(
      usage.input_tokens + (usage.cache_read_input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0),
      expected.input,
    );
  }
}

for (const format of FORMATS) {
  describe(`messages via a ${format} provider`, () => {
    const server = () => stack.servers[format];
    const expected = EXPECTED[format];

    it('create: system blocks with cache_control, tools; content, stop_reason and usage', async () => {
      const message = await anthropic(server()).messages.create({
        model: MODEL,
        max_tokens: 1024,
        system: SYSTEM,
        messages: user,
        tools: ANTHROPIC_TOOLS,
      });
      assert.equal(message.type, 'message');
      assert.equal(message.role, 'assistant');
      checkContent(format, message.content, expected.whole);
      assert.equal(message.stop_reason, 'tool_use');
      checkUsage(message.usage, expected.whole.usage);

      const sent = await stack.lastUpstreamRequest(format);
      assert.equal(sent.model, server().sentModel);
      if (format === 'anthropic') {
        assert.deepEqual(sent.system, SYSTEM, 'system blocks and cache_control pass through');
        assert.deepEqual(sent.tools, ANTHROPIC_TOOLS);
      } else {
        const system = sent.messages.filter((m) => m.role === 'system' || m.role === 'developer');
        const systemText = JSON.stringify(system);
        assert.ok(systemText.includes(SYSTEM_TEXT) && systemText.includes('Cities are given'), systemText);
        const tool = sent.tools[0].function; // OpenAI and Ollama describe tools alike
        assert.equal(tool.name, 'get_time');
        assert.deepEqual(tool.parameters, ANTHROPIC_TOOLS[0].input_schema);
      }
    });

    it('takes tool_use / tool_result turns (signed thinking goes back intact)', async () => {
      const client = anthropic(server());
      const first = await client.messages.create({
        model: MODEL,
        max_tokens: 1024,
        messages: user,
        tools: ANTHROPIC_TOOLS,
      });
      const calls = first.content.filter((b) => b.type === 'tool_use');
      assert.equal(calls.length, 2);
      const results = calls.map((c) => ({ type: 'tool_result', tool_use_id: c.id, content: timeIn(c.input.city) }));
      const second = await client.messages.create({
        model: MODEL,
        max_tokens: 1024,
        messages: [...user, { role: 'assistant', content: first.content }, { role: 'user', content: results }],
        tools: ANTHROPIC_TOOLS,
      });
      checkContent(format, second.content, expected.whole);

      const sent = await stack.lastUpstreamRequest(format);
      const ids = calls.map((c) => c.id);
      if (format === 'anthropic') {
        const assistant = sent.messages[1];
        assert.equal(assistant.role, 'assistant');
        const thinking = assistant.content.find((b) => b.type === 'thinking');
        assert.equal(thinking.signature, expected.whole.signature, 'the signature went back intact');
        assert.deepEqual(
          sent.messages[2].content.map((b) => [b.type, b.tool_use_id, b.content]),
          [
            ['tool_result', ids[0], '14:05'],
            ['tool_result', ids[1], '21:05'],
          ],
        );
      } else if (format === 'openai') {
        const assistant = sent.messages.find((m) => m.role === 'assistant');
        assert.deepEqual(
          assistant.tool_calls.map((c) => [c.id, c.function.name, JSON.parse(c.function.arguments)]),
          [
            [ids[0], 'get_time', { city: 'Paris' }],
            [ids[1], 'get_time', { city: 'Tokyo' }],
          ],
        );
        assert.deepEqual(
          sent.messages.filter((m) => m.role === 'tool').map((m) => [m.tool_call_id, m.content]),
          [
            [ids[0], '14:05'],
            [ids[1], '21:05'],
          ],
        );
      } else {
        const tools = sent.messages.filter((m) => m.role === 'tool');
        assert.deepEqual(
          tools.map((m) => [m.tool_name, m.content]),
          [
            ['get_time', '14:05'],
            ['get_time', '21:05'],
          ],
        );
      }
    });

    it('stream: text events, the final message, its stop_reason and usage', async () => {
      const stream = anthropic(server()).messages.stream({
        model: MODEL,
        max_tokens: 1024,
        system: SYSTEM,
        messages: user,
        tools: ANTHROPIC_TOOLS,
      });
      let text = '';
      let thinking = '';
      stream.on('text', (delta) => {
        text += delta;
      });
      stream.on('thinking', (delta) => {
        thinking += delta;
      });
      const final = await stream.finalMessage();
      assert.equal(text, expected.stream.text);
      assert.equal(thinking, expected.stream.thinking);
      checkContent(format, final.content, expected.stream);
      assert.equal(final.stop_reason, 'tool_use');
      checkUsage(final.usage, expected.stream.usage);
      assert.equal(await stream.finalText(), expected.stream.text); // one text block
    });

    it('create with stream: true yields well-formed events', async () => {
      const events = await anthropic(server()).messages.create({
        model: MODEL,
        max_tokens: 1024,
        messages: user,
        stream: true,
      });
      const types = [];
      for await (const e of events) types.push(e.type);
      assert.equal(types[0], 'message_start');
      assert.equal(types.at(-1), 'message_stop');
      assert.equal(types.at(-2), 'message_delta');
      const starts = types.filter((t) => t === 'content_block_start').length;
      assert.equal(starts, types.filter((t) => t === 'content_block_stop').length);
      assert.equal(starts, (expected.stream.thinking ? 1 : 0) + 1 + expected.stream.calls.length);
    });

    it('countTokens: forwarded to an Anthropic provider, otherwise estimated', async () => {
      const { data, response } = await anthropic(server())
        .messages.countTokens({ model: MODEL, system: SYSTEM, messages: user, tools: ANTHROPIC_TOOLS })
        .withResponse();
      assert.equal(typeof data.input_tokens, 'number');
      if (format === 'anthropic') {
        assert.equal(data.input_tokens, 42); // the mock's count
        assert.equal(response.headers.get('x-router-estimate'), null);
        assert.equal(response.headers.get('x-router-provider'), server().provider);
        const res = await fetch(`${stack.mock.url}/mock/last-request?path=/v1/messages/count_tokens`);
        const sent = await res.json();
        assert.equal(sent.model, server().sentModel);
        assert.deepEqual(sent.system, SYSTEM);
      } else {
        assert.equal(response.headers.get('x-router-estimate'), 'true');
        assert.ok(data.input_tokens > 10 && data.input_tokens < 1000, `a plausible estimate: ${data.input_tokens}`);
      }
    });
  });
}
