"""Tests for polygamma: the scalar function (plain Python and njit-compiled),
its vectorised NumPy twin, the ``polygamma`` primitive and the derivative
rules it enables (digamma's, hence lgamma's to any order).

References are independent of the implementation: SciPy and mpmath where
installed, and otherwise closed forms (zeta values), the recurrence and the
multiplication and reflection formulas, and finite differences.
"""
import math
import warnings

import numba
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import funcgrad
from funcgrad import lax
from funcgrad.core.ad_util import Zero
from funcgrad.lax import special_math as sm
from funcgrad.lax.special import polygamma_p
from funcgrad.transforms.jvp import jvp, jvp_flat
from tests.transforms.test_jvp import fd_atol, numerical_jvp
from tests.util import arrays, assert_close, eager_and_staged, shapes

# At least 40 examples (the identities are cheap); more under the nightly profile.
SETTINGS = settings(max_examples=max(40, settings.default.max_examples), deadline=None)
INF, NAN = math.inf, math.nan
PI = math.pi
ZETA3 = 1.2020569031595942  # Apery's constant, correctly rounded
ZETA5 = 1.0369277551433699


def same(a, b):
    """nan == nan, and the sign of zero and of infinity matters."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def rel_err(got, want):
    return abs(got - want) / abs(want)


positive_x = st.one_of(st.floats(1e-6, 1e6), st.floats(0.01, 30.0))
orders = st.integers(1, 12)


# ---------------------------------------------------------------------------
# Scalar values: closed forms and identities (no optional dependency)
# ---------------------------------------------------------------------------


def test_closed_forms_at_one_and_one_half():
    # psi^(m)(1) = (-1)^(m+1) m! zeta(m+1); psi^(m)(1/2) = (2^(m+1) - 1) psi^(m)(1).
    zetas = {2: PI**2 / 6, 3: ZETA3, 4: PI**4 / 90, 5: ZETA5, 6: PI**6 / 945,
             8: PI**8 / 9450}
    for s, zeta in zetas.items():
        m = s - 1
        want = (-1) ** (m + 1) * math.factorial(m) * zeta
        assert rel_err(sm.polygamma(m, 1.0), want) < 4e-16 * s, m
        assert rel_err(sm.polygamma(m, 0.5), (2**s - 1) * want) < 4e-16 * s, m
    for m in range(1, 40):
        # zeta(s) = sum k^-s converges fast enough for s >= 12 to sum directly.
        if m + 1 >= 12:
            zeta = math.fsum(k ** -(m + 1.0) for k in range(1, 60))
            want = (-1) ** (m + 1) * math.factorial(m) * zeta
            assert rel_err(sm.polygamma(m, 1.0), want) < 1e-15, m
        assert rel_err(sm.polygamma(m, 0.5), (2 ** (m + 1) - 1) * sm.polygamma(m, 1.0)) < 2e-15


@SETTINGS
@given(orders, st.integers(-40, 60), st.integers(1, 2**40 - 1))
def test_recurrence(m, k, j):
    # x = k + j/2**40 and x + 1 are exact, so
    # psi^(m)(x + 1) = psi^(m)(x) + (-1)^m m! / x^(m+1) is checked without
    # input rounding.
    x = k + j / 2.0**40
    a, b = sm.polygamma(m, x), sm.polygamma(m, x + 1.0)
    step = (-1) ** m * math.factorial(m) / x ** (m + 1)
    assume(math.isfinite(a) and math.isfinite(step))
    # The sum cancels when x < 0 (terms of both signs): compare relative to
    # the largest of the three.
    assert abs(b - (a + step)) <= 4e-15 * max(abs(a), abs(b), abs(step))


@SETTINGS
@given(orders, st.one_of(positive_x, st.floats(-30.0, -0.01)))
def test_duplication_formula(m, x):
    # psi^(m)(2x) = 2^-(m+1) (psi^(m)(x) + psi^(m)(x + 1/2)): relates values at
    # three unrelated points.
    assume(2 * x != math.floor(2 * x))
    lhs = sm.polygamma(m, 2 * x)
    parts = (sm.polygamma(m, x), sm.polygamma(m, x + 0.5))
    rhs = math.ldexp(parts[0] + parts[1], -(m + 1))
    scale = math.ldexp(max(abs(p) for p in parts), -(m + 1))
    # x + 0.5 is rounded, which at negative x moves the value by up to its
    # condition number (|x psi^(m+1) / psi^(m)|, m + 1 near poles) ulps.
    cond = 1.0 if x > 0 else 4 * (m + 1) * (1 + abs(x))
    assert abs(lhs - rhs) <= 4e-15 * cond * max(scale, abs(lhs))


@SETTINGS
@given(st.floats(-20.0, 20.0))
def test_trigamma_reflection(x):
    # psi1(1 - x) + psi1(x) = pi^2 / sin^2(pi x): checks the negative x code.
    assume(abs(x - round(x)) > 1e-3)
    got = sm.polygamma(1, 1.0 - x) + sm.polygamma(1, x)
    want = PI**2 / math.sin(PI * x) ** 2
    # 1 - x and sin(pi x) both round; the relative sensitivity to x is at
    # most ~2 pi / |sin(pi x)| * |x| ulps.
    assert rel_err(got, want) < 1e-14 * (1 + abs(x)) / abs(math.sin(PI * x))


def lower_order_derivative(m, x):
    """d/dx psi^(m-1)(x) by a 4th-order central difference."""
    h = 1e-3 * min(1.0, x)
    f = lambda v: sm.polygamma(m - 1, v)
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


@SETTINGS
@given(st.integers(1, 6), st.floats(0.05, 50.0))
def test_is_derivative_of_lower_order(m, x):
    got = sm.polygamma(m, x)
    assert rel_err(lower_order_derivative(m, x), got) < 1e-7


def test_large_x_asymptotics():
    # psi^(m)(x) = (-1)^(m+1) [(m-1)!/x^m + m!/(2 x^(m+1)) + (m+1)!/(12 x^(m+2))
    # + O(x^-(m+4))].
    for m in range(1, 8):
        for x in [1e4, 1e6, 1e10, 1e30]:
            want = (-1) ** (m + 1) * (math.factorial(m - 1) / x**m
                                      + math.factorial(m) / (2 * x ** (m + 1))
                                      + math.factorial(m + 1) / (12 * x ** (m + 2)))
            assert rel_err(sm.polygamma(m, x), want) < 2e-15, (m, x)


def test_large_orders_do_not_overflow_on_the_way():
    # Reference: the defining series summed directly, scaled by the first
    # term so that it stays in range: sign * exp(lgamma(m+1) - s log x) * S.
    # (Its terms decay like exp(-s k / x): 20000 of them suffice here.)
    for m, x in [(60, 5000.0), (120, 7.5), (150, 400.0), (200, 1000.0), (400, 50.5),
                 (170, 3.0)]:
        s = m + 1
        series = math.fsum((x / (x + k)) ** s for k in range(20000))
        want = (-1) ** (m + 1) * math.exp(math.lgamma(s) - s * math.log(x)) * series
        got = sm.polygamma(m, x)
        # lgamma and the log carry absolute errors of a few ulp of L, which
        # exp turns into relative ones: the reference is good to ~L * 4e-16.
        L = abs(math.lgamma(s) - s * math.log(x))
        assert rel_err(got, want) < 1e-15 * (L + 20), (m, x, got, want)
    assert sm.polygamma(1, 1e-200) == INF  # genuinely 1e400
    assert sm.polygamma(2, 1e-200) == -INF
    assert sm.polygamma(1, 5e-324) == INF
    assert sm.polygamma(5, 1e300) == 0.0  # genuinely 24e-1500


def test_special_values():
    for m in [1, 2, 3, 4, 7, 10]:
        sign = 1.0 if m % 2 else -1.0
        for pole in [0.0, -0.0, -1.0, -2.0, -17.0, -(2.0**52), -(2.0**53), -1e300]:
            assert same(sm.polygamma(m, pole), sign * INF), (m, pole)
        assert same(sm.polygamma(m, INF), sign * 0.0)
        assert math.isnan(sm.polygamma(m, -INF))
        assert math.isnan(sm.polygamma(m, NAN))
        assert math.isfinite(sm.polygamma(m, -(2.0**52) + 0.5))
    for bad_order in [-1.0, 0.5, 1.5, -0.5, 2.0**53, 1e300, INF, -INF, NAN]:
        assert math.isnan(sm.polygamma(bad_order, 1.5)), bad_order
    # Integer orders work as Python ints too.
    assert sm.polygamma(1, 2.0) == sm.polygamma(1.0, 2.0)


def test_order_zero_is_digamma():
    xs = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.4616321449683622, 2.5, -2.5, 1e-300, -1e-300,
          7.25, -7.25, 1e15, 1e300, -1e300, INF, -INF, NAN, -(2.0**52) + 0.5]
    xs += np.random.default_rng(0).normal(scale=20, size=200).tolist()
    for x in xs:
        assert same(sm.polygamma(0, x), sm.digamma(x)), x
        assert same(sm.polygamma(-0.0, x), sm.digamma(x)), x


# ---------------------------------------------------------------------------
# Scalar values against SciPy and mpmath (when installed)
# ---------------------------------------------------------------------------


@SETTINGS
@given(orders, positive_x)
def test_matches_scipy_positive(m, x):
    special = pytest.importorskip("scipy.special")
    want = float(special.polygamma(m, x))
    assert rel_err(sm.polygamma(m, x), want) < 1e-13


@SETTINGS
@given(st.integers(1, 6), st.floats(-40.0, -1e-3))
def test_matches_scipy_negative(m, x):
    special = pytest.importorskip("scipy.special")
    assume(x != math.floor(x))
    want = float(special.polygamma(m, x))
    # The function's condition number at x bounds what any method can do.
    cond = abs(x * float(special.polygamma(m + 1, x)) / want)
    assert rel_err(sm.polygamma(m, x), want) < 1e-14 * max(1.0, cond)


def test_matches_scipy_special_values():
    special = pytest.importorskip("scipy.special")
    with np.errstate(all="ignore"):
        for m in range(1, 6):
            for x in [0.0, -0.0, -1.0, -3.0, -(2.0**53), INF, NAN, 1e-300, 1e300]:
                assert same(sm.polygamma(m, x), float(special.polygamma(m, x))), (m, x)


def test_matches_mpmath():
    mpmath = pytest.importorskip("mpmath")
    rng = np.random.default_rng(1)
    with mpmath.workdps(40):
        for m in [1, 2, 3, 5, 8, 13, 21, 34, 60, 100]:
            for x in np.exp(rng.uniform(np.log(1e-4), np.log(1e6), 6)).tolist():
                want = mpmath.polygamma(m, x)
                if not 1e-300 < abs(want) < 1e300:
                    continue
                got = sm.polygamma(m, x)
                assert float(abs((got - want) / want)) < 2e-15 + 4e-17 * m, (m, x)
        # m! x^-(m+1) would underflow; then the logarithmic path (m > 170).
        want = mpmath.polygamma(60, 1e6)
        assert float(abs((sm.polygamma(60, 1e6) - want) / want)) < 4e-15
        for m, x in [(200, 1000.0), (171, 2.5), (300, 30.5)]:
            want = mpmath.polygamma(m, x)
            assert float(abs((sm.polygamma(m, x) - want) / want)) < 1e-12, (m, x)


# ---------------------------------------------------------------------------
# Numba: the same source compiles and gives the same results
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jitted():
    return numba.njit("float64(float64, float64)")(sm.polygamma)


SPECIAL_X = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.5, -2.5, 1e-300, -1e-300, 5e-324, 1e-20, -1e-20,
             1e300, 1.7976931348623157e308, -1e300, 1e6, -(2.0**52) + 0.5, INF, -INF, NAN]
SPECIAL_M = [0.0, 1.0, 2.0, 3.0, 10.0, 50.0, 170.0, 1.5, -1.0, 2.0**53, INF, NAN]


def test_numba_special_values(jitted):
    for m in SPECIAL_M:
        for x in SPECIAL_X:
            assert same(jitted(m, x), sm.polygamma(m, x)), (m, x)


@SETTINGS
@given(st.integers(0, 170), st.one_of(st.floats(allow_nan=False), st.floats(-30.0, 30.0)))
def test_numba_agrees_with_python(jitted, m, x):
    got, want = jitted(float(m), x), sm.polygamma(float(m), x)
    if math.isfinite(want) and abs(want) >= 1e300 or 0.0 < abs(want) <= 1e-300:
        # Near over/underflow the result comes from logarithms, where
        # CPython's lgamma and the C library's differ by a few ulp.
        assert rel_err(got, want) < 1e-12
    else:
        assert same(got, want), (m, x, got, want)


def test_numba_float32_arguments_and_nesting(jitted):
    # Generated code may pass float32 operands.
    fn = numba.njit("float64(float32, float32)")(sm.polygamma)
    for m, x in [(1, 0.3), (2, -2.5), (0, 1.75), (3, 7.0)]:
        want = sm.polygamma(float(m), float(np.float32(x)))
        assert math.isclose(fn(np.float32(m), np.float32(x)), want, rel_tol=1e-14)

    # Generated code calls the compiled scalar function inside its loops.
    compiled = jitted

    @numba.njit
    def kernel(m, a):
        out = np.empty_like(a)
        for i in range(a.size):
            out[i] = compiled(m[i], a[i])
        return out

    m = np.array([0.0, 1.0, 2.0, 3.0, 1.0])
    a = np.array([0.5, 1.5, -0.5, 4.0, 1e-3])
    assert all(same(g, sm.polygamma(mi, ai))
               for g, mi, ai in zip(kernel(m, a).tolist(), m.tolist(), a.tolist(), strict=True))


# ---------------------------------------------------------------------------
# polygamma_np
# ---------------------------------------------------------------------------


def test_np_agrees_with_scalar():
    rng = np.random.default_rng(2)
    x = np.concatenate([np.exp(rng.uniform(-10, 14, 3000)), rng.normal(scale=30, size=500),
                        np.array(SPECIAL_X)])
    m = np.concatenate([rng.integers(0, 30, x.size - 60), rng.integers(100, 300, 60)]).astype(float)
    m[:40] = np.array(SPECIAL_M * 4)[:40]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy warnings for nan/inf/huge inputs
        got = sm.polygamma_np(m, x)
    want = np.array([sm.polygamma(a, b) for a, b in zip(m.tolist(), x.tolist(), strict=True)])
    assert got.dtype == np.float64 and got.shape == x.shape
    finite = np.isfinite(want) & (want != 0)
    # The array code may use NumPy's (SIMD) pow: within an ulp or so per term.
    np.testing.assert_allclose(got[finite], want[finite], rtol=2e-15, atol=0)
    assert all(same(g, w) for g, w in zip(got[~finite].tolist(), want[~finite].tolist(),
                                          strict=True))


def test_np_broadcasting_dtypes_and_shapes():
    x = np.linspace(0.5, 3.0, 6).reshape(2, 3)
    out = sm.polygamma_np(np.array([[1], [2]]), x)
    assert out.shape == (2, 3) and out.dtype == np.float64
    for (i, j), v in np.ndenumerate(out):
        assert math.isclose(v, sm.polygamma(float(i + 1), float(x[i, j])), rel_tol=2e-15)
    out = sm.polygamma_np(1, x.astype(np.float32))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(
        out, np.array([sm.polygamma(1.0, float(v)) for v in x.astype(np.float32).ravel()],
                      np.float64).astype(np.float32).reshape(2, 3))
    out = sm.polygamma_np(2, 0.3)
    assert isinstance(out, np.ndarray) and out.shape == () and out.dtype == np.float64
    out = sm.polygamma_np(np.array(1.0, np.float32), np.float32(0.3))
    assert out.shape == () and out.dtype == np.float32
    assert sm.polygamma_np(1, np.arange(1, 4)).dtype == np.float64  # integer x
    assert sm.polygamma_np(1, np.zeros((0, 3), np.float32)).shape == (0, 3)
    with pytest.raises(TypeError):
        sm.polygamma_np(1, np.array([1j]))


# ---------------------------------------------------------------------------
# The primitive
# ---------------------------------------------------------------------------


@SETTINGS
@given(st.data())
def test_primitive_eager_and_staged(data):
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    shape = data.draw(shapes())
    x = data.draw(arrays(dtype, shape, min_value=0.05, max_value=40))
    m = data.draw(st.one_of(arrays(dtype, shape, min_value=0, max_value=6),
                            arrays(dtype, (), min_value=0, max_value=6))).round()
    out = eager_and_staged(lax.polygamma, m, x)
    assert out.dtype == dtype and out.shape == shape
    want = np.vectorize(sm.polygamma)(m.astype(np.float64), x.astype(np.float64))
    tol = 1e-5 if dtype == np.float32 else 1e-14
    assert_close(out, want.astype(dtype), rtol=tol, atol=0)


def test_primitive_operand_rules():
    x32 = np.array([1.0, 2.0], np.float32)
    assert lax.polygamma(1, x32).dtype == np.float32  # Python int adapts
    assert lax.polygamma(np.array([1, 2]), x32).dtype == np.float32  # integer order converted
    out = lax.polygamma(1, 2.0)  # both Python scalars: weak float64
    assert out.dtype == np.float64 and out.weak_type
    assert_close(out, np.asarray(PI**2 / 6 - 1), check_dtype=False)
    with pytest.raises(TypeError, match="polygamma.*same dtypes"):
        lax.polygamma(np.float64(1.0), x32)
    with pytest.raises(TypeError, match="polygamma.*shapes"):
        lax.polygamma(np.ones(3), np.ones(2))
    with pytest.raises(TypeError, match="polygamma"):
        lax.polygamma(1, np.array([1, 2]))  # integer x
    assert polygamma_p.scalar_expr == "special_math.polygamma({x}, {y})"
    assert polygamma_p.not_applicable.get("transpose", "").startswith("not linear")
    jaxpr = funcgrad.make_jaxpr(lambda x: lax.polygamma(2, x))(np.ones(3))
    assert "polygamma" in str(jaxpr)


@SETTINGS
@given(st.data())
def test_jvp_matches_finite_differences(data):
    m = float(data.draw(st.integers(0, 4)))
    x = data.draw(arrays(np.float64, (3,), min_value=0.3, max_value=20))
    t = data.draw(arrays(np.float64, (3,), min_value=-1, max_value=1))
    f = lambda v: lax.polygamma(m, v)
    primal, tangent = jvp(f, (x,), (t,))
    assert_close(primal, sm.polygamma_np(m, x))
    assert_close(tangent, numerical_jvp(f, x, t), rtol=1e-6, atol=fd_atol(f, x, t))


def test_jvp_with_respect_to_order_raises_and_zero_order_tangent_is_fine():
    x = np.array([1.5, 2.5])
    with pytest.raises(ValueError, match="order m"):
        jvp(lax.polygamma, (np.ones(2), x), (np.ones(2), np.ones(2)))
    _, tangent = jvp(lambda v: lax.polygamma(np.ones(2), v), (x,), (np.ones(2),))
    assert_close(tangent, np.asarray(sm.polygamma_np(2, x)))
    _, (tangent,) = jvp_flat(lambda v: [lax.polygamma(1.0, v)], [x], [Zero.like(x)])
    assert type(tangent) is Zero


def test_reverse_mode_and_dot_product_identity():
    x = np.array([0.7, 1.5, 4.0, 11.0])

    def f(v):
        return lax.reduce_sum(lax.mul(lax.polygamma(1.0, v), lax.polygamma(2.0, v)), (0,))

    g = funcgrad.grad(f)(x)
    t = np.eye(4)
    want = np.array([numerical_jvp(f, x, t[i], eps=1e-6) for i in range(4)])
    assert_close(g, want, rtol=1e-7, atol=1e-7)
    # Transposing the linearized polygamma: <ct, L t> == <L^T ct, t>.
    lin = lambda tt: jvp(lambda v: lax.polygamma(3.0, v), (x,), (tt,))[1]
    rng = np.random.default_rng(3)
    tt, ct = rng.normal(size=4), rng.normal(size=4)
    (lt_ct,) = funcgrad.linear_transpose(lin, tt)(ct)
    assert math.isclose(float(np.dot(ct, lin(tt))), float(np.dot(lt_ct, tt)), rel_tol=1e-13)


@SETTINGS
@given(st.data())
def test_digamma_jvp_matches_finite_differences(data):
    x = data.draw(st.one_of(arrays(np.float64, (3,), min_value=0.2, max_value=30),
                            arrays(np.float64, (3,), min_value=-4.9, max_value=-4.1)))
    t = data.draw(arrays(np.float64, (3,), min_value=-1, max_value=1))
    _, tangent = jvp(lax.digamma, (x,), (t,))
    assert_close(tangent, numerical_jvp(lax.digamma, x, t),
                 rtol=1e-6, atol=fd_atol(lax.digamma, x, t))


def test_lgamma_higher_derivatives_closed_forms():
    # lgamma^(n)(x) = psi^(n-1)(x): at 1, (-1)^n (n-1)! zeta(n); at 1/2,
    # (2^n - 1) times that.
    d1 = funcgrad.grad(lax.lgamma)
    d2 = funcgrad.grad(d1)
    d3 = funcgrad.grad(d2)
    d4 = funcgrad.grad(d3)
    for x, scale in [(1.0, lambda n: 1.0), (0.5, lambda n: 2.0**n - 1)]:
        assert math.isclose(float(d2(x)), scale(2) * PI**2 / 6, rel_tol=1e-14)
        assert math.isclose(float(d3(x)), -scale(3) * 2 * ZETA3, rel_tol=1e-14)
        assert math.isclose(float(d4(x)), scale(4) * 6 * PI**4 / 90, rel_tol=1e-14)
    # Forward over forward agrees with reverse over reverse.
    x = np.linspace(0.6, 9.0, 5)
    t = np.ones(5)
    second = jvp(lambda v: jvp(lax.lgamma, (v,), (t,))[1], (x,), (t,))[1]
    assert_close(second, np.array([float(d2(v)) for v in x.tolist()]), rtol=1e-14)


def test_lgamma_second_and_third_derivative_vs_finite_differences():
    x = np.linspace(0.4, 25.0, 9)
    t = np.ones_like(x)

    def first(v):
        return jvp(lax.lgamma, (v,), (t,))[1]

    def second(v):
        return jvp(first, (v,), (t,))[1]

    _, third = jvp(second, (x,), (t,))
    # References: central differences of lower derivatives, each of which
    # is checked against math.lgamma (first) or its own difference here.
    assert_close(second(x), numerical_jvp(first, x, t, eps=1e-5), rtol=1e-6, atol=1e-7)
    assert_close(third, numerical_jvp(second, x, t, eps=1e-5), rtol=1e-5, atol=1e-6)
    hess = funcgrad.hessian(lambda v: lax.reduce_sum(lax.lgamma(v), (0,)))(x)
    assert_close(hess, np.diag(np.asarray(second(x))), rtol=1e-14, atol=0)


def test_lgamma_derivatives_match_scipy():
    special = pytest.importorskip("scipy.special")
    x = np.array([0.1, 0.5, 1.0, 2.5, 10.0, 1e4, -0.5, -2.3])
    t = np.ones_like(x)
    first = lambda v: jvp(lax.lgamma, (v,), (t,))[1]
    second = lambda v: jvp(first, (v,), (t,))[1]
    assert_close(second(x), special.polygamma(1, x), rtol=1e-14, atol=0)
    assert_close(jvp(second, (x,), (t,))[1], special.polygamma(2, x), rtol=1e-13, atol=0)


def test_docstring_examples():
    import doctest

    from funcgrad.lax import special
    for module in (special, sm):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, module.__name__
