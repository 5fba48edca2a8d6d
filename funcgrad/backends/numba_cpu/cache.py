"""The on-disk cache of generated modules.

A program's source is written to ``<cache dir>/<key>.py``, where ``key`` is
the SHA-256 of the generated code (comment lines excluded: they show the
concrete shapes, which the code reads at run time), the argument types and
the funcgrad, Numba and NumPy versions.  The module is imported from there
under a unique name registered in ``sys.modules``, and its entry function is
compiled with Numba's ``cache=True``, which keeps the machine code next to
it (``__pycache__/``): a new process finds both and does not compile.

Safety under concurrency and corruption:

* files are written to a temporary name in the same directory and moved
  into place with ``os.replace`` (atomic), so no reader ever sees a
  half-written file;
* the first line holds the SHA-256 of the rest of the file; a file whose
  body does not match it (truncated, corrupted, edited) or whose code is
  not the expected code is rewritten before it is imported;
* every writer of a key writes the same code, so a race between two
  writers is harmless: whichever ``os.replace`` lands last, the file is
  valid.

The directory is ``$FUNCGRAD_CACHE_DIR``, else ``funcgrad`` under the user's
cache directory (``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux,
``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows).  If it cannot
be written, programs are compiled in memory without a disk cache.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
from types import ModuleType

import numba
import numpy as np

import funcgrad
from funcgrad.backends.numba_cpu.codegen import strip_comments

HEADER_PREFIX = "# funcgrad-cache-entry sha256="

_lock = threading.RLock()
_modules: dict[str, ModuleType] = {}

# Counters, for tests and for ``compile_stats``.
stats = {"memory_hits": 0, "disk_hits": 0, "writes": 0, "rewrites": 0, "in_memory": 0}


def cache_dir() -> str:
    """The directory of the cache (not created here)."""
    env = os.environ.get("FUNCGRAD_CACHE_DIR")
    if env:
        return env
    if sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
    elif os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~/AppData/Local")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "funcgrad")


def cache_key(source: str, arg_types) -> str:
    """SHA-256 over the code, the argument types and the versions."""
    h = hashlib.sha256()
    for part in (strip_comments(source), repr(tuple(arg_types)), funcgrad.__version__,
                 numba.__version__, np.__version__):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def entry_path(key: str) -> str:
    return os.path.join(cache_dir(), f"{key}.py")


def _read_valid(path: str) -> str | None:
    """The body of the cache file at ``path`` if it is intact, else None."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return None
    header, sep, body = text.partition("\n")
    if not sep or not header.startswith(HEADER_PREFIX):
        return None
    if header[len(HEADER_PREFIX):].strip() != _digest(body):
        return None
    return body


def _write_atomic(path: str, source: str) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".py")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(HEADER_PREFIX + _digest(source) + "\n" + source)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _import(path: str, key: str) -> ModuleType:
    name = f"funcgrad_generated_{key[:40]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _in_memory(source: str, key: str) -> ModuleType:
    """The module without a disk cache (an unwritable cache directory)."""
    name = f"funcgrad_generated_{key[:40]}"
    module = ModuleType(name)
    module.__file__ = f"<funcgrad generated {key[:16]}>"
    sys.modules[name] = module
    code = compile(source.replace("cache=True", "cache=False"), module.__file__, "exec")
    exec(code, module.__dict__)  # noqa: S102 (our own generated code)
    return module


def load(source: str, key: str) -> tuple[ModuleType, str]:
    """The module of ``source`` (cached under ``key``) and the path it was
    imported from."""
    with _lock:
        module = _modules.get(key)
        if module is not None:
            stats["memory_hits"] += 1
            return module, module.__file__
        path = entry_path(key)
        try:
            body = _read_valid(path)
            if body is not None and strip_comments(body) == strip_comments(source):
                stats["disk_hits"] += 1
            else:
                stats["rewrites" if os.path.exists(path) else "writes"] += 1
                _write_atomic(path, source)
            module = _import(path, key)
        except OSError:
            stats["in_memory"] += 1
            module = _in_memory(source, key)
        _modules[key] = module
        return module, module.__file__


def clear_memory() -> None:
    """Forget the modules imported in this process (the disk stays): the
    next load goes to the disk again.  For tests."""
    with _lock:
        for module in _modules.values():
            sys.modules.pop(module.__name__, None)
        _modules.clear()


__all__ = ["cache_dir", "cache_key", "load", "stats", "clear_memory", "entry_path"]
