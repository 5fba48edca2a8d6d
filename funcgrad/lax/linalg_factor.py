"""Matrix factorisations and triangular solves: ``cholesky``,
``triangular_solve``, ``lu``, ``eigh`` and ``qr``, with JAX's
``lax.linalg`` semantics.

Every primitive works on the last two axes and is batched over the leading
ones (``numpy.linalg`` style).  Operands are float32, float64, complex64 or
complex128.  The derivative rules are written with traceable primitives
(``triangular_solve``, ``dot_general``, ``select_n``, ...), and every
primitive they apply to a tangent is linear with a transpose rule, so
forward mode, reverse mode and higher orders all follow.  Complex operands
are computed and differentiated in forward mode; reverse mode needs
transposes of ``conj``/``real`` that do not exist yet.

A factorisation reads only part of its operand (``cholesky`` and ``eigh``
the lower, or upper, triangle; ``triangular_solve`` one triangle of ``a``):
its derivative is that of the function it computes, so the entries it
never reads get zero derivatives.  The wrappers' ``symmetrize_input=True``
(the default, as in JAX) averages ``x`` with its adjoint first, which
spreads the derivative symmetrically.

>>> import numpy as np
>>> from funcgrad import lax
>>> lax.cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
Array([[2., 0.],
       [1., 2.]], dtype=float64)
"""
from __future__ import annotations

import numpy as np

from funcgrad.core.ad_util import Zero, add_tangents, is_undefined_primal, is_zero
from funcgrad.core.avals import ShapedArray
from funcgrad.core.batching import broadcast_batch, move_axis
from funcgrad.core.primitive import Primitive
from funcgrad.core.trace import get_aval
from funcgrad.lax.base import asoperand, quiet
from funcgrad.lax.elementwise import (add, conj, convert_element_type, div, eq, ge, le, lt,
                                      mul, neg, real, select_n, sub)
from funcgrad.lax.linalg import dot_general
from funcgrad.lax.shape import broadcast_in_dim, broadcasted_iota, full_like, reshape
from funcgrad.lax.shape import transpose as lax_transpose
from funcgrad.lax.slicing import pad
from funcgrad.lax.slicing import slice as lax_slice

_DTYPES = tuple(np.dtype(d) for d in (np.float32, np.float64, np.complex64, np.complex128))


# ------------------------------------------------------------ shape rules
def _check_matrix(name: str, aval: ShapedArray, what: str = "operand",
                  square: bool = True) -> None:
    """A stack of (square) float or complex matrices in the last two axes."""
    if aval.dtype not in _DTYPES:
        raise TypeError(f"{name} does not accept dtype {aval.dtype.name} for its {what} "
                        f"({aval.str_short()}); accepted dtypes are float32, float64, "
                        f"complex64 and complex128")
    if aval.ndim < 2:
        raise ValueError(f"{name} requires its {what} to have at least 2 dimensions (a matrix "
                         f"or a stack of matrices), got {aval.str_short()}")
    if square and aval.shape[-1] != aval.shape[-2]:
        raise ValueError(f"{name} requires its {what} to be a square matrix (or a stack of "
                         f"them) in its last two axes, got {aval.str_short()}")


def _real_dtype(dt: np.dtype) -> np.dtype:
    return np.finfo(dt).dtype


def _is_complex(x) -> bool:
    return get_aval(x).dtype.kind == "c"


# ------------------------------------------------ traceable matrix helpers
def _swap_last(x):
    nd = get_aval(x).ndim
    return lax_transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _adjoint(x):
    """Conjugate transpose of the last two axes (plain transpose if real)."""
    x = _swap_last(x)
    return conj(x) if _is_complex(x) else x


def _mm(a, b):
    """``a @ b`` for operands of equal rank and equal batch axes."""
    nd = get_aval(a).ndim
    batch = tuple(range(nd - 2))
    return dot_general(a, b, (((nd - 1,), (nd - 2,)), (batch, batch)))


def _index_grids(shape):
    nd = len(shape)
    return (broadcasted_iota(np.int32, shape, nd - 2), broadcasted_iota(np.int32, shape, nd - 1))


def _band(x, lower: bool, k: int = 0):
    """``tril(x, k)`` if ``lower`` else ``triu(x, k)``, by selection (an
    inf or nan outside the band does not leak in, as it would through a
    product with a 0/1 mask)."""
    rows, cols = _index_grids(get_aval(x).shape)
    # tril keeps col <= row + k, triu keeps col >= row + k.
    shifted = add(rows, np.int32(k)) if k else rows
    keep = le(cols, shifted) if lower else ge(cols, shifted)
    return select_n(keep, full_like(x, 0), x)


def _hermitian_from(x, lower: bool):
    """The Hermitian matrix whose ``lower`` (or upper) triangle is that of
    ``x``: what a factorisation that reads one triangle sees (LAPACK also
    ignores the imaginary part of the diagonal)."""
    strict = _band(x, lower, -1 if lower else 1)
    diag = _band(_band(x, True), False)
    if _is_complex(x):
        diag = convert_element_type(real(diag), get_aval(x).dtype)
    return add(add(strict, diag), _adjoint(strict))


def _diagonal(x):
    """The diagonal of the last two axes, as a strided slice of the
    flattened matrices (linear, with a transpose rule)."""
    *batch, n, m = get_aval(x).shape
    flat = reshape(x, (*batch, n * m))
    d = min(n, m)
    nb = len(batch)
    return lax_slice(flat, (0,) * (nb + 1), (*batch, (d - 1) * (m + 1) + 1 if d else 0),
                     (1,) * nb + (m + 1,))


def _eye_like(shape, dtype):
    rows, cols = _index_grids(shape)
    return convert_element_type(eq(rows, cols), dtype)


# ------------------------------------------------------------ batching
def _is_leading(x, d: int) -> bool:
    """Whether axis ``d`` of ``x`` is a stack axis (not one of the last two,
    the matrix axes)."""
    return d < get_aval(x).ndim - 2


def _to_leading(x, d: int):
    """``x`` with its batch axis among the stack axes, where every
    factorisation already loops: left in place if it is one, else moved to
    the front; returns the value and the axis."""
    return (x, d) if _is_leading(x, d) else (move_axis(x, d, 0), 0)


def _batch_stacked(p: Primitive):
    """The batching rule of a one-operand factorisation: the batch axis
    becomes one more stack axis, and every output (a stack of matrices or
    vectors with the operand's stack axes) has it at the same position."""
    def rule(args, dims, axis_size, **params):
        x, d = _to_leading(args[0], dims[0])
        out = p.bind(x, **params)
        outs = out if p.multiple_results else [out]
        return outs, [d] * len(outs)
    p.batch = rule


# ------------------------------------------------------------ cholesky
def _cholesky_abstract_eval(a: ShapedArray):
    _check_matrix("cholesky", a)
    return [ShapedArray(a.shape, a.dtype)]


def _nan_where_failing(fn, a: np.ndarray, out_shapes):
    """Apply a ``numpy.linalg`` function to a stack of matrices; where it
    raises LinAlgError (not positive definite, no convergence) that matrix's
    results are NaN, as JAX returns, rather than an exception."""
    try:
        return fn(a)
    except np.linalg.LinAlgError:
        pass
    outs = [np.empty(a.shape[:-2] + s, d) for s, d in out_shapes]
    for idx in np.ndindex(*a.shape[:-2]):
        try:
            results = fn(a[idx])
        except np.linalg.LinAlgError:
            results = [np.full(s, np.nan, d) for s, d in out_shapes]
        for out, r in zip(outs, results, strict=True):
            out[idx] = r
    return outs


@quiet
def _cholesky_impl(a):
    a = np.asarray(a)
    # numpy.linalg.cholesky reads only the lower triangle, like LAPACK potrf.
    (out,) = _nan_where_failing(lambda m: [np.linalg.cholesky(m)], a, [(a.shape[-2:], a.dtype)])
    return [np.asarray(out, a.dtype)]


def _cholesky_jvp(primals, tangents):
    # With A = L L^H:  dA = dL L^H + L dL^H, so L^{-1} dA L^{-H} = Φ + Φ^H
    # where Φ = L^{-1} dL is lower triangular with a real diagonal: Φ is the
    # lower triangle of L^{-1} dA L^{-H} with its diagonal halved.
    (a,), (da,) = primals, tangents
    chol = cholesky_p.bind(a)
    if is_zero(da):
        return [chol], [Zero.like(chol)]
    da = _hermitian_from(da, lower=True)  # only the lower triangle is read
    x = triangular_solve(chol, da, left_side=True, lower=True)
    x = triangular_solve(chol, x, left_side=False, lower=True, transpose_a=True,
                         conjugate_a=True)
    rows, cols = _index_grids(get_aval(a).shape)
    weight = add(convert_element_type(lt(cols, rows), get_aval(a).dtype),
                 mul(_eye_like(get_aval(a).shape, get_aval(a).dtype), 0.5))
    return [chol], [_mm(chol, mul(x, weight))]


cholesky_p = Primitive("cholesky")
cholesky_p.impl = _cholesky_impl
cholesky_p.abstract_eval = _cholesky_abstract_eval
cholesky_p.jvp = _cholesky_jvp
cholesky_p.not_applicable["transpose"] = "not linear"
_batch_stacked(cholesky_p)


def cholesky(x, *, symmetrize_input: bool = True):
    """The lower Cholesky factor ``L`` of Hermitian positive definite
    matrices (``x = L @ L^H``), batched over leading axes.

    Only the lower triangle of ``x`` is read; with ``symmetrize_input``
    (the default, as in JAX) ``x`` is first replaced by ``(x + x^H) / 2``.
    A matrix that is not positive definite gives a matrix of NaN, not an
    exception.

    >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
    Array([[2., 0.],
           [1., 2.]], dtype=float64)
    >>> bool(np.isnan(cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]))).all())
    True
    """
    x = asoperand(x, "cholesky")
    if symmetrize_input:
        _check_matrix("cholesky", get_aval(x))
        x = mul(add(x, _adjoint(x)), 0.5)
    return cholesky_p.bind(x)


# ------------------------------------------------------- triangular_solve
def _triangular_solve_abstract_eval(a: ShapedArray, b: ShapedArray, *, left_side, lower,
                                    transpose_a, conjugate_a, unit_diagonal):
    _check_matrix("triangular_solve", a, "a")
    _check_matrix("triangular_solve", b, "b", square=False)
    where = f"a {a.str_short()} and b {b.str_short()}"
    if a.dtype != b.dtype:
        raise TypeError(f"triangular_solve requires a and b of the same dtype, got {where}")
    if a.ndim != b.ndim or a.shape[:-2] != b.shape[:-2]:
        raise ValueError(f"triangular_solve requires a and b with equal batch dimensions "
                         f"(all but the last two), got {where}")
    m = a.shape[-1]
    if (b.shape[-2] if left_side else b.shape[-1]) != m:
        side = "rows" if left_side else "columns"
        raise ValueError(f"triangular_solve with left_side={left_side} requires b to have as "
                         f"many {side} as a, got {where}")
    return [ShapedArray(b.shape, b.dtype)]


# Rows (LU: columns) handled per block: the work between blocks is one
# matrix product (BLAS 3), only the work inside a block is row by row.
_BLOCK = 64


def _blocks(size: int, forward: bool) -> list[tuple[int, int]]:
    blocks = [(lo, min(lo + _BLOCK, size)) for lo in range(0, size, _BLOCK)]
    return blocks if forward else blocks[::-1]


def _forward_or_back_substitution(t: np.ndarray, b: np.ndarray, lower: bool) -> np.ndarray:
    """Solve ``t @ x = b`` for triangular stacks ``t`` (..., m, m): blocks of
    rows of ``x`` in order, each row vectorised over the batch and the
    columns of ``b``."""
    m = t.shape[-1]
    x = np.zeros(b.shape, np.result_type(t, b))
    for lo, hi in _blocks(m, lower):
        done = slice(0, lo) if lower else slice(hi, m)
        rhs = b[..., lo:hi, :] - t[..., lo:hi, done] @ x[..., done, :]
        for i in (range(lo, hi) if lower else range(hi - 1, lo - 1, -1)):
            inner = slice(lo, i) if lower else slice(i + 1, hi)
            acc = rhs[..., i - lo, :] - (t[..., i:i + 1, inner] @ x[..., inner, :])[..., 0, :]
            x[..., i, :] = acc / t[..., i, i][..., None]
    return x


@quiet
def _triangular_solve_impl(a, b, *, left_side, lower, transpose_a, conjugate_a,
                           unit_diagonal):
    a, b = np.asarray(a), np.asarray(b)
    t = np.tril(a) if lower else np.triu(a)  # the other triangle is never read
    if unit_diagonal:
        idx = np.arange(a.shape[-1])
        t[..., idx, idx] = 1
    if conjugate_a:
        t = np.conj(t)
    if transpose_a:
        t, lower = np.swapaxes(t, -1, -2), not lower
    if not left_side:  # x @ t = b  <=>  t^T @ x^T = b^T
        t, b, lower = np.swapaxes(t, -1, -2), np.swapaxes(b, -1, -2), not lower
    x = _forward_or_back_substitution(t, b, lower)
    if not left_side:
        x = np.swapaxes(x, -1, -2)
    return [np.ascontiguousarray(x, dtype=b.dtype)]


def _op_a(x, transpose_a: bool, conjugate_a: bool):
    x = _swap_last(x) if transpose_a else x
    return conj(x) if conjugate_a else x


def _triangular_solve_jvp(primals, tangents, **params):
    # X = op(A)^{-1} B  gives  dX = op(A)^{-1} (dB - op(dA) X)  (left side);
    # X = B op(A)^{-1} gives  dX = (dB - X op(dA)) op(A)^{-1}  (right side).
    a, b = primals
    da, db = tangents
    x = triangular_solve_p.bind(a, b, **params)
    rhs = db
    if not is_zero(da):
        # Only the triangle the solve reads (without the diagonal if it is
        # taken as ones) varies the result.
        lower = params["lower"]
        da = _band(da, lower, (-1 if lower else 1) if params["unit_diagonal"] else 0)
        op_da = _op_a(da, params["transpose_a"], params["conjugate_a"])
        prod = _mm(op_da, x) if params["left_side"] else _mm(x, op_da)
        rhs = add_tangents(rhs, neg(prod))
    if is_zero(rhs):
        return [x], [Zero.like(x)]
    return [x], [triangular_solve_p.bind(a, rhs, **params)]


def _triangular_solve_transpose(cts, a, b, *, left_side, lower, transpose_a, conjugate_a,
                                unit_diagonal):
    # b -> op(A)^{-1} b transposes to ct -> op(A)^{-T} ct: the same solve
    # with the transpose flag toggled (the linear transpose, not the
    # adjoint, so conjugate_a stays as it is).
    (ct,) = cts
    if is_undefined_primal(a):
        raise ValueError("triangular_solve is linear in b only, not in the matrix a")
    ct_b = triangular_solve_p.bind(a, ct, left_side=left_side, lower=lower,
                                   transpose_a=not transpose_a, conjugate_a=conjugate_a,
                                   unit_diagonal=unit_diagonal)
    return [None, ct_b]


def _triangular_solve_batch(args, dims, axis_size, **params):
    a, b = args
    da, db = dims
    if da is None:
        # Only the right-hand sides vary: the members' b are more columns
        # (rows, for a right-side solve) of one b, so a is not copied.
        left = params["left_side"]
        nd = get_aval(b).ndim
        # Member b is (..., m, n) on the left side, (..., n, m) on the right:
        # the batch axis goes next to the n axis, and merges with it.
        d = nd - 2 if left else nd - 3
        b = move_axis(b, db, d)
        shape = get_aval(b).shape
        merged = shape[:d] + (shape[d] * shape[d + 1],) + shape[d + 2:]
        x = triangular_solve_p.bind(a, reshape(b, merged), **params)
        return [reshape(x, shape)], [d]
    if db is None:
        # A batch of matrices a: b must be given the same stack axis.
        a, da = _to_leading(a, da)
        return [triangular_solve_p.bind(a, broadcast_batch(b, axis_size, da), **params)], [da]
    # Both batched: the operands need the batch axis at the same stack axis.
    if _is_leading(a, da):
        b = move_axis(b, db, da)
    elif _is_leading(b, db):
        a, da = move_axis(a, da, db), db
    else:
        a, b, da = move_axis(a, da, 0), move_axis(b, db, 0), 0
    return [triangular_solve_p.bind(a, b, **params)], [da]


triangular_solve_p = Primitive("triangular_solve")
triangular_solve_p.impl = _triangular_solve_impl
triangular_solve_p.abstract_eval = _triangular_solve_abstract_eval
triangular_solve_p.jvp = _triangular_solve_jvp
triangular_solve_p.transpose = _triangular_solve_transpose
triangular_solve_p.batch = _triangular_solve_batch


def triangular_solve(a, b, *, left_side: bool = False, lower: bool = False,
                     transpose_a: bool = False, conjugate_a: bool = False,
                     unit_diagonal: bool = False):
    """Solve ``op(a) @ x = b`` (``left_side=True``) or ``x @ op(a) = b``
    for ``x``, where ``a`` is triangular; JAX's ``lax.linalg.triangular_solve``.

    Parameters
    ----------
    a : array (..., m, m)
        Only its lower (``lower=True``) or upper triangle is read; with
        ``unit_diagonal`` its diagonal is taken as ones and not read either.
    b : array (..., m, n) if ``left_side`` else (..., n, m)
        Same dtype and batch axes as ``a``.  A ``b`` of one dimension less
        than ``a`` is a single vector.
    transpose_a, conjugate_a : bool
        ``op(a)`` is ``a``, its transpose, its conjugate or its adjoint
        (``conjugate_a`` is ignored for real dtypes).

    A zero on the diagonal gives inf/nan, not an exception.

    >>> a = np.array([[2.0, 0.0], [1.0, 4.0]])
    >>> triangular_solve(a, np.array([2.0, 9.0]), left_side=True, lower=True)
    Array([1., 2.], dtype=float64)
    """
    a, b = asoperand(a, "triangular_solve"), asoperand(b, "triangular_solve")
    a_aval, b_aval = get_aval(a), get_aval(b)
    conjugate_a = bool(conjugate_a) and a_aval.dtype.kind == "c"
    vector = b_aval.ndim == a_aval.ndim - 1
    if vector:
        b = broadcast_in_dim(b, b_aval.shape + (1,) if left_side else
                             b_aval.shape[:-1] + (1, b_aval.shape[-1]),
                             tuple(range(b_aval.ndim - 1)) + ((b_aval.ndim - 1,) if left_side
                                                              else (b_aval.ndim,)))
    x = triangular_solve_p.bind(a, b, left_side=bool(left_side), lower=bool(lower),
                                transpose_a=bool(transpose_a), conjugate_a=conjugate_a,
                                unit_diagonal=bool(unit_diagonal))
    if vector:
        x = reshape(x, b_aval.shape)
    return x


# ------------------------------------------------------------ lu
def _lu_abstract_eval(a: ShapedArray):
    _check_matrix("lu", a, square=False)
    *batch, m, n = a.shape
    k = min(m, n)
    return [ShapedArray(a.shape, a.dtype), ShapedArray((*batch, k), np.dtype(np.int32)),
            ShapedArray((*batch, m), np.dtype(np.int32))]


@quiet
def _lu_impl(a):
    """Gaussian elimination with partial pivoting (LAPACK getrf's choices:
    the first entry of largest magnitude, |re| + |im| for complex; a column
    whose pivot is exactly zero is left unscaled, so singular matrices give
    a finite factorisation with a zero on U's diagonal)."""
    a = np.asarray(a)
    *batch, m, n = a.shape
    k = min(m, n)
    count = int(np.prod(batch, dtype=np.int64))
    lu = a.reshape(count, m, n).copy()
    pivots = np.zeros((count, k), np.int32)
    perm = np.tile(np.arange(m, dtype=np.int32), (count, 1))
    stack = np.arange(count)
    for j0, j1 in _blocks(k, True):
        # Factor the panel of columns j0:j1 (row swaps move whole rows) ...
        for j in range(j0, j1):
            col = lu[:, j:, j]
            size = np.abs(col.real) + np.abs(col.imag) if lu.dtype.kind == "c" else np.abs(col)
            p = j + np.argmax(size, axis=1)
            pivots[:, j] = p
            lu[stack, j], lu[stack, p] = lu[stack, p], lu[stack, j]
            perm[stack, j], perm[stack, p] = perm[stack, p], perm[stack, j]
            piv = lu[:, j, j]
            # Below a zero pivot the column is all zero: leave it (no 0/0).
            scale = np.where(piv == 0, 1, piv)[:, None]
            lu[:, j + 1:, j] /= scale
            lu[:, j + 1:, j + 1:j1] -= lu[:, j + 1:, j, None] * lu[:, j, None, j + 1:j1]
        if j1 < n:
            # ... then the rows of U right of it and the trailing update.
            l11 = np.tril(lu[:, j0:j1, j0:j1], -1) + np.eye(j1 - j0, dtype=lu.dtype)
            lu[:, j0:j1, j1:] = _forward_or_back_substitution(l11, lu[:, j0:j1, j1:], True)
            lu[:, j1:, j1:] -= lu[:, j1:, j0:j1] @ lu[:, j0:j1, j1:]
    return [lu.reshape(a.shape), pivots.reshape(*batch, k), perm.reshape(*batch, m)]


def _permutation_matrix(perm, dtype):
    """``P`` with ``P @ x == x[perm]``: row ``i`` is one-hot at ``perm[i]``."""
    shape = get_aval(perm).shape
    m = shape[-1]
    nd = len(shape) + 1
    rows = broadcast_in_dim(perm, (*shape, m), tuple(range(nd - 1)))
    cols = broadcasted_iota(np.int32, (*shape, m), nd - 1)
    return convert_element_type(eq(rows, cols), dtype)


def _pad_last_two(x, rows: int, cols: int):
    """Zero-pad the last two axes at their ends by ``rows`` and ``cols``."""
    nd = get_aval(x).ndim
    zero = np.zeros((), get_aval(x).dtype)
    return pad(x, zero, [(0, 0, 0)] * (nd - 2) + [(0, rows, 0), (0, cols, 0)])


def _lu_jvp(primals, tangents):
    # With A[perm] = L U:  L^{-1} dA[perm] U^{-1} = L^{-1} dL + dU U^{-1},
    # strictly lower plus upper triangular, so both are read off one matrix
    # X: dL = L tril(X, -1), dU = triu(X) U.  Rectangular matrices use L
    # padded to m x m and U to n x n with identity blocks.
    (a,), (da,) = primals, tangents
    lu, pivots, perm = lu_p.bind(a)
    outs = [lu, pivots, perm]
    zeros = [Zero.like(pivots), Zero.like(perm)]
    if is_zero(da):
        return outs, [Zero.like(lu)] + zeros
    aval = get_aval(a)
    *batch, m, n = aval.shape
    da_perm = _mm(_permutation_matrix(perm, aval.dtype), da)
    if m >= n:
        l_sq = _pad_last_two(lu, 0, m - n)
        u_sq = lax_slice(lu, (0,) * aval.ndim, (*batch, n, n))
    else:
        l_sq = lax_slice(lu, (0,) * aval.ndim, (*batch, m, m))
        # Rows m..n-1 of the padded U are [0, I].
        rows, cols = _index_grids((*batch, n, n))
        lower_block = ge(rows, np.int32(m))
        u_sq = select_n(lower_block, _pad_last_two(lu, n - m, 0),
                        convert_element_type(eq(rows, cols), aval.dtype))
    x = triangular_solve(l_sq, da_perm, left_side=True, lower=True, unit_diagonal=True)
    x = triangular_solve(u_sq, x, left_side=False, lower=False)
    l_full = add(_band(l_sq, True, -1), _eye_like((*batch, m, m), aval.dtype))
    u_full = _band(u_sq, False)
    lu_dot = add(_mm(l_full, _band(x, True, -1)), _mm(_band(x, False), u_full))
    return outs, [lu_dot] + zeros


lu_p = Primitive("lu", multiple_results=True)
lu_p.impl = _lu_impl
lu_p.abstract_eval = _lu_abstract_eval
lu_p.jvp = _lu_jvp
lu_p.not_applicable["transpose"] = "not linear"
_batch_stacked(lu_p)


def lu(x):
    """LU decomposition with partial pivoting: ``x[..., perm, :] = L @ U``.

    Returns ``(lu, pivots, permutation)`` as JAX's ``lax.linalg.lu``: ``lu``
    packs the unit lower triangular ``L`` (below the diagonal) and the upper
    triangular ``U``; ``pivots[i]`` (int32) is the row swapped with row
    ``i`` at step ``i``; ``permutation`` (int32) is the resulting row order.
    Rectangular ``(..., m, n)`` inputs are accepted (``L`` is m x min(m, n),
    ``U`` min(m, n) x n).

    >>> lu_, piv, perm = lu(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> lu_
    Array([[3.        , 4.        ],
           [0.33333333, 0.66666667]], dtype=float64)
    >>> perm
    Array([1, 0], dtype=int32)
    """
    return tuple(lu_p.bind(asoperand(x, "lu")))


# ------------------------------------------------------------ eigh
def _eigh_abstract_eval(a: ShapedArray, *, lower):
    _check_matrix("eigh", a)
    return [ShapedArray(a.shape, a.dtype), ShapedArray(a.shape[:-1], _real_dtype(a.dtype))]


@quiet
def _eigh_impl(a, *, lower):
    a = np.asarray(a)
    w_dtype = _real_dtype(a.dtype)

    def eigh(m):
        w, v = np.linalg.eigh(m, UPLO="L" if lower else "U")
        return [v, w]

    v, w = _nan_where_failing(eigh, a, [(a.shape[-2:], a.dtype), (a.shape[-1:], w_dtype)])
    return [np.asarray(v, a.dtype), np.asarray(w, w_dtype)]


def _eigh_jvp(primals, tangents, *, lower):
    # A = V diag(w) V^H.  With S = V^H dA V:  dw = diag(S) and
    # dV = V (F * S), F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it.
    # Repeated eigenvalues make F infinite: their eigenvectors are not
    # differentiable (only the subspace they span is), and the tangents of
    # the eigenvectors come out inf/nan; eigenvalue tangents stay finite.
    # Complex eigenvectors are defined up to a phase each: dV is the
    # tangent with diag(V^H dV) = 0, not that of LAPACK's phase convention,
    # so only phase-invariant functions of V (such as v v^H) match finite
    # differences of the implementation.
    (a,), (da,) = primals, tangents
    v, w = eigh_p.bind(a, lower=lower)
    if is_zero(da):
        return [v, w], [Zero.like(v), Zero.like(w)]
    aval = get_aval(a)
    s = _mm(_mm(_adjoint(v), _hermitian_from(da, lower)), v)
    dw = _diagonal(s)
    if aval.dtype.kind == "c":
        dw = real(dw)
    nd = aval.ndim
    w_rows = broadcast_in_dim(w, aval.shape, tuple(range(nd - 2)) + (nd - 2,))
    w_cols = broadcast_in_dim(w, aval.shape, tuple(range(nd - 2)) + (nd - 1,))
    diff = sub(w_cols, w_rows)
    rows, cols = _index_grids(aval.shape)
    on_diag = eq(rows, cols)
    one = full_like(diff, 1)
    f = select_n(on_diag, div(one, select_n(on_diag, diff, one)), full_like(diff, 0))
    f = convert_element_type(f, aval.dtype)
    dv = _mm(v, mul(f, s))
    return [v, w], [dv, dw]


eigh_p = Primitive("eigh", multiple_results=True)
eigh_p.impl = _eigh_impl
eigh_p.abstract_eval = _eigh_abstract_eval
eigh_p.jvp = _eigh_jvp
eigh_p.not_applicable["transpose"] = "not linear"
_batch_stacked(eigh_p)


def eigh(x, *, lower: bool = True, symmetrize_input: bool = True):
    """Eigendecomposition of Hermitian (real symmetric) matrices:
    ``x = v @ diag(w) @ v^H``, eigenvalues ``w`` ascending (real dtype).

    Returns ``(v, w)`` in JAX's order (``numpy.linalg.eigh`` returns
    ``(w, v)``).  Only the ``lower`` (or upper) triangle is read; with
    ``symmetrize_input`` (the default) ``x`` is first replaced by
    ``(x + x^H) / 2``.  Derivatives of eigenvectors are undefined (inf/nan)
    where eigenvalues repeat; for complex input they fix each eigenvector's
    phase by ``diag(v^H dv) = 0`` (phase-invariant functions of ``v`` get
    exact derivatives).

    >>> v, w = eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> w
    Array([1., 3.], dtype=float64)
    """
    x = asoperand(x, "eigh")
    if symmetrize_input:
        _check_matrix("eigh", get_aval(x))
        x = mul(add(x, _adjoint(x)), 0.5)
    return tuple(eigh_p.bind(x, lower=bool(lower)))


# ------------------------------------------------------------------ qr
def _qr_abstract_eval(a: ShapedArray, *, full_matrices):
    _check_matrix("qr", a, square=False)
    *batch, m, n = a.shape
    k = m if full_matrices else min(m, n)
    return [ShapedArray((*batch, m, k), a.dtype), ShapedArray((*batch, k, n), a.dtype)]


@quiet
def _qr_impl(a, *, full_matrices):
    a = np.asarray(a)
    q, r = np.linalg.qr(a, mode="complete" if full_matrices else "reduced")
    return [np.asarray(q, a.dtype), np.asarray(r, a.dtype)]


def _qr_jvp(primals, tangents, *, full_matrices):
    # A = Q R with m >= n (Q: m x n).  With C = Q^H dA R^{-1}, the
    # antisymmetric Ω = Q^H dQ is fixed by R's triangularity: its strictly
    # lower part is that of C.  Then dR = (C - Ω) R and
    # dQ = dA R^{-1} - Q (C - Ω)  (which also keeps Q^H dQ = Ω; the diagonal
    # term keeps R's diagonal real for complex input).
    (a,), (da,) = primals, tangents
    q, r = qr_p.bind(a, full_matrices=full_matrices)
    if is_zero(da):
        return [q, r], [Zero.like(q), Zero.like(r)]
    *_, m, n = get_aval(a).shape
    if m < n or (full_matrices and m > n):
        raise NotImplementedError(
            f"the derivative of qr is defined only for m >= n with reduced factors (or square "
            f"matrices), got a {m} x {n} matrix with full_matrices={full_matrices}")
    da_rinv = triangular_solve(r, da, left_side=False, lower=False)
    c = _mm(_adjoint(q), da_rinv)
    low = _band(c, True, -1)
    omega = sub(low, _adjoint(low))
    if get_aval(a).dtype.kind == "c":
        diag_imag = sub(c, convert_element_type(real(c), get_aval(a).dtype))
        omega = add(omega, mul(diag_imag, _eye_like(get_aval(c).shape, get_aval(a).dtype)))
    c_minus_omega = sub(c, omega)
    dq = sub(da_rinv, _mm(q, c_minus_omega))
    dr = _mm(c_minus_omega, r)
    return [q, r], [dq, dr]


qr_p = Primitive("qr", multiple_results=True)
qr_p.impl = _qr_impl
qr_p.abstract_eval = _qr_abstract_eval
qr_p.jvp = _qr_jvp
qr_p.not_applicable["transpose"] = "not linear"
_batch_stacked(qr_p)


def qr(x, *, full_matrices: bool = True):
    """QR decomposition ``x = q @ r`` (Householder, as LAPACK: ``r``'s
    diagonal may be negative), batched over leading axes; JAX's
    ``lax.linalg.qr``.  ``q`` is m x m with ``full_matrices`` (the default,
    as in JAX), else m x min(m, n).  Derivatives exist for m >= n with
    reduced factors, and for square matrices.

    >>> q, r = qr(np.array([[3.0, 1.0], [4.0, 2.0]]))
    >>> np.allclose(q @ r, [[3.0, 1.0], [4.0, 2.0]])
    True
    """
    return tuple(qr_p.bind(asoperand(x, "qr"), full_matrices=bool(full_matrices)))


__all__ = [
    "cholesky", "cholesky_p", "eigh", "eigh_p", "lu", "lu_p", "qr", "qr_p", "triangular_solve",
    "triangular_solve_p",
]
