"""Code generation: a closed jaxpr becomes the source of one Python module
holding one ``numba.njit`` entry function.

The generated function takes the jaxpr's constants, then its inputs, and
returns a tuple with one value per output.  Variables keep their jaxpr
names (``a``, ``b``, ...); every equation appears as a comment above the
code that computes it.  A 0-d value is a scalar local, anything else a NumPy
array, except in loop bodies, where small arrays become scalar locals and
batches of small vectors one array per component (:mod:`.scalarize`).

Array sizes are read at run time where they equal a dimension of an
argument (``a_n0, a_n1 = a.shape``): two programs that differ only in their
array sizes then generate the same code (only the comments differ), share
the cache key and so the machine code.  Tiny sizes are the exception: a
size up to ``settings.static_dim_max`` (default 8) is written as a literal,
so that LLVM unrolls and vectorises the loops over it and keeps such small
arrays (a 3-vector state in a loop body) in registers.  Programs differing
only in tiny sizes therefore compile separately; larger sizes still share
machine code.

Control flow (``cond``, ``while``, ``scan``) becomes ``if``/``while``/``for``
statements of the same function, their sub-jaxprs emitted inline
(:meth:`Builder.emit_jaxpr`); arrays computed inside loops are allocated
once, before the outermost loop (:meth:`Builder.alloc`).

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
    # Array sizes up to this are literals in the generated code (unrolled
    # loops; a new such size compiles anew), larger ones run-time symbols.
    static_dim_max: int = 8
    # Arrays of loop bodies with at most this many elements (static sizes)
    # that only fused loops and concatenate touch are scalar locals (see
    # :mod:`.scalarize`); 0 turns that off.
    scalarize_max: int = 8


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
        self.statements = 0   # lines emitted in place that are not comments

    def __call__(self, line: str) -> None:
        for part in line.splitlines():
            self.lines.append("    " * self.level + part)
            self.origins.append(self.current)
            if not part.lstrip().startswith("#"):
                self.statements += 1

    def insert(self, position: int, level: int, line: str) -> int:
        """Insert ``line`` at ``position`` (a line index) with indentation
        ``level``; returns the position after it."""
        for part in line.splitlines():
            self.lines.insert(position, "    " * level + part)
            self.origins.insert(position, self.current)
            position += 1
        return position

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        """``header`` and the lines emitted inside, indented (``pass`` if
        the body turns out to hold no statement, comments aside)."""
        self(header)
        before = self.statements
        self.level += 1
        try:
            yield
        finally:
            if self.statements == before:
                self("pass")
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
            if s > settings.static_dim_max:
                self.symbols.setdefault(int(s), sym)

    def add_products(self, name: str, shape: tuple[int, ...]) -> None:
        # Flattening reshapes use products of consecutive dimensions.
        for lo in range(len(shape)):
            for hi in range(lo + 2, len(shape) + 1):
                value = int(np.prod(shape[lo:hi], dtype=np.int64))
                if value > settings.static_dim_max and value not in self.symbols:
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
    allocation and element access.

    Control flow emits sub-jaxprs inline (:meth:`emit_jaxpr`), in the same
    function.  Inside a loop body (``loop_depth > 0``) arrays are not
    allocated where they are computed: :meth:`alloc` and :meth:`scratch`
    put the allocation before the outermost loop (or at the start of a
    ``prange`` body, so that threads do not share it), and the loop reuses
    the buffer on every iteration.  That is safe because every value a body
    computes is dead when the iteration ends: the control-flow rules copy
    carries and stacked outputs into buffers of their own.
    """

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
        # Outputs of the program and of every sub-jaxpr: never updated in place.
        self.outvar_ids: set[int] = set()
        # The jaxpr (program or sub-jaxpr) each equation belongs to, and its
        # dataflow (built on demand, for in-place updates).
        self._scope: dict[int, Jaxpr] = {}
        self._dataflow: dict[int, Any] = {}
        _count_uses(jaxpr, self.uses, self.outvar_ids, self._scope)
        self.uses_parallel = False
        self.uses_objmode = False
        # Control flow: loop nesting, where hoisted allocations go (a stack
        # of [line position, indentation level]), and whether we are in a
        # prange body (no nested prange there).
        self.loop_depth = 0
        self.in_parallel = False
        self._hoist: list[list[int]] = []
        # Variables of sub-jaxprs already emitted once: a sub-jaxpr emitted
        # again (two equations sharing a body) gets new names, since Numba
        # gives a name one type in the whole function.
        self._emitted: set[int] = set()
        # Loop carries updated in place: variable id -> id of the body input
        # (the carry) whose buffer holds it.
        self.roots: dict[int, int] = {}
        # One-element arrays whose value is also a scalar local (elem reads it).
        self.scalar_values: dict[int, str] = {}
        # Small arrays of loop bodies held as one scalar local per element
        # (see :mod:`.scalarize`).
        self.split: dict[int, int] = {}     # var id -> split point
        self.split_excluded: set[int] = set()
        self.scalarize = True
        # Module-level helper functions (name -> source), see ``helper``.
        self.helpers: dict[str, str] = {}

    # ------------------------------------------------------------ names
    def name(self, var: Var) -> str:
        key = id(var)
        if key not in self._names:
            base = self.printer.name(var)
            self._names[key] = base + "_" if _is_reserved(base) else base
        return self._names[key]

    def set_name(self, var: Var, name: str) -> None:
        """Make ``var`` stand for the local ``name`` (a sub-jaxpr input bound
        to a value of the enclosing code)."""
        self._names[id(var)] = name

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
        if id(atom) in self.scalar_values:
            return self.scalar_values[id(atom)]
        if id(atom) in self.split:
            from funcgrad.backends.numba_cpu.scalarize import element_name
            return element_name(self, atom, idx)
        return f"{self.name(atom)}[{', '.join(idx)}]"

    def store(self, var: Var, idx: Sequence[str], expr: str) -> None:
        if var.aval.ndim == 0:
            self.emit(f"{self.name(var)} = {expr}")
        elif id(var) in self.split:
            from funcgrad.backends.numba_cpu.scalarize import element_name
            self.emit(f"{element_name(self, var, idx)} = {expr}")
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

    def hoisted(self, line: str) -> None:
        """Emit ``line`` where the allocations of the current loop nest go
        (in place outside loops)."""
        if not self._hoist:
            self.emit(line)
            return
        point = self._hoist[-1]
        point[0] = self.emit.insert(point[0], point[1], line)

    def scratch(self, shape: Sequence[int], dtype, base: str = "buf") -> str:
        """A new array of ``shape`` for temporary use, allocated once per
        loop nest inside loops; returns its name."""
        name = self.tmp(base)
        self.hoisted(f"{name} = np.empty({self.shape(shape)}, {dtype_expr(dtype)})")
        return name

    def alloc(self, var: Var, fill: str | None = None, name: str | None = None) -> str:
        """``name = np.empty(shape, dtype)`` (or ``np.full``) for ``var``;
        for a 0-d var, with a fill, a scalar local.  Inside a loop the
        buffer is allocated once, before the loop nest (and filled here)."""
        target = name or self.name(var)
        aval = var.aval
        if id(var) in self.split and name is None:
            assert fill is None
            from funcgrad.backends.numba_cpu.scalarize import alloc_components
            alloc_components(self, var, target)
            return target
        if aval.ndim == 0:
            if fill is not None:
                self.emit(f"{target} = {fill}")
            return target
        if self.loop_depth:
            self.hoisted(f"{target} = np.empty({self.shape(aval.shape)}, "
                         f"{dtype_expr(aval.dtype)})")
            if fill is not None:
                self.emit(f"{target}[:] = {fill}")
        elif fill is None:
            self.emit(f"{target} = np.empty({self.shape(aval.shape)}, {dtype_expr(aval.dtype)})")
        else:
            self.emit(f"{target} = np.full({self.shape(aval.shape)}, {fill}, "
                      f"{dtype_expr(aval.dtype)})")
        if name is None:
            self.fresh.add(id(var))
            self.owned.add(id(var))
        return target

    def helper(self, name: str, source: str) -> str:
        """Define the module-level function ``name`` (its ``source``, once)
        for the generated code to call; returns ``name``."""
        self.helpers.setdefault(name, source)
        return name

    def copy(self, dst: str, src: str, shape: Sequence[int]) -> None:
        """Copy the array ``src`` into the array ``dst`` (both of ``shape``)
        element by element: no allocation, and cheap for small arrays."""
        with self.loops(shape) as idx:
            where = ", ".join(idx)
            self.emit(f"{dst}[{where}] = {src}[{where}]")

    def reusable(self, atom, eqn: JaxprEqn) -> bool:
        """Whether ``eqn`` may overwrite ``atom``'s buffer: an array this
        program allocated (or a loop carry), not an output, and ``eqn`` its
        last reader (see :mod:`.inplace`)."""
        if not (isinstance(atom, Var) and atom.aval.ndim > 0 and id(atom) in self.owned
                and id(atom) not in self.outvar_ids):
            return False
        if self.uses.get(id(atom), 0) == 1:
            return True
        scope = self._scope.get(id(eqn))
        if scope is None:
            return False
        flow = self._dataflow.get(id(scope))
        if flow is None:
            from funcgrad.backends.numba_cpu.inplace import Dataflow
            flow = self._dataflow[id(scope)] = Dataflow(scope)
        return flow.last_reader(atom, eqn, self.outvar_ids)

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
        return bool(settings.parallel and not self.in_parallel and shape and shape[0] > 1
                    and size >= settings.parallel_threshold)

    # ------------------------------------------------------------ control flow
    @contextmanager
    def loop(self, header: str, *, parallel: bool = False,
             prelude: Sequence[str] = ()) -> Iterator[None]:
        """A loop of control flow (``for``/``while`` ``header``, after the
        lines ``prelude``): its body's allocations go before the outermost
        such loop, or, for a ``parallel`` (prange) loop, to the start of
        its body."""
        outermost = not self._hoist
        if outermost:
            self._hoist.append([len(self.emit.lines), self.emit.level])
        for line in prelude:
            self.emit(line)
        was_parallel = self.in_parallel
        with self.emit.block(header):
            if parallel:
                self._hoist.append([len(self.emit.lines), self.emit.level])
                self.in_parallel = True
                self.uses_parallel = True
            self.loop_depth += 1
            try:
                yield
            finally:
                self.loop_depth -= 1
                if parallel:
                    self._hoist.pop()
                    self.in_parallel = was_parallel
        if outermost:
            self._hoist.pop()

    def new_instance(self, jaxpr: Jaxpr) -> None:
        """Prepare to emit the sub-jaxpr ``jaxpr``: if it was emitted before
        (a body shared by two equations), its variables get new names."""
        defined = list(jaxpr.invars) + [v for e in jaxpr.eqns for v in e.outvars]
        if any(id(v) in self._emitted for v in defined):
            suffix = self.tmp("_")
            for v in defined:
                self._names[id(v)] = self.printer.name(v) + suffix
                self.fresh.discard(id(v))
                self.owned.discard(id(v))
                self.roots.pop(id(v), None)
                self.scalar_values.pop(id(v), None)
        self._emitted.update(id(v) for v in defined)

    def emit_jaxpr(self, jaxpr: Jaxpr) -> None:
        """Emit the equations of ``jaxpr`` (the program, or a sub-jaxpr whose
        inputs are already bound), fused into loop nests."""
        from funcgrad.backends.numba_cpu import fusion
        from funcgrad.backends.numba_cpu.scalarize import plan_scalars
        saved = self.emit.current
        steps = fusion.plan(jaxpr)
        plan_scalars(self, jaxpr, steps)
        for step in steps:
            if isinstance(step, fusion.Group):
                fusion.emit_group(self, step)
                continue
            name = step.primitive.name
            self.emit.current = step
            self.comment(step)
            rule = LOOP_LOWERINGS.get(name) if self.loop_depth else None
            (rule or LOWERINGS[name])(self, step)
            self.emit.current = None
        self.emit.current = saved

    def comment(self, eqn: JaxprEqn) -> None:
        for line in self.comment_lines(eqn):
            self.emit(line)

    def comment_lines(self, eqn: JaxprEqn) -> list[str]:
        if any(_is_subjaxpr(v) for v in eqn.params.values()):
            # The sub-jaxprs follow as code, with their own comments.
            params = {k: (_Elided(v) if _is_subjaxpr(v) else v) for k, v in eqn.params.items()}
            eqn = JaxprEqn(eqn.primitive, eqn.invars, eqn.outvars, params)
        return ["# " + line for line in self.eqn_text(eqn).splitlines()]


# primitive name -> a rule used instead of ``LOWERINGS`` inside loop bodies
# (where, say, a small matrix product had better not allocate).
LOOP_LOWERINGS: dict[str, Callable[[Builder, JaxprEqn], None]] = {}


class _Elided:
    """A sub-jaxpr parameter in a comment (its code follows)."""

    def __init__(self, value):
        self.count = len(value) if isinstance(value, tuple) else 1

    def __repr__(self) -> str:
        return "{...}" if self.count == 1 else f"({self.count} branches)"


def _is_subjaxpr(value) -> bool:
    return isinstance(value, (ClosedJaxpr, Jaxpr)) or (
        isinstance(value, tuple) and bool(value)
        and all(isinstance(v, (ClosedJaxpr, Jaxpr)) for v in value))


def subjaxprs(eqn: JaxprEqn) -> list[Jaxpr]:
    """The jaxprs held by ``eqn``'s parameters (control flow bodies)."""
    out = []
    for value in eqn.params.values():
        for v in (value if isinstance(value, tuple) else (value,)):
            if isinstance(v, ClosedJaxpr):
                out.append(v.jaxpr)
            elif isinstance(v, Jaxpr):
                out.append(v)
    return out


def _count_uses(jaxpr: Jaxpr, uses: dict[int, int], outvar_ids: set[int],
                scope: dict[int, Jaxpr]) -> None:
    outvar_ids.update(id(v) for v in jaxpr.outvars if isinstance(v, Var))
    for eqn in jaxpr.eqns:
        scope[id(eqn)] = jaxpr
        for a in eqn.invars:
            if isinstance(a, Var):
                uses[id(a)] = uses.get(id(a), 0) + 1
        for sub in subjaxprs(eqn):
            _count_uses(sub, uses, outvar_ids, scope)


# ------------------------------------------------------------ the program
def _check_supported(jaxpr: Jaxpr) -> None:
    from funcgrad.backends.numba_cpu.fusion import classify
    from funcgrad.backends.numba_cpu.lowering_elementwise import default_rule
    for eqn in jaxpr.eqns:
        for sub in subjaxprs(eqn):
            _check_supported(sub)
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


def _has_array_literal(jaxpr: Jaxpr) -> bool:
    atoms = [a for e in jaxpr.eqns for a in e.invars] + list(jaxpr.outvars)
    return (any(isinstance(a, Literal) and np.ndim(a.val) for a in atoms)
            or any(_has_array_literal(sub) for e in jaxpr.eqns for sub in subjaxprs(e)))


def _map_subjaxprs(value, fn):
    if isinstance(value, ClosedJaxpr):
        return ClosedJaxpr(fn(value.jaxpr), list(value.consts))
    if isinstance(value, Jaxpr):
        return fn(value)
    if _is_subjaxpr(value):
        return tuple(_map_subjaxprs(v, fn) for v in value)
    return value


def _hoist_array_literals(closed: ClosedJaxpr) -> ClosedJaxpr:
    """Non-scalar literals become constants (passed as arguments).  Those
    inside sub-jaxprs too: the sub-jaxpr then reads a variable it does not
    bind, which is in scope in the generated function (this copy of the
    jaxpr is only ever seen by the code generator)."""
    if not _has_array_literal(closed.jaxpr):
        return closed
    constvars, consts = list(closed.jaxpr.constvars), list(closed.consts)

    def hoist(a):
        if isinstance(a, Literal) and np.ndim(a.val):
            v = Var(a.aval)
            constvars.append(v)
            consts.append(np.asarray(a.val, a.aval.dtype))
            return v
        return a

    def rewrite(jaxpr: Jaxpr) -> Jaxpr:
        eqns = [JaxprEqn(e.primitive, [hoist(a) for a in e.invars], list(e.outvars),
                         {k: _map_subjaxprs(v, rewrite) for k, v in e.params.items()})
                for e in jaxpr.eqns]
        return Jaxpr(list(jaxpr.constvars), list(jaxpr.invars),
                     [hoist(a) for a in jaxpr.outvars], eqns)

    new = rewrite(closed.jaxpr)
    return ClosedJaxpr(Jaxpr(constvars, new.invars, new.outvars, new.eqns), consts)


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


class SplitFailure(Exception):
    """A split array (``args[0]``: the id of its variable) was accessed at a
    non-constant index (see :mod:`.scalarize`): the program is generated
    again without splitting it."""


def generate(closed: ClosedJaxpr) -> Program:
    """Generate the module source for ``closed``."""
    closed = _hoist_array_literals(closed)
    _check_supported(closed.jaxpr)
    excluded: set[int] = set()
    for _ in range(8):
        try:
            return _generate(closed, scalarize=True, excluded=excluded)
        except SplitFailure as failure:
            excluded.add(failure.args[0])
    return _generate(closed, scalarize=False, excluded=excluded)


def _generate(closed: ClosedJaxpr, *, scalarize: bool, excluded: set[int]) -> Program:
    jaxpr = closed.jaxpr
    printer = _PrettyPrinter()
    jaxpr_text = printer.jaxpr(jaxpr)
    b = Builder(jaxpr, printer)
    b.scalarize = scalarize
    b.split_excluded = excluded
    args = list(jaxpr.constvars) + list(jaxpr.invars)
    arg_names = [b.name(v) for v in args]
    for v, name in zip(args, arg_names, strict=True):
        b.sizes.add_argument(name, v.aval.shape)
    for v, name in zip(args, arg_names, strict=True):
        b.sizes.add_products(name, v.aval.shape)
    for line in b.sizes.header:
        b.emit(line)

    b.emit_jaxpr(jaxpr)

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
    flags = 'cache=True, nogil=True, error_model="numpy", pipeline_class=_rt.NoSSACompiler'
    if b.uses_objmode:
        flags = 'cache=True, error_model="numpy"'
    if b.uses_parallel:
        flags += ", parallel=True"
    header = HEADER.format(jaxpr="\n".join("# " + line for line in jaxpr_text.splitlines()))
    decorator = f"@numba.njit({flags})\ndef {fn_name}({', '.join(arg_names)}):\n"
    # Helper functions the body calls, defined before it.
    helpers = "".join(text + "\n\n" for text in b.helpers.values())
    prefix = header + "\n" + helpers + decorator
    source = prefix + body + "\n"
    first_body_line = prefix.count("\n") + 1
    origins = {first_body_line + i: eqn for i, eqn in enumerate(b.emit.origins)}
    return Program(source=source, fn_name=fn_name,
                   const_values=list(closed.consts),
                   const_avals=[v.aval for v in jaxpr.constvars],
                   n_outputs=len(jaxpr.outvars), scalar_outputs=scalar_outputs,
                   origins=origins, printer=printer)

