// The processes under test: one llmrouter-mock (the upstream) and one llmrouter-server per
// provider format (openai, anthropic, ollama; or the formats a test names, responses among
// them), each on a free port of 127.0.0.1, with
// authentication and the dashboard on. Every process started is stopped by stop(), and
// also when the test process exits or is told to stop.
//
// Each server's configuration (see configFor) routes by model name:
//   status-*   the format's provider, then its backup (both the same mock): the mock's
//              behaviour names (status-429, status-500) reach it unchanged, and failover
//              has a second provider to try
//   alias/*    the format's provider, with the model rewritten to SENT_MODEL[format]
//   anything else: no rule matches (400)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const FORMATS = ['openai', 'anthropic', 'ollama'];

/// The key every server requires (Authorization: Bearer, x-api-key, or ?api_key= on the dashboard).
export const API_KEY = 'e2e-router-key';

/// What the alias/ rule sends upstream, per provider format.
export const SENT_MODEL = {
  openai: 'gpt-4.1-mini',
  anthropic: 'claude-sonnet-4-5',
  ollama: 'qwen3:8b',
  responses: 'gpt-5-mini',
};

/// The model clients ask for in ordinary requests.
export const MODEL = 'alias/e2e';

/// The mock's chat path per provider format.
export const UPSTREAM_PATH = {
  openai: '/v1/chat/completions',
  anthropic: '/v1/messages',
  ollama: '/api/chat',
  responses: '/v1/responses',
};

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const GRACE_MS = 500;

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '..', '..', '..');

/// Where tests leave artifacts (screenshots): $LLMROUTER_E2E_ARTIFACTS, else build/e2e.
export function artifactsDir() {
  const dir = process.env.LLMROUTER_E2E_ARTIFACTS || join(REPO_ROOT, 'build', 'e2e');
  mkdirSync(dir, { recursive: true });
  return dir;
}

function binary(variable, hint) {
  const path = process.env[variable];
  if (!path) {
    throw new Error(
      `${variable} is not set: point it at the ${hint} binary, e.g. ` +
        `${variable}=build/release/${hint === 'llmrouter-server' ? 'apps/server' : 'tests/support'}/${hint} ` +
        '(./scripts/test sets it)',
    );
  }
  const abs = resolve(path);
  if (!existsSync(abs)) throw new Error(`${variable}=${path}: no such file (build ${hint} first)`);
  return abs;
}

// Every child still running, so that an exit of this process takes them along.
const running = new Set();
function killAll() {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}

// Starts `file args`, waits (bounded) for its "NAME listening on http://HOST:PORT" line.
async function startProcess(name, file, args, env) {
  const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    if (stderr.length > 64 << 10) stderr = stderr.slice(-32 << 10);
  });
  const exited = new Promise((resolveExit) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolveExit({ code, signal });
    });
  });
  child.once('error', () => {}); // reported through 'exit' / the timeout below
  const lines = createInterface({ input: child.stdout });
  const pattern = new RegExp(`^${name} listening on (http://\\S+)$`);
  let timer;
  try {
    const url = await Promise.race([
      (async () => {
        for await (const line of lines) {
          const m = pattern.exec(line.trim());
          if (m) return m[1];
        }
        throw new Error(`${name} closed its output without saying where it listens`);
      })(),
      exited.then(({ code, signal }) => {
        throw new Error(`${name} exited (code ${code}, signal ${signal}) before listening:\n${stderr}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${name} did not say where it listens within ${START_TIMEOUT_MS} ms:\n${stderr}`)),
          START_TIMEOUT_MS,
        );
      }),
    ]);
    child.stdout.resume();
    return { name, child, url, exited, stderr: () => stderr };
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

// Resolves to 'exited' when `proc` exits within `ms`, else 'late'.
async function exitWithin(proc, ms) {
  let timer;
  const late = new Promise((r) => {
    timer = setTimeout(() => r('late'), ms);
  });
  const how = await Promise.race([proc.exited.then(() => 'exited'), late]);
  clearTimeout(timer);
  return how;
}

// SIGTERM; a second SIGTERM (llmrouter-server's "leave now") when it is still finishing
// after a moment; SIGKILL as a last resort. Resolves once the process is gone.
// (A graceful stop waits for idle keep-alive connections — cpp-httplib 0.11 keeps one open
// up to its keep-alive timeout — and the SDKs' connection pools hold some: not worth 5 s
// per test file.)
async function stopProcess(proc) {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  if ((await exitWithin(proc, GRACE_MS)) === 'exited') return;
  proc.child.kill('SIGTERM');
  if ((await exitWithin(proc, STOP_TIMEOUT_MS)) === 'exited') return;
  proc.child.kill('SIGKILL');
  await proc.exited;
}

/// The TOML configuration of the server for provider format `format`, upstream `mockUrl`.
export function configFor(format, mockUrl) {
  const base = format === 'openai' || format === 'responses' ? `${mockUrl}/v1` : mockUrl;
  const provider = (name) => `
[[providers]]
name = "${name}"
format = "${format}"
base_url = "${base}"
connect_timeout_ms = 2000
first_byte_timeout_ms = 10000
idle_timeout_ms = 10000
`;
  return `# llmrouter end-to-end suite: every request reaches the mock through a ${format} provider.
[server]
host = "127.0.0.1"
port = 0
dashboard = true
api_key_env = "LLMROUTER_E2E_KEY"

[routing]
max_attempts = 3
${provider(`mock-${format}`)}${provider(`mock-${format}-backup`)}
[[routers]]
type = "prefix"
model_prefix = "status-"
provider = "mock-${format}"

[[routers]]
type = "prefix"
model_prefix = "status-"
provider = "mock-${format}-backup"

[[routers]]
type = "prefix"
model_prefix = "alias/"
provider = "mock-${format}"
rewrite_model = "${SENT_MODEL[format]}"

[classifiers.keyword]
enabled = true

[classifiers.keyword.tags]
clock = ["what time"]
`;
}

/// Starts the mock and one server per format of `formats`. Returns
///   { mock: {url}, servers: {openai: {url, provider, backup, sentModel, upstreamPath}, ...},
///     lastUpstreamRequest(format), stop() }
/// `options.extraConfig` is appended to every server's configuration (e.g. [[keys]]
/// tables) and `options.env` added to the servers' environment.
export async function startStack(formats = FORMATS, options = {}) {
  const serverBin = binary('LLMROUTER_SERVER', 'llmrouter-server');
  const mockBin = binary('LLMROUTER_MOCK', 'llmrouter-mock');
  const dir = mkdtempSync(join(tmpdir(), 'llmrouter-e2e-'));
  const procs = [];
  const stack = {
    dir,
    servers: {},
    async stop() {
      // Servers first (they hold connections to the mock), then the mock.
      await Promise.all(procs.filter((p) => p.name === 'llmrouter-server').map(stopProcess));
      await Promise.all(procs.filter((p) => p.name !== 'llmrouter-server').map(stopProcess));
      rmSync(dir, { recursive: true, force: true });
    },
    /// The body the mock last received from the server of `format` (parsed JSON).
    async lastUpstreamRequest(format) {
      const res = await fetch(`${stack.mock.url}/mock/last-request?path=${UPSTREAM_PATH[format]}`, {
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) throw new Error(`the mock has no request on ${UPSTREAM_PATH[format]} (${res.status})`);
      return res.json();
    },
  };
  try {
    const env = { ...process.env, LLMROUTER_E2E_KEY: API_KEY, ...(options.env ?? {}) };
    const mock = await startProcess('llmrouter-mock', mockBin, ['--host', '127.0.0.1', '--port', '0'], env);
    procs.push(mock);
    stack.mock = mock;
    const started = await Promise.all(
      formats.map(async (format) => {
        const config = join(dir, `${format}.toml`);
        writeFileSync(config, configFor(format, mock.url) + (options.extraConfig ?? ''));
        const server = await startProcess('llmrouter-server', serverBin, [config, '--port', '0'], env);
        procs.push(server);
        return [format, server];
      }),
    );
    for (const [format, server] of started) {
      stack.servers[format] = {
        format,
        url: server.url,
        provider: `mock-${format}`,
        backup: `mock-${format}-backup`,
        sentModel: SENT_MODEL[format],
        upstreamPath: UPSTREAM_PATH[format],
        stderr: server.stderr,
      };
    }
    return stack;
  } catch (e) {
    await stack.stop();
    throw e;
  }
}

/// Runs `fn` with a timeout, for waits that must stay bounded.
export async function withTimeout(ms, what, promise) {
  let timer;
  try {
    return await Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
