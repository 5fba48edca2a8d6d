"""NumPy indexing on funcgrad arrays: ``x[idx]``, ``x.at[idx].set(v)`` and
friends, ``take`` and ``take_along_axis``.

Every index expression NumPy accepts is parsed once into a per-dimension
plan (:func:`_parse`).  Reading uses cheap static ``lax.slice``/``lax.rev``/
``lax.reshape`` when there is no advanced index, and ``lax.gather``
otherwise; updates always go through the scatter primitives, with static
slices turned into ``arange`` index arrays.

Out-of-bounds behaviour follows JAX: a *static* Python integer out of range
is an IndexError when reading (as in NumPy), but array and traced indices are
clamped when reading (``x[idx]``) and out-of-bounds updates are dropped
(``x.at[idx].add(v)``).  Boolean masks need concrete values, since the shape
of the result depends on them.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from funcgrad import lax
from funcgrad.core import dtypes
from funcgrad.core.array import Array
from funcgrad.core.errors import ConcretizationTypeError
from funcgrad.core.trace import Tracer, get_aval
from funcgrad.numpy._util import (
    asarray_operand,
    broadcast_shapes,
    broadcast_to,
    canonicalize_axis,
)


class NonConcreteBooleanIndexError(ConcretizationTypeError, IndexError):
    """A boolean mask index was a traced value: the result's shape would
    depend on the mask's contents, which are not known while staging."""


_VALID_INDICES = ("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and "
                  "integer or boolean arrays are valid indices")


# ------------------------------------------------------------------ parsing
@dataclass(frozen=True, slots=True)
class _Slice:
    start: int
    stop: int
    step: int
    length: int
    size: int

    @property
    def full(self) -> bool:
        return self.step == 1 and self.start == 0 and self.length == self.size


@dataclass(frozen=True, slots=True)
class _Int:
    value: int  # normalised when in bounds; out-of-bounds values stay out of bounds


@dataclass(frozen=True, slots=True)
class _Adv:
    value: Any  # np.ndarray or a funcgrad integer array
    normalized: bool  # negative values already shifted by the size


@dataclass(frozen=True, slots=True)
class _Plan:
    shape: tuple[int, ...]  # the operand's shape with unit axes for None / 0-d masks
    entries: tuple  # one _Slice, _Int or _Adv per dimension of ``shape``
    adjacent: bool  # advanced indices form one run in the index expression

    @property
    def adv_dims(self) -> tuple[int, ...]:
        return tuple(d for d, e in enumerate(self.entries) if isinstance(e, _Adv))


def _static_int(v, what: str) -> int:
    try:
        return operator.index(v)
    except ConcretizationTypeError as err:
        raise ConcretizationTypeError(f"{err} ({what} must be static; use lax.dynamic_slice "
                                      f"for slices at traced offsets)") from None
    except TypeError:
        raise IndexError(f"{what} must be integers or None, got {v!r}") from None


def _concrete_mask(m) -> np.ndarray:
    if isinstance(m, Tracer):
        try:
            return np.asarray(m.to_concrete("boolean indexing"))
        except ConcretizationTypeError as err:
            raise NonConcreteBooleanIndexError(
                f"Array boolean indices must be concrete; got a traced mask of type "
                f"{m.aval.str_short()}. The shape of x[mask] depends on the mask's values. "
                f"Use funcgrad.numpy.where(mask, x, fill) to keep the shape static, or "
                f"compute the mask from static values. ({err})") from None
    return np.asarray(m)


def _classify(item):
    """One index item as ("newaxis"|"ellipsis"|"slice"|"int"|"adv"|"mask", value)."""
    if item is None:
        return "newaxis", None
    if item is Ellipsis:
        return "ellipsis", None
    if isinstance(item, slice):
        return "slice", item
    if isinstance(item, (bool, np.bool_)):
        return "mask", np.asarray(item)
    if isinstance(item, (int, np.integer)):
        return "int", int(item)
    if isinstance(item, (list, tuple)):
        if any(isinstance(leaf, Tracer) for leaf in _leaves(item)):
            item = asarray_operand(list(item), "index")
        else:
            arr = np.asarray(item)
            if arr.size == 0 and arr.dtype.kind == "f":
                arr = arr.astype(np.int64)  # NumPy reads [] as an empty integer index
            item = arr
    if isinstance(item, (np.ndarray, Array, Tracer)):
        kind = item.dtype.kind
        if kind == "b":
            return "mask", item
        if kind in "iu":
            if isinstance(item, np.ndarray) and item.ndim == 0:
                return "int", int(item)
            return "adv", item
        raise IndexError(f"{_VALID_INDICES}; got an array index of dtype {item.dtype}")
    raise IndexError(f"{_VALID_INDICES}; got {type(item).__name__}: {item!r}")


def _leaves(x):
    for item in x:
        if isinstance(item, (list, tuple)):
            yield from _leaves(item)
        else:
            yield item


def _parse(shape: tuple[int, ...], index, *, check_bounds: bool, all_advanced: bool) -> _Plan:
    """Resolve ``index`` against an operand of ``shape``.

    ``check_bounds``: static out-of-range integers raise IndexError (reads);
    otherwise they stay out of range for the primitive's mode to handle.
    ``all_advanced``: treat static integers as advanced indices even without
    array indices (updates, explicit gather modes).
    """
    items = [_classify(i) for i in (index if isinstance(index, tuple) else (index,))]
    n_ellipsis = sum(kind == "ellipsis" for kind, _ in items)
    if n_ellipsis > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    items = [(k, _concrete_mask(v) if k == "mask" else v) for k, v in items]
    consumed = sum(1 if k in ("slice", "int", "adv") else (v.ndim if k == "mask" else 0)
                   for k, v in items)
    if consumed > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, "
                         f"but {consumed} were indexed")
    fill = [("slice", slice(None))] * (len(shape) - consumed)
    if n_ellipsis:
        at = next(i for i, (k, _) in enumerate(items) if k == "ellipsis")
        # NumPy: an ellipsis separates advanced indices even when it is empty.
        items = items[:at] + (fill or [("separator", None)]) + items[at + 1:]
    else:
        items = items + fill

    new_shape, entries, dim = [], [], 0
    fancy = []  # per item: is it an advanced index (integers count, see below)
    for kind, value in items:
        fancy.append(kind in ("int", "adv", "mask"))
        if kind == "separator":
            continue
        if kind == "newaxis" or (kind == "mask" and value.ndim == 0):
            new_shape.append(1)
            if kind == "newaxis":
                entries.append(_Slice(0, 1, 1, 1, 1))
            else:  # x[True] adds a unit axis and keeps it; x[False] empties it
                entries.append(_Adv(np.zeros(int(value), np.int64), True))
            continue
        if kind == "mask":
            sizes = shape[dim:dim + value.ndim]
            for j, (s, m) in enumerate(zip(sizes, value.shape, strict=True)):
                if s != m:
                    raise IndexError(f"boolean index did not match indexed array along axis "
                                     f"{dim + j}; size of axis is {s} but size of corresponding "
                                     f"boolean axis is {m}")
            for nz in np.nonzero(value):
                entries.append(_Adv(nz.astype(np.int64), True))
            new_shape.extend(sizes)
            dim += value.ndim
            continue
        size = shape[dim]
        new_shape.append(size)
        dim += 1
        if kind == "slice":
            start, stop, step = (None if v is None else _static_int(v, "slice indices")
                                 for v in (value.start, value.stop, value.step))
            if step == 0:
                raise ValueError("slice step cannot be zero")
            start, stop, step = slice(start, stop, step).indices(size)
            entries.append(_Slice(start, stop, step, len(range(start, stop, step)), size))
        elif kind == "int":
            if check_bounds and not -size <= value < size:
                raise IndexError(f"index {value} is out of bounds for axis {dim - 1} with "
                                 f"size {size}")
            entries.append(_Int(value + size if -size <= value < 0 else value))
        else:
            entries.append(_Adv(value, False))
    if all_advanced or any(isinstance(e, _Adv) for e in entries):
        # NumPy treats integers next to array indices as 0-d array indices.
        # Out-of-range static values are clamped to just outside the range so
        # they stay out of bounds and fit the index dtype.
        entries = [_Adv(np.asarray(min(max(e.value, -1), size), np.int64), True)
                   if isinstance(e, _Int) else e for e, size in zip(entries, new_shape, strict=True)]
    runs = sum(1 for i, f in enumerate(fancy) if f and (i == 0 or not fancy[i - 1]))
    return _Plan(tuple(new_shape), tuple(entries), runs <= 1)


# ------------------------------------------------------- index arrays
def _index_dtype(plan: _Plan) -> np.dtype:
    """int32 when every traced index is int32 and the sizes allow it (no
    conversions staged); int64 otherwise."""
    traced = [get_aval(e.value).dtype for e in plan.entries
              if isinstance(e, _Adv) and not isinstance(e.value, np.ndarray)]
    if traced and all(dt == np.int32 for dt in traced) and max(plan.shape, default=0) < 2 ** 31 - 1:
        return np.dtype(np.int32)
    return np.dtype(np.int64)


def _normalized(entry: _Adv, size: int, dtype: np.dtype):
    """Index values with negative ones shifted by ``size``, in ``dtype``.
    Concrete values are clipped to [-1, size], which keeps them in or out of
    bounds as they were and lets them fit any index dtype."""
    value = entry.value
    if isinstance(value, np.ndarray):
        v = (np.minimum(value, size) if value.dtype.kind == "u" else value).astype(np.int64)
        if not entry.normalized:
            v = np.where(v < 0, v + size, v)
        return np.clip(v, -1, size).astype(dtype)
    if isinstance(value, Array):
        value = value._value.astype(dtype)  # concrete: fold it, no ops recorded
        return _normalized(_Adv(value, entry.normalized), size, dtype)
    aval = get_aval(value)
    v = lax.convert_element_type(value, dtype) if aval.dtype != dtype else value
    if not entry.normalized and aval.dtype.kind == "i":
        v = lax.select(lax.lt(v, 0), lax.add(v, size), v)
    return v


def _stack_indices(components, batch: tuple[int, ...], dtype: np.dtype):
    """Stack index components into an array of shape ``batch + (k,)``.

    ``components`` are ``(value, dims)`` pairs: ``value`` broadcasts onto the
    batch dimensions ``dims`` (a contiguous run, right-aligned broadcasting).
    Concrete components are combined with NumPy so they stay one constant.
    """
    def placed_shape(shape, dims):
        full = [1] * len(batch)
        for d, s in zip(dims[len(dims) - len(shape):], shape, strict=True):
            full[d] = s
        return tuple(full)

    parts = []
    for value, dims in components:
        if isinstance(value, np.ndarray):
            v = np.broadcast_to(value.reshape(placed_shape(value.shape, dims)), batch)
            parts.append(np.array(v, dtype)[..., None])
        else:
            v = lax.reshape(value, placed_shape(get_aval(value).shape, dims) + (1,))
            parts.append(broadcast_to(v, batch + (1,), "indexing"))
    if all(isinstance(p, np.ndarray) for p in parts):
        return np.concatenate(parts, axis=-1) if parts else np.zeros(batch + (0,), dtype)
    return lax.concatenate(parts, len(batch))


def _advanced_batch(plan: _Plan, dtype: np.dtype):
    """Normalised advanced indices and their broadcast shape."""
    values = [_normalized(plan.entries[d], plan.shape[d], dtype) for d in plan.adv_dims]
    shapes = [get_aval(v).shape for v in values]
    try:
        batch = broadcast_shapes("indexing", *shapes)
    except ValueError:
        raise IndexError(f"shape mismatch: indexing arrays could not be broadcast together "
                         f"with shapes {' '.join(str(s) for s in shapes)}") from None
    return values, batch


def _advanced_position(plan: _Plan) -> int:
    """Where NumPy puts the broadcast index dimensions among the remaining
    ones: in place when the advanced indices are adjacent, else in front."""
    adv = plan.adv_dims
    # Every dimension before the first advanced one remains.
    return adv[0] if adv and plan.adjacent else 0


# -------------------------------------------------------------- reading
def _apply_slices(x, plan: _Plan):
    """Static slicing of the _Slice (and, without advanced indices, _Int)
    entries; every dimension is kept.  A negative step becomes a positive
    strided slice of the same elements followed by ``rev``."""
    bounds, reverse = [], []
    for d, e in enumerate(plan.entries):
        if isinstance(e, _Int):
            bounds.append((e.value, e.value + 1, 1))
        elif isinstance(e, _Slice) and e.length == 0:
            bounds.append((0, 0, 1))
        elif isinstance(e, _Slice):
            last = e.start + (e.length - 1) * e.step
            bounds.append((min(e.start, last), max(e.start, last) + 1, abs(e.step)))
            if e.step < 0 and e.length > 1:
                reverse.append(d)
        else:
            bounds.append((0, plan.shape[d], 1))
    if any(b != (0, size, 1) for b, size in zip(bounds, plan.shape, strict=True)):
        starts, limits, strides = zip(*bounds, strict=True)
        x = lax.slice(x, starts, limits, strides)
    if reverse:
        x = lax.rev(x, reverse)
    return x


def _read(x, index, *, check_bounds: bool = True, mode: str | None = None, fill_value=None):
    x = asarray_operand(x, "indexing")
    aval = get_aval(x)
    plan = _parse(aval.shape, index, check_bounds=check_bounds, all_advanced=mode is not None)
    if plan.shape != aval.shape:
        x = lax.reshape(x, plan.shape)
    x = _apply_slices(x, plan)
    if not plan.adv_dims:
        out_shape = tuple(e.length for e in plan.entries if isinstance(e, _Slice))
        out = lax.reshape(x, out_shape)
        return Array(out) if isinstance(out, np.ndarray) else out
    dtype = _index_dtype(plan)
    values, batch = _advanced_batch(plan, dtype)
    indices = _stack_indices([(v, tuple(range(len(batch)))) for v in values], batch, dtype)
    out = lax.gather(x, indices, plan.adv_dims, mode=mode or "clip", fill_value=fill_value)
    p, nb = _advanced_position(plan), len(batch)
    if p:
        rank = len(get_aval(out).shape)
        perm = list(range(nb, nb + p)) + list(range(nb)) + list(range(nb + p, rank))
        out = lax.transpose(out, perm)
    return out


def getitem(x, index):
    """``x[index]`` with NumPy's indexing semantics, traceable.

    Supports integers, slices (any step), ``None``, ``...``, integer arrays
    (also traced, negative values counted from the end), and boolean masks
    with concrete values.  A static integer out of range raises IndexError;
    out-of-range *array* or traced indices are clamped (JAX's rule: there is
    no error checking inside compiled code).

    Examples
    --------
    >>> import funcgrad.numpy as jnp
    >>> x = jnp.arange(12).reshape(3, 4)
    >>> getitem(x, (slice(None, None, -1), [0, -1]))
    Array([[ 8, 11],
           [ 4,  7],
           [ 0,  3]], dtype=int64)
    """
    return _read(x, index)


# -------------------------------------------------------------- updates
_SCATTER_MODES = {None: "drop", "drop": "drop", "fill": "drop", "promise_in_bounds": "drop",
                  "clip": "clip"}
_GATHER_MODES = {"fill": "fill", "drop": "fill", "clip": "clip", "promise_in_bounds": "clip"}


def _scatter_plan(plan: _Plan, dtype: np.dtype):
    """Turn the plan into scatter operands: (components, batch, axes, the
    getitem result shape, the permutation from it to batch + rest order)."""
    values, adv_batch = _advanced_batch(plan, dtype)
    nb = len(adv_batch)
    adv = plan.adv_dims
    sliced = [d for d, e in enumerate(plan.entries) if isinstance(e, _Slice) and not e.full]
    full = [d for d, e in enumerate(plan.entries) if isinstance(e, _Slice) and e.full]
    batch = adv_batch + tuple(plan.entries[d].length for d in sliced)
    components = [(v, tuple(range(nb))) for v in values]
    for j, d in enumerate(sliced):
        e = plan.entries[d]
        components.append((np.arange(e.start, e.stop, e.step, dtype=np.int64), (nb + j,)))
    # Labels of the getitem result's dimensions, in NumPy's order.
    labels = [("dim", d) for d in range(len(plan.shape)) if d not in adv]
    labels[_advanced_position(plan):_advanced_position(plan)] = [("b", j) for j in range(nb)]
    target = [("b", j) for j in range(nb)] + [("dim", d) for d in sliced + full]
    perm = [labels.index(t) for t in target]
    sizes = {("b", j): s for j, s in enumerate(adv_batch)}
    sizes.update({("dim", d): plan.entries[d].length for d in sliced + full})
    result_shape = tuple(sizes[lab] for lab in labels)
    return components, batch, tuple(adv) + tuple(sliced), result_shape, perm


def _prepare_updates(values, result_shape, perm, dtype, name):
    v = asarray_operand(values, name)
    aval = get_aval(v)
    # NumPy's assignment drops leading unit dimensions of the values.
    extra = aval.ndim - len(result_shape)
    if extra > 0:
        if any(s != 1 for s in aval.shape[:extra]):
            raise ValueError(f"{name}: cannot broadcast updates of shape {aval.shape} to the "
                             f"indexed shape {result_shape}")
        v = lax.reshape(v, aval.shape[extra:])
    if get_aval(v).dtype != dtype:
        v = lax.convert_element_type(v, dtype)
    try:
        v = broadcast_to(v, result_shape, name)
    except ValueError:
        raise ValueError(f"{name}: cannot broadcast updates of shape {aval.shape} to the "
                         f"indexed shape {result_shape}") from None
    return lax.transpose(v, perm) if perm != sorted(perm) else v


def _update(x, index, values, scatter_fn, name: str, mode):
    if mode not in _SCATTER_MODES:
        raise ValueError(f"{name}: mode must be one of 'drop', 'fill', 'clip', "
                         f"'promise_in_bounds' or None, got {mode!r}")
    x = asarray_operand(x, name)
    aval = get_aval(x)
    plan = _parse(aval.shape, index, check_bounds=False, all_advanced=True)
    dtype = _index_dtype(plan)
    components, batch, axes, result_shape, perm = _scatter_plan(plan, dtype)
    updates = _prepare_updates(values, result_shape, perm, aval.dtype, name)
    if name == "subtract":
        updates = lax.neg(updates)
    indices = _stack_indices(components, batch, dtype)
    target = lax.reshape(x, plan.shape) if plan.shape != aval.shape else x
    out = scatter_fn(target, indices, updates, axes, mode=_SCATTER_MODES[mode])
    return lax.reshape(out, aval.shape) if plan.shape != aval.shape else out


class _IndexUpdateRef:
    """``x.at[index]``: the functional update methods (JAX's semantics)."""

    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array, self.index = array, index

    def __repr__(self) -> str:
        return f"_IndexUpdateRef({self.array!r}, {self.index!r})"

    def get(self, *, mode: str | None = None, fill_value=None, indices_are_sorted=False,
            unique_indices=False):
        """``x[index]``; with ``mode="fill"`` out-of-bounds indices give
        ``fill_value`` (NaN by default for floats), with ``"clip"`` they clamp.

        >>> import funcgrad.numpy as jnp
        >>> jnp.arange(3.0).at[jnp.array([0, 5])].get(mode="fill")
        Array([ 0., nan], dtype=float64)
        """
        if mode is None:
            if fill_value is not None:
                raise ValueError("get: fill_value needs mode='fill'")
            return _read(self.array, self.index)
        if mode not in _GATHER_MODES:
            raise ValueError(f"get: mode must be one of 'fill', 'drop', 'clip', "
                             f"'promise_in_bounds' or None, got {mode!r}")
        if isinstance(fill_value, np.generic):
            fill_value = fill_value.item()
        return _read(self.array, self.index, check_bounds=False, mode=_GATHER_MODES[mode],
                     fill_value=fill_value)

    def set(self, values, *, mode: str | None = None, indices_are_sorted=False,
            unique_indices=False):
        """``x[index] = values`` on a copy; with repeated indices the last
        update wins; out-of-bounds updates are dropped (``mode="clip"`` clamps).

        >>> import funcgrad.numpy as jnp
        >>> jnp.zeros(3).at[1].set(5.0)
        Array([0., 5., 0.], dtype=float64)
        """
        return _update(self.array, self.index, values, lax.scatter, "set", mode)

    def add(self, values, *, mode: str | None = None, indices_are_sorted=False,
            unique_indices=False):
        """``x[index] += values`` on a copy; repeated indices accumulate.

        >>> import funcgrad.numpy as jnp
        >>> jnp.zeros(3).at[jnp.array([1, 1])].add(2.0)
        Array([0., 4., 0.], dtype=float64)
        """
        return _update(self.array, self.index, values, lax.scatter_add, "add", mode)

    def subtract(self, values, *, mode: str | None = None, indices_are_sorted=False,
                 unique_indices=False):
        """``x[index] -= values`` on a copy; repeated indices accumulate.

        >>> import funcgrad.numpy as jnp
        >>> jnp.zeros(2).at[0].subtract(1.5)
        Array([-1.5,  0. ], dtype=float64)
        """
        return _update(self.array, self.index, values, lax.scatter_add, "subtract", mode)

    def multiply(self, values, *, mode: str | None = None, indices_are_sorted=False,
                 unique_indices=False):
        """``x[index] *= values`` on a copy; repeated indices accumulate.

        >>> import funcgrad.numpy as jnp
        >>> jnp.ones(3).at[:2].multiply(3.0)
        Array([3., 3., 1.], dtype=float64)
        """
        return _update(self.array, self.index, values, lax.scatter_mul, "multiply", mode)

    mul = multiply

    def divide(self, values, *, mode: str | None = None, indices_are_sorted=False,
               unique_indices=False):
        """``x[index] /= values`` on a copy, as a multiplication by the
        reciprocal (so repeated indices accumulate); ``x`` must be inexact.

        >>> import funcgrad.numpy as jnp
        >>> jnp.ones(2).at[1].divide(4.0)
        Array([1.  , 0.25], dtype=float64)
        """
        aval = get_aval(asarray_operand(self.array, "divide"))
        if not dtypes.is_inexact(aval.dtype):
            raise TypeError(f"divide: x.at[...].divide needs an inexact (floating or complex) "
                            f"array, got {aval.str_short()}")
        v = asarray_operand(values, "divide")
        v = lax.convert_element_type(v, aval.dtype) if get_aval(v).dtype != aval.dtype else v
        one = np.ones((), aval.dtype)  # strongly typed, so a weak ``v`` adapts to it
        return _update(self.array, self.index, lax.div(one, v), lax.scatter_mul, "divide", mode)

    def min(self, values, *, mode: str | None = None, indices_are_sorted=False,
            unique_indices=False):
        """``x[index] = minimum(x[index], values)`` on a copy.

        >>> import funcgrad.numpy as jnp
        >>> jnp.zeros(2).at[:].min(jnp.array([-1.0, 1.0]))
        Array([-1.,  0.], dtype=float64)
        """
        return _update(self.array, self.index, values, lax.scatter_min, "min", mode)

    def max(self, values, *, mode: str | None = None, indices_are_sorted=False,
            unique_indices=False):
        """``x[index] = maximum(x[index], values)`` on a copy.

        >>> import funcgrad.numpy as jnp
        >>> jnp.zeros(2).at[:].max(jnp.array([-1.0, 1.0]))
        Array([0., 1.], dtype=float64)
        """
        return _update(self.array, self.index, values, lax.scatter_max, "max", mode)


class IndexUpdateHelper:
    """The object behind ``x.at``: ``x.at[index]`` gives the update methods
    ``set``, ``add``, ``subtract``, ``multiply``/``mul``, ``divide``, ``min``,
    ``max`` and ``get``, each returning a new array (``x`` is never changed).

    Examples
    --------
    >>> import funcgrad.numpy as jnp
    >>> x = jnp.zeros(4)
    >>> x.at[jnp.array([0, 2, 2])].add(1.0)
    Array([1., 0., 2., 0.], dtype=float64)
    """

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index) -> _IndexUpdateRef:
        return _IndexUpdateRef(self.array, index)

    def __repr__(self) -> str:
        return f"IndexUpdateHelper({self.array!r})"


# ---------------------------------------------------------- take & co
def _integer_operand(indices, name: str):
    indices = asarray_operand(indices, f"{name} indices")
    if get_aval(indices).dtype.kind not in "iu":
        raise TypeError(f"{name}: indices must be integers, got {get_aval(indices).str_short()}")
    return indices


def _to_int64(v):
    if isinstance(v, np.ndarray):
        return v.astype(np.int64)
    if isinstance(v, Array):
        return v._value.astype(np.int64)
    return v if get_aval(v).dtype == np.int64 else lax.convert_element_type(v, np.int64)


def _wrap_or_normalize(idx, size: int, mode: str, name: str):
    """Index values (int64) prepared for ``lax.gather`` under NumPy's/JAX's
    ``take`` modes."""
    idx = _to_int64(idx)
    concrete = isinstance(idx, np.ndarray)
    if mode == "clip":  # NumPy's clip: clamp the raw value, negatives go to 0
        return idx
    if mode == "raise":
        if not concrete:
            raise ConcretizationTypeError(f"{name}: mode='raise' needs concrete indices; use "
                                          f"mode='fill' or 'clip' with traced indices")
        bad = (idx < -size) | (idx >= size)
        if bad.any():
            raise IndexError(f"index {int(idx[bad].flat[0])} is out of bounds for axis with "
                             f"size {size}")
    if mode == "wrap":
        if size == 0:
            raise IndexError(f"{name}: cannot do a non-empty take from an empty axis")
        if concrete:
            return np.mod(idx, size)
        r = lax.rem(idx, size)
        return lax.select(lax.lt(r, 0), lax.add(r, size), r)
    if concrete:
        return np.where(idx < 0, idx + size, idx)
    return lax.select(lax.lt(idx, 0), lax.add(idx, size), idx)


_TAKE_MODES = {None: "fill", "fill": "fill", "clip": "clip", "wrap": "clip", "raise": "clip",
               "promise_in_bounds": "clip"}


def take(a, indices, axis: int | None = None, out=None, mode: str | None = None,
         unique_indices: bool = False, indices_are_sorted: bool = False, fill_value=None):
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened
    array when ``axis`` is None).

    ``mode``: ``None``/``"fill"`` (JAX's default) counts negative indices
    from the end and gives ``fill_value`` (NaN for floats) for out-of-range
    ones; ``"clip"`` clamps to ``[0, n-1]`` (negatives go to 0, as in NumPy);
    ``"wrap"`` wraps around; ``"raise"`` checks concrete indices.

    Examples
    --------
    >>> import funcgrad.numpy as jnp
    >>> take(jnp.array([[1.0, 2.0], [3.0, 4.0]]), [1, -1, 2], axis=1)
    Array([[ 2.,  2., nan],
           [ 4.,  4., nan]], dtype=float64)
    """
    if out is not None:
        raise NotImplementedError("take: the out argument is not supported (funcgrad arrays "
                                  "are immutable)")
    if mode not in _TAKE_MODES:
        raise ValueError(f"take: mode must be one of 'fill', 'clip', 'wrap', 'raise' or None, "
                         f"got {mode!r}")
    a = asarray_operand(a, "take")
    indices = _integer_operand(indices, "take")
    if axis is None:
        a = lax.reshape(a, (get_aval(a).size,))
        axis = 0
    aval = get_aval(a)
    axis = canonicalize_axis(axis, aval.ndim, "take")
    size = aval.shape[axis]
    idx = _wrap_or_normalize(indices, size, mode or "fill", "take")
    idx_shape = get_aval(idx).shape
    idx = idx[..., None] if isinstance(idx, np.ndarray) else lax.reshape(idx, idx_shape + (1,))
    if isinstance(fill_value, np.generic):
        fill_value = fill_value.item()
    out = lax.gather(a, idx, (axis,), mode=_TAKE_MODES[mode],
                     fill_value=fill_value if _TAKE_MODES[mode] == "fill" else None)
    nb = len(idx_shape)
    if axis:
        rank = len(get_aval(out).shape)
        out = lax.transpose(out, list(range(nb, nb + axis)) + list(range(nb))
                            + list(range(nb + axis, rank)))
    return out


def take_along_axis(arr, indices, axis: int | None, mode: str | None = None, fill_value=None):
    """``arr`` picked along ``axis`` at ``indices`` (same rank as ``arr``,
    broadcasting against it on the other axes), as ``np.take_along_axis``.

    ``mode``: ``None``/``"fill"`` (JAX's default) gives ``fill_value`` (NaN
    for floats) for out-of-range indices; ``"clip"`` clamps.  Negative
    indices count from the end.

    Examples
    --------
    >>> import funcgrad.numpy as jnp
    >>> x = jnp.array([[10.0, 30.0, 20.0], [60.0, 40.0, 50.0]])
    >>> take_along_axis(x, jnp.array([[0], [1]]), axis=1)
    Array([[10.],
           [40.]], dtype=float64)
    """
    if mode not in (None, "fill", "clip", "promise_in_bounds"):
        raise ValueError(f"take_along_axis: mode must be 'fill', 'clip' or None, got {mode!r}")
    arr = asarray_operand(arr, "take_along_axis")
    indices = _integer_operand(indices, "take_along_axis")
    if axis is None:
        if get_aval(indices).ndim != 1:
            raise ValueError(f"take_along_axis: when axis=None, indices must have a single "
                             f"dimension, got shape {get_aval(indices).shape}")
        arr = lax.reshape(arr, (get_aval(arr).size,))
        axis = 0
    a_shape, i_shape = get_aval(arr).shape, get_aval(indices).shape
    if len(a_shape) != len(i_shape):
        raise ValueError(f"take_along_axis: indices (shape {i_shape}) and arr (shape "
                         f"{a_shape}) must have the same number of dimensions")
    ndim = len(a_shape)
    axis = canonicalize_axis(axis, ndim, "take_along_axis")
    others = [d for d in range(ndim) if d != axis]
    try:
        bshape = broadcast_shapes("take_along_axis", *[[s[d] for d in others]
                                                       for s in (a_shape, i_shape)])
    except ValueError:
        raise ValueError(f"take_along_axis: indices of shape {i_shape} do not broadcast "
                         f"against arr of shape {a_shape} outside axis {axis}") from None
    out_shape = list(bshape)
    out_shape.insert(axis, i_shape[axis])
    out_shape = tuple(out_shape)
    idx = _wrap_or_normalize(indices, a_shape[axis], "fill", "take_along_axis")
    idx = np.broadcast_to(idx, out_shape) if isinstance(idx, np.ndarray) else \
        broadcast_to(idx, out_shape, "take_along_axis")
    components = []
    for d in range(ndim):
        if d == axis:
            components.append((idx, tuple(range(ndim))))
        elif a_shape[d] == 1:  # broadcast along d: always element 0
            components.append((np.zeros(1, np.int64), (d,)))
        else:
            components.append((np.arange(out_shape[d], dtype=np.int64), (d,)))
    stacked = _stack_indices(components, out_shape, np.dtype(np.int64))
    if isinstance(fill_value, np.generic):
        fill_value = fill_value.item()
    gmode = "fill" if mode in (None, "fill") else "clip"
    return lax.gather(arr, stacked, tuple(range(ndim)), mode=gmode,
                      fill_value=fill_value if gmode == "fill" else None)


__all__ = [
    "IndexUpdateHelper",
    "NonConcreteBooleanIndexError",
    "getitem",
    "take",
    "take_along_axis",
]
