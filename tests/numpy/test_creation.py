"""funcgrad.numpy array creation and dtype utilities against NumPy, eagerly
and staged through make_jaxpr/eval_jaxpr."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad.numpy import creation, dtypes_api
from tests.util import assert_close, check_against_numpy, eager_and_staged

SOME = settings(max_examples=max(5, settings.default.max_examples // 2))
DTYPES = [None, np.float32, np.float64, np.int32, np.int64, np.bool_, np.complex64, np.uint8]


def static(f):
    """``f()`` eagerly and staged (no arguments: everything is a constant)."""
    return eager_and_staged(f)


# ------------------------------------------------------- filled arrays
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), 3, (2, 3), (0, 2), [1, 2, 1]])
def test_zeros_ones_empty_full(shape, dtype):
    for name in ["zeros", "ones", "empty"]:
        out = static(lambda: getattr(jnp, name)(shape, dtype))
        expected = getattr(np, name)(shape, dtype)
        assert out.shape == expected.shape and out.dtype == expected.dtype
        if name != "empty":
            assert_close(out, expected)
    assert_close(static(lambda: jnp.full(shape, 7, dtype)), np.full(shape, 7, dtype))
    assert_close(static(lambda: jnp.full(shape, 2.5)), np.full(shape, 2.5))


@pytest.mark.parametrize("dtype", DTYPES)
def test_like_functions(dtype):
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    for name in ["zeros_like", "ones_like"]:
        check_against_numpy(lambda a: getattr(jnp, name)(a, dtype), getattr(np, name)
                            if dtype is None else lambda a: getattr(np, name)(a, dtype), a)
        check_against_numpy(lambda a: getattr(jnp, name)(a, dtype, shape=(4,)),
                            lambda a: getattr(np, name)(a, dtype, shape=(4,)), a)
    check_against_numpy(lambda a: jnp.full_like(a, 2.7, dtype),
                        lambda a: np.full_like(a, 2.7, dtype), a)
    out = eager_and_staged(lambda a: jnp.empty_like(a, dtype), a)
    assert out.shape == a.shape and out.dtype == np.empty_like(a, dtype).dtype
    assert jnp.zeros_like(3.0).dtype == np.zeros_like(3.0).dtype
    assert not jnp.zeros_like(3.0).weak_type


def test_full_with_traced_and_array_fill():
    check_against_numpy(lambda v: jnp.full((2, 3), v), lambda v: np.full((2, 3), v),
                        np.float32(1.5))
    check_against_numpy(lambda v: jnp.full((2, 3), v), lambda v: np.full((2, 3), v),
                        np.array([1.0, 2.0, 3.0]))
    check_against_numpy(lambda v: jnp.full((2,), v, np.int32), lambda v: np.full((2,), v, np.int32),
                        2.9)
    check_against_numpy(lambda v: jnp.full_like(np.zeros(3, np.float32), v),
                        lambda v: np.full_like(np.zeros(3, np.float32), v), 0.25)
    closed = funcgrad.make_jaxpr(lambda: jnp.zeros((1000, 1000)))()
    assert not closed.consts, "zeros must be staged as a broadcast, not a constant"


def test_shape_errors():
    with pytest.raises(ValueError, match="negative"):
        jnp.zeros(-1)
    with pytest.raises(TypeError, match="shape"):
        jnp.ones("abc")
    with pytest.raises(TypeError, match="static"):
        funcgrad.make_jaxpr(lambda n: jnp.zeros(n))(3)
    with pytest.raises(TypeError):
        jnp.zeros(3, dtype=np.float128 if hasattr(np, "float128") else object)


# ---------------------------------------------------------------- array
@pytest.mark.parametrize("obj", [1, 2.5, True, 1j, [1, 2, 3], [[1.0, 2], [3, 4]], (1, 2.5),
                                 [[True], [False]], np.arange(3, dtype=np.uint8), [], [[]]])
@pytest.mark.parametrize("dtype", [None, np.float32, np.int64])
def test_array_and_asarray(obj, dtype):
    for ours, ref in [(jnp.array, np.array), (jnp.asarray, np.asarray)]:
        try:
            expected = ref(obj, dtype=dtype)
        except TypeError:
            with pytest.raises(TypeError):
                ours(obj, dtype=dtype)
            continue
        out = ours(obj, dtype=dtype)
        assert_close(out, expected)
        assert not out.weak_type
    assert_close(jnp.array(obj, ndmin=3), np.array(obj, ndmin=3))


def test_array_of_traced_elements():
    def f(x, y):
        return jnp.array([[x, 2.0 * x], [y, 1.0]])
    check_against_numpy(f, lambda x, y: np.array([[x, 2.0 * x], [y, 1.0]]), 1.5, np.float64(-2.0))
    out = eager_and_staged(lambda x: jnp.array([x, x + 1]), np.float32(2.0))
    assert out.dtype == np.float32  # Python scalars in the list are weak
    vecs = eager_and_staged(lambda a, b: jnp.array([a, b], dtype=np.float32), np.ones(3),
                            np.zeros(3))
    assert_close(vecs, np.array([np.ones(3), np.zeros(3)], np.float32))
    with pytest.raises(ValueError, match="ragged"):
        funcgrad.make_jaxpr(lambda a: jnp.array([a, [1.0, 2.0]]))(np.ones(3))


def test_array_errors_and_copies():
    with pytest.raises((TypeError, ValueError)):
        jnp.array([[1, 2], [3]])
    with pytest.raises(TypeError):
        jnp.array("text")
    x = np.arange(3.0)
    a = jnp.array(x)
    x[0] = 100.0
    assert float(a[0]) == 0.0, "array() must copy a NumPy input"
    assert jnp.asarray(a) is a
    assert_close(jnp.copy(a), np.arange(3.0))
    assert jnp.asarray(a, dtype=np.float32).dtype == np.float32
    with pytest.raises(NotImplementedError):
        jnp.array(x, order="F")


# ---------------------------------------------------------------- ranges
numbers = st.one_of(st.integers(-20, 20), st.floats(-20, 20).map(lambda v: round(v, 2)))


@SOME
@given(start=numbers, stop=st.one_of(st.none(), numbers), step=st.one_of(st.none(), numbers),
       dtype=st.sampled_from([None, np.float32, np.float64, np.int32, np.int64]))
def test_arange(start, stop, step, dtype):
    if step == 0:
        return
    if stop is None:
        args = (start,) if step is None else (0, start, step)
    else:
        args = (start, stop) if step is None else (start, stop, step)
    try:
        with np.errstate(all="ignore"):
            expected = np.arange(*args, dtype=dtype)
    except (ValueError, TypeError):
        return
    if expected.size > 10_000:
        return
    out = static(lambda: jnp.arange(*args, dtype=dtype))
    assert_close(out, expected, rtol=1e-5 if out.dtype == np.float32 else 1e-12)


def test_arange_misc():
    assert_close(jnp.arange(5), np.arange(5))
    assert_close(jnp.arange(np.int32(5)), np.arange(np.int32(5)))
    assert_close(jnp.arange(0.0, 1.0, 0.1), np.arange(0.0, 1.0, 0.1))
    assert_close(jnp.arange(10, 0, -3), np.arange(10, 0, -3))
    assert_close(jnp.arange(2, dtype=bool), np.arange(2, dtype=bool))
    with pytest.raises(ZeroDivisionError):
        jnp.arange(0, 5, 0)
    with pytest.raises(TypeError, match="static"):
        funcgrad.make_jaxpr(lambda n: jnp.arange(n))(3)


@SOME
@given(num=st.integers(0, 7), endpoint=st.booleans(), retstep=st.booleans(),
       dtype=st.sampled_from([None, np.float32, np.int64]),
       kind=st.sampled_from(["scalar", "f32", "array"]), axis=st.sampled_from([0, -1]))
def test_linspace(num, endpoint, retstep, dtype, kind, axis):
    if kind == "scalar":
        start, stop = -1.5, 4.0
    elif kind == "f32":
        start, stop = np.float32(-1.5), np.float32(3.0)
    else:
        start, stop = np.array([0.0, 1.0, -2.0]), np.array([[1.0], [5.0]])

    def ours(a, b):
        return jnp.linspace(a, b, num, endpoint=endpoint, retstep=retstep, dtype=dtype, axis=axis)

    def ref(a, b):
        with np.errstate(all="ignore"):
            return np.linspace(a, b, num, endpoint=endpoint, retstep=retstep, dtype=dtype,
                               axis=axis)
    if retstep:
        out, step = eager_and_staged(ours, start, stop)
        exp_out, exp_step = ref(start, stop)
        assert_close(out, exp_out)
        assert_close(step, np.broadcast_to(exp_step, np.shape(step)), check_dtype=False)
    else:
        check_against_numpy(ours, ref, start, stop)


@pytest.mark.parametrize("base", [10.0, 2.0, np.array([2.0, 3.0])])
@pytest.mark.parametrize("dtype", [None, np.float32])
def test_logspace(base, dtype):
    check_against_numpy(lambda a, b: jnp.logspace(a, b, 5, base=base, dtype=dtype),
                        lambda a, b: np.logspace(a, b, 5, base=base, dtype=dtype), 0.0, 2.0)
    check_against_numpy(lambda a, b: jnp.logspace(a, b, 4, endpoint=False, base=base, axis=-1),
                        lambda a, b: np.logspace(a, b, 4, endpoint=False, base=base, axis=-1),
                        np.array([0.0, 1.0]), 3.0)


@pytest.mark.parametrize("start,stop", [(1.0, 1000.0), (-1.0, -100.0), (2, 32),
                                        (np.float32(1), np.float32(8)),
                                        (np.array([1.0, 10.0]), 1e4)])
@pytest.mark.parametrize("endpoint", [True, False])
def test_geomspace(start, stop, endpoint):
    check_against_numpy(lambda a, b: jnp.geomspace(a, b, 4, endpoint=endpoint),
                        lambda a, b: np.geomspace(a, b, 4, endpoint=endpoint), start, stop)
    assert_close(jnp.geomspace(1, 8, 4, dtype=np.float32), np.geomspace(1, 8, 4, dtype=np.float32))
    with pytest.raises(ValueError):
        jnp.geomspace(0.0, 1.0, 3)


# ---------------------------------------------------------------- matrices
@pytest.mark.parametrize("N,M,k", [(3, None, 0), (2, 4, 1), (4, 2, -1), (3, 3, 5), (0, 2, 0),
                                   (1, 1, 0), (3, 5, -4)])
@pytest.mark.parametrize("dtype", [None, np.int32, np.bool_, np.float32])
def test_eye_tri_identity(N, M, k, dtype):
    assert_close(static(lambda: jnp.eye(N, M, k, dtype)), np.eye(N, M, k, dtype))
    assert_close(static(lambda: jnp.eye(N, M, k=k, dtype=dtype)), np.eye(N, M, k=k, dtype=dtype))
    assert_close(static(lambda: jnp.tri(N, M, k, dtype)), np.tri(N, M, k, dtype))
    assert_close(static(lambda: jnp.identity(N, dtype)), np.identity(N, dtype))


@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_meshgrid(indexing, sparse, n):
    xs = [np.arange(i + 2, dtype=np.float32) * (i + 1) for i in range(n)]
    out = eager_and_staged(lambda *a: jnp.meshgrid(*a, indexing=indexing, sparse=sparse), *xs)
    expected = np.meshgrid(*xs, indexing=indexing, sparse=sparse)
    assert isinstance(out, tuple) and len(out) == len(expected)
    for o, e in zip(out, expected, strict=True):
        assert_close(o, e)
    with pytest.raises(ValueError):
        jnp.meshgrid(*xs, indexing="yx")


@pytest.mark.parametrize("dims", [(2, 3), (4,), (2, 1, 3), ()])
@pytest.mark.parametrize("sparse", [False, True])
def test_indices_fromfunction(dims, sparse):
    out = jnp.indices(dims, sparse=sparse)
    expected = np.indices(dims, sparse=sparse)
    if sparse:
        for o, e in zip(out, expected, strict=True):
            assert_close(o, e)
    else:
        assert_close(out, expected)
    if dims:
        assert_close(jnp.fromfunction(lambda *i: sum(i), dims),
                     np.fromfunction(lambda *i: sum(i), dims))
        assert_close(jnp.fromfunction(lambda *i: i[0] * 2, dims, dtype=np.int32),
                     np.fromfunction(lambda *i: i[0] * 2, dims, dtype=np.int32))


# ------------------------------------------------------------- dtypes API
def test_scalar_types():
    assert np.dtype(jnp.float32) == np.float32
    assert jnp.float32 == np.float32 and jnp.dtype("float32") == jnp.float32
    assert np.zeros(2, jnp.int16).dtype == np.int16
    x = jnp.float32(3)
    assert x.dtype == np.float32 and float(x) == 3.0 and x.shape == ()
    assert_close(jnp.int32([1.7, -2.5]), np.array([1, -2], np.int32))
    out = eager_and_staged(lambda v: jnp.float16(v) * 2, 1.5)
    assert out.dtype == np.float16
    assert isinstance(np.float32(1), jnp.float32)
    assert jnp.float_ is jnp.float64 and jnp.int_ is jnp.int64 and jnp.bool is jnp.bool_
    assert jnp.zeros(2, jnp.bool).dtype == np.bool_
    assert "float32" in repr(jnp.float32)


@pytest.mark.parametrize("args,expected", [
    ((jnp.float32, 2.0), np.float32), ((np.int32, 2.5), np.float64), ((1, 2.0), np.float64),
    ((np.int8, np.uint8), np.int16), ((np.ones(2, np.float32), np.ones(2)), np.float64),
    ((np.ones(2, np.float32), 3), np.float32), ((True, 1), np.int64), ((np.bool_, 1.0), np.float64),
    (("float16", 1j), np.complex64), ((jnp.ones(2, jnp.int32), np.int64), np.int64),
    ((float,), np.float64), ((np.uint8, -1), np.uint8),
])
def test_result_type(args, expected):
    assert jnp.result_type(*args) == expected
    if not any(isinstance(a, type) and a.__module__ == "funcgrad.numpy" for a in args):
        plain = [np.asarray(a) if isinstance(a, funcgrad.Array) else a for a in args]
        if not (len(args) == 2 and isinstance(args[1], int) and args[1] == -1):
            assert np.result_type(*plain) == expected


def test_result_type_traced_weak():
    def f(x):
        assert jnp.result_type(x, 1.0) == np.float32
        return x
    eager_and_staged(f, np.ones(2, np.float32))


def test_dtype_utilities():
    assert jnp.promote_types(jnp.int8, jnp.uint8) == np.int16
    assert jnp.promote_types("float32", np.int64) == np.float64
    assert jnp.can_cast(np.int32, np.float64) and not jnp.can_cast(np.float64, np.int32)
    assert jnp.can_cast(jnp.float64, jnp.int32, casting="unsafe")
    assert jnp.can_cast(jnp.ones(2, jnp.int8), jnp.int16)
    assert jnp.issubdtype(jnp.float32, jnp.floating) and not jnp.issubdtype(jnp.int32, jnp.floating)
    assert jnp.issubdtype(np.dtype("int8"), jnp.signedinteger)
    assert jnp.issubdtype(jnp.ones(2).dtype, np.inexact)
    assert jnp.isdtype(jnp.float32, "real floating") and jnp.isdtype(np.int8, ("integral", "bool"))
    assert jnp.finfo(jnp.float32).eps == np.finfo(np.float32).eps
    assert jnp.finfo(jnp.ones(2)).max == np.finfo(np.float64).max
    assert jnp.iinfo(jnp.int8).max == 127 and jnp.iinfo(np.uint16).max == 65535
    assert jnp.iscomplexobj(np.ones(2, np.complex64)) and not jnp.iscomplexobj([1.0])
    assert jnp.isrealobj(jnp.ones(3)) and not jnp.isrealobj(1j)
    assert jnp.isscalar(1.0) and jnp.isscalar(jnp.asarray(1.0)) and not jnp.isscalar([1.0])
    assert jnp.shape([[1, 2, 3], [4, 5, 6]]) == (2, 3) and jnp.ndim(3.0) == 0
    assert jnp.size(np.ones((2, 5))) == 10 and jnp.size(np.ones((2, 5)), axis=-1) == 5


@pytest.mark.parametrize("src", [np.float64, np.float32, np.int32, np.bool_, np.complex128])
@pytest.mark.parametrize("dst", [np.float32, np.int64, np.uint8, np.bool_, jnp.float16])
def test_astype(src, dst):
    x = np.array([0, 1.7, -2.5, 3, 250]).astype(src)
    with np.errstate(all="ignore"):
        expected = x.real.astype(dst) if np.dtype(src).kind == "c" else x.astype(dst)
    if np.dtype(src).kind in "fc" and np.dtype(dst).kind == "u":
        x = np.abs(x).astype(src)  # float -> unsigned of negatives is undefined in C
        expected = x.real.astype(dst)
    check_against_numpy(lambda x: jnp.astype(x, dst), lambda x: expected, x)
    check_against_numpy(lambda x: jnp.asarray(x).astype(dst), lambda x: expected, x)


def test_docstring_examples():
    import doctest
    for module in (creation, dtypes_api):
        result = doctest.testmod(module, extraglobs={"jnp": jnp, "np": np},
                                 optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, f"{result.failed} docstring examples of {module.__name__} failed"
        assert result.attempted > 0
