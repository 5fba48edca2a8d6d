"""funcgrad.numpy: inserting, deleting and padding elements, and choosing
between arrays by conditions (insert, delete, pad, select, piecewise, ix_)."""
from __future__ import annotations

import builtins

import numpy as np

from funcgrad import lax
from funcgrad.core import dtypes
from funcgrad.core.array import Array
from funcgrad.core.trace import Tracer, get_aval
from funcgrad.numpy._util import canonicalize_axis, convert_to, promote_dtypes
from funcgrad.numpy._util import broadcast_shapes as _broadcast_shapes
from funcgrad.numpy._util import broadcast_to as _broadcast_to
from funcgrad.numpy.manipulation import (_concrete, _op, _result, _shape, _slice_axis,
                                         _take_static, moveaxis, ravel, reshape)

__all__ = ["delete", "insert", "pad", "select", "piecewise", "ix_"]


# ------------------------------------------------------ insert and delete
def _flat_or_axis(name, arr, axis):
    x = _op(arr, name)
    if axis is None:
        return ravel(x), 0
    return x, canonicalize_axis(axis, get_aval(x).ndim, name)


def delete(arr, obj, axis=None):
    """``arr`` without the entries ``obj`` (a static int, slice, index array
    or boolean mask) along ``axis`` (flattened if None)."""
    x, axis = _flat_or_axis("delete", arr, axis)
    n = _shape(x)[axis]
    if not isinstance(obj, slice):
        obj = _concrete(obj, "delete", "The deleted indices must be static.")
        if obj.dtype == bool and obj.shape != (n,):
            raise ValueError(f"delete: boolean array argument obj to delete must be one "
                             f"dimensional and match the axis length of {n}")
    return _result(_take_static(x, np.delete(np.arange(n), obj), axis))


def insert(arr, obj, values, axis=None):
    """``arr`` with ``values`` inserted before the static indices ``obj``
    along ``axis`` (flattened if None); values are cast to ``arr``'s dtype."""
    x, axis = _flat_or_axis("insert", arr, axis)
    shape = _shape(x)
    n = shape[axis]
    dt = get_aval(x).dtype
    idx = np.arange(n)[obj] if isinstance(obj, slice) else _concrete(
        obj, "insert", "The insertion indices must be static.")
    if idx.dtype == bool:
        raise TypeError("insert: boolean indices are not supported (NumPy 2 refuses them too)")
    vals = convert_to(_op(values, "insert"), dt)
    if idx.ndim == 0:
        i = int(idx)
        if not -n <= i <= n:
            raise IndexError(f"insert: index {i} is out of bounds for axis {axis} with size {n}")
        i = i + n if i < 0 else i
        vshape = _shape(vals)
        if len(vshape) < len(shape):
            vals = reshape(vals, (1,) * (len(shape) - len(vshape)) + vshape)
        vals = moveaxis(vals, 0, axis)
        count = _shape(vals)[axis]
        vals = _broadcast_to(vals, shape[:axis] + (count,) + shape[axis + 1:], "insert")
        pieces = [_slice_axis(x, 0, i, axis), vals, _slice_axis(x, i, n, axis)]
        return _result(lax.concatenate(pieces, axis))
    idx = idx.reshape(-1).astype(np.int64)
    if np.any((idx < -n) | (idx > n)):
        raise IndexError(f"insert: index out of bounds for axis {axis} with size {n}")
    idx = np.where(idx < 0, idx + n, idx)
    count = idx.size
    vals = _broadcast_to(vals, shape[:axis] + (count,) + shape[axis + 1:], "insert")
    order = np.argsort(idx, kind="stable")
    new_pos = idx[order] + np.arange(count)
    source = np.full(n + count, -1, np.int64)
    source[new_pos] = n + order
    source[source < 0] = np.arange(n)
    return _result(_take_static(lax.concatenate([x, vals], axis), source, axis))


# ----------------------------------------------------------------- padding
_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap", "empty")


def pad(array, pad_width, mode="constant", **kwargs):
    """Pad an array.  Modes: ``constant`` (``constant_values``), ``edge``,
    ``reflect``, ``symmetric``, ``wrap`` (and ``empty``, which pads zeros).

    >>> pad(jnp.array([1, 2]), 1, mode="edge")
    Array([1, 1, 2, 2], dtype=int64)
    """
    x = _op(array, "pad")
    shape = _shape(x)
    nd = len(shape)
    if callable(mode) or mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: mode={mode!r} is not supported; supported modes are "
                                  f"{', '.join(_PAD_MODES)}")
    allowed = {"constant": {"constant_values"}, "reflect": {"reflect_type"},
               "symmetric": {"reflect_type"}}.get(mode, set())
    if set(kwargs) - allowed:
        raise ValueError(f"pad: unsupported keyword arguments for mode {mode!r}: "
                         f"{sorted(set(kwargs) - allowed)}")
    widths = _concrete(pad_width, "pad", "Pad widths must be static.")
    if widths.size == 0:
        widths = widths.astype(np.int64)
    if widths.dtype.kind not in "iu":
        raise TypeError("pad: `pad_width` must be of integral type.")
    widths = np.broadcast_to(widths, (nd, 2)).tolist()
    if builtins.any(w < 0 for pair in widths for w in pair):
        raise ValueError("pad: index can't contain negative values")
    dt = get_aval(x).dtype
    if mode in ("constant", "empty"):
        return _result(_pad_constant(x, widths, kwargs.get("constant_values", 0), dt))
    if kwargs.get("reflect_type", "even") != "even":
        raise NotImplementedError("pad: reflect_type='odd' is not supported")
    for ax, (lo, hi) in enumerate(widths):
        if lo == hi == 0:
            continue
        n = _shape(x)[ax]
        if n == 0:
            raise ValueError(f"pad: can't extend empty axis {ax} using modes other than "
                             f"'constant' or 'empty'")
        x = _take_static(x, np.pad(np.arange(n), (lo, hi), mode=mode), ax)
    return _result(x)


def _pad_constant(x, widths, values, dt):
    if isinstance(values, Tracer) or (isinstance(values, Array) and values.ndim == 0):
        if get_aval(values).ndim != 0:
            raise NotImplementedError("pad: traced non-scalar constant_values are not supported")
        value = convert_to(values, dt)
        return lax.pad(x, value, [(lo, hi, 0) for lo, hi in widths])
    values = np.broadcast_to(np.asarray(values), (len(widths), 2))
    values = values.astype(dt) if values.dtype != dt else values
    if not widths or (values == values.flat[0]).all():
        fill = np.asarray(values.flat[0] if values.size else 0).astype(dt)
        return lax.pad(x, fill, [(lo, hi, 0) for lo, hi in widths])
    for ax, (lo, hi) in enumerate(widths):
        for side, w in ((0, lo), (1, hi)):
            if w:
                config = [(0, 0, 0)] * len(widths)
                config[ax] = (w, 0, 0) if side == 0 else (0, w, 0)
                x = lax.pad(x, values[ax, side], config)
    return x


# --------------------------------------------------------------- selection
def select(condlist, choicelist, default=0):
    """Elements of ``choicelist[i]`` where ``condlist[i]`` is the first true
    condition, ``default`` where none is.

    >>> x = jnp.arange(4)
    >>> select([x < 1, x > 2], [x, x * 10], -1)
    Array([ 0, -1, -1, 30], dtype=int64)
    """
    if len(condlist) != len(choicelist):
        raise ValueError("select: list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("select with an empty condition list is not possible")
    conds = [_op(c, "select") for c in condlist]
    for i, c in enumerate(conds):
        if get_aval(c).dtype != dtypes.bool_:
            raise TypeError(f"select: invalid entry {i} in condlist: should be boolean ndarray")
    choices = promote_dtypes("select", *choicelist, default)
    shape = _broadcast_shapes("select", *[_shape(o) for o in conds + choices])
    out = _broadcast_to(choices[-1], shape, "select")
    for c, v in zip(conds[::-1], choices[-2::-1], strict=True):
        out = lax.select(_broadcast_to(c, shape, "select"), _broadcast_to(v, shape, "select"),
                         out)
    return _result(out)


def piecewise(x, condlist, funclist, *args, **kw):
    """Evaluate ``funclist[i](x)`` where ``condlist[i]`` holds (later
    conditions win; one extra function is the 'otherwise' case).  Every
    function is evaluated on the whole array, then selected."""
    x = _op(x, "piecewise")
    aval = get_aval(x)
    if isinstance(condlist, (Tracer, Array, np.ndarray)):
        nd = get_aval(condlist).ndim
        single = nd == 0 or (aval.ndim != 0 and nd <= aval.ndim)
    else:
        single = isinstance(condlist, (bool, np.bool_)) or (aval.ndim != 0 and not isinstance(
            condlist[0], (list, tuple, np.ndarray, Array, Tracer)))
    conds = []
    for c in ([condlist] if single else condlist):
        c = _op(c, "piecewise")
        if get_aval(c).dtype != dtypes.bool_:
            c = lax.ne(c, np.zeros((), get_aval(c).dtype))
        conds.append(_broadcast_to(c, aval.shape, "piecewise"))
    n = len(conds)
    if len(funclist) not in (n, n + 1):
        raise ValueError(f"piecewise: with {n} condition(s), either {n} or {n + 1} functions "
                         f"are expected")

    def evaluate(f):
        val = f(x, *args, **kw) if callable(f) else f
        return _broadcast_to(convert_to(_op(val, "piecewise"), aval.dtype), aval.shape,
                             "piecewise")

    out = lax.full(aval.shape, 0, aval.dtype)
    if len(funclist) == n + 1:
        none = conds[0] if n else None
        for c in conds[1:]:
            none = lax.bitwise_or(none, c)
        other = evaluate(funclist[-1])
        out = other if none is None else lax.select(none, out, other)
    for c, f in zip(conds, funclist[:n], strict=True):
        out = lax.select(c, evaluate(f), out)
    return _result(out)


def ix_(*args):
    """Open-mesh index arrays: the i-th of N 1-d inputs gets shape
    ``(1, ..., n_i, ..., 1)``; boolean inputs are turned into indices
    (concrete values only)."""
    out = []
    for i, a in enumerate(args):
        x = _op(a, "ix_")
        if get_aval(x).ndim != 1:
            raise ValueError("ix_: cross index must be 1 dimensional")
        if get_aval(x).dtype == bool:
            from funcgrad.numpy.sorting import nonzero
            x = nonzero(x)[0]
        shape = [1] * len(args)
        shape[i] = _shape(x)[0]
        out.append(reshape(x, tuple(shape)))
    return tuple(out)
