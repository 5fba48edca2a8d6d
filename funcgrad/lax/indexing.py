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
from funcgrad.core.avals import ShapedArray
from funcgrad.core.primitive import Primitive
from funcgrad.core.trace import get_aval
from funcgrad.lax.base import ANY, asoperand, check_dtype, convert_weak_scalars

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


gather_p = Primitive("gather")
gather_p.impl = _gather_impl
gather_p.abstract_eval = _gather_abstract_eval


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


def _scatter_primitive(name: str, combine, kinds: str) -> Primitive:
    p = Primitive(name)
    p.impl = _scatter_impl_for(combine)
    p.abstract_eval = _scatter_abstract_eval_for(name, kinds)
    return p


scatter_p = _scatter_primitive("scatter", None, ANY)
scatter_add_p = _scatter_primitive("scatter_add", np.add, "biufc")
scatter_mul_p = _scatter_primitive("scatter_mul", np.multiply, "biufc")
scatter_min_p = _scatter_primitive("scatter_min", np.minimum, "biuf")
scatter_max_p = _scatter_primitive("scatter_max", np.maximum, "biuf")


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
