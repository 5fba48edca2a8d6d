"""Reductions, arg-reductions and cumulative reductions.

The reductions (``reduce_sum`` ...) are always emitted by :mod:`.fusion`
as part of a loop nest; this module describes how they accumulate
(:data:`REDUCERS`).  ``argmax``/``argmin`` and the cumulative primitives
have ordinary lowering rules: a loop over the other dimensions around a
sequential loop along the reduced axis, so results are deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from funcgrad.core.ir import JaxprEqn
from funcgrad.backends.numba_cpu.codegen import Builder, cast, literal, register


def _wide_int(dt: np.dtype) -> np.dtype:
    return np.dtype(np.int64 if dt.kind == "i" else np.uint64)


@dataclass(frozen=True)
class Reducer:
    """How a reduction accumulates: the accumulator's dtype and identity,
    and the combining expression."""

    acc_dtype: Callable[[np.dtype], np.dtype]
    identity_value: Callable[[np.dtype, int], object]
    combine_template: str

    def identity(self, dtype: np.dtype, size: int) -> str:
        """Initial value of an accumulator array of ``dtype``."""
        return literal(self.identity_value(dtype, size), dtype)

    def acc_identity(self, dtype: np.dtype, size: int) -> str:
        """Initial value of a scalar accumulator."""
        return literal(self.identity_value(dtype, size), self.acc_dtype(dtype))

    def combine(self, acc: str, x: str, dtype: np.dtype) -> str:
        return self.combine_template.format(acc=acc, x=x)

    def finish(self, acc: str, dtype: np.dtype) -> str:
        return cast(acc, dtype)

    def store(self, expr: str, dtype: np.dtype) -> str:
        return cast(expr, dtype)


def _sum_acc(dt: np.dtype) -> np.dtype:
    # float32 sums accumulate in float64 (closer to NumPy's pairwise sums
    # than a float32 running sum); integers wrap like NumPy's in the end.
    if dt.kind in "iu":
        return _wide_int(dt)
    return {np.dtype(np.float32): np.dtype(np.float64),
            np.dtype(np.complex64): np.dtype(np.complex128)}.get(dt, dt)


def _sum_identity(dt: np.dtype, size: int):
    # -0.0 + x is x for every x, so a sum of -0.0 stays -0.0 (as NumPy's
    # does); an empty sum is +0.0 (the identity NumPy is given then).
    return -0.0 if (dt.kind == "f" and size > 0) else 0


def _max_identity(dt: np.dtype, size: int):
    if dt.kind == "f":
        return -np.inf
    if dt.kind == "b":
        return False
    return np.iinfo(dt).min


def _min_identity(dt: np.dtype, size: int):
    if dt.kind == "f":
        return np.inf
    if dt.kind == "b":
        return True
    return np.iinfo(dt).max


def _and_identity(dt: np.dtype, size: int):
    return True if dt.kind == "b" else (-1 if dt.kind == "i" else np.iinfo(dt).max)


def _same(dt: np.dtype) -> np.dtype:
    return dt


def _bits_acc(dt: np.dtype) -> np.dtype:
    return dt if dt.kind == "b" else _wide_int(dt)


REDUCERS: dict[str, Reducer] = {
    "reduce_sum": Reducer(_sum_acc, _sum_identity, "({acc} + {x})"),
    "reduce_prod": Reducer(lambda dt: _wide_int(dt) if dt.kind in "iu" else dt,
                           lambda dt, n: 1, "({acc} * {x})"),
    "reduce_max": Reducer(_same, _max_identity, "_rt.maximum({acc}, {x})"),
    "reduce_min": Reducer(_same, _min_identity, "_rt.minimum({acc}, {x})"),
    "reduce_and": Reducer(_bits_acc, _and_identity, "({acc} & {x})"),
    "reduce_or": Reducer(_bits_acc, lambda dt, n: False if dt.kind == "b" else 0,
                         "({acc} | {x})"),
}


# ------------------------------------------------------------ argmax/argmin
@register("argmax", "argmin")
def _arg_reduction(b: Builder, eqn: JaxprEqn) -> None:
    (x,), (out,) = eqn.invars, eqn.outvars
    axis = eqn.params["axes"][0]
    shape = x.aval.shape
    kept = [d for d in range(len(shape)) if d != axis]
    better = ">" if eqn.primitive.name == "argmax" else "<"
    b.alloc(out)
    with b.loops([shape[d] for d in kept], parallel=b.want_parallel(shape)) as kidx:
        j = b.tmp("j")
        full = list(kidx)
        full.insert(axis, j)
        first = list(kidx)
        first.insert(axis, "0")
        best, pos, v = b.tmp("best"), b.tmp("pos"), b.tmp("v")
        b.emit(f"{best} = {b.elem(x, first)}")
        b.emit(f"{pos} = 0")
        # The first maximum wins; NaN counts as the maximum (the first one).
        with b.emit.block(f"for {j} in range(1, {b.dim(shape[axis])}):"):
            with b.emit.block(f"if {best} != {best}:"):
                b.emit("break")
            b.emit(f"{v} = {b.elem(x, full)}")
            with b.emit.block(f"if {v} {better} {best} or {v} != {v}:"):
                b.emit(f"{best} = {v}")
                b.emit(f"{pos} = {j}")
        b.store(out, kidx, cast(pos, out.aval.dtype))


# ------------------------------------------------------------ cumulative
def _cumulative_combine(name: str, dt: np.dtype, acc: str, v: str) -> str:
    if name == "cumsum":
        return f"({acc} + {v})"
    if name == "cumprod":
        return f"({acc} * {v})"
    if name == "cummax":
        return f"_rt.maximum({acc}, {v})"
    if name == "cummin":
        return f"_rt.minimum({acc}, {v})"
    fn = "logaddexp32" if dt == np.float32 else "logaddexp"
    return f"_rt.{fn}({acc}, {v})"


@register("cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp")
def _cumulative(b: Builder, eqn: JaxprEqn) -> None:
    (x,), (out,) = eqn.invars, eqn.outvars
    axis, reverse = eqn.params["axis"], eqn.params["reverse"]
    shape = x.aval.shape
    dt = out.aval.dtype
    others = [d for d in range(len(shape)) if d != axis]
    n = b.dim(shape[axis])
    b.alloc(out)
    with b.loops([shape[d] for d in others], parallel=b.want_parallel(shape)) as oidx:
        jj, j, acc, v = b.tmp("j"), b.tmp("k"), b.tmp("acc"), b.tmp("v")
        idx = list(oidx)
        idx.insert(axis, j)
        # NumPy accumulates in the operand's dtype, element after element.
        b.emit(f"{acc} = {literal(0, dt)}")
        with b.emit.block(f"for {jj} in range({n}):"):
            b.emit(f"{j} = {n} - 1 - {jj}" if reverse else f"{j} = {jj}")
            b.emit(f"{v} = {b.elem(x, idx)}")
            combined = cast(_cumulative_combine(eqn.primitive.name, dt, acc, v), dt)
            b.emit(f"{acc} = {v} if {jj} == 0 else {combined}")
            b.emit(f"{b.name(out)}[{', '.join(idx)}] = {acc}")


__all__ = ["REDUCERS", "Reducer"]
