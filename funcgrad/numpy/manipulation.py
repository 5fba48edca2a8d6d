"""Array manipulation: reshaping, joining, splitting, tiling, flipping,
diagonals, padding and selection.

Everything is built from ``funcgrad.lax`` shape primitives, so all of it is
traceable; NumPy is used only on static metadata (shapes, index maps).

>>> import funcgrad.numpy as jnp
>>> jnp.stack([jnp.arange(3), jnp.arange(3)], axis=1).shape
(3, 2)
"""
from __future__ import annotations

import builtins
import itertools
import math
import operator

import numpy as np

from funcgrad import lax
from funcgrad.core import dtypes
from funcgrad.core.array import Array
from funcgrad.core.errors import ConcretizationTypeError
from funcgrad.core.trace import Tracer, get_aval
from funcgrad.numpy._util import (asarray_operand, canonicalize_axes, canonicalize_axis,
                                  convert_to)
from funcgrad.numpy._util import broadcast_shapes as _broadcast_shapes
from funcgrad.numpy._util import broadcast_to as _broadcast_to

__all__ = [
    "append", "array_split", "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_arrays",
    "broadcast_shapes", "broadcast_to", "column_stack", "concat", "concatenate", "diag",
    "diagflat", "diagonal", "dsplit", "dstack", "expand_dims", "flip", "fliplr", "flipud",
    "hsplit", "hstack", "moveaxis", "permute_dims", "ravel", "repeat", "reshape", "resize",
    "roll", "rot90", "split", "squeeze", "stack", "swapaxes", "tile", "trace", "transpose",
    "tril", "triu", "vsplit", "vstack",
]


# ---------------------------------------------------------------- helpers
def _op(x, name):
    return asarray_operand(x, name)


def _shape(x) -> tuple[int, ...]:
    return get_aval(x).shape


def _result(x):
    """Results are funcgrad values, never a caller's (mutable) NumPy array."""
    if isinstance(x, (Tracer, Array)):
        return x
    return Array(np.asarray(x))


def _static_int(value, name: str, what: str) -> int:
    if isinstance(value, Tracer):
        value = value.to_concrete(f"{name}: {what}")
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        arr = np.asarray(value)
        if arr.ndim != 0 or arr.dtype.kind not in "iu":
            raise TypeError(f"{name}: {what} must be an int, got {value!r}")
        value = arr[()]
    return operator.index(value)


def _concrete(x, name: str, hint: str = "") -> np.ndarray:
    """The concrete value of ``x``, or a ConcretizationTypeError with a hint."""
    if isinstance(x, Tracer):
        try:
            return np.asarray(x.to_concrete(name))
        except ConcretizationTypeError as err:
            raise ConcretizationTypeError(f"{err}{' ' + hint if hint else ''}") from None
    return np.asarray(x)


def _promote_strong(name: str, arrays) -> list:
    """NumPy converts every argument of the joining functions to an array
    first, so Python scalars do not adapt there (they are strong)."""
    ops = [_op(a, name) for a in arrays]
    avals = [get_aval(o) for o in ops]
    dt = np.result_type(*[a.dtype for a in avals]) if avals else dtypes.float64
    weak = builtins.all(a.weak_type for a in avals)
    return [convert_to(o, dtypes.canonicalize(dt), weak) for o in ops]


def _cast(x, dtype):
    return x if dtype is None else convert_to(x, dtypes.canonicalize(dtype))


def _slice_axis(x, start: int, stop: int, axis: int, stride: int = 1):
    n = _shape(x)[axis]
    if start == 0 and stop == n and stride == 1:
        return x
    return lax.slice_in_dim(x, start, stop, stride, axis)


def _take_static(x, idx: np.ndarray, axis: int):
    """``x`` indexed by a static index array along ``axis``.  Index maps made
    of a few runs (steps of +1, -1 or 0) become slices, reversals and
    broadcasts; others use a gather."""
    idx = np.asarray(idx, dtype=np.int64).reshape(-1)
    shape = _shape(x)
    n = shape[axis]
    if idx.size == n and np.array_equal(idx, np.arange(n)):
        return x
    runs, i = [], 0
    while i < idx.size:
        j = i
        step = int(idx[i + 1] - idx[i]) if i + 1 < idx.size else 1
        if step in (-1, 0, 1):
            while j + 1 < idx.size and idx[j + 1] - idx[j] == step:
                j += 1
        runs.append((int(idx[i]), int(idx[j]), step if j > i else 1, j - i + 1))
        i = j + 1
    if len(runs) > 8:
        from funcgrad.numpy.indexing import take
        return take(x, Array(idx), axis=axis)
    pieces = []
    for first, last, step, count in runs:
        if step == 1:
            pieces.append(_slice_axis(x, first, last + 1, axis))
        elif step == -1:
            pieces.append(lax.rev(_slice_axis(x, last, first + 1, axis), (axis,)))
        else:
            one = _slice_axis(x, first, first + 1, axis)
            pieces.append(_broadcast_to(one, shape[:axis] + (count,) + shape[axis + 1:]))
    if not pieces:
        return _slice_axis(x, 0, 0, axis)
    return pieces[0] if len(pieces) == 1 else lax.concatenate(pieces, axis)


# --------------------------------------------------------------- reshaping
def _normalize_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) or (isinstance(shape, Tracer) and shape.ndim == 0):
        shape = (shape,)
    return tuple(_static_int(s, "reshape", "each dimension of the new shape") for s in shape)


def _infer_shape(name: str, old_shape, new_shape) -> tuple[int, ...]:
    size = math.prod(old_shape)
    unknown = [i for i, s in enumerate(new_shape) if s < 0]
    if builtins.any(s < -1 for s in new_shape) or len(unknown) > 1:
        raise ValueError(f"{name}: invalid shape {new_shape}: only one -1 is allowed and "
                         f"no other negative sizes")
    if unknown:
        known = math.prod(s for s in new_shape if s >= 0)
        if known == 0 or size % known:
            raise ValueError(f"{name}: cannot reshape array of size {size} into shape "
                             f"{new_shape}")
        new_shape = tuple(size // known if s < 0 else s for s in new_shape)
    if math.prod(new_shape) != size:
        raise ValueError(f"{name}: cannot reshape array of size {size} into shape {new_shape}")
    return new_shape


def reshape(a, shape=None, order: str = "C", *, newshape=None, copy=None):
    """Give ``a`` a new shape without changing its data; one size may be -1.

    ``order='F'`` reads and writes in Fortran order (via transposes).

    >>> reshape(jnp.arange(6), (2, -1)).shape
    (2, 3)
    """
    if shape is None:
        shape = newshape
    if shape is None:
        raise TypeError("reshape: the new shape is required")
    x = _op(a, "reshape")
    if order not in ("C", "F", "A"):
        raise ValueError(f"reshape: order must be 'C', 'F' or 'A', got {order!r}")
    old = _shape(x)
    new = _infer_shape("reshape", old, _normalize_shape(shape))
    if order == "F":
        return transpose(reshape(transpose(x), new[::-1]))
    return _result(x if new == old else lax.reshape(x, new))


def ravel(a, order: str = "C"):
    """The elements of ``a`` as a 1-d array (``order`` 'C' or 'F').

    >>> ravel(jnp.ones((2, 3))).shape
    (6,)
    """
    return reshape(a, (-1,), order=order)


def transpose(a, axes=None):
    """Permute the axes (reverse them by default).

    >>> transpose(jnp.ones((2, 3, 4)), (1, 0, 2)).shape
    (3, 2, 4)
    """
    x = _op(a, "transpose")
    ndim = get_aval(x).ndim
    if axes is None:
        perm = tuple(range(ndim))[::-1]
    else:
        if isinstance(axes, (int, np.integer)):
            axes = (axes,)
        if len(axes) != ndim:
            raise ValueError(f"transpose: axes {tuple(axes)} don't match an array of "
                             f"dimension {ndim}")
        perm = canonicalize_axes(axes, ndim, "transpose")
    return _result(x if perm == tuple(range(ndim)) else lax.transpose(x, perm))


def permute_dims(a, axes=None):
    """Array-API name of :func:`transpose`."""
    return transpose(a, axes)


def moveaxis(a, source, destination):
    """Move axes to new positions; the other axes keep their order.

    >>> moveaxis(jnp.ones((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    x = _op(a, "moveaxis")
    ndim = get_aval(x).ndim
    src = canonicalize_axes(source, ndim, "moveaxis: source")
    dst = canonicalize_axes(destination, ndim, "moveaxis: destination")
    if len(src) != len(dst):
        raise ValueError("moveaxis: `source` and `destination` arguments must have the same "
                         "number of elements")
    perm = [i for i in range(ndim) if i not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        perm.insert(d, s)
    return transpose(x, perm)


def swapaxes(a, axis1: int, axis2: int):
    """Interchange two axes."""
    x = _op(a, "swapaxes")
    ndim = get_aval(x).ndim
    perm = list(range(ndim))
    i, j = canonicalize_axis(axis1, ndim, "swapaxes"), canonicalize_axis(axis2, ndim, "swapaxes")
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(x, perm)


def squeeze(a, axis=None):
    """Remove axes of length one (all of them, or those named by ``axis``)."""
    x = _op(a, "squeeze")
    shape = _shape(x)
    if axis is None:
        dims = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        dims = canonicalize_axes(axis, len(shape), "squeeze")
        for d in dims:
            if shape[d] != 1:
                raise ValueError(f"squeeze: cannot select an axis to squeeze out which has "
                                 f"size not equal to one (axis {d} of shape {shape})")
    return _result(lax.squeeze(x, tuple(sorted(dims))) if dims else x)


def expand_dims(a, axis):
    """Insert axes of length one at the positions ``axis`` of the result."""
    x = _op(a, "expand_dims")
    ndim = get_aval(x).ndim
    n_new = 1 if isinstance(axis, (int, np.integer)) else len(axis)
    dims = canonicalize_axes(axis, ndim + n_new, "expand_dims")
    return _result(lax.expand_dims(x, tuple(sorted(dims))))


def atleast_1d(*arys):
    """Views with at least one dimension (a tuple for several inputs)."""
    return _atleast(arys, 1)


def atleast_2d(*arys):
    """Views with at least two dimensions: ``(n,)`` becomes ``(1, n)``."""
    return _atleast(arys, 2)


def atleast_3d(*arys):
    """At least three dimensions: ``(n,)`` becomes ``(1, n, 1)``, ``(m, n)``
    becomes ``(m, n, 1)``."""
    return _atleast(arys, 3)


def _atleast(arys, nd):
    out = []
    for a in arys:
        x = _op(a, f"atleast_{nd}d")
        shape = _shape(x)
        if len(shape) < nd:
            if nd == 3 and len(shape) == 2:
                shape = shape + (1,)
            elif nd == 3:
                shape = (1, *shape, 1) if shape else (1, 1, 1)
            else:
                shape = (1,) * (nd - len(shape)) + shape
            x = lax.reshape(x, shape)
        out.append(_result(x))
    return out[0] if len(out) == 1 else tuple(out)


# ----------------------------------------------------------------- joining
def concatenate(arrays, axis: int | None = 0, dtype=None):
    """Join arrays along an existing axis (``axis=None`` flattens them first).

    >>> concatenate([jnp.zeros(2), jnp.ones(3)]).shape
    (5,)
    """
    if isinstance(arrays, (Tracer, Array, np.ndarray)):
        arrays = list(arrays)
    if len(arrays) == 0:
        raise ValueError("concatenate: need at least one array to concatenate")
    ops = _promote_strong("concatenate", arrays)
    if axis is None:
        ops, axis = [ravel(o) for o in ops], 0
    shapes = [_shape(o) for o in ops]
    ndim = len(shapes[0])
    if ndim == 0:
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated")
    axis = canonicalize_axis(axis, ndim, "concatenate")
    for s in shapes:
        if len(s) != ndim or s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:]:
            raise ValueError(f"concatenate: all the input array dimensions except for the "
                             f"concatenation axis must match exactly, got shapes {shapes}")
    out = ops[0] if len(ops) == 1 else lax.concatenate(ops, axis)
    return _result(_cast(out, dtype))


def concat(arrays, /, *, axis: int | None = 0):
    """Array-API name of :func:`concatenate`."""
    return concatenate(arrays, axis)


def stack(arrays, axis: int = 0, dtype=None):
    """Join equally shaped arrays along a new axis.

    >>> stack([jnp.zeros(2), jnp.ones(2)], axis=-1).shape
    (2, 2)
    """
    if isinstance(arrays, (Tracer, Array, np.ndarray)):
        arrays = list(arrays)
    if len(arrays) == 0:
        raise ValueError("stack: need at least one array to stack")
    ops = _promote_strong("stack", arrays)
    shapes = {_shape(o) for o in ops}
    if len(shapes) > 1:
        raise ValueError(f"stack: all input arrays must have the same shape, got {shapes}")
    axis = canonicalize_axis(axis, len(shapes.pop()) + 1, "stack")
    return concatenate([expand_dims(o, axis) for o in ops], axis, dtype=dtype)


def hstack(tup, dtype=None):
    """Stack horizontally: along axis 1, or axis 0 for 1-d inputs."""
    arrs = [atleast_1d(a) for a in tup]
    if not arrs:
        raise ValueError("hstack: need at least one array to concatenate")
    return concatenate(arrs, 0 if arrs[0].ndim == 1 else 1, dtype=dtype)


def vstack(tup, dtype=None):
    """Stack vertically (rows), after :func:`atleast_2d`."""
    return concatenate([atleast_2d(a) for a in tup], 0, dtype=dtype)


def dstack(tup, dtype=None):
    """Stack along the third axis, after :func:`atleast_3d`."""
    return concatenate([atleast_3d(a) for a in tup], 2, dtype=dtype)


def column_stack(tup):
    """Stack 1-d arrays as columns (2-d arrays are stacked as they are)."""
    arrs = []
    for a in tup:
        x = _op(a, "column_stack")
        arrs.append(reshape(x, (-1, 1)) if get_aval(x).ndim < 2 else x)
    return concatenate(arrs, 1)


def append(arr, values, axis=None):
    """``arr`` with ``values`` appended (both flattened when ``axis`` is None)."""
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], 0)
    return concatenate([arr, values], axis)


# --------------------------------------------------------------- splitting
def array_split(ary, indices_or_sections, axis: int = 0):
    """Split into sub-arrays: ``n`` near-equal sections (the first ones one
    longer) or at the given static indices."""
    return _split("array_split", ary, indices_or_sections, axis, equal=False)


def split(ary, indices_or_sections, axis: int = 0):
    """Split into ``n`` equal sections, or at the given static indices.

    >>> [p.shape for p in split(jnp.arange(6), [2])]
    [(2,), (4,)]
    """
    return _split("split", ary, indices_or_sections, axis, equal=True)


def _split(name, ary, sections, axis, equal):
    x = _op(ary, name)
    shape = _shape(x)
    axis = canonicalize_axis(axis, len(shape), name)
    n = shape[axis]
    if isinstance(sections, (Tracer, Array)):
        sections = _concrete(sections, name, "Split points must be static.")
    if np.ndim(sections) == 0:
        count = _static_int(sections, name, "the number of sections")
        if count <= 0:
            raise ValueError(f"{name}: number sections must be larger than 0")
        if equal and n % count:
            raise ValueError(f"{name}: array split does not result in an equal division "
                             f"({n} into {count} sections)")
        each, extra = divmod(n, count)
        sizes = [each + 1] * extra + [each] * (count - extra)
        points = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    else:
        points = [0] + [int(i) for i in _concrete(sections, name).reshape(-1)] + [n]
    out = []
    for start, stop in itertools.pairwise(points):
        r = range(n)[start:stop]
        out.append(_result(_slice_axis(x, r.start, r.start + len(r), axis)))
    return out


def hsplit(ary, indices_or_sections):
    """Split along axis 1 (axis 0 for 1-d arrays)."""
    nd = get_aval(_op(ary, "hsplit")).ndim
    if nd == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if nd > 1 else 0)


def vsplit(ary, indices_or_sections):
    """Split along axis 0 (arrays of 2 or more dimensions)."""
    if get_aval(_op(ary, "vsplit")).ndim < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


def dsplit(ary, indices_or_sections):
    """Split along axis 2 (arrays of 3 or more dimensions)."""
    if get_aval(_op(ary, "dsplit")).ndim < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, 2)


# --------------------------------------------------- tiling and repetition
def tile(A, reps):
    """Repeat the whole array ``reps`` times along each axis.

    >>> tile(jnp.array([1, 2]), 2)
    Array([1, 2, 1, 2], dtype=int64)
    """
    x = _op(A, "tile")
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    reps = tuple(_static_int(r, "tile", "reps") for r in reps)
    shape = _shape(x)
    nd = max(len(shape), len(reps))
    shape = (1,) * (nd - len(shape)) + shape
    reps = (1,) * (nd - len(reps)) + reps
    if builtins.any(r < 0 for r in reps):
        raise ValueError("tile: negative reps are not allowed")
    x = lax.reshape(x, shape) if _shape(x) != shape else x
    big = tuple(v for pair in zip(reps, shape, strict=True) for v in pair)
    out = lax.broadcast_in_dim(x, big, tuple(range(1, 2 * nd, 2)))
    return _result(lax.reshape(out, tuple(r * s for r, s in zip(reps, shape, strict=True))))


def repeat(a, repeats, axis=None, *, total_repeat_length=None):
    """Repeat each element ``repeats`` times (a static int, or a static array
    with one count per element along ``axis``); ``axis=None`` flattens.

    >>> repeat(jnp.array([1, 2]), 2)
    Array([1, 1, 2, 2], dtype=int64)
    """
    x = _op(a, "repeat")
    if axis is None:
        x, axis = ravel(x), 0
    shape = _shape(x)
    axis = canonicalize_axis(axis, len(shape), "repeat")
    counts = _concrete(repeats, "repeat", "The repeat counts determine the shape of the "
                       "result, so they must be static (a Python int or a NumPy array).")
    if counts.size == 0:
        counts = counts.astype(np.int64)
    if counts.dtype.kind not in "iub" or np.any(counts < 0):
        raise ValueError(f"repeat: repeats must be non-negative integers, got {repeats!r}")
    if counts.ndim == 0 or counts.size == 1:
        r = int(counts.reshape(-1)[0])
        big = shape[:axis + 1] + (r,) + shape[axis + 1:]
        dims = tuple(range(axis + 1)) + tuple(range(axis + 2, len(shape) + 1))
        out = lax.broadcast_in_dim(x, big, dims)
        out = lax.reshape(out, shape[:axis] + (shape[axis] * r,) + shape[axis + 1:])
    else:
        if counts.shape != (shape[axis],):
            raise ValueError(f"repeat: repeats of shape {counts.shape} do not match axis "
                             f"{axis} of length {shape[axis]}")
        out = _take_static(x, np.repeat(np.arange(shape[axis]), counts), axis)
    if total_repeat_length is not None and _shape(out)[axis] != total_repeat_length:
        raise ValueError(f"repeat: total_repeat_length={total_repeat_length} differs from "
                         f"the repeated length {_shape(out)[axis]}")
    return _result(out)


def resize(a, new_shape):
    """A new array of shape ``new_shape`` filled with repeated copies of the
    flattened ``a`` (NumPy's ``np.resize``)."""
    x = ravel(a)
    new_shape = _normalize_shape(new_shape)
    total, size = math.prod(new_shape), _shape(x)[0]
    if builtins.any(s < 0 for s in new_shape):
        raise ValueError("resize: all elements of `new_shape` must be non-negative")
    if size == 0 or total == 0:
        return _result(lax.full(new_shape, 0, get_aval(x).dtype))
    x = tile(x, -(-total // size))
    return reshape(_slice_axis(x, 0, total, 0), new_shape)


# ------------------------------------------------------------ broadcasting
def broadcast_shapes(*shapes) -> tuple[int, ...]:
    """The shape that NumPy's broadcasting gives ``shapes`` (static)."""
    shapes = [(s,) if isinstance(s, (int, np.integer)) else tuple(s) for s in shapes]
    return _broadcast_shapes("broadcast_shapes", *shapes)


def broadcast_to(array, shape):
    """Broadcast ``array`` to ``shape`` (a read-only view in NumPy; a new
    immutable array here).

    >>> broadcast_to(jnp.arange(3), (2, 3)).shape
    (2, 3)
    """
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return _result(_broadcast_to(_op(array, "broadcast_to"), shape, "broadcast_to"))


def broadcast_arrays(*args):
    """Broadcast the arguments against each other (a tuple of arrays)."""
    ops = [_op(a, "broadcast_arrays") for a in args]
    shape = _broadcast_shapes("broadcast_arrays", *[_shape(o) for o in ops])
    return tuple(_result(_broadcast_to(o, shape, "broadcast_arrays")) for o in ops)


# ---------------------------------------------------------------- flipping
def flip(m, axis=None):
    """Reverse the order of elements along ``axis`` (all axes by default)."""
    x = _op(m, "flip")
    dims = canonicalize_axes(axis, get_aval(x).ndim, "flip")
    return _result(lax.rev(x, tuple(sorted(dims))) if dims else x)


def fliplr(m):
    """Reverse along axis 1."""
    if get_aval(_op(m, "fliplr")).ndim < 2:
        raise ValueError("fliplr: input must be >= 2-d")
    return flip(m, 1)


def flipud(m):
    """Reverse along axis 0."""
    if get_aval(_op(m, "flipud")).ndim < 1:
        raise ValueError("flipud: input must be >= 1-d")
    return flip(m, 0)


def roll(a, shift, axis=None):
    """Roll elements along ``axis`` (the flattened array if None); elements
    that roll beyond the end come back at the start.  A traced ``shift``
    works too (with a dynamic slice).

    >>> roll(jnp.arange(4), 1)
    Array([3, 0, 1, 2], dtype=int64)
    """
    x = _op(a, "roll")
    if axis is None:
        return reshape(roll(ravel(x), shift, 0), _shape(x))
    shape = _shape(x)
    if isinstance(shift, Tracer) and isinstance(axis, (int, np.integer)):
        return _result(_roll_dynamic(x, shift, canonicalize_axis(axis, len(shape), "roll")))
    shifts = np.asarray(_concrete(shift, "roll"), dtype=np.int64)
    axes = np.asarray(axis)
    shifts, axes = np.broadcast_arrays(shifts, axes)
    if shifts.ndim > 1:
        raise ValueError("roll: 'shift' and 'axis' should be scalars or 1D sequences")
    total = {}
    for s, ax in zip(shifts.reshape(-1), axes.reshape(-1), strict=True):
        ax = canonicalize_axis(int(ax), len(shape), "roll")
        total[ax] = total.get(ax, 0) + int(s)
    for ax, s in total.items():
        n = shape[ax]
        s = s % n if n else 0
        if s:
            x = lax.concatenate([_slice_axis(x, n - s, n, ax), _slice_axis(x, 0, n - s, ax)], ax)
    return _result(x)


def _roll_dynamic(x, shift, axis):
    shape = _shape(x)
    n = shape[axis]
    if n == 0:
        return x
    shift = convert_to(shift, dtypes.int64)
    s = lax.rem(lax.add(lax.rem(shift, np.int64(n)), np.int64(n)), np.int64(n))
    doubled = lax.concatenate([x, x], axis)
    start = [np.int64(0)] * len(shape)
    start[axis] = lax.sub(np.int64(n), s)
    return lax.dynamic_slice(doubled, start, shape)


def rot90(m, k: int = 1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes`` (from the
    first axis towards the second)."""
    x = _op(m, "rot90")
    nd = get_aval(x).ndim
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("rot90: len(axes) must be 2.")
    if nd < 2:
        raise ValueError("rot90: the array must have at least 2 dimensions")
    a0, a1 = canonicalize_axis(axes[0], nd, "rot90"), canonicalize_axis(axes[1], nd, "rot90")
    if a0 == a1:
        raise ValueError("rot90: axes must be different.")
    k = _static_int(k, "rot90", "k") % 4
    if k == 0:
        return _result(x)
    if k == 2:
        return flip(x, (a0, a1))
    perm = list(range(nd))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(x, a1), perm)
    return flip(transpose(x, perm), a1)


# --------------------------------------------------------------- diagonals
def diagonal(a, offset: int = 0, axis1: int = 0, axis2: int = 1):
    """The diagonal at ``offset`` of the 2-d sub-arrays over ``axis1`` and
    ``axis2``, as a new last axis.

    >>> diagonal(jnp.arange(9).reshape(3, 3), 1)
    Array([1, 5], dtype=int64)
    """
    x = _op(a, "diagonal")
    nd = get_aval(x).ndim
    if nd < 2:
        raise ValueError("diagonal requires an array of at least two dimensions")
    ax1 = canonicalize_axis(axis1, nd, "diagonal: axis1")
    ax2 = canonicalize_axis(axis2, nd, "diagonal: axis2")
    if ax1 == ax2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    k = _static_int(offset, "diagonal", "offset")
    x = transpose(x, [i for i in range(nd) if i not in (ax1, ax2)] + [ax1, ax2])
    *batch, n, m = _shape(x)
    d = max(0, min(n, m - k) if k >= 0 else min(n + k, m))
    # The (i, i + k) entries of a row-major n x m block are a strided slice of
    # the flattened block: exact, linear and gather-free.
    flat = lax.reshape(x, (*batch, n * m))
    start = k if k >= 0 else -k * m
    if d == 0:
        start = 0
    return _result(_slice_axis(flat, start, start + (d - 1) * (m + 1) + 1 if d else 0,
                               len(batch), m + 1))


def diag(v, k: int = 0):
    """A 2-d array with the 1-d ``v`` on its ``k``-th diagonal, or the ``k``-th
    diagonal of a 2-d ``v``.

    >>> diag(jnp.array([1, 2]))
    Array([[1, 0],
           [0, 2]], dtype=int64)
    """
    x = _op(v, "diag")
    nd = get_aval(x).ndim
    k = _static_int(k, "diag", "k")
    if nd == 2:
        return diagonal(x, k)
    if nd != 1:
        raise ValueError("diag: input must be 1- or 2-d.")
    n = _shape(x)[0]
    big = n + builtins.abs(k)
    if n == 0:
        return _result(lax.full((big, big), 0, get_aval(x).dtype))
    # Interior padding of ``big`` zeros puts consecutive elements ``big + 1``
    # apart in the flattened result: exactly the diagonal positions.
    lo = k if k >= 0 else -k * big
    hi = big * big - lo - (n + (n - 1) * big)
    zero = np.zeros((), get_aval(x).dtype)
    return _result(lax.reshape(lax.pad(x, zero, [(lo, hi, big)]), (big, big)))


def diagflat(v, k: int = 0):
    """:func:`diag` of the flattened input."""
    return diag(ravel(v), k)


def trace(a, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype=None, out=None):
    """Sum along a diagonal (NumPy's ``sum`` dtype rules: small ints and bools
    accumulate in int64).

    >>> trace(jnp.eye(3))
    Array(3., dtype=float64)
    """
    if out is not None:
        raise NotImplementedError("trace: the 'out' argument is not supported (arrays are "
                                  "immutable)")
    from funcgrad.numpy.reductions import sum as _sum
    return _sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def _tri_mask(name, x, k, lower):
    shape = _shape(x)
    if not shape:
        raise ValueError(f"{name}: input must be at least 1-d")
    n, m = shape[-2:] if len(shape) >= 2 else (shape[-1], shape[-1])
    k = _static_int(k, name, "k")
    rows = lax.broadcasted_iota(dtypes.int64, (n, m), 0)
    cols = lax.broadcasted_iota(dtypes.int64, (n, m), 1)
    diff = lax.sub(cols, rows)
    mask = lax.le(diff, np.int64(k)) if lower else lax.ge(diff, np.int64(k))
    out_shape = _broadcast_shapes(name, shape, (n, m))
    mask = _broadcast_to(mask, out_shape, name)
    x = _broadcast_to(x, out_shape, name)
    zero = lax.full(out_shape, 0, get_aval(x).dtype)
    return _result(lax.select(mask, x, zero))


def tril(m, k: int = 0):
    """Zero the elements above the ``k``-th diagonal (of the last two axes)."""
    return _tri_mask("tril", _op(m, "tril"), k, True)


def triu(m, k: int = 0):
    """Zero the elements below the ``k``-th diagonal (of the last two axes)."""
    return _tri_mask("triu", _op(m, "triu"), k, False)
