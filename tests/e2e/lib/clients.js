// The official SDKs, pointed at a running llmrouter-server, and the request pieces the
// tests share.
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { API_KEY } from './stack.js';

/// SDK clients never retry unless a test asks (a retry would hide the first answer), and
/// every request is bounded.
export function openai(server, options = {}) {
  return new OpenAI({ apiKey: API_KEY, baseURL: `${server.url}/v1`, maxRetries: 0, timeout: 20_000, ...options });
}

export function anthropic(server, options = {}) {
  return new Anthropic({ apiKey: API_KEY, baseURL: server.url, maxRetries: 0, timeout: 20_000, ...options });
}

export const PROMPT = 'What time is it in Paris and Tokyo?';

const CITY_SCHEMA = {
  type: 'object',
  properties: { city: { type: 'string', description: 'City name' } },
  required: ['city'],
};

export const CHAT_TOOLS = [
  {
    type: 'function',
    function: { name: 'get_time', description: 'Current local time in a city', parameters: CITY_SCHEMA },
  },
];

export const ANTHROPIC_TOOLS = [{ name: 'get_time', description: 'Current local time in a city', input_schema: CITY_SCHEMA }];

export const RESPONSES_TOOLS = [
  {
    type: 'function',
    name: 'get_time',
    description: 'Current local time in a city',
    parameters: CITY_SCHEMA,
    strict: false,
  },
];

/// The tool result a test sends back for a call.
export const timeIn = (city) => (city === 'Paris' ? '14:05' : '21:05');

/// Header of a fetch Response, case-insensitively.
export const header = (response, name) => response.headers.get(name);
