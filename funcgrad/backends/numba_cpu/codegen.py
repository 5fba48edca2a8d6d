"""Code generation: a closed jaxpr becomes the source of one Python module
holding one ``numba.njit`` entry function.

The generated function takes the jaxpr's constants, then its inputs, and
returns a tuple with one value per output.  Variables keep their jaxpr
names (``a``, ``b``, ...); every equation appears as a comment above the
code that computes it.  A 0-d value is a scalar local, anything else a NumPy
array.

Array sizes are read at run time where they equal a dimension of an
argument (``a_n0, a_n1 = a.shape``): two programs that differ only in their
array sizes then generate the same code (only the comments differ), share
the cache key and so the machine code.

Lowering rules (``LOWERINGS``, filled by the ``lowering_*`` modules) emit
code through a :class:`Builder`.  Elementwise primitives have scalar rules
(``ELEMENTWISE``) that :mod:`.fusion` assembles into loop nests.
"""
from __future__ import annotations

import builtins
import hashlib
import keyword
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.ir import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, _PrettyPrinter

# primitive name -> rule(builder, eqn) emitting the code of the equation.
LOWERINGS: dict[str, Callable[["Builder", JaxprEqn], None]] = {}
# primitive name -> rule(builder, eqn, scalar operand expressions) -> scalar
# expression (cast to the output dtype by the caller unless the rule says it
# is exact, see ``exact``).
ELEMENTWISE: dict[str, Callable[["Builder", JaxprEqn, list[str]], str]] = {}


class Exact(str):
    """A scalar expression already of the output dtype (no cast needed)."""

    exact = True


def register(*names: str):
    """Decorator: the lowering rule of the primitives ``names``."""
    def decorator(rule):
        for name in names:
            LOWERINGS[name] = rule
        return rule
    return decorator


class Settings:
    """Module-level switches of the backend (environment variables set the
    defaults when the package is imported)."""

    fusion: bool = True
    parallel: bool = False
    # Loop nests with at least this many iterations use prange (with
    # ``parallel``).
    parallel_threshold: int = 1 << 15


settings = Settings()

_MODULE_NAMES = {"np", "numba", "prange", "special_math", "math", "_rt", "_debug_emit"}


def _is_reserved(name: str) -> bool:
    return keyword.iskeyword(name) or name in _MODULE_NAMES or hasattr(builtins, name)


_DTYPE_NAMES = {np.dtype(np.bool_): "np.bool_"}


def dtype_expr(dtype) -> str:
    """``np.float64``, ``np.int32``, ``np.bool_`` ..."""
    dt = np.dtype(dtype)
    return _DTYPE_NAMES.get(dt, f"np.{dt.name}")


def _float_text(value: float) -> str:
    if np.isnan(value):
        return "np.nan"
    if np.isinf(value):
        return "np.inf" if value > 0 else "(-np.inf)"
    text = repr(float(value))
    return f"({text})" if text.startswith("-") else text


def literal(value: Any, dtype) -> str:
    """A scalar constant of exactly ``dtype`` as source text."""
    dt = np.dtype(dtype)
    with np.errstate(all="ignore"):
        v = np.asarray(value).astype(dt)[()]
    if dt.kind == "b":
        return "True" if v else "False"
    if dt.kind in "iu":
        text = str(int(v))
        if dt == dtypes.int64:
            return f"({text})" if text.startswith("-") else text
        return f"{dtype_expr(dt)}({text})"
    if dt.kind == "f":
        text = _float_text(float(v))
        return text if dt == dtypes.float64 else f"{dtype_expr(dt)}({text})"
    if dt.kind == "c":
        return f"{dtype_expr(dt)}(complex({_float_text(v.real)}, {_float_text(v.imag)}))"
    raise NotImplementedError(f"the Numba backend cannot write a literal of dtype {dt}")


def cast(expr: str, dtype) -> str:
    return f"{dtype_expr(dtype)}({expr})"


def strip_comments(source: str) -> str:
    """The code of ``source`` without comment lines (the cache key: comments
    show concrete shapes, the code does not depend on them)."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))


class Emitter:
    """Lines of the function body, indented, each remembering the equation
    it was emitted for (to name it in error messages)."""

    def __init__(self, level: int = 1):
        self.lines: list[str] = []
        self.origins: list[JaxprEqn | None] = []
        self.level = level
        self.current: JaxprEqn | None = None

    def __call__(self, line: str) -> None:
        for part in line.splitlines():
            self.lines.append("    " * self.level + part)
            self.origins.append(self.current)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        self(header)
        self.level += 1
        try:
            yield
        finally:
            self.level -= 1


class SizeTable:
    """Array sizes as expressions over the arguments' shapes."""

    def __init__(self):
        self.symbols: dict[int, str] = {}
        self.header: list[str] = []

    def add_argument(self, name: str, shape: tuple[int, ...]) -> None:
        if not shape:
            return
        syms = [f"{name}_n{d}" for d in range(len(shape))]
        self.header.append(f"{', '.join(syms)}{',' if len(syms) == 1 else ''} = {name}.shape")
        for s, sym in zip(shape, syms, strict=True):
            if s > 1:
                self.symbols.setdefault(int(s), sym)

    def add_products(self, name: str, shape: tuple[int, ...]) -> None:
        # Flattening reshapes use products of consecutive dimensions.
        for lo in range(len(shape)):
            for hi in range(lo + 2, len(shape) + 1):
                value = int(np.prod(shape[lo:hi], dtype=np.int64))
                if value > 1 and value not in self.symbols:
                    self.symbols[value] = "(" + " * ".join(
                        f"{name}_n{d}" for d in range(lo, hi)) + ")"

    def __call__(self, n: int) -> str:
        n = int(n)
        return self.symbols.get(n, str(n))


@dataclass
class Program:
    """The result of code generation."""

    source: str
    fn_name: str
    const_values: list[Any]
    const_avals: list[Any]
    n_outputs: int
    scalar_outputs: list[tuple[int, np.dtype]]
    origins: dict[int, JaxprEqn | None] = field(default_factory=dict)
    printer: Any = None

    def describe_line(self, line: int) -> str | None:
        """The equation the generated ``line`` was emitted for."""
        eqn = self.origins.get(line)
        return None if eqn is None else self.printer.eqn(eqn).strip()


class Builder:
    """What lowering rules use to emit code: names, sizes, literals, loops,
    allocation and element access."""

    def __init__(self, jaxpr: Jaxpr, printer: _PrettyPrinter):
        self.jaxpr = jaxpr
        self.printer = printer
        self.emit = Emitter()
        self.sizes = SizeTable()
        self._names: dict[int, str] = {}
        self._counter = 0
        # Variables whose memory this program allocated (they, and views of
        # them, may be returned without a copy).
        self.fresh: set[int] = set()
        # Variables whose buffer may be updated in place by their last user.
        self.owned: set[int] = set()
        self.uses: dict[int, int] = {}
        self.outvar_ids = {id(v) for v in jaxpr.outvars if isinstance(v, Var)}
        self.uses_parallel = False
        self.uses_objmode = False
        for eqn in jaxpr.eqns:
            for a in eqn.invars:
                if isinstance(a, Var):
                    self.uses[id(a)] = self.uses.get(id(a), 0) + 1

    # ------------------------------------------------------------ names
    def name(self, var: Var) -> str:
        key = id(var)
        if key not in self._names:
            base = self.printer.name(var)
            self._names[key] = base + "_" if _is_reserved(base) else base
        return self._names[key]

    def tmp(self, base: str = "t") -> str:
        """A fresh local name (digits and underscores never clash with the
        all-letter jaxpr names)."""
        self._counter += 1
        return f"{base}{self._counter}_"

    def eqn_text(self, eqn: JaxprEqn) -> str:
        return self.printer.eqn(eqn).strip()

    # ------------------------------------------------------------ values
    def read(self, atom) -> str:
        """A scalar expression for a 0-d atom, the array's name otherwise."""
        if isinstance(atom, Literal):
            return literal(atom.val, atom.aval.dtype)
        return self.name(atom)

    def elem(self, atom, idx: Sequence[str]) -> str:
        """The element of ``atom`` at the index expressions ``idx`` (0-d
        atoms ignore the index)."""
        if isinstance(atom, Literal) or atom.aval.ndim == 0:
            return self.read(atom)
        return f"{self.name(atom)}[{', '.join(idx)}]"

    def store(self, var: Var, idx: Sequence[str], expr: str) -> None:
        if var.aval.ndim == 0:
            self.emit(f"{self.name(var)} = {expr}")
        else:
            self.emit(f"{self.name(var)}[{', '.join(idx)}] = {expr}")

    def define(self, var: Var, expr: str, *, fresh: bool = False) -> None:
        self.emit(f"{self.name(var)} = {expr}")
        if fresh:
            self.fresh.add(id(var))

    # ------------------------------------------------------------ shapes
    def dim(self, n: int) -> str:
        return self.sizes(n)

    def shape(self, shape: Sequence[int]) -> str:
        parts = [self.dim(s) for s in shape]
        if len(parts) == 1:
            return f"({parts[0]},)"
        return "(" + ", ".join(parts) + ")"

    def alloc(self, var: Var, fill: str | None = None, name: str | None = None) -> str:
        """``name = np.empty(shape, dtype)`` (or ``np.full``) for ``var``;
        for a 0-d var, with a fill, a scalar local."""
        target = name or self.name(var)
        aval = var.aval
        if aval.ndim == 0:
            if fill is not None:
                self.emit(f"{target} = {fill}")
            return target
        if fill is None:
            self.emit(f"{target} = np.empty({self.shape(aval.shape)}, {dtype_expr(aval.dtype)})")
        else:
            self.emit(f"{target} = np.full({self.shape(aval.shape)}, {fill}, "
                      f"{dtype_expr(aval.dtype)})")
        if name is None:
            self.fresh.add(id(var))
            self.owned.add(id(var))
        return target

    def reusable(self, atom, eqn: JaxprEqn) -> bool:
        """Whether ``eqn`` may overwrite ``atom``'s buffer: an array this
        program allocated, used by ``eqn`` only, and not an output."""
        return (isinstance(atom, Var) and atom.aval.ndim > 0 and id(atom) in self.owned
                and self.uses.get(id(atom), 0) == 1 and id(atom) not in self.outvar_ids)

    @contextmanager
    def loops(self, sizes: Sequence[int], *, parallel: bool = False) -> Iterator[list[str]]:
        """Nested ``for`` loops over ``sizes`` (row-major); yields the index
        expressions (``"0"`` for a size-1 dimension, which gets no loop).
        ``parallel`` makes the outermost loop a ``prange``."""
        idx = []
        entered = 0
        try:
            for k, size in enumerate(sizes):
                if size == 1:
                    idx.append("0")  # no loop over a size-1 dimension
                    continue
                i = self.tmp("i")
                idx.append(i)
                rng = "prange" if (parallel and entered == 0) else "range"
                if rng == "prange":
                    self.uses_parallel = True
                self.emit(f"for {i} in {rng}({self.dim(size)}):")
                self.emit.level += 1
                entered += 1
            yield idx
        finally:
            self.emit.level -= entered

    def want_parallel(self, shape: Sequence[int]) -> bool:
        """prange for a loop nest over ``shape``?"""
        size = int(np.prod(shape, dtype=np.int64)) if shape else 0
        return bool(settings.parallel and shape and shape[0] > 1
                    and size >= settings.parallel_threshold)

    def comment(self, eqn: JaxprEqn) -> None:
        for line in self.eqn_text(eqn).splitlines():
            self.emit("# " + line)


# ------------------------------------------------------------ the program
def _check_supported(jaxpr: Jaxpr) -> None:
    from funcgrad.backends.numba_cpu.fusion import classify
    from funcgrad.backends.numba_cpu.lowering_elementwise import default_rule
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if name not in LOWERINGS and name not in ELEMENTWISE and eqn.primitive.scalar_expr:
            # An elementwise primitive declared after the backend loaded.
            ELEMENTWISE[name] = default_rule(eqn.primitive.scalar_expr)
        if name not in LOWERINGS and classify(eqn) is None:
            raise NotImplementedError(
                f"the Numba backend has no lowering for primitive '{name}' "
                f"(equation: {eqn!r}); run the function without jit, or add a rule to "
                f"funcgrad/backends/numba_cpu/")
        for v in list(eqn.invars) + list(eqn.outvars):
            if v.aval.dtype == np.float16:
                raise NotImplementedError(
                    f"the Numba backend does not support float16 (primitive '{name}', "
                    f"equation: {eqn!r})")
    for v in list(jaxpr.invars) + list(jaxpr.constvars):
        if v.aval.dtype == np.float16:
            raise NotImplementedError("the Numba backend does not support float16 arguments")


def _hoist_array_literals(closed: ClosedJaxpr) -> ClosedJaxpr:
    """Non-scalar literals become constants (passed as arguments)."""
    jaxpr = closed.jaxpr
    if not any(isinstance(a, Literal) and np.ndim(a.val) for e in jaxpr.eqns for a in e.invars) \
            and not any(isinstance(a, Literal) and np.ndim(a.val) for a in jaxpr.outvars):
        return closed
    constvars, consts = list(jaxpr.constvars), list(closed.consts)

    def hoist(a):
        if isinstance(a, Literal) and np.ndim(a.val):
            v = Var(a.aval)
            constvars.append(v)
            consts.append(np.asarray(a.val, a.aval.dtype))
            return v
        return a

    eqns = [JaxprEqn(e.primitive, [hoist(a) for a in e.invars], list(e.outvars), e.params)
            for e in jaxpr.eqns]
    outvars = [hoist(a) for a in jaxpr.outvars]
    return ClosedJaxpr(Jaxpr(constvars, list(jaxpr.invars), outvars, eqns), consts)


HEADER = """\
# Generated by funcgrad's Numba CPU backend from the jaxpr below; do not edit.
{jaxpr}
import numpy as np
import numba
from numba import prange
from funcgrad.backends.numba_cpu import runtime as _rt
from funcgrad.backends.numba_cpu import special_jit as special_math
from funcgrad.backends.numba_cpu.lowering_effects import emit as _debug_emit

"""


def generate(closed: ClosedJaxpr) -> Program:
    """Generate the module source for ``closed``."""
    from funcgrad.backends.numba_cpu import fusion
    closed = _hoist_array_literals(closed)
    jaxpr = closed.jaxpr
    _check_supported(jaxpr)
    printer = _PrettyPrinter()
    jaxpr_text = printer.jaxpr(jaxpr)
    b = Builder(jaxpr, printer)
    args = list(jaxpr.constvars) + list(jaxpr.invars)
    arg_names = [b.name(v) for v in args]
    for v, name in zip(args, arg_names, strict=True):
        b.sizes.add_argument(name, v.aval.shape)
    for v, name in zip(args, arg_names, strict=True):
        b.sizes.add_products(name, v.aval.shape)
    for line in b.sizes.header:
        b.emit(line)

    for step in fusion.plan(jaxpr):
        if isinstance(step, fusion.Group):
            fusion.emit_group(b, step)
        else:
            eqn = step
            b.emit.current = eqn
            b.comment(eqn)
            LOWERINGS[eqn.primitive.name](b, eqn)
            b.emit.current = None

    # Outputs never alias the arguments (or each other): the caller may
    # freeze them as immutable results.
    results, scalar_outputs, seen = [], [], set()
    arg_ids = {id(v) for v in args}
    for k, atom in enumerate(jaxpr.outvars):
        if isinstance(atom, Literal):
            results.append(literal(atom.val, atom.aval.dtype))
            scalar_outputs.append((k, atom.aval.dtype))
            continue
        name = b.name(atom)
        if atom.aval.ndim == 0:
            results.append(name)
            scalar_outputs.append((k, atom.aval.dtype))
        elif id(atom) in arg_ids or id(atom) not in b.fresh or id(atom) in seen:
            results.append(f"np.copy({name})")
        else:
            results.append(name)
        seen.add(id(atom))
    trailing = "," if len(results) == 1 else ""
    b.emit(f"return ({', '.join(results)}{trailing})")

    body = "\n".join(b.emit.lines)
    digest = hashlib.sha256(strip_comments(body).encode()).hexdigest()[:16]
    fn_name = f"fn_{digest}"
    # Callbacks into Python (debug printing) need the GIL.
    flags = 'cache=True, nogil=True, error_model="numpy"'
    if b.uses_objmode:
        flags = 'cache=True, error_model="numpy"'
    if b.uses_parallel:
        flags += ", parallel=True"
    header = HEADER.format(jaxpr="\n".join("# " + line for line in jaxpr_text.splitlines()))
    decorator = f"@numba.njit({flags})\ndef {fn_name}({', '.join(arg_names)}):\n"
    source = header + "\n" + decorator + body + "\n"
    first_body_line = source.count("\n", 0, len(header) + 1 + len(decorator)) + 1
    origins = {first_body_line + i: eqn for i, eqn in enumerate(b.emit.origins)}
    return Program(source=source, fn_name=fn_name,
                   const_values=list(closed.consts),
                   const_avals=[v.aval for v in jaxpr.constvars],
                   n_outputs=len(jaxpr.outvars), scalar_outputs=scalar_outputs,
                   origins=origins, printer=printer)

