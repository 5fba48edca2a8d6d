"""funcgrad.numpy elementwise functions against NumPy's functions of the same
name: values, dtypes (weak Python scalars included), broadcasting, eagerly
and staged through make_jaxpr/eval_jaxpr; plus Array operators and errors."""
import functools
import operator
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
import funcgrad.numpy as jnp
from funcgrad.numpy import ufuncs
from tests.util import assert_close, check_against_numpy, eager_and_staged

TABLE = settings(max_examples=max(4, settings.default.max_examples // 3))

F = [np.dtype(np.float32), np.dtype(np.float64)]
I = [np.dtype(np.int32), np.dtype(np.int64)]  # noqa: E741
B = [np.dtype(np.bool_)]
GROUPS = {"f": F, "i": I, "b": B}
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -2.5]


def _bound(x, dtype, up):
    """``x`` as a value of ``dtype`` inside the domain (rounded inwards)."""
    v = dtype.type(x)
    if float(v) != x:
        v = np.nextafter(v, dtype.type(np.inf if up else -np.inf))
    return float(v)


def elements(dtype, lo, hi, special=False):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return st.integers(max(int(np.ceil(lo)), info.min), min(int(np.floor(hi)), info.max))
    finite = st.floats(_bound(lo, dtype, True), _bound(hi, dtype, False),
                       width=dtype.itemsize * 8)
    return st.one_of(finite, st.sampled_from(SPECIAL)) if special else finite


def array_of(draw, dtype, shape, lo, hi, special=False):
    return draw(hnp.arrays(dtype, shape, elements=elements(dtype, lo, hi, special)))


def quiet_numpy(fn):
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    return wrapped


# name, domain, dtype groups, special values (nan/inf/zeros) allowed
UNARY = [
    ("negative", (-10, 10), "fi", True), ("positive", (-10, 10), "fi", True),
    ("absolute", (-10, 10), "fib", True), ("abs", (-10, 10), "fib", True),
    ("fabs", (-10, 10), "fi", True), ("sign", (-10, 10), "fi", True),
    ("square", (-10, 10), "fib", True), ("reciprocal", (0.5, 10), "f", False),
    ("sqrt", (0, 10), "fib", False), ("cbrt", (-10, 10), "fib", True),
    ("exp", (-5, 5), "fib", True), ("exp2", (-5, 5), "fib", True),
    ("expm1", (-5, 5), "fib", True), ("log", (0.125, 10), "fi", False),
    ("log2", (0.125, 10), "fi", False), ("log10", (0.125, 10), "fi", False),
    ("log1p", (-0.875, 10), "fi", False), ("sin", (-10, 10), "fib", True),
    ("cos", (-10, 10), "fib", True), ("tan", (-1.5, 1.5), "fib", False),
    ("arcsin", (-1, 1), "fb", False), ("arccos", (-1, 1), "fb", False),
    ("arctan", (-10, 10), "fib", True), ("asin", (-1, 1), "f", False),
    ("acos", (-1, 1), "f", False), ("atan", (-10, 10), "f", False),
    ("sinh", (-5, 5), "fi", True), ("cosh", (-5, 5), "fi", True),
    ("tanh", (-10, 10), "fib", True), ("arcsinh", (-10, 10), "fi", True),
    ("arccosh", (1, 10), "fi", False), ("arctanh", (-0.96875, 0.96875), "f", False),
    ("asinh", (-10, 10), "f", False), ("acosh", (1, 10), "f", False),
    ("atanh", (-0.5, 0.5), "f", False), ("deg2rad", (-360, 360), "fi", True),
    ("rad2deg", (-7, 7), "fi", True), ("radians", (-360, 360), "f", False),
    ("degrees", (-7, 7), "f", False), ("floor", (-10, 10), "fib", True),
    ("ceil", (-10, 10), "fib", True), ("trunc", (-10, 10), "fib", True),
    ("fix", (-10, 10), "fi", True), ("rint", (-10, 10), "fib", True),
    ("round", (-10, 10), "fi", True), ("around", (-10, 10), "f", True),
    ("signbit", (-10, 10), "fi", False), ("isnan", (-10, 10), "fib", True),
    ("isinf", (-10, 10), "fib", True), ("isfinite", (-10, 10), "fib", True),
    ("isposinf", (-10, 10), "fi", True), ("isneginf", (-10, 10), "fi", True),
    ("logical_not", (-3, 3), "fib", True), ("invert", (-100, 100), "ib", False),
    ("bitwise_not", (-100, 100), "ib", False), ("bitwise_invert", (-100, 100), "i", False),
    ("conjugate", (-10, 10), "fi", True), ("conj", (-10, 10), "fi", False),
    ("real", (-10, 10), "fib", True), ("imag", (-10, 10), "fib", True),
    ("angle", (-10, 10), "fi", True), ("sinc", (-10, 10), "fi", True),
    ("nan_to_num", (-10, 10), "fi", True), ("iscomplex", (-10, 10), "fi", False),
    ("isreal", (-10, 10), "fi", False), ("frexp", (-1e5, 1e5), "f", True),
    ("modf", (-100, 100), "f", True),
]


@pytest.mark.parametrize("name,domain,groups,special", UNARY, ids=[c[0] for c in UNARY])
@TABLE
@given(data=st.data())
def test_unary_matches_numpy(name, domain, groups, special, data):
    dtype = data.draw(st.sampled_from([d for g in groups for d in GROUPS[g]]))
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
    x = array_of(data.draw, dtype, shape, *domain, special=special)
    check_against_numpy(getattr(jnp, name), quiet_numpy(getattr(np, name)), x)


# Binary: name, domains of x1 and x2, dtype groups of each operand.
BINARY = [
    ("add", (-10, 10), (-10, 10), "fib", "fib"), ("subtract", (-10, 10), (-10, 10), "fi", "fi"),
    ("multiply", (-10, 10), (-10, 10), "fib", "fib"),
    ("divide", (-10, 10), (-10, 10), "fi", "fi"),
    ("true_divide", (-10, 10), (0.5, 10), "fib", "fi"),
    ("floor_divide", (-20, 20), (-5, 5), "fi", "fi"), ("remainder", (-20, 20), (-5, 5), "fi", "fi"),
    ("mod", (-20, 20), (-5, 5), "fi", "fi"), ("fmod", (-20, 20), (-5, 5), "fi", "fi"),
    ("divmod", (-20, 20), (-5, 5), "fi", "fi"),
    ("power", (0.125, 5), (-3, 3), "f", "fi"), ("power", (-4, 4), (0, 6), "ib", "ib"),
    ("pow", (0.125, 5), (-3, 3), "fi", "f"), ("float_power", (0.125, 5), (-3, 3), "fi", "fi"),
    ("arctan2", (-10, 10), (-10, 10), "fi", "fi"), ("atan2", (-10, 10), (-10, 10), "f", "f"),
    ("hypot", (-1e3, 1e3), (-1e3, 1e3), "fi", "fi"), ("logaddexp", (-50, 50), (-50, 50), "fi", "f"),
    ("logaddexp2", (-50, 50), (-50, 50), "f", "fi"), ("heaviside", (-2, 2), (-2, 2), "fi", "f"),
    ("copysign", (-10, 10), (-10, 10), "f", "fi"), ("nextafter", (-10, 10), (-10, 10), "f", "f"),
    ("maximum", (-10, 10), (-10, 10), "fib", "fib"),
    ("minimum", (-10, 10), (-10, 10), "fib", "fib"),
    ("fmax", (-10, 10), (-10, 10), "fi", "fi"), ("fmin", (-10, 10), (-10, 10), "fi", "fi"),
    ("equal", (-3, 3), (-3, 3), "fib", "fib"), ("not_equal", (-3, 3), (-3, 3), "fib", "fib"),
    ("less", (-3, 3), (-3, 3), "fib", "fi"), ("less_equal", (-3, 3), (-3, 3), "fi", "fib"),
    ("greater", (-3, 3), (-3, 3), "fib", "fi"), ("greater_equal", (-3, 3), (-3, 3), "fi", "fi"),
    ("logical_and", (-2, 2), (-2, 2), "fib", "fib"), ("logical_or", (-2, 2), (-2, 2), "fib", "fib"),
    ("logical_xor", (-2, 2), (-2, 2), "fib", "fib"),
    ("bitwise_and", (-100, 100), (-100, 100), "ib", "ib"),
    ("bitwise_or", (-100, 100), (-100, 100), "ib", "ib"),
    ("bitwise_xor", (-100, 100), (-100, 100), "ib", "ib"),
    ("left_shift", (-100, 100), (-3, 70), "i", "i"),
    ("right_shift", (-100, 100), (-3, 70), "i", "i"),
    ("bitwise_left_shift", (-100, 100), (0, 10), "i", "i"),
    ("bitwise_right_shift", (-100, 100), (0, 10), "i", "i"),
    ("gcd", (-60, 60), (-60, 60), "i", "i"), ("lcm", (-60, 60), (-60, 60), "i", "i"),
    ("ldexp", (-10, 10), (-40, 40), "fi", "i"),
]
SPECIAL_BINARY = {"add", "subtract", "multiply", "divide", "floor_divide", "remainder", "fmod",
                  "divmod", "maximum", "minimum", "fmax", "fmin", "copysign", "nextafter",
                  "heaviside", "hypot", "logaddexp", "equal", "less", "arctan2"}


@pytest.mark.parametrize("name,dom1,dom2,g1,g2", BINARY,
                         ids=[f"{c[0]}-{c[3]}{c[4]}" for c in BINARY])
@TABLE
@given(data=st.data())
def test_binary_matches_numpy(name, dom1, dom2, g1, g2, data):
    dt1 = data.draw(st.sampled_from([d for g in g1 for d in GROUPS[g]]))
    dt2 = data.draw(st.sampled_from([d for g in g2 for d in GROUPS[g]]))
    s1, s2 = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                         max_side=3)).input_shapes
    special = name in SPECIAL_BINARY
    x1 = array_of(data.draw, dt1, s1, *dom1, special=special)
    x2 = array_of(data.draw, dt2, s2, *dom2, special=special)
    check_against_numpy(getattr(jnp, name), quiet_numpy(getattr(np, name)), x1, x2)


# ----------------------------------------------------- weak Python scalars
SCALAR_CASES = [  # array dtype, Python scalar, expected result dtype of x + s
    (np.float32, 2.0, np.float32), (np.float32, 2, np.float32), (np.float16, 2.5, np.float16),
    (np.int32, 2, np.int32), (np.int32, 2.5, np.float64), (np.int8, 3, np.int8),
    (np.uint8, 3, np.uint8), (np.bool_, 1, np.int64), (np.bool_, 1.5, np.float64),
    (np.bool_, True, np.bool_), (np.float64, 1j, np.complex128), (np.float32, 1j, np.complex64),
]


@pytest.mark.parametrize("dtype,scalar,expected", SCALAR_CASES)
@pytest.mark.parametrize("name", ["add", "multiply", "maximum", "true_divide", "power",
                                  "arctan2", "less", "where"])
def test_weak_scalar_promotion(dtype, scalar, expected, name):
    x = np.array([1, 0, 1], dtype)
    if name == "where":
        ours, ref = (lambda a, s: jnp.where(a > 0, a, s)), (lambda a, s: np.where(a > 0, a, s))
    else:
        ours, ref = getattr(jnp, name), getattr(np, name)
    try:
        with np.errstate(all="ignore"):
            expected_out = ref(x, scalar)
    except TypeError:
        with pytest.raises(TypeError):
            ours(x, scalar)
        return
    if name == "add":
        assert np.asarray(expected_out).dtype == expected
    check_against_numpy(ours, quiet_numpy(ref), x, scalar)
    check_against_numpy(lambda s, a: ours(a, s), quiet_numpy(lambda s, a: ref(a, s)), scalar, x)


def test_weak_scalars_stay_weak_together():
    out = jnp.add(1.0, 2.0)
    assert out.dtype == np.float64 and out.weak_type
    assert (jnp.ones(3, jnp.float32) * out).dtype == np.float32
    assert jnp.sin(2).dtype == np.float64
    assert (jnp.ones(3, jnp.float32) * 2.0).dtype == np.float32
    assert (jnp.arange(3) / jnp.arange(1, 4)).dtype == np.float64
    assert jnp.sqrt(np.int8(4)).dtype == np.sqrt(np.int8(4)).dtype  # float16, as in NumPy


@pytest.mark.parametrize("d1,d2", [(np.int32, np.float32), (np.int64, np.float32),
                                   (np.bool_, np.int32), (np.float32, np.float64),
                                   (np.uint8, np.int8), (np.int16, np.float16),
                                   (np.uint32, np.int32), (np.complex64, np.float64)])
@pytest.mark.parametrize("name", ["add", "multiply", "maximum", "equal", "true_divide"])
def test_mixed_dtype_promotion(d1, d2, name):
    a, b = np.array([1, 2, 3], d1), np.array([[2], [1]], d2)
    if name == "maximum" and np.dtype(d2).kind == "c":
        return
    check_against_numpy(getattr(jnp, name), quiet_numpy(getattr(np, name)), a, b)


# ---------------------------------------------------------------- complex
@st.composite
def complex_arrays(draw, dtype=np.complex128, lo=-3, hi=3, shape=None):
    if shape is None:
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    part = np.float32 if dtype == np.complex64 else np.float64
    re = array_of(draw, part, shape, lo, hi)
    im = array_of(draw, part, shape, lo, hi)
    return (re + 1j * im).astype(dtype)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "cos", "tanh", "abs", "conjugate",
                                  "real", "imag", "angle", "negative", "square", "sign",
                                  "isfinite", "isnan", "rint", "reciprocal", "expm1", "log1p"])
@TABLE
@given(data=st.data())
def test_complex_unary(name, data):
    dtype = data.draw(st.sampled_from([np.complex64, np.complex128]))
    z = data.draw(complex_arrays(dtype, 0.25, 3))
    check_against_numpy(getattr(jnp, name), quiet_numpy(getattr(np, name)), z)


@pytest.mark.parametrize("name", ["add", "multiply", "divide", "power", "equal", "less",
                                  "greater_equal", "maximum", "minimum"])
@TABLE
@given(data=st.data())
def test_complex_binary(name, data):
    s1, s2 = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2,
                                                         max_side=3)).input_shapes
    z1, z2 = data.draw(complex_arrays(shape=s1)), data.draw(complex_arrays(shape=s2))
    check_against_numpy(getattr(jnp, name), quiet_numpy(getattr(np, name)), z1, z2)


def test_complex_lexicographic_and_round():
    a = np.array([1 + 2j, 1 + 1j, 2 + 0j, np.nan + 0j])
    b = np.array([1 + 1j, 1 + 1j, 1 + 5j, 0j])
    for name in ["less", "less_equal", "greater", "greater_equal", "maximum", "minimum"]:
        check_against_numpy(getattr(jnp, name), quiet_numpy(getattr(np, name)), a, b)
    z = np.array([1.25 + 2.5j, -0.5 - 1.5j])
    check_against_numpy(lambda z: jnp.round(z, 1), lambda z: np.round(z, 1), z)
    check_against_numpy(jnp.nan_to_num, np.nan_to_num, np.array([np.nan + 1j * np.inf, 2 - 1j]))


# ----------------------------------------------------- special arguments
@pytest.mark.parametrize("decimals", [-2, -1, 0, 1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_round_decimals(decimals, dtype):
    x = np.array([0.5, 1.5, 2.5, -2.5, 2.675, 149.0, 150.0, 250.0, -1234.5678, 0.0])
    x = x.astype(dtype)
    check_against_numpy(lambda x: jnp.round(x, decimals), lambda x: np.round(x, decimals), x)
    check_against_numpy(lambda x: jnp.around(x, decimals), lambda x: np.around(x, decimals), x)
    assert_close(round(jnp.asarray(x)), np.round(x))


@pytest.mark.parametrize("lo,hi", [(0.0, 1.0), (None, 0.5), (-0.5, None), (1.0, 0.0),
                                   (np.array([0.0, 0.5, 1.0]), 2), (0, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_clip(lo, hi, dtype):
    x = np.array([[-1.0, 0.25, 3.0], [0.75, np.nan if dtype != np.int32 else 1, -0.0]], dtype)
    check_against_numpy(lambda x: jnp.clip(x, lo, hi), lambda x: np.clip(x, lo, hi), x)
    check_against_numpy(lambda x: jnp.clip(x, min=lo, max=hi),
                        lambda x: np.clip(x, min=lo, max=hi), x)
    assert_close(jnp.asarray(x).clip(lo, hi), np.clip(x, lo, hi))


def test_clip_traced_bounds_and_no_bounds():
    x = np.array([-2.0, 0.5, 7.0])
    check_against_numpy(jnp.clip, np.clip, x, 0.0, np.array([1.0, 2.0, 3.0]))
    assert_close(jnp.clip(x), np.clip(x))
    with pytest.raises(ValueError):
        jnp.clip(x, 0.0, min=1.0)


def test_nan_to_num_arguments():
    x = np.array([np.nan, np.inf, -np.inf, 1.5], np.float32)
    check_against_numpy(lambda x: jnp.nan_to_num(x, nan=-1.0, posinf=9.0, neginf=-9.0),
                        lambda x: np.nan_to_num(x, nan=-1.0, posinf=9.0, neginf=-9.0), x)
    assert_close(jnp.nan_to_num(np.array([np.nan, 2])), np.nan_to_num(np.array([np.nan, 2])))
    assert_close(jnp.nan_to_num(np.array([1, 2])), np.array([1, 2]))


def test_angle_degrees_and_where():
    z = np.array([1j, -1.0 + 0j, 1 - 1j])
    check_against_numpy(lambda z: jnp.angle(z, deg=True), lambda z: np.angle(z, deg=True), z)
    check_against_numpy(lambda x: jnp.angle(x, True), lambda x: np.angle(x, True),
                        np.array([-2, 0, 3]))


@given(data=st.data())
@TABLE
def test_where(data):
    s_c, s_x, s_y = data.draw(hnp.mutually_broadcastable_shapes(
        num_shapes=3, min_dims=0, max_dims=3, max_side=3)).input_shapes
    cond_dt = data.draw(st.sampled_from([np.bool_, np.int32, np.float64]))
    dt_x, dt_y = data.draw(st.sampled_from(F + I + B)), data.draw(st.sampled_from(F + I + B))
    cond = array_of(data.draw, np.dtype(cond_dt), s_c, -1, 1)
    x, y = array_of(data.draw, dt_x, s_x, -5, 5), array_of(data.draw, dt_y, s_y, -5, 5)
    check_against_numpy(jnp.where, np.where, cond, x, y)


def test_where_one_argument_and_errors():
    c = np.array([[0, 1], [2, 0]])
    for ours, ref in zip(jnp.where(c), np.where(c), strict=True):
        assert_close(ours, ref)
    with pytest.raises(ValueError):
        jnp.where(c, 1.0)
    with pytest.raises(TypeError):  # a ConcretizationTypeError, unless size= is given
        funcgrad.make_jaxpr(lambda c: jnp.where(c))(c)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.bool_])
def test_isclose_allclose(dtype):
    with np.errstate(invalid="ignore"):
        a = np.array([1.0, 1.0 + 1e-6, np.inf, np.nan, 0.0, 1e-9, -np.inf, 100.0]).astype(dtype)
        b = np.array([1.0, 1.0, np.inf, np.nan, 1e-9, 0.0, np.inf, 100.001]).astype(dtype)
    for kw in [{}, {"equal_nan": True}, {"rtol": 1e-3}, {"atol": 0.0, "rtol": 0.0}]:
        check_against_numpy(lambda a, b: jnp.isclose(a, b, **kw),
                            quiet_numpy(lambda a, b: np.isclose(a, b, **kw)), a, b)
        out = eager_and_staged(lambda a, b: jnp.allclose(a, b, **kw), a, b)
        assert out.dtype == np.bool_ and out.shape == ()
        assert bool(out) == quiet_numpy(np.allclose)(a, b, **kw)
    assert_close(jnp.isclose(a, 1.0), quiet_numpy(np.isclose)(a, 1.0))
    assert_close(jnp.isclose(np.float32(1.0), np.array([1.0, 1.00001], np.float32)),
                 np.isclose(np.float32(1.0), np.array([1.0, 1.00001], np.float32)))


def test_array_equal_equiv():
    a, b = np.array([1.0, np.nan]), np.array([1.0, np.nan])
    for args in [(a, b), (a, a[:1]), ([1, 2], [1, 2]), ([1, 2], [[1, 2], [1, 2]])]:
        for kw in [{}, {"equal_nan": True}]:
            assert bool(jnp.array_equal(*args, **kw)) == np.array_equal(*args, **kw)
        assert bool(jnp.array_equiv(*args)) == np.array_equiv(*args)
    out = eager_and_staged(lambda x, y: jnp.array_equal(x, y, equal_nan=True), a, b)
    assert bool(out) and out.dtype == np.bool_
    assert bool(jnp.array_equiv([1, 2], [[1, 2], [1, 3]])) is False


# ------------------------------------------------------------- power
def test_power_static_and_traced_exponents():
    x = np.array([-3, -1, 0, 2, 5], np.int64)
    for k in [0, 1, 2, 3, 7, 40]:
        assert_close(jnp.power(x, k), np.power(x, k))
        assert_close(eager_and_staged(lambda x: x ** k, x), x ** k)
    e = np.array([0, 1, 5, 13, 62])
    check_against_numpy(jnp.power, np.power, np.array([3, -2, 7, 1, -1]), e)
    check_against_numpy(jnp.power, np.power, np.array([3, -2, 7], np.int32), np.int32(5))
    xf = np.array([-2.5, 0.0, 1.5, 3.0], np.float32)
    for k in [-3, -1, 0, 2, 5]:
        check_against_numpy(lambda x: jnp.power(x, k), quiet_numpy(lambda x: np.power(x, k)), xf)
    check_against_numpy(lambda x: x ** 0.5, lambda x: x ** 0.5, np.abs(xf))
    with pytest.raises(ValueError, match="negative integer powers"):
        jnp.power(x, -1)
    with pytest.raises(ValueError, match="negative integer powers"):
        jnp.power(x, np.array([1, -2, 1, 1, 1]))
    closed = funcgrad.make_jaxpr(lambda x: x ** 3)(np.ones(3))
    assert "integer_pow" in str(closed)


# ------------------------------------------------------------ operators
@st.composite
def operand_pairs(draw, groups=F + I):
    s1, s2 = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2,
                                                    max_side=3)).input_shapes
    d1, d2 = draw(st.sampled_from(groups)), draw(st.sampled_from(groups))
    return array_of(draw, d1, s1, -6, 6), array_of(draw, d2, s2, 1, 6)


OPERATORS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv,
             operator.mod, operator.lt, operator.le, operator.gt, operator.ge, operator.eq,
             operator.ne, divmod]


@pytest.mark.parametrize("op", OPERATORS, ids=[getattr(o, "__name__", str(o)) for o in OPERATORS])
@TABLE
@given(pair=operand_pairs())
def test_array_operators(op, pair):
    a, b = pair
    ja, jb = jnp.asarray(a), jnp.asarray(b)
    with np.errstate(all="ignore"):
        expected = op(a, b)
    for out in [op(ja, jb), op(ja, b), op(a, jb)]:  # NumPy array on either side
        funcgrad.tree_util.tree_map(assert_close, out, expected)
    eager_and_staged(lambda x, y: op(x, y), ja, jb)


def test_unary_and_bitwise_operators():
    x = np.array([[-1.5, 2.0, 0.0]], np.float32)
    j = jnp.asarray(x)
    assert_close(-j, -x)
    assert_close(+j, +x)
    assert_close(abs(j), abs(x))
    assert_close(j ** 2, x ** 2)
    assert_close(2.0 ** j, 2.0 ** x)
    assert_close(np.float32(2) ** j, np.float32(2) ** x)
    assert_close(j * 2, x * 2)
    assert_close(3 - j, 3 - x)
    assert_close(1 / (j + 3), 1 / (x + 3))
    n = np.array([5, -6, 7], np.int32)
    k = jnp.asarray(n)
    for op in [operator.and_, operator.or_, operator.xor, operator.lshift, operator.rshift]:
        assert_close(op(k, 2), op(n, 2))
        assert_close(op(np.int32(3), k), op(np.int32(3), n))
        assert_close(op(n, jnp.asarray([1, 2, 3])), op(n, np.array([1, 2, 3])))
    assert_close(~k, ~n)
    assert_close(~jnp.asarray([True, False]), ~np.array([True, False]))
    assert_close(k // 2, n // 2)
    assert_close(k % -4, n % -4)
    assert_close(round(jnp.asarray(2.5)), np.round(2.5))


# --------------------------------------------------------------- errors
def test_errors():
    x = jnp.ones(3)
    with pytest.raises(TypeError, match="immutable"):
        jnp.add(x, x, out=x)
    with pytest.raises(TypeError, match="where="):
        jnp.sin(x, where=x > 0)
    with pytest.raises(TypeError, match="floor"):
        jnp.floor(np.array([1j]))
    with pytest.raises(TypeError, match="bitwise_and"):
        jnp.bitwise_and(x, x)
    with pytest.raises(TypeError, match="subtract"):
        jnp.subtract(np.array([True]), np.array([False]))
    with pytest.raises(ValueError, match="broadcast"):
        jnp.add(np.ones(3), np.ones(4))
    with pytest.raises(TypeError):
        jnp.sin(x, x)
    with pytest.raises(TypeError):
        jnp.isposinf(np.array([1j]))
    assert_close(jnp.add(x, x, dtype=np.float32), np.add(np.ones(3), np.ones(3), dtype=np.float32))


def test_elementwise_under_make_jaxpr_is_traced():
    closed = funcgrad.make_jaxpr(lambda x, y: jnp.hypot(x, y) + jnp.logaddexp(x, y))(
        np.ones(3, np.float32), np.ones(3, np.float32))
    assert all(v.aval.dtype == np.float32 for v in closed.jaxpr.outvars)


def test_numerically_careful():
    assert_close(jnp.hypot(3e200, 4e200), 5e200, rtol=1e-15)
    assert_close(jnp.hypot(3e-200, 4e-200), 5e-200, rtol=1e-15)
    assert_close(jnp.logaddexp(1000.0, 1000.0), 1000.0 + np.log(2.0))
    assert_close(jnp.logaddexp(-np.inf, -np.inf), -np.inf)
    assert_close(jnp.logaddexp(np.inf, 3.0), np.inf)
    assert_close(jnp.sinc(0.0), 1.0)
    assert bool(jnp.signbit(-0.0)) and not bool(jnp.signbit(0.0))
    assert_close(jnp.copysign(2.0, -0.0), -2.0)
    assert_close(jnp.floor_divide(-7, 2), -4)
    assert_close(jnp.remainder(-7.0, 2.0), 1.0)
    assert_close(jnp.frexp(5e-324)[1], np.frexp(5e-324)[1])
    assert_close(jnp.ldexp(5e-324, 2090), np.ldexp(5e-324, 2090))
    with np.errstate(over="ignore"):
        expected = np.ldexp(np.float32(1.5), np.array([-160, 200]))
    assert_close(jnp.ldexp(np.float32(1.5), np.array([-160, 200])), expected)


def test_docstring_examples():
    import doctest
    for module in (ufuncs,):
        result = doctest.testmod(module, extraglobs={"jnp": jnp, "np": np},
                                 optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, f"{result.failed} docstring examples of {module.__name__} failed"
        assert result.attempted > 0
