"""``funcgrad.numpy.linalg``: ``numpy.linalg`` on funcgrad arrays.

Available: ``norm``, ``vector_norm``, ``matrix_norm`` (``'fro'``, 1, -1,
inf, -inf), ``outer``, ``matmul``, ``vecdot``, ``tensordot``, ``cross``,
``trace``, ``diagonal``, ``matrix_transpose``, ``multi_dot``,
``matrix_power``, and the factorisations and what is built on them:
``cholesky``, ``qr``, ``solve``, ``inv``, ``det``, ``slogdet``, ``eigh``,
``eigvalsh``, ``tensorinv`` and ``tensorsolve``.  They are batched over
leading axes like NumPy's, and differentiable to any order through the
rules of the ``lax`` primitives they use (``lu``, ``cholesky``,
``triangular_solve``, ``eigh``, ``qr``).  As in JAX, and unlike NumPy: a
singular or non-positive-definite matrix gives inf/nan results rather than
a ``LinAlgError``, and ``cholesky``/``eigh``/``eigvalsh`` symmetrize their
input by default (``symmetrize_input=False`` reads one triangle, like
NumPy).

Not available yet (they need an SVD or a non-symmetric eigensolver):
``svd``, ``svdvals``, ``eig``, ``eigvals``, ``pinv``, ``lstsq``,
``matrix_rank``, ``cond``, and the norms that need singular values
(``ord='nuc'``, 2, -2 for matrices).

>>> import funcgrad.numpy as jnp
>>> jnp.linalg.norm(jnp.array([3.0, 4.0]))
Array(5., dtype=float64)
>>> jnp.linalg.det(jnp.array([[2.0, 1.0], [1.0, 3.0]]))
Array(5., dtype=float64)
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from funcgrad import lax
from funcgrad.core import dtypes
from funcgrad.core.trace import get_aval
from funcgrad.lax import linalg_factor as _factor
from funcgrad.numpy import manipulation as _manip
from funcgrad.numpy import products as _products
from funcgrad.numpy._util import (broadcast_shapes, canonicalize_axes, canonicalize_axis,
                                  promote_dtypes_inexact)
from funcgrad.numpy.manipulation import _op, _result, _shape, reshape

__all__ = [
    "EighResult", "LinAlgError", "QRResult", "SlogdetResult", "cholesky", "cross", "det",
    "diagonal", "eigh", "eigvalsh", "inv", "matmul", "matrix_norm", "matrix_power",
    "matrix_transpose", "multi_dot", "norm", "outer", "qr", "slogdet", "solve", "tensordot",
    "tensorinv", "tensorsolve", "trace", "vecdot", "vector_norm",
]

LinAlgError = np.linalg.LinAlgError

_NEEDS_FACTORISATION = frozenset({
    "svd", "svdvals", "eig", "eigvals", "pinv", "lstsq", "matrix_rank", "cond"})


def __getattr__(name):
    if name in _NEEDS_FACTORISATION:
        raise AttributeError(f"funcgrad.numpy.linalg.{name} is not available yet: it needs a "
                             f"matrix factorisation primitive (an SVD or a non-symmetric "
                             f"eigensolver), which funcgrad does not have")
    raise AttributeError(f"module 'funcgrad.numpy.linalg' has no attribute {name!r}")


# ------------------------------------------------------------------ norms
def _inexact(x, name):
    (x,) = promote_dtypes_inexact(name, x)
    return x


def _real_dtype(dt):
    return np.dtype(np.float32) if dt == np.complex64 else (
        dtypes.float64 if dt.kind == "c" else dt)


def _keep(out, shape, axes, keepdims):
    if not keepdims:
        return out
    return reshape(out, tuple(1 if i in axes else s for i, s in enumerate(shape)))


def _abs_squared(x):
    if dtypes.is_complex(get_aval(x).dtype):
        re, im = lax.real(x), lax.imag(x)
        return lax.add(lax.mul(re, re), lax.mul(im, im))
    return lax.mul(x, x)


def _root_at_zero_safe(s, root):
    """``root(s)`` for sums of powers ``s >= 0``, with a zero derivative
    where ``s == 0``.  The norm is not differentiable at 0; the plain
    formula's derivative there is 0 * inf = nan (JAX returns nan).  funcgrad
    picks the zero subgradient instead, as ``abs`` does at 0, so that for
    example ``norm(x) ** 2`` has the correct gradient 0 at x = 0.  The root
    is taken of a safe value so no nan flows back through the unused branch.
    """
    at_zero = lax.eq(s, np.zeros((), get_aval(s).dtype))
    safe = lax.select(at_zero, lax.full_like(s, 1), s)
    return lax.select(at_zero, lax.full_like(s, 0), root(safe))


def _vector_norm(x, axes, ord):
    """The norm over ``axes`` of an inexact ``x`` (axes reduced away)."""
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order {ord!r} for vectors")  # noqa: TRY004 (NumPy's)
    dt = _real_dtype(get_aval(x).dtype)
    if ord is None or ord == 2:
        return _root_at_zero_safe(lax.reduce_sum(_abs_squared(x), axes), lax.sqrt)
    a = lax.abs(x)
    if ord == math.inf:
        return _reduce_extreme(a, axes, lax.reduce_max, "inf")
    if ord == -math.inf:
        return _reduce_extreme(a, axes, lax.reduce_min, "-inf")
    if ord == 0:
        return lax.reduce_sum(lax.convert_element_type(lax.ne(a, np.zeros((), dt)), dt), axes)
    if ord == 1:
        return lax.reduce_sum(a, axes)
    p = np.asarray(ord, dt)
    return _root_at_zero_safe(lax.reduce_sum(lax.pow(a, p), axes),
                              lambda s: lax.pow(s, np.asarray(1.0, dt) / p))


def _reduce_extreme(a, axes, reduce, what):
    if any(_shape(a)[i] == 0 for i in axes):
        raise ValueError(f"norm: ord={what} of an empty array is undefined (zero-size array "
                         f"to reduction operation with no identity)")
    return reduce(a, axes)




def _matrix_norm(x, row, col, ord):
    """The matrix norm over axes ``row`` and ``col`` (both reduced away)."""
    if ord in ("fro", "f", None):
        return _root_at_zero_safe(lax.reduce_sum(_abs_squared(x), (row, col)), lax.sqrt)
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(f"norm: the matrix norm ord={ord!r} needs singular values "
                                  f"(an SVD), which funcgrad does not have yet")
    if ord not in (1, -1, math.inf, -math.inf):
        raise ValueError(f"Invalid norm order {ord!r} for matrices")
    a = lax.abs(x)
    # ord=1: largest column sum (sum over rows first); ord=inf: largest row sum.
    first, second = (row, col) if ord in (1, -1) else (col, row)
    sums = lax.reduce_sum(a, (first,))
    second -= second > first
    reduce = lax.reduce_max if ord > 0 else lax.reduce_min
    return _reduce_extreme(sums, (second,), reduce, str(ord))


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm, as ``numpy.linalg.norm``.

    Vector ``ord``: None/2, 1, inf, -inf, 0 or any p; matrix ``ord``:
    None/``'fro'``, 1, -1, inf, -inf (``'nuc'``, 2 and -2 need an SVD and
    raise NotImplementedError).

    >>> norm(jnp.array([[1.0, -2.0], [3.0, 4.0]]), ord=1)
    Array(6., dtype=float64)
    """
    x = _inexact(_op(x, "norm"), "norm")
    shape = _shape(x)
    nd = len(shape)
    if axis is None:
        if ord is None:
            axes = tuple(range(nd))
            return _result(_keep(_vector_norm(x, axes, None), shape, axes, keepdims))
        if nd not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axes = tuple(range(nd))
    else:
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        axes = canonicalize_axes(axes, nd, "norm")
    if len(axes) == 1:
        out = _vector_norm(x, axes, ord)
    elif len(axes) == 2:
        out = _matrix_norm(x, axes[0], axes[1], ord)
    else:
        raise ValueError("Improper number of dimensions to norm.")
    return _result(_keep(out, shape, axes, keepdims))


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """The vector norm over ``axis`` (all axes if None, as one flat vector)."""
    x = _inexact(_op(x, "vector_norm"), "vector_norm")
    shape = _shape(x)
    axes = canonicalize_axes(axis, len(shape), "vector_norm")
    return _result(_keep(_vector_norm(x, axes, ord), shape, axes, keepdims))


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """The matrix norm of the last two axes (``'fro'``, 1, -1, inf, -inf)."""
    x = _inexact(_op(x, "matrix_norm"), "matrix_norm")
    shape = _shape(x)
    if len(shape) < 2:
        raise ValueError("matrix_norm: the input must have at least 2 dimensions")
    axes = (len(shape) - 2, len(shape) - 1)
    return _result(_keep(_matrix_norm(x, *axes, ord), shape, axes, keepdims))


# ------------------------------------------------------------- products
def outer(x1, x2, /):
    """Outer product of two 1-d arrays."""
    for i, x in enumerate((x1, x2)):
        if get_aval(_op(x, "outer")).ndim != 1:
            raise ValueError(f"outer: input {i} must be 1-dimensional, got shape "
                             f"{_shape(_op(x, 'outer'))}")
    return _products.outer(x1, x2)


def matmul(x1, x2, /):
    """Same as :func:`funcgrad.numpy.matmul`."""
    return _products.matmul(x1, x2)


def vecdot(x1, x2, /, *, axis=-1):
    """Same as :func:`funcgrad.numpy.vecdot`."""
    return _products.vecdot(x1, x2, axis=axis)


def tensordot(x1, x2, /, *, axes=2):
    """Same as :func:`funcgrad.numpy.tensordot`."""
    return _products.tensordot(x1, x2, axes)


def cross(x1, x2, /, *, axis=-1):
    """Cross product of 3-vectors along ``axis``."""
    for x in (x1, x2):
        x = _op(x, "cross")
        if _shape(x)[canonicalize_axis(axis, get_aval(x).ndim, "cross")] != 3:
            raise ValueError("linalg.cross: both inputs must be 3-vectors along the axis")
    return _products.cross(x1, x2, axis=axis)


def trace(x, /, *, offset=0, dtype=None):
    """Sum along the diagonals of the last two axes."""
    return _manip.trace(x, offset, -2, -1, dtype=dtype)


def diagonal(x, /, *, offset=0):
    """Diagonals of the last two axes."""
    return _manip.diagonal(x, offset, -2, -1)


def matrix_transpose(x, /):
    """Swap the last two axes."""
    return _products.matrix_transpose(x)


def multi_dot(arrays, *, out=None):
    """Chained matrix product, multiplied in the cheapest order (computed
    from the static shapes).  A 1-d first array is a row, a 1-d last one a
    column.

    >>> multi_dot([jnp.ones(3), jnp.ones((3, 4)), jnp.ones(4)])
    Array(12., dtype=float64)
    """
    if out is not None:
        raise NotImplementedError("multi_dot: the 'out' argument is not supported")
    ops = [_op(a, "multi_dot") for a in arrays]
    if len(ops) < 2:
        raise ValueError("Expecting at least two arrays.")
    first_vec, last_vec = get_aval(ops[0]).ndim == 1, get_aval(ops[-1]).ndim == 1
    if first_vec:
        ops[0] = reshape(ops[0], (1, -1))
    if last_vec:
        ops[-1] = reshape(ops[-1], (-1, 1))
    for o in ops:
        if get_aval(o).ndim != 2:
            raise ValueError(f"multi_dot: {get_aval(o).ndim}-dimensional array given. Array "
                             f"must be two-dimensional")
    dims = [_shape(o)[0] for o in ops] + [_shape(ops[-1])[1]]
    n = len(ops)
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j], split[i][j] = min(
                (cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1], k)
                for k in range(i, j))

    def chain(i, j):
        if i == j:
            return ops[i]
        k = split[i][j]
        return _products.dot(chain(i, k), chain(k + 1, j))

    result = chain(0, n - 1)
    if first_vec or last_vec:
        shape = _shape(result)
        result = reshape(result, tuple(s for s, drop in zip(shape, (first_vec, last_vec),
                                                            strict=True) if not drop))
    return _result(result)


def matrix_power(a, n):
    """``a`` (a stack of square matrices) to the static integer power ``n``
    by repeated squaring; ``n=0`` gives the identity, a negative ``n`` the
    power of the inverse.

    >>> matrix_power(jnp.array([[1, 1], [0, 1]]), 3).tolist()
    [[1, 3], [0, 1]]
    """
    x = _op(a, "matrix_power")
    shape = _shape(x)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"matrix_power: the last two dimensions must be square, got shape "
                         f"{shape}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError("exponent must be an integer")
    n = int(n)
    if n < 0:
        x, n = inv(x), -n
    if n == 0:
        dt = get_aval(x).dtype
        m = shape[-1]
        eye = lax.eq(lax.broadcasted_iota(dtypes.int64, (m, m), 0),
                     lax.broadcasted_iota(dtypes.int64, (m, m), 1))
        return _manip.broadcast_to(lax.convert_element_type(eye, dt), shape)
    z = result = None
    while n > 0:  # NumPy's order of products, for identical rounding
        z = x if z is None else _products.matmul(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else _products.matmul(result, z)
    return _result(result)


# ------------------------------------------------------- factorisations
class EighResult(NamedTuple):
    """The result of :func:`eigh`: ascending eigenvalues, then the
    eigenvectors as the columns of a matrix."""

    eigenvalues: Any
    eigenvectors: Any


class QRResult(NamedTuple):
    """The result of :func:`qr`: ``a = Q @ R``."""

    Q: Any
    R: Any


class SlogdetResult(NamedTuple):
    """The result of :func:`slogdet`: ``det = sign * exp(logabsdet)``."""

    sign: Any
    logabsdet: Any


def _square_stack(a, name: str):
    """An inexact stack of square matrices (ints and bools become float64,
    as in NumPy), with NumPy's LinAlgError for other shapes."""
    x = _inexact(_op(a, name), name)
    shape = _shape(x)
    if len(shape) < 2:
        raise LinAlgError(f"{name}: {len(shape)}-dimensional array given. Array must be at "
                          f"least two-dimensional")
    if shape[-1] != shape[-2]:
        raise LinAlgError(f"{name}: Last 2 dimensions of the array must be square, got shape "
                          f"{shape}")
    return x


def _lu_solve(lu, perm, b):
    """``x`` with ``a @ x = b`` from ``a[..., perm, :] = L @ U`` (``lu`` packed),
    for ``b`` of shape (..., m, k) with the batch axes of ``lu``."""
    pb = _factor._mm(_factor._permutation_matrix(perm, get_aval(b).dtype), b)
    y = lax.triangular_solve(lu, pb, left_side=True, lower=True, unit_diagonal=True)
    return lax.triangular_solve(lu, y, left_side=True, lower=False)


def cholesky(a, /, *, upper: bool = False, symmetrize_input: bool = True):
    """Cholesky factor of Hermitian positive definite matrices: lower ``L``
    with ``a = L @ L^H``, or with ``upper=True`` the upper ``U = L^H`` with
    ``a = U^H @ U``.  A matrix that is not positive definite gives NaN
    (NumPy raises LinAlgError).

    ``symmetrize_input=True`` (JAX's default) factors ``(a + a^H) / 2``, so
    derivatives are symmetric (the gradient of ``log det`` is ``inv(a)``);
    ``symmetrize_input=False`` reads only the lower (``upper=True``: the
    upper) triangle of ``a``, exactly as NumPy does, and derivatives land on
    that triangle.  The two agree in value on Hermitian input.

    >>> cholesky(jnp.array([[4.0, 2.0], [2.0, 5.0]]))
    Array([[2., 0.],
           [1., 2.]], dtype=float64)
    """
    x = _square_stack(a, "cholesky")
    if upper and not symmetrize_input:
        # The lower triangle of a^H is the (conjugated) upper one of a.
        x = _factor._adjoint(x)
    chol = lax.cholesky(x, symmetrize_input=symmetrize_input)
    return _result(_factor._adjoint(chol) if upper else chol)


def qr(a, mode: str = "reduced"):
    """QR decomposition ``a = Q @ R`` of (stacks of) matrices, as
    ``numpy.linalg.qr``: ``mode='reduced'`` (Q is m x min(m, n)),
    ``'complete'`` (Q is m x m) or ``'r'`` (R alone).  Signs follow LAPACK's
    Householder reflections, like NumPy.  Differentiable for m >= n in
    ``'reduced'`` and ``'r'`` modes, and for square matrices.

    >>> qr(jnp.array([[3.0, 0.0], [4.0, 5.0]])).R
    Array([[-5., -4.],
           [ 0.,  3.]], dtype=float64)
    """
    if mode not in ("reduced", "complete", "r"):
        raise NotImplementedError(f"qr: mode {mode!r} is not supported (use 'reduced', "
                                  f"'complete' or 'r')")
    x = _inexact(_op(a, "qr"), "qr")
    if len(_shape(x)) < 2:
        raise LinAlgError(f"qr: {len(_shape(x))}-dimensional array given. Array must be at "
                          f"least two-dimensional")
    q, r = lax.qr(x, full_matrices=mode == "complete")
    return _result(r) if mode == "r" else QRResult(_result(q), _result(r))


def solve(a, b):
    """The solution ``x`` of ``a @ x = b``, by LU decomposition with partial
    pivoting.  ``b`` is a vector if it is 1-d, else a stack of matrices
    ``(..., M, K)`` (NumPy 2's rule); batch axes broadcast.

    >>> solve(jnp.array([[2.0, 1.0], [1.0, 3.0]]), jnp.array([3.0, 5.0]))
    Array([0.8, 1.4], dtype=float64)
    """
    a, b = promote_dtypes_inexact("solve", a, b)
    a = _square_stack(a, "solve")
    a_shape, b_shape = _shape(a), _shape(b)
    m = a_shape[-1]
    if len(b_shape) == 1:
        if b_shape[0] != m:
            raise ValueError(f"solve: b of shape {b_shape} does not match a of shape {a_shape}")
        b = reshape(b, (m, 1))
    elif len(b_shape) < 1 or b_shape[-2] != m:
        raise ValueError(f"solve: b must have shape ({m},) or (..., {m}, K) to match a of shape "
                         f"{a_shape}, got {b_shape}")
    batch = broadcast_shapes("solve", a_shape[:-2], _shape(b)[:-2])
    # Factor a once at its own batch shape, then broadcast the factors.
    lu, _, perm = lax.lu(a)
    lu = _manip.broadcast_to(lu, batch + (m, m))
    perm = _manip.broadcast_to(perm, batch + (m,))
    x = _lu_solve(lu, perm, _manip.broadcast_to(b, batch + _shape(b)[-2:]))
    if len(b_shape) == 1:
        x = reshape(x, batch + (m,))
    return _result(x)


def inv(a):
    """The inverse of square matrices (``solve(a, I)``); a singular matrix
    gives inf/nan (NumPy raises LinAlgError).

    >>> inv(jnp.array([[2.0, 0.0], [0.0, 4.0]]))
    Array([[0.5 , 0.  ],
           [0.  , 0.25]], dtype=float64)
    """
    x = _square_stack(a, "inv")
    shape = _shape(x)
    lu, _, perm = lax.lu(x)
    return _result(_lu_solve(lu, perm, _factor._eye_like(shape, get_aval(x).dtype)))


def _lu_sign_and_diagonal(x):
    """LU factors of ``x``: the sign of the row permutation (+1 or -1, in
    ``x``'s dtype) and the diagonal of ``U``."""
    lu, pivots, _ = lax.lu(x)
    dt = get_aval(x).dtype
    piv_shape = _shape(pivots)
    swaps = lax.ne(pivots, lax.broadcasted_iota(np.int32, piv_shape, len(piv_shape) - 1))
    odd = lax.rem(lax.reduce_sum(lax.convert_element_type(swaps, np.int32),
                                 (len(piv_shape) - 1,)), np.int32(2))
    sign = lax.convert_element_type(lax.sub(np.int32(1), lax.mul(odd, np.int32(2))), dt)
    return sign, _factor._diagonal(lu)


def det(a):
    """Determinant, from the LU decomposition: the product of ``U``'s
    diagonal times the sign of the row permutation.

    >>> det(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
    Array(-2., dtype=float64)
    """
    x = _square_stack(a, "det")
    sign, diag = _lu_sign_and_diagonal(x)
    return _result(lax.mul(sign, lax.reduce_prod(diag, (len(_shape(diag)) - 1,))))


def slogdet(a):
    """Sign and natural logarithm of the absolute value of the determinant,
    as ``SlogdetResult(sign, logabsdet)``; a singular matrix gives sign 0
    and logabsdet -inf.  The sign is +-1 for real input and a unit complex
    number for complex input; ``logabsdet`` is real.

    >>> slogdet(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
    SlogdetResult(sign=Array(-1., dtype=float64), logabsdet=Array(0.69314718, dtype=float64))
    """
    x = _square_stack(a, "slogdet")
    perm_sign, diag = _lu_sign_and_diagonal(x)
    last = (len(_shape(diag)) - 1,)
    absd = lax.abs(diag)
    logabsdet = lax.reduce_sum(lax.log(absd), last)
    if dtypes.is_complex(get_aval(x).dtype):
        zero = lax.eq(absd, lax.full_like(absd, 0))
        safe = lax.select(zero, lax.full_like(absd, 1), absd)
        unit = lax.div(diag, lax.convert_element_type(safe, get_aval(x).dtype))
        unit = lax.select(zero, lax.full_like(diag, 0), unit)
    else:
        unit = lax.sign(diag)
    sign = lax.mul(perm_sign, lax.reduce_prod(unit, last))
    return SlogdetResult(_result(sign), _result(logabsdet))


def _uplo(UPLO, name):
    if UPLO not in ("L", "U", None):
        raise ValueError(f"{name}: UPLO argument must be 'L' or 'U', got {UPLO!r}")
    return UPLO != "U"


def eigh(a, UPLO=None, symmetrize_input: bool = True):
    """Eigenvalues (ascending) and eigenvectors (columns) of Hermitian or
    real symmetric matrices, as ``EighResult(eigenvalues, eigenvectors)``.

    ``symmetrize_input=True`` (JAX's default) decomposes ``(a + a^H) / 2``,
    so derivatives are symmetric; ``symmetrize_input=False`` reads only the
    ``UPLO`` triangle (``'L'``, the default, or ``'U'``) as NumPy does.
    Derivatives of the eigenvectors are inf/nan where eigenvalues repeat.

    >>> eigh(jnp.array([[2.0, 1.0], [1.0, 2.0]])).eigenvalues
    Array([1., 3.], dtype=float64)
    """
    x = _square_stack(a, "eigh")
    v, w = lax.eigh(x, lower=_uplo(UPLO, "eigh"), symmetrize_input=symmetrize_input)
    return EighResult(_result(w), _result(v))


def eigvalsh(a, UPLO=None, symmetrize_input: bool = True):
    """Eigenvalues (ascending) of Hermitian or real symmetric matrices
    (``UPLO`` and ``symmetrize_input`` as for :func:`eigh`).

    >>> eigvalsh(jnp.array([[2.0, 1.0], [1.0, 2.0]]))
    Array([1., 3.], dtype=float64)
    """
    x = _square_stack(a, "eigvalsh")
    return _result(lax.eigh(x, lower=_uplo(UPLO, "eigvalsh"),
                            symmetrize_input=symmetrize_input)[1])


def tensorinv(a, ind=2):
    """The inverse of ``a`` seen as a linear map from its first ``ind``
    axes to the others: ``tensordot(tensorinv(a, ind), a, ind)`` is the
    identity.  ``prod(a.shape[:ind])`` must equal ``prod(a.shape[ind:])``.

    >>> tensorinv(jnp.eye(4).reshape(4, 2, 2), ind=1).shape
    (2, 2, 4)
    """
    x = _op(a, "tensorinv")
    shape = _shape(x)
    if isinstance(ind, bool) or not isinstance(ind, (int, np.integer)) or ind <= 0:
        raise ValueError("Invalid ind argument.")
    ind = int(ind)
    size = math.prod(shape[ind:])
    if math.prod(shape[:ind]) != size:
        raise LinAlgError(f"tensorinv: prod(a.shape[:ind]) must equal prod(a.shape[ind:]), "
                          f"got shape {shape} with ind={ind}")
    return _result(reshape(inv(reshape(x, (size, size))), shape[ind:] + shape[:ind]))


def tensorsolve(a, b, axes=None):
    """The ``x`` with ``tensordot(a, x, x.ndim) == b``, where ``x`` has the
    shape of ``a``'s last ``a.ndim - b.ndim`` axes (after moving ``axes`` to
    the end).

    >>> tensorsolve(jnp.eye(6).reshape(6, 2, 3), jnp.ones(6)).shape
    (2, 3)
    """
    x, y = _op(a, "tensorsolve"), _op(b, "tensorsolve")
    nd = get_aval(x).ndim
    if axes is not None:
        order = [i for i in range(nd) if i not in
                 {canonicalize_axis(k, nd, "tensorsolve") for k in axes}]
        order += [canonicalize_axis(k, nd, "tensorsolve") for k in axes]
        x = _manip.transpose(x, order)
    shape = _shape(x)
    b_nd = get_aval(y).ndim
    x_shape = shape[b_nd:]
    size = math.prod(x_shape)
    if math.prod(shape) != size * size or math.prod(_shape(y)) != size:
        raise LinAlgError(f"tensorsolve: input arrays must satisfy prod(a.shape[b.ndim:]) == "
                          f"prod(a.shape[:b.ndim]) == b.size, got a of shape {shape} and b of "
                          f"shape {_shape(y)}")
    return _result(reshape(solve(reshape(x, (size, size)), reshape(y, (size,))), x_shape))
