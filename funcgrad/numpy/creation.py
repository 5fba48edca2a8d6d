"""Array creation: ``array``/``asarray``, ``zeros``/``ones``/``full`` and their
``*_like`` forms, ranges (``arange``, ``linspace``, ``logspace``,
``geomspace``), ``eye``/``identity``/``tri``, ``meshgrid``, ``indices``,
``fromfunction`` and ``copy``.

Shapes and sizes are static (Python ints); values may be traced wherever
NumPy would accept an array (``full``'s fill value, ``linspace``'s
endpoints, the elements of a list given to ``array``).  Creation with
constant contents is staged as ``iota``/``broadcast`` operations rather
than embedded as large constants.

>>> import funcgrad.numpy as jnp
>>> jnp.linspace(0.0, 1.0, 5)
Array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float64)
"""
from __future__ import annotations

import builtins
import math
import operator
from typing import Sequence

import numpy as np

from funcgrad import lax
from funcgrad.core import dtypes
from funcgrad.core.array import Array
from funcgrad.core.trace import Tracer, get_aval
from funcgrad.numpy._util import (asarray_operand, broadcast_shapes, broadcast_to,
                                  canonicalize_axis, convert_to, result_type_of)


def _dtype(dt, default=None) -> np.dtype | None:
    """Canonicalise a user dtype (also ``jnp.float32`` and friends)."""
    if dt is None:
        return default
    return dtypes.canonicalize(dt)  # np.dtype understands jnp.float32 and friends


def _shape(shape, name: str) -> tuple[int, ...]:
    """A static shape from an int or a sequence of ints."""
    if isinstance(shape, Tracer):
        raise TypeError(f"{name}: shapes must be static, got a traced value "
                        f"{shape.aval.str_short()}")
    try:
        if np.ndim(shape) == 0:
            shape = (operator.index(shape),)
        shape = tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"{name}: expected a shape (an int or a sequence of ints), "
                        f"got {shape!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"{name}: negative dimensions are not allowed, got {shape}")
    return shape


def _no_order(order, name: str) -> None:
    if order not in (None, "C", "K", "A"):
        raise NotImplementedError(f"{name}: order={order!r} is not supported "
                                  f"(arrays are C-ordered)")


# --------------------------------------------------------------- array
def _contains_tracer(obj) -> bool:
    if isinstance(obj, Tracer):
        return True
    if isinstance(obj, (list, tuple)):
        return builtins.any(_contains_tracer(o) for o in obj)
    return False


def _stack_nested(obj):
    """Turn a nested list holding tracers into one traced array: leaves are
    converted, promoted together (Python scalars weakly) and stacked."""
    leaves, structure = [], []

    def collect(o):
        if isinstance(o, (list, tuple)):
            return [collect(item) for item in o]
        leaves.append(asarray_operand(o, "array"))
        return len(leaves) - 1

    structure = collect(obj)
    dt, _ = result_type_of(*leaves)
    leaves = [convert_to(leaf, dt) for leaf in leaves]

    def build(node):
        if isinstance(node, int):
            return leaves[node]
        parts = [build(n) for n in node]
        if not parts:
            raise ValueError("array: cannot stack an empty list that contains traced values")
        shapes = {get_aval(p).shape for p in parts}
        if len(shapes) != 1:
            raise ValueError(f"array: setting an array element with a sequence; the nested "
                             f"sequence is ragged (element shapes {sorted(shapes)})")
        (inner,) = shapes
        parts = [lax.reshape(p, (1,) + inner) for p in parts]
        return parts[0] if len(parts) == 1 else lax.concatenate(parts, 0)

    return build(structure)


def array(object, dtype=None, copy: bool = True, order=None, ndmin: int = 0):  # noqa: A002
    """An array from an array-like (nested lists may hold traced values).

    Python scalars become strongly typed arrays of NumPy's default dtypes.

    >>> array([[1, 2], [3, 4]], dtype=jnp.float32)
    Array([[1., 2.],
           [3., 4.]], dtype=float32)
    """
    _no_order(order, "array")
    dt = _dtype(dtype)
    if isinstance(object, (Tracer, Array)):
        out = object
        if dt is not None:
            out = convert_to(out, dt)
    elif _contains_tracer(object):
        out = _stack_nested(object)
        if dt is not None:
            out = convert_to(out, dt)
    else:
        if hasattr(object, "__jax_array__"):
            object = object.__jax_array__()
        try:
            buffer = np.array(object, dtype=dt)
        except ValueError as e:
            raise ValueError(f"array: could not convert the input to an array: {e}") from None
        if buffer.dtype == object_dtype:
            raise TypeError(f"array: cannot make an array of Python objects from "
                            f"{type(object).__name__} (ragged nested sequences or "
                            f"non-numeric elements)")
        if buffer.dtype.kind == "U" or buffer.dtype.kind == "S":
            raise TypeError("array: strings are not supported")
        dtypes.canonicalize(buffer.dtype)
        buffer.flags.writeable = False
        out = Array._from_buffer(buffer)
    ndmin = operator.index(ndmin)
    nd = get_aval(out).ndim
    if ndmin > nd:
        out = lax.reshape(out, (1,) * (ndmin - nd) + get_aval(out).shape)
    return out


object_dtype = np.dtype(object)


def asarray(a, dtype=None, order=None, *, copy=None):
    """Like :func:`array`, without copying (funcgrad arrays are immutable, so
    the distinction never shows).

    >>> asarray([1.0, 2.0]).dtype
    dtype('float64')
    """
    if copy is False and isinstance(a, np.ndarray):
        raise ValueError("asarray: copy=False is impossible, funcgrad copies NumPy arrays "
                         "into immutable buffers")
    return array(a, dtype=dtype, order=order)


def copy(a, order=None):
    """A copy of ``a``.  funcgrad arrays are immutable, so this is ``asarray``."""
    return array(a, order=order)


# ------------------------------------------------ constant-filled arrays
def full(shape, fill_value, dtype=None, *, order=None):
    """An array of ``shape`` filled with ``fill_value`` (which may be traced,
    or an array broadcast to ``shape``).

    >>> full((2, 2), 7, dtype=jnp.float32)
    Array([[7., 7.],
           [7., 7.]], dtype=float32)
    """
    _no_order(order, "full")
    shape = _shape(shape, "full")
    fill = asarray_operand(fill_value, "full")
    aval = get_aval(fill)
    dt = _dtype(dtype, aval.dtype)
    fill = convert_to(fill, dt)
    if aval.ndim == 0:
        return lax.full(shape, fill, dt)
    return broadcast_to(fill, shape, "full")


def zeros(shape, dtype=None, *, order=None):
    """An array of zeros (float64 unless ``dtype`` says otherwise).

    >>> zeros((2, 3)).shape
    (2, 3)
    """
    _no_order(order, "zeros")
    dt = _dtype(dtype, dtypes.float64)
    return lax.full(_shape(shape, "zeros"), np.zeros((), dt), dt)


def ones(shape, dtype=None, *, order=None):
    """An array of ones (float64 unless ``dtype`` says otherwise)."""
    _no_order(order, "ones")
    dt = _dtype(dtype, dtypes.float64)
    return lax.full(_shape(shape, "ones"), np.ones((), dt), dt)


def empty(shape, dtype=None, *, order=None):
    """Like :func:`zeros`: funcgrad has no uninitialised memory."""
    return zeros(shape, dtype, order=order)


def _like(name, a, dtype, shape):
    a = asarray_operand(a, name)
    aval = get_aval(a)
    dt = _dtype(dtype, aval.dtype)
    shp = aval.shape if shape is None else _shape(shape, name)
    return dt, shp


def zeros_like(a, dtype=None, shape=None, *, order=None):
    """Zeros with the shape and dtype of ``a`` (either may be overridden).

    >>> zeros_like(jnp.ones(3, jnp.int32))
    Array([0, 0, 0], dtype=int32)
    """
    _no_order(order, "zeros_like")
    dt, shp = _like("zeros_like", a, dtype, shape)
    return lax.full(shp, np.zeros((), dt), dt)


def ones_like(a, dtype=None, shape=None, *, order=None):
    """Ones with the shape and dtype of ``a`` (either may be overridden)."""
    _no_order(order, "ones_like")
    dt, shp = _like("ones_like", a, dtype, shape)
    return lax.full(shp, np.ones((), dt), dt)


def empty_like(prototype, dtype=None, shape=None, *, order=None):
    """Like :func:`zeros_like`."""
    return zeros_like(prototype, dtype, shape, order=order)


def full_like(a, fill_value, dtype=None, shape=None, *, order=None):
    """``fill_value`` (cast to ``a``'s dtype) with the shape of ``a``.

    >>> full_like(jnp.zeros(2, jnp.int64), 2.7)
    Array([2, 2], dtype=int64)
    """
    _no_order(order, "full_like")
    dt, shp = _like("full_like", a, dtype, shape)
    return full(shp, fill_value, dt)


# --------------------------------------------------------------- ranges
def _static_scalar(x, name: str, what: str):
    if isinstance(x, Tracer):
        raise TypeError(f"{name}: {what} must be a static value (arrays need a static size), "
                        f"got a traced value {x.aval.str_short()}")
    if isinstance(x, Array):
        x = x._value
    if np.ndim(x) != 0:
        raise ValueError(f"{name}: {what} must be a scalar, got shape {np.shape(x)}")
    return x.item() if isinstance(x, (np.ndarray, np.generic)) else x


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in ``[start, stop)``; the arguments must be static.

    The dtype follows NumPy: int64 for Python ints, float64 once a float is
    involved.

    >>> arange(5), arange(0.0, 1.0, 0.25)
    (Array([0, 1, 2, 3, 4], dtype=int64), Array([0.  , 0.25, 0.5 , 0.75], dtype=float64))
    """
    start = _static_scalar(start, "arange", "start")
    if stop is None:
        start, stop = 0, start
    else:
        stop = _static_scalar(stop, "arange", "stop")
    step = 1 if step is None else _static_scalar(step, "arange", "step")
    if step == 0:
        raise ZeroDivisionError("arange: step must not be zero")
    dt = _dtype(dtype) or dtypes.canonicalize(np.array([start, stop, step]).dtype)
    n = builtins.max(0, math.ceil((stop - start) / step))
    if dt.kind in "iu" and builtins.all(float(v).is_integer() for v in (start, step)):
        idx = lax.iota(dt, n)
        if step != 1:
            idx = lax.mul(idx, np.asarray(step, dt))
        return lax.add(idx, np.asarray(start, dt)) if start != 0 else idx
    if dt.kind in "fc":
        # NumPy fills start + i * delta with delta = (start + step) - start
        # computed in the result dtype.
        first = np.asarray(start, dt)
        delta = np.asarray(np.asarray(start + step, dt) - first, dt)
        idx = lax.convert_element_type(lax.iota(dtypes.int64, n), dt)
        return lax.add(lax.mul(idx, delta), first)
    # Rare combinations (e.g. a bool dtype or fractional steps with an
    # integer dtype): NumPy's own result, as a constant.
    return array(np.arange(start, stop, step, dtype=dt))


def _linspace_parts(name, start, stop, num, endpoint, dtype, axis):
    num = operator.index(_static_scalar(num, name, "num"))
    if num < 0:
        raise ValueError(f"{name}: number of samples, {num}, must be non-negative")
    start = asarray_operand(start, name)
    stop = asarray_operand(stop, name)
    dt, _ = result_type_of(start, stop, float(num))
    dt = dtypes.canonicalize(dt)
    if dt.kind not in "fc":
        dt = dtypes.float64
    out_dt = _dtype(dtype, dt)
    start, stop = convert_to(start, dt), convert_to(stop, dt)
    bshape = broadcast_shapes(name, get_aval(start).shape, get_aval(stop).shape)
    start, stop = broadcast_to(start, bshape, name), broadcast_to(stop, bshape, name)
    axis = canonicalize_axis(axis, len(bshape) + 1, name)
    return num, start, stop, dt, out_dt, bshape, axis


def _move_first_axis(x, axis: int):
    """Move axis 0 of ``x`` to position ``axis``."""
    if axis == 0:
        return x
    nd = get_aval(x).ndim
    perm = list(range(1, nd))
    perm.insert(axis, 0)
    return lax.transpose(x, tuple(perm))


def linspace(start, stop, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype=None, axis: int = 0):
    """``num`` evenly spaced samples from ``start`` to ``stop`` (inclusive
    unless ``endpoint=False``).  ``start``/``stop`` may be arrays (giving one
    range per element, along ``axis``) and may be traced; ``num`` is static.

    >>> linspace(0.0, 1.0, 4, endpoint=False, retstep=True)
    (Array([0.  , 0.25, 0.5 , 0.75], dtype=float64), Array(0.25, dtype=float64))
    """
    num, start, stop, dt, out_dt, bshape, axis = _linspace_parts(
        "linspace", start, stop, num, endpoint, dtype, axis)
    div = num - 1 if endpoint else num
    out_shape = (num,) + bshape
    delta = lax.sub(stop, start)
    idx = lax.broadcasted_iota(dt, out_shape, 0)
    delta_b = broadcast_to(delta, out_shape, "linspace")
    start_b = broadcast_to(start, out_shape, "linspace")
    if div > 0:
        div_c = np.asarray(div, dt)
        step = lax.div(delta, div_c)
        step_b = broadcast_to(step, out_shape, "linspace")
        # NumPy scales by delta/div unless the step underflows to zero.
        y = lax.select(lax.eq(step_b, np.zeros((), dt)),
                       lax.mul(lax.div(idx, div_c), delta_b),
                       lax.mul(idx, step_b))
    else:
        step = lax.full(bshape, np.asarray(np.nan, dt), dt)
        y = lax.mul(idx, delta_b)
    y = lax.add(y, start_b)
    if endpoint and num > 1:
        is_last = lax.eq(lax.broadcasted_iota(dtypes.int64, out_shape, 0),
                         np.asarray(num - 1, dtypes.int64))
        y = lax.select(is_last, broadcast_to(stop, out_shape, "linspace"), y)
    y = _move_first_axis(y, axis)
    if out_dt.kind in "iu":
        y = lax.floor(y) if dt.kind == "f" else y
    y = convert_to(y, out_dt)
    if retstep:
        return y, step
    return y


def logspace(start, stop, num: int = 50, endpoint: bool = True, base=10.0, dtype=None,
             axis: int = 0):
    """``base ** linspace(start, stop, num)``; ``base`` may be an array too.

    >>> logspace(0.0, 2.0, 3)
    Array([  1.,  10., 100.], dtype=float64)
    """
    from funcgrad.numpy.ufuncs import power
    ops = [asarray_operand(v, "logspace") for v in (start, stop, base)]
    ndmax = len(broadcast_shapes("logspace", *[get_aval(o).shape for o in ops]))
    start, stop, base = [_ndmin(o, ndmax) for o in ops]
    y = linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    bshape = get_aval(base).shape
    ax = canonicalize_axis(axis, len(bshape) + 1, "logspace")
    base = lax.reshape(base, bshape[:ax] + (1,) + bshape[ax:]) if bshape else base
    out = power(base, y)
    return out if dtype is None else convert_to(out, _dtype(dtype))


def _ndmin(x, nd: int):
    aval = get_aval(x)
    if aval.ndim >= nd:
        return x
    return lax.reshape(x, (1,) * (nd - aval.ndim) + aval.shape)


def geomspace(start, stop, num: int = 50, endpoint: bool = True, dtype=None, axis: int = 0):
    """Samples evenly spaced on a log scale from ``start`` to ``stop``, whose
    signs must agree (real values only).

    >>> geomspace(1.0, 1000.0, 4)
    Array([   1.,   10.,  100., 1000.], dtype=float64)
    """
    from funcgrad.numpy import ufuncs
    start = asarray_operand(start, "geomspace")
    stop = asarray_operand(stop, "geomspace")
    for v in (start, stop):
        if get_aval(v).dtype.kind == "c":
            raise NotImplementedError("geomspace: complex endpoints are not supported")
        if not isinstance(v, Tracer) and np.any(np.asarray(v) == 0):
            raise ValueError("geomspace: Geometric sequence cannot include zero")
    num = operator.index(_static_scalar(num, "geomspace", "num"))
    # NumPy: result_type(start * 1.0, stop * 1.0, float(num), zeros((), dtype)),
    # so float64 unless a dtype is given.
    pairs = [(_inexact(get_aval(v).dtype), get_aval(v).weak_type) for v in (start, stop)]
    pairs.append((_dtype(dtype, dtypes.float64), False))
    dt = dtypes.canonicalize(dtypes.promote(pairs)[0])
    if dt.kind not in "fc":
        dt = dtypes.float64
    start, stop = convert_to(start, dt), convert_to(stop, dt)
    bshape = broadcast_shapes("geomspace", get_aval(start).shape, get_aval(stop).shape)
    start, stop = broadcast_to(start, bshape), broadcast_to(stop, bshape)
    sign = lax.sign(start)
    start, stop = lax.div(start, sign), lax.div(stop, sign)
    log_start, log_stop = ufuncs.log10(start), ufuncs.log10(stop)
    result = logspace(log_start, log_stop, num=num, endpoint=endpoint, base=10.0, axis=0)
    if num > 0:
        out_shape = (num,) + bshape
        pos = lax.broadcasted_iota(dtypes.int64, out_shape, 0)
        result = lax.select(lax.eq(pos, np.zeros((), dtypes.int64)),
                            broadcast_to(start, out_shape), result)
        if num > 1 and endpoint:
            result = lax.select(lax.eq(pos, np.asarray(num - 1, dtypes.int64)),
                                broadcast_to(stop, out_shape), result)
    result = lax.mul(result, broadcast_to(sign, get_aval(result).shape))
    result = _move_first_axis(result, canonicalize_axis(axis, len(bshape) + 1, "geomspace"))
    return result if dtype is None else convert_to(result, _dtype(dtype))


def _inexact(dt: np.dtype) -> np.dtype:
    return dt if dt.kind in "fc" else dtypes.float64


# ------------------------------------------------------------ matrices
def _n(x, name, what):
    x = _static_scalar(x, name, what)
    x = operator.index(x)
    if x < 0:
        raise ValueError(f"{name}: {what} must be non-negative, got {x}")
    return x


def eye(N, M=None, k: int = 0, dtype=None, *, order=None):
    """A 2-d array with ones on the ``k``-th diagonal and zeros elsewhere.

    >>> eye(2, 3, k=1, dtype=jnp.int32)
    Array([[0, 1, 0],
           [0, 0, 1]], dtype=int32)
    """
    _no_order(order, "eye")
    N = _n(N, "eye", "N")
    M = N if M is None else _n(M, "eye", "M")
    k = operator.index(_static_scalar(k, "eye", "k"))
    dt = _dtype(dtype, dtypes.float64)
    rows = lax.broadcasted_iota(dtypes.int64, (N, M), 0)
    cols = lax.broadcasted_iota(dtypes.int64, (N, M), 1)
    if k:
        rows = lax.add(rows, np.asarray(k, dtypes.int64))
    return lax.convert_element_type(lax.eq(rows, cols), dt)


def identity(n, dtype=None):
    """The ``n`` by ``n`` identity matrix.

    >>> identity(2)
    Array([[1., 0.],
           [0., 1.]], dtype=float64)
    """
    return eye(n, dtype=dtype)


def tri(N, M=None, k: int = 0, dtype=None):
    """Ones at and below the ``k``-th diagonal, zeros above.

    >>> tri(2, 3, dtype=jnp.int32)
    Array([[1, 0, 0],
           [1, 1, 0]], dtype=int32)
    """
    N = _n(N, "tri", "N")
    M = N if M is None else _n(M, "tri", "M")
    k = operator.index(_static_scalar(k, "tri", "k"))
    dt = _dtype(dtype, dtypes.float64)
    rows = lax.broadcasted_iota(dtypes.int64, (N, M), 0)
    cols = lax.broadcasted_iota(dtypes.int64, (N, M), 1)
    if k:
        rows = lax.add(rows, np.asarray(k, dtypes.int64))
    return lax.convert_element_type(lax.ge(rows, cols), dt)


# ------------------------------------------------------------- grids
def meshgrid(*xi, copy: bool = True, sparse: bool = False, indexing: str = "xy"):
    """Coordinate arrays from 1-d coordinate vectors (``indexing='xy'``
    swaps the first two output axes, as for Cartesian plots).

    >>> X, Y = meshgrid(jnp.arange(3), jnp.arange(2))
    >>> X.shape, Y.shape
    ((2, 3), (2, 3))
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    arrays = [asarray_operand(x, "meshgrid") for x in xi]
    flat = []
    for a in arrays:
        aval = get_aval(a)
        flat.append(a if aval.ndim == 1 else lax.reshape(a, (aval.size,)))
    n = len(flat)
    sizes = [get_aval(a).shape[0] for a in flat]
    if indexing == "xy" and n > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, a in enumerate(flat):
        pos = i
        if indexing == "xy" and n > 1 and i < 2:
            pos = 1 - i
        shape = [1] * n
        shape[pos] = get_aval(a).shape[0]
        r = lax.reshape(a, tuple(shape))
        out.append(r if sparse else broadcast_to(r, tuple(sizes), "meshgrid"))
    return tuple(out)


def indices(dimensions: Sequence[int], dtype=None, sparse: bool = False):
    """An array of grid indices, ``indices((2, 3))[0][i, j] == i``.

    >>> indices((2, 2))[1]
    Array([[0, 1],
           [0, 1]], dtype=int64)
    """
    dims = _shape(dimensions, "indices")
    dt = _dtype(dtype, dtypes.int64)
    if sparse:
        return tuple(lax.broadcasted_iota(dt, tuple(d if j == i else 1 for j, d in enumerate(dims)),
                                          i) for i in range(len(dims)))
    grids = [lax.reshape(lax.broadcasted_iota(dt, dims, i), (1,) + dims) for i in range(len(dims))]
    if not grids:
        return zeros((0,), dt)
    return grids[0] if len(grids) == 1 else lax.concatenate(grids, 0)


def fromfunction(function, shape, *, dtype=float, **kwargs):
    """``function(*indices(shape))``: ``function`` is called once, with index
    arrays of dtype ``dtype``.

    >>> fromfunction(lambda i, j: i + j, (2, 2), dtype=jnp.int32)
    Array([[0, 1],
           [1, 2]], dtype=int32)
    """
    shape = _shape(shape, "fromfunction")
    dt = _dtype(dtype, dtypes.float64)
    args = [lax.broadcasted_iota(dt, shape, i) for i in range(len(shape))]
    return function(*args, **kwargs)


__all__ = ["array", "asarray", "copy", "full", "zeros", "ones", "empty", "zeros_like",
           "ones_like", "empty_like", "full_like", "arange", "linspace", "logspace",
           "geomspace", "eye", "identity", "tri", "meshgrid", "indices", "fromfunction"]
