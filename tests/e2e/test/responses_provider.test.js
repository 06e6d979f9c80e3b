// A Responses-format provider (`format = "responses"`): the official SDKs of every client
// format against it, streamed and not. A Responses client is passed through byte for byte;
// Chat and Messages clients are translated to and from the Responses API.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack, MODEL } from '../lib/stack.js';
import { openai, anthropic, PROMPT, CHAT_TOOLS, ANTHROPIC_TOOLS, RESPONSES_TOOLS } from '../lib/clients.js';

let stack;
before(async () => {
  stack = await startStack(['responses']);
});
after(async () => {
  await stack?.stop();
});

const server = () => stack.servers.responses;

// The mock's recorded Responses reply (tests/data/formats/upstream/responses_*): reasoning
// with two summary parts, a message, two function calls; and its text-only reply for
// requests without tools.
const TEXT = 'Il est 14h05 à Paris — 😀 let me check.';
const THINKING = '**Checking times**\n\nThe user wants Paris and Tokyo.\n\nI will call get_time twice.';
const CALLS = [
  ['call_p1', 'get_time', { city: 'Paris' }],
  ['call_p2', 'get_time', { city: 'Tokyo' }],
];
const USAGE = { input: 812, cached: 512, output: 141, reasoning: 64 };
const TEXT_ONLY_USAGE = { input: 5, output: 3 };

const userInput = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: PROMPT }] }];
const responsesBody = (extra = {}) => ({
  model: MODEL,
  instructions: 'Use tools when they help.',
  input: userInput,
  tools: RESPONSES_TOOLS,
  store: false,
  include: ['reasoning.encrypted_content'],
  ...extra,
});

function checkRouted(response) {
  assert.equal(response.headers.get('x-router-provider'), server().provider);
  assert.equal(response.headers.get('x-router-model'), server().sentModel);
  assert.match(response.headers.get('x-router-request-id') ?? '', /^\d+$/);
}

describe('responses client to a responses provider (pass-through)', () => {
  it('create: the provider\'s reply unchanged; the request passed through', async () => {
    const { data, response } = await openai(server()).responses.create(responsesBody()).withResponse();
    checkRouted(response);
    assert.equal(response.headers.get('x-router-input-tokens'), String(USAGE.input));
    assert.equal(response.headers.get('x-router-output-tokens'), String(USAGE.output));
    assert.equal(data.id, 'resp_68f0a1b2c3d4e5f6', 'the upstream id, as it was');
    assert.deepEqual(
      data.output.map((o) => o.type),
      ['reasoning', 'message', 'function_call', 'function_call'],
    );
    assert.equal(data.output[0].encrypted_content, 'gAAAAABo-enc');
    assert.equal(data.output_text, TEXT);
    assert.deepEqual(
      data.output.filter((o) => o.type === 'function_call').map((c) => [c.call_id, c.name, JSON.parse(c.arguments)]),
      CALLS,
    );
    assert.equal(data.usage.input_tokens_details.cached_tokens, USAGE.cached);
    assert.equal(data.usage.output_tokens_details.reasoning_tokens, USAGE.reasoning);

    const sent = await stack.lastUpstreamRequest('responses');
    assert.equal(sent.model, server().sentModel);
    assert.equal(sent.store, false, 'store reaches the provider as the client sent it');
    assert.deepEqual(sent.include, ['reasoning.encrypted_content']);
    assert.deepEqual(sent.input, userInput);
  });

  it('stream: every upstream event reaches the client', async () => {
    const stream = openai(server()).responses.stream(responsesBody());
    const seen = [];
    let text = '';
    let summary = '';
    let args = '';
    for await (const event of stream) {
      seen.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.reasoning_summary_text.delta') summary += event.delta;
      if (event.type === 'response.function_call_arguments.delta') args += event.delta;
    }
    assert.equal(text, TEXT);
    assert.equal(summary, '**Checking times**\n\nThe user wants Paris and Tokyo.I will call get_time twice.');
    assert.equal(args, '{"city":"Paris"}{"city":"Tokyo"}');
    assert.equal(seen[0], 'response.created');
    assert.equal(seen.at(-1), 'response.completed');
    // An event the router's own encoder never writes: the bytes are the upstream's.
    assert.ok(seen.includes('response.output_text.annotation.added'), seen.join(' '));
    const final = await stream.finalResponse();
    assert.equal(final.output_text, TEXT);
    assert.equal(final.usage.input_tokens, USAGE.input);
  });

  it('without tools: the text-only reply, streamed and not', async () => {
    const whole = await openai(server()).responses.create(responsesBody({ tools: undefined }));
    assert.deepEqual(
      whole.output.map((o) => o.type),
      ['message'],
    );
    assert.equal(whole.output_text, TEXT);
    assert.equal(whole.usage.output_tokens, TEXT_ONLY_USAGE.output);
    const final = await openai(server()).responses.stream(responsesBody({ tools: undefined })).finalResponse();
    assert.equal(final.output_text, TEXT);
  });

  it('an upstream 500 on both providers is a 502 after failover', async () => {
    const error = await openai(server())
      .responses.create(responsesBody({ model: 'status-500' }))
      .then(
        () => assert.fail('expected an error'),
        (e) => e,
      );
    assert.ok(error instanceof OpenAI.InternalServerError, String(error));
    assert.equal(error.status, 502);
    assert.equal(error.headers.get('x-router-provider'), server().backup);
  });
});

describe('chat.completions client to a responses provider', () => {
  const messages = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: PROMPT },
  ];

  it('create: text, reasoning and tool calls; usage with cached tokens', async () => {
    const { data, response } = await openai(server())
      .chat.completions.create({ model: MODEL, messages, tools: CHAT_TOOLS, max_completion_tokens: 500 })
      .withResponse();
    checkRouted(response);
    const message = data.choices[0].message;
    assert.equal(message.content, TEXT);
    assert.equal(message.reasoning_content, THINKING);
    assert.deepEqual(
      message.tool_calls.map((c) => [c.id, c.function.name, JSON.parse(c.function.arguments)]),
      CALLS,
    );
    assert.equal(data.choices[0].finish_reason, 'tool_calls');
    assert.equal(data.usage.prompt_tokens, USAGE.input);
    assert.equal(data.usage.completion_tokens, USAGE.output);
    assert.equal(data.usage.prompt_tokens_details.cached_tokens, USAGE.cached);

    // What the provider received is a Responses request.
    const sent = await stack.lastUpstreamRequest('responses');
    assert.equal(sent.model, server().sentModel);
    assert.equal(sent.instructions, 'Be brief.');
    assert.deepEqual(sent.input, [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: PROMPT }] }]);
    assert.equal(sent.tools[0].type, 'function');
    assert.equal(sent.tools[0].name, 'get_time');
    assert.equal(sent.max_output_tokens, 500);
    assert.equal(sent.messages, undefined);
    assert.equal('store' in sent, false);
  });

  it('stream: deltas, tool call arguments, usage', async () => {
    const stream = await openai(server()).chat.completions.create({
      model: MODEL,
      messages,
      tools: CHAT_TOOLS,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish = null;
    let usage = null;
    const calls = [];
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      text += choice.delta?.content ?? '';
      for (const tc of choice.delta?.tool_calls ?? []) {
        if (!calls[tc.index]) calls[tc.index] = { id: tc.id, name: tc.function?.name, args: '' };
        calls[tc.index].args += tc.function?.arguments ?? '';
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    assert.equal(text, TEXT);
    assert.deepEqual(
      calls.map((c) => [c.id, c.name, JSON.parse(c.args)]),
      CALLS,
    );
    assert.equal(finish, 'tool_calls');
    assert.equal(usage.prompt_tokens, USAGE.input);
    assert.equal(usage.completion_tokens, USAGE.output);
    const sent = await stack.lastUpstreamRequest('responses');
    assert.equal(sent.stream, true);
  });

  it('without tools: text only, streamed and not', async () => {
    const whole = await openai(server()).chat.completions.create({ model: MODEL, messages });
    assert.equal(whole.choices[0].message.content, TEXT);
    assert.equal(whole.choices[0].finish_reason, 'stop');
    const stream = await openai(server()).chat.completions.create({ model: MODEL, messages, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, TEXT);
  });
});

describe('messages client to a responses provider', () => {
  const body = {
    model: MODEL,
    max_tokens: 256,
    system: 'Be brief.',
    messages: [{ role: 'user', content: PROMPT }],
    tools: ANTHROPIC_TOOLS,
  };

  function checkContent(content) {
    assert.deepEqual(
      content.map((b) => b.type),
      ['thinking', 'text', 'tool_use', 'tool_use'],
    );
    assert.equal(content[0].thinking, THINKING);
    assert.equal(content[1].text, TEXT);
    assert.deepEqual(
      content.filter((b) => b.type === 'tool_use').map((b) => [b.id, b.name, b.input]),
      CALLS,
    );
  }

  it('create: thinking, text and tool use; usage without the cached part', async () => {
    const { data, response } = await anthropic(server()).messages.create(body).withResponse();
    checkRouted(response);
    checkContent(data.content);
    assert.equal(data.stop_reason, 'tool_use');
    assert.equal(data.usage.input_tokens, USAGE.input - USAGE.cached);
    assert.equal(data.usage.cache_read_input_tokens, USAGE.cached);
    assert.equal(data.usage.output_tokens, USAGE.output);
    const sent = await stack.lastUpstreamRequest('responses');
    assert.equal(sent.instructions, 'Be brief.');
    assert.equal(sent.max_output_tokens, 256);
    assert.deepEqual(
      sent.tools.map((t) => [t.type, t.name, t.strict]),
      [['function', 'get_time', false]],
    );
  });

  it('stream: the same content as events', async () => {
    const stream = anthropic(server()).messages.stream(body);
    const final = await stream.finalMessage();
    checkContent(final.content);
    assert.equal(final.stop_reason, 'tool_use');
    assert.equal(final.usage.output_tokens, USAGE.output);
  });

  it('without tools: text only, streamed and not', async () => {
    const whole = await anthropic(server()).messages.create({ ...body, tools: undefined });
    assert.deepEqual(
      whole.content.map((b) => [b.type, b.text]),
      [['text', TEXT]],
    );
    assert.equal(whole.stop_reason, 'end_turn');
    const final = await anthropic(server()).messages.stream({ ...body, tools: undefined }).finalMessage();
    assert.equal(final.content.map((b) => b.text).join(''), TEXT);
  });
});
