"""Sorting, searching and counting: ``sort``, ``argsort``, ``lexsort``,
``partition``, ``searchsorted``, and the functions whose result size depends
on the values (``nonzero``, ``argwhere``, ``flatnonzero``, ``unique``).

Those last ones need concrete values (eager code, or ``grad``/``jvp`` over
eager code); under ``jit``/``make_jaxpr`` pass a static ``size=`` (and
optionally ``fill_value=``), as in ``jax.numpy``.

>>> import funcgrad.numpy as jnp
>>> jnp.argsort(jnp.array([3.0, 1.0, 2.0]))
Array([1, 2, 0], dtype=int64)
"""
from __future__ import annotations

import math

import numpy as np

from funcgrad import lax
from funcgrad.core import dtypes
from funcgrad.core.array import Array
from funcgrad.core.trace import Tracer, get_aval
from funcgrad.numpy._util import broadcast_shapes as _broadcast_shapes
from funcgrad.numpy._util import broadcast_to as _broadcast_to
from funcgrad.numpy._util import canonicalize_axis, convert_to, promote_dtypes
from funcgrad.numpy.manipulation import (_concrete, _op, _result, _shape, _slice_axis,
                                         _static_int, _take_static, ravel, reshape, stack)

__all__ = [
    "argpartition", "argsort", "argwhere", "flatnonzero", "lexsort", "nonzero", "partition",
    "searchsorted", "sort", "unique",
]


def _sort_operand(name, a, axis):
    x = _op(a, name)
    if axis is None:
        return ravel(x), 0
    return x, canonicalize_axis(axis, get_aval(x).ndim, name)


def _check_kind(name, kind, order):
    if order is not None:
        raise NotImplementedError(f"{name}: the 'order' argument (structured arrays) is not "
                                  f"supported")
    if kind not in (None, "quicksort", "mergesort", "heapsort", "stable"):
        raise ValueError(f"{name}: sort kind must be one of 'quick', 'heap', or 'stable' "
                         f"(got {kind!r})")


def sort(a, axis: int | None = -1, kind=None, order=None, *, stable=None, descending=False):
    """A sorted copy of ``a`` along ``axis`` (the flattened array if None);
    NaNs go last.  The sort is always stable, so ``kind`` and ``stable`` are
    accepted and ignored; ``descending=True`` sorts from largest to smallest.

    >>> sort(jnp.array([[3, 1], [0, 2]]), axis=None)
    Array([0, 1, 2, 3], dtype=int64)
    """
    _check_kind("sort", kind, order)
    x, axis = _sort_operand("sort", a, axis)
    out = lax.sort(x, axis, True, 1)
    return _result(lax.rev(out, (axis,)) if descending else out)


def argsort(a, axis: int | None = -1, kind=None, order=None, *, stable=None, descending=False):
    """Indices (int64) that sort ``a`` along ``axis``; equal elements keep
    their order (also with ``descending=True``), NaNs go last.

    >>> argsort(jnp.array([2, 1, 2, 0]))
    Array([3, 1, 0, 2], dtype=int64)
    """
    _check_kind("argsort", kind, order)
    x, axis = _sort_operand("argsort", a, axis)
    if not descending:
        return _result(lax.argsort(x, axis, True))
    # Sorting the reversed array and reversing back keeps ties in order.
    n = _shape(x)[axis]
    idx = lax.rev(lax.argsort(lax.rev(x, (axis,)), axis, True), (axis,))
    return _result(lax.sub(np.int64(n - 1), idx))


def lexsort(keys, axis: int = -1):
    """Indirect stable sort on several keys, the LAST key being the primary
    one (as in NumPy).

    >>> lexsort([jnp.array([1, 0, 1]), jnp.array([0, 0, -1])])
    Array([2, 1, 0], dtype=int64)
    """
    keys = [_op(k, "lexsort") for k in keys]
    if not keys:
        raise TypeError("need sequence of keys with len > 0 in lexsort")
    shape = _broadcast_shapes("lexsort", *[_shape(k) for k in keys])
    keys = [_broadcast_to(k, shape, "lexsort") for k in keys]
    axis = canonicalize_axis(axis, len(shape), "lexsort")
    iota = lax.broadcasted_iota(dtypes.int64, shape, axis)
    outs = lax.sort((*keys[::-1], iota), axis, True, len(keys))
    return _result(outs[-1])


def _check_kth(name, kth, n):
    kth = np.asarray(_concrete(kth, name, "kth must be static."))
    if kth.dtype.kind not in "iu":
        raise TypeError(f"{name}: partition index must be integer")
    if np.any((kth < -n) | (kth >= n)):
        raise ValueError(f"{name}: kth(={kth.tolist()}) out of bounds ({n})")


def partition(a, kth, axis: int | None = -1, kind="introselect", order=None):
    """A copy where the element at position ``kth`` is where a sort would put
    it, smaller ones before and larger ones after.

    Implemented with a full sort, so the result is sorted: the same set in
    each partition as NumPy, but NumPy's order inside each partition is
    unspecified and generally differs.
    """
    _check_kind("partition", None, order)
    x, axis = _sort_operand("partition", a, axis)
    _check_kth("partition", kth, _shape(x)[axis])
    return _result(lax.sort(x, axis, True, 1))


def argpartition(a, kth, axis: int | None = -1, kind="introselect", order=None):
    """Indices that partition ``a`` (see :func:`partition`): here the indices
    of a stable sort, a valid partition that generally differs from
    NumPy's."""
    _check_kind("argpartition", None, order)
    x, axis = _sort_operand("argpartition", a, axis)
    _check_kth("argpartition", kth, _shape(x)[axis])
    return _result(lax.argsort(x, axis, True))


# --------------------------------------------------------------- searching
def searchsorted(a, v, side: str = "left", sorter=None, *, method: str = "auto"):
    """Indices (int64) where the elements of ``v`` would be inserted into the
    sorted 1-d ``a`` to keep it sorted (before equal elements for
    ``side='left'``, after them for ``'right'``; NaN sorts last).

    ``method``: ``'compare_all'`` (compare every pair; fast for small inputs),
    ``'sort'`` (one merged sort; O((N+M) log(N+M))) or ``'auto'``.  Values may
    be traced.

    >>> searchsorted(jnp.array([1, 2, 2, 3]), jnp.array([2, 5]), side="right")
    Array([3, 4], dtype=int64)
    """
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    if method not in ("auto", "compare_all", "sort"):
        raise ValueError(f"searchsorted: method must be 'auto', 'compare_all' or 'sort', got "
                         f"{method!r}")
    a = _op(a, "searchsorted")
    if get_aval(a).ndim != 1:
        raise ValueError(f"searchsorted: a must be 1-d, got shape {_shape(a)}")
    if sorter is not None:
        from funcgrad.numpy.indexing import take
        a = take(a, sorter)
    a, v = promote_dtypes("searchsorted", a, v)
    if get_aval(a).dtype.kind == "c":
        raise NotImplementedError("searchsorted: complex values are not supported")
    n, vshape = _shape(a)[0], _shape(v)
    m = math.prod(vshape)
    if method == "auto":
        method = "compare_all" if n * m <= 1 << 16 else "sort"
    if n == 0 or m == 0:
        return _result(lax.full(vshape, 0, dtypes.int64))
    if method == "compare_all":
        return _result(_search_compare_all(a, v, side))
    return _result(_search_by_sort(a, v, side))


def _search_compare_all(a, v, side):
    n, vshape = _shape(a)[0], _shape(v)
    full = (*vshape, n)
    ab = lax.broadcast_in_dim(a, full, (len(vshape),))
    vb = lax.broadcast_in_dim(v, full, tuple(range(len(vshape))))
    if side == "left":
        before = lax.lt(ab, vb)
        if get_aval(a).dtype.kind == "f":   # NaN v goes after every non-NaN a
            before = lax.bitwise_or(before, lax.bitwise_and(lax.ne(vb, vb), lax.eq(ab, ab)))
    else:
        before = lax.le(ab, vb)
        if get_aval(a).dtype.kind == "f":   # NaN v goes after everything
            before = lax.bitwise_or(before, lax.ne(vb, vb))
    return lax.reduce_sum(lax.convert_element_type(before, dtypes.int64), (len(vshape),))


def _search_by_sort(a, v, side):
    n, vshape = _shape(a)[0], _shape(v)
    m = math.prod(vshape)
    vals = lax.concatenate([a, lax.reshape(v, (m,))], 0)
    is_a = np.concatenate([np.ones(n, np.int64), np.zeros(m, np.int64)])
    # Ties: 'left' puts v before equal elements of a, 'right' after them.
    tie = (1 - is_a) if side == "right" else is_a
    iota = np.arange(n + m, dtype=np.int64)
    _, _, is_a_sorted, origin = lax.sort((vals, tie, is_a, iota), 0, True, 2)
    a_before = lax.sub(lax.cumsum(is_a_sorted, 0), is_a_sorted)
    _, in_order = lax.sort((origin, a_before), 0, True, 1)
    return lax.reshape(_slice_axis(in_order, n, n + m, 0), vshape)


# -------------------------------------------- value-dependent result shape
_SIZE_HINT = ("The size of the result depends on the values, so it needs concrete values; "
              "under jit pass a static size= (and optionally fill_value=).")


def nonzero(a, *, size=None, fill_value=None):
    """Indices of the non-zero elements, one array per dimension.

    Needs concrete values unless ``size`` is given; then the result has
    exactly ``size`` entries, padded with ``fill_value`` (default 0) or
    truncated, like ``jax.numpy.nonzero``.

    >>> nonzero(jnp.array([0, 3, 0, 4]))
    (Array([1, 3], dtype=int64),)
    """
    x = _op(a, "nonzero")
    shape = _shape(x)
    if not shape:
        raise ValueError("Calling nonzero on 0d arrays is not allowed. Use "
                         "np.atleast_1d(scalar).nonzero() instead.")
    if size is None:
        value = _concrete(x, "nonzero", _SIZE_HINT)
        return tuple(Array(i.astype(np.int64)) for i in np.nonzero(value))
    size = _static_int(size, "nonzero", "size")
    mask = ravel(lax.ne(x, np.zeros((), get_aval(x).dtype)) if get_aval(x).dtype != bool else x)
    total = math.prod(shape)
    iota = lax.iota(dtypes.int64, total)
    key = lax.convert_element_type(lax.bitwise_not(mask), dtypes.int32)
    _, flat = lax.sort((key, iota), 0, True, 1) if total else (None, iota)
    if size <= total:
        flat = _slice_axis(flat, 0, size, 0)
    else:
        flat = lax.pad(flat, np.int64(0), [(0, size - total, 0)])
    count = lax.reduce_sum(lax.convert_element_type(mask, dtypes.int64), (0,))
    valid = lax.lt(lax.iota(dtypes.int64, size), count)
    fills = fill_value if isinstance(fill_value, (tuple, list)) else [fill_value] * len(shape)
    if len(fills) != len(shape):
        raise ValueError(f"nonzero: fill_value must be a scalar or a tuple of length "
                         f"{len(shape)}")
    strides = np.cumprod((1,) + shape[:0:-1])[::-1]
    out = []
    for dim, (n, stride, fill) in enumerate(zip(shape, strides, fills, strict=True)):
        coord = flat if stride == 1 else lax.div(flat, np.int64(stride))
        if dim:
            coord = lax.rem(coord, np.int64(n))
        fill = np.int64(0) if fill is None else convert_to(_op(fill, "nonzero"), dtypes.int64)
        out.append(_result(lax.select(valid, coord, _broadcast_to(fill, (size,)))))
    return tuple(out)


def flatnonzero(a, *, size=None, fill_value=None):
    """Indices of the non-zero elements of the flattened array."""
    return nonzero(ravel(a), size=size, fill_value=fill_value)[0]


def argwhere(a, *, size=None, fill_value=None):
    """Indices of the non-zero elements as an ``(N, ndim)`` array (see
    :func:`nonzero` for ``size`` and ``fill_value``)."""
    x = _op(a, "argwhere")
    if get_aval(x).ndim == 0:
        out = argwhere(reshape(x, (1,)), size=size, fill_value=fill_value)
        return _slice_axis(out, 0, 0, 1)
    return stack(nonzero(x, size=size, fill_value=fill_value), axis=-1)


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, sorted=True, size=None, fill_value=None):
    """The sorted unique elements, optionally with first indices, inverse
    indices and counts.

    Needs concrete values unless ``size`` is given (flattened input only);
    then exactly ``size`` values are returned, padded with ``fill_value``
    (default: the smallest value) and the counts with 0, like
    ``jax.numpy.unique``.

    >>> unique(jnp.array([3, 1, 3]))
    Array([1, 3], dtype=int64)
    """
    x = _op(ar, "unique")
    flags = (return_index, return_inverse, return_counts)
    if size is None:
        value = _concrete(x, "unique", _SIZE_HINT)
        res = np.unique(value, True, flags[1], flags[2], axis=axis, equal_nan=equal_nan)
        if isinstance(x, Tracer):
            # Gather the values from x itself, so derivatives flow through.
            src, ax = (ravel(x), 0) if axis is None else (
                x, canonicalize_axis(axis, get_aval(x).ndim, "unique"))
            values = _result(_take_static(src, res[1], ax))
        else:
            values = Array(res[0])
        outs = [values] + [Array(r.astype(np.int64)) for r in res[1 + (not flags[0]):]]
        return outs[0] if len(outs) == 1 else tuple(outs)
    if axis is not None:
        raise NotImplementedError("unique: axis is not supported together with size=")
    return _unique_sized(ravel(x), _shape(x), flags, equal_nan,
                         _static_int(size, "unique", "size"), fill_value)


def _unique_sized(x, shape, flags, equal_nan, size, fill_value):
    n = _shape(x)[0]
    dt = get_aval(x).dtype
    if n == 0:
        raise ValueError("unique: size= needs a non-empty array")
    iota = lax.iota(dtypes.int64, n)
    svals, perm = lax.sort((x, iota), 0, True, 1)
    prev, cur = _slice_axis(svals, 0, n - 1, 0), _slice_axis(svals, 1, n, 0)
    differ = lax.ne(cur, prev)
    if dt.kind in "fc" and equal_nan:
        differ = lax.bitwise_and(differ, lax.bitwise_not(lax.bitwise_and(
            lax.ne(cur, cur), lax.ne(prev, prev))))
    first = lax.concatenate([np.ones(1, bool), differ], 0)
    # A stable sort on "not first" brings the first element of every run to
    # the front, in sorted order, carrying its value, position and origin.
    key = lax.convert_element_type(lax.bitwise_not(first), dtypes.int32)
    _, uvals, upos, uidx = lax.sort((key, svals, iota, perm), 0, True, 1)
    count = lax.reduce_sum(lax.convert_element_type(first, dtypes.int64), (0,))

    def fit(v, pad_value):
        if size <= n:
            return _slice_axis(v, 0, size, 0)
        return lax.pad(v, convert_to(pad_value, get_aval(v).dtype), [(0, size - n, 0)])

    valid = lax.lt(lax.iota(dtypes.int64, size), count)
    smallest = _slice_axis(svals, 0, 1, 0)
    fill = (lax.reshape(smallest, ()) if fill_value is None
            else convert_to(_op(fill_value, "unique"), dt))
    outs = [lax.select(valid, fit(uvals, fill), _broadcast_to(fill, (size,)))]
    if flags[0]:
        outs.append(lax.select(valid, fit(uidx, np.int64(0)), lax.full((size,), 0, dtypes.int64)))
    if flags[1]:
        group = lax.sub(lax.cumsum(lax.convert_element_type(first, dtypes.int64), 0), np.int64(1))
        _, inverse = lax.sort((perm, group), 0, True, 1)
        outs.append(lax.reshape(inverse, shape))
    if flags[2]:
        nxt = lax.concatenate([_slice_axis(upos, 1, n, 0), np.full(1, n, np.int64)], 0)
        nxt = lax.select(lax.lt(lax.iota(dtypes.int64, n), lax.sub(count, np.int64(1))), nxt,
                         lax.full((n,), n, dtypes.int64))
        counts = lax.sub(nxt, upos)
        outs.append(lax.select(valid, fit(counts, np.int64(0)), lax.full((size,), 0, dtypes.int64)))
    outs = [_result(o) for o in outs]
    return outs[0] if len(outs) == 1 else tuple(outs)


