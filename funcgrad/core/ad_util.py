"""Symbolic zeros and the combinators primitives use to declare their
differentiation rules (``defjvp``, ``deflinear``, ``not_differentiable``).

A tangent that is known to be zero is represented by :class:`Zero` (just its
type) and never materialised unless an operation needs an array: an input
that is not differentiated costs nothing.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from funcgrad.core.avals import ShapedArray
from funcgrad.core.trace import get_aval


class Zero:
    """A symbolic zero tangent of the given type."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    @staticmethod
    def like(value) -> "Zero":
        return Zero(get_aval(value).strip_weak_type())

    def __repr__(self) -> str:
        return f"Zero({self.aval.str_short()})"


def is_zero(t) -> bool:
    return type(t) is Zero


class UndefinedPrimal:
    """An operand of a linear primitive that is being transposed: only its
    type is known (its value is what the backward pass solves for)."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self) -> str:
        return f"UndefinedPrimal({self.aval.str_short()})"


def is_undefined_primal(x) -> bool:
    return type(x) is UndefinedPrimal


def instantiate(t):
    """A real array for a tangent, materialising symbolic zeros."""
    if type(t) is not Zero:
        return t
    from funcgrad import lax
    return lax.full(t.aval.shape, 0, t.aval.dtype)


def as_result(x):
    """A value returned to the user: tracers and Arrays as they are; a NumPy
    array or Python scalar (an input that came back unchanged, e.g. the
    tangent of the identity) is copied into an Array of the same type."""
    from funcgrad.core.array import Array
    from funcgrad.core.trace import Tracer
    if isinstance(x, (Tracer, Array)):
        return x
    aval = get_aval(x)
    buffer = np.array(x, aval.dtype)
    buffer.flags.writeable = False
    return Array._from_buffer(buffer, aval.weak_type)


def add_tangents(a, b):
    """Sum of two tangents, keeping symbolic zeros symbolic."""
    if type(a) is Zero:
        return b
    if type(b) is Zero:
        return a
    from funcgrad import lax
    return lax.add(a, b)


def broadcast_tangent(t, aval: ShapedArray):
    """Give a tangent the output's shape (a 0-d operand of a binary op
    contributes to every output element)."""
    if type(t) is Zero:
        return Zero(aval.strip_weak_type())
    t_aval = get_aval(t)
    if t_aval.shape == aval.shape:
        return t
    from funcgrad import lax
    return lax.broadcast_in_dim(t, aval.shape, ())


def differentiable_dtype(dtype) -> bool:
    return np.dtype(dtype).kind in "fc"


def _mark_nonlinear(primitive) -> None:
    if primitive.transpose is None:
        primitive.not_applicable.setdefault("transpose", "not linear")


def defjvp(primitive, *tangent_fns: Callable | None) -> None:
    """Declare a jvp rule from one function per operand.

    ``tangent_fns[i](t_i, *primals, **params)`` gives the contribution of the
    tangent of operand ``i`` to the output tangent (``None``: that operand
    is not differentiable); contributions are summed.

    >>> defjvp(sin_p, lambda t, x: mul(t, cos(x)))   # doctest: +SKIP
    """
    def jvp(primals, tangents, **params):
        out = primitive.bind(*primals, **params)
        out_aval = get_aval(out)
        total = Zero(out_aval.strip_weak_type())
        for fn, t in zip(tangent_fns, tangents, strict=True):
            if fn is not None and type(t) is not Zero:
                total = add_tangents(total, broadcast_tangent(fn(t, *primals, **params), out_aval))
        return [out], [total]
    primitive.jvp = jvp
    _mark_nonlinear(primitive)


def defjvp_with_output(primitive, tangent_fn: Callable) -> None:
    """Declare the jvp of a unary primitive whose derivative is cheapest in
    terms of its output: ``tangent_fn(t, out, x, **params)`` (e.g. exp)."""
    def jvp(primals, tangents, **params):
        (x,), (t,) = primals, tangents
        out = primitive.bind(x, **params)
        if type(t) is Zero:
            return [out], [Zero.like(out)]
        return [out], [tangent_fn(t, out, x, **params)]
    primitive.jvp = jvp
    _mark_nonlinear(primitive)


def deflinear(primitive) -> None:
    """The primitive is linear in all its operands: its jvp applies it to the
    tangents (zeros are materialised only if some tangent is non-zero)."""
    def jvp(primals, tangents, **params):
        out = primitive.bind(*primals, **params)
        outs = out if primitive.multiple_results else [out]
        if all(type(t) is Zero for t in tangents):
            return outs, [Zero.like(o) for o in outs]
        t_out = primitive.bind(*[instantiate(t) for t in tangents], **params)
        return outs, (t_out if primitive.multiple_results else [t_out])
    primitive.jvp = jvp


def not_differentiable(primitive, why: str = "its output is piecewise constant or integer") -> None:
    """Outputs are locally constant in the inputs: every tangent is zero."""
    def jvp(primals, tangents, **params):
        out = primitive.bind(*primals, **params)
        outs = out if primitive.multiple_results else [out]
        return outs, [Zero.like(o) for o in outs]
    primitive.jvp = jvp
    primitive.not_applicable["transpose"] = f"not linear: {why}"
