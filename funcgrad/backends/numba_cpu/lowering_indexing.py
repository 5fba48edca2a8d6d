"""``gather`` and the ``scatter`` family, as loops over the index rows.

Each row of ``indices`` picks one position along ``axes``; the loop over
the rows is sequential, so scatters see duplicates in row order: the last
``scatter`` wins and ``scatter_add`` accumulates in order, exactly as the
eager implementation does.
"""
from __future__ import annotations

from funcgrad.core.ir import JaxprEqn
from funcgrad.lax.indexing import default_fill_value
from funcgrad.backends.numba_cpu.codegen import Builder, cast, literal, register
from funcgrad.backends.numba_cpu.lowering_shape import copy_or_reuse


def _row_positions(b: Builder, indices, bidx: list[str], axes, sizes, mode: str,
                   clip_mode: str) -> tuple[list[str], str | None]:
    """Emit the positions of the current row along ``axes``; return their
    names and a condition that the row is in bounds (None: always)."""
    names, checks = [], []
    for j, size in enumerate(sizes):
        p = b.tmp("p")
        b.emit(f"{p} = np.int64({b.elem(indices, bidx + [str(j)])})")
        if mode == clip_mode:
            if size == 0:
                checks.append("False")
            else:
                b.emit(f"{p} = _rt.minimum(_rt.maximum({p}, 0), {b.dim(size)} - 1)")
        else:
            checks.append(f"0 <= {p} < {b.dim(size)}")
        names.append(p)
    return names, (" and ".join(checks) if checks else None)


def _operand_index(ndim: int, axes, positions: list[str], ridx: list[str]) -> list[str]:
    out, rest = [], iter(ridx)
    for d in range(ndim):
        out.append(positions[axes.index(d)] if d in axes else next(rest))
    return out


@register("gather")
def _gather(b: Builder, eqn: JaxprEqn) -> None:
    operand, indices = eqn.invars
    out = eqn.outvars[0]
    axes = tuple(eqn.params["axes"])
    mode, fill_value = eqn.params["mode"], eqn.params["fill_value"]
    dt = operand.aval.dtype
    shape = operand.aval.shape
    batch = indices.aval.shape[:-1]
    rest = [shape[d] for d in range(len(shape)) if d not in axes]
    sizes = [shape[a] for a in axes]
    if mode == "clip":
        fill = literal(0, dt)
    else:
        fill = literal(default_fill_value(dt) if fill_value is None else fill_value, dt)
    if out.aval.ndim:
        b.alloc(out)
    with b.loops(batch, parallel=b.want_parallel(out.aval.shape)) as bidx:
        positions, ok = _row_positions(b, indices, list(bidx), axes, sizes, mode, "clip")
        with b.loops(rest) as ridx:
            src = _operand_index(len(shape), axes, positions, list(ridx))
            value = b.elem(operand, src)
            if ok is not None:
                value = f"({value} if {ok} else {fill})" if "False" not in ok else fill
            b.store(out, list(bidx) + list(ridx), value)


_COMBINE = {
    "scatter": None,
    "scatter_add": "({cell} + {u})",
    "scatter_mul": "({cell} * {u})",
    "scatter_min": "_rt.minimum({cell}, {u})",
    "scatter_max": "_rt.maximum({cell}, {u})",
}


@register(*_COMBINE)
def _scatter(b: Builder, eqn: JaxprEqn) -> None:
    operand, indices, updates = eqn.invars
    out = eqn.outvars[0]
    axes = tuple(eqn.params["axes"])
    mode = eqn.params["mode"]
    dt = operand.aval.dtype
    shape = operand.aval.shape
    batch = indices.aval.shape[:-1]
    rest = [shape[d] for d in range(len(shape)) if d not in axes]
    sizes = [shape[a] for a in axes]
    if operand.aval.ndim == 0:
        b.define(out, b.read(operand))
    else:
        copy_or_reuse(b, operand, out, eqn)
    template = _COMBINE[eqn.primitive.name]
    with b.loops(batch) as bidx:
        positions, ok = _row_positions(b, indices, list(bidx), axes, sizes, mode, "clip")
        if ok is not None and "False" in ok:
            continue_block = False
        else:
            continue_block = True
        if not continue_block:
            b.emit("pass")
        else:
            ctx = b.emit.block(f"if {ok}:") if ok is not None else None
            if ctx is not None:
                ctx.__enter__()
            with b.loops(rest) as ridx:
                dst = _operand_index(len(shape), axes, positions, list(ridx))
                u = b.elem(updates, list(bidx) + list(ridx))
                if template is None:
                    b.store(out, dst, u)
                else:
                    cell = b.elem(out, dst)
                    b.store(out, dst, cast(template.format(cell=cell, u=u), dt))
            if ctx is not None:
                ctx.__exit__(None, None, None)


__all__: list[str] = []
