#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Deciding routes from Python through the binding (bindings/python): no network I/O.

    PYTHONPATH=bindings/python LLMROUTER_LIB=build/release/lib/libllmrouter.so \
        python3 examples/python/route.py [CONFIG]
"""

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bindings" / "python"))
import llmrouter  # noqa: E402  (the checkout's binding when it is not installed)

CONFIG = """
[[providers]]
name = "local"
format = "openai"
base_url = "http://127.0.0.1:8080/v1"
[[providers]]
name = "cloud"
format = "anthropic"
base_url = "https://api.anthropic.com"
[[routers]]
type = "prefix"
model_prefix = "claude"
provider = "cloud"
[[routers]]
type = "tag"
tag = "code"
provider = "local"
rewrite_model = "qwen3-coder"
[[routers]]
type = "fallback"
providers = ["local"]
[classifiers.keyword]
enabled = true
[classifiers.keyword.tags]
code = ["def ", "function"]
"""

REQUESTS = [
    ("openai", {"model": "llama3", "messages": [{"role": "user", "content": "hello"}]}),
    ("openai", {"model": "llama3", "messages": [{"role": "user", "content": "why does def f(): fail?"}]}),
    ("anthropic", {"model": "claude-sonnet-4", "max_tokens": 256, "messages": [{"role": "user", "content": "hi"}]}),
    ("responses", {"model": "claude-opus-4", "input": "summarise this"}),
    ("openai", {"model": "llama3", "messages": "not a list"}),
]


def main():
    router = llmrouter.Router.from_file(sys.argv[1]) if len(sys.argv) > 1 else llmrouter.Router.from_toml(CONFIG)
    print(f"libllmrouter {llmrouter.version()} (C ABI {llmrouter.abi_version()})")
    with router:
        for fmt, body in REQUESTS:
            try:
                d = router.route(body, format=fmt)
                print(f"{fmt:9} {body['model']:16} -> {d['provider']} / {d['model']}  tags={json.dumps(d['tags'])}")
            except llmrouter.LLMRouterError as e:
                print(f"{fmt:9} {body['model']:16} -> {e.status.name} (HTTP {e.http_status}): {e.message}")


if __name__ == "__main__":
    main()
