"""Reductions and arg-reductions, with their differentiation rules.

Reductions take a static tuple of axes (non-negative, sorted and unique in the
primitive's parameters; the wrappers accept negative axes) and drop those
axes from the result; the dtype is unchanged.  Empty reductions give the
identity of the operation (0 for sums, 1 for products, the lowest value for
``reduce_max``...), as XLA does.

>>> import numpy as np
>>> from funcgrad import lax
>>> lax.reduce_sum(np.arange(6.0).reshape(2, 3), (1,))
Array([ 3., 12.], dtype=float64)

Cumulative reductions live in :mod:`funcgrad.lax.cumulative` and sorting in
:mod:`funcgrad.lax.sorting`.  This module is imported by the shape modules
(their transposes use ``reduce_sum``), so it imports them only inside rules.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.ad_util import Zero, deflinear, is_zero, not_differentiable
from funcgrad.core.avals import ShapedArray
from funcgrad.core.primitive import Primitive
from funcgrad.core.trace import get_aval
from funcgrad.lax.base import BOOL_INT, NUMBER, asoperand, check_dtype
from funcgrad.lax.elementwise import convert_element_type, div, eq, mul, select

ORDERED = "biuf"  # dtypes with a total order for max/min (NaN aside)


def _canonical_axis(name: str, axis, ndim: int, what: str = "axis") -> int:
    """A non-negative axis from a possibly negative Python int."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: {what} must be an int, got {type(axis).__name__}: {axis!r}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: {what} {axis} is out of bounds for an array of rank {ndim}")
    return axis % ndim


def _canonical_axes(name: str, axes, ndim: int) -> tuple[int, ...]:
    if isinstance(axes, (int, np.integer)):
        axes = (axes,)
    axes = tuple(_canonical_axis(name, a, ndim) for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{name}: repeated axis in axes={axes}")
    return tuple(sorted(axes))


def _check_axes_param(name: str, x: ShapedArray, axes) -> None:
    """Trace-time check of the canonical ``axes`` parameter."""
    if (not isinstance(axes, tuple) or any(type(a) is not int for a in axes)
            or list(axes) != sorted(set(axes))):
        raise TypeError(f"{name}: axes must be a sorted tuple of unique ints, got {axes!r}")
    bad = [a for a in axes if not 0 <= a < x.ndim]
    if bad:
        raise ValueError(f"{name}: axes {axes} out of range for operand {x.str_short()} "
                         f"of rank {x.ndim}")


def _reduced_shape(shape, axes) -> tuple[int, ...]:
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def _kept_dims(ndim: int, axes) -> tuple[int, ...]:
    """The operand dimensions a reduction over ``axes`` keeps, in order."""
    return tuple(d for d in range(ndim) if d not in axes)


# ------------------------------------------------------------- reductions
def _max_identity(dt: np.dtype):
    if dt.kind == "f":
        return -np.inf
    if dt.kind == "b":
        return False
    return np.iinfo(dt).min


def _min_identity(dt: np.dtype):
    if dt.kind == "f":
        return np.inf
    if dt.kind == "b":
        return True
    return np.iinfo(dt).max


def _and_identity(dt: np.dtype):
    # All bits set: True, -1, or the maximum of an unsigned type.
    return True if dt.kind == "b" else (-1 if dt.kind == "i" else np.iinfo(dt).max)


def _reduce_impl(ufunc, identity):
    """``impl`` of a reduction with a fixed identity (so empty axes work)."""
    def impl(x, *, axes):
        x = np.asarray(x)
        kwargs = {}
        if any(x.shape[a] == 0 for a in axes):
            # Only where needed: an initial value would otherwise turn a sum
            # of -0.0 into 0.0.
            kwargs["initial"] = identity(x.dtype)
        with np.errstate(all="ignore"):
            out = ufunc.reduce(x, axis=axes, dtype=x.dtype, **kwargs)
        return [np.asarray(out, dtype=x.dtype)]
    return impl


def _reduction(name: str, ufunc, identity, kinds: str) -> Primitive:
    p = Primitive(name)
    p.impl = _reduce_impl(ufunc, identity)

    def abstract_eval(x: ShapedArray, *, axes):
        check_dtype(name, x, kinds)
        _check_axes_param(name, x, axes)
        return [ShapedArray(_reduced_shape(x.shape, axes), x.dtype, x.weak_type)]
    p.abstract_eval = abstract_eval
    return p


reduce_sum_p = _reduction("reduce_sum", np.add, lambda dt: dt.type(0), NUMBER)
reduce_prod_p = _reduction("reduce_prod", np.multiply, lambda dt: dt.type(1), NUMBER)
# np.maximum/np.minimum propagate NaN, as lax.reduce_max does.
reduce_max_p = _reduction("reduce_max", np.maximum, _max_identity, ORDERED)
reduce_min_p = _reduction("reduce_min", np.minimum, _min_identity, ORDERED)
reduce_and_p = _reduction("reduce_and", np.bitwise_and, _and_identity, BOOL_INT)
reduce_or_p = _reduction("reduce_or", np.bitwise_or, lambda dt: dt.type(0), BOOL_INT)


# Differentiation rules.  reduce_sum is linear: its transpose broadcasts the
# cotangent back over the reduced axes.
def _reduce_sum_transpose(cts, x, *, axes):
    from funcgrad.lax.shape import broadcast_in_dim
    (ct,) = cts
    aval = x.aval
    ct = broadcast_in_dim(ct, aval.shape, _kept_dims(aval.ndim, axes))
    if get_aval(ct).dtype != aval.dtype:
        ct = convert_element_type(ct, aval.dtype)
    return [ct]


deflinear(reduce_sum_p)
reduce_sum_p.transpose = _reduce_sum_transpose


def _products_of_others(x, axes):
    """``out[i] = prod(x[j] for j != i)`` over the flattened ``axes``,
    without dividing (exact with zeros in ``x``): the product of everything
    before ``i`` times the product of everything after it, from exclusive
    cumulative products taken from both ends."""
    from funcgrad.lax.cumulative import cumprod
    from funcgrad.lax.shape import reshape, transpose
    from funcgrad.lax.slicing import pad
    aval = get_aval(x)
    kept = _kept_dims(aval.ndim, axes)
    perm = kept + tuple(axes)
    moved_shape = tuple(aval.shape[d] for d in perm)
    n = int(np.prod([aval.shape[a] for a in axes], dtype=np.int64))
    # Move the reduced axes last and flatten them into one.
    y = transpose(x, perm) if perm != tuple(range(aval.ndim)) else x
    y = reshape(y, moved_shape[:len(kept)] + (n,))
    last = len(kept)
    shift_right = [(0, 0, 0)] * last + [(1, -1, 0)]
    shift_left = [(0, 0, 0)] * last + [(-1, 1, 0)]
    before = pad(cumprod(y, last), 1, shift_right)
    after = pad(cumprod(y, last, reverse=True), 1, shift_left)
    others = reshape(mul(before, after), moved_shape)
    if perm != tuple(range(aval.ndim)):
        inverse = [0] * len(perm)
        for i, p in enumerate(perm):
            inverse[p] = i
        others = transpose(others, tuple(inverse))
    return others


def _reduce_prod_jvp(primals, tangents, *, axes):
    (x,), (t,) = primals, tangents
    out = reduce_prod_p.bind(x, axes=axes)
    if is_zero(t):
        return [out], [Zero.like(out)]
    if not axes:
        return [out], [t]  # a reduction over no axes is the identity
    aval = get_aval(x)
    if any(aval.shape[a] == 0 for a in axes):
        return [out], [Zero.like(out)]  # the empty product is the constant 1
    # d prod = sum_i t_i * prod_{j != i} x_j: linear in t (mul by a primal
    # factor, then reduce_sum) and correct where x has zeros, unlike
    # sum(t * out / x).
    return [out], [reduce_sum(mul(t, _products_of_others(x, axes)), axes)]


reduce_prod_p.jvp = _reduce_prod_jvp
reduce_prod_p.not_applicable["transpose"] = "not linear"


def _chooser_jvp(p: Primitive):
    """jvp of reduce_max/reduce_min: the mean of the tangents at the
    positions that attain the result (ties share the derivative evenly, as
    in JAX; a NaN result gets a NaN tangent)."""
    def jvp(primals, tangents, *, axes):
        from funcgrad.lax.shape import broadcast_in_dim, full_like
        (x,), (t,) = primals, tangents
        out = p.bind(x, axes=axes)
        aval = get_aval(x)
        if is_zero(t) or any(aval.shape[a] == 0 for a in axes):
            return [out], [Zero.like(out)]
        at_out = eq(x, broadcast_in_dim(out, aval.shape, _kept_dims(aval.ndim, axes)))
        counts = reduce_sum(convert_element_type(at_out, aval.dtype), axes)
        picked = reduce_sum(select(at_out, t, full_like(t, 0)), axes)
        return [out], [div(picked, counts)]
    return jvp


reduce_max_p.jvp = _chooser_jvp(reduce_max_p)
reduce_min_p.jvp = _chooser_jvp(reduce_min_p)
for _p in (reduce_max_p, reduce_min_p):
    _p.not_applicable["transpose"] = "not linear"
not_differentiable(reduce_and_p, "it works on bools and integers")
not_differentiable(reduce_or_p, "it works on bools and integers")


# Batching.  The batch axis stays where it is: the reduced axes are renumbered
# around it, and it moves left by the number of reduced axes before it.
def _axes_around_batch(axes, bdim: int) -> tuple[tuple[int, ...], int]:
    """Per-member ``axes`` as axes of the batched operand (batch axis at
    ``bdim``), and where the batch axis lands once those axes are gone."""
    moved = tuple(a + (a >= bdim) for a in axes)
    return moved, bdim - sum(a < bdim for a in moved)


def _batch_reduction(p: Primitive):
    def rule(args, dims, axis_size, *, axes, **params):
        (x,), (d,) = args, dims
        moved, out_dim = _axes_around_batch(axes, d)
        return [p.bind(x, axes=moved, **params)], [out_dim]
    p.batch = rule


for _p in (reduce_sum_p, reduce_prod_p, reduce_max_p, reduce_min_p, reduce_and_p,
           reduce_or_p):
    _batch_reduction(_p)


def _reduce_api(p: Primitive, doc: str):
    def op(operand, axes: Sequence[int]):
        operand = asoperand(operand, p.name)
        axes = _canonical_axes(p.name, axes, get_aval(operand).ndim)
        return p.bind(operand, axes=axes)
    op.__name__ = op.__qualname__ = p.name
    op.__doc__ = doc
    return op


reduce_sum = _reduce_api(reduce_sum_p, """Sum over ``axes`` (bool is refused: convert first).

    Parameters
    ----------
    operand : array
    axes : sequence of int
        Axes to reduce (negative values count from the end).

    >>> reduce_sum(np.ones((2, 3)), (-1,))
    Array([3., 3.], dtype=float64)
    """)
reduce_prod = _reduce_api(reduce_prod_p, """Product over ``axes``.

    Its derivative is the product of the other elements, computed without
    dividing, so it is exact where the operand has zeros.

    >>> reduce_prod(np.array([[1, 2], [3, 4]]), (0,))
    Array([3, 8], dtype=int64)
    """)
reduce_max = _reduce_api(reduce_max_p, """Maximum over ``axes`` (NaN propagates;
    the empty maximum is ``-inf`` or the lowest integer).

    Where several elements attain the maximum they share its derivative
    evenly (as in JAX).

    >>> reduce_max(np.array([1.0, 3.0, 2.0]), (0,))
    Array(3., dtype=float64)
    """)
reduce_min = _reduce_api(reduce_min_p, """Minimum over ``axes`` (NaN propagates;
    the empty minimum is ``inf`` or the highest integer); tied minima
    share the derivative evenly.

    >>> reduce_min(np.array([1.0, 3.0, 2.0]), (0,))
    Array(1., dtype=float64)
    """)
reduce_and = _reduce_api(reduce_and_p, """Logical (bool) or bitwise (int) and over ``axes``.

    >>> reduce_and(np.array([True, False]), (0,))
    Array(False, dtype=bool)
    """)
reduce_or = _reduce_api(reduce_or_p, """Logical (bool) or bitwise (int) or over ``axes``.

    >>> reduce_or(np.array([True, False]), (0,))
    Array(True, dtype=bool)
    """)


# ---------------------------------------------------------- arg-reductions
def _arg_reduction(name: str, numpy_fn) -> Primitive:
    p = Primitive(name)

    def impl(x, *, axes, index_dtype):
        # NumPy's argmax/argmin already return the first occurrence and treat
        # NaN as the extreme value, which is lax's documented behaviour.
        return [np.asarray(numpy_fn(np.asarray(x), axis=axes[0]), dtype=index_dtype)]

    def abstract_eval(x: ShapedArray, *, axes, index_dtype):
        check_dtype(name, x, ORDERED)
        if not isinstance(axes, tuple) or len(axes) != 1:
            raise TypeError(f"{name}: axes must be a 1-tuple, got {axes!r}")
        _check_axes_param(name, x, axes)
        if not isinstance(index_dtype, np.dtype) or not dtypes.is_integer(index_dtype):
            raise TypeError(f"{name}: index_dtype must be an integer dtype, got {index_dtype!r}")
        if x.shape[axes[0]] == 0:
            raise ValueError(f"{name}: cannot reduce over axis {axes[0]} of size zero "
                             f"(operand {x.str_short()})")
        return [ShapedArray(_reduced_shape(x.shape, axes), index_dtype)]

    p.impl = impl
    p.abstract_eval = abstract_eval
    return p


argmax_p = _arg_reduction("argmax", np.argmax)
argmin_p = _arg_reduction("argmin", np.argmin)
not_differentiable(argmax_p, "its output is an integer index")
not_differentiable(argmin_p, "its output is an integer index")


# The index is counted along the reduced axis itself, so moving that axis
# past the batch axis leaves the indices unchanged.
_batch_reduction(argmax_p)
_batch_reduction(argmin_p)


def _arg_api(p: Primitive, doc: str):
    def op(operand, axis: int, index_dtype=np.int64):
        operand = asoperand(operand, p.name)
        axis = _canonical_axis(p.name, axis, get_aval(operand).ndim)
        return p.bind(operand, axes=(axis,), index_dtype=dtypes.canonicalize(index_dtype))
    op.__name__ = op.__qualname__ = p.name
    op.__doc__ = doc
    return op


argmax = _arg_api(argmax_p, """Index of the maximum along ``axis`` (first occurrence
    wins; NaN counts as the maximum).

    Parameters
    ----------
    operand : array
    axis : int
    index_dtype : integer dtype, default int64

    >>> argmax(np.array([1.0, 3.0, 3.0]), 0, np.int32)
    Array(1, dtype=int32)
    """)
argmin = _arg_api(argmin_p, """Index of the minimum along ``axis`` (first occurrence
    wins; NaN counts as the minimum).

    >>> argmin(np.array([2.0, 1.0, 1.0]), 0)
    Array(1, dtype=int64)
    """)


__all__ = [
    "reduce_sum_p", "reduce_prod_p", "reduce_max_p", "reduce_min_p", "reduce_and_p",
    "reduce_or_p", "argmax_p", "argmin_p",
    "reduce_sum", "reduce_prod", "reduce_max", "reduce_min", "reduce_and", "reduce_or",
    "argmax", "argmin",
]
