"""Shape primitives: broadcasting, reshaping, transposition, squeezing,
reversal and ``iota`` (concatenation, padding and slicing live in
:mod:`funcgrad.lax.slicing`).

Each primitive is one block: its NumPy implementation, its shape/dtype rule,
its differentiation rules and the thin public wrapper(s) that normalise
parameters to tuples of Python ints (negative axes resolved) before binding.
Eager evaluation runs the shape rule too, so a bad parameter gives the same
message eagerly and under ``make_jaxpr``.  Wrappers hand a funcgrad value back
unchanged when the operation is the identity (as JAX does).

Every primitive here except ``iota`` is linear in its operand: its jvp applies
it to the tangent (``deflinear``) and its transpose rule moves the cotangent
back to the operand's layout with other shape primitives (and ``reduce_sum``),
so the transposes are themselves linear and transposable.

Their batching rules bind the same primitive once with its axis parameters
renumbered around the batch axis, which stays where it is (or where the
operand's axes around it put it) except where ``reshape`` needs it in front.
Each rule first runs the shape rule on one member's types, so a bad
parameter is reported as it would be without ``vmap``.
"""
from __future__ import annotations

import builtins
import operator
from typing import Sequence

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.ad_util import deflinear, not_differentiable
from funcgrad.core.array import Array
from funcgrad.core.avals import ShapedArray
from funcgrad.core.batching import member_avals
from funcgrad.core.errors import ConcretizationTypeError
from funcgrad.core.primitive import Primitive
from funcgrad.core.trace import Tracer, get_aval
from funcgrad.lax.base import asoperand
from funcgrad.lax.elementwise import convert_element_type, convert_element_type_p
from funcgrad.lax.reductions import reduce_sum


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


def _inverse_permutation(permutation) -> tuple[int, ...]:
    inverse = [0] * len(permutation)
    for i, p in enumerate(permutation):
        inverse[p] = i
    return tuple(inverse)


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


def _unbatched(p: Primitive, args, dims, params) -> list[ShapedArray]:
    """The types one batch member of ``p``'s operands sees (the batching
    interpreter has already checked them with ``p``'s shape rule)."""
    return member_avals(args, dims)


def _shift(axes, d: int) -> tuple[int, ...]:
    """Axes of an unbatched value renumbered for a batch axis inserted at ``d``."""
    return tuple(a + (a >= d) for a in axes)


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
deflinear(broadcast_in_dim_p)


def _broadcast_in_dim_transpose(cts, x, *, shape, broadcast_dimensions):
    # Every output element along a new dimension, or along a size-1 operand
    # dimension stretched to n, read the same operand element: their
    # cotangents add up.  Summing drops those dimensions; the reshape puts
    # back the size-1 ones the operand had.
    (ct,) = cts
    kept = {d for d, n in zip(broadcast_dimensions, x.aval.shape, strict=True) if n == shape[d]}
    summed = tuple(d for d in range(len(shape)) if d not in kept)
    if summed:
        ct = reduce_sum(ct, summed)
    return [reshape(ct, x.aval.shape)]


broadcast_in_dim_p.transpose = _broadcast_in_dim_transpose


def _broadcast_in_dim_batch(args, dims, axis_size, *, shape, broadcast_dimensions):
    # The batch axis goes right after the output dimension of the operand
    # dimension before it: broadcast_dimensions stay increasing, no transpose.
    (x,), (d,) = args, dims
    _unbatched(broadcast_in_dim_p, args, dims,
               {"shape": shape, "broadcast_dimensions": broadcast_dimensions})
    bd = broadcast_dimensions
    out_d = bd[d - 1] + 1 if d else 0
    new_bd = bd[:d] + (out_d,) + tuple(b + 1 for b in bd[d:])
    new_shape = shape[:out_d] + (axis_size,) + shape[out_d:]
    return [broadcast_in_dim_p.bind(x, shape=new_shape, broadcast_dimensions=new_bd)], [out_d]


broadcast_in_dim_p.batch = _broadcast_in_dim_batch


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
deflinear(reshape_p)


def _reshape_transpose(cts, x, *, new_sizes, dimensions):
    (ct,) = cts
    if dimensions is None:
        return [reshape(ct, x.aval.shape)]
    # The forward pass permuted the operand by ``dimensions`` before the
    # row-major reshape: undo the reshape, then the permutation.
    permuted = tuple(x.aval.shape[d] for d in dimensions)
    return [transpose(reshape(ct, permuted), _inverse_permutation(dimensions))]


reshape_p.transpose = _reshape_transpose


def _reshape_batch(args, dims, axis_size, *, new_sizes, dimensions):
    # A row-major reshape keeps a leading or trailing batch axis apart from
    # the other elements; anywhere else the batch axis must first go to the
    # front, which the ``dimensions`` permutation does in the same equation.
    (x,), (d,) = args, dims
    (aval,) = _unbatched(reshape_p, args, dims,
                         {"new_sizes": new_sizes, "dimensions": dimensions})
    n = aval.ndim
    perm = tuple(range(n)) if dimensions is None else dimensions
    if d == n and n:
        new_perm, sizes, out_d = perm + (n,), new_sizes + (axis_size,), len(new_sizes)
    else:
        new_perm, sizes, out_d = (d,) + _shift(perm, d), (axis_size,) + new_sizes, 0
    if new_perm == tuple(range(n + 1)):
        new_perm = None
    return [reshape_p.bind(x, new_sizes=sizes, dimensions=new_perm)], [out_d]


reshape_p.batch = _reshape_batch


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
deflinear(transpose_p)
transpose_p.transpose = lambda cts, x, *, permutation: [
    transpose(cts[0], _inverse_permutation(permutation))]


def _transpose_batch(args, dims, axis_size, *, permutation):
    # The batch axis stays where it is; the other axes move around it.
    (x,), (d,) = args, dims
    _unbatched(transpose_p, args, dims, {"permutation": permutation})
    perm = _shift(permutation, d)
    perm = perm[:d] + (d,) + perm[d:]
    return [transpose(x, perm)], [d]


transpose_p.batch = _transpose_batch


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
deflinear(squeeze_p)
# ``dimensions`` are positions in the operand, which is where expand_dims
# puts the size-1 axes back.
squeeze_p.transpose = lambda cts, x, *, dimensions: [expand_dims(cts[0], dimensions)]


def _squeeze_batch(args, dims, axis_size, *, dimensions):
    # The batch axis stays put, shifted left by the squeezed axes before it.
    (x,), (d,) = args, dims
    _unbatched(squeeze_p, args, dims, {"dimensions": dimensions})
    out_d = d - sum(k < d for k in dimensions)
    return [squeeze_p.bind(x, dimensions=_shift(dimensions, d))], [out_d]


squeeze_p.batch = _squeeze_batch


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
deflinear(expand_dims_p)
expand_dims_p.transpose = lambda cts, x, *, dimensions: [
    squeeze(cts[0], tuple(sorted(dimensions)))]


def _expand_dims_batch(args, dims, axis_size, *, dimensions):
    # The batch axis goes right after the result position of the operand
    # dimension before it, so the operand's axes keep their order.
    (x,), (d,) = args, dims
    (aval,) = _unbatched(expand_dims_p, args, dims, {"dimensions": dimensions})
    kept = [i for i in range(aval.ndim + len(dimensions)) if i not in dimensions]
    out_d = kept[d - 1] + 1 if d else 0
    new_dims = tuple(k + (k >= out_d) for k in dimensions)
    return [expand_dims_p.bind(x, dimensions=new_dims)], [out_d]


expand_dims_p.batch = _expand_dims_batch


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
deflinear(rev_p)
rev_p.transpose = lambda cts, x, *, dimensions: [rev(cts[0], dimensions)]


def _rev_batch(args, dims, axis_size, *, dimensions):
    (x,), (d,) = args, dims
    _unbatched(rev_p, args, dims, {"dimensions": dimensions})
    return [rev_p.bind(x, dimensions=_shift(dimensions, d))], [d]


rev_p.batch = _rev_batch


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
not_differentiable(iota_p, "it has no operands")
# vmap binds a primitive through its batching rule only when an operand is
# batched; iota has none, so under vmap it always runs unbatched.
iota_p.not_applicable["batch"] = "it has no operands, so it is never batched"


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
    "iota_p", "broadcast_in_dim", "broadcast", "full", "full_like", "zeros_like_array",
    "reshape", "transpose", "squeeze", "expand_dims", "rev", "iota", "broadcasted_iota",
]
