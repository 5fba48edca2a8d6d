"""``funcgrad.numpy.linalg``: norms and the products of ``numpy.linalg``.

Available: ``norm``, ``vector_norm``, ``matrix_norm`` (``'fro'``, 1, -1,
inf, -inf), ``outer``, ``matmul``, ``vecdot``, ``tensordot``, ``cross``,
``trace``, ``diagonal``, ``matrix_transpose``, ``multi_dot`` and
``matrix_power`` (non-negative static powers).

Not available yet: the factorisations and everything built on them
(``cholesky``, ``qr``, ``svd``, ``svdvals``, ``eig``, ``eigh``, ``eigvals``,
``eigvalsh``, ``solve``, ``inv``, ``pinv``, ``det``, ``slogdet``, ``lstsq``,
``matrix_rank``, ``cond``, ``tensorinv``, ``tensorsolve``), which need new
primitives; so do the norms that need singular values (``ord='nuc'``, 2, -2
for matrices).

>>> import funcgrad.numpy as jnp
>>> jnp.linalg.norm(jnp.array([3.0, 4.0]))
Array(5., dtype=float64)
"""
from __future__ import annotations

import math

import numpy as np

from funcgrad import lax
from funcgrad.core import dtypes
from funcgrad.core.trace import get_aval
from funcgrad.numpy import manipulation as _manip
from funcgrad.numpy import products as _products
from funcgrad.numpy._util import (canonicalize_axes, canonicalize_axis, promote_dtypes_inexact)
from funcgrad.numpy.manipulation import _op, _result, _shape, reshape

__all__ = [
    "cross", "diagonal", "matmul", "matrix_norm", "matrix_power", "matrix_transpose", "multi_dot",
    "norm", "outer", "tensordot", "trace", "vecdot", "vector_norm",
]

_NEEDS_FACTORISATION = frozenset({
    "cholesky", "qr", "svd", "svdvals", "eig", "eigh", "eigvals", "eigvalsh", "solve", "inv",
    "pinv", "det", "slogdet", "lstsq", "matrix_rank", "cond", "tensorinv", "tensorsolve"})


def __getattr__(name):
    if name in _NEEDS_FACTORISATION:
        raise AttributeError(f"funcgrad.numpy.linalg.{name} is not available yet: it needs a "
                             f"matrix factorisation primitive, which funcgrad does not have")
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


def _vector_norm(x, axes, ord):
    """The norm over ``axes`` of an inexact ``x`` (axes reduced away)."""
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order {ord!r} for vectors")  # noqa: TRY004 (NumPy's)
    dt = _real_dtype(get_aval(x).dtype)
    if ord is None or ord == 2:
        return lax.sqrt(lax.reduce_sum(_abs_squared(x), axes))
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
    return lax.pow(lax.reduce_sum(lax.pow(a, p), axes), np.asarray(1.0, dt) / p)


def _reduce_extreme(a, axes, reduce, what):
    if any(_shape(a)[i] == 0 for i in axes):
        raise ValueError(f"norm: ord={what} of an empty array is undefined (zero-size array "
                         f"to reduction operation with no identity)")
    return reduce(a, axes)




def _matrix_norm(x, row, col, ord):
    """The matrix norm over axes ``row`` and ``col`` (both reduced away)."""
    if ord in ("fro", "f", None):
        return lax.sqrt(lax.reduce_sum(_abs_squared(x), (row, col)))
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
    by repeated squaring; ``n=0`` gives the identity.  Negative powers need
    an inverse and raise NotImplementedError.

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
        raise NotImplementedError("matrix_power: negative powers need a matrix inverse, which "
                                  "funcgrad does not have yet")
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
