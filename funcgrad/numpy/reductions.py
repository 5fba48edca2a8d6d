"""Reductions: sums and products, extrema, means and variances, logical
reductions, cumulative sums, their nan-ignoring forms, ``average``,
``median``/``quantile``/``percentile`` and ``count_nonzero``.

``axis`` is None (all axes), an int or a tuple of ints (negative values
count from the end); ``keepdims`` keeps reduced axes with size 1.  Dtypes
follow NumPy: bool and small integers sum to int64, the mean of integers is
float64, the variance of complex numbers is real.  ``where=`` masks are
supported; ``out=`` is not (arrays are immutable).

>>> import funcgrad.numpy as jnp
>>> x = jnp.array([[1, 2], [3, 4]])
>>> jnp.sum(x, axis=0), jnp.mean(x), jnp.var(x, axis=-1, keepdims=True)
(Array([4, 6], dtype=int64), Array(2.5, dtype=float64), Array([[0.25],
       [0.25]], dtype=float64))
"""
from __future__ import annotations

import operator

import numpy as np

from funcgrad import lax
from funcgrad.core import dtypes
from funcgrad.core.trace import Tracer, get_aval
from funcgrad.numpy import ufuncs
from funcgrad.numpy._ufunc_util import IMMUTABLE, convert, select
from funcgrad.numpy._util import asarray_operand, broadcast_to, canonicalize_axes, canonicalize_axis

# ------------------------------------------------------------ helpers
def _operand(a, name: str, out=None):
    if out is not None:
        raise TypeError(f"{name}: {IMMUTABLE}")
    return asarray_operand(a, name)


def _dt(x) -> np.dtype:
    return get_aval(x).dtype


def _shape(x) -> tuple[int, ...]:
    return get_aval(x).shape


def _user_dtype(dtype):
    return None if dtype is None else dtypes.canonicalize(dtype)


def _sum_dtype(dt: np.dtype) -> np.dtype:
    """NumPy's accumulator for ``sum``/``prod``/``cumsum``: bool and integers
    narrower than 64 bits widen to (u)int64."""
    if dt.kind == "b" or (dt.kind == "i" and dt.itemsize < 8):
        return dtypes.int64
    if dt.kind == "u" and dt.itemsize < 8:
        return np.dtype(np.uint64)
    return dt


def _keep(result, shape, axes, keepdims: bool):
    """Reinsert reduced axes as size 1 when ``keepdims``."""
    if not keepdims:
        return result
    kept = tuple(1 if i in axes else s for i, s in enumerate(shape))
    return lax.reshape(result, kept)


def _mask(name: str, where, shape):
    """The ``where=`` mask broadcast to ``shape``, or None."""
    if where is None or where is True:
        return None
    mask = asarray_operand(where, name)
    if _dt(mask) != np.bool_:
        raise TypeError(f"{name}: where= must be a bool array, got {_dt(mask).name}")
    return broadcast_to(mask, shape, name)


def _count(shape, axes) -> int:
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def _reduce(kind: str, x, axes):
    """``lax.reduce_<kind>``, with the bool forms NumPy implies."""
    if _dt(x) == np.bool_:
        kind = {"sum": "or", "prod": "and", "max": "or", "min": "and"}.get(kind, kind)
    return getattr(lax, f"reduce_{kind}")(x, axes)


def _identity(kind: str, dt: np.dtype):
    if kind == "sum":
        return np.zeros((), dt)
    if kind == "prod":
        return np.ones((), dt)
    if dt.kind == "f":
        return np.asarray(-np.inf if kind == "max" else np.inf, dt)
    if dt.kind == "b":
        return np.asarray(kind == "min")
    info = np.iinfo(dt)
    return np.asarray(info.min if kind == "max" else info.max, dt)


# ------------------------------------------------------- sums, products
def _sum_like(kind, name, a, axis, dtype, out, keepdims, initial, where):
    x = _operand(a, name, out)
    dt = _user_dtype(dtype) or _sum_dtype(_dt(x))
    x = convert(x, dt)
    shape = _shape(x)
    axes = canonicalize_axes(axis, len(shape), name)
    mask = _mask(name, where, shape)
    if mask is not None:
        x = select(mask, x, _identity(kind, dt))
    r = _reduce(kind, x, axes)
    if initial is not None:
        init = convert(asarray_operand(initial, name), dt)
        r = (ufuncs.add if kind == "sum" else ufuncs.multiply)(r, init)
    return _keep(r, shape, axes, keepdims)


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None,  # noqa: A001
        where=None, promote_integers=True):
    """Sum of elements over ``axis``; bool and small integers sum to int64.

    >>> sum(jnp.array([[1, 2], [3, 4]]), axis=1)
    Array([3, 7], dtype=int64)
    """
    return _sum_like("sum", "sum", a, axis, dtype, out, keepdims, initial, where)


def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None,
         promote_integers=True):
    """Product of elements over ``axis`` (same dtype rules as :func:`sum`).

    >>> prod(jnp.array([1.0, 2.0, 3.0]))
    Array(6., dtype=float64)
    """
    return _sum_like("prod", "prod", a, axis, dtype, out, keepdims, initial, where)


# ------------------------------------------------------------- extrema
def _extremum(kind, name, a, axis, out, keepdims, initial, where):
    x = _operand(a, name, out)
    dt = _dt(x)
    if dt.kind == "c":
        raise TypeError(f"{name}: complex arrays are not supported")
    shape = _shape(x)
    axes = canonicalize_axes(axis, len(shape), name)
    mask = _mask(name, where, shape)
    op = "maximum" if kind == "max" else "minimum"
    if initial is None:
        if mask is not None:
            raise ValueError(f"reduction operation '{op}' does not have an identity, so to "
                             f"use a where mask one has to specify 'initial'")
        if _count(shape, axes) == 0:
            raise ValueError(f"zero-size array to reduction operation {op} which has no "
                             f"identity")
    if mask is not None:
        x = select(mask, x, _identity(kind, dt))
    r = _reduce(kind, x, axes)
    if initial is not None:
        r = getattr(ufuncs, op)(r, convert(asarray_operand(initial, name), dt))
    return _keep(r, shape, axes, keepdims)


def max(a, axis=None, out=None, keepdims=False, initial=None, where=None):  # noqa: A001
    """Maximum over ``axis`` (nan propagates; an empty reduction needs ``initial``).

    >>> max(jnp.array([[1, 5], [3, 2]]), axis=0)
    Array([3, 5], dtype=int64)
    """
    return _extremum("max", "max", a, axis, out, keepdims, initial, where)


def min(a, axis=None, out=None, keepdims=False, initial=None, where=None):  # noqa: A001
    """Minimum over ``axis`` (nan propagates; an empty reduction needs ``initial``)."""
    return _extremum("min", "min", a, axis, out, keepdims, initial, where)


amax, amin = max, min


def ptp(a, axis=None, out=None, keepdims=False):
    """Peak to peak: ``max - min`` over ``axis``.

    >>> ptp(jnp.array([4, 9, 2]))
    Array(7, dtype=int64)
    """
    return ufuncs.subtract(max(a, axis, out, keepdims), min(a, axis, None, keepdims))


def _arg_extremum(name, a, axis, out, keepdims):
    x = _operand(a, name, out)
    shape = _shape(x)
    if axis is None:
        flat = lax.reshape(x, (get_aval(x).size,)) if len(shape) != 1 else x
        if get_aval(flat).size == 0:
            raise ValueError(f"attempt to get {name} of an empty sequence")
        r = getattr(lax, name)(flat, 0, dtypes.int64)
        return lax.reshape(r, (1,) * len(shape)) if keepdims else r
    ax = canonicalize_axis(operator.index(axis), len(shape), name)
    if shape[ax] == 0:
        raise ValueError(f"attempt to get {name} of an empty sequence")
    return _keep(getattr(lax, name)(x, ax, dtypes.int64), shape, (ax,), keepdims)


def argmax(a, axis=None, out=None, *, keepdims=False):
    """Index of the (first) maximum along ``axis``, of the flattened array if
    ``axis`` is None; nan counts as the maximum.

    >>> argmax(jnp.array([[1, 5], [7, 2]])), argmax(jnp.array([[1, 5], [7, 2]]), axis=1)
    (Array(2, dtype=int64), Array([1, 0], dtype=int64))
    """
    return _arg_extremum("argmax", a, axis, out, keepdims)


def argmin(a, axis=None, out=None, *, keepdims=False):
    """Index of the (first) minimum along ``axis``; nan counts as the minimum."""
    return _arg_extremum("argmin", a, axis, out, keepdims)


# ------------------------------------------------------------- logical
def _truth_reduce(kind, name, a, axis, out, keepdims, where):
    x = _operand(a, name, out)
    x = x if _dt(x) == np.bool_ else ufuncs.not_equal(x, 0)
    shape = _shape(x)
    axes = canonicalize_axes(axis, len(shape), name)
    mask = _mask(name, where, shape)
    if mask is not None:
        x = select(mask, x, np.asarray(kind == "and"))
    return _keep(getattr(lax, f"reduce_{kind}")(x, axes), shape, axes, keepdims)


def all(a, axis=None, out=None, keepdims=False, *, where=None):  # noqa: A001
    """Whether every element over ``axis`` is true (non-zero).

    >>> all(jnp.array([1, 2, 0])), all(jnp.array([[True], [True]]), axis=0)
    (Array(False, dtype=bool), Array([ True], dtype=bool))
    """
    return _truth_reduce("and", "all", a, axis, out, keepdims, where)


def any(a, axis=None, out=None, keepdims=False, *, where=None):  # noqa: A001
    """Whether some element over ``axis`` is true (non-zero)."""
    return _truth_reduce("or", "any", a, axis, out, keepdims, where)


def count_nonzero(a, axis=None, *, keepdims=False):
    """Number of non-zero elements over ``axis`` (int64).

    >>> count_nonzero(jnp.array([[0, 1], [2, 0]]), axis=0)
    Array([1, 1], dtype=int64)
    """
    x = asarray_operand(a, "count_nonzero")
    return sum(ufuncs.not_equal(x, 0), axis=axis, dtype=dtypes.int64, keepdims=keepdims)


# ------------------------------------------------------ means, variances
def _mean_dtypes(dt: np.dtype, dtype) -> tuple[np.dtype, np.dtype]:
    """(computation dtype, result dtype) of a mean, as NumPy chooses them."""
    if dtype is not None:
        dtype = dtypes.canonicalize(dtype)
        return dtype, dtype
    if dt.kind in "biu":
        return dtypes.float64, dtypes.float64
    if dt == np.float16:
        return dtypes.float32, dt
    return dt, dt


def _real_dtype(dt: np.dtype) -> np.dtype:
    return np.dtype(dt.char.lower()) if dt.kind == "c" else dt


def _mean_parts(name, x, axis, dtype, where):
    """(sum in the computation dtype, count, axes, mask, result dtype)."""
    shape = _shape(x)
    axes = canonicalize_axes(axis, len(shape), name)
    comp, res = _mean_dtypes(_dt(x), dtype)
    xc = convert(x, comp)
    mask = _mask(name, where, shape)
    if mask is None:
        total = lax.reduce_sum(xc, axes) if comp.kind != "b" else _reduce("sum", xc, axes)
        count = float(_count(shape, axes))
    else:
        total = lax.reduce_sum(select(mask, xc, np.zeros((), comp)), axes)
        count = lax.reduce_sum(convert(mask, _real_dtype(comp)), axes)
    return total, count, axes, mask, res


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Arithmetic mean over ``axis``; float64 for integer input, float16
    accumulated in float32, as in NumPy.

    >>> mean(jnp.array([[1, 2], [3, 5]]), axis=0)
    Array([2. , 3.5], dtype=float64)
    """
    x = _operand(a, "mean", out)
    total, count, axes, _, res = _mean_parts("mean", x, axis, dtype, where)
    r = convert(ufuncs.true_divide(total, count), res)
    return _keep(r, _shape(x), axes, keepdims)


def _ddof(ddof, correction):
    if correction is not None:
        if ddof not in (0, None):
            raise ValueError("var/std: ddof and correction can't be provided simultaneously")
        return correction
    return ddof or 0


def _squared_deviations(x, center):
    d = ufuncs.subtract(x, center)
    if _dt(d).kind == "c":
        re, im = lax.real(d), lax.imag(d)
        return lax.add(lax.mul(re, re), lax.mul(im, im))
    return lax.mul(d, d)


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
        mean=None, correction=None):
    """Variance over ``axis``, ``sum(|x - mean|**2) / (n - ddof)``, computed
    by centring first (no cancellation); real for complex input.

    >>> var(jnp.array([1.0, 2.0, 3.0, 4.0])), var(jnp.array([1.0, 2.0, 3.0, 4.0]), ddof=1)
    (Array(1.25, dtype=float64), Array(1.66666667, dtype=float64))
    """
    x = _operand(a, "var", out)
    ddof = _ddof(ddof, correction)
    shape = _shape(x)
    total, count, axes, mask, res = _mean_parts("var", x, axis, dtype, where)
    comp = _dt(total)
    if mean is None:
        center = _keep(ufuncs.true_divide(total, count), shape, axes, True)
    else:
        center = convert(asarray_operand(mean, "var"), comp)
    sq = _squared_deviations(convert(x, comp), center)
    if mask is not None:
        sq = select(mask, sq, np.zeros((), _dt(sq)))
    ss = lax.reduce_sum(sq, axes)
    denom = ufuncs.maximum(ufuncs.subtract(count, ddof), 0)
    r = ufuncs.true_divide(ss, denom)
    return _keep(convert(r, _real_dtype(res)), shape, axes, keepdims)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
        mean=None, correction=None):
    """Standard deviation over ``axis``: the square root of :func:`var`.

    >>> std(jnp.array([1.0, 3.0]))
    Array(1., dtype=float64)
    """
    v = var(a, axis, dtype, out, ddof, keepdims, where=where, mean=mean, correction=correction)
    return lax.sqrt(v)


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """Weighted mean over ``axis``; with ``returned``, also the sum of the
    weights (broadcast to the result's shape).

    >>> average(jnp.array([1.0, 2.0, 4.0]), weights=jnp.array([1.0, 1.0, 2.0]))
    Array(2.75, dtype=float64)
    """
    x = asarray_operand(a, "average")
    shape = _shape(x)
    if weights is None:
        avg = mean(x, axis, keepdims=keepdims)
        axes = canonicalize_axes(axis, len(shape), "average")
        scl = np.asarray(_count(shape, axes), _dt(avg))
        if returned:
            return avg, broadcast_to(convert(scl, _dt(avg)), _shape(avg))
        return avg
    w = asarray_operand(weights, "average")
    wshape = _shape(w)
    axes = canonicalize_axes(axis, len(shape), "average")
    if wshape != shape:
        if axis is None:
            raise TypeError("average: axis must be specified when shapes of a and weights differ")
        if len(wshape) != len(axes) or tuple(shape[i] for i in axes) != wshape:
            raise ValueError("average: shape of weights must be consistent with shape of a "
                             "along the specified axis")
        # Place the weights' axes where they belong in a.
        order = sorted(range(len(axes)), key=lambda i: axes[i])
        if order != list(range(len(axes))):
            w = lax.transpose(w, tuple(order))
        w = lax.reshape(w, tuple(s if i in axes else 1 for i, s in enumerate(shape)))
        w = broadcast_to(w, shape, "average")
    x_dt, w_dt = _dt(x), _dt(w)
    if x_dt.kind in "biu":
        res = np.result_type(x_dt, w_dt, np.float64)
    else:
        res = np.result_type(x_dt, w_dt)
    res = dtypes.canonicalize(res)
    xc, wc = convert(x, res), convert(w, res)
    scl = _reduce("sum", wc, axes)
    if not isinstance(w, Tracer) and np.any(np.asarray(scl) == 0):
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    avg = ufuncs.true_divide(_reduce("sum", lax.mul(xc, wc), axes), scl)
    avg = _keep(avg, shape, axes, keepdims)
    if returned:
        return avg, broadcast_to(_keep(scl, shape, axes, keepdims), _shape(avg))
    return avg


# ---------------------------------------------------------- cumulative
def _cumulative(kind, name, a, axis, dtype, include_initial=False, require_axis=False):
    x = asarray_operand(a, name)
    dt = _user_dtype(dtype) or _sum_dtype(_dt(x))
    x = convert(x, dt)
    shape = _shape(x)
    if axis is None:
        if require_axis and len(shape) > 1:
            raise ValueError(f"{name}: axis must be specified for arrays of more than one "
                             f"dimension")
        if len(shape) != 1:
            x = lax.reshape(x, (get_aval(x).size,))
        ax = 0
    else:
        ax = canonicalize_axis(operator.index(axis), len(shape), name)
    if dt == np.bool_:
        # cumsum with dtype=bool is a running "or"; cumprod a running "and".
        x8 = convert(x, np.dtype(np.int8))
        r = convert(getattr(lax, "cummax" if kind == "sum" else "cummin")(x8, ax), dt)
    else:
        r = getattr(lax, f"cum{kind}")(x, ax)
    if include_initial:
        config = [(0, 0, 0)] * get_aval(r).ndim
        config[ax] = (1, 0, 0)
        r = lax.pad(r, _identity(kind, dt), config)
    return r


def cumsum(a, axis=None, dtype=None, out=None):
    """Cumulative sum along ``axis`` (of the flattened array if None).

    >>> cumsum(jnp.array([[1, 2], [3, 4]]), axis=1)
    Array([[1, 3],
           [3, 7]], dtype=int64)
    """
    if out is not None:
        raise TypeError(f"cumsum: {IMMUTABLE}")
    return _cumulative("sum", "cumsum", a, axis, dtype)


def cumprod(a, axis=None, dtype=None, out=None):
    """Cumulative product along ``axis`` (of the flattened array if None)."""
    if out is not None:
        raise TypeError(f"cumprod: {IMMUTABLE}")
    return _cumulative("prod", "cumprod", a, axis, dtype)


def cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """The array API's cumulative sum: ``axis`` is required beyond 1-d, and
    ``include_initial`` prepends a 0.

    >>> cumulative_sum(jnp.array([1, 2, 3]), include_initial=True)
    Array([0, 1, 3, 6], dtype=int64)
    """
    if out is not None:
        raise TypeError(f"cumulative_sum: {IMMUTABLE}")
    return _cumulative("sum", "cumulative_sum", x, axis, dtype, include_initial, True)


def cumulative_prod(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """The array API's cumulative product (``include_initial`` prepends a 1)."""
    if out is not None:
        raise TypeError(f"cumulative_prod: {IMMUTABLE}")
    return _cumulative("prod", "cumulative_prod", x, axis, dtype, include_initial, True)


# --------------------------------------------------------- nan-ignoring
def _without_nan(a, name, fill):
    x = asarray_operand(a, name)
    if _dt(x).kind not in "fc":
        return x, None
    nan = ufuncs.isnan(x)
    return select(nan, np.asarray(fill, _dt(x)), x), nan


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """:func:`sum` treating nan as zero.

    >>> nansum(jnp.array([1.0, jnp.nan, 2.0]))
    Array(3., dtype=float64)
    """
    return sum(_without_nan(a, "nansum", 0)[0], axis, dtype, out, keepdims, initial, where)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """:func:`prod` treating nan as one."""
    return prod(_without_nan(a, "nanprod", 1)[0], axis, dtype, out, keepdims, initial, where)


def nancumsum(a, axis=None, dtype=None, out=None):
    """:func:`cumsum` treating nan as zero."""
    return cumsum(_without_nan(a, "nancumsum", 0)[0], axis, dtype, out)


def nancumprod(a, axis=None, dtype=None, out=None):
    """:func:`cumprod` treating nan as one."""
    return cumprod(_without_nan(a, "nancumprod", 1)[0], axis, dtype, out)


def _nan_extremum(kind, name, a, axis, out, keepdims, initial, where):
    x = _operand(a, name, out)
    if _dt(x).kind != "f":
        return _extremum(kind, name, x, axis, None, keepdims, initial, where)
    nan = ufuncs.isnan(x)
    filled = select(nan, _identity(kind, _dt(x)), x)
    r = _extremum(kind, name, filled, axis, None, keepdims, initial, where)
    if initial is None:
        # All-nan slices give nan (NumPy warns).
        r = select(all(nan, axis, keepdims=keepdims, where=where), np.asarray(np.nan, _dt(x)), r)
    return r


def nanmax(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """Maximum ignoring nan (nan for all-nan slices).

    >>> nanmax(jnp.array([1.0, jnp.nan, 3.0]))
    Array(3., dtype=float64)
    """
    return _nan_extremum("max", "nanmax", a, axis, out, keepdims, initial, where)


def nanmin(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """Minimum ignoring nan (nan for all-nan slices)."""
    return _nan_extremum("min", "nanmin", a, axis, out, keepdims, initial, where)


def _nan_arg(name, a, axis, out, keepdims):
    x = _operand(a, name, out)
    if _dt(x).kind != "f":
        return _arg_extremum(name[3:], x, axis, None, keepdims)
    nan = ufuncs.isnan(x)
    filled = select(nan, np.asarray(-np.inf if name == "nanargmax" else np.inf, _dt(x)), x)
    idx = _arg_extremum(name[3:], filled, axis, None, keepdims)
    # All-nan slices: -1 (NumPy raises, which traced values cannot do).
    return select(all(nan, axis, keepdims=keepdims), np.asarray(-1, dtypes.int64), idx)


def nanargmax(a, axis=None, out=None, *, keepdims=False):
    """:func:`argmax` ignoring nan; -1 for all-nan slices."""
    return _nan_arg("nanargmax", a, axis, out, keepdims)


def nanargmin(a, axis=None, out=None, *, keepdims=False):
    """:func:`argmin` ignoring nan; -1 for all-nan slices."""
    return _nan_arg("nanargmin", a, axis, out, keepdims)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Mean ignoring nan (nan for all-nan slices).

    >>> nanmean(jnp.array([1.0, jnp.nan, 3.0]))
    Array(2., dtype=float64)
    """
    x = _operand(a, "nanmean", out)
    filled, nan = _without_nan(x, "nanmean", 0)
    if nan is None:
        return mean(x, axis, dtype, None, keepdims, where=where)
    valid = ufuncs.logical_not(nan)
    if where is not None and where is not True:
        valid = ufuncs.logical_and(valid, where)
    total = sum(filled, axis, dtype, None, keepdims, where=valid)
    count = sum(valid, axis, dtypes.int64, None, keepdims)
    return convert(ufuncs.true_divide(total, count), _dt(total))


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
           mean=None, correction=None):
    """Variance ignoring nan (nan for all-nan slices)."""
    x = _operand(a, "nanvar", out)
    if _dt(x).kind not in "fc":
        return var(x, axis, dtype, None, ddof, keepdims, where=where, mean=mean,
                   correction=correction)
    valid = ufuncs.logical_not(ufuncs.isnan(x))
    if where is not None and where is not True:
        valid = ufuncs.logical_and(valid, where)
    return var(x, axis, dtype, None, ddof, keepdims, where=valid, mean=mean,
               correction=correction)


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
           mean=None, correction=None):
    """Standard deviation ignoring nan."""
    return lax.sqrt(nanvar(a, axis, dtype, out, ddof, keepdims, where=where, mean=mean,
                           correction=correction))


# ------------------------------------------------------------ quantiles
_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _sorted_last(name, x, axis):
    """``x`` with the reduced axes merged into one last axis, sorted (nan
    last); also the reduced axes."""
    shape = _shape(x)
    axes = canonicalize_axes(axis, len(shape), name)
    kept = [i for i in range(len(shape)) if i not in axes]
    if kept + list(axes) != list(range(len(shape))):
        x = lax.transpose(x, tuple(kept + list(axes)))
    x = lax.reshape(x, tuple(shape[i] for i in kept) + (_count(shape, axes),))
    return lax.sort(x, dimension=get_aval(x).ndim - 1), axes


def _take_last(x, idx):
    """``x[..., idx]`` for an integer index array ``idx`` (shape Q), giving
    shape ``Q + x.shape[:-1]``."""
    idx = asarray_operand(idx, "quantile")
    idx_shape = _shape(idx)
    rows = lax.reshape(convert(idx, dtypes.int64), idx_shape + (1,))
    return lax.gather(x, rows, axes=(get_aval(x).ndim - 1,), mode="clip")


def _take_last_per_slice(x, idx):
    """``x[..., idx[q, ...]]`` with one index per slice (``idx`` of shape
    ``Q + x.shape[:-1]``), by masking along the last axis."""
    n = _shape(x)[-1]
    q_nd = get_aval(idx).ndim - (get_aval(x).ndim - 1)
    full = _shape(idx) + (n,)
    pos = lax.broadcasted_iota(dtypes.int64, full, len(full) - 1)
    hit = lax.eq(pos, broadcast_to(lax.reshape(idx, _shape(idx) + (1,)), full))
    xb = broadcast_to(lax.reshape(x, (1,) * q_nd + _shape(x)), full)
    # Exactly one element per row is selected, so the sum is that element.
    return _reduce("sum", select(hit, xb, np.zeros((), _dt(x))), (len(full) - 1,))


def _lerp(a, b, t):
    """NumPy's interpolation (exact at both ends)."""
    diff = ufuncs.subtract(b, a)
    low = ufuncs.add(a, ufuncs.multiply(diff, t))
    high = ufuncs.subtract(b, ufuncs.multiply(diff, ufuncs.subtract(1, t)))
    return ufuncs.where(ufuncs.greater_equal(t, 0.5), high, low)


def _check_q(q, lo_hi, what):
    if not isinstance(q, Tracer):
        qv = np.asarray(q)
        if qv.size and not (np.all(qv >= 0) and np.all(qv <= lo_hi)):
            raise ValueError(f"{what} must be in the range [0, {lo_hi}]")


def _quantile(name, x, q, axis, method, keepdims, ignore_nan, weak_q):
    if method not in _METHODS:
        raise NotImplementedError(f"{name}: method={method!r} is not supported; use one of "
                                  f"{', '.join(_METHODS)}")
    shape = _shape(x)
    s, axes = _sorted_last(name, x, axis)
    n = _shape(s)[-1]
    q = asarray_operand(q, name)
    q_nd = get_aval(q).ndim
    if n == 0:
        raise ValueError(f"{name}: cannot take a quantile of an empty slice")
    # Ignoring nan needs one valid count, so one index, per slice.
    per_slice = ignore_nan and _dt(s).kind == "f"
    if per_slice:
        # Per-slice count of non-nan values; nan sorts last.
        count = lax.reduce_sum(convert(ufuncs.logical_not(ufuncs.isnan(s)), dtypes.int64),
                               (get_aval(s).ndim - 1,))
        last = lax.reshape(convert(count, _dt(q)), (1,) * q_nd + _shape(count))
        last = ufuncs.subtract(last, 1)
        q = lax.reshape(q, _shape(q) + (1,) * (get_aval(s).ndim - 1)) if q_nd else q
        take = _take_last_per_slice
    else:
        last = n - 1
        take = _take_last
    if _dt(q).kind in "iu" and method == "linear":
        method = "lower"  # integer virtual indices need no interpolation (NumPy)
    vi = ufuncs.multiply(last, q)
    # The largest valid index (0 for all-nan slices, whose first value is nan).
    cap = ufuncs.maximum(convert(last, dtypes.int64), 0) if per_slice else n - 1
    if method in ("lower", "higher", "nearest"):
        fn = {"lower": ufuncs.floor, "higher": ufuncs.ceil, "nearest": ufuncs.rint}[method]
        idx = ufuncs.clip(convert(fn(vi), dtypes.int64), 0, cap)
        result = take(s, idx)
    else:
        prev = ufuncs.floor(vi)
        gamma = ufuncs.subtract(vi, prev)
        if method == "midpoint":
            gamma = ufuncs.where(ufuncs.equal(gamma, 0), 0.0, 0.5)
            gamma = convert(gamma, _dt(vi) if _dt(vi).kind == "f" else dtypes.float64)
        above = ufuncs.greater_equal(vi, last)
        prev_i = convert(prev, dtypes.int64)
        prev_i = ufuncs.where(above, cap, ufuncs.clip(prev_i, 0, cap))
        next_i = ufuncs.where(above, prev_i, ufuncs.add(prev_i, 1))
        lo, hi = take(s, prev_i), take(s, next_i)
        if weak_q:
            gamma = convert(gamma, _dt(gamma), True)  # the array's dtype decides
        elif not per_slice:
            gamma = lax.reshape(gamma, _shape(gamma) + (1,) * (get_aval(s).ndim - 1))
        result = _lerp(lo, hi, gamma)
    if not ignore_nan and _dt(s).kind == "f":
        last_vals = lax.index_in_dim(s, n - 1, axis=get_aval(s).ndim - 1, keepdims=False)
        result = ufuncs.where(ufuncs.isnan(last_vals), last_vals, result)
    if keepdims:
        kept = tuple(1 if i in axes else d for i, d in enumerate(shape))
        result = lax.reshape(result, _shape(q)[:q_nd] + kept)
    return result


def _quantile_q(a, q, name, percent: bool):
    """``(a, q, weak_q)``: ``q`` as a strongly typed array (float64 for
    Python floats; percentiles divided by 100).  A Python scalar ``q`` is
    *weak*: it does not widen a float32 result (NumPy 2.4's rule)."""
    x = asarray_operand(a, name)
    if _dt(x).kind == "c":
        raise TypeError(f"{name}: a must be an array of real numbers")
    weak_q = type(q) in (int, float)
    _check_q(q, 100 if percent else 1, "Percentiles" if percent else "Quantiles")
    q = asarray_operand(q, name)
    if percent:
        q = ufuncs.true_divide(q, 100)
    return x, convert(q, _dt(q)), weak_q


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None, interpolation=None):
    """The ``q``-th quantiles over ``axis`` (``q`` in [0, 1], any shape, may
    be traced); methods linear (default), lower, higher, midpoint, nearest.
    The result has shape ``q.shape + reduced shape``; nan propagates.

    >>> quantile(jnp.array([1.0, 2.0, 3.0, 4.0]), jnp.array([0.25, 0.5]))
    Array([1.75, 2.5 ], dtype=float64)
    """
    if out is not None:
        raise TypeError(f"quantile: {IMMUTABLE}")
    if weights is not None:
        raise NotImplementedError("quantile: weights= is not supported")
    x, q, weak_q = _quantile_q(a, q, "quantile", False)
    return _quantile("quantile", x, q, axis, interpolation or method, keepdims, False, weak_q)


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None, interpolation=None):
    """The ``q``-th percentiles (``q`` in [0, 100]); see :func:`quantile`.

    >>> percentile(jnp.arange(5.0), 50)
    Array(2., dtype=float64)
    """
    if out is not None:
        raise TypeError(f"percentile: {IMMUTABLE}")
    if weights is not None:
        raise NotImplementedError("percentile: weights= is not supported")
    x, q, weak_q = _quantile_q(a, q, "percentile", True)
    return _quantile("percentile", x, q, axis, interpolation or method, keepdims, False, weak_q)


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=False, *, weights=None, interpolation=None):
    """:func:`quantile` ignoring nan (nan for all-nan slices)."""
    if out is not None:
        raise TypeError(f"nanquantile: {IMMUTABLE}")
    if weights is not None:
        raise NotImplementedError("nanquantile: weights= is not supported")
    x, q, weak_q = _quantile_q(a, q, "nanquantile", False)
    return _quantile("nanquantile", x, q, axis, interpolation or method, keepdims, True, weak_q)


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                  keepdims=False, *, weights=None, interpolation=None):
    """:func:`percentile` ignoring nan (nan for all-nan slices)."""
    if out is not None:
        raise TypeError(f"nanpercentile: {IMMUTABLE}")
    if weights is not None:
        raise NotImplementedError("nanpercentile: weights= is not supported")
    x, q, weak_q = _quantile_q(a, q, "nanpercentile", True)
    return _quantile("nanpercentile", x, q, axis, interpolation or method, keepdims, True, weak_q)


def _median(name, a, axis, out, keepdims, ignore_nan):
    x = _operand(a, name, out)
    if _dt(x).kind == "c":
        raise TypeError(f"{name}: complex input is not supported")
    shape = _shape(x)
    s, axes = _sorted_last(name, x, axis)
    n = _shape(s)[-1]
    comp, res = _mean_dtypes(_dt(s), None)
    if n == 0:
        return lax.full(_keep_shape(shape, axes, keepdims), np.nan, res)
    last_axis = get_aval(s).ndim - 1
    if ignore_nan and _dt(s).kind == "f":
        count = lax.reduce_sum(convert(ufuncs.logical_not(ufuncs.isnan(s)), dtypes.int64),
                               (last_axis,))
        top = ufuncs.maximum(ufuncs.subtract(count, 1), 0)
        lo = _take_last_per_slice(s, ufuncs.floor_divide(top, 2))
        hi = _take_last_per_slice(s, ufuncs.floor_divide(ufuncs.add(top, 1), 2))
    else:
        lo = lax.index_in_dim(s, (n - 1) // 2, axis=last_axis, keepdims=False)
        hi = lax.index_in_dim(s, n // 2, axis=last_axis, keepdims=False)
    lo, hi = convert(lo, comp), convert(hi, comp)
    # NumPy's median is the mean of the middle one or two values.
    if ignore_nan and _dt(s).kind == "f":
        r = ufuncs.where(ufuncs.equal(ufuncs.remainder(top, 2), 0), lo,
                         ufuncs.true_divide(lax.add(lo, hi), 2))
    else:
        r = lo if n % 2 else ufuncs.true_divide(lax.add(lo, hi), 2)
    if not ignore_nan and _dt(s).kind == "f":
        last_vals = convert(lax.index_in_dim(s, n - 1, axis=last_axis, keepdims=False), comp)
        r = ufuncs.where(ufuncs.isnan(last_vals), last_vals, r)
    r = convert(r, res)
    return lax.reshape(r, _keep_shape(shape, axes, True)) if keepdims else r


def _keep_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if i in axes else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """Median over ``axis`` (mean of the two middle values for even counts;
    nan propagates).

    >>> median(jnp.array([[1, 4, 2], [3, 5, 6]]), axis=1)
    Array([2., 5.], dtype=float64)
    """
    return _median("median", a, axis, out, keepdims, False)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """Median ignoring nan (nan for all-nan slices)."""
    return _median("nanmedian", a, axis, out, keepdims, True)


__all__ = ["sum", "prod", "max", "min", "amax", "amin", "ptp", "argmax", "argmin", "all",
           "any", "count_nonzero", "mean", "var", "std", "average", "cumsum", "cumprod",
           "cumulative_sum", "cumulative_prod", "nansum", "nanprod", "nancumsum", "nancumprod",
           "nanmax", "nanmin", "nanargmax", "nanargmin", "nanmean", "nanvar", "nanstd",
           "quantile", "percentile", "nanquantile", "nanpercentile", "median", "nanmedian"]
