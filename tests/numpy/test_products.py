"""funcgrad.numpy products against NumPy, eagerly and staged.

Values are small integers (also in float arrays), so products and sums are
exact in every dtype and any summation order compares equal.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
import funcgrad.numpy as jnp
from funcgrad.numpy import products
from tests.numpy.test_manipulation import DTYPES, Call, axis_st, shape_st
from tests.util import assert_close, check_against_numpy, eager_and_staged


def small(draw, shape, dtype=None):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)) if dtype is None else dtype)
    elements = st.booleans() if dtype == bool else st.integers(-3, 3)
    return draw(hnp.arrays(dtype, shape, elements=elements))


CASES = {}


def case(name):
    def register(fn):
        def wrapped(draw):
            args, call = fn(draw)
            return args, Call(call)
        CASES[name] = st.composite(wrapped)()
        return fn
    return register


@case("dot")
def _dot(draw):
    sa = draw(shape_st(0, 3))
    sb = list(draw(shape_st(0, 3)))
    if sa and sb:
        sb[0 if len(sb) == 1 else -2] = sa[-1]
    return (small(draw, sa), small(draw, tuple(sb))), lambda m, a, b: m.dot(a, b)


@case("matmul")
def _matmul(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=4,
                                                    min_side=0, max_side=3))
    a, b = (small(draw, s) for s in shapes.input_shapes)
    return (a, b), lambda m, a, b: m.matmul(a, b)


@case("vdot")
def _vdot(draw):
    sa = draw(shape_st(0, 3))
    size = int(np.prod(sa))
    sb = draw(st.sampled_from([(size,), (1, size), sa]))
    return (small(draw, sa), small(draw, sb)), lambda m, a, b: m.vdot(a, b)


@case("inner")
def _inner(draw):
    sa, sb = draw(shape_st(0, 3)), list(draw(shape_st(0, 2)))
    if sa and sb:
        sb[-1] = sa[-1]
    return (small(draw, sa), small(draw, tuple(sb))), lambda m, a, b: m.inner(a, b)


@case("outer")
def _outer(draw):
    return (small(draw, draw(shape_st(0, 2))), small(draw, draw(shape_st(0, 2)))), \
        lambda m, a, b: m.outer(a, b)


@case("tensordot")
def _tensordot(draw):
    sa = draw(shape_st(0, 3))
    if draw(st.booleans()):
        n = draw(st.integers(0, len(sa)))
        sb = sa[len(sa) - n:] + draw(shape_st(0, 2))
        axes = n
    else:
        xa = draw(st.lists(st.integers(0, len(sa) - 1), unique=True)) if sa else []
        rest = draw(shape_st(0, 2))
        sb, xb = list(rest), []
        for i in xa:
            pos = draw(st.integers(0, len(sb)))
            sb.insert(pos, sa[i])
            xb = [x + (x >= pos) for x in xb] + [pos]
        axes = (xa, [x - len(sb) * draw(st.booleans()) for x in xb])
    return (small(draw, sa), small(draw, tuple(sb))), lambda m, a, b: m.tensordot(a, b, axes)


@case("kron")
def _kron(draw):
    return (small(draw, draw(shape_st(0, 3, 0, 3))), small(draw, draw(shape_st(0, 3, 0, 3)))), \
        lambda m, a, b: m.kron(a, b)


@case("cross")
def _cross(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    na, nb = draw(st.sampled_from([(3, 3), (2, 3), (3, 2), (2, 2)]))
    dtypes = [np.float64, np.float32, np.int32]
    sa, sb = list(shapes.input_shapes[0]), list(shapes.input_shapes[1])
    ia, ib = draw(st.integers(0, len(sa))), draw(st.integers(0, len(sb)))
    sa.insert(ia, na), sb.insert(ib, nb)
    a, b = small(draw, tuple(sa), draw(st.sampled_from(dtypes))), small(
        draw, tuple(sb), draw(st.sampled_from(dtypes)))
    out_nd = len(np.broadcast_shapes(shapes.input_shapes[0], shapes.input_shapes[1])) + 1
    axisc = draw(axis_st(out_nd))
    return (a, b), lambda m, a, b: m.cross(a, b, axisa=ia - len(sa), axisb=ib, axisc=axisc)


@case("matrix_transpose")
def _matrix_transpose(draw):
    return (small(draw, draw(shape_st(2, 4))),), lambda m, x: m.matrix_transpose(x)


@case("vecdot")
def _vecdot(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, min_side=0))
    n = draw(st.integers(0, 3))
    sa, sb = shapes.input_shapes[0] + (n,), shapes.input_shapes[1] + (n,)
    return (small(draw, sa), small(draw, sb)), lambda m, a, b: m.vecdot(a, b)


@st.composite
def einsum_args(draw):
    """Random subscripts: 1-3 operands, repeated labels within and across
    operands, labels summed away, size-1 broadcasting, ellipses, implicit or
    explicit (permuted, partial) outputs."""
    labels = draw(st.lists(st.sampled_from("abcdeAB"), min_size=1, max_size=5, unique=True))
    sizes = {lab: draw(st.integers(0, 3)) for lab in labels}
    use_ellipsis = draw(st.integers(0, 3)) == 0
    ell_shape = draw(shape_st(0, 2, 1, 3)) if use_ellipsis else ()
    terms, arrays_ = [], []
    for _ in range(draw(st.integers(1, 3))):
        labs = draw(st.lists(st.sampled_from(labels), max_size=3))
        shape = [1 if labs.count(lab) == 1 and draw(st.integers(0, 5)) == 0 else sizes[lab]
                 for lab in labs]
        term = "".join(labs)
        if use_ellipsis:
            k = draw(st.integers(0, len(ell_shape)))
            ell = [1 if draw(st.booleans()) else s for s in ell_shape[len(ell_shape) - k:]]
            pos = draw(st.integers(0, len(labs)))
            term, shape = term[:pos] + "..." + term[pos:], shape[:pos] + ell + shape[pos:]
        terms.append(term)
        arrays_.append(small(draw, tuple(shape)))
    subscripts = ",".join(terms)
    if draw(st.booleans()):
        used = sorted({c for t in terms for c in t if c != "."})
        out = draw(st.permutations(used))[:draw(st.integers(0, len(used)))]
        out = list(out)
        if use_ellipsis:
            out.insert(draw(st.integers(0, len(out))), "...")
        subscripts += "->" + "".join(out)
    return subscripts, arrays_


@case("einsum")
def _einsum(draw):
    subscripts, ops = draw(einsum_args())
    return ops, lambda m, *ops: m.einsum(subscripts, *ops)


@pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors:DeprecationWarning")
@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_against_numpy(name, data):
    args, call = data.draw(CASES[name], label="args")
    check_against_numpy(lambda *a: call(jnp, *a), lambda *a: call(np, *a), *args)


def test_every_public_function_is_tested():
    assert set(products.__all__) == set(CASES)


# ------------------------------------------------------------ other checks
@given(st.integers(0, 10**6))
def test_float_values(seed):
    """General (non-integer) floats, compared with a tolerance."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5)).astype(np.float32)
    assert_close(eager_and_staged(jnp.matmul, a, b), a @ b)
    assert_close(eager_and_staged(lambda a, b: jnp.einsum("ijk,kl->li", a, b), a, b),
                 np.einsum("ijk,kl->li", a, b), rtol=1e-10)


def test_complex_conjugation():
    a = np.array([1 + 2j, 3 - 1j])
    b = np.array([2 - 1j, 1j])
    check_against_numpy(jnp.vdot, np.vdot, a, b)
    check_against_numpy(jnp.vecdot, np.vecdot, a, b)


def test_python_scalars_are_strong():
    """NumPy converts Python scalars to float64/int64 arrays in these
    functions (they are not ufuncs), unlike in arithmetic."""
    x = np.ones(2, np.float32)
    for f in ("dot", "inner", "outer", "kron"):
        check_against_numpy(lambda x, f=f: getattr(jnp, f)(x, 2.0),
                            lambda x, f=f: getattr(np, f)(x, 2.0), x)
    check_against_numpy(lambda x: jnp.einsum("i,->i", x, 2.0),
                        lambda x: np.einsum("i,->i", x, 2.0), x)


def test_operators_and_methods():
    rng = np.random.default_rng(0)
    x, y = jnp.asarray(rng.normal(size=(3, 4))), jnp.asarray(rng.normal(size=(4, 2)))
    ex, ey = np.asarray(x), np.asarray(y)
    check_against_numpy(lambda a, b: a @ b, lambda a, b: a @ b, x, y)
    assert_close(ex @ y, ex @ ey)           # NumPy array on the left: __rmatmul__
    check_against_numpy(lambda a: a.T @ a, lambda a: a.T @ a, x)
    check_against_numpy(lambda a, b: a.dot(b), lambda a, b: a.dot(b), x, y)


def test_einsum_forms():
    x, y = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    assert_close(jnp.einsum(x, [0, 1], y, [1, 2], [2, 0]), np.einsum(x, [0, 1], y, [1, 2], [2, 0]))
    assert_close(jnp.einsum(x, [0, Ellipsis]), np.einsum(x, [0, Ellipsis]))
    assert_close(jnp.einsum("ij, jk", x, y, optimize=True), x @ y)
    assert_close(jnp.einsum("ii->i", np.arange(9).reshape(3, 3)), np.arange(9)[::4])
    assert_close(jnp.einsum("iii", np.ones((2, 2, 2))), np.float64(2.0))
    # one dot_general per pairwise contraction
    jaxpr = funcgrad.make_jaxpr(lambda a, b, c: jnp.einsum("ij,jk,kl", a, b, c))(x, y, y.T)
    assert str(jaxpr).count("dot_general") == 2


def test_errors():
    with pytest.raises(ValueError, match="not aligned"):
        jnp.dot(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="matmul"):
        jnp.matmul(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="enough dimensions"):
        jnp.matmul(np.float64(1.0), np.ones(2))
    with pytest.raises(ValueError, match="differs between operands"):
        jnp.einsum("i,i", np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="does not appear"):
        jnp.einsum("i->j", np.ones(2))
    with pytest.raises(ValueError, match="dimension must be 2 or 3"):
        jnp.cross(np.ones(4), np.ones(3))
