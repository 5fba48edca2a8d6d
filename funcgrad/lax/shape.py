"""Shape primitives: broadcasting, reshaping, transposition, reversal,
concatenation, padding, static and dynamic slicing, and ``iota``.

Each primitive is one block: its NumPy implementation, its shape/dtype rule
and the thin public wrapper(s) that normalise parameters to tuples of Python
ints (negative axes resolved) before binding.  Eager evaluation runs the shape
rule too, so a bad parameter gives the same message eagerly and under
``make_jaxpr``.  Wrappers hand a funcgrad value back unchanged when the
operation is the identity (as JAX does).
"""
from __future__ import annotations

import builtins
import operator
from typing import Sequence

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.array import Array
from funcgrad.core.avals import ShapedArray
from funcgrad.core.errors import ConcretizationTypeError
from funcgrad.core.primitive import Primitive
from funcgrad.core.trace import Tracer, get_aval
from funcgrad.lax.base import asoperand
from funcgrad.lax.elementwise import (add, convert_element_type, convert_element_type_p, lt,
                                      select)

_INT64_MIN, _INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


# ------------------------------------------------------------ helpers
def _ints(name: str, what: str, values) -> tuple[int, ...]:
    """A tuple of Python ints from an int or a sequence of integers."""
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        values = (values,)
    try:
        return tuple(operator.index(v) for v in values)
    except ConcretizationTypeError:
        raise
    except TypeError:
        raise TypeError(f"{name}: {what} must be a sequence of static integers, "
                        f"got {values!r}") from None


def _int(name: str, what: str, value) -> int:
    if isinstance(value, (tuple, list)):
        raise TypeError(f"{name}: {what} must be a static integer, got {value!r}")
    return _ints(name, what, value)[0]


def _axis(name: str, what: str, axis, ndim: int, aval: ShapedArray | None = None) -> int:
    """Resolve a possibly negative axis against ``ndim``."""
    axis = _int(name, what, axis)
    if not -ndim <= axis < ndim:
        of = f" of {aval.str_short()}" if aval is not None else f" for rank {ndim}"
        raise ValueError(f"{name}: {what} {axis} is out of range{of}")
    return axis % ndim


def _axes(name: str, what: str, axes, ndim: int, aval: ShapedArray | None = None):
    """Resolve possibly negative axes; refuse repeats; sort."""
    axes = _ints(name, what, axes)
    out = tuple(sorted(_axis(name, what, a, ndim, aval) for a in axes))
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated entries in {what} {axes}")
    return out


def _weak(*avals: ShapedArray) -> bool:
    # The eager interpreter marks a result weak only when every input is, so
    # the shape rules follow the same convention and both paths agree.
    return bool(avals) and all(a.weak_type for a in avals)


# Values a wrapper may hand back unchanged for an identity operation.
_OWNED = (Tracer, Array)


def _declare(name: str, impl, abstract_eval) -> Primitive:
    """A primitive from a NumPy implementation and a shape rule (the eager
    interpreter runs the rule first, so ``impl`` only sees valid input)."""
    p = Primitive(name)

    def array_impl(*args, **params):
        # np.asarray turns the NumPy scalars that 0-d indexing gives back
        # into arrays.
        return [np.asarray(o) for o in impl(*[np.asarray(a) for a in args], **params)]

    array_impl.__name__ = f"{name}_impl"
    p.impl = array_impl
    p.abstract_eval = abstract_eval
    return p


def _convert(x, dtype: np.dtype, weak: bool):
    """``convert_element_type``, folded right away for concrete values so
    constants such as ``full``'s fill value stay literals in a jaxpr."""
    if isinstance(x, Tracer):
        return convert_element_type(x, dtype, weak_type=weak)
    aval = get_aval(x)
    if aval.dtype == dtype and aval.weak_type == weak:
        return x
    (buf,) = convert_element_type_p.impl(np.asarray(x), new_dtype=dtype, weak_type=weak)
    buf = np.array(buf)  # a private copy we may freeze
    buf.flags.writeable = False
    return Array._from_buffer(buf, weak)


def _match_weak(name: str, *args):
    """A weak-typed operand (from a Python scalar) takes the dtype of the
    strongly typed one, as in ``convert_weak_scalars``; works for any shape."""
    args = [asoperand(a, name) for a in args]
    avals = [get_aval(a) for a in args]
    strong = [a.dtype for a in avals if not a.weak_type]
    if not strong or len(strong) == len(avals):
        return args
    return [_convert(x, strong[0], False) if a.weak_type and a.dtype != strong[0] else x
            for x, a in zip(args, avals, strict=True)]


# ------------------------------------------------------ broadcast_in_dim
def _broadcast_in_dim_abstract_eval(x: ShapedArray, *, shape, broadcast_dimensions):
    bd = broadcast_dimensions
    if any(s < 0 for s in shape):
        raise ValueError(f"broadcast_in_dim: shape {shape} has a negative dimension")
    if len(bd) != x.ndim:
        raise TypeError(f"broadcast_in_dim: broadcast_dimensions {bd} must have one entry per "
                        f"dimension of the operand {x.str_short()}")
    if any(not 0 <= d < len(shape) for d in bd):
        raise ValueError(f"broadcast_in_dim: broadcast_dimensions {bd} out of range for "
                         f"shape {shape}")
    if any(b <= a for a, b in zip(bd, bd[1:])):
        raise ValueError(f"broadcast_in_dim: broadcast_dimensions {bd} must be strictly "
                         f"increasing")
    for i, d in enumerate(bd):
        if x.shape[i] not in (1, shape[d]):
            raise TypeError(f"broadcast_in_dim: operand dimension {i} of {x.str_short()} has "
                            f"size {x.shape[i]}, which is neither 1 nor the size {shape[d]} of "
                            f"output dimension {d} (shape={shape}, broadcast_dimensions={bd})")
    return [ShapedArray(shape, x.dtype, x.weak_type)]


def _broadcast_in_dim_impl(x, *, shape, broadcast_dimensions):
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = x.shape[i]
    if x.flags.writeable:
        # np.broadcast_to gives a read-only view, which the core would not
        # copy; a view of a caller's writable array must not become our
        # immutable result, so detach it (the operand is the small side).
        x = x.copy()
    return [np.broadcast_to(x.reshape(expanded), shape)]


broadcast_in_dim_p = _declare("broadcast_in_dim", _broadcast_in_dim_impl,
                              _broadcast_in_dim_abstract_eval)


def broadcast_in_dim(operand, shape: Sequence[int], broadcast_dimensions: Sequence[int]):
    """Broadcast ``operand`` to ``shape``; operand dimension ``i`` becomes
    output dimension ``broadcast_dimensions[i]`` (its size must equal that
    output size or be 1); the other output dimensions are new.

    >>> broadcast_in_dim(np.array([1.0, 2.0]), (3, 2), (1,)).shape
    (3, 2)
    """
    operand = asoperand(operand, "broadcast_in_dim")
    shape = _ints("broadcast_in_dim", "shape", shape)
    bd = _ints("broadcast_in_dim", "broadcast_dimensions", broadcast_dimensions)
    aval = get_aval(operand)
    if isinstance(operand, _OWNED) and aval.shape == shape and bd == tuple(range(aval.ndim)):
        return operand
    return broadcast_in_dim_p.bind(operand, shape=shape, broadcast_dimensions=bd)


def broadcast(operand, sizes: Sequence[int]):
    """Add leading dimensions of sizes ``sizes`` to ``operand``.

    >>> broadcast(np.array([1, 2]), (3,)).shape
    (3, 2)
    """
    operand = asoperand(operand, "broadcast")
    sizes = _ints("broadcast", "sizes", sizes)
    aval = get_aval(operand)
    return broadcast_in_dim(operand, sizes + aval.shape,
                            tuple(range(len(sizes), len(sizes) + aval.ndim)))


def full(shape: Sequence[int], fill_value, dtype=None):
    """An array of ``shape`` filled with the scalar ``fill_value`` (of
    ``dtype`` if given, else of the fill value's own, possibly weak, dtype).

    >>> full((2,), 3, np.float32)
    Array([3., 3.], dtype=float32)
    """
    shape = _ints("full", "shape", shape)
    fill = asoperand(fill_value, "full")
    aval = get_aval(fill)
    if aval.ndim:
        raise TypeError(f"full must be called with a scalar fill_value, got {aval.str_short()}")
    if dtype is not None:
        fill = _convert(fill, dtypes.canonicalize(dtype), False)
    return broadcast(fill, shape)


def full_like(x, fill_value, dtype=None, shape=None):
    """An array like ``x`` (its shape and dtype unless given) filled with
    ``fill_value``; weak-typed when ``x`` is and no dtype is given.

    >>> full_like(np.zeros(2, np.int32), 7)
    Array([7, 7], dtype=int32)
    """
    aval = get_aval(asoperand(x, "full_like"))
    fill = asoperand(fill_value, "full_like")
    fill_aval = get_aval(fill)
    if fill_aval.ndim:
        raise TypeError(f"full_like must be called with a scalar fill_value, got "
                        f"{fill_aval.str_short()}")
    dt = aval.dtype if dtype is None else dtypes.canonicalize(dtype)
    weak = dtype is None and aval.weak_type
    shape = aval.shape if shape is None else _ints("full_like", "shape", shape)
    return broadcast(_convert(fill, dt, weak), shape)


def zeros_like_array(x):
    """Zeros of the shape and dtype of ``x``.

    >>> zeros_like_array(np.ones(2, np.float32))
    Array([0., 0.], dtype=float32)
    """
    return full_like(x, 0)


# ------------------------------------------------------------ reshape
def _reshape_abstract_eval(x: ShapedArray, *, new_sizes, dimensions):
    if any(s < 0 for s in new_sizes):
        raise ValueError(f"reshape: new_sizes {new_sizes} has a negative dimension "
                         f"(lax.reshape does not infer -1; use funcgrad.numpy.reshape)")
    if dimensions is not None and sorted(dimensions) != list(range(x.ndim)):
        raise ValueError(f"reshape: dimensions {dimensions} must be a permutation of the "
                         f"dimensions of {x.str_short()}")
    size = int(np.prod(new_sizes, dtype=np.int64))
    if size != x.size:
        raise TypeError(f"reshape: cannot reshape {x.str_short()} ({x.size} elements) to "
                        f"{new_sizes} ({size} elements)")
    return [ShapedArray(new_sizes, x.dtype, x.weak_type)]


def _reshape_impl(x, *, new_sizes, dimensions):
    if dimensions is not None:
        x = np.transpose(x, dimensions)
    return [x.reshape(new_sizes)]


reshape_p = _declare("reshape", _reshape_impl, _reshape_abstract_eval)


def reshape(operand, new_sizes: Sequence[int], dimensions: Sequence[int] | None = None):
    """Reshape ``operand`` (in row-major order) to ``new_sizes``, after
    transposing it by ``dimensions`` if given.

    >>> reshape(np.arange(4).reshape(2, 2), (4,), dimensions=(1, 0))
    Array([0, 2, 1, 3], dtype=int64)
    """
    operand = asoperand(operand, "reshape")
    new_sizes = _ints("reshape", "new_sizes", new_sizes)
    aval = get_aval(operand)
    if dimensions is not None:
        dimensions = _ints("reshape", "dimensions", dimensions)
        if dimensions == tuple(range(aval.ndim)):
            dimensions = None
    if isinstance(operand, _OWNED) and dimensions is None and aval.shape == new_sizes:
        return operand
    return reshape_p.bind(operand, new_sizes=new_sizes, dimensions=dimensions)


# ------------------------------------------------------------ transpose
def _transpose_abstract_eval(x: ShapedArray, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise ValueError(f"transpose: permutation {permutation} is not a permutation of the "
                         f"dimensions of {x.str_short()}")
    return [ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype, x.weak_type)]


transpose_p = _declare("transpose", lambda x, *, permutation: [np.transpose(x, permutation)],
                       _transpose_abstract_eval)


def transpose(operand, permutation: Sequence[int]):
    """Permute the dimensions of ``operand``: output dimension ``i`` is
    operand dimension ``permutation[i]``.

    >>> transpose(np.zeros((2, 3, 4)), (2, 0, 1)).shape
    (4, 2, 3)
    """
    operand = asoperand(operand, "transpose")
    permutation = _ints("transpose", "permutation", permutation)
    if isinstance(operand, _OWNED) and permutation == tuple(range(get_aval(operand).ndim)):
        return operand
    return transpose_p.bind(operand, permutation=permutation)


# ------------------------------------------------------------ squeeze
def _squeeze_abstract_eval(x: ShapedArray, *, dimensions):
    for d in dimensions:
        if not 0 <= d < x.ndim:
            raise ValueError(f"squeeze: dimension {d} is out of range for {x.str_short()}")
        if x.shape[d] != 1:
            raise ValueError(f"squeeze: cannot remove dimension {d} of {x.str_short()}: its "
                             f"size is {x.shape[d]}, not 1")
    if len(set(dimensions)) != len(dimensions):
        raise ValueError(f"squeeze: repeated entries in dimensions {dimensions}")
    shape = tuple(s for i, s in enumerate(x.shape) if i not in dimensions)
    return [ShapedArray(shape, x.dtype, x.weak_type)]


def _squeeze_impl(x, *, dimensions):
    return [x.reshape(tuple(s for i, s in enumerate(x.shape) if i not in dimensions))]


squeeze_p = _declare("squeeze", _squeeze_impl, _squeeze_abstract_eval)


def squeeze(array, dimensions: Sequence[int]):
    """Remove the size-1 ``dimensions`` of ``array`` (negative counts from
    the end).

    >>> squeeze(np.zeros((1, 3, 1)), (0, -1)).shape
    (3,)
    """
    array = asoperand(array, "squeeze")
    aval = get_aval(array)
    dimensions = _axes("squeeze", "dimensions", dimensions, aval.ndim, aval)
    if isinstance(array, _OWNED) and not dimensions:
        return array
    return squeeze_p.bind(array, dimensions=dimensions)


# ------------------------------------------------------------ expand_dims
def _expand_dims_shape(shape, dimensions):
    out = list(shape)
    for d in dimensions:  # sorted, so earlier inserts keep later positions right
        out.insert(d, 1)
    return tuple(out)


def _expand_dims_abstract_eval(x: ShapedArray, *, dimensions):
    out_ndim = x.ndim + len(dimensions)
    if any(not 0 <= d < out_ndim for d in dimensions) or len(set(dimensions)) != len(dimensions):
        raise ValueError(f"expand_dims: dimensions {dimensions} must be distinct and in "
                         f"[0, {out_ndim}) for {x.str_short()}")
    return [ShapedArray(_expand_dims_shape(x.shape, sorted(dimensions)), x.dtype, x.weak_type)]


expand_dims_p = _declare(
    "expand_dims",
    lambda x, *, dimensions: [x.reshape(_expand_dims_shape(x.shape, sorted(dimensions)))],
    _expand_dims_abstract_eval)


def expand_dims(array, dimensions: Sequence[int]):
    """Insert size-1 axes at positions ``dimensions`` of the result
    (negative counts from the end of the result).

    >>> expand_dims(np.zeros((2, 3)), (0, -1)).shape
    (1, 2, 3, 1)
    """
    array = asoperand(array, "expand_dims")
    aval = get_aval(array)
    dims = _ints("expand_dims", "dimensions", dimensions)
    dimensions = _axes("expand_dims", "dimensions", dims, aval.ndim + len(dims))
    if isinstance(array, _OWNED) and not dimensions:
        return array
    return expand_dims_p.bind(array, dimensions=dimensions)


# ------------------------------------------------------------ rev
def _rev_abstract_eval(x: ShapedArray, *, dimensions):
    if any(not 0 <= d < x.ndim for d in dimensions) or len(set(dimensions)) != len(dimensions):
        raise ValueError(f"rev: dimensions {dimensions} must be distinct dimensions of "
                         f"{x.str_short()}")
    return [x]


def _rev_impl(x, *, dimensions):
    step = [builtins.slice(None, None, -1) if i in dimensions else builtins.slice(None)
            for i in range(x.ndim)]
    return [x[tuple(step)]]


rev_p = _declare("rev", _rev_impl, _rev_abstract_eval)


def rev(operand, dimensions: Sequence[int]):
    """Reverse ``operand`` along ``dimensions``.

    >>> rev(np.array([1, 2, 3]), (0,))
    Array([3, 2, 1], dtype=int64)
    """
    operand = asoperand(operand, "rev")
    aval = get_aval(operand)
    dimensions = _axes("rev", "dimensions", dimensions, aval.ndim, aval)
    if isinstance(operand, _OWNED) and not dimensions:
        return operand
    return rev_p.bind(operand, dimensions=dimensions)


# ------------------------------------------------------------ concatenate
def _concatenate_abstract_eval(*xs: ShapedArray, dimension):
    if not xs:
        raise TypeError("concatenate: needs at least one operand")
    shapes = ", ".join(x.str_short() for x in xs)
    if len({x.dtype for x in xs}) > 1:
        raise TypeError(f"concatenate: operands must have equal dtypes, got {shapes}")
    if len({x.ndim for x in xs}) > 1 or xs[0].ndim == 0:
        raise TypeError(f"concatenate: operands must have the same rank, at least 1, got {shapes}")
    if not 0 <= dimension < xs[0].ndim:
        raise ValueError(f"concatenate: dimension {dimension} is out of range for {shapes}")
    rest = {x.shape[:dimension] + x.shape[dimension + 1:] for x in xs}
    if len(rest) > 1:
        raise TypeError(f"concatenate: operand shapes must be equal except along dimension "
                        f"{dimension}, got {shapes}")
    shape = list(xs[0].shape)
    shape[dimension] = sum(x.shape[dimension] for x in xs)
    return [ShapedArray(tuple(shape), xs[0].dtype, _weak(*xs))]


concatenate_p = _declare(
    "concatenate", lambda *xs, dimension: [np.concatenate(xs, axis=dimension)],
    _concatenate_abstract_eval)


def concatenate(operands: Sequence, dimension: int):
    """Join ``operands`` (arrays of one dtype, equal shapes except along
    ``dimension``) along ``dimension``.

    >>> concatenate([np.zeros(2), np.ones(1)], 0)
    Array([0., 0., 1.], dtype=float64)
    """
    operands = list(operands)
    for o in operands:
        if dtypes.is_python_scalar(o):
            raise TypeError(f"concatenate: operands must be arrays, got the Python scalar {o!r}")
    operands = [asoperand(o, "concatenate") for o in operands]
    if not operands:
        raise TypeError("concatenate: needs at least one operand")
    aval = get_aval(operands[0])
    dimension = _axis("concatenate", "dimension", dimension, max(aval.ndim, 1), aval)
    if len(operands) == 1 and isinstance(operands[0], _OWNED) and aval.ndim:
        return operands[0]
    return concatenate_p.bind(*operands, dimension=dimension)


# ------------------------------------------------------------ pad
def _padded_size(size: int, low: int, high: int, interior: int) -> int:
    return low + high + size + max(size - 1, 0) * interior


def _pad_abstract_eval(x: ShapedArray, value: ShapedArray, *, padding_config):
    if value.ndim:
        raise TypeError(f"pad: padding_value must be a scalar, got {value.str_short()}")
    if value.dtype != x.dtype:
        raise TypeError(f"pad: padding_value dtype {value.dtype.name} differs from the "
                        f"operand {x.str_short()}")
    if len(padding_config) != x.ndim:
        raise ValueError(f"pad: padding_config {padding_config} needs one (low, high, "
                         f"interior) entry per dimension of {x.str_short()}")
    shape = []
    for d, (size, (lo, hi, interior)) in enumerate(zip(x.shape, padding_config)):
        if interior < 0:
            raise ValueError(f"pad: interior padding {interior} of dimension {d} must be >= 0 "
                             f"(padding_config={padding_config})")
        out = _padded_size(size, lo, hi, interior)
        if out < 0:
            raise ValueError(f"pad: dimension {d} of {x.str_short()} would have negative size "
                             f"{out} with padding {(lo, hi, interior)}")
        shape.append(out)
    return [ShapedArray(tuple(shape), x.dtype, _weak(x, value))]


def _pad_impl(x, value, *, padding_config):
    # Pad with the non-negative parts of low/high first, then crop the
    # negative parts away.
    full_shape = [_padded_size(s, max(lo, 0), max(hi, 0), it)
                  for s, (lo, hi, it) in zip(x.shape, padding_config)]
    out = np.full(full_shape, value, dtype=x.dtype)
    place = tuple(builtins.slice(max(lo, 0), max(lo, 0) + _padded_size(s, 0, 0, it), it + 1)
                  for s, (lo, hi, it) in zip(x.shape, padding_config))
    out[place] = x
    crop = tuple(builtins.slice(max(-lo, 0), n - max(-hi, 0))
                 for n, (lo, hi, _) in zip(full_shape, padding_config))
    return [out[crop]]


pad_p = _declare("pad", _pad_impl, _pad_abstract_eval)


def pad(operand, padding_value, padding_config: Sequence[tuple[int, int, int]]):
    """Pad ``operand`` with the scalar ``padding_value``: per dimension a
    ``(low, high, interior)`` triple adds ``low``/``high`` elements at the
    ends (negative values crop) and ``interior`` between elements.

    >>> pad(np.array([1, 2, 3]), 0, [(1, -1, 1)])
    Array([0, 1, 0, 2, 0], dtype=int64)
    """
    operand, padding_value = _match_weak("pad", operand, padding_value)
    config = []
    for entry in padding_config:
        triple = _ints("pad", "padding_config entry", entry)
        if len(triple) != 3:
            raise TypeError(f"pad: padding_config entries must be (low, high, interior) "
                            f"triples, got {entry!r}")
        config.append(triple)
    return pad_p.bind(operand, padding_value, padding_config=tuple(config))


# ------------------------------------------------------------ slice
def _slice_abstract_eval(x: ShapedArray, *, start_indices, limit_indices, strides):
    where = (f"{x.str_short()} with start_indices={start_indices}, "
             f"limit_indices={limit_indices}, strides={strides}")
    if len(start_indices) != x.ndim or len(limit_indices) != x.ndim or (
            strides is not None and len(strides) != x.ndim):
        raise TypeError(f"slice: need one start, limit and stride per dimension: {where}")
    steps = strides or (1,) * x.ndim
    shape = []
    for d, (size, start, limit, step) in enumerate(zip(x.shape, start_indices, limit_indices,
                                                       steps)):
        if not 0 <= start <= limit <= size:
            raise ValueError(f"slice: dimension {d} needs 0 <= start <= limit <= {size}: {where}")
        if step < 1:
            raise ValueError(f"slice: stride of dimension {d} must be positive: {where}")
        shape.append((limit - start + step - 1) // step)
    return [ShapedArray(tuple(shape), x.dtype, x.weak_type)]


def _slice_impl(x, *, start_indices, limit_indices, strides):
    steps = strides or (1,) * x.ndim
    return [x[tuple(builtins.slice(*t) for t in zip(start_indices, limit_indices, steps))]]


slice_p = _declare("slice", _slice_impl, _slice_abstract_eval)


def slice(operand, start_indices: Sequence[int], limit_indices: Sequence[int],  # noqa: A001
          strides: Sequence[int] | None = None):
    """The static slice ``operand[start:limit:stride, ...]``; indices must
    lie in bounds (``0 <= start <= limit <= size``).

    >>> slice(np.arange(10), (1,), (8,), (3,))
    Array([1, 4, 7], dtype=int64)
    """
    operand = asoperand(operand, "slice")
    start_indices = _ints("slice", "start_indices", start_indices)
    limit_indices = _ints("slice", "limit_indices", limit_indices)
    if strides is not None:
        strides = _ints("slice", "strides", strides)
        if all(s == 1 for s in strides) and len(strides) == len(start_indices):
            strides = None
    return slice_p.bind(operand, start_indices=start_indices, limit_indices=limit_indices,
                        strides=strides)


def slice_in_dim(operand, start_index: int | None, limit_index: int | None, stride: int = 1,
                 axis: int = 0):
    """``slice`` along one axis; ``None`` means the start/end and negative
    indices count from the end, as in Python.

    >>> slice_in_dim(np.arange(5), -2, None)
    Array([3, 4], dtype=int64)
    """
    operand = asoperand(operand, "slice_in_dim")
    aval = get_aval(operand)
    axis = _axis("slice_in_dim", "axis", axis, aval.ndim, aval)
    size = aval.shape[axis]
    start = 0 if start_index is None else _int("slice_in_dim", "start_index", start_index)
    limit = size if limit_index is None else _int("slice_in_dim", "limit_index", limit_index)
    start, limit = (start + size if start < 0 else start), (limit + size if limit < 0 else limit)
    starts, limits, strides = [0] * aval.ndim, list(aval.shape), [1] * aval.ndim
    starts[axis], limits[axis], strides[axis] = start, limit, _int("slice_in_dim", "stride", stride)
    return slice(operand, starts, limits, strides)


def index_in_dim(operand, index: int, axis: int = 0, keepdims: bool = True):
    """``operand[..., index, ...]`` along ``axis`` for a static index
    (negative counts from the end); keeps a size-1 axis if ``keepdims``.

    >>> index_in_dim(np.arange(6).reshape(2, 3), -1, axis=1, keepdims=False)
    Array([2, 5], dtype=int64)
    """
    operand = asoperand(operand, "index_in_dim")
    aval = get_aval(operand)
    axis = _axis("index_in_dim", "axis", axis, aval.ndim, aval)
    size, index = aval.shape[axis], _int("index_in_dim", "index", index)
    if not -size <= index < size:
        raise IndexError(f"index_in_dim: index {index} is out of bounds for axis {axis} of "
                         f"{aval.str_short()}")
    index %= size
    out = slice_in_dim(operand, index, index + 1, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


# ------------------------------------------------------- dynamic slicing
def _check_starts(name: str, x: ShapedArray, starts) -> None:
    if len(starts) != x.ndim:
        raise TypeError(f"{name}: got {len(starts)} start indices for the operand "
                        f"{x.str_short()}; need one per dimension")
    for i, s in enumerate(starts):
        if s.ndim or s.dtype.kind not in "iu":
            raise TypeError(f"{name}: start index {i} must be a scalar integer, got "
                            f"{s.str_short()}")


def _clamped_starts(starts, shape, sizes) -> list[int]:
    # XLA semantics: every start is clamped so the whole window lies inside.
    return [min(max(int(s), 0), dim - size) for s, dim, size in zip(starts, shape, sizes)]


def _dynamic_slice_abstract_eval(x: ShapedArray, *starts: ShapedArray, slice_sizes):
    _check_starts("dynamic_slice", x, starts)
    if len(slice_sizes) != x.ndim or any(not 0 <= s <= d for s, d in zip(slice_sizes, x.shape)):
        raise TypeError(f"dynamic_slice: slice_sizes {slice_sizes} must have one entry per "
                        f"dimension of {x.str_short()}, each between 0 and that dimension's size")
    return [ShapedArray(slice_sizes, x.dtype, _weak(x, *starts))]


def _dynamic_slice_impl(x, *starts, slice_sizes):
    lo = _clamped_starts(starts, x.shape, slice_sizes)
    return [x[tuple(builtins.slice(s, s + n) for s, n in zip(lo, slice_sizes))]]


dynamic_slice_p = _declare("dynamic_slice", _dynamic_slice_impl, _dynamic_slice_abstract_eval)


def _start_operands(name: str, aval: ShapedArray, start_indices, allow_negative_indices) -> list:
    """One int64 scalar operand per dimension; with ``allow_negative_indices``
    a negative start counts from the end of its dimension (JAX's default)."""
    if isinstance(start_indices, (Tracer, Array, np.ndarray)):
        starts_aval = get_aval(start_indices)
        if starts_aval.ndim != 1:
            raise TypeError(f"{name}: start_indices must be a sequence of scalars or a 1-d "
                            f"array, got {starts_aval.str_short()}")
        if isinstance(start_indices, Tracer):
            starts = [index_in_dim(start_indices, i, keepdims=False)
                      for i in range(starts_aval.shape[0])]
        else:
            starts = list(np.asarray(start_indices))
    else:
        starts = list(start_indices)
    if len(starts) != aval.ndim:
        raise TypeError(f"{name}: got {len(starts)} start indices for the operand "
                        f"{aval.str_short()}; need one per dimension")
    allow = allow_negative_indices
    allow = [bool(allow)] * aval.ndim if isinstance(allow, (bool, np.bool_)) else list(allow)
    if len(allow) != aval.ndim:
        raise TypeError(f"{name}: allow_negative_indices needs one entry per dimension of "
                        f"{aval.str_short()}, got {allow_negative_indices!r}")
    out = []
    for i, (s, dim, wrap) in enumerate(zip(starts, aval.shape, allow)):
        s = asoperand(s, name)
        s_aval = get_aval(s)
        if s_aval.ndim or s_aval.dtype.kind not in "iu":
            raise TypeError(f"{name}: start index {i} must be a scalar integer, got "
                            f"{s_aval.str_short()}")
        if isinstance(s, Tracer):
            if s_aval.dtype != dtypes.int64:
                s = convert_element_type(s, dtypes.int64)
            if wrap:
                s = select(lt(s, 0), add(s, dim), s)
        else:
            v = int(np.asarray(s))
            v = v + dim if wrap and v < 0 else v
            s = np.asarray(min(max(v, _INT64_MIN), _INT64_MAX), dtype=np.int64)
            s.flags.writeable = False
        out.append(s)
    return out


def dynamic_slice(operand, start_indices, slice_sizes: Sequence[int], *,
                  allow_negative_indices: bool | Sequence[bool] = True):
    """The slice of static size ``slice_sizes`` starting at the (possibly
    traced) ``start_indices``.  A negative start counts from the end (unless
    ``allow_negative_indices=False``); then each start is clamped to
    ``[0, dim - size]`` so the slice always lies in bounds.

    >>> x = np.arange(5)
    >>> dynamic_slice(x, (1,), (3,)), dynamic_slice(x, (4,), (3,))
    (Array([1, 2, 3], dtype=int64), Array([2, 3, 4], dtype=int64))
    """
    operand = asoperand(operand, "dynamic_slice")
    aval = get_aval(operand)
    starts = _start_operands("dynamic_slice", aval, start_indices, allow_negative_indices)
    slice_sizes = _ints("dynamic_slice", "slice_sizes", slice_sizes)
    return dynamic_slice_p.bind(operand, *starts, slice_sizes=slice_sizes)


def dynamic_slice_in_dim(operand, start_index, slice_size: int, axis: int = 0, *,
                         allow_negative_indices: bool = True):
    """``dynamic_slice`` along one axis: ``operand[..., start:start + size]``
    with the start clamped into bounds.

    >>> dynamic_slice_in_dim(np.arange(5), -2, 3)
    Array([2, 3, 4], dtype=int64)
    """
    operand = asoperand(operand, "dynamic_slice_in_dim")
    aval = get_aval(operand)
    axis = _axis("dynamic_slice_in_dim", "axis", axis, aval.ndim, aval)
    starts, sizes = [0] * aval.ndim, list(aval.shape)
    starts[axis], sizes[axis] = start_index, _int("dynamic_slice_in_dim", "slice_size", slice_size)
    return dynamic_slice(operand, starts, sizes, allow_negative_indices=allow_negative_indices)


def dynamic_index_in_dim(operand, index, axis: int = 0, keepdims: bool = True, *,
                         allow_negative_indices: bool = True):
    """``operand[..., index, ...]`` along ``axis`` for a possibly traced
    index (clamped into bounds).

    >>> dynamic_index_in_dim(np.arange(6).reshape(2, 3), 1, axis=1, keepdims=False)
    Array([1, 4], dtype=int64)
    """
    operand = asoperand(operand, "dynamic_index_in_dim")
    aval = get_aval(operand)
    axis = _axis("dynamic_index_in_dim", "axis", axis, aval.ndim, aval)
    out = dynamic_slice_in_dim(operand, index, 1, axis,
                               allow_negative_indices=allow_negative_indices)
    return out if keepdims else squeeze(out, (axis,))


def _dynamic_update_slice_abstract_eval(x: ShapedArray, update: ShapedArray,
                                        *starts: ShapedArray):
    _check_starts("dynamic_update_slice", x, starts)
    if update.dtype != x.dtype:
        raise TypeError(f"dynamic_update_slice: update {update.str_short()} must have the "
                        f"dtype of the operand {x.str_short()}")
    if update.ndim != x.ndim or any(u > d for u, d in zip(update.shape, x.shape)):
        raise TypeError(f"dynamic_update_slice: update {update.str_short()} must have the rank "
                        f"of the operand {x.str_short()} and fit inside it")
    return [ShapedArray(x.shape, x.dtype, _weak(x, update, *starts))]


def _dynamic_update_slice_impl(x, update, *starts):
    lo = _clamped_starts(starts, x.shape, update.shape)
    out = np.array(x)
    out[tuple(builtins.slice(s, s + n) for s, n in zip(lo, update.shape))] = update
    return [out]


dynamic_update_slice_p = _declare("dynamic_update_slice", _dynamic_update_slice_impl,
                                  _dynamic_update_slice_abstract_eval)


def dynamic_update_slice(operand, update, start_indices, *,
                         allow_negative_indices: bool | Sequence[bool] = True):
    """``operand`` with the window at ``start_indices`` replaced by
    ``update``; starts are wrapped and clamped as in ``dynamic_slice``.

    >>> dynamic_update_slice(np.zeros(5), np.ones(2), (4,))
    Array([0., 0., 0., 1., 1.], dtype=float64)
    """
    operand, update = _match_weak("dynamic_update_slice", operand, update)
    aval = get_aval(operand)
    starts = _start_operands("dynamic_update_slice", aval, start_indices,
                             allow_negative_indices)
    return dynamic_update_slice_p.bind(operand, update, *starts)


def dynamic_update_slice_in_dim(operand, update, start_index, axis: int, *,
                                allow_negative_indices: bool = True):
    """``dynamic_update_slice`` along one axis (zero starts elsewhere).

    >>> dynamic_update_slice_in_dim(np.zeros(3), np.ones(1), -1, axis=0)
    Array([0., 0., 1.], dtype=float64)
    """
    operand = asoperand(operand, "dynamic_update_slice_in_dim")
    aval = get_aval(operand)
    starts = [0] * aval.ndim
    starts[_axis("dynamic_update_slice_in_dim", "axis", axis, aval.ndim, aval)] = start_index
    return dynamic_update_slice(operand, update, starts,
                                allow_negative_indices=allow_negative_indices)


def dynamic_update_index_in_dim(operand, update, index, axis: int, *,
                                allow_negative_indices: bool = True):
    """Replace ``operand[..., index, ...]`` along ``axis`` with ``update``
    (which may lack that axis).

    >>> dynamic_update_index_in_dim(np.zeros(3), 5.0, 1, axis=0)
    Array([0., 5., 0.], dtype=float64)
    """
    operand = asoperand(operand, "dynamic_update_index_in_dim")
    update = asoperand(update, "dynamic_update_index_in_dim")
    aval = get_aval(operand)
    axis = _axis("dynamic_update_index_in_dim", "axis", axis, aval.ndim, aval)
    if get_aval(update).ndim == aval.ndim - 1:
        update = expand_dims(update, (axis,))
    return dynamic_update_slice_in_dim(operand, update, index, axis,
                                       allow_negative_indices=allow_negative_indices)


# ------------------------------------------------------------ iota
def _iota_abstract_eval(*, dtype, shape, dimension):
    if np.dtype(dtype).kind not in "iufc":
        raise TypeError(f"iota: dtype must be numeric, got {np.dtype(dtype).name}")
    if any(s < 0 for s in shape):
        raise ValueError(f"iota: shape {shape} has a negative dimension")
    if not 0 <= dimension < len(shape):
        raise ValueError(f"iota: dimension {dimension} is out of range for shape {shape}")
    return [ShapedArray(shape, np.dtype(dtype))]


def _iota_impl(*, dtype, shape, dimension):
    line = np.arange(shape[dimension], dtype=dtype)
    expanded = [1] * len(shape)
    expanded[dimension] = shape[dimension]
    return [np.broadcast_to(line.reshape(expanded), shape)]


iota_p = _declare("iota", _iota_impl, _iota_abstract_eval)


def broadcasted_iota(dtype, shape: Sequence[int], dimension: int):
    """An array of ``shape`` whose value is the index along ``dimension``.

    >>> broadcasted_iota(np.int32, (2, 3), 1)
    Array([[0, 1, 2],
           [0, 1, 2]], dtype=int32)
    """
    shape = _ints("broadcasted_iota", "shape", shape)
    dimension = _axis("broadcasted_iota", "dimension", dimension, len(shape))
    return iota_p.bind(dtype=dtypes.canonicalize(dtype), shape=shape, dimension=dimension)


def iota(dtype, size: int):
    """``[0, 1, ..., size - 1]`` of ``dtype``.

    >>> iota(np.float32, 3)
    Array([0., 1., 2.], dtype=float32)
    """
    size = _int("iota", "size", size)
    return iota_p.bind(dtype=dtypes.canonicalize(dtype), shape=(size,), dimension=0)


__all__ = [
    "broadcast_in_dim_p", "reshape_p", "transpose_p", "squeeze_p", "expand_dims_p", "rev_p",
    "concatenate_p", "pad_p", "slice_p", "dynamic_slice_p", "dynamic_update_slice_p", "iota_p",
    "broadcast_in_dim", "broadcast", "full", "full_like", "zeros_like_array", "reshape",
    "transpose", "squeeze", "expand_dims", "rev", "concatenate", "pad", "slice",
    "slice_in_dim", "index_in_dim", "dynamic_slice", "dynamic_slice_in_dim",
    "dynamic_index_in_dim", "dynamic_update_slice", "dynamic_update_slice_in_dim",
    "dynamic_update_index_in_dim", "iota", "broadcasted_iota",
]
