# SPDX-License-Identifier: MIT
"""llmrouter for Python: the router as a library, over its C ABI (ctypes, no build step).

    import llmrouter

    router = llmrouter.Router.from_file("config.toml")
    router.route({"model": "gpt-4.1", "messages": [...]})        # where it would go (no network)
    router.complete({"model": "gpt-4.1", "messages": [...]})     # the reply, as a dict
    for chunk in router.stream({"model": "gpt-4.1", "messages": [...], "stream": True}):
        ...                                                       # SSE bytes, in the client's format

Bodies are dicts, str or bytes in the client's wire format: "openai" (Chat Completions, the
default), "anthropic" (Messages) or "responses" (OpenAI Responses). Failures raise
LLMRouterError with .status, .message, .http_status and .provider.

A Router may be used from many threads at once. The library is found through the
LLMROUTER_LIB environment variable (the path of libllmrouter.so), else next to this
package, else in the source checkout's build trees, else on the system library path.
"""

import ctypes
import enum
import json

from . import _native
from ._native import lib as _lib

__all__ = ["Router", "LLMRouterError", "Status", "Format", "abi_version", "version"]


class Status(enum.IntEnum):
    """llmrouter_status: what a call returned (fixed values)."""

    OK = 0
    INVALID_ARGUMENT = 1
    INVALID_REQUEST = 2
    CONFIG = 3
    NO_ROUTE = 4
    UPSTREAM = 5
    TIMEOUT = 6
    CANCELLED = 7
    INTERNAL = 8
    STREAM_END = 9
    STREAM_TIMEOUT = 10
    OVERLOADED = 11


class Format(enum.IntEnum):
    """llmrouter_format: the client wire format of a request and its reply."""

    OPENAI = 0
    ANTHROPIC = 1
    RESPONSES = 2


class LLMRouterError(Exception):
    """A failed call: `status` (a Status), `message`, `http_status` (what an HTTP host would
    answer) and `provider` (the provider involved, or "")."""

    def __init__(self, status, message, http_status=0, provider=""):
        try:
            status = Status(status)
        except ValueError:
            pass
        super().__init__(f"{_status_name(status)}: {message}")
        self.status = status
        self.message = message
        self.http_status = http_status
        self.provider = provider


def abi_version():
    """The C ABI version of the loaded library."""
    return _lib.llmrouter_abi_version()


def version():
    """The library's version, "MAJOR.MINOR.PATCH"."""
    return _lib.llmrouter_version().decode()


def _status_name(status):
    return _lib.llmrouter_status_string(int(status)).decode()


def _raise(status, err):
    """Raises the error of a failed call and frees its error object."""
    try:
        if err:
            raise LLMRouterError(
                _lib.llmrouter_error_status(err),
                _lib.llmrouter_error_message(err).decode("utf-8", "replace"),
                _lib.llmrouter_error_http_status(err),
                _lib.llmrouter_error_provider(err).decode("utf-8", "replace"),
            )
        raise LLMRouterError(status, _status_name(status))
    finally:
        _lib.llmrouter_error_free(err)


def _format(fmt):
    if isinstance(fmt, Format):
        return int(fmt)
    try:
        return int(Format[str(fmt).upper()])
    except KeyError:
        raise ValueError(f"format: expected 'openai', 'anthropic' or 'responses', got {fmt!r}") from None


def _body(body):
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _streamed(body):
    """Whether a request asks for a streamed reply (False when it is not readable JSON)."""
    if isinstance(body, dict):
        return bool(body.get("stream"))
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    return isinstance(parsed, dict) and bool(parsed.get("stream"))


class Router:
    """A router: a configuration with its pipeline, providers and HTTP transport.
    Thread-safe. Close it with close() or a `with` block (or leave it to the garbage
    collector)."""

    def __init__(self, handle):
        """Use Router.from_file() or Router.from_toml()."""
        self._handle = ctypes.c_void_p(handle)

    @classmethod
    def from_file(cls, path):
        """A router from a TOML configuration file. Raises LLMRouterError (Status.CONFIG)
        naming file, line, column and key for each problem."""
        raw = str(path).encode()
        return cls._new(_lib.llmrouter_router_new_from_file, raw)

    @classmethod
    def from_toml(cls, text):
        """A router from TOML text (messages name it "<config>")."""
        raw = text.encode() if isinstance(text, str) else bytes(text)
        return cls._new(_lib.llmrouter_router_new_from_toml, raw)

    @classmethod
    def _new(cls, fn, raw):
        out = ctypes.c_void_p()
        err = ctypes.c_void_p()
        status = fn(raw, len(raw), ctypes.byref(out), ctypes.byref(err))
        if status != Status.OK:
            _raise(status, err)
        return cls(out.value)

    def _h(self):
        if not self._handle:
            raise ValueError("llmrouter: the router is closed")
        return self._handle

    def close(self):
        """Frees the router (streams still open keep working). Idempotent."""
        handle, self._handle = self._handle, None
        if handle:
            _lib.llmrouter_router_free(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None) and _lib is not None:
            self.close()

    def route(self, body, format="openai"):
        """Where `body` would go, with no network I/O: a dict with provider, model, rule,
        tags, reason, fallbacks and plugins (the `POST /v1/route` answer)."""
        raw = _body(body)
        out = ctypes.c_void_p()
        size = ctypes.c_size_t()
        err = ctypes.c_void_p()
        status = _lib.llmrouter_route(self._h(), _format(format), raw, len(raw), ctypes.byref(out),
                                      ctypes.byref(size), ctypes.byref(err))
        if status != Status.OK:
            _raise(status, err)
        try:
            return json.loads(ctypes.string_at(out, size.value))
        finally:
            _lib.llmrouter_free(out)

    def complete(self, body, format="openai"):
        """Sends a non-streamed request and returns the reply (a dict, in the client's
        format). Runs on the calling thread; other Python threads keep running meanwhile.
        Use stream() for a request with "stream": true."""
        raw = _body(body)
        if _streamed(body if isinstance(body, dict) else raw):
            raise ValueError('llmrouter: complete() is for non-streamed requests; use stream() for "stream": true')
        return json.loads(self._complete(raw, format))

    def _complete(self, raw, format):
        chunks = []
        failure = []

        def on_chunk(data, size, _user_data):
            try:
                chunks.append(ctypes.string_at(data, size))
                return 0
            except BaseException as e:  # cancel, and raise it below
                failure.append(e)
                return 1

        callback = _native.CHUNK_CB(on_chunk)
        err = ctypes.c_void_p()
        status = _lib.llmrouter_complete(self._h(), _format(format), raw, len(raw), callback, None,
                                         ctypes.byref(err))
        if failure:
            _lib.llmrouter_error_free(err)
            raise failure[0]
        if status != Status.OK:
            _raise(status, err)
        return b"".join(chunks)

    def stream(self, body, format="openai"):
        """Sends a request and yields its reply as it arrives: bytes of server-sent events in
        the client's format (a non-streamed request yields its whole body once). A dict body
        gets "stream": true. Raises LLMRouterError when the request fails (after yielding
        what arrived: a failure mid-stream ends with an error event). Stopping the
        iteration early (break, close(), garbage collection) cancels the request."""
        if isinstance(body, dict) and not body.get("stream"):
            body = dict(body, stream=True)
        raw = _body(body)
        handle = ctypes.c_void_p()
        err = ctypes.c_void_p()
        status = _lib.llmrouter_stream_open(self._h(), _format(format), raw, len(raw), ctypes.byref(handle),
                                            ctypes.byref(err))
        if status != Status.OK:
            _raise(status, err)
        return _Stream(handle)


class _Stream:
    """The iterator Router.stream() returns."""

    # Each wait is short so that KeyboardInterrupt gets a chance between waits.
    _WAIT_MS = 200

    def __init__(self, handle):
        self._handle = handle

    def __iter__(self):
        return self

    def __next__(self):
        if not self._handle:
            raise StopIteration
        data = ctypes.c_void_p()
        size = ctypes.c_size_t()
        err = ctypes.c_void_p()
        while True:
            status = _lib.llmrouter_stream_next(self._handle, self._WAIT_MS, ctypes.byref(data), ctypes.byref(size),
                                                ctypes.byref(err))
            if status == Status.OK:
                return ctypes.string_at(data, size.value)
            if status != Status.STREAM_TIMEOUT:
                break
        self.close()
        if status == Status.STREAM_END:
            raise StopIteration
        _raise(status, err)

    def close(self):
        """Cancels the request if it still runs, and frees the stream. Idempotent."""
        handle, self._handle = self._handle, None
        if handle:
            _lib.llmrouter_stream_free(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None) and _lib is not None:
            self.close()
