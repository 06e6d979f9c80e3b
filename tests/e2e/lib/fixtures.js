// What the mock answers, per provider format: the recorded transcripts of
// tests/data/formats/upstream, read from disk so that the suite follows them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './stack.js';

const dir = join(REPO_ROOT, 'tests', 'data', 'formats', 'upstream');
const read = (name) => readFileSync(join(dir, name), 'utf8');

function sseEvents(text) {
  return text
    .split(/\r?\n/)
    .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
    .map((l) => JSON.parse(l.slice(6)));
}

// { text, thinking, signature, calls: [{id, name, args}], usage: {input, output} } of one
// reply, streamed and not, per format. `id` is null where the upstream gives none (Ollama).
function openai() {
  const whole = JSON.parse(read('openai_response.json'));
  const msg = whole.choices[0].message;
  const events = sseEvents(read('openai_stream.sse'));
  let text = '';
  const calls = [];
  let usage;
  for (const e of events) {
    if (e.usage) usage = e.usage;
    for (const c of e.choices) {
      if (c.delta.content) text += c.delta.content;
      for (const t of c.delta.tool_calls ?? []) {
        calls[t.index] ??= { id: null, name: '', args: '' };
        if (t.id) calls[t.index].id = t.id;
        if (t.function?.name) calls[t.index].name += t.function.name;
        if (t.function?.arguments) calls[t.index].args += t.function.arguments;
      }
    }
  }
  return {
    whole: {
      text: msg.content,
      thinking: '',
      signature: '',
      calls: msg.tool_calls.map((t) => ({ id: t.id, name: t.function.name, args: JSON.parse(t.function.arguments) })),
      usage: { input: whole.usage.prompt_tokens, output: whole.usage.completion_tokens },
    },
    stream: {
      text,
      thinking: '',
      signature: '',
      calls: calls.map((c) => ({ id: c.id, name: c.name, args: JSON.parse(c.args) })),
      usage: { input: usage.prompt_tokens, output: usage.completion_tokens },
    },
  };
}

function anthropic() {
  const whole = JSON.parse(read('anthropic_response.json'));
  const blocks = [];
  let usage = {};
  for (const e of sseEvents(read('anthropic_stream.sse'))) {
    if (e.type === 'message_start') usage = { ...e.message.usage };
    if (e.type === 'message_delta') usage = { ...usage, ...e.usage };
    if (e.type === 'content_block_start') blocks[e.index] = { ...e.content_block, json: '' };
    if (e.type === 'content_block_delta') {
      const b = blocks[e.index];
      if (e.delta.type === 'text_delta') b.text += e.delta.text;
      if (e.delta.type === 'thinking_delta') b.thinking += e.delta.thinking;
      if (e.delta.type === 'signature_delta') b.signature += e.delta.signature;
      if (e.delta.type === 'input_json_delta') b.json += e.delta.partial_json;
    }
  }
  for (const b of blocks) if (b.type === 'tool_use') b.input = JSON.parse(b.json);
  const summary = (content, u) => ({
    text: content.filter((b) => b.type === 'text').map((b) => b.text).join(''),
    thinking: content.filter((b) => b.type === 'thinking').map((b) => b.thinking).join(''),
    signature: content.find((b) => b.type === 'thinking')?.signature ?? '',
    calls: content.filter((b) => b.type === 'tool_use').map((b) => ({ id: b.id, name: b.name, args: b.input })),
    // Canonical input tokens include the cached ones (docs/formats.md).
    usage: {
      input: u.input_tokens + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0),
      output: u.output_tokens,
      anthropicInput: u.input_tokens,
      cacheRead: u.cache_read_input_tokens ?? 0,
      cacheWrite: u.cache_creation_input_tokens ?? 0,
    },
  });
  return { whole: summary(whole.content, whole.usage), stream: summary(blocks, usage) };
}

function ollama() {
  const whole = JSON.parse(read('ollama_response.json'));
  const lines = read('ollama_stream.ndjson').split(/\r?\n/).filter(Boolean).map((l) => JSON.parse(l));
  const summary = (messages, last) => ({
    text: messages.map((m) => m.content ?? '').join(''),
    thinking: messages.map((m) => m.thinking ?? '').join(''),
    signature: '',
    calls: messages.flatMap((m) => m.tool_calls ?? []).map((t) => ({ id: null, name: t.function.name, args: t.function.arguments })),
    usage: { input: last.prompt_eval_count, output: last.eval_count },
  });
  return {
    whole: summary([whole.message], whole),
    stream: summary(
      lines.map((l) => l.message),
      lines[lines.length - 1],
    ),
  };
}

/// EXPECTED[format].whole / .stream: the reply the mock gives through a provider of `format`.
export const EXPECTED = { openai: openai(), anthropic: anthropic(), ollama: ollama() };
