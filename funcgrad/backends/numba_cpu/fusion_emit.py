"""Emission of the loop nests that :mod:`.fusion` planned.

A group's loops run over its canonical iteration shape (no size-1
dimensions); each member computes a scalar temporary per point, and only
values needed outside the group are stored.  The innermost loop is the
dimension along which the big arrays are contiguous (``_loop_order``);
reductions whose reduced dimensions are the innermost loops keep a scalar
accumulator, the others an accumulator array.  Big nests whose reductions
run along the outermost loop split it into a fixed number of chunks with
partial results, so that the loop can run in parallel and results never
depend on the number of threads.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from funcgrad.core.ir import JaxprEqn, Literal
from funcgrad.backends.numba_cpu.codegen import (ELEMENTWISE, Builder, cast, dtype_expr,
                                                 literal, settings)
from funcgrad.backends.numba_cpu.scalarize import unroll_level
from funcgrad.backends.numba_cpu.fusion import (Group, _reducers, _reduces, actual_index,
                                                classify, view_map, view_only)


# Loop nests of at least ``settings.parallel_threshold`` iterations whose
# reductions accumulate along the outermost dimension split that dimension
# into this many chunks, each with its own partial result, combined in
# order at the end.  The split depends on the sizes only (never on the
# number of threads), so results are identical with and without
# ``settings.parallel``; the chunk loop is the one that runs in parallel.
CHUNKS = 32


@dataclass
class _Accumulator:
    eqn: JaxprEqn
    name: str          # scalar accumulator, or the accumulator array
    level: int | None  # loop depth of a scalar accumulator; None: array
    kept: list[int]    # loop dimensions the result keeps
    out_index: object  # loop point -> index into the result
    partial: str | None = None   # per-chunk partial results (chunked nests)

    def across(self, outer: int) -> bool:
        """Whether it accumulates along the loop dimension ``outer``."""
        return self.level == 0 or (self.level is None and outer not in self.kept)


_NAME = re.compile(r"\bc(\d+)_\b")


def _loop_order(b: Builder, g: Group) -> list[int]:
    """The nesting order of the loop dimensions: row-major, except that the
    innermost loop is the dimension along which the big arrays the loop
    reads and writes are contiguous.  An array accessed along the inner
    loop with a stride costs about its size times the inner loop's length
    (the cache lines it touches before they can be reused)."""
    shape = g.shape
    ndim = len(shape)
    default = list(range(ndim))
    if ndim < 2 or int(np.prod(shape, dtype=np.int64)) < _REORDER_MIN:
        return default
    point = [f"c{k}_" for k in range(ndim)]
    accesses = []   # (size, index expressions)

    def add(atom, index):
        if not isinstance(atom, Literal) and atom.aval.ndim and id(atom) not in g.internal:
            accesses.append((int(np.prod(atom.aval.shape, dtype=np.int64)), index))
    for m in g.members:
        kind = classify(m)
        out = m.outvars[0]
        out_idx = actual_index(out.aval.shape, point)
        if kind in ("elementwise", "reduce"):
            for a in m.invars:
                if not isinstance(a, Literal) and a.aval.ndim:
                    add(a, actual_index(a.aval.shape, point))
        elif kind in ("broadcast", "view"):
            access = _load_access(g, m, out_idx)
            if access is not None:
                add(*access)
        if id(out) in g.stored and out.aval.ndim:
            accesses.append((int(np.prod(out.aval.shape, dtype=np.int64)), out_idx))
    costs = []
    for c in range(ndim):
        cost = 0
        for size, index in accesses:
            used = {int(k) for k in _NAME.findall(" ".join(index))}
            last = next((e for e in reversed(index) if e != "0"), "")
            fastest = {int(k) for k in _NAME.findall(last)}
            if c in used and fastest != {c}:
                cost += size * shape[c]
        costs.append(cost)
    best = min(range(ndim), key=lambda c: (costs[c], c != ndim - 1))
    return [d for d in default if d != best] + [best]


# Loop nests from this many iterations choose their loop order.
_REORDER_MIN = 4096


def _reduction_layout(eqn: JaxprEqn):
    """Loop dimensions a reduction keeps, and the map from a loop point to
    the index of its result."""
    shape = eqn.invars[0].aval.shape
    axes = set(eqn.params["axes"])
    pos, k = {}, 0
    for a, n in enumerate(shape):
        if n != 1:
            pos[a] = k
            k += 1
    reduced = {pos[a] for a in axes if shape[a] != 1}
    kept = [d for d in range(k) if d not in reduced]
    kept_actual = [a for a in range(len(shape)) if a not in axes]

    def out_index(idx):
        return ["0" if shape[a] == 1 else idx[pos[a]] for a in kept_actual]
    return kept, out_index


def emit_group(b: Builder, g: Group) -> None:
    """Emit the loop nest of ``g``."""
    if view_only(g):
        from funcgrad.backends.numba_cpu.codegen import LOWERINGS
        for m in g.members:
            b.emit.current = m
            b.comment(m)
            LOWERINGS[m.primitive.name](b, m)
        b.emit.current = None
        return
    reducers = _reducers()
    shape = g.shape
    ndim = len(shape)
    b.emit.current = None
    for m in g.members:
        b.comment(m)
    values: dict[int, str] = {}

    # Arrays for the values needed outside the loop (a 0-d value is a
    # scalar, visible after the loop as it is).
    for m in g.members:
        for v in m.outvars:
            if id(v) in g.stored and v.aval.ndim:
                b.emit.current = m
                b.alloc(v)
    big = ndim > 0 and int(np.prod(shape, dtype=np.int64)) >= settings.parallel_threshold
    order = _loop_order(b, g)
    accs: list[_Accumulator] = []
    for m in g.members:
        if classify(m) != "reduce" or not _reduces(m):
            continue
        b.emit.current = m
        kept, out_index = _reduction_layout(m)
        out = m.outvars[0]
        red = reducers[m.primitive.name]
        x_shape = m.invars[0].aval.shape
        reduced_size = int(np.prod([x_shape[a] for a in m.params["axes"]], dtype=np.int64))
        if set(kept) == set(order[:len(kept)]):
            # The reduced dimensions are the innermost loops: a scalar
            # accumulator, initialised and stored around them.
            level = len(kept)
            if out.aval.ndim:
                b.alloc(out)
            accs.append(_Accumulator(m, b.tmp("acc"), level, kept, out_index))
        else:
            b.alloc(out, fill=red.identity(out.aval.dtype, reduced_size))
            accs.append(_Accumulator(m, b.name(out), None, kept, out_index))
    chunked = big and any(a.across(order[0]) for a in accs)
    nchunks = None
    if chunked:
        nchunks = b.tmp("nch")
        b.emit(f"{nchunks} = min({CHUNKS}, {b.dim(shape[order[0]])})")
        for a in accs:
            if not a.across(order[0]):
                continue
            out = a.eqn.outvars[0]
            red = reducers[a.eqn.primitive.name]
            a.partial = b.tmp("part")
            if a.level == 0:
                b.emit(f"{a.partial} = np.empty({nchunks}, "
                       f"{dtype_expr(red.acc_dtype(out.aval.dtype))})")
            else:
                kept_shape = "".join(f", {b.dim(shape[d])}" for d in a.kept)
                b.emit(f"{a.partial} = np.full(({nchunks}{kept_shape}), "
                       f"{red.identity(out.aval.dtype, 1)}, {dtype_expr(out.aval.dtype)})")
    b.emit.current = None
    # (No prange inside the body of a prange: Numba would run it serially.)
    parallel = big and settings.parallel and not b.in_parallel
    unroll = None if chunked else unroll_level(b, g, order)

    def operand(atom, idx) -> str:
        if isinstance(atom, Literal):
            return literal(atom.val, atom.aval.dtype)
        if id(atom) in values:
            return values[id(atom)]
        return b.elem(atom, actual_index(atom.aval.shape, idx))

    def body(idx: list[str], chunk: str | None) -> None:
        for m in g.members:
            b.emit.current = m
            kind = classify(m)
            out = m.outvars[0]
            out_idx = actual_index(out.aval.shape, idx)
            tname = b.name(out) if out.aval.ndim == 0 else b.name(out) + "_v"
            if kind == "elementwise":
                args = [operand(a, idx) for a in m.invars]
                expr = ELEMENTWISE[m.primitive.name](b, m, args)
                if not getattr(expr, "exact", False):
                    expr = cast(expr, out.aval.dtype)
            elif kind in ("broadcast", "view"):
                expr = _load(b, g, m, out_idx, values)
            elif kind == "iota":
                expr = cast(out_idx[m.params["dimension"]], out.aval.dtype)
            elif not _reduces(m):
                expr = operand(m.invars[0], idx)   # drops size-1 dimensions only
            else:
                acc = next(a for a in accs if a.eqn is m)
                red = reducers[m.primitive.name]
                dt = out.aval.dtype
                x = operand(m.invars[0], idx)
                if acc.level is not None:
                    b.emit(f"{acc.name} = {red.combine(acc.name, x, dt)}")
                else:
                    if acc.partial is not None:
                        cell = f"{acc.partial}[{', '.join([chunk] + [idx[d] for d in acc.kept])}]"
                    else:
                        cell = f"{acc.name}[{', '.join(acc.out_index(idx))}]"
                    b.emit(f"{cell} = {red.store(red.combine(cell, x, dt), dt)}")
                continue
            b.emit(f"{tname} = {expr}")
            values[id(out)] = tname
            if ndim == 0 and out.aval.ndim:
                # A one-element array of a loop-free group: its scalar local
                # stays readable (see fusion._ELEMENT_READERS).
                b.scalar_values[id(out)] = tname
            if id(out) in g.stored and out.aval.ndim:
                b.store(out, out_idx, tname)
        b.emit.current = None

    def finish(a: _Accumulator, idx: list[str]) -> None:
        red = reducers[a.eqn.primitive.name]
        out = a.eqn.outvars[0]
        final = red.finish(a.name, out.aval.dtype)
        if out.aval.ndim == 0:
            b.emit(f"{b.name(out)} = {final}")
        else:
            b.emit(f"{b.name(out)}[{', '.join(a.out_index(idx))}] = {final}")

    def level(d: int, idx: list[str], chunk: str | None = None) -> None:
        """The loop at depth ``d`` (over dimension ``order[d]``); ``idx``
        holds, by dimension, the indices of the loops entered so far."""
        if d == ndim:
            body(idx, chunk)
            return
        here = [a for a in accs if a.level == d]
        for a in here:
            red = reducers[a.eqn.primitive.name]
            dt = a.eqn.outvars[0].aval.dtype
            size = int(np.prod([shape[k] for k in order[d:]], dtype=np.int64))
            b.emit(f"{a.name} = {red.acc_identity(dt, size)}")
        if unroll is not None and d >= unroll:
            # Small static trailing dimensions in a loop body: written out,
            # indices constants (see :mod:`.scalarize`).
            for k in range(shape[order[d]]):
                inner = list(idx)
                inner[order[d]] = str(k)
                level(d + 1, inner, chunk)
            for a in here:
                finish(a, idx)
            return
        i = b.tmp("i")
        n = b.dim(shape[order[d]])
        if d == 0 and chunked:
            lo = f"({chunk} * {n}) // {nchunks}"
            hi = f"(({chunk} + 1) * {n}) // {nchunks}"
            header = f"for {i} in range({lo}, {hi}):"
        else:
            rng = "prange" if (parallel and d == 0) else "range"
            header = f"for {i} in {rng}({n}):"
        inner = list(idx)
        inner[order[d]] = i
        with b.emit.block(header):
            level(d + 1, inner, chunk)
        for a in here:
            if d == 0 and chunked:
                b.emit(f"{a.partial}[{chunk}] = {a.name}")
            else:
                finish(a, idx)

    if ndim == 0:
        body([], None)
    elif chunked:
        chunk = b.tmp("c")
        rng = "prange" if parallel else "range"
        with b.emit.block(f"for {chunk} in {rng}({nchunks}):"):
            level(0, [""] * ndim, chunk)
        # The partial results, combined in chunk order.
        for a in accs:
            if a.partial is None:
                continue
            red = reducers[a.eqn.primitive.name]
            out = a.eqn.outvars[0]
            dt = out.aval.dtype
            c = b.tmp("c")
            if a.level == 0:
                # (A new name: the chunk loop's accumulator is private to it.)
                a.name = b.tmp("tot")
                b.emit(f"{a.name} = {red.acc_identity(dt, int(np.prod(shape, dtype=np.int64)))}")
                with b.emit.block(f"for {c} in range({nchunks}):"):
                    b.emit(f"{a.name} = {red.combine(a.name, f'{a.partial}[{c}]', dt)}")
                finish(a, [])
            else:
                with b.loops([shape[d] for d in a.kept]) as kidx:
                    point = [""] * ndim
                    for d, i in zip(a.kept, kidx, strict=True):
                        point[d] = i
                    cell = f"{a.name}[{', '.join(a.out_index(point))}]"
                    with b.emit.block(f"for {c} in range({nchunks}):"):
                        part = f"{a.partial}[{', '.join([c] + list(kidx))}]"
                        b.emit(f"{cell} = {red.store(red.combine(cell, part, dt), dt)}")
    else:
        level(0, [""] * ndim)
    if parallel:
        b.uses_parallel = True
    b.emit.current = None
    for m in g.members:
        for v in m.outvars:
            if id(v) in g.stored or id(v) in g.reduced:
                b.fresh.add(id(v))


def _load(b: Builder, g: Group, eqn: JaxprEqn, idx: list[str], values: dict[int, str]) -> str:
    x = eqn.invars[0]
    if isinstance(x, Literal):
        return literal(x.val, x.aval.dtype)
    if x.aval.ndim == 0:
        return values.get(id(x), b.name(x))
    src = view_map(eqn)(idx, b.dim)
    if id(x) in g.loads:
        return _load(b, g, g.loads[id(x)], src, values)   # a load of a load
    if id(x) in values:
        return values[id(x)]  # a value of the loop at the same point
    return b.elem(x, src)


def _load_access(g: Group, eqn: JaxprEqn, idx: list[str]):
    """The (array, index) a load reads, through loads of loads."""
    x = eqn.invars[0]
    if isinstance(x, Literal) or x.aval.ndim == 0:
        return None
    src = view_map(eqn)(idx, str)
    if id(x) in g.loads:
        return _load_access(g, g.loads[id(x)], src)
    if id(x) in g.internal:
        return None
    return x, src


__all__ = ["emit_group"]
