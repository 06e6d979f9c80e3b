// OpenAI SDK, responses.create and responses.stream, shaped as Codex CLI sends them,
// against providers of every format.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, FORMATS, MODEL } from '../lib/stack.js';
import { EXPECTED } from '../lib/fixtures.js';
import { openai, PROMPT, RESPONSES_TOOLS, timeIn } from '../lib/clients.js';

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

const INSTRUCTIONS = 'You are a coding agent. Use tools when they help.';

// A Codex-like request: instructions, input items, function tools, no server-side state.
function codexRequest(input, extra = {}) {
  return {
    model: MODEL,
    instructions: INSTRUCTIONS,
    input,
    tools: RESPONSES_TOOLS,
    tool_choice: 'auto',
    parallel_tool_calls: true,
    store: false,
    ...extra,
  };
}

const userInput = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: PROMPT }] }];

// Checks a completed response's output array against the mock's reply through `format`.
function checkOutput(format, response, expected) {
  assert.equal(response.object, 'response');
  assert.equal(response.status, 'completed');
  const types = response.output.map((o) => o.type);
  const messages = response.output.filter((o) => o.type === 'message');
  assert.equal(messages.length, 1, `one message item in ${types}`);
  assert.equal(messages[0].role, 'assistant');
  assert.equal(messages[0].content.map((c) => (c.type === 'output_text' ? c.text : '')).join(''), expected.text);
  assert.equal(response.output_text, expected.text); // the SDK's own helper
  const calls = response.output.filter((o) => o.type === 'function_call');
  assert.equal(calls.length, expected.calls.length);
  calls.forEach((c, i) => {
    assert.equal(c.name, expected.calls[i].name);
    assert.deepEqual(JSON.parse(c.arguments), expected.calls[i].args);
    if (expected.calls[i].id) assert.equal(c.call_id, expected.calls[i].id);
    else assert.match(c.call_id, /\S/, 'a generated call id');
  });
  assert.equal(new Set(calls.map((c) => c.call_id)).size, calls.length, 'call ids are distinct');
  // Items come in the upstream's order: reasoning (if any), the message, then the calls.
  const expectedTypes = [...(expected.thinking ? ['reasoning'] : []), 'message', ...calls.map(() => 'function_call')];
  assert.deepEqual(types, expectedTypes);
  return calls;
}

for (const format of FORMATS) {
  describe(`responses via a ${format} provider`, () => {
    const server = () => stack.servers[format];
    const expected = EXPECTED[format];

    it('create: text and function calls in the output array; usage', async () => {
      const response = await openai(server()).responses.create(
        codexRequest(userInput, { include: ['reasoning.encrypted_content'], reasoning: { effort: 'medium', summary: 'auto' } }),
      );
      checkOutput(format, response, expected.whole);
      assert.equal(response.usage.input_tokens, expected.whole.usage.input);
      assert.equal(response.usage.output_tokens, expected.whole.usage.output);
      assert.equal(response.usage.total_tokens, expected.whole.usage.input + expected.whole.usage.output);

      const sent = await stack.lastUpstreamRequest(format);
      assert.equal(sent.model, server().sentModel);
      assert.ok(JSON.stringify(sent).includes(INSTRUCTIONS), 'the instructions reached the upstream');
      assert.ok(JSON.stringify(sent).includes(PROMPT), 'the prompt reached the upstream');
    });

    it('stream: deltas assemble to the text; the completed response carries the output array', async () => {
      const stream = openai(server()).responses.stream(codexRequest(userInput));
      let text = '';
      const seen = [];
      let lastSequence = -1;
      for await (const event of stream) {
        seen.push(event.type);
        assert.ok(event.sequence_number > lastSequence, 'sequence numbers increase');
        lastSequence = event.sequence_number;
        if (event.type === 'response.output_text.delta') text += event.delta;
      }
      assert.equal(text, expected.stream.text);
      assert.equal(seen[0], 'response.created');
      assert.equal(seen.at(-1), 'response.completed');
      const final = await stream.finalResponse();
      checkOutput(format, final, expected.stream);
      assert.equal(final.usage.input_tokens, expected.stream.usage.input);
      assert.equal(final.usage.output_tokens, expected.stream.usage.output);
      const added = seen.filter((t) => t === 'response.output_item.added').length;
      assert.equal(added, seen.filter((t) => t === 'response.output_item.done').length);
      assert.equal(added, final.output.length);
    });

    it('takes function_call_output items in the next turn', async () => {
      const client = openai(server());
      const first = await client.responses.create(codexRequest(userInput));
      const calls = first.output.filter((o) => o.type === 'function_call');
      const outputs = calls.map((c) => ({
        type: 'function_call_output',
        call_id: c.call_id,
        output: timeIn(JSON.parse(c.arguments).city),
      }));
      // Codex sends the whole history back (store: false): every earlier output item,
      // reasoning included, then the results.
      const history = [...userInput, ...first.output, ...outputs];
      const second = await client.responses.stream(codexRequest(history)).finalResponse();
      checkOutput(format, second, expected.stream);

      const sent = await stack.lastUpstreamRequest(format);
      const ids = calls.map((c) => c.call_id);
      if (format === 'anthropic') {
        const uses = sent.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).filter((b) => b.type === 'tool_use');
        assert.deepEqual(
          uses.map((b) => [b.id, b.input]),
          [
            [ids[0], { city: 'Paris' }],
            [ids[1], { city: 'Tokyo' }],
          ],
        );
        const results = sent.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).filter((b) => b.type === 'tool_result');
        assert.deepEqual(
          results.map((b) => [b.tool_use_id, JSON.stringify(b.content).includes(timeIn(b.tool_use_id === ids[0] ? 'Paris' : 'Tokyo'))]),
          [
            [ids[0], true],
            [ids[1], true],
          ],
        );
      } else if (format === 'openai') {
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
      } else {
        assert.deepEqual(
          sent.messages.filter((m) => m.role === 'tool').map((m) => [m.tool_name, m.content]),
          [
            ['get_time', '14:05'],
            ['get_time', '21:05'],
          ],
        );
      }
    });
  });
}
