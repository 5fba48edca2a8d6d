"""Reductions, arg-reductions, cumulative reductions and sorting.

Reductions take a static tuple of axes (non-negative, sorted and unique in the
primitive's parameters; the wrappers accept negative axes) and drop those
axes from the result; the dtype is unchanged.  Empty reductions give the
identity of the operation (0 for sums, 1 for products, the lowest value for
``reduce_max``...), as XLA does.

>>> import numpy as np
>>> from funcgrad import lax
>>> lax.reduce_sum(np.arange(6.0).reshape(2, 3), (1,))
Array([ 3., 12.], dtype=float64)
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray
from funcgrad.core.primitive import Primitive
from funcgrad.core.trace import get_aval
from funcgrad.lax.base import ANY, BOOL_INT, FLOAT, NUMBER, asoperand, check_dtype, quiet

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

    >>> reduce_prod(np.array([[1, 2], [3, 4]]), (0,))
    Array([3, 8], dtype=int64)
    """)
reduce_max = _reduce_api(reduce_max_p, """Maximum over ``axes`` (NaN propagates;
    the empty maximum is ``-inf`` or the lowest integer).

    >>> reduce_max(np.array([1.0, 3.0, 2.0]), (0,))
    Array(3., dtype=float64)
    """)
reduce_min = _reduce_api(reduce_min_p, """Minimum over ``axes`` (NaN propagates;
    the empty minimum is ``inf`` or the highest integer).

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


# ------------------------------------------------------ cumulative reductions
def _logaddexp_accumulate(x, axis, dtype):
    # logaddexp(a, b) = max + log1p(exp(-|a - b|)) never overflows.
    return np.logaddexp.accumulate(x, axis=axis, dtype=dtype)


def _cumulative(name: str, accumulate, kinds: str) -> Primitive:
    p = Primitive(name)

    @quiet
    def impl(x, *, axis, reverse):
        x = np.asarray(x)
        if reverse:
            x = np.flip(x, axis)
        out = accumulate(x, axis=axis, dtype=x.dtype)
        if reverse:
            out = np.flip(out, axis)
        return [np.asarray(out, dtype=x.dtype)]

    def abstract_eval(x: ShapedArray, *, axis, reverse):
        check_dtype(name, x, kinds)
        if type(axis) is not int or not 0 <= axis < x.ndim:
            raise ValueError(f"{name}: axis {axis!r} is out of range for operand "
                             f"{x.str_short()} of rank {x.ndim}")
        if not isinstance(reverse, bool):
            raise TypeError(f"{name}: reverse must be a bool, got {reverse!r}")
        return [x]

    p.impl = impl
    p.abstract_eval = abstract_eval
    return p


cumsum_p = _cumulative("cumsum", np.add.accumulate, NUMBER)
cumprod_p = _cumulative("cumprod", np.multiply.accumulate, NUMBER)
cummax_p = _cumulative("cummax", np.maximum.accumulate, ORDERED)
cummin_p = _cumulative("cummin", np.minimum.accumulate, ORDERED)
cumlogsumexp_p = _cumulative("cumlogsumexp", _logaddexp_accumulate, FLOAT)


def _cumulative_api(p: Primitive, doc: str):
    def op(operand, axis: int = 0, reverse: bool = False):
        operand = asoperand(operand, p.name)
        axis = _canonical_axis(p.name, axis, get_aval(operand).ndim)
        return p.bind(operand, axis=axis, reverse=bool(reverse))
    op.__name__ = op.__qualname__ = p.name
    op.__doc__ = doc
    return op


cumsum = _cumulative_api(cumsum_p, """Cumulative sum along ``axis`` (from the end if
    ``reverse``).

    Parameters
    ----------
    operand : array
    axis : int, default 0
    reverse : bool, default False

    >>> cumsum(np.array([1, 2, 3]))
    Array([1, 3, 6], dtype=int64)
    >>> cumsum(np.array([1, 2, 3]), reverse=True)
    Array([6, 5, 3], dtype=int64)
    """)
cumprod = _cumulative_api(cumprod_p, """Cumulative product along ``axis``.

    >>> cumprod(np.array([1, 2, 3]))
    Array([1, 2, 6], dtype=int64)
    """)
cummax = _cumulative_api(cummax_p, """Running maximum along ``axis`` (NaN propagates).

    >>> cummax(np.array([1, 3, 2]))
    Array([1, 3, 3], dtype=int64)
    """)
cummin = _cumulative_api(cummin_p, """Running minimum along ``axis`` (NaN propagates).

    >>> cummin(np.array([3, 1, 2]))
    Array([3, 1, 1], dtype=int64)
    """)
cumlogsumexp = _cumulative_api(cumlogsumexp_p, """Running ``log(sum(exp(x)))`` along
    ``axis``, computed without overflow.

    >>> cumlogsumexp(np.array([1000.0, 1000.0]))
    Array([1000.        , 1000.69314718], dtype=float64)
    """)


# ----------------------------------------------------------------- sorting
def _sort_impl(*operands, dimension, is_stable, num_keys):
    operands = [np.asarray(o) for o in operands]
    if len(operands) == 1:
        return [np.sort(operands[0], axis=dimension, kind="stable")]
    # lexsort is always stable, sorts NaN last like np.sort, and takes its
    # primary key last.
    keys = operands[:num_keys][::-1]
    perm = np.lexsort(keys, axis=dimension) if num_keys > 1 else np.argsort(
        keys[0], axis=dimension, kind="stable")
    return [np.take_along_axis(o, perm, axis=dimension) for o in operands]


def _sort_abstract_eval(*operands: ShapedArray, dimension, is_stable, num_keys):
    if not operands:
        raise TypeError("sort requires at least one operand")
    shapes = {o.shape for o in operands}
    if len(shapes) > 1:
        raise TypeError(f"sort operands must all have the same shape, got "
                        f"{', '.join(o.str_short() for o in operands)}")
    for o in operands:
        check_dtype("sort", o, ANY)
    ndim = operands[0].ndim
    if type(dimension) is not int or not 0 <= dimension < ndim:
        raise ValueError(f"sort: dimension {dimension!r} is out of range for operands of "
                         f"shape {operands[0].shape} (rank {ndim})")
    if type(num_keys) is not int or not 1 <= num_keys <= len(operands):
        raise ValueError(f"sort: num_keys={num_keys!r} must be between 1 and the number of "
                         f"operands ({len(operands)})")
    if not isinstance(is_stable, bool):
        raise TypeError(f"sort: is_stable must be a bool, got {is_stable!r}")
    return list(operands)


sort_p = Primitive("sort", multiple_results=True)
sort_p.impl = _sort_impl
sort_p.abstract_eval = _sort_abstract_eval


def sort(operand, dimension: int = -1, is_stable: bool = True, num_keys: int = 1):
    """Sort along ``dimension``; NaNs sort to the end, as in NumPy.

    Parameters
    ----------
    operand : array or sequence of arrays
        Arrays of equal shape, sorted together: lexicographically by the
        first ``num_keys`` of them, the others following the permutation.
    dimension : int, default -1
    is_stable : bool, default True
        Whether equal keys keep their order (funcgrad's sort always does).
    num_keys : int, default 1

    Returns
    -------
    An array, or a tuple of arrays if ``operand`` is a sequence.

    >>> sort(np.array([3.0, np.nan, 1.0]))
    Array([ 1.,  3., nan], dtype=float64)
    >>> sort((np.array([2, 1, 2]), np.array([10, 20, 30])))
    (Array([1, 2, 2], dtype=int64), Array([20, 10, 30], dtype=int64))
    """
    single = not isinstance(operand, (tuple, list))
    operands = [asoperand(o, "sort") for o in ([operand] if single else operand)]
    if not operands:
        raise TypeError("sort requires at least one operand")
    ndim = get_aval(operands[0]).ndim
    dimension = _canonical_axis("sort", dimension, ndim, "dimension")
    if isinstance(num_keys, bool) or not isinstance(num_keys, (int, np.integer)):
        raise TypeError(f"sort: num_keys must be an int, got {num_keys!r}")
    outs = sort_p.bind(*operands, dimension=dimension, is_stable=bool(is_stable),
                       num_keys=int(num_keys))
    return outs[0] if single else tuple(outs)


def sort_key_val(keys, values, dimension: int = -1, is_stable: bool = True):
    """Sort ``keys`` along ``dimension`` and apply the same permutation to
    ``values``.

    >>> sort_key_val(np.array([3, 1, 2]), np.array([0.3, 0.1, 0.2]))
    (Array([1, 2, 3], dtype=int64), Array([0.1, 0.2, 0.3], dtype=float64))
    """
    return sort((keys, values), dimension=dimension, is_stable=is_stable, num_keys=1)


def _iota_along(operand, dimension: int, dtype):
    from funcgrad.lax.shape import broadcasted_iota
    aval = get_aval(operand)
    return broadcasted_iota(dtype, aval.shape, dimension)


def argsort(operand, dimension: int = -1, is_stable: bool = True):
    """Indices (int64) that sort ``operand`` along ``dimension``; ties keep
    their order and NaNs go last, like ``np.argsort(kind='stable')``.

    >>> argsort(np.array([3.0, 1.0, 2.0]))
    Array([1, 2, 0], dtype=int64)
    """
    operand = asoperand(operand, "argsort")
    ndim = get_aval(operand).ndim
    dimension = _canonical_axis("argsort", dimension, ndim, "dimension")
    iota = _iota_along(operand, dimension, dtypes.int64)
    _, perm = sort((operand, iota), dimension=dimension, is_stable=is_stable, num_keys=1)
    return perm


def top_k(operand, k: int):
    """The ``k`` largest entries along the last axis, largest first, and
    their int32 indices; equal values keep the lower index first and NaN
    counts as the largest value.

    >>> top_k(np.array([1.0, 4.0, 2.0, 4.0]), 2)
    (Array([4., 4.], dtype=float64), Array([1, 3], dtype=int32))
    """
    from funcgrad.lax.elementwise import neg
    from funcgrad.lax.shape import rev, slice_in_dim
    operand = asoperand(operand, "top_k")
    aval = get_aval(operand)
    if aval.ndim == 0:
        raise TypeError(f"top_k requires an operand of rank >= 1, got {aval.str_short()}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"top_k: k must be an int, got {k!r}")
    k, last = int(k), aval.ndim - 1
    if not 0 <= k <= aval.shape[last]:
        raise ValueError(f"top_k: k={k} must be between 0 and the size of the last axis "
                         f"of {aval.str_short()}")
    iota = _iota_along(operand, last, dtypes.int32)
    # Sorting ascending by (value, -index) then reversing gives descending
    # values with ties in increasing index order.
    values, _, indices = sort((operand, neg(iota), iota), dimension=last, num_keys=2)
    values, indices = rev(values, (last,)), rev(indices, (last,))
    return (slice_in_dim(values, 0, k, axis=last), slice_in_dim(indices, 0, k, axis=last))


__all__ = [
    "reduce_sum_p", "reduce_prod_p", "reduce_max_p", "reduce_min_p", "reduce_and_p",
    "reduce_or_p", "argmax_p", "argmin_p", "cumsum_p", "cumprod_p", "cummax_p", "cummin_p",
    "cumlogsumexp_p", "sort_p",
    "reduce_sum", "reduce_prod", "reduce_max", "reduce_min", "reduce_and", "reduce_or",
    "argmax", "argmin", "cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp",
    "sort", "sort_key_val", "argsort", "top_k",
]
