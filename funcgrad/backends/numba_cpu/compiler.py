"""``compile_jaxpr``: from a closed jaxpr to a callable running one Numba
function.

The executable's Python wrapper is itself generated (one small function per
program), so a call does only what its arguments need: an n-d argument that
is already a NumPy array of the right dtype is passed as it is, a 0-d one
becomes a NumPy scalar, and 0-d results become 0-d arrays.
"""
from __future__ import annotations

import os
import re
import threading
import weakref
from typing import Any

import numpy as np
from numba.core.errors import NumbaError

from funcgrad.core.ir import ClosedJaxpr
from funcgrad.backends import InternalCompilerError
from funcgrad.backends.numba_cpu import cache, codegen
from funcgrad.backends.numba_cpu.codegen import Program, settings

_LINE_RE = re.compile(r'File "([^"]+)", line (\d+)|at (\S+) \((\d+)\)')
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


class NumbaExecutable:
    """A compiled program.  ``exe(*flat_args)`` returns a list of NumPy
    arrays, one per output of the jaxpr; outputs never share memory with
    the arguments.

    Attributes
    ----------
    source : str
        The generated module (readable; the jaxpr's names, one comment per
        equation).
    key : str
        The cache key (the generated file is ``<cache dir>/<key>.py``).
    path : str
        Where the module was imported from.
    """

    def __init__(self, program: Program, key: str, dispatcher, path: str, in_avals):
        self.source = program.source
        self.key = key
        self.path = path
        self.dispatcher = dispatcher
        self.program = program
        self.in_avals = list(in_avals)
        self._call = _make_wrapper(self, program, dispatcher, in_avals)

    def __call__(self, *args):
        return self._call(*args)

    def _translate(self, err: Exception) -> InternalCompilerError:
        """A Numba compilation error is our bug: name the equation and the
        generated line."""
        message = _ANSI_RE.sub("", str(err))
        where = []
        for path_a, line_a, path_b, line_b in _LINE_RE.findall(message):
            path, line = (path_a, line_a) if path_a else (path_b, line_b)
            if os.path.basename(path) != os.path.basename(self.path):
                continue
            if self.path.endswith(".py"):
                line = int(line) - 1  # the cache file's header line
            else:
                line = int(line)
            text = self.program.describe_line(line)
            src_lines = self.source.splitlines()
            code = src_lines[line - 1].strip() if 0 < line <= len(src_lines) else "?"
            where.append(f"  generated line {line}: {code}\n    for equation: {text}")
            break
        prims = sorted({e.primitive.name for e in self.program.origins.values()
                        if e is not None})
        detail = "\n".join(where) if where else (
            f"  (the failing line was not located; primitives in the program: "
            f"{', '.join(prims)})")
        name = ""
        if where:
            m = re.search(r"for equation: .*?= (\w+)", where[0])
            name = f" for primitive '{m.group(1)}'" if m else ""
        return InternalCompilerError(
            f"funcgrad internal error: the Numba backend generated code{name} that Numba "
            f"could not compile.\n{detail}\nNumba said:\n{message}\n"
            f"(generated module: {self.path})")

    def stats(self) -> dict[str, int]:
        """Numba's disk-cache hits and misses (compilations) of this program."""
        s = self.dispatcher.stats
        return {"cache_hits": sum(s.cache_hits.values()),
                "cache_misses": sum(s.cache_misses.values())}

    def __repr__(self) -> str:
        return f"<NumbaExecutable {self.program.fn_name}>"


def _make_wrapper(exe: NumbaExecutable, program: Program, fn, in_avals):
    names = [f"x{k}" for k in range(len(in_avals))]
    env: dict[str, Any] = {"fn": fn, "nd": np.ndarray, "asarray": np.asarray,
                           "NumbaError": NumbaError, "exe": exe}
    passed = []
    # A large program (an MCMC sampler is thousands of lines) takes seconds
    # to minutes to compile: its arguments are made read-only C-contiguous
    # arrays so that Numba sees one signature and compiles it once.
    large = program.source.count("\n") > _LARGE_PROGRAM_LINES
    env["canonical"] = _readonly_contiguous
    for k, c in enumerate(_prepare_consts(program)):
        env[f"c{k}"] = c
        passed.append(f"c{k}")
    for k, (name, aval) in enumerate(zip(names, in_avals, strict=True)):
        env[f"d{k}"] = aval.dtype
        if aval.ndim == 0:
            env[f"t{k}"] = aval.dtype.type
            passed.append(f"({name} if {name}.__class__ is t{k} else t{k}(asarray({name})))")
        elif large:
            passed.append(f"canonical({name}, d{k})")
        else:
            # (Numba specialises on the writable flag and the layout too:
            # writable arrays and read-only ones such as funcgrad.Array
            # buffers get a machine code each.  Making every argument a
            # read-only C-contiguous view costs ~0.3 us per argument and
            # call; for a small program two compilations cost less.)
            passed.append(f"({name} if ({name}.__class__ is nd and {name}.dtype is d{k}) "
                          f"else asarray({name}, d{k}))")
    outs = [f"r[{k}]" for k in range(program.n_outputs)]
    for k, dt in program.scalar_outputs:
        env[f"o{k}"] = np.dtype(dt)
        outs[k] = f"asarray(r[{k}], o{k})"
    src = (f"def call({', '.join(names)}):\n"
           f"    try:\n"
           f"        r = fn({', '.join(passed)})\n"
           f"    except NumbaError as err:\n"
           f"        raise exe._translate(err) from None\n"
           f"    return [{', '.join(outs)}]\n")
    exec(compile(src, f"<funcgrad wrapper {program.fn_name}>", "exec"), env)  # noqa: S102
    return env["call"]


_LARGE_PROGRAM_LINES = 1500


def _readonly_contiguous(x, dtype) -> np.ndarray:
    """``x`` as a read-only C-contiguous array of ``dtype``."""
    arr = np.ascontiguousarray(x, dtype)
    if arr.flags.writeable:
        arr = arr.view()
        arr.flags.writeable = False
    return arr


def _prepare_consts(program: Program) -> list:
    out = []
    for value, aval in zip(program.const_values, program.const_avals, strict=True):
        arr = np.asarray(value, dtype=aval.dtype)
        out.append(aval.dtype.type(arr) if aval.ndim == 0 else
                   _readonly_contiguous(arr, aval.dtype))
    return out


# Executables by jaxpr object, so that compiling the same jaxpr again (each
# call of a jitted function does) is a dictionary lookup.  Weakly keyed: an
# entry goes with its jaxpr.
_by_jaxpr: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.RLock()
counters = {"programs": 0}


def compile_jaxpr(closed: ClosedJaxpr) -> NumbaExecutable:
    """Compile ``closed`` (nothing is compiled by Numba before the first
    call)."""
    memo_key = (settings.fusion, settings.parallel, settings.parallel_threshold)
    try:
        return _by_jaxpr[closed][memo_key]
    except KeyError:
        pass
    original = closed
    closed = _inline_calls(closed)
    program = codegen.generate(closed)
    counters["programs"] += 1
    avals = list(program.const_avals) + list(closed.jaxpr.in_avals)
    arg_types = [(a.dtype.str, a.ndim) for a in avals]
    key = cache.cache_key(program.source, arg_types)
    module, path = cache.load(program.source, key)
    dispatcher = getattr(module, program.fn_name)
    exe = NumbaExecutable(program, key, dispatcher, path, closed.jaxpr.in_avals)
    with _lock:
        _by_jaxpr.setdefault(original, {})[memo_key] = exe
    return exe


def tune_allocator(mmap_threshold: int = 256 << 20, trim_threshold: int = 512 << 20) -> bool:
    """Make glibc keep large freed blocks in the heap (Linux only; returns
    whether it applied).

    A compiled program allocates and frees its big intermediate arrays on
    every call; by default glibc hands freed memory back to the system once
    more than twice its (adaptive) mmap threshold is free at the top of the
    heap, so the next call page-faults the memory in again: ~4000 page
    faults, and a 2x slowdown, per call of the logistic-regression Hessian
    at N=10000, D=100.  This is process-wide (it also affects NumPy), so it
    is opt-in: call it, or set ``FUNCGRAD_TUNE_MALLOC=1`` before importing
    the backend.
    """
    import ctypes
    import sys
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, int(mmap_threshold))
                    and libc.mallopt(m_trim_threshold, int(trim_threshold)))
    except (OSError, AttributeError):
        return False


def _inline_calls(closed: ClosedJaxpr) -> ClosedJaxpr:
    # (Calls inside control-flow bodies too: nothing is left for the
    # code generator to call.)
    from funcgrad.passes.inline import inline_calls
    return inline_calls(closed)


def compile_stats() -> dict[str, int]:
    """Counters of this process: programs generated, the disk cache's
    hits and writes, and Numba's compilations (``numba_compiles``) and
    machine-code cache hits (``numba_cache_hits``) over every loaded
    program."""
    out = dict(cache.stats)
    out["programs"] = counters["programs"]
    hits = misses = 0
    for module in list(cache._modules.values()):
        for value in vars(module).values():
            if hasattr(value, "stats") and hasattr(value, "py_func"):
                hits += sum(value.stats.cache_hits.values())
                misses += sum(value.stats.cache_misses.values())
    out["numba_cache_hits"] = hits
    out["numba_compiles"] = misses
    return out


__all__ = ["NumbaExecutable", "compile_jaxpr", "compile_stats", "tune_allocator"]
