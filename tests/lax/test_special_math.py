"""Tests for funcgrad.lax.special_math.

Each function is checked against an *independent* reference (a defining
identity, math.lgamma, exact rational arithmetic, known closed forms), never
against a re-derivation of its own formula.  The scalar functions are also
compiled with numba.njit and compared with their plain-Python results, since
generated Numba code calls the same source.
"""
import math
import warnings
from fractions import Fraction

import numba
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from funcgrad.lax import special_math as sm

SETTINGS = settings(max_examples=50, deadline=None)

EULER_GAMMA = 0.5772156649015329  # correctly rounded Euler-Mascheroni constant
INF, NAN = math.inf, math.nan

SCALAR_NAMES = ["erf", "erfc", "erf_inv", "lgamma", "digamma", "logistic", "cbrt",
                "round_half_away"]
NP_NAMES = SCALAR_NAMES  # each has a *_np twin

# A spread of awkward inputs used by several tests.
SPECIAL_VALUES = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, 2.5, -2.5, -3.0, 0.49999999999999994,
                  1 - 2.0**-53, -(1 - 2.0**-53), 1e-9, 1e-300, -1e-300, 5e-324, -5e-324, 1e300,
                  -1e300, 2.6e305, 1.7976931348623157e308, -1000.0, 1000.0, INF, -INF, NAN]


def same(a, b):
    """Bitwise-level equality for floats: nan == nan and 0.0 != -0.0."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def within_ulps(a, b, n):
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return same(a, b)
    return abs(a - b) <= n * math.ulp(max(abs(a), abs(b)))


finite = st.floats(allow_nan=False, allow_infinity=False)


# ---------------------------------------------------------------------------
# erf_inv
# ---------------------------------------------------------------------------


@SETTINGS
@given(st.floats(-1.0, 1.0, exclude_min=True, exclude_max=True))
def test_erf_of_erf_inv_is_identity(y):
    x = sm.erf_inv(y)
    assert math.isfinite(x)
    # erf and the rounding of x each contribute about an ulp of y.
    assert abs(math.erf(x) - y) <= 4 * math.ulp(y) + 1e-323


@SETTINGS
@given(st.floats(0.5, 1.0, exclude_max=True))
def test_erf_inv_tail_accuracy_via_erfc(y):
    # Near 1, erf(x) ~ 1 cannot show errors in x; erfc(x) = 1 - y (exact for
    # y >= 0.5) can.  d log erfc / dx ~ -2x, so a 2-ulp error in x (x <= 6)
    # moves erfc by at most ~2 * 2 * 36 * eps relative.
    x = sm.erf_inv(y)
    assert math.isclose(math.erfc(x), 1.0 - y, rel_tol=4e-14)
    assert sm.erf_inv(-y) == -x


@pytest.mark.parametrize("k", range(1, 54))
def test_erf_inv_far_tail(k):
    q = 2.0**-k  # 1 - y for y = 1 - 2**-k, the floats closest to 1
    x = sm.erf_inv(1.0 - q)
    assert math.isclose(math.erfc(x), q, rel_tol=4e-14)


@SETTINGS
@given(st.floats(-5.5, 5.5))
def test_erf_inv_of_erf_is_identity(x):
    y = math.erf(x)
    # erf(x) is rounded to an ulp; through the inverse that is an error of
    # ulp(y) / erf'(x) in x, which is large where erf is flat (|x| > ~4).
    slope = 2.0 / math.sqrt(math.pi) * math.exp(-x * x)
    tol = 4 * math.ulp(x) + 2 * math.ulp(y) / slope
    assert abs(sm.erf_inv(y) - x) <= tol


def test_erf_inv_special_values():
    assert sm.erf_inv(1.0) == INF
    assert sm.erf_inv(-1.0) == -INF
    for bad in [1.0000000000000002, -1.0000000000000002, 2.0, INF, -INF, NAN]:
        assert math.isnan(sm.erf_inv(bad))
    assert same(sm.erf_inv(0.0), 0.0)
    assert same(sm.erf_inv(-0.0), -0.0)
    # Known value: erfinv(1/2) = 0.476936276204469873381...
    assert within_ulps(sm.erf_inv(0.5), 0.4769362762044699, 2)
    # Subnormals: erfinv(y) ~ sqrt(pi)/2 * y.
    assert sm.erf_inv(5e-324) == 5e-324
    assert math.isclose(sm.erf_inv(1e-310), math.sqrt(math.pi) / 2 * 1e-310, rel_tol=1e-9)


# ---------------------------------------------------------------------------
# digamma
# ---------------------------------------------------------------------------


def test_digamma_known_values():
    ln2 = math.log(2.0)
    # A few ulp: psi(1) = ln 10 - H_9 - ... cancels, and ln 10 alone carries
    # half an ulp of 2.3 (= 2 ulp of 0.58).
    assert within_ulps(sm.digamma(1.0), -EULER_GAMMA, 4)
    assert within_ulps(sm.digamma(0.5), -EULER_GAMMA - 2 * ln2, 4)
    for n in range(1, 40):
        # psi(n) = -gamma + H_{n-1};  psi(n + 1/2) = -gamma - 2 ln 2 + sum 2/(2k-1)
        h = math.fsum(1.0 / k for k in range(1, n))
        assert math.isclose(sm.digamma(float(n)), -EULER_GAMMA + h, rel_tol=1e-14)
        s = math.fsum([-EULER_GAMMA, -2 * ln2] + [2.0 / (2 * k - 1) for k in range(1, n + 1)])
        # psi(1.5) = 0.0365 is close to the zero of psi at 1.4616: compare
        # absolutely there.
        assert math.isclose(sm.digamma(n + 0.5), s, rel_tol=1e-14, abs_tol=1e-16)
    # psi(-1/2) = psi(1/2) + 2 = 0.0365 (near a zero again; the reference
    # itself rounds at magnitude 2) and psi(-3/2) = psi(1/2) + 2 + 2/3.
    assert math.isclose(sm.digamma(-0.5), -EULER_GAMMA - 2 * ln2 + 2, rel_tol=1e-14, abs_tol=1e-15)
    assert math.isclose(sm.digamma(-1.5), -EULER_GAMMA - 2 * ln2 + 2 + 2 / 3, rel_tol=1e-14)


def test_digamma_special_values():
    for pole in [0.0, -0.0, -1.0, -2.0, -17.0, -1e10, -(2.0**52), -(2.0**53), -1e300, -INF]:
        assert math.isnan(sm.digamma(pole)), pole
    assert math.isnan(sm.digamma(NAN))
    assert sm.digamma(INF) == INF
    # Near 0: psi(x) = -1/x - gamma + O(x).
    assert math.isclose(sm.digamma(1e-300), -1e300, rel_tol=1e-15)
    assert math.isclose(sm.digamma(-1e-300), 1e300, rel_tol=1e-15)
    # Large x: psi(x) = ln x - 1/(2x) - 1/(12 x^2) + ...
    for x in [1e8, 1e15, 1e300]:
        assert math.isclose(sm.digamma(x), math.log(x) - 0.5 / x, rel_tol=1e-15)


def lgamma_derivative(x):
    """psi(x) = d/dx log|Gamma(x)| by a 4th-order central difference of math.lgamma."""
    dist = abs(x - round(x)) if x < 0 else x  # distance to the nearest pole
    h = 1e-3 * min(1.0, dist)
    f = math.lgamma
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


@SETTINGS
@given(st.one_of(st.floats(0.5, 200.0), st.floats(-30.0, -0.05)))
def test_digamma_is_derivative_of_lgamma(x):
    assume(x > 0 or abs(x - round(x)) > 0.05)
    got = sm.digamma(x)
    assert abs(got - lgamma_derivative(x)) <= 1e-7 * max(1.0, abs(got))


@SETTINGS
@given(st.integers(-40, 40), st.integers(1, 2**40 - 1))
def test_digamma_recurrence(k, m):
    # x = k + m / 2**40 is exact and so is x + 1, so the identity
    # psi(x + 1) = psi(x) + 1/x can be checked without input rounding.
    x = k + m / 2.0**40
    assume(x != 0.0)
    a, b = sm.digamma(x), sm.digamma(x + 1.0)
    scale = max(abs(a), abs(b), abs(1.0 / x), 1.0)
    assert abs(b - (a + 1.0 / x)) <= 1e-14 * scale


# ---------------------------------------------------------------------------
# lgamma / erf / erfc
# ---------------------------------------------------------------------------


@SETTINGS
@given(st.one_of(st.floats(-170.0, 1e5), st.floats(1e5, 2.5e305)))
def test_lgamma_matches_math_lgamma(x):
    assume(not (x <= 0 and x == math.floor(x)))
    assert sm.lgamma(x) == math.lgamma(x)


def test_lgamma_special_values():
    for pole in [0.0, -0.0, -1.0, -2.0, -50.0, -(2.0**52), -(2.0**60), -1e300]:
        assert sm.lgamma(pole) == INF, pole  # math.lgamma raises here
    assert sm.lgamma(INF) == INF
    assert sm.lgamma(-INF) == INF
    assert math.isnan(sm.lgamma(NAN))
    # math.lgamma raises OverflowError beyond ~2.56e305; we return inf.
    assert sm.lgamma(2.6e305) == INF
    assert sm.lgamma(1.7976931348623157e308) == INF
    assert math.isfinite(sm.lgamma(2.5e305))
    assert math.isclose(sm.lgamma(0.5), 0.5 * math.log(math.pi), rel_tol=1e-15)
    assert sm.lgamma(1.0) == 0.0 and sm.lgamma(2.0) == 0.0


def test_erf_erfc_wrappers():
    for x in SPECIAL_VALUES:
        assert same(sm.erf(x), math.erf(x))
        assert same(sm.erfc(x), math.erfc(x))


# ---------------------------------------------------------------------------
# logistic / cbrt / round_half_away
# ---------------------------------------------------------------------------


@SETTINGS
@given(st.floats(-700.0, 700.0))
def test_logistic_matches_naive_formula(x):
    assert math.isclose(sm.logistic(x), 1.0 / (1.0 + math.exp(-x)), rel_tol=1e-15)
    # Symmetry sigma(-x) = 1 - sigma(x).
    assert abs(sm.logistic(-x) - (1.0 - sm.logistic(x))) <= 2.3e-16


def test_logistic_limits():
    assert sm.logistic(0.0) == 0.5
    assert sm.logistic(1000.0) == 1.0 and sm.logistic(INF) == 1.0
    assert sm.logistic(-1000.0) == 0.0 and sm.logistic(-INF) == 0.0
    assert math.isclose(sm.logistic(-700.0), math.exp(-700.0), rel_tol=1e-15)
    assert math.isnan(sm.logistic(NAN))


@SETTINGS
@given(st.floats(1e-100, 1e100), st.booleans())
def test_cbrt_cubes_back(a, negative):
    x = -a if negative else a
    y = sm.cbrt(x)
    assert math.copysign(1.0, y) == math.copysign(1.0, x)
    # y = cbrt(x) (1 + e), |e| <= 1 ulp; y*y*y adds 2 roundings: <= ~5 eps.
    assert math.isclose(y * y * y, x, rel_tol=1.2e-15)


@SETTINGS
@given(finite)
def test_cbrt_matches_numpy_everywhere(x):
    assert within_ulps(sm.cbrt(x), float(np.cbrt(x)), 1)


def test_cbrt_special_values():
    assert sm.cbrt(27.0) == 3.0 and sm.cbrt(-8.0) == -2.0
    for k in range(1, 200):
        assert within_ulps(sm.cbrt(float(k**3)), float(k), 1)
    for x in [0.0, -0.0, INF, -INF]:
        assert same(sm.cbrt(x), x)
    assert math.isnan(sm.cbrt(NAN))
    assert within_ulps(sm.cbrt(5e-324), float(np.cbrt(5e-324)), 1)
    assert within_ulps(sm.cbrt(1.7976931348623157e308), float(np.cbrt(1.7976931348623157e308)), 1)


def exact_round_half_away(x):
    """Reference using exact rational arithmetic."""
    r = math.floor(abs(Fraction(x)) + Fraction(1, 2))
    return math.copysign(float(r), x)


@SETTINGS
@given(st.one_of(finite, st.floats(-10.0, 10.0), st.integers(-100, 100).map(lambda k: k + 0.5)))
def test_round_half_away_matches_exact(x):
    assert same(sm.round_half_away(x), exact_round_half_away(x))


def test_round_half_away_special_values():
    cases = {0.5: 1.0, -0.5: -1.0, 1.5: 2.0, 2.5: 3.0, -2.5: -3.0, 2.4999: 2.0,
             0.49999999999999994: 0.0, -0.3: -0.0, 4503599627370497.0: 4503599627370497.0,
             2.0**52 - 0.5: 2.0**52, INF: INF, -INF: -INF}
    for x, want in cases.items():
        assert same(sm.round_half_away(x), want), x
    assert math.isnan(sm.round_half_away(NAN))


# ---------------------------------------------------------------------------
# Vectorised *_np versions
# ---------------------------------------------------------------------------


def special_array(dtype):
    with np.errstate(over="ignore"):  # 1e300 -> float32 inf is intended
        return np.array(SPECIAL_VALUES + [-1e-9, 0.3, -0.7, 7.25, -7.25], dtype=dtype)


@pytest.mark.parametrize("name", NP_NAMES)
def test_np_versions_agree_with_scalar_float64(name):
    fn, fn_np = getattr(sm, name), getattr(sm, f"{name}_np")
    a = special_array(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy warnings for nan/inf/huge inputs
        out = fn_np(a)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == a.shape
    # logistic_np/cbrt_np are separate vectorised code (and np.exp/np.cbrt
    # are not math.exp/our cbrt): allow an ulp there, exact elsewhere.
    ulps = 2 if name in ("logistic", "cbrt") else 0
    for x, r in zip(a.tolist(), out.tolist()):
        assert within_ulps(r, fn(x), ulps) if ulps else same(r, fn(x)), (name, x, r)


@pytest.mark.parametrize("name", NP_NAMES)
def test_np_versions_float32_in_float32_out(name):
    fn, fn_np = getattr(sm, name), getattr(sm, f"{name}_np")
    a = special_array(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = fn_np(a)
    assert out.dtype == np.float32 and out.shape == a.shape
    # Computed in float64 then rounded: equals the float64 scalar result
    # rounded to float32 (up to the float64 ulp leeway of logistic/cbrt,
    # which can flip a float32 rounding only by one float32 ulp).
    with np.errstate(over="ignore"):
        want = np.array([fn(float(x)) for x in a], dtype=np.float64).astype(np.float32)
    for r, w in zip(out.tolist(), want.tolist()):
        if name in ("logistic", "cbrt"):
            assert same(r, w) or abs(r - w) <= np.spacing(np.float32(abs(w))), (name, r, w)
        else:
            assert same(r, w), (name, r, w)


@pytest.mark.parametrize("name", NP_NAMES)
def test_np_versions_shapes_and_dtypes(name):
    fn, fn_np = getattr(sm, name), getattr(sm, f"{name}_np")
    for dtype in (np.float32, np.float64, np.float16):
        out = fn_np(np.array(0.3, dtype=dtype))  # 0-d in, 0-d ndarray out
        assert isinstance(out, np.ndarray) and out.shape == () and out.dtype == dtype
    out = fn_np(np.float32(0.3))  # NumPy scalar in
    assert isinstance(out, np.ndarray) and out.shape == () and out.dtype == np.float32
    out = fn_np(0.3)  # Python float in
    assert out.dtype == np.float64 and out.shape == ()
    assert within_ulps(float(out), fn(0.3), 2 if name in ("logistic", "cbrt") else 0)
    out = fn_np(np.arange(6).reshape(2, 3))  # integers -> float64
    assert out.dtype == np.float64 and out.shape == (2, 3)
    out = fn_np(np.zeros((0, 4), np.float32))
    assert out.dtype == np.float32 and out.shape == (0, 4)
    with pytest.raises(TypeError):
        fn_np(np.array([1j]))


@SETTINGS
@given(st.lists(st.floats(-40.0, 40.0, width=32), min_size=1, max_size=20))
def test_logistic_and_cbrt_np_float32(xs):
    a = np.array(xs, dtype=np.float32)
    for fn, fn_np in [(sm.logistic, sm.logistic_np), (sm.cbrt, sm.cbrt_np)]:
        out = fn_np(a)
        assert out.dtype == np.float32
        for x, r in zip(xs, out.tolist()):
            w = float(np.float32(fn(x)))
            assert abs(r - w) <= np.spacing(np.float32(abs(w))), (x, r, w)


# ---------------------------------------------------------------------------
# Numba: the same source compiles in nopython mode and agrees
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jitted():
    """Every scalar function compiled once with numba.njit (float64 signature)."""
    return {name: numba.njit("float64(float64)")(getattr(sm, name)) for name in SCALAR_NAMES}


def numba_agrees(name, x, got):
    want = getattr(sm, name)(x)
    if name == "lgamma":
        # Numba calls the C library's lgamma, Python CPython's own; they
        # differ by up to ~2e-15 * max(1, |lgamma|) (CPython's is accurate
        # in absolute rather than relative terms near the zeros of lgamma).
        if math.isfinite(want):
            return abs(got - want) <= 1e-14 * max(1.0, abs(want))
        return same(got, want)
    return same(got, want)


@pytest.mark.parametrize("name", SCALAR_NAMES)
def test_numba_special_values(jitted, name):
    for x in SPECIAL_VALUES:
        assert numba_agrees(name, x, jitted[name](x)), (name, x)


@SETTINGS
@given(st.sampled_from(SCALAR_NAMES),
       st.one_of(finite, st.floats(-5.0, 5.0), st.floats(-1.0, 1.0)))
def test_numba_agrees_with_python(jitted, name, x):
    assert numba_agrees(name, x, jitted[name](x)), (name, x)


def test_callable_from_other_numba_code(jitted):
    # Generated code calls the compiled scalar functions inside its own
    # njit'd loops; make sure that composes.
    erf_inv, digamma = jitted["erf_inv"], jitted["digamma"]

    @numba.njit
    def kernel(a):
        out = np.empty_like(a)
        for i in range(a.size):
            out[i] = digamma(1.0 + erf_inv(a[i]) ** 2)
        return out

    a = np.linspace(-0.99, 0.99, 11)
    got = kernel(a)
    want = [sm.digamma(1.0 + sm.erf_inv(y) ** 2) for y in a.tolist()]
    assert all(same(g, w) for g, w in zip(got.tolist(), want))


def test_numba_float32_arguments():
    # Generated code may pass float32 values; the functions must compile for
    # them and give float32-accurate results.
    for name in SCALAR_NAMES:
        fn = numba.njit(getattr(sm, name))
        for x in [0.3, -2.5, 1.75, 0.999, -0.6]:
            x32 = np.float32(x)
            got, want = float(fn(x32)), getattr(sm, name)(float(x32))
            assert math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-7) or same(got, want), (
                name, x, got, want)


@pytest.mark.parametrize("name", ["erf", "erfc", "erf_inv", "lgamma", "digamma"])
def test_eager_large_arrays_use_the_compiled_functions_with_the_same_values(name):
    """From 512 elements the eager versions run the Numba-compiled scalar
    functions; they agree with the Python scalar versions to rounding
    (relative to the magnitude of the function around the point)."""
    x = np.linspace(-0.999, 0.999, 2001)
    if name in ("lgamma", "digamma"):
        x = x * 7 + 7.5
    scalar = getattr(sm, name)
    reference = np.array([scalar(float(v)) for v in x])
    got = getattr(sm, name + "_np")(x)
    scale = np.maximum(np.abs(reference), 1.0)
    assert np.max(np.abs(got - reference) / scale) < 1e-14
    assert getattr(sm, name + "_np")(x.astype(np.float32)).dtype == np.float32
    small = getattr(sm, name + "_np")(x[:5])       # below the size: the Python loop
    np.testing.assert_array_equal(small, reference[:5])
