"""Cumulative reductions (``cumsum``, ``cumprod``, ``cummax``, ``cummin``,
``cumlogsumexp``) with their differentiation rules.

The output has the operand's shape and dtype; ``reverse=True`` accumulates
from the end of ``axis``.

>>> import numpy as np
>>> from funcgrad import lax
>>> lax.cumsum(np.array([1.0, 2.0, 3.0]))
Array([1., 3., 6.], dtype=float64)

``cumsum`` is linear.  The derivatives of the others are first-order linear
recurrences along the axis, ``d[i] = a[i] * d[i-1] + u[i]`` with ``a`` a
primal factor and ``u`` linear in the tangent, solved by a parallel prefix
scan (:func:`_linear_recurrence`) made of ``pad``, ``mul`` and ``add``: the
tangent computation is linear, hence transposable, never divides by the
operand (so zeros are fine) and nests for higher derivatives.
"""
from __future__ import annotations

import numpy as np

from funcgrad.core.ad_util import Zero, deflinear, is_zero
from funcgrad.core.avals import ShapedArray
from funcgrad.core.primitive import Primitive
from funcgrad.core.trace import get_aval
from funcgrad.lax.base import FLOAT, NUMBER, asoperand, check_dtype, quiet
from funcgrad.lax.elementwise import (add, convert_element_type, div, eq, exp, mul, select,
                                      sub)
from funcgrad.lax.reductions import ORDERED, _canonical_axis
from funcgrad.lax.shape import full_like
from funcgrad.lax.slicing import pad


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


# ------------------------------------------------------ differentiation
def _shift(x, distance: int, axis: int, reverse: bool, fill):
    """Move ``x`` ``distance`` steps along ``axis`` in the direction of the
    accumulation (towards the end, or the start if ``reverse``), filling the
    vacated places with ``fill``: ``out[i] = x[i - distance]``.  One ``pad``
    with a negative edge, so it is linear in ``x`` when ``fill`` is 0."""
    config = [(0, 0, 0)] * get_aval(x).ndim
    config[axis] = (-distance, distance, 0) if reverse else (distance, -distance, 0)
    return pad(x, fill, config)


def _linear_recurrence(a, u, axis: int, reverse: bool):
    """Solve ``d[i] = a[i] * d[i-1] + u[i]`` (``d[-1] = 0``) along ``axis``
    (indices counted in the direction of accumulation).

    A Hillis-Steele scan of the affine maps ``d -> a[i] d + u[i]``: before
    the step with stride ``s``, ``u[i]`` holds the solution restricted to the
    inputs in the window ``(i - s, i]`` and ``a[i]`` the product of the
    factors in that window; one step doubles the window.  That is
    ``ceil(log2(n))`` steps of ``pad``/``mul``/``add``, O(n log n) work,
    linear in ``u`` with the primal ``a`` as factors.
    """
    n = get_aval(u).shape[axis]
    stride = 1
    while stride < n:
        u = add(u, mul(a, _shift(u, stride, axis, reverse, 0)))
        if 2 * stride < n:  # the last step needs no further factors
            a = mul(a, _shift(a, stride, axis, reverse, 1))
        stride *= 2
    return u


def _cumsum_transpose(cts, x, *, axis, reverse):
    # Each input feeds every output at or after it: the transpose
    # accumulates from the other end.
    (ct,) = cts
    return [cumsum_p.bind(ct, axis=axis, reverse=not reverse)]


deflinear(cumsum_p)
cumsum_p.transpose = _cumsum_transpose


def _cumprod_jvp(primals, tangents, *, axis, reverse):
    # out[i] = out[i-1] * x[i], so d[i] = x[i] d[i-1] + out[i-1] t[i]: no
    # division by x, so exact zeros in x are handled.
    (x,), (t,) = primals, tangents
    out = cumprod_p.bind(x, axis=axis, reverse=reverse)
    if is_zero(t):
        return [out], [Zero.like(out)]
    before = _shift(out, 1, axis, reverse, 1)
    return [out], [_linear_recurrence(x, mul(before, t), axis, reverse)]


def _cumlogsumexp_jvp(primals, tangents, *, axis, reverse):
    # out[i] = logaddexp(out[i-1], x[i]), so
    # d[i] = exp(out[i-1] - out[i]) d[i-1] + exp(x[i] - out[i]) t[i]:
    # both factors lie in [0, 1], so nothing overflows.
    (x,), (t,) = primals, tangents
    out = cumlogsumexp_p.bind(x, axis=axis, reverse=reverse)
    if is_zero(t):
        return [out], [Zero.like(out)]
    # Where out is -inf every input so far is -inf and contributes nothing;
    # computing from 0 there keeps exp(-inf - -inf) = NaN from leaking into
    # later positions.
    safe = select(eq(out, -np.inf), full_like(out, 0), out)
    before = _shift(out, 1, axis, reverse, -np.inf)
    a = exp(sub(before, safe))
    b = exp(sub(x, safe))
    return [out], [_linear_recurrence(a, mul(b, t), axis, reverse)]


def _cumulative_chooser_jvp(p: Primitive):
    """jvp of cummax/cummin: the tangent at ``i`` is the mean of the
    tangents at the positions ``j <= i`` that attain the running extreme
    ``out[i]`` (ties share the derivative evenly, like reduce_max; a NaN
    result gets a NaN tangent).

    The running extreme is monotone, so those positions lie in the run of
    equal ``out`` values ending at ``i``: a segmented sum, which is the
    linear recurrence with ``a[i] = (out[i-1] == out[i])``."""
    def jvp(primals, tangents, *, axis, reverse):
        (x,), (t,) = primals, tangents
        out = p.bind(x, axis=axis, reverse=reverse)
        if is_zero(t):
            return [out], [Zero.like(out)]
        dtype = get_aval(x).dtype
        attains = eq(x, out)
        same_run = convert_element_type(eq(_shift(out, 1, axis, reverse, 0), out), dtype)
        counts = _linear_recurrence(same_run, convert_element_type(attains, dtype), axis,
                                    reverse)
        picked = select(attains, t, full_like(t, 0))
        return [out], [div(_linear_recurrence(same_run, picked, axis, reverse), counts)]
    return jvp


cumprod_p.jvp = _cumprod_jvp
cumlogsumexp_p.jvp = _cumlogsumexp_jvp
cummax_p.jvp = _cumulative_chooser_jvp(cummax_p)
cummin_p.jvp = _cumulative_chooser_jvp(cummin_p)
for _p in (cumprod_p, cumlogsumexp_p, cummax_p, cummin_p):
    _p.not_applicable["transpose"] = "not linear"


# ------------------------------------------------------------- batching
def _batch_cumulative(p: Primitive):
    # The output has the operand's shape, so the batch axis stays put and
    # the accumulation axis is renumbered around it.
    def rule(args, dims, axis_size, *, axis, reverse):
        (x,), (d,) = args, dims
        return [p.bind(x, axis=axis + (axis >= d), reverse=reverse)], [d]
    p.batch = rule


for _p in (cumsum_p, cumprod_p, cummax_p, cummin_p, cumlogsumexp_p):
    _batch_cumulative(_p)


# ------------------------------------------------------------- wrappers
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

    Its derivative is exact where the operand has zeros.

    >>> cumprod(np.array([1, 2, 3]))
    Array([1, 2, 6], dtype=int64)
    """)
cummax = _cumulative_api(cummax_p, """Running maximum along ``axis`` (NaN propagates).

    Differentiation follows the element(s) attaining the running maximum;
    tied elements share the derivative evenly.

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


__all__ = [
    "cumsum_p", "cumprod_p", "cummax_p", "cummin_p", "cumlogsumexp_p",
    "cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp",
]
