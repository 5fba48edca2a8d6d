"""funcgrad.numpy.linalg against numpy.linalg, eagerly and staged."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad.numpy as jnp
from funcgrad.numpy import linalg
from tests.numpy.test_manipulation import DTYPES, Call, shape_st
from tests.numpy.test_products import small
from tests.util import arrays, check_against_numpy

INF = np.inf
VECTOR_ORDS = [None, 2, 1, INF, -INF, 0, 3, 0.5, -1, -2]
MATRIX_ORDS = [None, "fro", 1, -1, INF, -INF]

CASES = {}


def case(name):
    def register(fn):
        def wrapped(draw):
            args, call = fn(draw)
            return args, Call(call)
        CASES.setdefault(name, []).append(st.composite(wrapped)())
        return fn
    return register


def values(draw, shape, dtypes=DTYPES):
    return draw(arrays(draw(st.sampled_from(dtypes)), shape))


@case("norm")
def _norm_vector(draw):
    x = values(draw, draw(shape_st(1, 1, 1)))
    ord_, axis = draw(st.sampled_from(VECTOR_ORDS)), draw(st.sampled_from([None, 0, -1]))
    keepdims = draw(st.booleans())
    return (x,), lambda m, x: m.linalg.norm(x, ord_, axis, keepdims)


@case("norm")
def _norm_matrix(draw):
    x = values(draw, draw(shape_st(2, 2, 1)))
    ord_ = draw(st.sampled_from(MATRIX_ORDS))
    axis = draw(st.sampled_from([None, (0, 1), (1, 0), (-1, 0)]))
    keepdims = draw(st.booleans())
    return (x,), lambda m, x: m.linalg.norm(x, ord_, axis, keepdims)


@case("norm")
def _norm_nd(draw):
    x = values(draw, draw(shape_st(0, 4, 1)))
    nd = x.ndim
    if nd >= 2 and draw(st.booleans()):
        axis = tuple(draw(st.lists(st.integers(0, nd - 1), min_size=2, max_size=2, unique=True)))
        ord_ = draw(st.sampled_from(MATRIX_ORDS))
    elif nd:
        axis, ord_ = draw(st.integers(-nd, nd - 1)), draw(st.sampled_from(VECTOR_ORDS))
    else:
        axis, ord_ = None, None
    keepdims = draw(st.booleans())
    return (x,), lambda m, x: m.linalg.norm(x, ord_, axis, keepdims)


@case("vector_norm")
def _vector_norm(draw):
    x = values(draw, draw(shape_st(0, 3, 1)))
    axis = draw(st.none() | st.lists(st.integers(0, x.ndim - 1), unique=True, min_size=1).map(
        tuple)) if x.ndim else None
    ord_, keepdims = draw(st.sampled_from(VECTOR_ORDS[1:])), draw(st.booleans())
    return (x,), lambda m, x: m.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord_)


@case("matrix_norm")
def _matrix_norm(draw):
    x = values(draw, draw(shape_st(2, 4, 1)))
    ord_, keepdims = draw(st.sampled_from(MATRIX_ORDS[1:])), draw(st.booleans())
    return (x,), lambda m, x: m.linalg.matrix_norm(x, keepdims=keepdims, ord=ord_)


@case("outer")
def _outer(draw):
    return (small(draw, draw(shape_st(1, 1))), small(draw, draw(shape_st(1, 1)))), \
        lambda m, a, b: m.linalg.outer(a, b)


@case("matmul")
def _matmul(draw):
    n, k, p = (draw(st.integers(0, 3)) for _ in range(3))
    batch = draw(shape_st(0, 2))
    return (small(draw, batch + (n, k)), small(draw, (k, p))), lambda m, a, b: m.linalg.matmul(a, b)


@case("vecdot")
def _vecdot(draw):
    shape = draw(shape_st(1, 3))
    axis = draw(st.integers(-len(shape), -1))
    return (small(draw, shape), small(draw, shape[1:] if len(shape) > -axis else shape)), \
        lambda m, a, b: m.linalg.vecdot(a, b, axis=axis)


@case("tensordot")
def _tensordot(draw):
    sa = draw(shape_st(0, 3))
    n = draw(st.integers(0, len(sa)))
    sb = sa[len(sa) - n:] + draw(shape_st(0, 2))
    return (small(draw, sa), small(draw, sb)), lambda m, a, b: m.linalg.tensordot(a, b, axes=n)


@case("cross")
def _cross(draw):
    batch = draw(shape_st(0, 2))
    dtypes = [np.float64, np.float32, np.int32]
    a, b = (small(draw, batch + (3,), draw(st.sampled_from(dtypes))) for _ in range(2))
    return (a, b), lambda m, a, b: m.linalg.cross(a, b)


@case("trace")
def _trace(draw):
    x = small(draw, draw(shape_st(2, 4)))
    offset, dtype = draw(st.integers(-3, 3)), draw(st.sampled_from([None, np.float32]))
    return (x,), lambda m, x: m.linalg.trace(x, offset=offset, dtype=dtype)


@case("diagonal")
def _diagonal(draw):
    x = small(draw, draw(shape_st(2, 4)))
    offset = draw(st.integers(-3, 3))
    return (x,), lambda m, x: m.linalg.diagonal(x, offset=offset)


@case("matrix_transpose")
def _matrix_transpose(draw):
    return (small(draw, draw(shape_st(2, 4))),), lambda m, x: m.linalg.matrix_transpose(x)


@case("multi_dot")
def _multi_dot(draw):
    dims = draw(st.lists(st.integers(1, 4), min_size=3, max_size=5))
    first_vec, last_vec = draw(st.booleans()), draw(st.booleans())
    dtype = draw(st.sampled_from(DTYPES[:3]))
    ops = [small(draw, (dims[i], dims[i + 1]), dtype) for i in range(len(dims) - 1)]
    if first_vec:
        ops[0] = ops[0][0]
    if last_vec:
        ops[-1] = ops[-1][:, 0]
    return ops, lambda m, *ops: m.linalg.multi_dot(list(ops))


@case("matrix_power")
def _matrix_power(draw):
    n = draw(st.integers(0, 3))
    x = small(draw, draw(shape_st(0, 2)) + (n, n))
    power = draw(st.integers(0, 6))
    return (x,), lambda m, x: m.linalg.matrix_power(x, power)


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_against_numpy(name, data):
    args, call = data.draw(st.one_of(CASES[name]), label="args")
    with np.errstate(all="ignore"):
        check_against_numpy(lambda *a: call(jnp, *a), lambda *a: call(np, *a), *args)


# Factorisation-based functions and their result types are tested in
# test_linalg_factor.py.
FACTORISATIONS = {"cholesky", "det", "eigh", "eigvalsh", "inv", "qr", "slogdet", "solve",
                  "tensorinv", "tensorsolve"}
RESULT_TYPES = {"EighResult", "LinAlgError", "QRResult", "SlogdetResult"}


def test_every_public_function_is_tested():
    assert set(linalg.__all__) == set(CASES) | FACTORISATIONS | RESULT_TYPES
    factor_tests = (Path(__file__).parent / "test_linalg_factor.py").read_text()
    untested = [n for n in FACTORISATIONS if f"linalg.{n}(" not in factor_tests]
    assert not untested, untested


def test_unsupported():
    x = np.eye(3)
    for ord_ in ("nuc", 2, -2):
        with pytest.raises(NotImplementedError, match="SVD"):
            jnp.linalg.norm(x, ord_)
    with pytest.raises(ValueError, match="Invalid norm order"):
        jnp.linalg.norm(np.ones(3), "fro")
    with pytest.raises(ValueError, match="Improper number of dimensions"):
        jnp.linalg.norm(np.ones((2, 2, 2)), 1)


@pytest.mark.parametrize("ord_, shape", [(None, (3,)), (2, (3,)), (3, (3,)), ("fro", (2, 2))])
def test_norm_gradient_at_zero_is_the_zero_subgradient(ord_, shape):
    """Deliberately unlike JAX (which returns nan): the norm is not
    differentiable at 0 and funcgrad picks the zero subgradient, as abs does,
    so norm(x) ** 2 gets its correct gradient 0 there."""
    import funcgrad
    zeros = np.zeros(shape)
    g = funcgrad.grad(lambda x: jnp.linalg.norm(x, ord_))(zeros)
    np.testing.assert_array_equal(np.asarray(g), zeros)
    g2 = funcgrad.grad(lambda x: jnp.linalg.norm(x, ord_) ** 2)(zeros)
    np.testing.assert_array_equal(np.asarray(g2), zeros)
    # Away from 0 the gradient is x |x|^(p-2) / ||x||^(p-1) (p = 2 for fro).
    x = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)
    p = 2 if ord_ in (None, "fro") else ord_
    n = np.sum(np.abs(x) ** p) ** (1 / p)
    expected = x * np.abs(x) ** (p - 2) / n ** (p - 1)
    np.testing.assert_allclose(np.asarray(funcgrad.grad(lambda v: jnp.linalg.norm(v, ord_))(x)),
                               expected, rtol=1e-12)
