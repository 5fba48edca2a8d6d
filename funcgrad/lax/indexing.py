"""Indexing primitives: ``gather`` and the ``scatter`` family.

Both use one simple layout, deliberately narrower than XLA's general
dimension numbers but closed under vmap, jvp and transposition, and easy to
lower to loops:

* ``axes`` lists distinct operand dimensions;
* ``indices`` is an integer array of shape ``(*batch, len(axes))``: each row
  picks *one* element along every dimension in ``axes``;
* the gathered (or scattered) block is ``batch + (operand dims not in axes,
  in their order)``.

For example, with an operand of shape ``(5, 7)``, ``axes=(1,)`` and indices
of shape ``(3, 1)``, ``gather`` gives shape ``(3, 5)`` with
``out[b, i] = operand[i, indices[b, 0]]``.

Negative indices are out of bounds at this level; ``funcgrad.numpy``
normalises them before binding these primitives.
"""
from __future__ import annotations

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.ad_util import Zero, add_tangents, instantiate, is_undefined_primal, is_zero
from funcgrad.core.avals import ShapedArray
from funcgrad.core.batching import batch_to, broadcast_batch, member_avals, move_axis
from funcgrad.core.primitive import Primitive
from funcgrad.core.trace import get_aval
from funcgrad.lax.base import ANY, asoperand, check_dtype, convert_weak_scalars
from funcgrad.lax.elementwise import add, convert_element_type, div, eq, mul, select
from funcgrad.lax.elementwise import max as lax_max
from funcgrad.lax.shape import broadcasted_iota, full, iota, reshape
from funcgrad.lax.slicing import concatenate

GATHER_MODES = ("clip", "fill")
SCATTER_MODES = ("drop", "clip")


# ------------------------------------------------------------ shared rules
def _check_layout(name: str, operand: ShapedArray, indices: ShapedArray, axes) -> tuple:
    """Validate ``indices``/``axes`` against ``operand``; return the batch
    shape and the shape of the dimensions not in ``axes``."""
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{name} requires integer indices, got indices of type "
                        f"{indices.str_short()} for an operand of type {operand.str_short()}")
    if indices.ndim < 1:
        raise TypeError(f"{name} requires indices with at least one dimension (the last one "
                        f"indexes axes={axes}), got indices of type {indices.str_short()}")
    if not isinstance(axes, tuple) or not all(type(a) is int for a in axes):
        raise ValueError(f"{name} requires axes to be a tuple of Python ints, got {axes!r}")
    if len(set(axes)) != len(axes) or not all(0 <= a < operand.ndim for a in axes):
        raise ValueError(f"{name} requires distinct axes in [0, {operand.ndim}) for an operand "
                         f"of type {operand.str_short()}, got axes={axes}")
    if indices.shape[-1] != len(axes):
        raise TypeError(f"{name}: the last dimension of indices ({indices.str_short()}) must "
                        f"equal len(axes) = {len(axes)} for axes={axes}")
    rest = tuple(s for d, s in enumerate(operand.shape) if d not in axes)
    return indices.shape[:-1], rest


def _moved_view(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """A view of ``x`` with ``axes`` first, in that order (writes go through)."""
    rest = tuple(d for d in range(x.ndim) if d not in axes)
    return np.transpose(x, axes + rest)


def _sizes(x: np.ndarray, axes) -> np.ndarray:
    return np.array([x.shape[a] for a in axes], dtype=np.int64)


def default_fill_value(dtype: np.dtype):
    """The value ``gather(..., mode="fill")`` uses by default (JAX's choice):
    NaN for inexact dtypes, the minimum of signed and the maximum of unsigned
    integers, and True for bool.

    >>> default_fill_value(np.dtype(np.int32))
    -2147483648
    """
    dtype = np.dtype(dtype)
    if dtypes.is_inexact(dtype):
        return float("nan")
    if dtype.kind == "i":
        return int(np.iinfo(dtype).min)
    if dtype.kind == "u":
        return int(np.iinfo(dtype).max)
    return True


# ------------------------------------------------------- batching helpers
def _shift_axes(axes, d: int) -> tuple[int, ...]:
    """Operand ``axes`` renumbered for a batch axis inserted at ``d``."""
    return tuple(a + (a >= d) for a in axes)


def _unindexed_before(d: int, axes) -> int:
    """How many dimensions before ``d`` no index picks: ``d``'s position
    among the operand dimensions a gather keeps (or a scatter's updates
    cover)."""
    return sum(1 for a in range(d) if a not in axes)


def _rows_batch_axis(indices, d: int):
    """``indices`` with its batch axis among the row axes: the last axis
    holds each row's index tuple, so a batch axis there moves just before
    it."""
    last = get_aval(indices).ndim - 1
    if d == last:
        return move_axis(indices, d, last - 1), last - 1
    return indices, d


def _with_member_column(indices, d: int, axis_size: int):
    """Prepend to each row of ``indices`` (batched at ``d``, a row axis)
    the number of the batch member it belongs to."""
    aval = get_aval(indices)
    dtype = aval.dtype
    if axis_size - 1 > np.iinfo(dtype).max:
        # A narrow index dtype cannot hold the member numbers.
        dtype = np.dtype(np.int64)
        indices = convert_element_type(indices, dtype)
    column = broadcasted_iota(dtype, aval.shape[:-1] + (1,), d)
    return concatenate([column, indices], aval.ndim - 1)


# ------------------------------------------------------------------ gather
def _gather_impl(operand, indices, *, axes, mode, fill_value):
    operand = np.asarray(operand)
    # int64 so that clipping and bounds tests cannot overflow small dtypes.
    idx = np.asarray(indices).astype(np.int64)
    batch = idx.shape[:-1]
    moved = _moved_view(operand, axes)
    rest = moved.shape[len(axes):]
    sizes = _sizes(operand, axes)
    in_bounds = np.all((idx >= 0) & (idx < sizes), axis=-1)
    if mode == "clip":
        idx = np.clip(idx, 0, np.maximum(sizes - 1, 0))
        # Clamping cannot rescue an empty axis; those rows read as zeros.
        invalid = ~np.all(idx < sizes, axis=-1)
        fill = 0
    else:
        invalid = ~in_bounds
        fill = default_fill_value(operand.dtype) if fill_value is None else fill_value
    idx = np.where(invalid[..., None], 0, idx)
    if np.any(sizes == 0):
        out = np.zeros(batch + rest, operand.dtype)
    elif axes:
        out = np.asarray(moved[tuple(idx[..., k] for k in range(len(axes)))])
    else:
        out = np.broadcast_to(moved, batch + rest).copy()
    if np.any(invalid):
        with np.errstate(all="ignore"):
            out[invalid] = np.asarray(fill).astype(operand.dtype)
    return [np.asarray(out, dtype=operand.dtype)]


def _gather_abstract_eval(operand, indices, *, axes, mode, fill_value):
    batch, rest = _check_layout("gather", operand, indices, axes)
    if mode not in GATHER_MODES:
        raise ValueError(f"gather: mode must be one of {GATHER_MODES}, got {mode!r}")
    _check_fill_value(operand, fill_value)
    return [ShapedArray(batch + rest, operand.dtype, operand.weak_type and indices.weak_type)]


def _check_fill_value(operand: ShapedArray, fill_value) -> None:
    if fill_value is None:
        return
    if not dtypes.is_python_scalar(fill_value):
        raise TypeError(f"gather: fill_value must be a Python scalar or None, got "
                        f"{type(fill_value).__name__}")
    if isinstance(fill_value, complex) and not dtypes.is_complex(operand.dtype):
        raise TypeError(f"gather: a complex fill_value {fill_value!r} cannot fill an operand "
                        f"of type {operand.str_short()}")


def _gather_jvp(primals, tangents, *, axes, mode, fill_value):
    operand, indices = primals
    out = gather_p.bind(operand, indices, axes=axes, mode=mode, fill_value=fill_value)
    t_operand = tangents[0]
    if is_zero(t_operand):
        return [out], [Zero.like(out)]
    # Rows that read fill_value do not depend on the operand: their tangent
    # is zero, and filling with 0 keeps the tangent map linear.
    t_fill = 0 if mode == "fill" else fill_value
    return [out], [gather_p.bind(t_operand, indices, axes=axes, mode=mode, fill_value=t_fill)]


def _gather_transpose(cts, operand, indices, *, axes, mode, fill_value):
    # fill_value is a constant offset of an affine map, so it has no
    # cotangent: only rows that read the operand send theirs back.
    (ct,) = cts
    if is_undefined_primal(indices):
        raise ValueError("gather is not linear in its indices")
    aval = operand.aval
    # Clipped rows read the clamped position (scatter clamps the same way);
    # filled rows read nothing, which is exactly what "drop" scatters.
    return [scatter_add_p.bind(full(aval.shape, 0, aval.dtype), indices, ct, axes=axes,
                               mode="clip" if mode == "clip" else "drop"), None]


def _gather_batch(args, dims, axis_size, *, axes, mode, fill_value):
    operand, indices = args
    d_op, d_idx = dims
    params = {"mode": mode, "fill_value": fill_value}
    if d_idx is None:
        # Every member reads the same positions: the batch axis is one more
        # operand dimension that no index picks, so it lands among the
        # output's trailing (non-indexed) dimensions; nothing moves.
        new_axes = _shift_axes(axes, d_op)
        out = gather_p.bind(operand, indices, axes=new_axes, **params)
        n_rows = get_aval(indices).ndim - 1
        return [out], [n_rows + _unindexed_before(d_op, new_axes)]
    # The batch axis of the indices is one more row axis (not the last one,
    # which holds the index tuple), and stays where it is in the output.
    indices, d_idx = _rows_batch_axis(indices, d_idx)
    if d_op is None:
        return [gather_p.bind(operand, indices, axes=axes, **params)], [d_idx]
    # Member b reads operand[b]: index the operand's batch axis too, with
    # each row's member number (always in bounds, so clip/fill act only on
    # the user's indices).  One gather, one more indexed axis.
    indices = _with_member_column(indices, d_idx, axis_size)
    out = gather_p.bind(operand, indices, axes=(d_op,) + _shift_axes(axes, d_op), **params)
    return [out], [d_idx]


gather_p = Primitive("gather")
gather_p.impl = _gather_impl
gather_p.abstract_eval = _gather_abstract_eval
gather_p.jvp = _gather_jvp
gather_p.transpose = _gather_transpose
gather_p.batch = _gather_batch


# ----------------------------------------------------------------- scatter
def _dedupe_last(flat_positions: np.ndarray) -> np.ndarray:
    """Rows to keep so that, for repeated positions, the last row wins."""
    reversed_positions = flat_positions[::-1]
    _, first_in_reversed = np.unique(reversed_positions, return_index=True)
    return np.sort(len(flat_positions) - 1 - first_in_reversed)


def _scatter_impl_for(combine):
    """The impl of a scatter primitive; ``combine`` is a ufunc with ``.at``
    (duplicates accumulate) or None for set (the last duplicate wins)."""
    def impl(operand, indices, updates, *, axes, mode):
        operand = np.asarray(operand)
        out = np.array(operand, copy=True)
        idx = np.asarray(indices).astype(np.int64)
        updates = np.asarray(updates)
        k = len(axes)
        moved = _moved_view(out, axes)
        sizes = _sizes(out, axes)
        rest = moved.shape[k:]
        rows = int(np.prod(idx.shape[:-1], dtype=np.int64))
        idx = idx.reshape(rows, k)
        updates = updates.reshape((rows,) + rest)
        if k == 0:
            # Every row updates the whole operand: index a unit leading axis.
            moved, sizes = moved[np.newaxis], np.ones(1, np.int64)
            idx = np.zeros((idx.shape[0], 1), np.int64)
        if mode == "clip":
            idx = np.clip(idx, 0, np.maximum(sizes - 1, 0))
        keep = np.all((idx >= 0) & (idx < sizes), axis=-1)
        idx, updates = idx[keep], updates[keep]
        if combine is None:
            rows = _dedupe_last(np.ravel_multi_index(tuple(idx.T), tuple(sizes)))
            idx, updates = idx[rows], updates[rows]
        key = tuple(idx[:, j] for j in range(idx.shape[1]))
        with np.errstate(all="ignore"):
            if combine is None:
                moved[key] = updates
            else:
                combine.at(moved, key, updates)
        return [out]
    return impl


def _scatter_abstract_eval_for(name: str, kinds: str):
    def abstract_eval(operand, indices, updates, *, axes, mode):
        batch, rest = _check_layout(name, operand, indices, axes)
        if mode not in SCATTER_MODES:
            raise ValueError(f"{name}: mode must be one of {SCATTER_MODES}, got {mode!r}")
        check_dtype(name, operand, kinds)
        if updates.dtype != operand.dtype:
            raise TypeError(f"{name} requires updates of the operand's dtype "
                            f"{operand.dtype.name}, got updates of type {updates.str_short()}")
        if updates.shape != batch + rest:
            raise TypeError(f"{name}: updates of type {updates.str_short()} must have shape "
                            f"batch + (operand dims not in axes) = {batch + rest} for an "
                            f"operand of type {operand.str_short()}, indices of type "
                            f"{indices.str_short()} and axes={axes}")
        weak = operand.weak_type and indices.weak_type and updates.weak_type
        return [ShapedArray(operand.shape, operand.dtype, weak)]
    return abstract_eval


def _scatter_batch_for(p: Primitive):
    """The batching rule of a scatter primitive.  The output is batched
    whenever any operand is, so an unbatched operand is broadcast (every
    member needs its own copy to update); the batch axis of the result is
    the operand's."""
    def rule(args, dims, axis_size, *, axes, mode):
        operand, indices, updates = args
        d_op, d_idx, d_up = dims
        member = member_avals(args, dims)
        n_rows = member[1].ndim - 1
        if d_idx is None:
            # Every member updates the same positions: the batch axis is an
            # operand dimension no index picks, covered by the updates.
            if d_op is None:
                d_op = _operand_dim_matching(member[0].ndim, axes, d_up, n_rows)
                operand = broadcast_batch(operand, axis_size, d_op)
            new_axes = _shift_axes(axes, d_op)
            updates = batch_to(updates, d_up, axis_size,
                               n_rows + _unindexed_before(d_op, new_axes))
            return [p.bind(operand, indices, updates, axes=new_axes, mode=mode)], [d_op]
        # Member b updates operand[b]: index the operand's batch axis with
        # the member number, as gather does; the updates' batch axis is then
        # the row axis that the indices' batch axis is.
        indices, d_idx = _rows_batch_axis(indices, d_idx)
        if d_op is None:
            d_op = 0
            operand = broadcast_batch(operand, axis_size, d_op)
        indices = _with_member_column(indices, d_idx, axis_size)
        updates = batch_to(updates, d_up, axis_size, d_idx)
        out = p.bind(operand, indices, updates, axes=(d_op,) + _shift_axes(axes, d_op),
                     mode=mode)
        return [out], [d_op]
    return rule


def _operand_dim_matching(ndim: int, axes, d_up, n_rows: int) -> int:
    """Where to give an unbatched scatter operand its batch axis so that the
    updates' batch axis (``d_up``) is already where the scatter wants it."""
    if d_up is None or d_up < n_rows:
        return 0  # the updates move in any case
    kept = [a for a in range(ndim) if a not in axes]
    r = d_up - n_rows  # the batch axis is the r-th kept dimension
    return kept[r] if r < len(kept) else ndim


def _scatter_primitive(name: str, combine, kinds: str) -> Primitive:
    p = Primitive(name)
    p.impl = _scatter_impl_for(combine)
    p.abstract_eval = _scatter_abstract_eval_for(name, kinds)
    p.batch = _scatter_batch_for(p)
    return p


scatter_p = _scatter_primitive("scatter", None, ANY)
scatter_add_p = _scatter_primitive("scatter_add", np.add, "biufc")
scatter_mul_p = _scatter_primitive("scatter_mul", np.multiply, "biufc")
scatter_min_p = _scatter_primitive("scatter_min", np.minimum, "biuf")
scatter_max_p = _scatter_primitive("scatter_max", np.maximum, "biuf")


# ----------------------------------------------------- scatter: AD rules
# Every rule reads rows back with the gather mode that matches the scatter
# mode: "clip" clamps in both, and rows a "drop" scatter ignores read 0.
def _row_gather(x, indices, axes, mode):
    """``x`` at the position each (update) row of a scatter lands on; 0 for
    the rows the scatter drops."""
    if mode == "clip":
        return gather_p.bind(x, indices, axes=axes, mode="clip", fill_value=None)
    return gather_p.bind(x, indices, axes=axes, mode="fill", fill_value=0)


def _zeros(aval: ShapedArray):
    return full(aval.shape, 0, aval.dtype)


def _aval(x) -> ShapedArray:
    return x.aval if is_undefined_primal(x) else get_aval(x)


def _check_indices_known(name: str, indices) -> None:
    if is_undefined_primal(indices):
        raise ValueError(f"{name} is not linear in its indices")


def _scatter_add_jvp(primals, tangents, *, axes, mode):
    operand, indices, updates = primals
    t_operand, _, t_updates = tangents
    out = scatter_add_p.bind(operand, indices, updates, axes=axes, mode=mode)
    if is_zero(t_updates):
        # Adding constants leaves the operand's tangent as it is.
        return [out], [t_operand if not is_zero(t_operand) else Zero.like(out)]
    return [out], [scatter_add_p.bind(instantiate(t_operand), indices, t_updates, axes=axes,
                                      mode=mode)]


def _scatter_add_transpose(cts, operand, indices, updates, *, axes, mode):
    (ct,) = cts
    _check_indices_known("scatter_add", indices)
    return [ct if is_undefined_primal(operand) else None, None,
            _row_gather(ct, indices, axes, mode) if is_undefined_primal(updates) else None]


scatter_add_p.jvp = _scatter_add_jvp
scatter_add_p.transpose = _scatter_add_transpose


def _scatter_jvp(primals, tangents, *, axes, mode):
    operand, indices, updates = primals
    t_operand, _, t_updates = tangents
    out = scatter_p.bind(operand, indices, updates, axes=axes, mode=mode)
    if is_zero(t_operand) and is_zero(t_updates):
        return [out], [Zero.like(out)]
    # The tangent scatter sees the same indices, so among duplicates the
    # same (last) row wins as in the primal.
    return [out], [scatter_p.bind(instantiate(t_operand), indices, instantiate(t_updates),
                                  axes=axes, mode=mode)]


def _scatter_winners(operand_aval, indices, updates_aval, axes, mode):
    """Boolean mask (of the updates' shape) of the update elements that are
    in scatter's result: in bounds (or clipped) and, among duplicates, the
    last one.  Found by scattering element ids and reading them back, so it
    agrees with the impl whatever rule that uses for duplicates."""
    size = int(np.prod(updates_aval.shape, dtype=np.int64))
    # Ids start at 1: 0 is what unwritten positions and dropped rows read.
    ids = reshape(add(iota(np.int64, size), np.int64(1)), updates_aval.shape)
    written = scatter_p.bind(full(operand_aval.shape, 0, np.int64), indices, ids, axes=axes,
                             mode=mode)
    return eq(_row_gather(written, indices, axes, mode), ids)


def _scatter_transpose(cts, operand, indices, updates, *, axes, mode):
    # scatter is linear jointly in (operand, updates): each output element
    # is either an operand element or one update element.
    (ct,) = cts
    _check_indices_known("scatter", indices)
    updates_aval = _aval(updates)
    ct_operand = ct_updates = None
    if is_undefined_primal(operand):
        # Overwritten elements do not reach the output.
        ct_operand = scatter_p.bind(ct, indices, _zeros(updates_aval), axes=axes, mode=mode)
    if is_undefined_primal(updates):
        # Only the update that was written receives the cotangent; the ones
        # that lost to a later duplicate (or were dropped) get zero.
        won = _scatter_winners(_aval(operand), indices, updates_aval, axes, mode)
        ct_updates = select(won, _row_gather(ct, indices, axes, mode), _zeros(updates_aval))
    return [ct_operand, None, ct_updates]


scatter_p.jvp = _scatter_jvp
scatter_p.transpose = _scatter_transpose


def _product_of_others(operand_aval, indices, updates, axes, mode):
    """For every update element, the product of the *other* updates that
    land on its position (the derivative of scatter_mul's product with
    respect to it, before the operand's factor).  Zeros are counted apart so
    that no division by zero occurs: a row is divided out of the product of
    the non-zero updates only when it is itself non-zero.

    With unique indices this is exact (u / u == 1).  With duplicates the
    result is within a few ulps, unless the product of a position's updates
    leaves the normal range (subnormal or overflowing) while the product of
    the others does not; a division-free version needs a segmented product
    over duplicate positions, which no primitive offers yet."""
    dt = get_aval(updates).dtype
    is_zero_update = eq(updates, _zeros(get_aval(updates)))
    ones = full(get_aval(updates).shape, 1, dt)
    nonzero = select(is_zero_update, ones, updates)
    nonzero_product = _row_gather(
        scatter_mul_p.bind(full(operand_aval.shape, 1, dt), indices, nonzero, axes=axes,
                           mode=mode), indices, axes, mode)
    # Counts of zero updates per position (exact in the updates' dtype for
    # any realistic number of duplicates).
    zero_count = _row_gather(
        scatter_add_p.bind(full(operand_aval.shape, 0, dt), indices,
                           convert_element_type(is_zero_update, dt), axes=axes, mode=mode),
        indices, axes, mode)
    none = _zeros(get_aval(updates))
    without_self = div(nonzero_product, nonzero)
    return select(is_zero_update,
                  select(eq(zero_count, ones), nonzero_product, none),
                  select(eq(zero_count, none), without_self, none))


def _scatter_mul_jvp(primals, tangents, *, axes, mode):
    operand, indices, updates = primals
    t_operand, _, t_updates = tangents
    out = scatter_mul_p.bind(operand, indices, updates, axes=axes, mode=mode)
    t_out = Zero.like(out)
    if not is_zero(t_operand):
        # Linear in the operand: each element is scaled by the product of
        # the updates that land on it.
        t_out = scatter_mul_p.bind(t_operand, indices, updates, axes=axes, mode=mode)
    if not is_zero(t_updates):
        others = _product_of_others(get_aval(operand), indices, updates, axes, mode)
        summed = scatter_add_p.bind(_zeros(get_aval(out).strip_weak_type()), indices,
                                    mul(t_updates, others), axes=axes, mode=mode)
        t_out = add_tangents(t_out, mul(operand, summed))
    return [out], [t_out]


def _scatter_mul_transpose(cts, operand, indices, updates, *, axes, mode):
    (ct,) = cts
    _check_indices_known("scatter_mul", indices)
    if is_undefined_primal(updates):
        raise ValueError("scatter_mul is linear in its operand only (for known updates)")
    # A diagonal scaling is its own transpose.
    return [scatter_mul_p.bind(ct, indices, updates, axes=axes, mode=mode), None, None]


scatter_mul_p.jvp = _scatter_mul_jvp
scatter_mul_p.transpose = _scatter_mul_transpose


def _scatter_extremum_jvp(p: Primitive):
    """scatter_min/max: each output element takes the tangent of the
    candidate (operand element or update) whose value it has; ties between
    equal candidates split it evenly (JAX's convention for max)."""
    def jvp(primals, tangents, *, axes, mode):
        operand, indices, updates = primals
        t_operand, _, t_updates = tangents
        out = p.bind(operand, indices, updates, axes=axes, mode=mode)
        if is_zero(t_operand) and is_zero(t_updates):
            return [out], [Zero.like(out)]
        out_aval = get_aval(out).strip_weak_type()
        dt = out_aval.dtype
        operand_hit = convert_element_type(eq(operand, out), dt)
        # Dropped rows may compare equal to the 0 they read, but the
        # scatter_adds below drop them again.
        updates_hit = convert_element_type(eq(updates, _row_gather(out, indices, axes, mode)), dt)
        count = add(operand_hit, scatter_add_p.bind(_zeros(out_aval), indices, updates_hit,
                                                    axes=axes, mode=mode))
        # A NaN result equals no candidate; avoid 0/0 there.
        count = lax_max(count, full(out_aval.shape, 1, dt))
        total = Zero(out_aval)
        if not is_zero(t_operand):
            total = mul(t_operand, operand_hit)
        if not is_zero(t_updates):
            total = add_tangents(total, scatter_add_p.bind(
                _zeros(out_aval), indices, mul(t_updates, updates_hit), axes=axes, mode=mode))
        return [out], [div(total, count)]
    return jvp


scatter_min_p.jvp = _scatter_extremum_jvp(scatter_min_p)
scatter_max_p.jvp = _scatter_extremum_jvp(scatter_max_p)
for _p in (scatter_min_p, scatter_max_p):
    _p.not_applicable["transpose"] = "not linear"


# --------------------------------------------------------------- wrappers
def _as_indices(indices, name: str):
    if isinstance(indices, (list, tuple)):
        indices = np.asarray(indices)
        if indices.size == 0:
            indices = indices.astype(np.int64)
    return asoperand(indices, f"{name} indices")


def _normalize_axes(axes, ndim: int, name: str) -> tuple[int, ...]:
    if isinstance(axes, (int, np.integer)):
        axes = (axes,)
    try:
        axes = tuple(int(a) for a in axes)
    except TypeError:
        raise TypeError(f"{name}: axes must be a sequence of ints, got {axes!r}") from None
    # Out-of-range axes are left as they are for the shape rule to report.
    return tuple(a + ndim if -ndim <= a < 0 else a for a in axes)


def _check_mode(mode, allowed, name: str) -> str:
    if mode not in allowed:
        raise ValueError(f"{name}: mode must be one of {allowed}, got {mode!r}")
    return mode


def gather(operand, indices, axes, mode: str = "clip", fill_value=None):
    """Pick one element along each of ``axes`` per row of ``indices``.

    Parameters
    ----------
    operand : array
    indices : integer array of shape ``(*batch, len(axes))``
    axes : tuple of distinct ints (negative values count from the end)
    mode : ``"clip"`` clamps each index to ``[0, size - 1]``; ``"fill"``
        gives ``fill_value`` for every row with an out-of-bounds index
        (negative indices are out of bounds).
    fill_value : Python scalar or None; by default NaN for inexact dtypes,
        the minimum of signed and the maximum of unsigned integers, True for
        bool.

    Returns
    -------
    array of shape ``batch + (operand dims not in axes)``.

    Examples
    --------
    >>> x = np.arange(12.0).reshape(3, 4)
    >>> gather(x, np.array([[3], [0]]), axes=(1,))   # columns 3 and 0
    Array([[ 3.,  7., 11.],
           [ 0.,  4.,  8.]], dtype=float64)
    >>> gather(x, np.array([[2, 5]]), axes=(0, 1), mode="fill")
    Array([nan], dtype=float64)
    """
    operand = asoperand(operand, "gather")
    indices = _as_indices(indices, "gather")
    axes = _normalize_axes(axes, get_aval(operand).ndim, "gather")
    mode = _check_mode(mode, GATHER_MODES, "gather")
    if isinstance(fill_value, np.generic):
        fill_value = fill_value.item()
    return gather_p.bind(operand, indices, axes=axes, mode=mode, fill_value=fill_value)


def _scatter_api(p: Primitive, what: str, example: str):
    def op(operand, indices, updates, axes, mode: str = "drop"):
        operand, updates = convert_weak_scalars(p.name, (operand, updates))
        indices = _as_indices(indices, p.name)
        axes = _normalize_axes(axes, get_aval(operand).ndim, p.name)
        mode = _check_mode(mode, SCATTER_MODES, p.name)
        return p.bind(operand, indices, updates, axes=axes, mode=mode)
    op.__name__ = op.__qualname__ = p.name
    op.__doc__ = f"""Return a copy of ``operand`` where {what}.

    The layout is ``gather``'s: ``indices`` has shape ``(*batch, len(axes))``
    and ``updates`` shape ``batch + (operand dims not in axes)``, with the
    operand's dtype.  ``mode="drop"`` (default) ignores rows with an
    out-of-bounds index (negative ones included); ``mode="clip"`` clamps them.
    The operand is never modified.

    Examples
    --------
    >>> x = np.zeros(4)
    {example}
    """
    return op


scatter = _scatter_api(
    scatter_p, "the rows of ``updates`` are written at ``indices``; with repeated "
    "indices the last update wins",
    ">>> scatter(x, np.array([[1], [1], [9]]), np.array([5., 6., 7.]), axes=(0,))\n"
    "    Array([0., 6., 0., 0.], dtype=float64)")
scatter_add = _scatter_api(
    scatter_add_p, "``updates`` are added at ``indices`` (repeated indices accumulate)",
    ">>> scatter_add(x, np.array([[1], [1], [3]]), np.array([5., 6., 7.]), axes=(0,))\n"
    "    Array([ 0., 11.,  0.,  7.], dtype=float64)")
scatter_mul = _scatter_api(
    scatter_mul_p, "the elements at ``indices`` are multiplied by ``updates`` (repeated "
    "indices accumulate)",
    ">>> scatter_mul(x + 1, np.array([[1], [1]]), np.array([2., 3.]), axes=(0,))\n"
    "    Array([1., 6., 1., 1.], dtype=float64)")
scatter_min = _scatter_api(
    scatter_min_p, "the elements at ``indices`` become the minimum of themselves and "
    "``updates``",
    ">>> scatter_min(x, np.array([[1], [2]]), np.array([-1., 1.]), axes=(0,))\n"
    "    Array([ 0., -1.,  0.,  0.], dtype=float64)")
scatter_max = _scatter_api(
    scatter_max_p, "the elements at ``indices`` become the maximum of themselves and "
    "``updates``",
    ">>> scatter_max(x, np.array([[1], [2]]), np.array([-1., 1.]), axes=(0,))\n"
    "    Array([0., 0., 1., 0.], dtype=float64)")


__all__ = [
    "GATHER_MODES",
    "SCATTER_MODES",
    "default_fill_value",
    "gather",
    "gather_p",
    "scatter",
    "scatter_add",
    "scatter_add_p",
    "scatter_max",
    "scatter_max_p",
    "scatter_min",
    "scatter_min_p",
    "scatter_mul",
    "scatter_mul_p",
    "scatter_p",
]
