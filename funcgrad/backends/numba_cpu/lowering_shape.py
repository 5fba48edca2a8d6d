"""Shape, slicing and dynamic slicing primitives.

``broadcast_in_dim`` and ``iota`` are emitted by :mod:`.fusion` (as loads
and index expressions inside loop nests).  ``reshape``, ``squeeze``,
``expand_dims``, ``slice`` and ``dynamic_slice`` give views where NumPy
would (the outputs of the program are copied if they alias an argument);
the others write fresh arrays with explicit loops.
"""
from __future__ import annotations

from funcgrad.core.ir import JaxprEqn, Literal
from funcgrad.backends.numba_cpu.codegen import Builder, dtype_expr, literal, register


def _view_of(b: Builder, out, x) -> None:
    """``out`` shares memory with ``x``: it is fresh if ``x`` is, and part of
    a loop carry's buffer if ``x`` is."""
    if isinstance(x, Literal):
        return
    if id(x) in b.fresh:
        b.fresh.add(id(out))
    if id(x) in b.roots:
        b.roots[id(out)] = b.roots[id(x)]


def _reshaped(b: Builder, x, out, shape) -> None:
    if x.aval.ndim == 0 or isinstance(x, Literal):
        if len(shape) == 0:
            b.define(out, b.read(x))
        else:
            b.alloc(out, fill=b.read(x))
        return
    if len(shape) == 0:
        b.define(out, b.elem(x, ["0"] * x.aval.ndim))
        return
    b.define(out, f"np.ascontiguousarray({b.name(x)}).reshape({b.shape(shape)})")
    _view_of(b, out, x)


@register("reshape")
def _reshape(b: Builder, eqn: JaxprEqn) -> None:
    (x,), (out,) = eqn.invars, eqn.outvars
    dims = eqn.params["dimensions"]
    if dims is not None and x.aval.ndim > 1:
        moved = _transposed(b, x, tuple(dims))
        b.define(out, f"{moved}.reshape({b.shape(out.aval.shape)})", fresh=True)
        return
    _reshaped(b, x, out, out.aval.shape)


@register("squeeze", "expand_dims")
def _squeeze(b: Builder, eqn: JaxprEqn) -> None:
    (x,), (out,) = eqn.invars, eqn.outvars
    _reshaped(b, x, out, out.aval.shape)


def _transposed(b: Builder, x, perm: tuple[int, ...], target: str | None = None) -> str:
    """Emit a C-contiguous copy of ``x`` transposed by ``perm``."""
    shape = x.aval.shape
    out_shape = tuple(shape[p] for p in perm)
    name = target or b.tmp("tr")
    # (Inside a loop the buffer is allocated once, before the loop nest.)
    b.hoisted(f"{name} = np.empty({b.shape(out_shape)}, {dtype_expr(x.aval.dtype)})")
    big = [k for k, p in enumerate(perm) if shape[p] != 1]
    if len(big) == 2 and min(out_shape[k] for k in big) >= 2 * _TILE:
        _blocked_transpose(b, x, perm, name, out_shape, big)
        return name
    with b.loops(out_shape, parallel=b.want_parallel(out_shape)) as idx:
        src = [""] * len(perm)
        for k, p in enumerate(perm):
            src[p] = idx[k]
        b.emit(f"{name}[{', '.join(idx)}] = {b.elem(x, src)}")
    return name


# Tile size of blocked transposes (a tile of float64 per operand fits in L1).
_TILE = 32


def _blocked_transpose(b: Builder, x, perm, name: str, out_shape, big) -> None:
    """A 2-d transpose (other dimensions of size 1) by tiles, so that both
    the reads and the writes stay in cache."""
    k0, k1 = big
    n0, n1 = b.dim(out_shape[k0]), b.dim(out_shape[k1])
    t0, t1, i0, i1 = b.tmp("ti"), b.tmp("tj"), b.tmp("i"), b.tmp("j")
    idx = ["0"] * len(perm)
    idx[k0], idx[k1] = i0, i1
    src = [""] * len(perm)
    for k, p in enumerate(perm):
        src[p] = idx[k]
    rng = "prange" if b.want_parallel(out_shape) else "range"
    if rng == "prange":
        b.uses_parallel = True
    with b.emit.block(f"for {t0} in {rng}(0, {n0}, {_TILE}):"):
        with b.emit.block(f"for {t1} in range(0, {n1}, {_TILE}):"):
            with b.emit.block(f"for {i0} in range({t0}, min({t0} + {_TILE}, {n0})):"):
                with b.emit.block(f"for {i1} in range({t1}, min({t1} + {_TILE}, {n1})):"):
                    b.emit(f"{name}[{', '.join(idx)}] = {b.elem(x, src)}")


@register("transpose")
def _transpose(b: Builder, eqn: JaxprEqn) -> None:
    (x,), (out,) = eqn.invars, eqn.outvars
    perm = tuple(eqn.params["permutation"])
    if x.aval.ndim == 0 or isinstance(x, Literal):
        b.define(out, b.read(x))
        return
    moved = [p for p in perm if x.aval.shape[p] != 1]
    if moved == sorted(moved):
        # Only size-1 axes move: the same elements in the same order.
        _reshaped(b, x, out, out.aval.shape)
        return
    _transposed(b, x, perm, b.name(out))
    b.fresh.add(id(out))
    b.owned.add(id(out))


@register("rev")
def _rev(b: Builder, eqn: JaxprEqn) -> None:
    (x,), (out,) = eqn.invars, eqn.outvars
    dims = set(eqn.params["dimensions"])
    shape = x.aval.shape
    if x.aval.ndim == 0:
        b.define(out, b.read(x))
        return
    b.alloc(out)
    with b.loops(shape, parallel=b.want_parallel(shape)) as idx:
        src = [f"{b.dim(shape[d])} - 1 - {i}" if d in dims else i for d, i in enumerate(idx)]
        b.store(out, idx, b.elem(x, src))


@register("concatenate")
def _concatenate(b: Builder, eqn: JaxprEqn) -> None:
    out = eqn.outvars[0]
    dim = eqn.params["dimension"]
    b.alloc(out)
    if id(out) in b.split or any(id(x) in b.split for x in eqn.invars):
        # Split arrays (see :mod:`.scalarize`): constant trailing indices.
        from funcgrad.backends.numba_cpu.scalarize import move_elements, points
        k = b.split.get(id(out), max((b.split.get(id(x), 0) for x in eqn.invars), default=0))
        start = 0
        for x in eqn.invars:
            pairs = []
            for idx in points(x.aval.shape[k:]):
                dst = list(idx)
                dst[dim - k] = str(start + int(idx[dim - k]))
                pairs.append((idx, dst))
            move_elements(b, x, out, pairs)
            start += x.aval.shape[dim]
        return
    offset: list[str] = []
    for x in eqn.invars:
        shape = x.aval.shape
        if shape[dim] == 0:
            continue
        with b.loops(shape, parallel=b.want_parallel(shape)) as idx:
            dst = list(idx)
            if offset:
                dst[dim] = f"{' + '.join(offset)} + {idx[dim]}"
            b.store(out, dst, b.elem(x, idx))
        offset.append(b.dim(shape[dim]))


@register("pad")
def _pad(b: Builder, eqn: JaxprEqn) -> None:
    x, value = eqn.invars
    out = eqn.outvars[0]
    config = eqn.params["padding_config"]
    if out.aval.ndim == 0:
        b.define(out, b.read(x))
        return
    shape = x.aval.shape
    if (id(out) in b.split or id(x) in b.split) and 0 not in shape:
        _pad_elements(b, x, value, out, config)
        return
    b.alloc(out, fill=b.read(value))
    if 0 in shape:
        return
    with b.loops(shape) as idx:
        dst, checks = [], []
        for d, (i, (lo, hi, interior)) in enumerate(zip(idx, config, strict=True)):
            pos = i if interior == 0 else f"{i} * {interior + 1}"
            if lo:
                pos = f"{lo} + {pos}" if lo > 0 else f"{pos} - {-lo}"
            if lo < 0 or hi < 0:
                p = b.tmp("p")
                b.emit(f"{p} = {pos}")
                pos = p
                checks.append(f"0 <= {p} < {b.dim(out.aval.shape[d])}")
            dst.append(pos)
        if checks:
            with b.emit.block(f"if {' and '.join(checks)}:"):
                b.store(out, dst, b.elem(x, idx))
        else:
            b.store(out, dst, b.elem(x, idx))


def _pad_elements(b: Builder, x, value, out, config) -> None:
    """``pad`` of split arrays (see :mod:`.scalarize`): constant trailing
    indices (the leading dimensions are not padded)."""
    from funcgrad.backends.numba_cpu.scalarize import move_elements, points
    b.alloc(out)
    k = b.split.get(id(out), b.split.get(id(x), 0))
    source = {}
    for idx in points(x.aval.shape[k:]):
        dst = []
        for i, (lo, _, interior), n in zip(idx, config[k:], out.aval.shape[k:], strict=True):
            pos = lo + int(i) * (interior + 1)
            if not 0 <= pos < n:
                break
            dst.append(pos)
        else:
            source[tuple(dst)] = idx
    fill = b.read(value)
    pairs = []
    for point in points(out.aval.shape[k:]):
        src = source.get(tuple(int(i) for i in point))
        if src is not None:
            pairs.append((src, point))
            continue
        with b.loops(out.aval.shape[:k]) as lidx:
            b.store(out, lidx + point, fill)
    move_elements(b, x, out, pairs)


@register("slice")
def _slice(b: Builder, eqn: JaxprEqn) -> None:
    (x,), (out,) = eqn.invars, eqn.outvars
    if x.aval.ndim == 0:
        b.define(out, b.read(x))
        return
    starts, limits = eqn.params["start_indices"], eqn.params["limit_indices"]
    strides = eqn.params["strides"] or (1,) * x.aval.ndim
    parts = []
    for size, start, limit, step in zip(x.aval.shape, starts, limits, strides, strict=True):
        lo = str(start) if start else ""
        hi = "" if limit == size else b.dim(limit)
        parts.append(f"{lo}:{hi}" + (f":{step}" if step != 1 else ""))
    b.define(out, f"{b.name(x)}[{', '.join(parts)}]")
    _view_of(b, out, x)


def _clamped_starts(b: Builder, starts, shape, sizes) -> list[str]:
    names = []
    for s, dim, size in zip(starts, shape, sizes, strict=True):
        name = b.tmp("s")
        top = f"{b.dim(dim)} - {b.dim(size)}" if size else b.dim(dim)
        b.emit(f"{name} = _rt.minimum(_rt.maximum(np.int64({b.read(s)}), 0), {top})")
        names.append(name)
    return names


@register("dynamic_slice")
def _dynamic_slice(b: Builder, eqn: JaxprEqn) -> None:
    x, *starts = eqn.invars
    out = eqn.outvars[0]
    sizes = eqn.params["slice_sizes"]
    if x.aval.ndim == 0:
        b.define(out, b.read(x))
        return
    lo = _clamped_starts(b, starts, x.aval.shape, sizes)
    parts = [f"{s}:{s} + {b.dim(n)}" for s, n in zip(lo, sizes, strict=True)]
    b.define(out, f"{b.name(x)}[{', '.join(parts)}]")
    _view_of(b, out, x)


def copy_or_reuse(b: Builder, x, out, eqn: JaxprEqn) -> str:
    """``out`` starts as a copy of ``x``, or takes ``x``'s buffer when the
    equation is its only user (an array this program allocated, or a loop
    carry: then the loop updates its carry in place)."""
    if b.reusable(x, eqn):
        b.define(out, b.name(x))
        if id(x) in b.roots:
            b.roots[id(out)] = b.roots[id(x)]
    elif isinstance(x, Literal):
        b.alloc(out, fill=literal(x.val, x.aval.dtype))
        return b.name(out)
    elif b.loop_depth:
        b.alloc(out)  # once, before the loop nest
        b.copy(b.name(out), b.name(x), x.aval.shape)
    else:
        b.define(out, f"np.copy({b.name(x)})")
    b.fresh.add(id(out))
    b.owned.add(id(out))
    return b.name(out)


@register("dynamic_update_slice")
def _dynamic_update_slice(b: Builder, eqn: JaxprEqn) -> None:
    x, update, *starts = eqn.invars
    out = eqn.outvars[0]
    if x.aval.ndim == 0:
        b.define(out, b.read(update))
        return
    copy_or_reuse(b, x, out, eqn)
    sizes = update.aval.shape
    if 0 in sizes:
        return
    lo = _clamped_starts(b, starts, x.aval.shape, sizes)
    with b.loops(sizes) as idx:
        dst = [f"{s} + {i}" for s, i in zip(lo, idx, strict=True)]
        b.store(out, dst, b.elem(update, idx))


__all__ = ["copy_or_reuse"]
