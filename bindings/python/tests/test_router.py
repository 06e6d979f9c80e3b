# SPDX-License-Identifier: MIT
"""The Python binding against the mock upstream (llmrouter-mock, started per module).

Run from the build: ctest -L python. By hand:
    LLMROUTER_LIB=build/rel/lib/libllmrouter.so LLMROUTER_MOCK=build/rel/tests/support/llmrouter-mock \
    PYTHONPATH=bindings/python python3 -m unittest discover -s bindings/python/tests -v
"""

import glob
import os
import pathlib
import subprocess
import threading
import time
import unittest

import llmrouter

REPO = pathlib.Path(__file__).resolve().parents[3]

_mock = None
MOCK_URL = None


def _mock_binary():
    path = os.environ.get("LLMROUTER_MOCK")
    if path:
        return path
    built = glob.glob(str(REPO / "build" / "**" / "tests" / "support" / "llmrouter-mock"), recursive=True)
    if not built:
        raise RuntimeError("set LLMROUTER_MOCK to the llmrouter-mock binary (tests/support in a build tree)")
    return max(built, key=os.path.getmtime)


def setUpModule():
    global _mock, MOCK_URL
    _mock = subprocess.Popen([_mock_binary(), "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    line = _mock.stdout.readline().strip()  # the mock prints one line once it listens
    prefix = "llmrouter-mock listening on "
    if not line.startswith(prefix):
        _mock.kill()
        raise RuntimeError(f"llmrouter-mock did not start: {line!r} {_mock.stderr.read()!r}")
    MOCK_URL = line[len(prefix):]


def tearDownModule():
    if _mock:
        _mock.terminate()
        try:
            _mock.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _mock.kill()
            _mock.wait()


def mock_config(extra=""):
    return f"""
[routing]
max_attempts = 1
[[providers]]
name = "oa"
format = "openai"
base_url = "{MOCK_URL}/v1"
[[providers]]
name = "an"
format = "anthropic"
base_url = "{MOCK_URL}"
[[routers]]
type = "prefix"
model_prefix = "claude"
provider = "an"
[[routers]]
type = "fallback"
providers = ["oa"]
{extra}
"""


ROUTING_ONLY = """
[[providers]]
name = "local"
format = "openai"
base_url = "http://127.0.0.1:1/v1"
[[providers]]
name = "cloud"
format = "anthropic"
base_url = "http://127.0.0.1:2"
[[routers]]
type = "prefix"
model_prefix = "claude"
provider = "cloud"
[[routers]]
type = "tag"
tag = "code"
provider = "local"
rewrite_model = "qwen3-coder"
[classifiers.keyword]
enabled = true
[classifiers.keyword.tags]
code = ["def "]
"""


def chat(model, text="hello", **extra):
    return {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": text}], **extra}


class VersionTest(unittest.TestCase):
    def test_versions(self):
        self.assertEqual(llmrouter.abi_version(), 1)
        self.assertRegex(llmrouter.version(), r"^\d+\.\d+\.\d+$")


class RouteTest(unittest.TestCase):
    def setUp(self):
        self.router = llmrouter.Router.from_toml(ROUTING_ONLY)

    def tearDown(self):
        self.router.close()

    def test_route_returns_the_decision_as_a_dict(self):
        d = self.router.route(chat("gpt-4.1", "def f(): pass"))
        self.assertEqual(d["provider"], "local")
        self.assertEqual(d["model"], "qwen3-coder")
        self.assertEqual(d["tags"], ["code"])
        self.assertEqual(d["rule"]["type"], "tag")

    def test_route_in_each_format_and_body_type(self):
        body = '{"model":"claude-sonnet-4","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}'
        self.assertEqual(self.router.route(body, format="anthropic")["provider"], "cloud")
        self.assertEqual(self.router.route(body.encode(), format=llmrouter.Format.ANTHROPIC)["provider"], "cloud")
        self.assertEqual(self.router.route({"model": "claude-x", "input": "hi"}, format="responses")["provider"],
                         "cloud")

    def test_no_route_and_bad_requests_raise(self):
        with self.assertRaises(llmrouter.LLMRouterError) as cm:
            self.router.route(chat("gpt-4.1"))
        self.assertEqual(cm.exception.status, llmrouter.Status.NO_ROUTE)
        self.assertEqual(cm.exception.http_status, 400)
        with self.assertRaises(llmrouter.LLMRouterError) as cm:
            self.router.route(b"{not json")
        self.assertEqual(cm.exception.status, llmrouter.Status.INVALID_REQUEST)
        self.assertTrue(cm.exception.message)
        with self.assertRaises(ValueError):
            self.router.route(chat("claude"), format="gemini")

    def test_a_closed_router_raises(self):
        self.router.close()
        self.router.close()  # idempotent
        with self.assertRaises(ValueError):
            self.router.route(chat("claude"))


class ConfigTest(unittest.TestCase):
    def test_config_errors_carry_status_and_position(self):
        with self.assertRaises(llmrouter.LLMRouterError) as cm:
            llmrouter.Router.from_toml("[server]\nport = 70000\n")
        self.assertEqual(cm.exception.status, llmrouter.Status.CONFIG)
        self.assertIn("<config>:2:8: server.port", cm.exception.message)
        self.assertIn("config", str(cm.exception))

    def test_from_file(self):
        with llmrouter.Router.from_file(REPO / "examples" / "demo" / "config.toml") as router:
            self.assertEqual(router.route(chat("claude-sonnet-4"))["provider"], "mock-anthropic")
        with self.assertRaises(llmrouter.LLMRouterError) as cm:
            llmrouter.Router.from_file("/nonexistent/config.toml")
        self.assertEqual(cm.exception.status, llmrouter.Status.CONFIG)


class CompleteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.router = llmrouter.Router.from_toml(mock_config())

    @classmethod
    def tearDownClass(cls):
        cls.router.close()

    def test_complete_returns_the_reply(self):
        reply = self.router.complete(chat("gpt-4.1"))
        self.assertEqual(reply["object"], "chat.completion")
        self.assertEqual(reply["choices"][0]["message"]["content"], "Checking both cities.")

    def test_complete_answers_in_the_client_format(self):
        reply = self.router.complete(chat("gpt-4.1"), format="anthropic")
        self.assertEqual(reply["type"], "message")
        self.assertEqual(reply["role"], "assistant")

    def test_complete_refuses_streamed_requests(self):
        with self.assertRaises(ValueError):
            self.router.complete(chat("gpt-4.1", stream=True))

    def test_upstream_errors_carry_the_http_status(self):
        with self.assertRaises(llmrouter.LLMRouterError) as cm:
            self.router.complete(chat("status-429"))
        self.assertEqual(cm.exception.status, llmrouter.Status.UPSTREAM)
        self.assertEqual(cm.exception.http_status, 429)
        self.assertEqual(cm.exception.provider, "oa")

    def test_stream_yields_sse_chunks(self):
        chunks = list(self.router.stream(chat("gpt-4.1")))
        self.assertTrue(chunks)  # how many depends on timing: a chunk is whatever arrived
        text = b"".join(chunks)
        self.assertTrue(text.startswith(b"data: "))
        self.assertIn(b"data: [DONE]", text)

    def test_stream_translates_formats(self):
        text = b"".join(self.router.stream(chat("claude-sonnet-4"), format="anthropic"))
        self.assertIn(b"event: message_stop", text)

    def test_stream_errors_raise(self):
        with self.assertRaises(llmrouter.LLMRouterError) as cm:
            list(self.router.stream(chat("status-429")))
        self.assertEqual(cm.exception.http_status, 429)
        chunks = []
        with self.assertRaises(llmrouter.LLMRouterError) as cm:
            for chunk in self.router.stream(chat("disconnect")):
                chunks.append(chunk)
        self.assertEqual(cm.exception.status, llmrouter.Status.UPSTREAM)
        self.assertTrue(chunks)  # what arrived before the failure, ending with an error event
        self.assertIn(b"error", chunks[-1])

    def test_stopping_the_iteration_cancels_the_request(self):
        stream = self.router.stream(chat("drip"))  # 100 events over 2 s
        next(stream)
        start = time.monotonic()
        stream.close()
        self.assertLess(time.monotonic() - start, 1.0)
        with self.assertRaises(StopIteration):
            next(stream)

    def test_one_router_from_many_threads(self):
        errors = []

        def work(i):
            try:
                for _ in range(3):
                    if i % 2:
                        self.assertEqual(self.router.complete(chat("gpt-4.1"))["object"], "chat.completion")
                    else:
                        self.assertIn(b"[DONE]", b"".join(self.router.stream(chat("gpt-4.1"))))
                    self.assertEqual(self.router.route(chat("claude-3"))["provider"], "an")
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
