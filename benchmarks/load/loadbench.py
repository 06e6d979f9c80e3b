#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Load harness: llmrouter-server against a direct connection to the mock upstream and
against nginx as a plain reverse proxy (the cost of one proxy hop), optionally against
Node.js gateways (--peers). Everything listens on 127.0.0.1; every process it starts is
stopped when it ends, whatever happens.

  benchmarks/load/loadbench.py [--quick] [--peers] [--out DIR] [--check]

Scenarios, each run against every target in turn (interleaved, same run):
  openai            POST /v1/chat/completions, not streamed, mock answers at once
  openai-stream     the same, streamed: 20 events (mock model chunks-20)
  anthropic         POST /v1/messages to llmrouter, which translates to its OpenAI-format
                    provider; direct and nginx send it to the mock's own /v1/messages
  anthropic-stream  the same, streamed (20 events)
  concurrency       1000 streaming clients started over 0.5 s, each a stream the mock
                    starts after 1 s, so all are open together

Per scenario and connection count: wrk (one thread, closed loop) gives requests/s; an
open-loop client (this script, asyncio, one thread) sends at a fixed rate and gives
latency percentiles, so a slow target cannot hide its tail by slowing the load down. The
load generators share the machine's cores with the targets.

Writes DIR/results.json and DIR/results.md. --check exits non-zero unless the results
have the expected shape and llmrouter had no errors (the ctest smoke test uses it).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

SCENARIOS = {
    "openai": {"path": "/v1/chat/completions", "format": "openai", "model": "bench", "stream": False},
    "openai-stream": {"path": "/v1/chat/completions", "format": "openai", "model": "chunks-20", "stream": True},
    "anthropic": {"path": "/v1/messages", "format": "anthropic", "model": "bench", "stream": False},
    "anthropic-stream": {"path": "/v1/messages", "format": "anthropic", "model": "chunks-20", "stream": True},
}
# What a complete, correct reply must contain, per (format, streamed).
EXPECT = {
    ("openai", False): b'"choices"',
    ("openai", True): b"data: [DONE]",
    ("anthropic", False): b'"content"',
    ("anthropic", True): b"message_stop",
}


def log(msg: str) -> None:
    print(f"[loadbench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def request_body(fmt: str, model: str, stream: bool) -> bytes:
    body: dict = {"model": model, "messages": [{"role": "user", "content": "Say hello in one short sentence."}]}
    if fmt == "anthropic":
        body["max_tokens"] = 64
    if stream:
        body["stream"] = True
    return json.dumps(body, separators=(",", ":")).encode()


def extra_headers(fmt: str) -> dict:
    return {"anthropic-version": "2023-06-01"} if fmt == "anthropic" else {}


def raw_request(host: str, port: int, path: str, body: bytes, headers: dict) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
             f"Content-Length: {len(body)}", "Authorization: Bearer bench"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(sorted_values: list, p: float):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * (len(sorted_values) - 1)))))
    return sorted_values[k]


# ---------------------------------------------------------------------------------------
# Processes. They stay in the harness's session: with the kernel's scheduler autogroups
# (kernel.sched_autogroup_enabled=1), a process started in a session of its own (setsid)
# is scheduled as a group of its own, and on a loaded machine the mock's 1000-stream burst
# then lost a third to a half of its streams where the same mock in this session passed.

class Proc:
    all: list["Proc"] = []

    def __init__(self, name: str, cmd: list, workdir: str, env: dict | None = None):
        self.name = name
        self.cmd = cmd
        self.out_path = os.path.join(workdir, f"{name}.out")
        self.err_path = os.path.join(workdir, f"{name}.err")
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self.p = subprocess.Popen(cmd, stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL, env=env)
        Proc.all.append(self)

    @property
    def pid(self) -> int:
        return self.p.pid

    def wait_line(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            with open(self.out_path, "r", errors="replace") as f:
                for line in f:
                    m = rx.search(line)
                    if m:
                        return m
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not print /{pattern}/ within {timeout} s; "
                           f"exit={self.p.poll()} stderr: {self.stderr_tail()}")

    def stderr_tail(self, n: int = 1500) -> str:
        try:
            with open(self.err_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def pids(self) -> list:
        """The process and its descendants (nginx's workers, node's children)."""
        found = [self.pid]
        try:
            children = {}
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        stat = f.read()
                    ppid = int(stat[stat.rindex(")") + 2:].split()[1])
                    children.setdefault(ppid, []).append(int(entry))
                except (OSError, ValueError):
                    continue
            i = 0
            while i < len(found):
                found += children.get(found[i], [])
                i += 1
        except OSError:
            pass
        return found

    def stop(self) -> None:
        """SIGTERM to the process (nginx's master stops its workers); after 5 s, SIGKILL to
        it and to every descendant it had."""
        if self.p.poll() is None:
            family = [(pid, start_time(pid)) for pid in self.pids()[1:]]
            self.p.terminate()
            try:
                self.p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=5)
            for pid, started in family:
                if started is not None and start_time(pid) == started:  # the same process, still there
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
        self.out.close()
        self.err.close()

    @classmethod
    def stop_all(cls) -> None:
        for p in reversed(cls.all):
            try:
                p.stop()
            except Exception as e:  # keep stopping the others
                print(f"loadbench: stopping {p.name}: {e}", file=sys.stderr)
        cls.all.clear()


def start_time(pid: int):
    """A process's start time (clock ticks since boot), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def cpu_seconds(pids: list) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK_TCK


def status_kb(pids: list, key: str) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError):
            pass
    return total


class RssSampler:
    """Samples the summed VmRSS of some processes every 50 ms; keeps the peak."""

    def __init__(self, procs: list):
        self.procs = procs
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            pids = [pid for p in self.procs for pid in p.pids()]
            self.peak = max(self.peak, status_kb(pids, "VmRSS"))
            self._stop.wait(0.05)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


# ---------------------------------------------------------------------------------------
# Targets

class Target:
    def __init__(self, name: str, host: str, port: int, proc: Proc | None, formats: dict, note: str = "",
                 model_prefix: str = ""):
        self.name = name
        self.model_prefix = model_prefix  # prepended to the request's model ("provider,model")
        self.host = host
        self.port = port
        self.proc = proc          # the proxy's own process (None for direct)
        self.formats = formats    # client format -> path prefix rewrite or None (n/a)
        self.note = note
        self.idle_rss_kb = None
        self.idle_hwm_kb = None

    def path_for(self, scenario: dict):
        fmt = scenario["format"]
        if fmt not in self.formats:
            return None
        return self.formats[fmt] or scenario["path"]


def start_mock(args, workdir: str) -> tuple:
    p = Proc("mock", [args.mock, "--host", "127.0.0.1", "--port", "0"], workdir)
    m = p.wait_line(r"listening on http://127\.0\.0\.1:(\d+)", 10)
    return p, int(m.group(1))


def start_llmrouter(args, workdir: str, mock_port: int) -> tuple:
    config = os.path.join(workdir, "llmrouter.toml")
    with open(config, "w") as f:
        f.write(f"""# Generated by benchmarks/load/loadbench.py: one OpenAI-format provider, the mock.
[server]
host = "127.0.0.1"
port = 0

[[providers]]
name = "mock"
format = "openai"
base_url = "http://127.0.0.1:{mock_port}/v1"

[[routers]]
type = "fallback"
providers = ["mock"]
""")
    p = Proc("llmrouter", [args.server, config, "--port", "0"], workdir)
    m = p.wait_line(r"listening on http://127\.0\.0\.1:(\d+)", 15)
    return p, int(m.group(1))


def start_nginx(workdir: str, mock_port: int) -> tuple:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not nginx:
        raise FileNotFoundError("nginx is not installed (Debian package nginx; scripts/install-deps installs it)")
    prefix = os.path.join(workdir, "nginx")
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    os.chmod(workdir, 0o755)
    os.chmod(prefix, 0o755)
    port = free_port()
    # As root, nginx's workers would switch to "nobody"; keep them as the invoking user.
    user = "" if os.geteuid() != 0 else "user root root;\n"
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""# Generated by benchmarks/load/loadbench.py: a plain keep-alive reverse proxy to the mock.
{user}daemon off;
master_process on;
worker_processes auto;
worker_rlimit_nofile 16384;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 100000;
    keepalive_timeout 60s;
    upstream mock {{
        server 127.0.0.1:{mock_port};
        keepalive 128;
        keepalive_requests 100000;
        keepalive_timeout 3s;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 60s;
        }}
    }}
}}
""")
    p = Proc("nginx", [nginx, "-p", prefix, "-c", conf, "-e", os.path.join(prefix, "logs", "error.log")], workdir)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if p.p.poll() is not None:
            raise RuntimeError(f"nginx exited: {p.stderr_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return p, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx did not listen within 10 s")


# ---------------------------------------------------------------------------------------
# Optional Node.js gateways (--peers), installed with npm into a local folder.

PEER_PACKAGES = {"portkey": "@portkey-ai/gateway", "claude-code-router": "@musistudio/claude-code-router"}


def npm_install(peers_dir: str, timeout: float) -> dict:
    """Installs the peer packages (once) into peers_dir; {name: error or None}."""
    status = {}
    npm = shutil.which("npm")
    os.makedirs(peers_dir, exist_ok=True)
    for name, pkg in PEER_PACKAGES.items():
        marker = os.path.join(peers_dir, "node_modules", *pkg.split("/"), "package.json")
        if os.path.exists(marker):
            status[name] = None
            continue
        if not npm:
            status[name] = "npm not found"
            continue
        log(f"npm install {pkg} into {peers_dir}")
        try:
            r = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", peers_dir, pkg],
                               capture_output=True, text=True, timeout=timeout)
            status[name] = None if r.returncode == 0 and os.path.exists(marker) else \
                f"npm install {pkg} failed: {(r.stderr or r.stdout)[-400:]}"
        except subprocess.TimeoutExpired:
            status[name] = f"npm install {pkg} timed out after {timeout:.0f} s"
    return status


def start_portkey(peers_dir: str, workdir: str) -> tuple:
    port = free_port()
    entry = os.path.join(peers_dir, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js")
    if not os.path.exists(entry):
        raise FileNotFoundError(f"no {entry}")
    # The gateway takes only a port: it listens on every interface (traffic stays on 127.0.0.1).
    p = Proc("portkey", ["node", entry, f"--port={port}", "--headless"], workdir,
             env=dict(os.environ, NODE_ENV="production"))
    wait_port(p, port, 20)
    return p, port


def start_ccr(peers_dir: str, workdir: str, mock_port: int) -> tuple:
    port = free_port()
    home = os.path.join(workdir, "ccr-home")
    os.makedirs(os.path.join(home, ".claude-code-router"), exist_ok=True)
    with open(os.path.join(home, ".claude-code-router", "config.json"), "w") as f:
        json.dump({
            "HOST": "127.0.0.1", "PORT": port, "LOG": False, "APIKEY": "",
            "Providers": [{"name": "mock", "api_base_url": f"http://127.0.0.1:{mock_port}/v1/chat/completions",
                           "api_key": "bench", "models": ["bench", "chunks-20", "latency-1000+chunks-20"]}],
            "Router": {"default": "mock,bench"},
        }, f)
    entry = os.path.join(peers_dir, "node_modules", "@musistudio", "claude-code-router", "dist", "cli.js")
    if not os.path.exists(entry):
        raise FileNotFoundError(f"no {entry}")
    # `start` serves in the foreground; the configuration is read from $HOME.
    p = Proc("claude-code-router", ["node", entry, "start"], workdir, env=dict(os.environ, HOME=home))
    wait_port(p, port, 20)
    return p, port


def wait_port(p: Proc, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.p.poll() is not None:
            raise RuntimeError(f"{p.name} exited ({p.p.returncode}): {p.stderr_tail(600)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{p.name} did not listen on {port} within {timeout} s")


# ---------------------------------------------------------------------------------------
# wrk: requests/s, closed loop, one thread.

WRK_LUA = r"""
wrk.method = "POST"
wrk.body = [==[%BODY%]==]
%HEADERS%
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def run_wrk(target: Target, path: str, body: bytes, headers: dict, conns: int, duration: float, workdir: str) -> dict:
    script = os.path.join(workdir, "wrk.lua")
    hdrs = {"Content-Type": "application/json", "Authorization": "Bearer bench", **headers}
    with open(script, "w") as f:
        f.write(WRK_LUA.replace("%BODY%", body.decode()).replace(
            "%HEADERS%", "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in hdrs.items())))
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{max(1, int(round(duration)))}s", "--timeout", "10s", "-s", script,
           f"http://{target.host}:{target.port}{path}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    m = re.search(r"WRKJSON (\{.*\})", r.stdout)
    if not m:
        raise RuntimeError(f"wrk failed ({r.returncode}): {r.stdout[-500:]} {r.stderr[-500:]}")
    d = json.loads(m.group(1))
    secs = d["duration_us"] / 1e6
    d["rps"] = d["requests"] / secs if secs > 0 else 0.0
    d["error_count"] = sum(d["errors"].values())
    d["wrk_cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return d


# ---------------------------------------------------------------------------------------
# The open-loop client: asyncio, one thread, keep-alive connections, HTTP/1.1 responses
# with Content-Length or chunked bodies.

class Conn(asyncio.Protocol):
    def __init__(self):
        self.transport = None
        self.buf = b""
        self.fut = None
        self.closed = False
        self._reset()

    def _reset(self):
        self.state = "head"
        self.status = 0
        self.t_head = None
        self.t_first = None
        self.need = 0
        self.chunked = False
        self.close_after = False
        self.body = []

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        self.closed = True
        if self.fut and not self.fut.done():
            self.fut.set_exception(ConnectionError(f"connection lost: {exc}"))

    def send(self, raw: bytes, loop) -> asyncio.Future:
        self._reset()
        self.buf = b""
        self.fut = loop.create_future()
        self.transport.write(raw)
        return self.fut

    def data_received(self, data: bytes):
        now = time.perf_counter()
        self.buf += data
        try:
            self._parse(now)
        except Exception as e:  # a malformed reply fails the request
            if self.fut and not self.fut.done():
                self.fut.set_exception(e)
            self.transport.close()

    def _parse(self, now: float):
        while True:
            if self.state == "head":
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buf[:end].decode("latin-1").split("\r\n")
                self.buf = self.buf[end + 4:]
                self.status = int(head[0].split()[1])
                self.t_head = now
                length = 0
                for line in head[1:]:
                    k, _, v = line.partition(":")
                    k = k.strip().lower()
                    v = v.strip()
                    if k == "content-length":
                        length = int(v)
                    elif k == "transfer-encoding" and "chunked" in v.lower():
                        self.chunked = True
                    elif k == "connection" and v.lower() == "close":
                        self.close_after = True
                if self.chunked:
                    self.state = "size"
                else:
                    self.state = "body"
                    self.need = length
            elif self.state == "body":
                if self.buf and self.t_first is None:
                    self.t_first = now
                if len(self.buf) < self.need:
                    return
                self.body.append(self.buf[:self.need])
                self.buf = self.buf[self.need:]
                return self._finish(now)
            elif self.state == "size":
                end = self.buf.find(b"\r\n")
                if end < 0:
                    return
                size = int(self.buf[:end].split(b";")[0], 16)
                self.buf = self.buf[end + 2:]
                if size == 0:
                    self.state = "trailer"
                else:
                    if self.t_first is None:
                        self.t_first = now
                    self.need = size + 2
                    self.state = "chunk"
            elif self.state == "chunk":
                if len(self.buf) < self.need:
                    return
                self.body.append(self.buf[:self.need - 2])
                self.buf = self.buf[self.need:]
                self.state = "size"
            elif self.state == "trailer":
                end = self.buf.find(b"\r\n")
                if end < 0:
                    return
                line = self.buf[:end]
                self.buf = self.buf[end + 2:]
                if not line:
                    return self._finish(now)

    def _finish(self, now: float):
        self.state = "done"
        if self.fut and not self.fut.done():
            self.fut.set_result((self.status, self.t_head, self.t_first or now, now, b"".join(self.body)))
        if self.close_after:
            self.transport.close()


async def connect(host: str, port: int) -> Conn:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(Conn, host, port)
    return conn


def summarize(lat: list) -> dict:
    s = sorted(lat)
    return {"p50": percentile(s, 50), "p90": percentile(s, 90), "p99": percentile(s, 99),
            "max": s[-1] if s else None, "n": len(s)}


async def open_loop(host: str, port: int, raw: bytes, expect: bytes, conns: int, rate: float, duration: float,
                    timeout: float) -> dict:
    """Sends requests at `rate`/s for `duration` s over at most `conns` keep-alive
    connections. A request's latency runs from when it is issued (including any wait for a
    free connection: the open-loop queue) to its last byte. The client's own lag behind
    the schedule is reported apart (the event loop wakes at most once a millisecond)."""
    loop = asyncio.get_running_loop()
    idle: asyncio.Queue = asyncio.Queue()
    opened = await asyncio.gather(*(connect(host, port) for _ in range(conns)), return_exceptions=True)
    for c in opened:
        if isinstance(c, Conn):
            idle.put_nowait(c)
    errors = {"connect": sum(1 for c in opened if not isinstance(c, Conn)), "status": 0, "body": 0,
              "timeout": 0, "io": 0}
    if idle.empty():
        return {"errors": errors, "error_count": sum(errors.values()), "sent": 0, "ok": 0}
    latencies, ttfb, lags = [], [], []
    statuses: dict = {}

    async def one(t_sched: float):
        t_issue = time.perf_counter()
        lags.append(t_issue - t_sched)
        conn = await idle.get()
        try:
            if conn.closed:
                conn = await connect(host, port)
            status, _t_head, t_first, t_end, body = await asyncio.wait_for(conn.send(raw, loop), timeout)
            if status != 200:
                errors["status"] += 1
                statuses[status] = statuses.get(status, 0) + 1
            elif expect not in body:
                errors["body"] += 1
            else:
                latencies.append(t_end - t_issue)
                ttfb.append(t_first - t_issue)
        except asyncio.TimeoutError:
            errors["timeout"] += 1
            conn.transport.close()
        except (OSError, ConnectionError, ValueError, IndexError):
            errors["io"] += 1
            if conn.transport:
                conn.transport.close()
        finally:
            idle.put_nowait(conn)

    n = max(1, int(rate * duration))
    tasks = []
    t0 = time.perf_counter() + 0.02
    for i in range(n):
        t_sched = t0 + i / rate
        delay = t_sched - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(t_sched)))
    elapsed = time.perf_counter() - t0
    done, pending = await asyncio.wait(tasks, timeout=timeout + 1)
    for t in pending:
        t.cancel()
    errors["timeout"] += len(pending)
    while not idle.empty():
        c = idle.get_nowait()
        if c.transport:
            c.transport.close()
    return {"sent": n, "ok": len(latencies), "rate": rate, "send_s": elapsed, "achieved_rate": n / elapsed,
            "latency_ms": {k: (v * 1000 if isinstance(v, float) else v) for k, v in summarize(latencies).items()},
            "ttfb_ms": {k: (v * 1000 if isinstance(v, float) else v) for k, v in summarize(ttfb).items()},
            "client_lag_ms": {k: (v * 1000 if isinstance(v, float) else v) for k, v in summarize(lags).items()},
            "errors": errors, "error_count": sum(errors.values()), "statuses": statuses}


async def burst(host: str, port: int, raw: bytes, expect: bytes, clients: int, ramp: float, timeout: float) -> dict:
    """`clients` connections, one streamed request each, started evenly over `ramp` seconds
    (0: all at once); with a reply that takes longer than the ramp, all are open together.
    Time to first byte runs from a client's start (connect included) to the first byte of
    the reply's body. A 1 ms ticker measures the client's own event-loop lag meanwhile: the
    precision of these times."""
    ttfb, total, lag = [], [], []
    errors = {"connect": 0, "status": 0, "body": 0, "timeout": 0, "io": 0}
    statuses: dict = {}
    loop = asyncio.get_running_loop()
    state = {"open": 0, "peak": 0, "done": False}

    async def one(delay: float):
        await asyncio.sleep(delay)
        t0 = time.perf_counter()
        state["open"] += 1
        state["peak"] = max(state["peak"], state["open"])
        conn = None
        try:
            conn = await asyncio.wait_for(connect(host, port), timeout)
            status, _h, t_first, t_end, body = await asyncio.wait_for(conn.send(raw, loop), timeout)
            if status != 200:
                errors["status"] += 1
                statuses[status] = statuses.get(status, 0) + 1
            elif expect not in body:
                errors["body"] += 1
            else:
                ttfb.append(t_first - t0)
                total.append(t_end - t0)
        except asyncio.TimeoutError:
            errors["timeout" if conn else "connect"] += 1
        except (OSError, ConnectionError, ValueError, IndexError):
            errors["io" if conn else "connect"] += 1
        finally:
            state["open"] -= 1
            if conn:
                conn.transport.close()

    async def ticker():
        while not state["done"]:
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            lag.append(time.perf_counter() - t - 0.001)

    tick = asyncio.ensure_future(ticker())
    t0 = time.perf_counter()
    await asyncio.gather(*(one(ramp * i / clients) for i in range(clients)))
    wall = time.perf_counter() - t0
    state["done"] = True
    await tick
    ms = lambda d: {k: (v * 1000 if isinstance(v, float) else v) for k, v in d.items()}  # noqa: E731
    return {"clients": clients, "ramp_s": ramp, "peak_open": state["peak"], "ok": len(total), "wall_s": wall,
            "ttfb_ms": ms(summarize(ttfb)), "total_ms": ms(summarize(total)), "client_loop_lag_ms": ms(summarize(lag)),
            "errors": errors, "error_count": sum(errors.values()), "statuses": statuses}


async def idle(host: str, port: int, raw: bytes, expect: bytes, clients: int, hold: float, pids: list) -> dict:
    """`clients` keep-alive connections, one request each, then all idle for `hold` seconds:
    the target's CPU over the idle window, its RSS at its end, and how many are still open."""
    loop = asyncio.get_running_loop()
    conns, ok = [], 0
    for start in range(0, clients, 100):
        async def one():
            c = await asyncio.wait_for(connect(host, port), 10.0)
            status, _h, _f, _e, body = await asyncio.wait_for(c.send(raw, loop), 10.0)
            return c, status == 200 and expect in body
        for got in await asyncio.gather(*(one() for _ in range(min(100, clients - start))), return_exceptions=True):
            if isinstance(got, tuple):
                conns.append(got[0])
                ok += got[1]
    await asyncio.sleep(0.2)
    c0, w0 = cpu_seconds(pids), time.monotonic()
    await asyncio.sleep(hold)
    wall = time.monotonic() - w0
    cpu = cpu_seconds(pids) - c0
    rss = status_kb(pids, "VmRSS")
    still_open = sum(1 for c in conns if not c.transport.is_closing())
    for c in conns:
        c.transport.close()
    return {"clients": clients, "ok": ok, "hold_s": wall, "idle_cores": cpu / wall, "rss_kb": rss,
            "still_open": still_open}


# ---------------------------------------------------------------------------------------
# Measurement of one run: CPU of the proxy and of the mock, RSS peak while it runs.

def measured(target: Target, mock: Proc, fn):
    procs = [target.proc] if target.proc else []
    t_pids = [pid for p in procs for pid in p.pids()]
    m_pids = mock.pids()
    c0, m0, w0 = cpu_seconds(t_pids), cpu_seconds(m_pids), time.monotonic()
    with RssSampler(procs or [mock]) as rss:
        out = fn()
    wall = time.monotonic() - w0
    t_pids = [pid for p in procs for pid in p.pids()]
    proxy_cpu = cpu_seconds(t_pids) - c0 if procs else None
    out["cpu"] = {"wall_s": wall, "proxy_cores": proxy_cpu / wall if proxy_cpu is not None else None,
                  "proxy_cpu_s": proxy_cpu, "mock_cores": (cpu_seconds(m_pids) - m0) / wall}
    out["rss_peak_kb"] = rss.peak if procs else None
    return out


def machine_info() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kb = 0
    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": model, "nproc": os.cpu_count(), "mem_gb": round(mem_kb / 1024 / 1024, 1),
            "kernel": platform.release(), "loadavg_start": os.getloadavg()}


def tool_versions() -> dict:
    v = {"python": platform.python_version()}
    for name, cmd in (("wrk", ["wrk", "-v"]), ("nginx", ["nginx", "-v"]), ("node", ["node", "--version"])):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
            v[name] = (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError):
            v[name] = None
    return v


# ---------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a few seconds per scenario, one connection count")
    ap.add_argument("--peers", action="store_true", help="also Node.js gateways installed with npm (optional)")
    ap.add_argument("--peers-dir", default=os.path.join(REPO, "build", "load-peers"),
                    help="where npm installs the peers (default build/load-peers)")
    ap.add_argument("--server", default=os.path.join(REPO, "build", "release", "apps", "server", "llmrouter-server"))
    ap.add_argument("--mock", default=os.path.join(REPO, "build", "release", "tests", "support", "llmrouter-mock"))
    ap.add_argument("--out", default=os.path.join(REPO, "build", "load-results"))
    ap.add_argument("--duration", type=float, help="seconds per wrk run and per open-loop run (default 4, quick 1)")
    ap.add_argument("--conns", help="comma-separated connection counts (default 1,16,64,256; quick 16)")
    ap.add_argument("--scenarios", help="comma-separated subset of " + ",".join(SCENARIOS))
    ap.add_argument("--max-rate", type=float, default=1000.0,
                    help="open-loop rate cap, requests/s (default 1000; the rate is also at most a quarter of "
                         "the slowest target's wrk requests/s at that connection count)")
    ap.add_argument("--streams", type=int, help="clients in the concurrency scenario (default 1000, quick 200)")
    ap.add_argument("--ramp", type=float, default=0.5,
                    help="seconds over which the concurrency scenario's clients start (default 0.5; the mock "
                         "answers after 1 s, so all are open together)")
    ap.add_argument("--no-nginx", action="store_true")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless results are complete and llmrouter had no errors")
    args = ap.parse_args()

    duration = args.duration or (1.0 if args.quick else 4.0)
    conns_list = [int(c) for c in (args.conns or ("16" if args.quick else "1,16,64,256")).split(",")]
    scen_names = (args.scenarios or ",".join(SCENARIOS)).split(",")
    for s in scen_names:
        if s not in SCENARIOS:
            ap.error(f"unknown scenario {s}")
    streams = args.streams or (200 if args.quick else 1000)
    for path in (args.server, args.mock):
        if not os.access(path, os.X_OK):
            print(f"loadbench: {path} not found; build llmrouter-server and llmrouter-mock first", file=sys.stderr)
            return 2

    # Enough descriptors for 1000 streams through a proxy (two sockets each, plus upstream).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard == resource.RLIM_INFINITY else min(hard, 65536)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if nofile < streams * 3 + 100:
        log(f"open-file limit is {nofile}: fewer than the {streams} streams need; lowering to {(nofile - 100) // 3}")
        streams = max(1, (nofile - 100) // 3)

    os.makedirs(args.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="llmrouter-load-")

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    results = {
        "schema": 1,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]),
        "mode": "quick" if args.quick else "full",
        "machine": machine_info(),
        "tools": tool_versions(),
        "load_generator": ("wrk -t1 (one thread, closed loop) for requests/s; an asyncio open-loop client "
                           "(one Python thread) for latency; both share the machine's cores with the targets"),
        "settings": {"duration_s": duration, "conns": conns_list, "max_rate": args.max_rate, "streams": streams,
                     "ramp_s": args.ramp,
                     "nofile": nofile},
        "targets": {}, "skipped": {}, "runs": [], "concurrency": [],
    }
    try:
        git = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"], capture_output=True, text=True)
        results["commit"] = git.stdout.strip()
    except OSError:
        pass

    have_wrk = shutil.which("wrk") is not None
    if not have_wrk:
        results["skipped"]["wrk"] = "wrk is not installed (Debian package wrk): requests/s not measured"
        log("skipped: " + results["skipped"]["wrk"])

    try:
        mock, mock_port = start_mock(args, workdir)
        log(f"mock upstream on 127.0.0.1:{mock_port}")
        targets = [Target("direct", "127.0.0.1", mock_port, None, {"openai": None, "anthropic": None},
                          "the mock itself, no proxy")]
        if args.no_nginx:
            results["skipped"]["nginx"] = "--no-nginx"
        else:
            try:
                ng, ng_port = start_nginx(workdir, mock_port)
                targets.append(Target("nginx", "127.0.0.1", ng_port, ng, {"openai": None, "anthropic": None},
                                      "reverse proxy, keep-alive upstream, no buffering"))
                log(f"nginx on 127.0.0.1:{ng_port}")
            except (OSError, RuntimeError) as e:
                results["skipped"]["nginx"] = str(e)
                log(f"skipped nginx: {e}")
        lr, lr_port = start_llmrouter(args, workdir, mock_port)
        targets.append(Target("llmrouter", "127.0.0.1", lr_port, lr, {"openai": None, "anthropic": None},
                              "OpenAI pass-through; Anthropic translated to the OpenAI-format provider"))
        log(f"llmrouter-server on 127.0.0.1:{lr_port}")
        if args.peers:
            status = npm_install(args.peers_dir, 300)
            for name, err in status.items():
                if err:
                    results["skipped"][name] = err
                    log(f"skipped {name}: {err}")
                    continue
                try:
                    if name == "portkey":
                        p, port = start_portkey(args.peers_dir, workdir)
                        targets.append(Target(name, "127.0.0.1", port, p, {"openai": None},
                                              "OpenAI pass-through (x-portkey-custom-host)"))
                    else:
                        p, port = start_ccr(args.peers_dir, workdir, mock_port)
                        targets.append(Target(name, "127.0.0.1", port, p, {"anthropic": None},
                                              "Anthropic translated to an OpenAI provider", model_prefix="mock,"))
                    log(f"{name} on 127.0.0.1:{port}")
                except (OSError, RuntimeError) as e:
                    results["skipped"][name] = str(e)
                    log(f"skipped {name}: {e}")

        time.sleep(0.5)
        for t in targets:
            pids = t.proc.pids() if t.proc else mock.pids()
            t.idle_rss_kb = status_kb(pids, "VmRSS")
            results["targets"][t.name] = {"note": t.note, "processes": len(pids), "idle_rss_kb": t.idle_rss_kb}
        log("idle RSS: " + ", ".join(f"{t.name} {t.idle_rss_kb / 1024:.1f} MB" for t in targets))

        def headers_for(t: Target, fmt: str) -> dict:
            h = extra_headers(fmt)
            if t.name == "portkey":
                h.update({"x-portkey-provider": "openai", "x-portkey-custom-host": f"http://127.0.0.1:{mock_port}/v1"})
            return h

        for si, sname in enumerate(scen_names):
            sc = SCENARIOS[sname]
            bodies = {t.name: request_body(sc["format"], t.model_prefix + sc["model"], sc["stream"]) for t in targets}
            expect = EXPECT[(sc["format"], sc["stream"])]
            active = [t for t in targets if t.path_for(sc)]
            for t in targets:
                if not t.path_for(sc):
                    results["runs"].append({"scenario": sname, "target": t.name, "conns": None, "na": True})
            # Warm-up: connections, caches, the proxies' upstream pools.
            if have_wrk:
                for t in active:
                    run_wrk(t, t.path_for(sc), bodies[t.name], headers_for(t, sc["format"]), max(conns_list), 1, workdir)
            for ci, conns in enumerate(conns_list):
                rot = (si + ci) % len(active)
                order = active[rot:] + active[:rot]
                rows = {t.name: {"scenario": sname, "target": t.name, "conns": conns, "stream": sc["stream"],
                                 "path": t.path_for(sc)} for t in active}
                if have_wrk:
                    for t in order:
                        log(f"{sname} c={conns} wrk -> {t.name}")
                        rows[t.name]["wrk"] = measured(t, mock, lambda t=t: run_wrk(
                            t, t.path_for(sc), bodies[t.name], headers_for(t, sc["format"]), conns, duration, workdir))
                core = [rows[n]["wrk"]["rps"] for n in ("direct", "nginx", "llmrouter") if n in rows and "wrk" in rows[n]]
                rate = min(args.max_rate, 0.25 * min(core)) if core else min(args.max_rate, 200.0)
                rate = max(rate, 20.0)
                for t in order:
                    # A Node gateway far slower than the rate would only queue: it gets half its own
                    # wrk requests/s instead (shown in the rate column).
                    t_rate = rate
                    if t.name not in ("direct", "nginx", "llmrouter") and "wrk" in rows[t.name]:
                        t_rate = max(5.0, min(rate, 0.5 * rows[t.name]["wrk"]["rps"]))
                    log(f"{sname} c={conns} open loop {t_rate:.0f}/s -> {t.name}")
                    raw = raw_request(t.host, t.port, t.path_for(sc), bodies[t.name], headers_for(t, sc["format"]))
                    rows[t.name]["open_loop"] = measured(t, mock, lambda t=t, raw=raw, t_rate=t_rate: asyncio.run(
                        open_loop(t.host, t.port, raw, expect, conns, t_rate, duration, timeout=15.0)))
                # Added latency over direct, per percentile.
                base = rows.get("direct", {}).get("open_loop", {}).get("latency_ms")
                for name, row in rows.items():
                    ol = row.get("open_loop", {})
                    if base and name != "direct" and ol.get("latency_ms", {}).get("p50") is not None:
                        ol["added_ms"] = {p: ol["latency_ms"][p] - base[p] for p in ("p50", "p90", "p99")
                                          if base.get(p) is not None}
                    row["proxy_cpu_us_per_req"] = None
                    w = row.get("wrk")
                    if w and w["cpu"]["proxy_cpu_s"] is not None and w["requests"]:
                        row["proxy_cpu_us_per_req"] = w["cpu"]["proxy_cpu_s"] / w["requests"] * 1e6
                    results["runs"].append(row)

        # Concurrency: `streams` clients started over `ramp` s; the mock waits 1 s, then streams 20 events.
        sc_body = request_body("openai", "latency-1000+chunks-20", True)
        for i, t in enumerate(t for t in targets if "openai" in t.formats):
            if i and streams > 300:
                time.sleep(2)  # the previous burst's connections close
            log(f"concurrency {streams} streams -> {t.name}")
            raw = raw_request(t.host, t.port, "/v1/chat/completions", sc_body, headers_for(t, "openai"))
            row = measured(t, mock, lambda t=t, raw=raw: asyncio.run(burst(
                t.host, t.port, raw, EXPECT[("openai", True)], streams, args.ramp, timeout=30.0)))
            row["target"] = t.name
            results["concurrency"].append(row)
        base = next((r for r in results["concurrency"] if r["target"] == "direct"), None)
        for r in results["concurrency"]:
            if base and r["target"] != "direct" and r["ttfb_ms"]["p50"] is not None and base["ttfb_ms"]["p50"] is not None:
                r["added_ttfb_ms"] = {p: r["ttfb_ms"][p] - base["ttfb_ms"][p] for p in ("p50", "p90", "p99")}

        # Idle keep-alive: 1000 connections that made one request each, then wait (less
        # than llmrouter's 5 s idle timeout, so none is closed meanwhile).
        if "openai" in scen_names:
            time.sleep(2)
            idle_body = request_body("openai", "bench", False)
            for t in (t for t in targets if t.name in ("nginx", "llmrouter")):
                log(f"idle keep-alive {streams} connections -> {t.name}")
                raw = raw_request(t.host, t.port, "/v1/chat/completions", idle_body, headers_for(t, "openai"))
                row = asyncio.run(idle(t.host, t.port, raw, EXPECT[("openai", False)], streams, 3.0, t.proc.pids()))
                row["target"] = t.name
                results.setdefault("idle", []).append(row)

        time.sleep(1)
        for t in targets:
            pids = t.proc.pids() if t.proc else mock.pids()
            results["targets"][t.name]["rss_after_kb"] = status_kb(pids, "VmRSS")
            results["targets"][t.name]["hwm_kb"] = status_kb(pids, "VmHWM")
        for p in Proc.all:
            if p.p.poll() is not None:
                results.setdefault("crashed", {})[p.name] = f"exit {p.p.returncode}: {p.stderr_tail(500)}"
    finally:
        Proc.stop_all()
        results["machine"]["loadavg_end"] = os.getloadavg()

    results["target_checks"] = check_targets(results)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    md = markdown(results)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md)
    print(md)
    log(f"wrote {args.out}/results.json and results.md")
    shutil.rmtree(workdir, ignore_errors=True)
    if args.check:
        problems = verify(results, scen_names, conns_list)
        for p in problems:
            print(f"CHECK FAILED: {p}")
        return 1 if problems else 0
    return 0


def check_targets(r: dict) -> list:
    """The product's targets, each met or missed, from this run's figures."""
    out = []
    runs = [x for x in r["runs"] if not x.get("na")]

    def row(s, t, c):
        return next((x for x in runs if x["scenario"] == s and x["target"] == t and x["conns"] == c), None)

    for c in (1, 16, 64):
        lr, ng = row("openai", "llmrouter", c), row("openai", "nginx", c)
        if not lr or not ng:
            continue
        la = lr.get("open_loop", {}).get("added_ms", {}).get("p50")
        na = ng.get("open_loop", {}).get("added_ms", {}).get("p50")
        if la is not None and na is not None:
            limit = 1.5 * max(na, 0.0) + 0.05
            out.append({"target": f"added p50 <= 1.5 x nginx's + 0.05 ms (openai, c={c})", "met": la <= limit,
                        "value": f"{la:.3f} ms vs limit {limit:.3f} ms (nginx {na:.3f} ms)"})
    # Requests/s against nginx: pass-through, translation, streams.
    for scen, share in (("openai", 0.7), ("anthropic", 0.6), ("openai-stream", 0.6)):
        for c in (16,):
            lr, ng = row(scen, "llmrouter", c), row(scen, "nginx", c)
            if lr and ng and "wrk" in lr and "wrk" in ng:
                ratio = lr["wrk"]["rps"] / ng["wrk"]["rps"] if ng["wrk"]["rps"] else 0
                out.append({"target": f"requests/s >= {share:.0%} of nginx's ({scen}, c={c})", "met": ratio >= share,
                            "value": f"{lr['wrk']['rps']:.0f} vs {ng['wrk']['rps']:.0f} ({ratio:.0%})"})
    for peer, scen in (("portkey", "openai"), ("claude-code-router", "anthropic")):
        for c in r["settings"]["conns"]:
            lr, pr = row(scen, "llmrouter", c), row(scen, peer, c)
            if lr and pr and "wrk" in lr and "wrk" in pr and pr["wrk"]["rps"]:
                ratio = lr["wrk"]["rps"] / pr["wrk"]["rps"]
                out.append({"target": f">= 10x {peer}'s requests/s ({scen}, c={c})", "met": ratio >= 10,
                            "value": f"{ratio:.1f}x"})
        if peer in r["targets"]:
            li = r["targets"]["llmrouter"].get("idle_rss_kb") or 0
            pi = r["targets"][peer].get("idle_rss_kb") or 0
            if li and pi:
                out.append({"target": f"<= 1/10 of {peer}'s memory (idle RSS)", "met": li * 10 <= pi,
                            "value": f"{li / 1024:.1f} MB vs {pi / 1024:.1f} MB ({pi / li:.1f}x)"})
            # Under the same load: the largest RSS over the wrk runs both made.
            lm = pm = 0
            for x in runs:
                if x["target"] == peer and "wrk" in x:
                    other = row(x["scenario"], "llmrouter", x["conns"])
                    if other and "wrk" in other:
                        pm = max(pm, x["wrk"].get("rss_peak_kb") or 0)
                        lm = max(lm, other["wrk"].get("rss_peak_kb") or 0)
            if lm and pm:
                out.append({"target": f"<= 1/10 of {peer}'s memory (peak RSS, same wrk runs)", "met": lm * 10 <= pm,
                            "value": f"{lm / 1024:.1f} MB vs {pm / 1024:.1f} MB ({pm / lm:.1f}x)"})
    lc = next((x for x in r["concurrency"] if x["target"] == "llmrouter"), None)
    nc = next((x for x in r["concurrency"] if x["target"] == "nginx"), None)
    if lc:
        n = lc["clients"]
        out.append({"target": f"{n} concurrent 1 s streams: 100% success", "met": lc["ok"] == n,
                    "value": f"{lc['ok']}/{n}"})
        lp, np_ = lc["ttfb_ms"].get("p99"), (nc or {}).get("ttfb_ms", {}).get("p99")
        if lp is not None and np_ is not None:
            out.append({"target": "time to first byte p99 <= nginx's + 50 ms", "met": lp <= np_ + 50,
                        "value": f"{lp:.1f} ms vs nginx {np_:.1f} ms"})
        lcpu, ncpu = lc["cpu"].get("proxy_cpu_s"), (nc or {}).get("cpu", {}).get("proxy_cpu_s")
        if lcpu is not None and ncpu:
            out.append({"target": f"CPU <= 3 x nginx's during {n} streams", "met": lcpu <= 3 * ncpu,
                        "value": f"{lcpu:.2f} s vs nginx {ncpu:.2f} s ({lcpu / ncpu:.1f}x)"})
        if lc.get("rss_peak_kb") is not None:
            out.append({"target": f"peak RSS <= 40 MB during {n} streams", "met": lc["rss_peak_kb"] <= 40 * 1024,
                        "value": f"{lc['rss_peak_kb'] / 1024:.1f} MB"})
    li = next((x for x in r.get("idle", []) if x["target"] == "llmrouter"), None)
    if li:
        out.append({"target": f"{li['clients']} idle keep-alive connections: < 1% of a core",
                    "met": li["idle_cores"] < 0.01 and li["still_open"] == li["clients"],
                    "value": f"{li['idle_cores'] * 100:.2f}% ({li['still_open']} open)"})
        out.append({"target": f"RSS <= 15 MB with {li['clients']} idle connections", "met": li["rss_kb"] <= 15 * 1024,
                    "value": f"{li['rss_kb'] / 1024:.1f} MB"})
    idle = r["targets"].get("llmrouter", {}).get("idle_rss_kb")
    if idle:
        out.append({"target": "idle RSS <= 15 MB", "met": idle <= 15 * 1024, "value": f"{idle / 1024:.1f} MB"})
    return out


def verify(r: dict, scen_names: list, conns_list: list) -> list:
    problems = []
    for key in ("machine", "tools", "settings", "targets", "runs", "concurrency", "target_checks"):
        if key not in r:
            problems.append(f"results lack '{key}'")
    if "llmrouter" not in r.get("targets", {}):
        problems.append("no llmrouter target")
    if r.get("crashed"):
        problems.append(f"processes exited during the run: {r['crashed']}")
    for s in scen_names:
        for c in conns_list:
            row = next((x for x in r["runs"] if x["scenario"] == s and x["target"] == "llmrouter" and x["conns"] == c), None)
            if not row:
                problems.append(f"no llmrouter run for {s} c={c}")
                continue
            ol = row.get("open_loop", {})
            if ol.get("error_count", 1) != 0 or not ol.get("ok"):
                problems.append(f"llmrouter {s} c={c} open loop: {ol.get('ok')} ok, errors {ol.get('errors')}")
            for p in ("p50", "p90", "p99"):
                if ol.get("latency_ms", {}).get(p) is None:
                    problems.append(f"llmrouter {s} c={c}: no latency {p}")
            if "wrk" not in r.get("skipped", {}):
                w = row.get("wrk")
                if not w:
                    problems.append(f"llmrouter {s} c={c}: no wrk result")
                elif w["error_count"] != 0 or w["requests"] == 0:
                    problems.append(f"llmrouter {s} c={c} wrk: {w['requests']} requests, errors {w['errors']}")
    lc = next((x for x in r["concurrency"] if x["target"] == "llmrouter"), None)
    if not lc:
        problems.append("no llmrouter concurrency run")
    elif lc["error_count"] != 0 or lc["ok"] != lc["clients"]:
        problems.append(f"llmrouter concurrency: {lc['ok']}/{lc['clients']} ok, errors {lc['errors']} {lc['statuses']}")
    return problems


def error_text(x: dict) -> str:
    """"0", or each kind of error with its count, and the HTTP statuses of refused requests."""
    text = ", ".join(f"{k} {v}" for k, v in x["errors"].items() if v) or "0"
    if x.get("statuses"):
        text += " (HTTP " + ", ".join(f"{k}×{v}" for k, v in x["statuses"].items()) + ")"
    return text


def fmt(v, spec=".2f", unit=""):
    return "–" if v is None else f"{v:{spec}}{unit}"


def markdown(r: dict) -> str:
    m = r["machine"]
    out = [f"Run {r['date']} ({r['mode']}), commit {r.get('commit', '?')}: `{r['command']}`", "",
           f"Machine: {m['cpu']}, {m['nproc']} cores, {m['mem_gb']} GB, Linux {m['kernel']}; "
           f"load average at start {m['loadavg_start'][0]:.2f}, at end {m['loadavg_end'][0]:.2f}.", "",
           f"Load generator: {r['load_generator']}. Durations: {r['settings']['duration_s']:g} s per wrk run and "
           f"per open-loop run.", ""]
    for k, v in r["skipped"].items():
        out.append(f"- skipped {k}: {v}")
    if r["skipped"]:
        out.append("")
    out += ["Idle RSS: " + ", ".join(f"{n} {t['idle_rss_kb'] / 1024:.1f} MB" for n, t in r["targets"].items()) +
            ". Peak RSS over the run (VmHWM): " +
            ", ".join(f"{n} {t.get('hwm_kb', 0) / 1024:.1f} MB" for n, t in r["targets"].items()) + ".", ""]
    out += ["Latency is from the open-loop client at the rate shown (ms, issue to last byte); \"added\" is "
            "the target's percentile minus direct's. Req/s, proxy CPU (cores busy, µs of CPU per request) "
            "and RSS come from the wrk run.", ""]
    scen = []
    for x in r["runs"]:
        if x["scenario"] not in scen:
            scen.append(x["scenario"])
    for s in scen:
        sc = SCENARIOS[s]
        out += [f"### {s} ({'streamed, 20 events' if sc['stream'] else 'not streamed'}; client "
                f"{sc['path']})", "",
                "| target | conns | req/s | rate/s | p50 | p90 | p99 | added p50 | added p90 | added p99 | errors | "
                "proxy cores | proxy µs/req | RSS MB |",
                "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
        for x in r["runs"]:
            if x["scenario"] != s:
                continue
            if x.get("na"):
                out.append(f"| {x['target']} | – | n/a | | | | | | | | | | | |")
                continue
            w, ol = x.get("wrk", {}), x.get("open_loop", {})
            lat, add = ol.get("latency_ms", {}), ol.get("added_ms", {})
            errs = (w.get("error_count") or 0) + (ol.get("error_count") or 0)
            cpu = w.get("cpu", {})
            out.append(
                f"| {x['target']} | {x['conns']} | {fmt(w.get('rps'), '.0f')} | {fmt(ol.get('rate'), '.0f')} | "
                f"{fmt(lat.get('p50'), '.3f')} | {fmt(lat.get('p90'), '.3f')} | {fmt(lat.get('p99'), '.3f')} | "
                f"{fmt(add.get('p50'), '+.3f')} | {fmt(add.get('p90'), '+.3f')} | {fmt(add.get('p99'), '+.3f')} | "
                f"{errs} | {fmt(cpu.get('proxy_cores'), '.2f')} | {fmt(x.get('proxy_cpu_us_per_req'), '.0f')} | "
                f"{fmt(w['rss_peak_kb'] / 1024 if w.get('rss_peak_kb') else None, '.1f')} |")
        out.append("")
    if r["concurrency"]:
        n = r["concurrency"][0]["clients"]
        c0 = r["concurrency"][0]
        out += [f"### concurrency: {n} streaming clients started over {c0['ramp_s']:g} s, each a stream the mock "
                "starts after 1 s (20 events)", "",
                "Times in ms from a client's start (connect included); \"open\" is the most requests in flight at "
                "once; \"client lag\" is the p99 lag of the client's own event loop, the precision of the times.", "",
                "| target | ok | open | TTFB p50 | TTFB p99 | added TTFB p50 | added TTFB p99 | total p99 | "
                "client lag p99 | proxy CPU s | peak RSS MB | errors |",
                "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"]
        for x in r["concurrency"]:
            add = x.get("added_ttfb_ms", {})
            out.append(
                f"| {x['target']} | {x['ok']}/{x['clients']} | {x['peak_open']} | {fmt(x['ttfb_ms']['p50'], '.1f')} | "
                f"{fmt(x['ttfb_ms']['p99'], '.1f')} | {fmt(add.get('p50'), '+.1f')} | {fmt(add.get('p99'), '+.1f')} | "
                f"{fmt(x['total_ms']['p99'], '.1f')} | {fmt(x['client_loop_lag_ms']['p99'], '.1f')} | "
                f"{fmt(x['cpu']['proxy_cpu_s'], '.2f')} | "
                f"{fmt(x['rss_peak_kb'] / 1024 if x.get('rss_peak_kb') else None, '.1f')} | {error_text(x)} |")
        out.append("")
    if r.get("idle"):
        out += [f"### idle keep-alive: {r['idle'][0]['clients']} connections, one request each, then idle", "",
                "| target | ok | still open | idle CPU (% of a core) | RSS MB |", "|---|--:|--:|--:|--:|"]
        for x in r["idle"]:
            out.append(f"| {x['target']} | {x['ok']}/{x['clients']} | {x['still_open']} | {x['idle_cores'] * 100:.2f} | "
                       f"{x['rss_kb'] / 1024:.1f} |")
        out.append("")
    if r["target_checks"]:
        out += ["### Targets", "", "| target | met | value |", "|---|---|---|"]
        for c in r["target_checks"]:
            out.append(f"| {c['target']} | {'met' if c['met'] else '**missed**'} | {c['value']} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        Proc.stop_all()
