// OpenAI SDK, responses.create with previous_response_id, through an Anthropic provider:
// the router keeps the conversation and the provider sees it whole on the next turn.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack, MODEL } from '../lib/stack.js';
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
const userInput = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: PROMPT }] }];

function request(input, extra = {}) {
  return { model: MODEL, instructions: INSTRUCTIONS, input, tools: RESPONSES_TOOLS, ...extra };
}

// The next turn of a Codex-like exchange: the outputs of the first turn's function calls.
function outputsFor(response) {
  return response.output
    .filter((o) => o.type === 'function_call')
    .map((c) => ({ type: 'function_call_output', call_id: c.call_id, output: timeIn(JSON.parse(c.arguments).city) }));
}

// Checks that the Anthropic upstream got the first turn (prompt, then the assistant's text
// and tool calls) before the tool results of the second, and the instructions once.
async function checkSecondTurnSent(first, expected) {
  const sent = await stack.lastUpstreamRequest('anthropic');
  assert.deepEqual(
    sent.messages.map((m) => m.role),
    ['user', 'assistant', 'user'],
  );
  assert.ok(JSON.stringify(sent.messages[0]).includes(PROMPT), 'the first turn\'s prompt');
  const assistant = sent.messages[1].content;
  assert.equal(
    assistant.filter((b) => b.type === 'text').map((b) => b.text).join(''),
    expected.text,
    'the first turn\'s reply',
  );
  const callIds = first.output.filter((o) => o.type === 'function_call').map((c) => c.call_id);
  assert.deepEqual(
    assistant.filter((b) => b.type === 'tool_use').map((b) => b.id),
    callIds,
  );
  assert.deepEqual(
    sent.messages[2].content.map((b) => [b.type, b.tool_use_id]),
    callIds.map((id) => ['tool_result', id]),
  );
  const system = JSON.stringify(sent.system);
  assert.equal(system.split(INSTRUCTIONS).length - 1, 1, `the instructions once: ${system}`);
}

describe('responses conversations kept by the router (anthropic provider)', () => {
  const server = () => stack.servers.anthropic;
  const expected = EXPECTED.anthropic;

  it('a second create with previous_response_id continues the first', async () => {
    const client = openai(server());
    const first = await client.responses.create(request(userInput));
    assert.match(first.id, /^resp_/);
    assert.equal(first.output_text, expected.whole.text);

    const second = await client.responses.create(request(outputsFor(first), { previous_response_id: first.id }));
    assert.equal(second.status, 'completed');
    assert.match(second.id, /^resp_/);
    assert.notEqual(second.id, first.id);
    await checkSecondTurnSent(first, expected.whole);
  });

  it('a streamed first turn is kept under the id it streamed', async () => {
    const client = openai(server());
    const stream = client.responses.stream(request(userInput));
    let createdId = '';
    for await (const event of stream) {
      if (event.type === 'response.created') createdId = event.response.id;
    }
    const first = await stream.finalResponse();
    assert.match(createdId, /^resp_/);
    assert.equal(first.id, createdId);

    await client.responses.create(request(outputsFor(first), { previous_response_id: first.id }));
    await checkSecondTurnSent(first, expected.stream);
  });

  it('store: false keeps nothing, and an unknown id is the SDK\'s NotFoundError', async () => {
    const client = openai(server());
    const unstored = await client.responses.create(request(userInput, { store: false }));
    for (const id of ['resp_unknown', unstored.id]) {
      await assert.rejects(
        client.responses.create(request('Go on.', { previous_response_id: id })),
        (e) => {
          assert.ok(e instanceof OpenAI.NotFoundError, `${e}`);
          assert.equal(e.status, 404);
          assert.equal(e.error?.message ?? e.message.replace(/^404 /, ''), `Previous response with id '${id}' not found.`);
          assert.equal(e.code, 'previous_response_not_found');
          assert.equal(e.param, 'previous_response_id');
          assert.equal(e.type, 'invalid_request_error');
          return true;
        },
      );
    }
  });
});
