"""The interpreter stack: traces, tracers and ``bind``.

Every transform is an interpreter (a :class:`Trace` subclass) whose values are
:class:`Tracer` objects.  Interpreters are stacked: a ``MainTrace`` per active
transform, each with a level.  ``bind`` looks at its arguments, picks the
interpreter with the highest level among them (or the dynamic one, see below),
lifts every argument into it and lets it process the primitive.  Nesting to
any depth follows: the interpreter at level n binds primitives on tracers of
level < n, which are handled by the interpreters below it, down to
:class:`EvalTrace` at level 0, which runs the NumPy ``impl``.

*Dynamic* trace: a staging interpreter (``make_jaxpr``/``jit``) marks itself
dynamic, so even operations whose arguments are all constants are recorded
rather than evaluated eagerly (JAX calls this omnistaging).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.array import Array
from funcgrad.core.array_methods import ArrayMethods
from funcgrad.core.avals import ShapedArray
from funcgrad.core.errors import (ConcretizationTypeError, TracerArrayConversionError,
                                  UnexpectedTracerError)


@dataclass(eq=False, slots=True)
class MainTrace:
    """One active interpreter on the stack."""

    level: int
    trace_type: type
    global_data: Any
    active: bool = True
    trace: "Trace" = None  # the (stateless) interpreter object, made once

    def __repr__(self) -> str:
        state = "" if self.active else ", finished"
        return f"MainTrace({self.level}, {self.trace_type.__name__}{state})"


class Trace:
    """Base class of interpreters.  Subclasses define how values enter it
    (``pure`` for constants, ``lift`` for tracers of lower levels) and how a
    primitive is applied (``process_primitive``)."""

    __slots__ = ("main",)

    def __init__(self, main: MainTrace):
        self.main = main

    def pure(self, value):
        raise NotImplementedError

    def lift(self, tracer):
        raise NotImplementedError

    def process_primitive(self, primitive, tracers, params) -> list:
        raise NotImplementedError

    # Functions with custom derivative rules (funcgrad.custom_jvp and
    # custom_vjp): an interpreter that does not differentiate runs the
    # function itself; the JVP interpreter overrides these to use the rules.
    def process_custom_jvp_call(self, fun, jvp, tracers) -> list:
        return fun(*tracers)

    def process_custom_vjp_call(self, fun, fwd, bwd, tracers) -> list:
        return fun(*tracers)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(level={self.main.level})"


class Tracer(ArrayMethods):
    """A value flowing through an interpreter.  Subclasses give ``aval``."""

    __slots__ = ("_trace",)
    __array_priority__ = 1000  # so ``np_array * tracer`` calls our __rmul__

    @property
    def aval(self) -> ShapedArray:
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, ...]:
        return self.aval.shape

    @property
    def dtype(self) -> np.dtype:
        return self.aval.dtype

    @property
    def ndim(self) -> int:
        return self.aval.ndim

    @property
    def size(self) -> int:
        return self.aval.size

    @property
    def weak_type(self) -> bool:
        return self.aval.weak_type

    def full_lower(self):
        """The simplest equivalent value (e.g. the primal for a zero tangent)."""
        return self

    def to_concrete(self, context: str) -> np.ndarray:
        """The concrete value, if this interpreter knows it (``jvp`` over eager
        evaluation does); otherwise a ConcretizationTypeError."""
        raise ConcretizationTypeError(
            f"{context} needs a concrete value, but got a traced value of type "
            f"{self.aval.str_short()} inside {self._trace}.")

    def __array__(self, dtype=None, copy=None):
        raise TracerArrayConversionError(
            f"The numpy.ndarray conversion method __array__() was called on a traced "
            f"value of type {self.aval.str_short()}. NumPy functions cannot see through "
            f"funcgrad transformations: use funcgrad.numpy (import funcgrad.numpy as jnp) "
            f"instead of numpy inside transformed functions.")

    def __bool__(self):
        return bool(self._scalar_value("bool()"))

    def __int__(self):
        return int(self._scalar_value("int()"))

    def __float__(self):
        return float(self._scalar_value("float()"))

    def __complex__(self):
        return complex(self._scalar_value("complex()"))

    def __index__(self):
        if not dtypes.is_integer(self.dtype) and not dtypes.is_bool(self.dtype):
            raise TypeError(f"only integer arrays can be used as an index, got {self.aval.str_short()}")
        return int(self._scalar_value("__index__()"))

    def _scalar_value(self, context):
        if not self._trace.main.active:
            raise UnexpectedTracerError(_leak_message(self._trace.main))
        if self.size != 1:
            raise TypeError(f"{context} is only defined for arrays of size 1, got shape {self.shape}")
        return self.to_concrete(context).reshape(())[()]

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of unsized object (a 0-d traced array)")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d traced array")
        return (self[i] for i in range(self.shape[0]))

    __hash__ = None  # arrays are unhashable, as in NumPy

    def __repr__(self) -> str:
        return f"Traced<{self.aval.str_short()}>with<{type(self._trace).__name__}>"


# ------------------------------------------------------------- the stack

class EvalTrace(Trace):
    """Level 0: evaluate primitives with their NumPy implementation."""

    __slots__ = ()

    def pure(self, value):
        return value

    lift = pure

    def process_primitive(self, primitive, values, params):
        if primitive.impl is None:
            raise NotImplementedError(f"primitive {primitive.name} has no eager implementation")
        # The shape rule runs eagerly too, so eager and staged code raise the
        # same clear errors, and results carry the rule's weak-typedness.
        out_avals = primitive.abstract_eval(*[get_aval(v) for v in values], **params)
        buffers = [v._value if type(v) is Array else v for v in values]
        outs = primitive.impl(*buffers, **params)
        return [_wrap_result(o, aval, buffers)
                for o, aval in zip(outs, out_avals, strict=True)]


def _wrap_result(out, aval: ShapedArray, inputs) -> Array:
    out = np.asarray(out)
    if out.dtype != aval.dtype or out.shape != aval.shape:
        raise AssertionError(f"internal error: an impl rule returned {out.dtype}{list(out.shape)} "
                             f"where its shape rule promised {aval.str_short()}")
    # A view of a caller's writable array (even a read-only view, such as
    # np.broadcast_to makes) would let the caller mutate our "immutable"
    # result later, so copy those.  Our own buffers are read-only.
    if out.base is not None and any(
            isinstance(b, np.ndarray) and b.flags.writeable and np.may_share_memory(out, b)
            for b in inputs):
        out = out.copy()
    if out.flags.writeable:
        out.flags.writeable = False
    return Array._from_buffer(out, aval.weak_type)


_eval_main = MainTrace(0, EvalTrace, None)
_eval_main.trace = EvalTrace(_eval_main)
trace_stack: list[MainTrace] = [_eval_main]
_dynamic_main: list[MainTrace] = [_eval_main]  # a one-slot stack cell


@contextlib.contextmanager
def new_main(trace_type: type, global_data=None, dynamic: bool = False):
    """Push a new interpreter on the stack for the duration of the block."""
    main = MainTrace(len(trace_stack), trace_type, global_data)
    main.trace = trace_type(main)
    trace_stack.append(main)
    previous_dynamic = _dynamic_main[0]
    if dynamic:
        _dynamic_main[0] = main
    try:
        yield main
    finally:
        main.active = False
        _dynamic_main[0] = previous_dynamic
        popped = trace_stack.pop()
        assert popped is main, "interpreter stack corrupted"


def find_top_trace(args) -> Trace:
    top = _dynamic_main[0]
    for arg in args:
        if isinstance(arg, Tracer):
            main = arg._trace.main
            if main.level > top.level:
                top = main
    if not top.active:
        raise UnexpectedTracerError(_leak_message(top))
    return top.trace


def full_raise(trace: Trace, value):
    """Bring ``value`` into ``trace``: constants via ``pure``, lower-level
    tracers via ``lift``."""
    if not isinstance(value, Tracer):
        return trace.pure(value)
    main = value._trace.main
    if main is trace.main:
        return value
    if not main.active:
        raise UnexpectedTracerError(_leak_message(main))
    if main.level < trace.main.level:
        return trace.lift(value)
    raise UnexpectedTracerError(
        f"a value traced by {main} reached {trace.main}, which lies below it; "
        f"this happens when a traced value leaks out of the transformation that made it")


def _leak_message(main: MainTrace) -> str:
    return (f"Encountered a traced value of {main.trace_type.__name__} after the "
            f"transformation that created it had finished. A traced value must not be "
            f"stored in a global variable, a closure or an attribute and used later; "
            f"return it from the transformed function instead.")


def full_lower(value):
    return value.full_lower() if isinstance(value, Tracer) else value


def bind(primitive, args, params):
    """Apply ``primitive`` to ``args`` in the topmost relevant interpreter."""
    trace = find_top_trace(args)
    tracers = [full_raise(trace, a) for a in args]
    outs = trace.process_primitive(primitive, tracers, params)
    if primitive.multiple_results:
        return [full_lower(o) for o in outs]
    (out,) = outs
    return full_lower(out)


def bind_custom_call(method: str, args, *rules) -> list:
    """Apply a function with custom derivative rules (flat list in, flat list
    out) in the topmost relevant interpreter, like ``bind`` does for a
    primitive; ``method`` names the Trace method that handles it."""
    trace = find_top_trace(args)
    tracers = [full_raise(trace, a) for a in args]
    outs = getattr(trace, method)(*rules, tracers)
    return [full_lower(o) for o in outs]


def get_aval(x) -> ShapedArray:
    """The abstract value of any acceptable argument.

    >>> get_aval(1.0)
    ShapedArray(float64[], weak_type=True)
    """
    if isinstance(x, Tracer):
        return x.aval
    if type(x) is Array:
        return ShapedArray(x._value.shape, x._value.dtype, x.weak_type)
    if dtypes.is_python_scalar(x):
        dt = dtypes.python_scalar_dtype(x)
        return ShapedArray((), dt, dt != dtypes.bool_)
    if isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(x.shape, dtypes.canonicalize(x.dtype))
    if hasattr(x, "__array__"):
        arr = np.asarray(x)
        return ShapedArray(arr.shape, dtypes.canonicalize(arr.dtype))
    raise TypeError(f"Value {x!r} of type {type(x).__name__} is not a valid funcgrad type "
                    f"(expected an array, a NumPy array or a Python scalar)")


def is_concrete(x) -> bool:
    """True for values whose contents are known now (not abstract tracers)."""
    return not isinstance(x, Tracer)
