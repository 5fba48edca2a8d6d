"""Sorting: the ``sort`` primitive (several operands sorted together by
the first ``num_keys``) and the wrappers built on it (``sort_key_val``,
``argsort``, ``top_k``).

>>> import numpy as np
>>> from funcgrad import lax
>>> lax.sort(np.array([3.0, 1.0, 2.0]))
Array([1., 2., 3.], dtype=float64)

Sorting permutes: its derivative applies the same permutation to each
operand's tangent.  The jvp sorts an ``iota`` along with the operands to
learn the permutation and moves the tangents with ``gather`` (linear in the
tangent); the wrappers are differentiable through that rule (indices, being
integers, have zero tangents).
"""
from __future__ import annotations

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.ad_util import Zero, is_zero
from funcgrad.core.avals import ShapedArray
from funcgrad.core.batching import batch_to
from funcgrad.core.primitive import Primitive
from funcgrad.core.trace import get_aval
from funcgrad.lax.base import ANY, asoperand, check_dtype
from funcgrad.lax.elementwise import neg
from funcgrad.lax.indexing import gather
from funcgrad.lax.reductions import _canonical_axis
from funcgrad.lax.shape import broadcast_in_dim, broadcasted_iota, rev
from funcgrad.lax.slicing import concatenate, slice_in_dim


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


def _take_along_indices(perm, dimension: int):
    """``gather`` indices (shape ``perm.shape + (ndim,)``, ``axes`` all
    dimensions) that read ``x`` at ``perm`` along ``dimension`` and in place
    along the others: ``take_along_axis(x, perm, dimension)``."""
    aval = get_aval(perm)
    columns = [perm if d == dimension else broadcasted_iota(aval.dtype, aval.shape, d)
               for d in range(aval.ndim)]
    column_shape = aval.shape + (1,)
    dims = tuple(range(aval.ndim))
    return concatenate([broadcast_in_dim(c, column_shape, dims) for c in columns], aval.ndim)


def _sort_jvp(primals, tangents, *, dimension, is_stable, num_keys):
    shape = get_aval(primals[0]).shape
    # An extra, non-key operand comes out as the sorting permutation.
    iota = broadcasted_iota(dtypes.int64, shape, dimension)
    *outs, perm = sort_p.bind(*primals, iota, dimension=dimension, is_stable=is_stable,
                              num_keys=num_keys)
    if all(is_zero(t) for t in tangents):
        return outs, [Zero.like(o) for o in outs]
    indices = _take_along_indices(perm, dimension)
    axes = tuple(range(len(shape)))
    # gather is linear in its operand: the tangents are moved, not mixed.
    return outs, [Zero.like(o) if is_zero(t) else gather(t, indices, axes, mode="clip")
                  for o, t in zip(outs, tangents, strict=True)]


sort_p.jvp = _sort_jvp
sort_p.not_applicable["transpose"] = "not linear"


def _sort_batch(args, dims, axis_size, *, dimension, is_stable, num_keys):
    # All operands share one shape, so they need the batch axis in one
    # place: where the first batched operand has it (no move for that one);
    # unbatched operands are broadcast there (each member sorts its own
    # copy, possibly by another operand's batched keys).
    target = next(d for d in dims if d is not None)
    operands = [batch_to(x, d, axis_size, target) for x, d in zip(args, dims, strict=True)]
    outs = sort_p.bind(*operands, dimension=dimension + (dimension >= target),
                       is_stable=is_stable, num_keys=num_keys)
    return outs, [target] * len(outs)


sort_p.batch = _sort_batch


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


__all__ = ["sort_p", "sort", "sort_key_val", "argsort", "top_k"]
