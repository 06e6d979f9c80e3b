# SPDX-License-Identifier: MIT
"""Loads libllmrouter.so and declares the C ABI (bindings/c/include/llmrouter.h) for ctypes."""

import ctypes
import ctypes.util
import glob
import os
import pathlib

_LIB_NAMES = ("libllmrouter.so", "libllmrouter.so.0", "libllmrouter.dylib", "llmrouter.dll")


def _candidates():
    """Where the library is looked for, in order."""
    env = os.environ.get("LLMROUTER_LIB")
    if env:
        yield env
        return  # an explicit choice: no guessing when it is wrong
    here = pathlib.Path(__file__).resolve().parent
    for name in _LIB_NAMES:  # shipped next to the package
        yield str(here / name)
    # A source checkout: bindings/python/llmrouter -> the repository's build trees, newest first.
    root = here.parents[2]
    built = glob.glob(str(root / "build" / "**" / "lib" / "libllmrouter.so"), recursive=True)
    yield from sorted(built, key=os.path.getmtime, reverse=True)
    found = ctypes.util.find_library("llmrouter")  # installed system-wide
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError(
        "llmrouter: cannot find libllmrouter.so; set LLMROUTER_LIB to its path. Tried: "
        + ", ".join(tried or ["nothing"])
    )


lib = _load()

c_char_p_p = ctypes.POINTER(ctypes.c_char_p)
c_void_p_p = ctypes.POINTER(ctypes.c_void_p)
c_size_t_p = ctypes.POINTER(ctypes.c_size_t)

CHUNK_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)


def _declare(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


# Handles and error objects are opaque: plain void pointers on this side.
_H = ctypes.c_void_p
_status = ctypes.c_int

_declare("llmrouter_abi_version", ctypes.c_uint32)
_declare("llmrouter_version", ctypes.c_char_p)
_declare("llmrouter_status_string", ctypes.c_char_p, _status)
_declare("llmrouter_free", None, ctypes.c_void_p)
_declare("llmrouter_error_message", ctypes.c_char_p, _H)
_declare("llmrouter_error_status", _status, _H)
_declare("llmrouter_error_http_status", ctypes.c_int, _H)
_declare("llmrouter_error_provider", ctypes.c_char_p, _H)
_declare("llmrouter_error_free", None, _H)
_declare("llmrouter_router_new_from_file", _status, ctypes.c_char_p, ctypes.c_size_t, c_void_p_p, c_void_p_p)
_declare("llmrouter_router_new_from_toml", _status, ctypes.c_char_p, ctypes.c_size_t, c_void_p_p, c_void_p_p)
_declare("llmrouter_router_free", None, _H)
_declare("llmrouter_route", _status, _H, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, c_void_p_p, c_size_t_p,
         c_void_p_p)
_declare("llmrouter_complete", _status, _H, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, CHUNK_CB,
         ctypes.c_void_p, c_void_p_p)
_declare("llmrouter_stream_open", _status, _H, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, c_void_p_p,
         c_void_p_p)
_declare("llmrouter_stream_next", _status, _H, ctypes.c_int32, c_void_p_p, c_size_t_p, c_void_p_p)
_declare("llmrouter_stream_free", None, _H)

ABI_VERSION = 1
if lib.llmrouter_abi_version() < ABI_VERSION:
    raise ImportError(
        f"llmrouter: libllmrouter has ABI version {lib.llmrouter_abi_version()}, this package needs {ABI_VERSION}"
    )
