"""Elementwise lax primitives against NumPy (and math) references, eagerly
and staged through make_jaxpr/eval_jaxpr."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from funcgrad import lax, make_jaxpr
from tests.util import arrays, assert_close, check_against_numpy, eager_and_staged, shapes

_vec = np.vectorize

# name -> (reference, (low, high) domain of the inputs)
UNARY_FLOAT = {
    "neg": (np.negative, (-10, 10)), "sign": (np.sign, (-10, 10)),
    "floor": (np.floor, (-10, 10)), "ceil": (np.ceil, (-10, 10)),
    "is_finite": (np.isfinite, (-10, 10)),
    "exp": (np.exp, (-20, 20)), "exp2": (np.exp2, (-20, 20)), "log": (np.log, (0.01, 100)),
    "log1p": (np.log1p, (-0.9, 100)), "expm1": (np.expm1, (-20, 20)),
    "sin": (np.sin, (-10, 10)), "cos": (np.cos, (-10, 10)), "tan": (np.tan, (-1.5, 1.5)),
    "asin": (np.arcsin, (-1, 1)), "acos": (np.arccos, (-1, 1)), "atan": (np.arctan, (-10, 10)),
    "sinh": (np.sinh, (-10, 10)), "cosh": (np.cosh, (-10, 10)), "tanh": (np.tanh, (-10, 10)),
    "asinh": (np.arcsinh, (-10, 10)), "acosh": (np.arccosh, (1, 10)),
    "atanh": (np.arctanh, (-0.99, 0.99)), "sqrt": (np.sqrt, (0, 100)),
    "rsqrt": (lambda x: 1 / np.sqrt(x), (0.01, 100)), "cbrt": (np.cbrt, (-100, 100)),
    "logistic": (lambda x: 1 / (1 + np.exp(-x)), (-30, 30)),
    "erf": (_vec(math.erf), (-4, 4)), "erfc": (_vec(math.erfc), (-4, 4)),
    "lgamma": (_vec(math.lgamma), (0.1, 30)), "abs": (np.abs, (-10, 10)),
}


@pytest.mark.parametrize("name", sorted(UNARY_FLOAT))
@given(data=st.data())
def test_unary_float(name, data):
    reference, (lo, hi) = UNARY_FLOAT[name]
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    x = data.draw(arrays(dtype, shapes(), min_value=lo, max_value=hi))
    op = getattr(lax, name)
    out = eager_and_staged(op, x)
    expected = np.asarray(reference(x.astype(np.float64)))
    assert_close(out, expected.astype(out.dtype), rtol=1e-5 if dtype == np.float32 else 1e-12,
                 atol=1e-5 if dtype == np.float32 else 1e-12)
    assert out.dtype == (np.bool_ if name == "is_finite" else dtype)


def test_special_functions_at_known_points():
    assert_close(lax.digamma(1.0), np.asarray(-np.euler_gamma), check_dtype=False)
    assert_close(lax.erf_inv(0.5), np.asarray(0.4769362762044699), check_dtype=False)
    assert_close(lax.erf(lax.erf_inv(np.linspace(-0.99, 0.99, 7))), np.linspace(-0.99, 0.99, 7))


BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "max": np.maximum,
    "min": np.minimum, "atan2": np.arctan2, "nextafter": np.nextafter, "pow": np.power,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal, "rem": np.fmod, "div": np.true_divide,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_float(name, data):
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    shape = data.draw(shapes())
    lo = 0.1 if name in ("pow", "rem", "div") else -10
    x = data.draw(arrays(dtype, shape, min_value=lo, max_value=10))
    # The second operand has the same shape or is 0-d.
    y = data.draw(st.one_of(arrays(dtype, shape, min_value=lo, max_value=10),
                            arrays(dtype, (), min_value=lo, max_value=10)))
    check_against_numpy(getattr(lax, name), BINARY[name], x, y)


@given(data=st.data())
def test_integer_division_rounds_toward_zero(data):
    dtype = data.draw(st.sampled_from([np.int32, np.int64]))
    x = data.draw(arrays(dtype, (5,), min_value=-50, max_value=50))
    y = data.draw(arrays(dtype, (5,), min_value=1, max_value=9)) * data.draw(
        st.sampled_from([1, -1]))
    expected = (np.trunc(x / y)).astype(dtype)
    check_against_numpy(lax.div, lambda a, b: expected, x, y.astype(dtype))
    check_against_numpy(lax.rem, np.fmod, x, y.astype(dtype))


@given(x=arrays(np.uint32, (6,), min_value=0, max_value=2**32 - 1),
       s=st.integers(0, 40))
def test_uint32_shifts(x, s):
    shift = np.uint32(s)
    expected_left = (x.astype(np.uint64) << s) % 2**32 if s < 32 else np.zeros_like(x)
    expected_right = (x >> shift) if s < 32 else np.zeros_like(x)
    check_against_numpy(lax.shift_left, lambda a, b: expected_left.astype(np.uint32), x, shift)
    check_against_numpy(lax.shift_right_logical, lambda a, b: expected_right, x, shift)


def test_shift_right_logical_on_signed_shifts_in_zeros():
    out = lax.shift_right_logical(np.array([-8], np.int32), np.int32(28))
    assert np.asarray(out).tolist() == [15]


@given(x=arrays(np.int32, (4,), min_value=-2**31, max_value=2**31 - 1),
       y=arrays(np.int32, (4,), min_value=-2**31, max_value=2**31 - 1))
def test_bitwise(x, y):
    check_against_numpy(lax.bitwise_and, np.bitwise_and, x, y)
    check_against_numpy(lax.bitwise_or, np.bitwise_or, x, y)
    check_against_numpy(lax.bitwise_xor, np.bitwise_xor, x, y)
    check_against_numpy(lax.bitwise_not, np.invert, x)


def test_weak_scalars_adapt_and_dtypes_must_match():
    x32 = np.ones(3, np.float32)
    assert lax.mul(x32, 2.0).dtype == np.float32
    assert lax.add(2, np.ones(2, np.int32)).dtype == np.int32
    out = lax.add(1.0, 2.0)
    assert out.weak_type and out.dtype == np.float64
    with pytest.raises(TypeError, match="add requires arguments to have the same dtypes, "
                                        "got float32, float64"):
        lax.add(x32, np.ones(3))


def test_shape_errors_name_primitive_and_shapes():
    with pytest.raises(TypeError, match=r"mul got incompatible shapes: \(3,\), \(4,\)"):
        lax.mul(np.ones(3), np.ones(4))
    with pytest.raises(TypeError, match=r"sin does not accept dtype int64"):
        lax.sin(np.arange(3))
    with pytest.raises(TypeError, match=r"expected an array or a scalar, got str"):
        lax.exp("x")


def test_select_n_and_clamp():
    which = np.array([0, 2, 1, 2], np.int32)
    cases = [np.full(4, float(i)) for i in range(3)]
    check_against_numpy(lax.select_n, lambda w, *c: np.choose(w, c), which, *cases)
    check_against_numpy(lax.select, np.where, np.array([True, False]), np.ones(2), np.zeros(2))
    check_against_numpy(lax.clamp, lambda lo, x, hi: np.clip(x, lo, hi), -1.0,
                        np.linspace(-3, 3, 7), 2.0)
    with pytest.raises(TypeError, match="select_n cases must have equal shapes"):
        lax.select_n(True, np.ones(2), np.ones(3))


@given(x=arrays(np.float64, shapes(), min_value=-1e3, max_value=1e3))
def test_convert_element_type_truncates(x):
    check_against_numpy(lambda v: lax.convert_element_type(v, np.int32),
                        lambda v: np.trunc(v).astype(np.int32), x)
    check_against_numpy(lambda v: lax.convert_element_type(v, np.float32),
                        lambda v: v.astype(np.float32), x)


def test_convert_nan_and_overflow_is_deterministic():
    out = lax.convert_element_type(np.array([np.nan, np.inf, -np.inf, 1e20]), np.int32)
    np.testing.assert_array_equal(out, [0, 2**31 - 1, -2**31, 2**31 - 1])


def test_round_and_integer_pow():
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    check_against_numpy(lax.round, lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5), x)
    check_against_numpy(lambda v: lax.round(v, lax.ROUND_TO_NEAREST_EVEN), np.round, x)
    check_against_numpy(lambda v: lax.integer_pow(v, 3), lambda v: v ** 3, x)
    check_against_numpy(lambda v: lax.integer_pow(v, -2), lambda v: v ** -2.0, x)
    with pytest.raises(TypeError, match="negative power"):
        lax.integer_pow(np.arange(3), -1)


def test_staged_literal_prints_inline():
    text = str(make_jaxpr(lambda x: lax.mul(lax.sin(x), 2.0))(np.ones(3)))
    assert "c:f64[3] = mul b 2.0" in text
    text32 = str(make_jaxpr(lambda x: lax.mul(x, 2.0))(np.ones(3, np.float32)))
    assert "mul a 2.0:f32[]" in text32


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint32, np.uint64])
@pytest.mark.parametrize("src", [np.float32, np.float64])
def test_float_to_int_conversion_saturates(dtype, src):
    """Out-of-range floats saturate to the integer bounds, nan gives 0 and
    the rest truncates toward zero (the integer bounds round up as floats,
    so a clip would overflow)."""
    info = np.iinfo(dtype)
    x = np.array([np.inf, -np.inf, np.nan, 1e30, -1e30, 2.7, -2.7], src)
    expected = np.array([info.max, info.min, 0, info.max, info.min, 2,
                         -2 if info.min < 0 else 0], dtype)
    assert_close(lax.convert_element_type(x, dtype), expected)
