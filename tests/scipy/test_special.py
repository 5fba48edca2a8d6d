"""funcgrad.scipy.special: values against independent references (NumPy,
the ``math`` and ``statistics`` modules, mpmath when installed, analytic
identities), eagerly and staged; derivatives against central finite
differences (``check_grads``, to second order in both modes) and against
analytic formulas; the edge cases SciPy and JAX define."""
from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad.scipy import special as sp
from funcgrad.test_util import check_grads
from tests.transforms.test_jvp import fd_atol, numerical_jvp
from tests.util import arrays, assert_close, eager_and_staged, shapes

F64 = np.float64
_NORMAL = statistics.NormalDist()
GRAD = settings(max_examples=8)


def vectorize(fn):
    """A float64 elementwise reference from a scalar Python function."""
    return lambda *xs: np.vectorize(lambda *v: float(fn(*v)), otypes=[F64])(*xs)


def _grad_points(data, lo, hi, shape=(3,)):
    return data.draw(arrays(F64, shape, min_value=lo, max_value=hi))


# ------------------------------------------------------------- logsumexp
def _lse_reference(a, axis, keepdims, b=None):
    """Shifted log-sum-exp in float64 with NumPy: (log|s| + max, sign)."""
    a = np.asarray(a, F64)
    if b is not None:
        a = np.where(np.asarray(b) != 0, a, -np.inf)
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    terms = np.exp(a - m) * (1.0 if b is None else np.asarray(b, F64))
    s = np.sum(terms, axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        out = np.log(np.abs(s)) + m
    if not keepdims:
        out, s = np.squeeze(out, axis), np.squeeze(s, axis)
    return out, np.sign(s)


def _axis_for(data, ndim):
    if ndim == 0:
        return None
    return data.draw(st.one_of(
        st.none(), st.integers(-ndim, ndim - 1),
        st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim).map(tuple)))


@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]), keepdims=st.booleans())
def test_logsumexp_matches_numpy(data, dtype, keepdims):
    a = data.draw(arrays(dtype, shapes(max_dims=3), min_value=-80, max_value=80))
    axis = _axis_for(data, a.ndim)
    out = eager_and_staged(lambda v: sp.logsumexp(v, axis=axis, keepdims=keepdims), a)
    expected, _ = _lse_reference(a, axis, keepdims)
    assert_close(out, np.asarray(expected, dtype))


@given(data=st.data())
def test_logsumexp_with_weights_and_sign(data):
    shape = data.draw(shapes(min_dims=1, max_dims=2))
    a = data.draw(arrays(F64, shape, min_value=-30, max_value=30))
    b = data.draw(arrays(F64, shape[-1:], min_value=-2, max_value=2))
    b = np.where(np.abs(b) < 0.5, 0.0, b)  # some zero weights
    axis = data.draw(st.sampled_from([None, -1]))
    out, sign = eager_and_staged(lambda u, v: sp.logsumexp(u, axis, v, return_sign=True), a, b)
    expected, expected_sign = _lse_reference(a, axis, False, np.broadcast_to(b, shape))
    # Where the weighted terms nearly cancel, the reference is unreliable.
    m = np.max(np.where(np.broadcast_to(b, shape) != 0, a, -np.inf), axis=axis, keepdims=True)
    big = np.sum(np.abs(np.broadcast_to(b, shape)) * np.exp(a - np.where(np.isfinite(m), m, 0)),
                 axis=axis)
    clear = np.abs(np.exp(expected - np.squeeze(np.where(np.isfinite(m), m, 0), axis))) > 1e-6 * big
    assert_close(np.where(clear, out, 0.0), np.where(clear, expected, 0.0))
    assert_close(np.where(clear, sign, 0.0), np.where(clear, expected_sign, 0.0))
    # Without return_sign a negative sum is nan, a positive one the log.
    plain = sp.logsumexp(a, axis, b)
    assert_close(plain, np.where(expected_sign < 0, np.nan, out))


def test_logsumexp_edge_cases():
    inf, nan = np.inf, np.nan
    assert_close(sp.logsumexp(np.array([[0.0, -inf], [-inf, -inf]]), axis=1),
                 np.array([0.0, -inf]))
    assert_close(sp.logsumexp(np.array([inf, 1.0])), F64(inf))
    assert_close(sp.logsumexp(np.array([inf, -inf])), F64(inf))
    assert np.isnan(sp.logsumexp(np.array([nan, 1.0])))
    assert_close(sp.logsumexp(np.zeros(0)), F64(-inf))
    assert_close(sp.logsumexp(np.zeros((2, 0)), axis=1), np.full(2, -inf))
    # Huge entries do not overflow: log(3 e^1000) = 1000 + log 3.
    assert_close(sp.logsumexp(np.full(3, 1000.0)), F64(1000.0 + math.log(3.0)))
    assert_close(sp.logsumexp(np.full(3, -1000.0)), F64(-1000.0 + math.log(3.0)))
    # Zero weights drop entries, even infinite ones.
    assert_close(sp.logsumexp(np.array([inf, 2.0]), b=np.array([0.0, 1.0])), F64(2.0))
    assert_close(sp.logsumexp(np.array([1.0, 2.0]), b=np.zeros(2)), F64(-inf))
    out, sign = sp.logsumexp(np.array([1.0, 1.0]), b=np.array([1.0, -1.0]), return_sign=True)
    assert_close(out, F64(-inf))
    assert_close(sign, F64(0.0))
    out, sign = sp.logsumexp(np.array([1.0, 2.0]), b=np.array([1.0, -1.0]), return_sign=True)
    assert_close(out, F64(math.log(math.e ** 2 - math.e)))
    assert_close(sign, F64(-1.0))
    # where: masked entries (even +inf) take no part.
    a = np.array([1.0, inf, 3.0])
    mask = np.array([True, False, True])
    assert_close(sp.logsumexp(a, where=mask), F64(np.logaddexp(1.0, 3.0)))
    assert sp.logsumexp(np.ones((2, 3, 4)), axis=(0, 2), keepdims=True).shape == (1, 3, 1)
    # Integers become float64, as in NumPy/SciPy.
    assert_close(sp.logsumexp(np.array([0, 0])), F64(math.log(2.0)))
    with pytest.raises(TypeError, match="complex"):
        sp.logsumexp(np.array([1j]))


def _softmax_reference(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


@GRAD
@given(data=st.data())
def test_logsumexp_gradients(data):
    a = data.draw(arrays(F64, (2, 3), min_value=-5, max_value=5))
    b = data.draw(arrays(F64, (3,), min_value=0.5, max_value=2))
    check_grads(lambda v: sp.logsumexp(v, axis=1), (a,), order=2)
    check_grads(lambda v: sp.logsumexp(v), (a,), order=2)
    check_grads(lambda u, v: sp.logsumexp(u, axis=1, b=v), (a, b), order=2)
    # The gradient is the softmax; in b it is exp(a) / sum(b exp(a)).
    assert_close(funcgrad.grad(sp.logsumexp)(a), _softmax_reference(a, None))
    gb = funcgrad.grad(lambda v: sp.logsumexp(a[0], b=v))(b)
    assert_close(gb, np.exp(a[0]) / np.sum(b * np.exp(a[0])))


def test_logsumexp_gradient_is_finite_at_extremes():
    a = np.array([[1000.0, 1000.0, -np.inf], [-np.inf, -np.inf, -np.inf]])
    g = eager_and_staged(funcgrad.grad(lambda v: jnp.sum(sp.logsumexp(v, axis=1))), a)
    assert_close(g, np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 0.0]]))
    g = funcgrad.jacfwd(lambda v: sp.logsumexp(v, axis=1))(a)
    assert np.all(np.isfinite(g))
    # Masked +inf entries do not leak nan into the gradient.
    g = funcgrad.grad(lambda v: sp.logsumexp(v, where=np.array([True, False, True])))(
        np.array([1.0, np.inf, 3.0]))
    assert_close(g, np.array([1 / (1 + math.e ** 2), 0.0, 1 / (1 + math.e ** -2)]))


# ---------------------------------------------------------------- softmax
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_softmax_and_log_softmax_match_numpy(data, dtype):
    x = data.draw(arrays(dtype, shapes(min_dims=1, max_dims=3), min_value=-50, max_value=50))
    axis = _axis_for(data, x.ndim)
    y = eager_and_staged(lambda v: sp.softmax(v, axis=axis), x)
    expected = _softmax_reference(x.astype(F64), axis)
    assert_close(y, expected.astype(dtype))
    ly = eager_and_staged(lambda v: sp.log_softmax(v, axis=axis), x)
    shifted = x.astype(F64) - np.max(x.astype(F64), axis=axis, keepdims=True)
    expected_log = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    assert_close(ly, expected_log.astype(dtype), atol=1e-5 if dtype == np.float32 else None)


@GRAD
@given(data=st.data())
def test_softmax_gradients(data):
    x = _grad_points(data, -4, 4, (2, 3))
    check_grads(lambda v: sp.softmax(v, axis=1), (x,), order=2)
    check_grads(lambda v: sp.log_softmax(v, axis=1), (x,), order=2)
    check_grads(lambda v: sp.softmax(v), (x,), order=1)
    # The Jacobian of softmax is diag(y) - y y^T.
    y = _softmax_reference(x[0], None)
    assert_close(funcgrad.jacrev(sp.softmax)(x[0]), np.diag(y) - np.outer(y, y))
    assert_close(funcgrad.jacfwd(sp.log_softmax)(x[0]), np.eye(3) - y[None, :])


def test_softmax_extremes():
    x = np.array([1000.0, 1000.0, -np.inf])
    assert_close(sp.softmax(x), np.array([0.5, 0.5, 0.0]))
    assert_close(sp.log_softmax(np.array([1000.0, 1.0])), np.array([0.0, -999.0]))
    jac = funcgrad.jacrev(sp.softmax)(x)
    assert_close(jac, np.array([[0.25, -0.25, 0.0], [-0.25, 0.25, 0.0], [0.0, 0.0, 0.0]]))
    # As in JAX: +inf, or only -inf, in a slice gives nan.
    assert np.all(np.isnan(sp.softmax(np.array([np.inf, 0.0]))[:1]))
    assert np.all(np.isnan(sp.softmax(np.array([-np.inf, -np.inf]))))


# ------------------------------------------------------------ expit, logit
@given(x=arrays(F64, shapes(max_dims=2), min_value=-800, max_value=800))
def test_expit_matches_reference(x):
    with np.errstate(over="ignore"):
        expected = 1.0 / (1.0 + np.exp(-x))
    assert_close(eager_and_staged(sp.expit, x), expected)


@given(p=arrays(F64, shapes(max_dims=2), min_value=0, max_value=1))
def test_logit_matches_reference(p):
    def ref(v):
        if v == 0.0:
            return -math.inf
        if v == 1.0:
            return math.inf
        return math.log(v / (1.0 - v))
    out = eager_and_staged(sp.logit, p)
    assert_close(out, vectorize(ref)(p))
    interior = (p > 1e-300) & (p < 1.0)
    assert_close(np.asarray(sp.expit(out))[interior], p[interior], rtol=1e-14)


@GRAD
@given(data=st.data())
def test_expit_logit_gradients(data):
    x = _grad_points(data, -6, 6)
    p = _grad_points(data, 0.05, 0.95)
    check_grads(sp.expit, (x,), order=2)
    check_grads(sp.logit, (p,), order=2)
    assert_close(funcgrad.jacfwd(sp.logit)(p), np.diag(1 / (p * (1 - p))))
    s = 1 / (1 + np.exp(-x))
    assert_close(funcgrad.jacrev(sp.expit)(x), np.diag(s * (1 - s)))


def test_logit_edges():
    assert_close(sp.logit(np.array([0.0, 1.0])), np.array([-np.inf, np.inf]))
    assert np.all(np.isnan(sp.logit(np.array([-0.5, 1.5, np.nan]))))


# ------------------------------------------------------------- xlogy family
def _xlogy_ref(x, y):
    return 0.0 if x == 0 else x * (math.log(y) if y > 0 else (-math.inf if y == 0 else math.nan))


def _xlog1py_ref(x, y):
    if x == 0:
        return 0.0
    return x * (math.log1p(y) if y > -1 else (-math.inf if y == -1 else math.nan))


@given(data=st.data())
def test_xlogy_xlog1py_values(data):
    x = data.draw(arrays(F64, (4,), min_value=-3, max_value=3))
    x = np.where(np.abs(x) < 1, 0.0, x)  # plenty of exact zeros
    y = data.draw(arrays(F64, (4,), min_value=0, max_value=5))
    assert_close(eager_and_staged(sp.xlogy, x, y), vectorize(_xlogy_ref)(x, y))
    y1 = y - 1.0
    assert_close(eager_and_staged(sp.xlog1py, x, y1), vectorize(_xlog1py_ref)(x, y1))
    # Broadcasting a scalar against an array.
    assert_close(sp.xlogy(2.0, y[y > 0]), 2.0 * np.log(y[y > 0]))


@GRAD
@given(data=st.data())
def test_xlogy_xlog1py_gradients(data):
    x = _grad_points(data, -3, 3)
    y = _grad_points(data, 0.2, 4)
    check_grads(sp.xlogy, (x, y), order=2)
    check_grads(sp.xlog1py, (x, y - 0.5), order=2)


def test_xlogy_at_zero_has_finite_derivatives():
    for fn, log_fn, y in ((sp.xlogy, math.log, 2.0), (sp.xlog1py, math.log1p, 1.0)):
        assert_close(fn(0.0, y), F64(0.0), check_dtype=False)
        gx, gy = funcgrad.grad(fn, (0, 1))(0.0, y)
        assert_close(gx, F64(log_fn(y)))   # d/dx x log y = log y, also at x = 0
        assert_close(gy, F64(0.0))         # d/dy = x / y = 0
        _, t = funcgrad.jvp(fn, (0.0, y), (1.0, 1.0))
        assert_close(t, F64(log_fn(y)), check_dtype=False)
    # At y = 0 as well: the derivative in y stays finite (x / y taken as 0).
    gx, gy = funcgrad.grad(sp.xlogy, (0, 1))(0.0, 0.0)
    assert gx == -np.inf and gy == 0.0


def test_entropy_functions():
    def entr_ref(x):
        return -math.inf if x < 0 else (0.0 if x == 0 else -x * math.log(x))

    def rel_entr_ref(p, q):
        if p > 0 and q > 0:
            return p * math.log(p / q)
        return 0.0 if p == 0 and q >= 0 else math.inf

    x = np.array([-1.0, 0.0, 1e-300, 0.3, 1.0, 7.0])
    assert_close(eager_and_staged(sp.entr, x), vectorize(entr_ref)(x))
    p = np.array([0.0, 0.0, 0.5, 0.5, -1.0, 2.0, 1e-300])
    q = np.array([0.0, 1.0, 0.25, 0.0, 1.0, -1.0, 1e-300])
    assert_close(eager_and_staged(sp.rel_entr, p, q), vectorize(rel_entr_ref)(p, q))
    kl = vectorize(lambda a, b: rel_entr_ref(a, b) - a + b)(p, q)
    assert_close(eager_and_staged(sp.kl_div, p, q), kl)


@GRAD
@given(data=st.data())
def test_entropy_gradients(data):
    p = _grad_points(data, 0.1, 3)
    q = _grad_points(data, 0.1, 3)
    check_grads(sp.entr, (p,), order=2)
    check_grads(sp.rel_entr, (p, q), order=2)
    check_grads(sp.kl_div, (p, q), order=2)
    assert_close(funcgrad.jacfwd(sp.entr)(p), np.diag(-np.log(p) - 1))
    gp, gq = funcgrad.grad(lambda a, b: jnp.sum(sp.kl_div(a, b)), (0, 1))(p, q)
    assert_close(gp, np.log(p / q))
    assert_close(gq, 1 - p / q)
    # entr'(0) = +inf (exactly), not nan.
    assert funcgrad.grad(sp.entr)(0.0) == np.inf


# ------------------------------------------------- gamma, error functions
@given(x=arrays(F64, shapes(max_dims=2), min_value=0.01, max_value=150))
def test_gammaln_erf_erfc_match_math(x):
    assert_close(eager_and_staged(sp.gammaln, x), vectorize(math.lgamma)(x), rtol=1e-13)
    z = x / 10 - 3
    assert_close(eager_and_staged(sp.erf, z), vectorize(math.erf)(z), rtol=1e-14)
    assert_close(eager_and_staged(sp.erfc, z), vectorize(math.erfc)(z), rtol=1e-13, atol=0)


def test_digamma_polygamma_identities():
    x = np.array([0.3, 1.0, 2.5, 10.0])
    assert_close(sp.digamma(1.0), F64(-np.euler_gamma), check_dtype=False)
    # psi(x + 1) = psi(x) + 1/x; psi^(n)(x + 1) = psi^(n)(x) + (-1)^n n! / x^(n+1).
    assert_close(sp.digamma(x + 1), np.asarray(sp.digamma(x)) + 1 / x)
    for n in range(1, 4):
        step = (-1) ** n * math.factorial(n) / x ** (n + 1)
        assert_close(sp.polygamma(n, x + 1), np.asarray(sp.polygamma(n, x)) + step, rtol=1e-11)
    assert_close(sp.polygamma(1, 1.0), F64(math.pi ** 2 / 6), check_dtype=False)
    assert_close(sp.polygamma(0, x), sp.digamma(x))
    assert_close(sp.polygamma(np.array([0, 1]), 0.5),
                 np.array([-np.euler_gamma - 2 * math.log(2), math.pi ** 2 / 2]))


def test_digamma_polygamma_match_mpmath():
    mpmath = pytest.importorskip("mpmath")
    x = np.array([-2.5, 0.1, 0.7, 3.3, 40.0])
    assert_close(eager_and_staged(sp.digamma, x), vectorize(mpmath.digamma)(x), rtol=1e-13)
    for n in (1, 2, 3):
        expected = vectorize(lambda v: mpmath.polygamma(n, v))(x)
        assert_close(sp.polygamma(n, x), expected, rtol=1e-11)


@given(u=arrays(F64, shapes(max_dims=2), min_value=-0.999999, max_value=0.999999))
def test_erfinv_inverts_erf(u):
    y = eager_and_staged(sp.erfinv, u)
    # erf is well conditioned as a reference: erf(erfinv(u)) = u.
    assert_close(vectorize(math.erf)(np.asarray(y)), u, rtol=1e-13, atol=1e-15)


@GRAD
@given(data=st.data())
def test_gamma_and_error_function_gradients(data):
    x = _grad_points(data, 0.3, 6)
    z = _grad_points(data, -2, 2)
    u = _grad_points(data, -0.9, 0.9)
    for fn, arg in ((sp.gammaln, x), (sp.digamma, x), (lambda v: sp.polygamma(1, v), x),
                    (sp.erf, z), (sp.erfc, z), (sp.erfinv, u)):
        check_grads(fn, (arg,), order=2)
    assert_close(funcgrad.jacfwd(sp.gammaln)(x), np.diag(np.asarray(sp.digamma(x))))
    assert_close(funcgrad.jacrev(sp.erf)(z), np.diag(2 / math.sqrt(math.pi) * np.exp(-z ** 2)))


# -------------------------------------------------------- normal CDF family
def _ndtr_ref(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _log_ndtr_ref(x):
    if x > 0:
        return math.log1p(-_ndtr_ref(-x))
    return math.log(_ndtr_ref(x))


def _assert_conditioned(actual, expected, x):
    """Relative agreement up to the conditioning of the normal tails: the
    rounding of x (or x / sqrt 2) alone moves Phi(x) by a relative
    ~x**2 * eps, in the reference as in the function checked."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    tol = 4e-16 * (1.0 + np.asarray(x) ** 2) * np.abs(expected) + 1e-300
    np.testing.assert_array_less(np.abs(actual - expected), tol)


@given(x=arrays(F64, shapes(max_dims=2), min_value=-37, max_value=37))
def test_ndtr_and_log_ndtr_match_math(x):
    _assert_conditioned(eager_and_staged(sp.ndtr, x), vectorize(_ndtr_ref)(x), x)
    _assert_conditioned(eager_and_staged(sp.log_ndtr, x), vectorize(_log_ndtr_ref)(x), x)


def test_log_ndtr_far_tail():
    x = np.array([-37.5, -40.0, -100.0, -1e4, -1e8])
    out = np.asarray(sp.log_ndtr(x))
    # Leading behaviour: log Phi(x) = -x^2/2 - log(-x) - log sqrt(2 pi) + O(1/x^2).
    leading = -x ** 2 / 2 - np.log(-x) - 0.5 * math.log(2 * math.pi)
    assert np.all(np.abs(out - leading) <= 1.01 / x ** 2)
    assert_close(sp.log_ndtr(np.array([-np.inf, np.inf])), np.array([-np.inf, 0.0]))
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    assert_close(out, vectorize(lambda v: mpmath.log(mpmath.ncdf(v)))(x), rtol=1e-15)


def test_log_ndtr_derivative_is_accurate_in_both_tails():
    x = np.array([-1e4, -200.0, -60.0, -38.0, -36.0, -5.0, 0.0, 3.0, 30.0, 1e4])
    g = np.array([funcgrad.grad(sp.log_ndtr)(v) for v in x])
    assert np.all(np.isfinite(g))
    # Where the math module can: phi(x) / Phi(x).
    mid = np.abs(x) <= 36
    phi = np.exp(-x[mid] ** 2 / 2) / math.sqrt(2 * math.pi)
    assert_close(g[mid], phi / vectorize(_ndtr_ref)(x[mid]), rtol=1e-12, atol=1e-300)
    # Far lower tail: phi/Phi = -x / (1 - 1/x^2 + 3/x^4 - ...)
    #                         = -x - 1/x + 2/x^3 - 10/x^5 + O(x^-7).
    low = x < -50
    xl = x[low]
    assert_close(g[low], -xl - 1 / xl + 2 / xl ** 3 - 10 / xl ** 5, rtol=1e-12)
    assert g[-1] == 0.0


@settings(max_examples=4)
@given(data=st.data())
def test_normal_cdf_gradients(data):
    x = _grad_points(data, -8, 5)
    check_grads(sp.ndtr, (x,), order=2)
    check_grads(sp.log_ndtr, (x,), order=2)
    far = _grad_points(data, -300, -38)
    check_grads(sp.log_ndtr, (far,), order=2, eps=1e-4)
    p = _grad_points(data, 0.02, 0.98)
    check_grads(sp.ndtri, (p,), order=2)


@given(data=st.data())
def test_ndtri_matches_statistics(data):
    # Python's statistics.NormalDist.inv_cdf (Wichura's AS241) is accurate to
    # a few ulps down to 1e-300.
    log10_p = data.draw(arrays(F64, (6,), min_value=-300, max_value=-0.302))
    p = 10.0 ** log10_p
    p = np.concatenate([p, 1 - p[p > 1e-16], data.draw(arrays(F64, (4,), min_value=0.1,
                                                              max_value=0.9))])
    out = eager_and_staged(sp.ndtri, p)
    assert_close(out, vectorize(_NORMAL.inv_cdf)(p), rtol=4e-15, atol=1e-15)


def test_ndtri_edges_and_derivative():
    assert_close(sp.ndtri(np.array([0.0, 1.0, 0.5])), np.array([-np.inf, np.inf, 0.0]))
    assert np.all(np.isnan(sp.ndtri(np.array([-0.1, 1.1, np.nan]))))
    assert_close(sp.ndtri(np.array([5e-324, 1e-300])),
                 vectorize(_NORMAL.inv_cdf)(np.array([5e-324, 1e-300])), rtol=1e-14)
    p = np.array([1e-300, 1e-10, 0.3, 0.5, 0.9, 1 - 1e-12])
    x = np.asarray(sp.ndtri(p))
    g = [funcgrad.grad(sp.ndtri)(v) for v in p]
    assert_close(np.array(g), math.sqrt(2 * math.pi) * np.exp(x ** 2 / 2), rtol=1e-13)
    assert funcgrad.grad(sp.ndtri)(0.0) == np.inf


# -------------------------------------------------------- dtypes and errors
ELEMENTWISE = [
    (sp.expit, 0.3), (sp.logit, 0.3), (sp.gammaln, 2.5), (sp.digamma, 2.5), (sp.erf, 0.3),
    (sp.erfc, 0.3), (sp.erfinv, 0.3), (sp.ndtr, -2.0), (sp.log_ndtr, -2.0), (sp.ndtri, 0.01),
    (sp.entr, 0.3), (lambda v: sp.xlogy(v, v), 0.3), (lambda v: sp.xlog1py(v, v), 0.3),
    (lambda v: sp.rel_entr(v, 0.5), 0.3), (lambda v: sp.kl_div(v, 0.5), 0.3),
    (lambda v: sp.polygamma(1, v), 2.5), (lambda v: sp.logsumexp(v), 0.3),
    (lambda v: sp.softmax(v), 0.3), (lambda v: sp.log_softmax(v), 0.3)]


@pytest.mark.parametrize("fn, x", ELEMENTWISE)
def test_float32_is_kept_and_agrees_with_float64(fn, x):
    x32 = np.full(3, x, np.float32)
    out = eager_and_staged(fn, x32)
    assert np.asarray(out).dtype == np.float32
    assert_close(out, np.asarray(fn(x32.astype(F64))).astype(np.float32), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn, x", ELEMENTWISE)
def test_staged_gradients_match_finite_differences(fn, x):
    # grad staged (make_jaxpr + eval_jaxpr) equals grad eager; both agree
    # with a central difference along a random direction.
    xs = x * np.array([1.0, 1.1, 0.9])
    total = lambda v: jnp.sum(fn(v) * np.array([1.0, -2.0, 0.5]))  # noqa: E731
    g = eager_and_staged(funcgrad.grad(total), xs)
    t = np.random.default_rng(0).normal(size=3)
    assert_close(np.dot(g, t), numerical_jvp(total, xs, t), rtol=1e-6,
                 atol=fd_atol(total, xs, t))
    h = eager_and_staged(funcgrad.jacfwd(funcgrad.grad(total)), xs)
    assert_close(h @ t, numerical_jvp(funcgrad.grad(total), xs, t), rtol=1e-6,
                 atol=fd_atol(funcgrad.grad(total), xs, t))


@pytest.mark.parametrize("fn, x", ELEMENTWISE)
def test_float32_derivatives(fn, x):
    x32 = np.array([x, x * 1.1, x * 0.9], np.float32)
    for jac in (funcgrad.jacrev, funcgrad.jacfwd):
        d32 = jac(fn)(x32)
        assert np.asarray(d32).dtype == np.float32
        d64 = np.asarray(jac(fn)(x32.astype(F64)))
        assert_close(d32, d64.astype(np.float32), rtol=1e-4, atol=1e-5)


def test_float32_tails():
    assert_close(sp.log_ndtr(np.float32(-20.0)), np.float32(_log_ndtr_ref(-20.0)), rtol=1e-6)
    assert_close(sp.ndtri(np.float32(1e-30)), np.float32(_NORMAL.inv_cdf(1e-30)), rtol=1e-6)


def test_integer_inputs_and_complex_errors():
    assert_close(sp.gammaln(np.array([1, 4])), np.array([0.0, math.log(6.0)]))
    assert_close(sp.xlogy(np.array([0, 2]), np.array([0, 1])), np.array([0.0, 0.0]))
    for fn in (sp.erf, sp.ndtri, sp.log_ndtr, sp.expit):
        with pytest.raises(TypeError, match="complex"):
            fn(np.array([1j]))
