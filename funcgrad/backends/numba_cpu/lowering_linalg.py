"""``dot_general`` and the factorisations.

``dot_general`` of float or complex operands goes to BLAS through
``np.dot`` inside Numba (Numba calls SciPy's BLAS): operands whose
contracting dimensions are already last or first are passed as views (a
transposed view is an F-contiguous array, which Numba hands to BLAS with a
transpose flag, no copy); other layouts are copied into (batch, rows,
contraction) order first.  Integer and bool products, and everything when
SciPy is missing, use explicit loops.

The factorisations call the helpers of :mod:`.runtime` on stacks of
matrices (count, m, n); ``eigh`` needs LAPACK (SciPy) through Numba.
"""
from __future__ import annotations

import functools
import importlib.util
import math

import numpy as np

from funcgrad.core.ir import JaxprEqn, Literal
from funcgrad.backends.numba_cpu.codegen import Builder, cast, dtype_expr, literal, register


@functools.cache
def have_blas() -> bool:
    """Whether Numba can call BLAS/LAPACK (it needs SciPy)."""
    try:
        return importlib.util.find_spec("scipy.linalg.cython_blas") is not None
    except (ImportError, ValueError):
        return False


def in_order(order, shape) -> bool:
    """Whether reading ``shape`` in the dimension order ``order`` visits the
    elements in memory (row-major) order: size-1 dimensions may go
    anywhere."""
    big = [d for d in order if shape[d] != 1]
    return big == sorted(big)


def _free(ndim: int, contracting, batch) -> list[int]:
    taken = set(contracting) | set(batch)
    return [d for d in range(ndim) if d not in taken]


def _prod(shape, dims) -> int:
    return math.prod(shape[d] for d in dims)


def _matrix(b: Builder, x, first, second, rows: int, cols: int, dtype) -> str:
    """``x`` as a 2-d (rows, cols) array whose rows run over the dimensions
    ``first`` and columns over ``second``: a view when those are in
    order, a transposed view when swapped, else a copy."""
    name = b.name(x)
    if x.aval.dtype != dtype:
        conv = b.tmp("cv")
        b.emit(f"{conv} = {name}.astype({dtype_expr(dtype)})")
        name = conv
    order = list(first) + list(second)
    r, c = b.dim(rows), b.dim(cols)
    if in_order(order, x.aval.shape):
        return f"np.ascontiguousarray({name}).reshape(({r}, {c}))"
    if in_order(list(second) + list(first), x.aval.shape):
        return f"np.ascontiguousarray({name}).reshape(({c}, {r})).T"
    moved = b.tmp("mv")
    b.emit(f"{moved} = np.ascontiguousarray(np.transpose({name}, {tuple(order)!r}))"
           f".reshape(({r}, {c}))")
    return moved


def _vector(b: Builder, x, dims, size: int, dtype) -> str:
    """``x`` as a 1-d array running over ``dims`` (its other dimensions all
    have size 1)."""
    name = b.name(x)
    if x.aval.dtype != dtype:
        conv = b.tmp("cv")
        b.emit(f"{conv} = {name}.astype({dtype_expr(dtype)})")
        name = conv
    if in_order(dims, x.aval.shape):
        return f"np.ascontiguousarray({name}).reshape(({b.dim(size)},))"
    order = list(dims) + [d for d in range(x.aval.ndim) if d not in dims]
    moved = b.tmp("mv")
    b.emit(f"{moved} = np.ascontiguousarray(np.transpose({name}, {tuple(order)!r}))"
           f".reshape(({b.dim(size)},))")
    return moved


@register("dot_general")
def _dot_general(b: Builder, eqn: JaxprEqn) -> None:
    lhs, rhs = eqn.invars
    out = eqn.outvars[0]
    dt = out.aval.dtype
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    ls, rs = lhs.aval.shape, rhs.aval.shape
    lf, rf = _free(len(ls), lc, lb), _free(len(rs), rc, rb)
    m, k, n = _prod(ls, lf), _prod(ls, lc), _prod(rs, rf)
    blas = (dt.kind in "fc" and have_blas() and lhs.aval.ndim and rhs.aval.ndim
            and m and k and n and not isinstance(lhs, Literal) and not isinstance(rhs, Literal))
    if blas and lb and m * n * k < _BATCHED_BLAS_MIN:
        blas = False  # many tiny products: loops beat a BLAS call each
    if not blas:
        _dot_loops(b, eqn)
        return
    if lb:
        _dot_batched(b, eqn, lf, rf, m, k, n)
        return
    # One matrix product (no batch dimensions): (m, k) @ (k, n).
    # Size-1 free dimensions make a matrix-vector product (gemv) or a dot.
    a = _vector(b, lhs, lc, k, dt) if m == 1 else _matrix(b, lhs, lf, lc, m, k, dt)
    c = _vector(b, rhs, rc, k, dt) if n == 1 else _matrix(b, rhs, rc, rf, k, n, dt)
    res = b.tmp("mm")
    b.emit(f"{res} = _rt.dot({a}, {c})")
    if n == 1 and m == 1:
        b.define(out, res if out.aval.ndim == 0 else
                 f"np.full({b.shape(out.aval.shape)}, {res}, {dtype_expr(dt)})", fresh=True)
        return
    b.define(out, f"{res}.reshape({b.shape(out.aval.shape)})", fresh=True)
    b.owned.add(id(out))


# Per-member size (m * n * k) from which batched products call BLAS.
_BATCHED_BLAS_MIN = 4096


def _stacked(b: Builder, x, batch, first, second, count: int, rows: int, cols: int,
             dtype) -> str:
    """``x`` as a C-contiguous (count, rows, cols) array over the dimensions
    ``batch``, ``first`` and ``second``."""
    name = b.name(x)
    if x.aval.dtype != dtype:
        conv = b.tmp("cv")
        b.emit(f"{conv} = {name}.astype({dtype_expr(dtype)})")
        name = conv
    order = list(batch) + list(first) + list(second)
    shape3 = f"({b.dim(count)}, {b.dim(rows)}, {b.dim(cols)})"
    moved = b.tmp("mv")
    if in_order(order, x.aval.shape):
        b.emit(f"{moved} = np.ascontiguousarray({name}).reshape({shape3})")
    else:
        b.emit(f"{moved} = np.ascontiguousarray(np.transpose({name}, {tuple(order)!r}))"
               f".reshape({shape3})")
    return moved


def _dot_batched(b: Builder, eqn: JaxprEqn, lf, rf, m: int, k: int, n: int) -> None:
    lhs, rhs = eqn.invars
    out = eqn.outvars[0]
    dt = out.aval.dtype
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    count = _prod(lhs.aval.shape, lb)
    a = _stacked(b, lhs, lb, lf, lc, count, m, k, dt)
    c = _stacked(b, rhs, rb, rc, rf, count, k, n, dt)
    res = b.tmp("mm")
    b.emit(f"{res} = np.empty({b.shape((count, m, n))}, {dtype_expr(dt)})")
    b.emit(f"_rt.batched_dot({a}, {c}, {res})")
    b.define(out, f"{res}.reshape({b.shape(out.aval.shape)})", fresh=True)
    b.owned.add(id(out))


# Contractions at least this long get several accumulators (loops below).
_SPLIT_SUM_MIN = 16
_NUM_ACCUMULATORS = 4


def _plain_arrays(b: Builder, *atoms) -> bool:
    """Whether the atoms are ordinary arrays in the generated code (not
    literals, scalar locals or per-component locals of the scalarizer)."""
    return all(not isinstance(a, Literal) and a.aval.ndim and id(a) not in b.split
               and id(a) not in b.scalar_values for a in atoms)


def _dot_loops(b: Builder, eqn: JaxprEqn) -> None:
    """Explicit loops reading the operands in place, in one of three orders.

    * The rhs's last (contiguous) dimension is free, e.g. ``v @ M``: loop
      over the contraction outside that dimension, adding ``x[k] * M[k, :]``
      into the output row: contiguous reads and independent adds, which
      LLVM vectorises (the contraction innermost would read a column).
    * A long single contraction otherwise, e.g. ``M @ v``: the contraction
      innermost with four accumulators, so the adds do not wait on each
      other (one accumulator makes every add wait for the previous one; the
      order of a float sum is not fixed anyway: BLAS splits it too).
    * Otherwise the contraction innermost with one accumulator.
    """
    lhs, rhs = eqn.invars
    out = eqn.outvars[0]
    dt = out.aval.dtype
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    ls, rs = lhs.aval.shape, rhs.aval.shape
    lf, rf = _free(len(ls), lc, lb), _free(len(rs), rc, rb)
    floats = dt.kind in "fc" and _plain_arrays(b, lhs, rhs, out)
    if floats and rf and rf[-1] == len(rs) - 1 and rs[-1] >= _SPLIT_SUM_MIN and lc:
        _dot_row_updates(b, eqn, lf, rf)
        return
    b.alloc(out)
    out_shape = out.aval.shape
    acc_dt = np.dtype(np.int64 if dt.kind == "i" else np.uint64) if dt.kind in "iu" else dt
    with b.loops(out_shape, parallel=b.want_parallel(out_shape)) as oidx:
        li, ri = _operand_indices(len(ls), len(rs), lb, rb, lf, rf, oidx)
        if floats and len(lc) == 1 and ls[lc[0]] >= _SPLIT_SUM_MIN:
            b.store(out, oidx, cast(_split_sum(b, lhs, rhs, li, ri, lc[0], rc[0], dt), dt))
            return
        acc = b.tmp("acc")
        b.emit(f"{acc} = {literal(False if dt.kind == 'b' else 0, acc_dt)}")
        with b.loops([ls[d] for d in lc]) as cidx:
            for j, (dl, dr) in enumerate(zip(lc, rc, strict=True)):
                li[dl] = ri[dr] = cidx[j]
            x = b.elem(lhs, li)
            y = b.elem(rhs, ri)
            if lhs.aval.dtype != dt:
                x = cast(x, dt)
            if rhs.aval.dtype != dt:
                y = cast(y, dt)
            if dt.kind == "b":
                b.emit(f"{acc} = {acc} or ({x} and {y})")
            else:
                b.emit(f"{acc} = {acc} + {x} * {y}")
        b.store(out, oidx, cast(acc, dt))


def _operand_indices(lhs_ndim, rhs_ndim, lb, rb, lf, rf, oidx):
    """Index expressions of the operands for output indices ``oidx``
    (batch, lhs free, rhs free dimensions, in that order); the contracting
    dimensions are left empty for the caller."""
    nb, nl = len(lb), len(lf)
    li, ri = [""] * lhs_ndim, [""] * rhs_ndim
    for j, (dl, dr) in enumerate(zip(lb, rb, strict=True)):
        li[dl] = ri[dr] = oidx[j]
    for j, d in enumerate(lf):
        li[d] = oidx[nb + j]
    for j, d in enumerate(rf):
        ri[d] = oidx[nb + nl + j]
    return li, ri


def _split_sum(b: Builder, lhs, rhs, li, ri, dl: int, dr: int, dt) -> str:
    """``sum_k lhs[li with k] * rhs[ri with k]`` over the contraction
    dimensions ``dl``/``dr`` with four accumulators; returns the total."""
    size = b.dim(lhs.aval.shape[dl])
    accs = [b.tmp("acc") for _ in range(_NUM_ACCUMULATORS)]
    zero = literal(0, dt)
    b.emit(" = ".join(accs) + f" = {zero}")
    k = b.tmp("k")
    with b.emit.block(f"for {k} in range(0, {size} - {size} % {_NUM_ACCUMULATORS}, "
                      f"{_NUM_ACCUMULATORS}):"):
        for j, acc in enumerate(accs):
            li[dl] = ri[dr] = f"{k} + {j}" if j else k
            b.emit(f"{acc} = {acc} + {_operand(b, lhs, li, dt)} * {_operand(b, rhs, ri, dt)}")
    with b.emit.block(f"for {k} in range({size} - {size} % {_NUM_ACCUMULATORS}, {size}):"):
        li[dl] = ri[dr] = k
        b.emit(f"{accs[0]} = {accs[0]} + {_operand(b, lhs, li, dt)} * "
               f"{_operand(b, rhs, ri, dt)}")
    return f"(({accs[0]} + {accs[1]}) + ({accs[2]} + {accs[3]}))"


def _operand(b: Builder, atom, idx, dt) -> str:
    x = b.elem(atom, idx)
    return x if atom.aval.dtype == dt else cast(x, dt)


def _dot_row_updates(b: Builder, eqn: JaxprEqn, lf, rf) -> None:
    """``out[..., :] += lhs[..., k] * rhs[..., k, ..., :]`` with the rhs's
    last dimension (free, contiguous) innermost."""
    lhs, rhs = eqn.invars
    out = eqn.outvars[0]
    dt = out.aval.dtype
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    ls, rs = lhs.aval.shape, rhs.aval.shape
    b.alloc(out)
    out_shape = out.aval.shape
    zero = literal(0, dt)
    with b.loops(out_shape[:-1], parallel=b.want_parallel(out_shape)) as oidx:
        li, ri = _operand_indices(len(ls), len(rs), lb, rb, lf, rf[:-1], oidx)
        with b.loops([out_shape[-1]]) as (n,):
            b.store(out, [*oidx, n], zero)
        with b.loops([ls[d] for d in lc]) as cidx:
            for j, (dl, dr) in enumerate(zip(lc, rc, strict=True)):
                li[dl] = ri[dr] = cidx[j]
            x = b.tmp("x")
            b.emit(f"{x} = {_operand(b, lhs, li, dt)}")
            with b.loops([out_shape[-1]]) as (n,):
                ri[rf[-1]] = n
                b.store(out, [*oidx, n],
                        f"{b.elem(out, [*oidx, n])} + {x} * {_operand(b, rhs, ri, dt)}")


# ------------------------------------------------------------ factorisations
def _stack(b: Builder, x, rows: int, cols: int) -> tuple[str, int]:
    """``x`` (..., rows, cols) as a C-contiguous (count, rows, cols) array."""
    count = _prod(x.aval.shape, range(x.aval.ndim - 2))
    name = b.tmp("st")
    b.emit(f"{name} = np.ascontiguousarray({b.name(x)}).reshape("
           f"({b.dim(count)}, {b.dim(rows)}, {b.dim(cols)}))")
    return name, count


def _new_stack(b: Builder, count: int, dims, dtype) -> str:
    name = b.tmp("st")
    b.emit(f"{name} = np.empty({b.shape((count, *dims))}, {dtype_expr(dtype)})")
    return name


def _unstack(b: Builder, var, stack: str) -> None:
    b.define(var, f"{stack}.reshape({b.shape(var.aval.shape)})", fresh=True)
    b.owned.add(id(var))


@register("cholesky")
def _cholesky(b: Builder, eqn: JaxprEqn) -> None:
    (a,), (out,) = eqn.invars, eqn.outvars
    n = a.aval.shape[-1]
    a3, count = _stack(b, a, n, n)
    o3 = _new_stack(b, count, (n, n), out.aval.dtype)
    b.emit(f"_rt.cholesky_stack({a3}, {o3})")
    _unstack(b, out, o3)


@register("triangular_solve")
def _triangular_solve(b: Builder, eqn: JaxprEqn) -> None:
    a, rhs = eqn.invars
    out = eqn.outvars[0]
    p = eqn.params
    m = a.aval.shape[-1]
    rows, cols = rhs.aval.shape[-2:]
    a3, count = _stack(b, a, m, m)
    b3, _ = _stack(b, rhs, rows, cols)
    o3 = _new_stack(b, count, (rows, cols), out.aval.dtype)
    flags = ", ".join(str(bool(p[k])) for k in ("left_side", "lower", "transpose_a",
                                                  "conjugate_a", "unit_diagonal"))
    b.emit(f"_rt.triangular_solve_stack({a3}, {b3}, {o3}, {flags})")
    _unstack(b, out, o3)


@register("lu")
def _lu(b: Builder, eqn: JaxprEqn) -> None:
    (a,) = eqn.invars
    lu, pivots, perm = eqn.outvars
    m, n = a.aval.shape[-2:]
    a3, count = _stack(b, a, m, n)
    lu3 = _new_stack(b, count, (m, n), lu.aval.dtype)
    piv2 = _new_stack(b, count, (min(m, n),), pivots.aval.dtype)
    perm2 = _new_stack(b, count, (m,), perm.aval.dtype)
    b.emit(f"_rt.lu_stack({a3}, {lu3}, {piv2}, {perm2})")
    _unstack(b, lu, lu3)
    _unstack(b, pivots, piv2)
    _unstack(b, perm, perm2)


@register("qr")
def _qr(b: Builder, eqn: JaxprEqn) -> None:
    (a,) = eqn.invars
    q, r = eqn.outvars
    m, n = a.aval.shape[-2:]
    a3, count = _stack(b, a, m, n)
    q3 = _new_stack(b, count, q.aval.shape[-2:], q.aval.dtype)
    r3 = _new_stack(b, count, r.aval.shape[-2:], r.aval.dtype)
    b.emit(f"_rt.qr_stack({a3}, {q3}, {r3}, {bool(eqn.params['full_matrices'])})")
    _unstack(b, q, q3)
    _unstack(b, r, r3)


@register("eigh")
def _eigh(b: Builder, eqn: JaxprEqn) -> None:
    if not have_blas():
        raise NotImplementedError(
            "the Numba backend lowers primitive 'eigh' through LAPACK, which Numba reaches "
            "through SciPy; install scipy, or run the function without jit")
    (a,) = eqn.invars
    v, w = eqn.outvars
    n = a.aval.shape[-1]
    a3, count = _stack(b, a, n, n)
    v3 = _new_stack(b, count, (n, n), v.aval.dtype)
    w2 = _new_stack(b, count, (n,), w.aval.dtype)
    b.emit(f"_rt.eigh_stack({a3}, {v3}, {w2}, {bool(eqn.params['lower'])})")
    _unstack(b, v, v3)
    _unstack(b, w, w2)


__all__ = ["have_blas"]
