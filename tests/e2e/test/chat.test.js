// OpenAI SDK, chat.completions.create, against providers of every format.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, FORMATS, MODEL } from '../lib/stack.js';
import { EXPECTED } from '../lib/fixtures.js';
import { openai, PROMPT, CHAT_TOOLS, timeIn } from '../lib/clients.js';

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

const user = [{ role: 'user', content: PROMPT }];

// Tool calls of a non-streamed reply, checked against the mock's: separate calls, in
// order, with the upstream's ids (or, for Ollama, which has none, unique ones).
function checkCalls(format, calls, expected) {
  assert.equal(calls.length, expected.length, 'one call per upstream call');
  calls.forEach((c, i) => {
    assert.equal(c.type, 'function');
    assert.equal(c.function.name, expected[i].name);
    assert.deepEqual(JSON.parse(c.function.arguments), expected[i].args);
    if (expected[i].id) {
      assert.equal(c.id, expected[i].id);
    } else {
      assert.match(c.id, /\S/, `${format}: a generated id`);
    }
  });
  assert.equal(new Set(calls.map((c) => c.id)).size, calls.length, 'ids are distinct');
}

// Assembles a Chat Completions stream as a client would.
async function assemble(stream) {
  const out = { text: '', calls: [], finish: null, usage: null, chunks: 0, ids: new Set() };
  for await (const chunk of stream) {
    out.chunks++;
    out.ids.add(chunk.id);
    if (chunk.usage) out.usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (choice.delta?.content) out.text += choice.delta.content;
      for (const t of choice.delta?.tool_calls ?? []) {
        out.calls[t.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } };
        const c = out.calls[t.index];
        if (t.id) c.id = t.id;
        if (t.function?.name) c.function.name += t.function.name;
        if (t.function?.arguments) c.function.arguments += t.function.arguments;
      }
      if (choice.finish_reason) out.finish = choice.finish_reason;
    }
  }
  return out;
}

for (const format of FORMATS) {
  describe(`chat.completions via a ${format} provider`, () => {
    const server = () => stack.servers[format];
    const expected = EXPECTED[format];

    it('answers a plain request with the upstream text', async () => {
      const reply = await openai(server()).chat.completions.create({ model: MODEL, messages: user });
      assert.equal(reply.object, 'chat.completion');
      assert.equal(reply.choices.length, 1);
      assert.equal(reply.choices[0].message.role, 'assistant');
      assert.equal(reply.choices[0].message.content, expected.whole.text);
      assert.equal(reply.choices[0].finish_reason, 'tool_calls'); // the recorded reply calls tools
      assert.equal(reply.usage.prompt_tokens, expected.whole.usage.input);
      assert.equal(reply.usage.completion_tokens, expected.whole.usage.output);
      assert.equal(reply.usage.total_tokens, expected.whole.usage.input + expected.whole.usage.output);

      const sent = await stack.lastUpstreamRequest(format);
      assert.equal(sent.model, server().sentModel);
      assert.equal(JSON.stringify(sent).includes(PROMPT), true, 'the prompt reached the upstream');
    });

    it('streams: the assembled text and tool calls equal the upstream stream', async () => {
      const stream = await openai(server()).chat.completions.create({ model: MODEL, messages: user, stream: true });
      const got = await assemble(stream);
      assert.equal(got.text, expected.stream.text);
      checkCalls(format, got.calls, expected.stream.calls);
      assert.equal(got.finish, 'tool_calls');
      assert.equal(got.ids.size, 1, 'every chunk has the same id');
      // Without stream_options.include_usage a translated stream has no usage chunk. (In
      // same-format pass-through the upstream's bytes are relayed: the mock always sends one.)
      if (format !== 'openai') assert.equal(got.usage, null);
      const sent = await stack.lastUpstreamRequest(format);
      assert.equal(sent.stream, true);
    });

    it('returns parallel tool calls as separate calls, and takes their results in a follow-up turn', async () => {
      const client = openai(server());
      const first = await client.chat.completions.create({
        model: MODEL,
        messages: user,
        tools: CHAT_TOOLS,
        tool_choice: 'auto',
        parallel_tool_calls: true,
      });
      const message = first.choices[0].message;
      checkCalls(format, message.tool_calls, expected.whole.calls);
      assert.equal(first.choices[0].finish_reason, 'tool_calls');

      const results = message.tool_calls.map((c) => ({
        role: 'tool',
        tool_call_id: c.id,
        content: timeIn(JSON.parse(c.function.arguments).city),
      }));
      const second = await client.chat.completions.create({
        model: MODEL,
        messages: [...user, message, ...results],
        tools: CHAT_TOOLS,
      });
      assert.equal(second.choices[0].message.content, expected.whole.text);

      // The upstream got the calls and their results, paired by id, in its own format.
      const sent = await stack.lastUpstreamRequest(format);
      const ids = message.tool_calls.map((c) => c.id);
      if (format === 'openai') {
        const assistant = sent.messages.find((m) => m.role === 'assistant');
        assert.deepEqual(
          assistant.tool_calls.map((c) => c.id),
          ids,
        );
        assert.deepEqual(
          sent.messages.filter((m) => m.role === 'tool').map((m) => [m.tool_call_id, m.content]),
          [
            [ids[0], '14:05'],
            [ids[1], '21:05'],
          ],
        );
        assert.equal(sent.tools[0].function.name, 'get_time');
      } else if (format === 'anthropic') {
        const assistant = sent.messages.find((m) => m.role === 'assistant');
        assert.deepEqual(
          assistant.content.filter((b) => b.type === 'tool_use').map((b) => [b.id, b.name, b.input]),
          [
            [ids[0], 'get_time', { city: 'Paris' }],
            [ids[1], 'get_time', { city: 'Tokyo' }],
          ],
        );
        const last = sent.messages[sent.messages.length - 1];
        assert.equal(last.role, 'user');
        const toolResults = last.content.filter((b) => b.type === 'tool_result');
        assert.deepEqual(
          toolResults.map((b) => b.tool_use_id),
          ids,
        );
        assert.equal(JSON.stringify(toolResults[0].content).includes('14:05'), true);
        assert.equal(sent.tools[0].name, 'get_time');
        assert.deepEqual(sent.tools[0].input_schema, CHAT_TOOLS[0].function.parameters);
      } else {
        const assistant = sent.messages.find((m) => m.role === 'assistant');
        assert.deepEqual(
          assistant.tool_calls.map((c) => [c.function.name, c.function.arguments]),
          [
            ['get_time', { city: 'Paris' }],
            ['get_time', { city: 'Tokyo' }],
          ],
        );
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

    it('streams parallel tool calls with their ids and arguments', async () => {
      const stream = await openai(server()).chat.completions.create({
        model: MODEL,
        messages: user,
        tools: CHAT_TOOLS,
        stream: true,
      });
      const got = await assemble(stream);
      checkCalls(format, got.calls, expected.stream.calls);
    });

    it('passes response_format json_schema to the upstream in its own form', async () => {
      const schema = {
        type: 'object',
        properties: { paris: { type: 'string' }, tokyo: { type: 'string' } },
        required: ['paris', 'tokyo'],
        additionalProperties: false,
      };
      const reply = await openai(server()).chat.completions.create({
        model: MODEL,
        messages: user,
        response_format: { type: 'json_schema', json_schema: { name: 'times', schema, strict: true } },
      });
      assert.equal(reply.choices[0].message.content, expected.whole.text);
      const sent = await stack.lastUpstreamRequest(format);
      if (format === 'openai') {
        assert.equal(sent.response_format.type, 'json_schema');
        assert.deepEqual(sent.response_format.json_schema.schema, schema);
      } else if (format === 'anthropic') {
        assert.deepEqual(sent.output_config?.format?.schema, schema);
      } else {
        assert.deepEqual(sent.format, schema);
      }
    });

    it('sends usage at the end of a stream when stream_options.include_usage is set', async () => {
      const stream = await openai(server()).chat.completions.create({
        model: MODEL,
        messages: user,
        stream: true,
        stream_options: { include_usage: true },
      });
      const got = await assemble(stream);
      assert.ok(got.usage, 'a usage chunk arrived');
      assert.equal(got.usage.prompt_tokens, expected.stream.usage.input);
      assert.equal(got.usage.completion_tokens, expected.stream.usage.output);
      assert.equal(got.usage.total_tokens, expected.stream.usage.input + expected.stream.usage.output);
      assert.equal(got.text, expected.stream.text);
    });
  });
}
