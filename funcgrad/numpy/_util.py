"""Argument handling shared by the funcgrad.numpy functions: accepting
array-likes, NumPy 2 dtype promotion with weak scalars, broadcasting and
axis normalisation."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from funcgrad import lax
from funcgrad.core import dtypes
from funcgrad.core.array import Array
from funcgrad.core.trace import Tracer, get_aval
from funcgrad.lax.base import asoperand


def asarray_operand(x, name: str = "argument"):
    """A tracer, Array, NumPy array or Python scalar (weak) from an array-like;
    nested lists and tuples become NumPy arrays as ``np.asarray`` makes them."""
    if isinstance(x, (list, tuple)):
        if any(isinstance(leaf, Tracer) for leaf in _iter_nested(x)):
            from funcgrad.numpy import array  # stack traced elements
            return array(x)
        x = np.asarray(x)
        if x.dtype == object:
            raise TypeError(f"{name}: could not convert a ragged or mixed list to an array")
    elif not isinstance(x, (Tracer, Array, np.ndarray, np.generic, bool, int, float, complex)):
        if hasattr(x, "__array__"):
            x = np.asarray(x)
    return asoperand(x, name)


def _iter_nested(x):
    for item in x:
        if isinstance(item, (list, tuple)):
            yield from _iter_nested(item)
        else:
            yield item


def result_type_of(*args) -> tuple[np.dtype, bool]:
    """The promoted ``(dtype, weak_type)`` of operands (NumPy 2 rules)."""
    avals = [get_aval(a) for a in args]
    return dtypes.promote((a.dtype, a.weak_type) for a in avals)


def convert_to(x, dtype: np.dtype, weak_type: bool = False):
    aval = get_aval(x)
    if aval.dtype == dtype and aval.weak_type == weak_type:
        return x
    return lax.convert_element_type(x, dtype, weak_type=weak_type)


def promote_dtypes(name: str, *args) -> list:
    """Convert operands to their common dtype."""
    ops = [asarray_operand(a, name) for a in args]
    dt, weak = result_type_of(*ops)
    return [convert_to(o, dt, weak) for o in ops]


def to_inexact_dtype(dt: np.dtype) -> np.dtype:
    """int and bool go to float64 (NumPy's rule); inexact stays."""
    return dt if dtypes.is_inexact(dt) else dtypes.float64


def promote_dtypes_inexact(name: str, *args) -> list:
    """Like ``promote_dtypes`` but the result is at least floating point."""
    ops = [asarray_operand(a, name) for a in args]
    dt, weak = result_type_of(*ops)
    dt = to_inexact_dtype(dt)
    return [convert_to(o, dt, weak) for o in ops]


def broadcast_shapes(name: str, *shapes: Sequence[int]) -> tuple[int, ...]:
    """NumPy broadcasting of shapes, with an error that names ``name``."""
    ndim = max((len(s) for s in shapes), default=0)
    result = []
    for axis in range(-ndim, 0):
        sizes = {s[axis] for s in shapes if len(s) >= -axis} - {1}
        if len(sizes) > 1:
            raise ValueError(f"{name}: operands could not be broadcast together with shapes "
                             f"{' '.join(str(tuple(s)) for s in shapes)}")
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def broadcast_to(x, shape: tuple[int, ...], name: str = "broadcast_to"):
    """Broadcast ``x`` to ``shape`` with ``lax.broadcast_in_dim``."""
    x = asarray_operand(x, name)
    aval = get_aval(x)
    shape = tuple(int(s) for s in shape)
    if aval.shape == shape:
        return x
    if len(shape) < aval.ndim or broadcast_shapes(name, aval.shape, shape) != shape:
        raise ValueError(f"{name}: cannot broadcast an array of shape {aval.shape} to {shape}")
    lead = len(shape) - aval.ndim
    # Size-1 axes that must grow are squeezed away first, as broadcast_in_dim
    # maps each operand axis onto an output axis of equal size.
    keep = [i for i, s in enumerate(aval.shape) if s == shape[lead + i]]
    if len(keep) != aval.ndim:
        x = lax.reshape(x, tuple(aval.shape[i] for i in keep))
    return lax.broadcast_in_dim(x, shape, tuple(lead + i for i in keep))


def promote_args(name: str, *args) -> list:
    """Promote dtypes and broadcast shapes; 0-d operands are left 0-d since
    lax elementwise operations combine them with any shape."""
    ops = promote_dtypes(name, *args)
    return _broadcast_nonscalar(name, ops)


def promote_args_inexact(name: str, *args) -> list:
    ops = promote_dtypes_inexact(name, *args)
    return _broadcast_nonscalar(name, ops)


def _broadcast_nonscalar(name: str, ops: list) -> list:
    shapes = [get_aval(o).shape for o in ops]
    if len({s for s in shapes if s}) <= 1:
        return ops  # equal shapes, or 0-d operands next to one shape
    shape = broadcast_shapes(name, *shapes)
    return [o if get_aval(o).ndim == 0 else broadcast_to(o, shape, name) for o in ops]


def canonicalize_axis(axis: int, ndim: int, name: str = "axis") -> int:
    """A non-negative axis, or NumPy's AxisError for an out-of-range one."""
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"{name}: axis {axis} is out of bounds for array of "
                                      f"dimension {ndim}")
    return axis % ndim if ndim else 0


def canonicalize_axes(axis, ndim: int, name: str = "axis") -> tuple[int, ...]:
    """``None`` means all axes; an int or a sequence of ints otherwise."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    axes = tuple(canonicalize_axis(a, ndim, name) for a in axis)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{name}: repeated axis in {tuple(axis)}")
    return axes
