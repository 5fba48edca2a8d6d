"""Concatenation, padding, and static and dynamic slicing.

Like :mod:`funcgrad.lax.shape` (whose helpers this module shares), each
primitive is one block: implementation, shape rule, differentiation rules
and wrappers.  All of these primitives are linear in their array operands
(jointly, for the multi-operand ones) and take their start indices as
integer operands that are never differentiated, so the transposes pair up:
``slice`` and ``pad`` transpose into each other, ``concatenate`` into
slices, ``dynamic_slice`` and ``dynamic_update_slice`` into each other.
Both dynamic primitives clamp their starts the same way (inside the
implementation), so a transpose that binds the partner primitive with the
same start operands puts the cotangent exactly where the forward pass read
or wrote.

Batching keeps a batch axis where it is and adds a whole-batch entry to the
parameters; a padding value that differs across the batch is applied with a
select, and dynamic slices with starts that differ across the batch become
gathers and scatters (in :mod:`funcgrad.lax.slicing_batching`).
"""
from __future__ import annotations

import builtins
from typing import Sequence

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.ad_util import Zero, deflinear, instantiate, is_undefined_primal, is_zero
from funcgrad.core.array import Array
from funcgrad.core.avals import ShapedArray
from funcgrad.core.batching import batch_to, broadcast_batch
from funcgrad.core.trace import Tracer, get_aval
from funcgrad.lax.base import asoperand
from funcgrad.lax.elementwise import add, convert_element_type, lt, select, select_n_p, sub
from funcgrad.lax.reductions import reduce_sum
from funcgrad.lax.shape import (_OWNED, _axis, _convert, _declare, _int, _ints, _match_weak,
                                _unbatched, _weak, broadcast_in_dim, expand_dims, full, squeeze)

_INT64_MIN, _INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


def _zero(dtype: np.dtype) -> np.ndarray:
    """A strongly typed scalar zero (a padding value for cotangents)."""
    z = np.zeros((), dtype)
    z.flags.writeable = False
    return z


def _aval(x) -> ShapedArray:
    """The type of an operand of a transpose rule, defined or not."""
    return x.aval if is_undefined_primal(x) else get_aval(x)


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
deflinear(concatenate_p)


def _concatenate_transpose(cts, *xs, dimension):
    (ct,) = cts
    out, start = [], 0
    for x in xs:
        size = _aval(x).shape[dimension]
        out.append(slice_in_dim(ct, start, start + size, 1, dimension)
                   if is_undefined_primal(x) else None)
        start += size
    return out


concatenate_p.transpose = _concatenate_transpose


def _concatenate_batch(args, dims, axis_size, *, dimension):
    # Operands meet at the batch position most of them already have (fewest
    # transposes); unbatched ones are broadcast, since every member of the
    # batch concatenates them.
    _unbatched(concatenate_p, args, dims, {"dimension": dimension})
    batched = [d for d in dims if d is not None]
    target = max(batched, key=batched.count)
    xs = [batch_to(x, d, axis_size, target) for x, d in zip(args, dims, strict=True)]
    return [concatenate_p.bind(*xs, dimension=dimension + (dimension >= target))], [target]


concatenate_p.batch = _concatenate_batch


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
deflinear(pad_p)  # jointly linear in the operand and the padding value


def _pad_transpose(cts, x, value, *, padding_config):
    (ct,) = cts
    ct_aval = get_aval(ct)
    # Negated edges strip what the forward pass added and restore, as zeros,
    # what it cropped; every (interior + 1)-th element of what remains came
    # from the operand.
    inner = pad(ct, _zero(ct_aval.dtype), [(-lo, -hi, 0) for lo, hi, _ in padding_config])
    inner_shape = get_aval(inner).shape
    ct_x = slice(inner, (0,) * len(inner_shape), inner_shape,
                 tuple(interior + 1 for _, _, interior in padding_config))
    ct_value = None
    if is_undefined_primal(value):
        # The padding value fills every output element the operand did not.
        everything = tuple(range(ct_aval.ndim))
        ct_value = sub(reduce_sum(ct, everything), reduce_sum(ct_x, everything))
    return [ct_x if is_undefined_primal(x) else None, ct_value]


pad_p.transpose = _pad_transpose


def _pad_batch(args, dims, axis_size, *, padding_config):
    x, value = args
    x_dim, value_dim = dims
    (x_aval, _) = _unbatched(pad_p, args, dims, {"padding_config": padding_config})
    out_d = 0 if x_dim is None else x_dim
    config = padding_config[:out_d] + ((0, 0, 0),) + padding_config[out_d:]
    if value_dim is None:
        return [pad_p.bind(x, value, padding_config=config)], [x_dim]
    # A padding value per member: pad with zero, then put each member's value
    # where a padded mask says the padding is (select keeps the operand's
    # elements exact, and cropping or interior padding need no special case).
    zero = _convert(np.zeros((), x_aval.dtype), x_aval.dtype, x_aval.weak_type)
    padded = pad_p.bind(x, zero, padding_config=config if x_dim is not None else padding_config)
    mask = pad_p.bind(full(x_aval.shape, True, np.bool_), _zero(np.dtype(np.bool_)),
                      padding_config=padding_config)
    if x_dim is None:
        padded = broadcast_batch(padded, axis_size, out_d)
    mask = broadcast_batch(mask, axis_size, out_d)
    shape = get_aval(mask).shape
    values = broadcast_in_dim(batch_to(value, value_dim, axis_size, 0), shape, (out_d,))
    return [select_n_p.bind(mask, values, padded)], [out_d]


pad_p.batch = _pad_batch


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
deflinear(slice_p)


def _slice_transpose(cts, x, *, start_indices, limit_indices, strides):
    # Zeros around the slice and between strided elements: a pad with
    # ``start`` below, the rest of the dimension above, ``stride - 1`` inside.
    (ct,) = cts
    steps = strides or (1,) * x.aval.ndim
    config = []
    for size, start, n, step in zip(x.aval.shape, start_indices, get_aval(ct).shape, steps,
                                    strict=True):
        covered = (n - 1) * step + 1 if n else 0
        config.append((start, size - start - covered, step - 1))
    return [pad(ct, _zero(x.aval.dtype), config)]


slice_p.transpose = _slice_transpose


def _slice_batch(args, dims, axis_size, *, start_indices, limit_indices, strides):
    # The whole batch axis is kept where it is.
    (x,), (d,) = args, dims
    _unbatched(slice_p, args, dims, {"start_indices": start_indices,
                                     "limit_indices": limit_indices, "strides": strides})
    return [slice_p.bind(
        x, start_indices=start_indices[:d] + (0,) + start_indices[d:],
        limit_indices=limit_indices[:d] + (axis_size,) + limit_indices[d:],
        strides=None if strides is None else strides[:d] + (1,) + strides[d:])], [d]


slice_p.batch = _slice_batch


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


def _dynamic_slice_jvp(primals, tangents, *, slice_sizes):
    # Linear in the operand; the integer start indices have no tangent.
    x, *starts = primals
    out = dynamic_slice_p.bind(x, *starts, slice_sizes=slice_sizes)
    if is_zero(tangents[0]):
        return [out], [Zero.like(out)]
    return [out], [dynamic_slice_p.bind(tangents[0], *starts, slice_sizes=slice_sizes)]


def _dynamic_slice_transpose(cts, x, *starts, slice_sizes):
    (ct,) = cts
    if any(is_undefined_primal(s) for s in starts):
        raise ValueError("dynamic_slice is not linear in its start indices")
    # Same start operands, same clamping: the cotangent lands on the window
    # the forward pass read.
    zeros = full(x.aval.shape, 0, x.aval.dtype)
    return [dynamic_update_slice_p.bind(zeros, ct, *starts)] + [None] * len(starts)


dynamic_slice_p.jvp = _dynamic_slice_jvp
dynamic_slice_p.transpose = _dynamic_slice_transpose
# The batching rule is in funcgrad/lax/slicing_batching.py.


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


def _dynamic_update_slice_jvp(primals, tangents):
    # Jointly linear in the operand and the update; starts have no tangent.
    x, update, *starts = primals
    t_x, t_update = tangents[:2]
    out = dynamic_update_slice_p.bind(x, update, *starts)
    if is_zero(t_x) and is_zero(t_update):
        return [out], [Zero.like(out)]
    return [out], [dynamic_update_slice_p.bind(instantiate(t_x), instantiate(t_update), *starts)]


def _dynamic_update_slice_transpose(cts, x, update, *starts):
    (ct,) = cts
    if any(is_undefined_primal(s) for s in starts):
        raise ValueError("dynamic_update_slice is not linear in its start indices")
    u_aval = _aval(update)
    # The operand's cotangent is ct with the overwritten window zeroed; the
    # update's is that window (both clamped as in the forward pass).
    ct_x = (dynamic_update_slice_p.bind(ct, full(u_aval.shape, 0, u_aval.dtype), *starts)
            if is_undefined_primal(x) else None)
    ct_update = (dynamic_slice_p.bind(ct, *starts, slice_sizes=u_aval.shape)
                 if is_undefined_primal(update) else None)
    return [ct_x, ct_update] + [None] * len(starts)


dynamic_update_slice_p.jvp = _dynamic_update_slice_jvp
dynamic_update_slice_p.transpose = _dynamic_update_slice_transpose
# The batching rule is in funcgrad/lax/slicing_batching.py.


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


__all__ = [
    "concatenate_p", "pad_p", "slice_p", "dynamic_slice_p", "dynamic_update_slice_p",
    "concatenate", "pad", "slice", "slice_in_dim", "index_in_dim", "dynamic_slice",
    "dynamic_slice_in_dim", "dynamic_index_in_dim", "dynamic_update_slice",
    "dynamic_update_slice_in_dim", "dynamic_update_index_in_dim",
]

# The batching rules of the dynamic primitives use gather/scatter; importing
# them last keeps this module free of a dependency on funcgrad.lax.indexing.
from funcgrad.lax import slicing_batching  # noqa: E402,F401
