"""Batching rules of ``dynamic_slice`` and ``dynamic_update_slice``.

They live apart from :mod:`funcgrad.lax.slicing` (which imports this module
at its end) because they are long and lean on ``gather``/``scatter``.

With start indices that are the same for every batch member, each rule binds
its own primitive once more, with a start of 0 and the whole batch along the
batch axis.  With starts that differ across the batch, the windows are at
different places in every member, which no single slice expresses: the
window becomes a grid of explicit indices, one row per element, for
``gather`` (``dynamic_slice``) or ``scatter`` (``dynamic_update_slice``).
The starts are clamped first exactly as the two primitives clamp them (into
``[0, dim - size]``), so every index is in bounds, no two rows of a member
hit one element, and the ``mode`` of gather/scatter never comes into play.
"""
from __future__ import annotations

import numpy as np

from funcgrad.core.batching import batch_to
from funcgrad.core.trace import get_aval
from funcgrad.lax.elementwise import add, clamp, convert_element_type
from funcgrad.lax.elementwise import min as lax_min
from funcgrad.lax.indexing import gather_p, scatter_p
from funcgrad.lax.shape import (_shift, _unbatched, broadcast_in_dim, broadcasted_iota,
                                transpose)
from funcgrad.lax.slicing import concatenate, dynamic_slice_p, dynamic_update_slice_p


def _int64(value: int) -> np.ndarray:
    out = np.asarray(value, np.int64)
    out.flags.writeable = False
    return out


def _insert(values, at: int, value) -> tuple:
    values = tuple(values)
    return values[:at] + (value,) + values[at:]


def _relevant_batched(start_dims, window, shape) -> list[int]:
    """Dimensions whose start differs across the batch and matters: a window
    as wide as its dimension is clamped to start 0 whatever the start says."""
    return [k for k, (d, w, n) in enumerate(zip(start_dims, window, shape, strict=True))
            if d is not None and w < n]


def _clamped_start(start, start_dim, limit: int, axis_size: int):
    """``start`` as int64 clamped into ``[0, limit]`` as the primitives clamp
    it (shape ``(axis_size,)`` if batched, else 0-d)."""
    if get_aval(start).dtype == np.uint64:
        # Values past int64's range would wrap negative when converted.
        start = lax_min(start, np.asarray(limit, np.uint64))
    start = clamp(_int64(0), convert_element_type(start, np.int64), _int64(limit))
    return start if start_dim is None else batch_to(start, start_dim, axis_size, 0)


def _window_indices(with_batch: bool, starts, sizes, axis_size: int):
    """Integer indices of shape ``(axis_size, *sizes, k)``: along the last
    axis, the batch member (if ``with_batch``), then ``start + offset`` for
    each windowed dimension; ``starts`` are batched ``(axis_size,)`` or 0-d."""
    grid = (axis_size,) + tuple(sizes) + (1,)
    columns = [broadcasted_iota(np.int64, grid, 0)] if with_batch else []
    for j, start in enumerate(starts):
        batched = get_aval(start).ndim == 1
        base = broadcast_in_dim(start, grid, (0,) if batched else ())
        columns.append(add(base, broadcasted_iota(np.int64, grid, 1 + j)))
    return concatenate(columns, len(grid) - 1)


# ------------------------------------------------------------ dynamic_slice
def _dynamic_slice_batch(args, dims, axis_size, *, slice_sizes):
    x, *starts = args
    x_dim, *start_dims = dims
    avals = _unbatched(dynamic_slice_p, args, dims, {"slice_sizes": slice_sizes})
    shape = avals[0].shape
    moving = _relevant_batched(start_dims, slice_sizes, shape)
    # Batched starts that cannot matter are replaced by 0 (what they clamp to).
    fixed = [_int64(0) if d is not None else s for s, d in zip(starts, start_dims, strict=True)]
    if not moving and x_dim is None:
        return [dynamic_slice_p.bind(x, *fixed, slice_sizes=slice_sizes)], [None]
    if not moving:
        return [dynamic_slice_p.bind(x, *_insert(fixed, x_dim, _int64(0)),
                                     slice_sizes=_insert(slice_sizes, x_dim, axis_size))], [x_dim]
    # First cut the dimensions whose starts are shared, with one dynamic
    # slice for the whole batch, so the gather below indexes only the
    # dimensions whose starts differ.
    pre_starts = [_int64(0) if k in moving else s for k, s in enumerate(fixed)]
    pre_sizes = tuple(n if k in moving else w
                      for k, (n, w) in enumerate(zip(shape, slice_sizes, strict=True)))
    if pre_sizes != shape:
        if x_dim is None:
            x = dynamic_slice_p.bind(x, *pre_starts, slice_sizes=pre_sizes)
        else:
            x = dynamic_slice_p.bind(x, *_insert(pre_starts, x_dim, _int64(0)),
                                     slice_sizes=_insert(pre_sizes, x_dim, axis_size))
    clamped = [_clamped_start(starts[k], start_dims[k], shape[k] - slice_sizes[k], axis_size)
               for k in moving]
    indices = _window_indices(x_dim is not None, clamped, [slice_sizes[k] for k in moving],
                              axis_size)
    # A batched operand is gathered along its batch axis too, each member
    # reading its own slab (the first index column is the member).
    axes = tuple(moving) if x_dim is None else (x_dim,) + _shift(moving, x_dim)
    out = gather_p.bind(x, indices, axes=axes, mode="clip", fill_value=None)
    # The gather gives (batch, moving dims, other dims); restore the order.
    order = moving + [k for k in range(len(shape)) if k not in moving]
    return [transpose(out, (0,) + tuple(1 + order.index(k) for k in range(len(shape))))], [0]


dynamic_slice_p.batch = _dynamic_slice_batch


# ----------------------------------------------------- dynamic_update_slice
def _dynamic_update_slice_batch(args, dims, axis_size):
    x, update, *starts = args
    x_dim, u_dim, *start_dims = dims
    avals = _unbatched(dynamic_update_slice_p, args, dims, {})
    shape, window = avals[0].shape, avals[1].shape
    fixed = [_int64(0) if d is not None else s for s, d in zip(starts, start_dims, strict=True)]
    if not _relevant_batched(start_dims, window, shape):
        if x_dim is None and u_dim is None:
            return [dynamic_update_slice_p.bind(x, update, *fixed)], [None]
        target = x_dim if x_dim is not None else u_dim
        x = batch_to(x, x_dim, axis_size, target)
        update = batch_to(update, u_dim, axis_size, target)
        return [dynamic_update_slice_p.bind(x, update, *_insert(fixed, target, _int64(0)))], \
            [target]
    # Scatter the update's elements one by one.  Scatter's updates span the
    # operand's dimensions that are not indexed, so every dimension the
    # update does not fill is indexed (with its start, batched or not).
    out_d = 0 if x_dim is None else x_dim
    x = batch_to(x, x_dim, axis_size, out_d)
    indexed = [k for k in range(len(shape)) if window[k] < shape[k]]
    rest = [k for k in range(len(shape)) if k not in indexed]
    update = transpose(batch_to(update, u_dim, axis_size, 0),
                       (0,) + tuple(1 + k for k in indexed + rest))
    clamped = [_clamped_start(starts[k], start_dims[k], shape[k] - window[k], axis_size)
               for k in indexed]
    indices = _window_indices(True, clamped, [window[k] for k in indexed], axis_size)
    axes = (out_d,) + _shift(indexed, out_d)
    return [scatter_p.bind(x, indices, update, axes=axes, mode="clip")], [out_d]


dynamic_update_slice_p.batch = _dynamic_update_slice_batch
