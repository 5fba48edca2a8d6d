"""Forward mode: jvp of elementwise primitives against central finite
differences (first and second order), symbolic zeros, nesting and Python
control flow on concrete values."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from funcgrad import lax
from funcgrad.core.ad_util import Zero
from funcgrad.transforms.jvp import jvp, jvp_flat
from tests.lax.test_elementwise import UNARY_FLOAT
from tests.util import arrays, assert_close

NON_DIFFERENTIABLE = {"sign", "floor", "ceil", "is_finite"}
SMOOTH_UNARY = sorted(set(UNARY_FLOAT) - NON_DIFFERENTIABLE - {"abs"})


def numerical_jvp(f, x, t, eps=1e-6):
    """Central difference along ``t``, stepping a fixed distance whatever
    the size of ``t`` (a tiny ``t`` would drown the difference in rounding)."""
    scale = float(np.max(np.abs(t))) or 1.0
    step = eps * np.asarray(t) / scale
    return (np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * eps) * scale


def fd_atol(f, x, t):
    """Rounding error of a central difference: ~1e-16 * |f| / eps, scaled."""
    return 1e-6 + 1e-8 * float(np.max(np.abs(np.asarray(f(x))))) * float(np.max(np.abs(t)))


def _domain(name):
    if name == "cbrt":
        return 0.5, 90.0  # the derivative is infinite at 0
    lo, hi = UNARY_FLOAT[name][1]
    margin = 0.05 * (hi - lo)  # keep finite differences inside the domain
    return lo + margin, hi - margin


@pytest.mark.parametrize("name", SMOOTH_UNARY + ["digamma_via_lgamma"])
@given(data=st.data())
def test_unary_jvp_matches_finite_differences(name, data):
    op = getattr(lax, name) if name in UNARY_FLOAT else lax.lgamma
    lo, hi = _domain(name) if name in UNARY_FLOAT else (0.5, 20.0)
    x = data.draw(arrays(np.float64, (3,), min_value=lo, max_value=hi))
    t = data.draw(arrays(np.float64, (3,), min_value=-1, max_value=1))
    _, tangent = jvp(op, (x,), (t,))
    assert_close(tangent, numerical_jvp(op, x, t), rtol=1e-5, atol=fd_atol(op, x, t))


@pytest.mark.parametrize("name", SMOOTH_UNARY)
def test_unary_second_derivative(name):
    op = getattr(lax, name)
    lo, hi = _domain(name)
    x = np.linspace(lo, hi, 5)
    t = np.ones(5)

    def first(v):
        return jvp(op, (v,), (t,))[1]

    _, second = jvp(first, (x,), (t,))
    assert_close(second, numerical_jvp(first, x, t, eps=1e-5), rtol=1e-4, atol=1e-5)


BINARY = {"add": lax.add, "sub": lax.sub, "mul": lax.mul, "div": lax.div, "pow": lax.pow,
          "atan2": lax.atan2, "rem": lax.rem, "max": lax.max, "min": lax.min}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_jvp_matches_finite_differences(name, data):
    op = BINARY[name]
    x = data.draw(arrays(np.float64, (4,), min_value=0.5, max_value=3))
    y = data.draw(st.one_of(arrays(np.float64, (4,), min_value=0.5, max_value=3),
                            arrays(np.float64, (), min_value=0.5, max_value=3)))
    if name in ("max", "min", "rem"):  # stay away from kinks
        y = np.asarray(y) + 0.01 * np.pi
        if name == "rem":
            y = np.abs(y) + 0.1
            x = x + 0.5 * y  # avoid x/y near an integer
    tx = data.draw(arrays(np.float64, (4,), min_value=-1, max_value=1))
    ty = data.draw(arrays(np.float64, np.shape(y), min_value=-1, max_value=1))
    _, tangent = jvp(op, (x, y), (tx, ty))
    scale = max(float(np.max(np.abs(tx))), float(np.max(np.abs(ty))), 1e-3)
    sx, sy = 1e-6 * tx / scale, 1e-6 * ty / scale
    expected = (np.asarray(op(x + sx, y + sy)) - np.asarray(op(x - sx, y - sy))) / 2e-6 * scale
    assert_close(tangent, expected, rtol=1e-5, atol=1e-6)


def test_max_splits_gradient_at_ties_and_clamp_masks():
    _, t = jvp(lambda x: lax.max(x, 1.0), (np.array([0.5, 1.0, 2.0]),), (np.ones(3),))
    np.testing.assert_array_equal(t, [0.0, 0.5, 1.0])
    _, t = jvp(lambda x: lax.clamp(0.0, x, 1.0), (np.array([-0.5, 0.5, 2.0]),), (np.ones(3),))
    np.testing.assert_array_equal(t, [0.0, 1.0, 0.0])


def test_pow_at_zero_is_finite():
    _, t = jvp(lambda y: lax.pow(0.0, y), (2.0,), (1.0,))
    assert float(t) == 0.0
    _, t = jvp(lambda x: lax.pow(x, 0.0), (0.0,), (1.0,))
    assert float(t) == 0.0


def test_symbolic_zeros_are_not_materialised():
    seen = []

    def f(x, y):
        seen.append(y)
        return lax.mul(x, 2.0), y

    primals, tangents = jvp_flat(f, [1.0, 3.0], [1.0, Zero.like(3.0)])
    assert type(tangents[1]) is Zero
    assert not hasattr(seen[0], "tangent") or type(seen[0].tangent) is Zero


def test_integer_inputs_get_zero_tangents():
    out, t = jvp(lambda n, x: lax.mul(lax.convert_element_type(n, np.float64), x),
                 (np.int64(3), 2.0), (np.int64(0), 1.0))
    assert float(out) == 6.0 and float(t) == 3.0


def test_python_control_flow_on_concrete_primals():
    def f(x):
        if lax.gt(x, 0.0):
            return lax.sin(x)
        return lax.cos(x)

    assert_close(jvp(f, (0.5,), (1.0,))[1], np.asarray(np.cos(0.5)), check_dtype=False)
    assert_close(jvp(f, (-0.5,), (1.0,))[1], np.asarray(np.sin(0.5)), check_dtype=False)


def test_nested_jvp_third_order():
    def d(f):
        return lambda x: jvp(f, (x,), (1.0,))[1]

    third = d(d(d(lax.sin)))
    assert_close(third(0.3), np.asarray(-np.cos(0.3)), check_dtype=False)


def test_jvp_errors():
    with pytest.raises(ValueError, match=r"primals\[0\] must have equal shapes"):
        jvp(lax.sin, (np.ones(3),), (np.ones(2),))
    with pytest.raises(TypeError, match="same structure"):
        jvp(lax.add, (1.0, 2.0), ((1.0,), 2.0))
    with pytest.raises(TypeError, match="must be tuples or lists"):
        jvp(lax.sin, 1.0, 1.0)
