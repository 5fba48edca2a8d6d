"""Tensor contractions: ``dot_general`` and its wrappers ``dot`` and
``batch_matmul``.

``dimension_numbers`` is ``((lhs_contracting, rhs_contracting),
(lhs_batch, rhs_batch))``; the result has the batch axes first, then the
free axes of ``lhs``, then those of ``rhs``, each in their original order.

>>> import numpy as np
>>> from funcgrad import lax
>>> x, y = np.ones((2, 3, 4)), np.ones((2, 4, 5))
>>> lax.dot_general(x, y, (((2,), (1,)), ((0,), (0,)))).shape
(2, 3, 5)
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.ad_util import Zero, add_tangents, is_undefined_primal, is_zero
from funcgrad.core.avals import ShapedArray
from funcgrad.core.primitive import Primitive
from funcgrad.core.trace import get_aval
from funcgrad.lax.base import ANY, asoperand, check_dtype, convert_weak_scalars
from funcgrad.lax.elementwise import convert_element_type
from funcgrad.lax.shape import transpose as lax_transpose

_PRECISIONS = ("default", "high", "highest", "fastest", "bfloat16", "tensorfloat32", "float32")


def _free_dims(ndim: int, contracting, batch) -> list[int]:
    taken = set(contracting) | set(batch)
    return [d for d in range(ndim) if d not in taken]


def _check_dimension_numbers(lhs: ShapedArray, rhs: ShapedArray, dimension_numbers) -> None:
    def fail(why: str, exc=TypeError):
        raise exc(f"dot_general {why}; got lhs {lhs.str_short()}, rhs {rhs.str_short()} and "
                  f"dimension_numbers={dimension_numbers!r}")

    try:
        (lc, rc), (lb, rb) = dimension_numbers
    except (TypeError, ValueError):
        fail("requires dimension_numbers of the form ((lhs_contracting, rhs_contracting), "
             "(lhs_batch, rhs_batch))")
    for dims in (lc, rc, lb, rb):
        if not isinstance(dims, tuple) or any(type(d) is not int for d in dims):
            fail("requires every group of dimension numbers to be a tuple of ints")
    if len(lc) != len(rc):
        fail("requires as many lhs as rhs contracting dimensions")
    if len(lb) != len(rb):
        fail("requires as many lhs as rhs batch dimensions")
    for side, aval, dims in (("lhs", lhs, lc + lb), ("rhs", rhs, rc + rb)):
        if any(not 0 <= d < aval.ndim for d in dims):
            fail(f"has {side} dimension numbers out of range for rank {aval.ndim}")
        if len(set(dims)) != len(dims):
            fail(f"has repeated {side} dimension numbers")
    if any(lhs.shape[a] != rhs.shape[b] for a, b in zip(lc, rc, strict=True)):
        fail("requires contracting dimensions to have equal sizes")
    if any(lhs.shape[a] != rhs.shape[b] for a, b in zip(lb, rb, strict=True)):
        fail("requires batch dimensions to have equal sizes")


def _dot_general_abstract_eval(lhs: ShapedArray, rhs: ShapedArray, *, dimension_numbers,
                               precision, preferred_element_type):
    check_dtype("dot_general", lhs, ANY, "lhs")
    check_dtype("dot_general", rhs, ANY, "rhs")
    _check_dimension_numbers(lhs, rhs, dimension_numbers)
    if preferred_element_type is None:
        if lhs.dtype != rhs.dtype:
            raise TypeError(f"dot_general requires operands of the same dtype, got lhs "
                            f"{lhs.str_short()} and rhs {rhs.str_short()} (pass "
                            f"preferred_element_type to mix dtypes)")
        out_dtype = lhs.dtype
    else:
        out_dtype = preferred_element_type
        if not isinstance(out_dtype, np.dtype):
            raise TypeError(f"dot_general: preferred_element_type must be None or a "
                            f"np.dtype, got {out_dtype!r}")
        for aval in (lhs, rhs):
            if not np.can_cast(aval.dtype, out_dtype, "same_kind"):
                raise TypeError(f"dot_general: preferred_element_type {out_dtype.name} is "
                                f"incompatible with operand dtype {aval.dtype.name} "
                                f"(lhs {lhs.str_short()}, rhs {rhs.str_short()})")
    (lc, rc), (lb, rb) = dimension_numbers
    shape = (tuple(lhs.shape[d] for d in lb)
             + tuple(lhs.shape[d] for d in _free_dims(lhs.ndim, lc, lb))
             + tuple(rhs.shape[d] for d in _free_dims(rhs.ndim, rc, rb)))
    weak = lhs.weak_type and rhs.weak_type and preferred_element_type is None
    return [ShapedArray(shape, out_dtype, weak)]


def _dot_general_impl(lhs, rhs, *, dimension_numbers, precision, preferred_element_type):
    lhs, rhs = np.asarray(lhs), np.asarray(rhs)
    out_dtype = lhs.dtype if preferred_element_type is None else preferred_element_type
    # Computing in the result dtype is what preferred_element_type asks for
    # (e.g. int8 operands accumulated in int32).
    lhs, rhs = lhs.astype(out_dtype, copy=False), rhs.astype(out_dtype, copy=False)
    (lc, rc), (lb, rb) = dimension_numbers
    lf, rf = _free_dims(lhs.ndim, lc, lb), _free_dims(rhs.ndim, rc, rb)

    def size(arr, dims):
        return math.prod(arr.shape[d] for d in dims)

    # One batched matmul (B, M, K) @ (B, K, N): NumPy hands float work to BLAS.
    b, m, k, n = size(lhs, lb), size(lhs, lf), size(lhs, lc), size(rhs, rf)
    a = lhs.transpose(list(lb) + lf + list(lc)).reshape(b, m, k)
    c = rhs.transpose(list(rb) + list(rc) + rf).reshape(b, k, n)
    with np.errstate(all="ignore"):
        out = np.matmul(a, c)
    shape = (tuple(lhs.shape[d] for d in lb) + tuple(lhs.shape[d] for d in lf)
             + tuple(rhs.shape[d] for d in rf))
    return [np.asarray(out.reshape(shape), dtype=out_dtype)]


def _dot_general_jvp(primals, tangents, *, dimension_numbers, precision,
                     preferred_element_type):
    # Bilinear: the product rule, with the same parameters for both terms
    # (preferred_element_type gives them the output's dtype).
    lhs, rhs = primals
    t_lhs, t_rhs = tangents
    params = {"dimension_numbers": dimension_numbers, "precision": precision,
              "preferred_element_type": preferred_element_type}
    out = dot_general_p.bind(lhs, rhs, **params)
    t_out = Zero(get_aval(out).strip_weak_type())
    if not is_zero(t_lhs):
        t_out = dot_general_p.bind(t_lhs, rhs, **params)
    if not is_zero(t_rhs):
        t_out = add_tangents(t_out, dot_general_p.bind(lhs, t_rhs, **params))
    return [out], [t_out]


def _transpose_operand(ct, other, aval: ShapedArray, own_dims, other_dims, other_free_in_ct,
                       precision):
    """The cotangent of one operand (of type ``aval``) of a dot_general,
    given the output cotangent ``ct`` and the ``other`` operand.

    ``own_dims``/``other_dims`` are each operand's (contracting, batch)
    dimension numbers; ``other_free_in_ct`` are the axes of ``ct`` holding
    the other operand's free dimensions.  The cotangent is itself a
    dot_general of ``ct`` with ``other`` that contracts the other operand's
    free axes and keeps the batch axes; its result (batch, own free, then
    the other's contracting axes in its order) is permuted into the
    operand's layout.
    """
    (own_c, own_b), (other_c, other_b) = own_dims, other_dims
    other_aval = get_aval(other)
    other_free = _free_dims(other_aval.ndim, other_c, other_b)
    n_batch = len(own_b)
    dims = ((tuple(other_free_in_ct), tuple(other_free)), (tuple(range(n_batch)), tuple(other_b)))
    ct_dtype = get_aval(ct).dtype
    # Mixed dtypes (allowed with preferred_element_type): compute in the
    # common type and cast back to the operand's (the real part of a complex
    # cotangent for a real operand).
    preferred = None if ct_dtype == other_aval.dtype else np.promote_types(ct_dtype,
                                                                          other_aval.dtype)
    res = dot_general_p.bind(ct, other, dimension_numbers=dims, precision=precision,
                             preferred_element_type=preferred)
    # Which operand dimension each axis of ``res`` is.
    own_free = _free_dims(aval.ndim, own_c, own_b)
    paired = {o: c for c, o in zip(own_c, other_c, strict=True)}
    res_dims = list(own_b) + own_free + [paired[o] for o in sorted(other_c)]
    perm = tuple(int(i) for i in np.argsort(res_dims))
    if perm != tuple(range(len(perm))):
        res = lax_transpose(res, perm)
    if get_aval(res).dtype != aval.dtype:
        res = convert_element_type(res, aval.dtype)
    return res


def _dot_general_transpose(cts, lhs, rhs, *, dimension_numbers, precision,
                           preferred_element_type):
    (ct,) = cts
    if is_undefined_primal(lhs) and is_undefined_primal(rhs):
        raise ValueError("dot_general is linear in one operand at a time, not both")
    (lc, rc), (lb, rb) = dimension_numbers
    lhs_aval = lhs.aval if is_undefined_primal(lhs) else get_aval(lhs)
    rhs_aval = rhs.aval if is_undefined_primal(rhs) else get_aval(rhs)
    n_batch = len(lb)
    n_lhs_free = lhs_aval.ndim - len(lc) - n_batch
    # ct's axes: batch, then the free axes of lhs, then those of rhs.
    lhs_free_in_ct = range(n_batch, n_batch + n_lhs_free)
    rhs_free_in_ct = range(n_batch + n_lhs_free, get_aval(ct).ndim)
    if is_undefined_primal(lhs):
        return [_transpose_operand(ct, rhs, lhs_aval, (lc, lb), (rc, rb), rhs_free_in_ct,
                                   precision), None]
    # ct takes the rhs' place, as the first operand: swap a precision pair.
    swapped = None if precision is None else precision[::-1]
    return [None, _transpose_operand(ct, lhs, rhs_aval, (rc, rb), (lc, lb), lhs_free_in_ct,
                                     swapped)]


def _dot_general_batch(args, dims, axis_size, *, dimension_numbers, precision,
                       preferred_element_type):
    lhs, rhs = args
    dl, dr = dims
    params = {"precision": precision, "preferred_element_type": preferred_element_type}
    (lc, rc), (lb, rb) = dimension_numbers

    def shift(ds, d):  # dimension numbers renumbered for a batch axis at d
        return ds if d is None else tuple(x + (x >= d) for x in ds)

    lc, lb, rc, rb = shift(lc, dl), shift(lb, dl), shift(rc, dr), shift(rb, dr)
    if dl is not None and dr is not None:
        # Both operands batched: pair the batch axes as one more batch
        # dimension of the contraction (one batched product, no copies);
        # batch dimensions come first in the result.
        dims_out = ((lc, rc), ((dl,) + lb, (dr,) + rb))
        out_dim = 0
    elif dl is not None:
        # Only one operand batched: its batch axis is a free dimension, which
        # keeps its place among that operand's free dimensions in the result
        # (batch dims, lhs free, rhs free); the other operand is not copied.
        dims_out = ((lc, rc), (lb, rb))
        out_dim = len(lb) + _free_dims(get_aval(lhs).ndim, lc, lb).index(dl)
    else:
        dims_out = ((lc, rc), (lb, rb))
        n_lhs_free = get_aval(lhs).ndim - len(lc) - len(lb)
        out_dim = len(lb) + n_lhs_free + _free_dims(get_aval(rhs).ndim, rc, rb).index(dr)
    return [dot_general_p.bind(lhs, rhs, dimension_numbers=dims_out, **params)], [out_dim]


dot_general_p = Primitive("dot_general")
dot_general_p.impl = _dot_general_impl
dot_general_p.abstract_eval = _dot_general_abstract_eval
dot_general_p.jvp = _dot_general_jvp
dot_general_p.transpose = _dot_general_transpose
dot_general_p.batch = _dot_general_batch


def _canonical_precision(precision):
    """``None``, one precision name, or a pair of names (lhs, rhs); the
    NumPy backend ignores it but keeps it in the jaxpr, as JAX does."""
    if precision is None:
        return None
    names = (precision, precision) if isinstance(precision, str) else tuple(precision)
    names = tuple(str(getattr(p, "name", p)).lower() for p in names)
    if len(names) != 2 or any(p not in _PRECISIONS for p in names):
        raise ValueError(f"dot_general: precision must be None, one of {_PRECISIONS} or a "
                         f"pair of them, got {precision!r}")
    return names


def _canonical_dims(dims, ndim: int, what: str) -> tuple[int, ...]:
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"dot_general: {what} dimension numbers must be ints, got {dims!r}")
        # Negative numbers count from the end, if in range; others are left
        # for the shape rule to report.
        out.append(int(d) + ndim if -ndim <= d < 0 else int(d))
    return tuple(out)


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """General tensor contraction.

    Parameters
    ----------
    lhs, rhs : array
        Operands of equal dtype (Python scalars adapt), unless
        ``preferred_element_type`` is given.
    dimension_numbers : ((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch))
        Sequences of axes; contracted axes are summed over pairwise, batch
        axes are matched pairwise and come first in the result.
    precision : None, str or pair of str
        Recorded for other backends; NumPy computes at full precision.
    preferred_element_type : dtype, optional
        The result dtype (the computation is done in it).

    Returns
    -------
    Array of shape ``batch + lhs_free + rhs_free``.

    >>> x = np.arange(6.0).reshape(2, 3)
    >>> dot_general(x, x, (((1,), (1,)), ((), ())))
    Array([[ 5., 14.],
           [14., 50.]], dtype=float64)
    """
    lhs, rhs = convert_weak_scalars("dot_general", (lhs, rhs))
    lhs_ndim, rhs_ndim = get_aval(lhs).ndim, get_aval(rhs).ndim
    try:
        (lc, rc), (lb, rb) = dimension_numbers
        dims = ((_canonical_dims(lc, lhs_ndim, "lhs"), _canonical_dims(rc, rhs_ndim, "rhs")),
                (_canonical_dims(lb, lhs_ndim, "lhs"), _canonical_dims(rb, rhs_ndim, "rhs")))
    except (TypeError, ValueError) as err:
        if "dot_general" in str(err):
            raise
        raise TypeError(f"dot_general requires dimension_numbers of the form "
                        f"((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch)), "
                        f"got {dimension_numbers!r}") from None
    if preferred_element_type is not None:
        preferred_element_type = dtypes.canonicalize(preferred_element_type)
    return dot_general_p.bind(lhs, rhs, dimension_numbers=dims,
                              precision=_canonical_precision(precision),
                              preferred_element_type=preferred_element_type)


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    """Vector/matrix product: vector·vector, matrix·vector, vector·matrix or
    matrix·matrix (contracts the last axis of ``lhs`` with the first of
    ``rhs``).

    >>> dot(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, 1.0]))
    Array([3., 7.], dtype=float64)
    """
    lhs, rhs = asoperand(lhs, "dot"), asoperand(rhs, "dot")
    la, ra = get_aval(lhs), get_aval(rhs)
    if not (1 <= la.ndim <= 2 and 1 <= ra.ndim <= 2):
        raise TypeError(f"dot takes operands of rank 1 or 2, got lhs {la.str_short()} and "
                        f"rhs {ra.str_short()}; use dot_general for other ranks")
    return dot_general(lhs, rhs, (((la.ndim - 1,), (0,)), ((), ())), precision=precision,
                       preferred_element_type=preferred_element_type)


def batch_matmul(lhs, rhs, precision=None):
    """Matrix products over leading batch axes: ``lhs[..., i, j] @ rhs[..., j, k]``
    with equal ranks (>= 2) and equal batch sizes (no broadcasting).

    >>> batch_matmul(np.ones((4, 2, 3)), np.ones((4, 3, 5))).shape
    (4, 2, 5)
    """
    lhs, rhs = asoperand(lhs, "batch_matmul"), asoperand(rhs, "batch_matmul")
    la, ra = get_aval(lhs), get_aval(rhs)
    if min(la.ndim, ra.ndim) < 2 or la.ndim != ra.ndim:
        raise ValueError(f"batch_matmul requires operands of equal rank >= 2, got lhs "
                         f"{la.str_short()} and rhs {ra.str_short()}")
    batch: Sequence[int] = tuple(range(la.ndim - 2))
    return dot_general(lhs, rhs, (((la.ndim - 1,), (ra.ndim - 2,)), (batch, batch)),
                       precision=precision)


__all__ = ["dot_general_p", "dot_general", "dot", "batch_matmul"]
