"""funcgrad.random samplers: shapes and dtypes, distributions (KS tests
against exact CDFs written in NumPy/math, chi-square tests on counts,
moments within standard errors derived from the sample size), edge cases
and argument errors.  SciPy, when installed, adds checks at parameters
without a closed-form CDF."""
from __future__ import annotations

import math

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import random
from tests.random import stats
from tests.random.stats import assert_counts, assert_ks, assert_moments

N = 20000
KEY = random.key(20240611)


def draw(fn, *args, **kwargs):
    return np.asarray(fn(KEY, *args, **kwargs))


# ------------------------------------------------------------ continuous
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_uniform(dtype):
    u = draw(random.uniform, (N,), dtype)
    assert u.dtype == dtype and u.shape == (N,)
    assert u.min() >= 0 and u.max() < 1
    assert_ks(u, lambda x: x, "uniform")
    assert_moments(u, 0.5, 1 / 12, 1 / 80, "uniform")
    # The resolution is the significand's: k / 2**53 (k / 2**24 for float32).
    bits = 53 if dtype == np.float64 else 24
    scaled = u.astype(np.float64) * 2.0 ** bits
    np.testing.assert_array_equal(scaled, np.floor(scaled))
    assert len(np.unique(u)) > 0.99 * N


def test_uniform_bounds_broadcast_and_never_reach_maxval():
    lo, hi = np.array([-3.0, 0.0, 0.5]), np.array([[1.0], [2.0]])
    x = np.asarray(random.uniform(KEY, (2, 3), minval=lo, maxval=hi))
    assert np.all(x >= lo) and np.all(x < hi)
    w = draw(random.uniform, (N,), minval=-2.0, maxval=5.0)
    assert_ks(w, lambda t: (t + 2.0) / 7.0, "uniform(-2, 5)")
    # An interval one ulp wide: rounding must not produce maxval.
    tiny = draw(random.uniform, (1000,), minval=1.0, maxval=np.nextafter(1.0, 2.0))
    np.testing.assert_array_equal(tiny, 1.0)
    f32 = draw(random.uniform, (1000,), np.float32, minval=np.float32(1.0),
               maxval=np.nextafter(np.float32(1.0), np.float32(2.0)))
    np.testing.assert_array_equal(f32, np.float32(1.0))
    assert f32.dtype == np.float32
    np.testing.assert_array_equal(draw(random.uniform, (5,), minval=2.0, maxval=2.0), 2.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_normal(dtype):
    x = draw(random.normal, (N,), dtype)
    assert x.dtype == dtype and np.all(np.isfinite(x))
    assert_ks(x, stats.normal_cdf, "normal")
    assert_moments(x, 0.0, 1.0, 3.0, "normal")


def test_normal_is_symmetric_and_finite_at_the_extremes():
    # The extreme uniform midpoints map to +-the largest values, finite.
    u_extremes = np.array([0.5 / 2 ** 52, 1 - 0.5 / 2 ** 52])
    z = np.asarray(random.distributions.normal_from_unit(u_extremes))
    assert np.all(np.isfinite(z)) and z[0] == -z[1] and 8.0 < z[1] < 8.3


def test_complex_normal():
    z = draw(random.normal, (N,), np.complex128)
    assert z.dtype == np.complex128
    assert_moments(z.real, 0.0, 0.5, 0.75, "normal real part")
    assert_moments(z.imag, 0.0, 0.5, 0.75, "normal imaginary part")
    assert abs(np.corrcoef(z.real, z.imag)[0, 1]) < 5 / math.sqrt(N)
    assert random.normal(KEY, (2,), np.complex64).dtype == np.complex64


_CONTINUOUS = {
    "exponential": (random.exponential, lambda x: -np.expm1(-x), (1.0, 1.0, 9.0)),
    "gumbel": (random.gumbel, lambda x: np.exp(-np.exp(-x)),
               (np.euler_gamma, np.pi ** 2 / 6, None)),
    "laplace": (random.laplace, lambda x: np.where(x < 0, 0.5 * np.exp(np.minimum(x, 0)),
                                                   1 - 0.5 * np.exp(-np.maximum(x, 0))),
                (0.0, 2.0, 24.0)),
    "logistic": (random.logistic, lambda x: 1 / (1 + np.exp(-x)), (0.0, np.pi ** 2 / 3, None)),
    "cauchy": (random.cauchy, lambda x: 0.5 + np.arctan(x) / np.pi, None),
}


@pytest.mark.parametrize("name", sorted(_CONTINUOUS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_continuous_one_parameter_free(name, dtype):
    fn, cdf, moments = _CONTINUOUS[name]
    x = draw(fn, (N,), dtype)
    assert x.dtype == dtype and x.shape == (N,) and np.all(np.isfinite(x))
    assert_ks(x, cdf, name)
    if moments is not None and moments[2] is not None:
        assert_moments(x, *moments, name)
    elif moments is not None:
        assert abs(x.mean() - moments[0]) < 5 * math.sqrt(moments[1] / N), name
    assert fn(KEY).shape == ()


@pytest.mark.parametrize("lower,upper", [(-1.0, 2.0), (-np.inf, 0.5), (1.0, np.inf), (5.0, 6.0),
                                         (-6.0, -5.0)])
def test_truncated_normal(lower, upper):
    x = draw(random.truncated_normal, lower, upper, (N,))
    assert np.all(x > lower) and np.all(x < upper)
    # Reference CDF: (Phi(x) - Phi(a)) / (Phi(b) - Phi(a)), in the upper
    # tail from survival functions (which keep their precision there).
    if lower >= 0:
        cdf = lambda t: ((stats.normal_sf(lower) - stats.normal_sf(t))
                         / (stats.normal_sf(lower) - stats.normal_sf(upper)))
    else:
        cdf = lambda t: ((stats.normal_cdf(t) - stats.normal_cdf(lower))
                         / (stats.normal_cdf(upper) - stats.normal_cdf(lower)))
    assert_ks(x, cdf, f"truncated_normal({lower}, {upper})")


def test_truncated_normal_far_tails():
    x = draw(random.truncated_normal, 40.0, 41.0, (N,))
    assert np.all(np.isfinite(x)) and np.all(x > 40.0) and np.all(x < 41.0)
    log_sf_a, log_sf_b = stats.log_normal_sf_tail(40.0), stats.log_normal_sf_tail(41.0)
    cdf = lambda t: (-np.expm1(stats.log_normal_sf_tail(t) - log_sf_a)
                     / -np.expm1(log_sf_b - log_sf_a))
    assert_ks(x, cdf, "truncated_normal(40, 41)")
    # Beyond the smallest float probability (Phi(-800) = exp(-320000)): mirrored.
    y = draw(random.truncated_normal, -np.inf, -800.0, (N,))
    assert np.all(np.isfinite(y)) and np.all(y < -800.0)
    cdf = lambda t: np.exp(stats.log_normal_sf_tail(-t) - stats.log_normal_sf_tail(800.0))
    assert_ks(y, cdf, "truncated_normal(-inf, -800)")


def test_truncated_normal_float32_and_broadcasting():
    x = np.asarray(random.truncated_normal(KEY, np.array([-1.0, 0.0, 3.0]), 4.0, (1000, 3),
                                           np.float32))
    assert x.dtype == np.float32 and x.shape == (1000, 3)
    assert np.all(x > [-1.0, 0.0, 3.0]) and np.all(x < 4.0)
    assert random.truncated_normal(KEY, np.zeros(4), 1.0).shape == (4,)
    y = draw(random.truncated_normal, -2.0, 1.0, (N,), np.float32)
    cdf = lambda t: ((stats.normal_cdf(t) - stats.normal_cdf(-2.0))
                     / (stats.normal_cdf(1.0) - stats.normal_cdf(-2.0)))
    assert_ks(y, cdf, "truncated_normal float32")


@pytest.mark.parametrize("method", ["cholesky", "eigh", "svd"])
def test_multivariate_normal(method):
    mean = np.array([1.0, -2.0, 0.5])
    a = np.array([[2.0, 0.3, 0.0], [0.5, 1.0, 0.2], [0.1, -0.4, 0.7]])
    cov = a @ a.T
    x = np.asarray(random.multivariate_normal(KEY, mean, cov, (N,), method=method))
    assert x.shape == (N, 3) and x.dtype == np.float64
    # Whitened samples are independent standard normals.
    white = np.linalg.solve(np.linalg.cholesky(cov), (x - mean).T).T
    for j in range(3):
        assert_ks(white[:, j], stats.normal_cdf, f"whitened component {j}")
    c = np.cov(x.T)
    se = np.sqrt((cov ** 2 + np.outer(np.diag(cov), np.diag(cov))) / N)
    assert np.all(np.abs(c - cov) < 5 * se), (c, cov)


def test_multivariate_normal_shapes_and_singular_cov():
    mean = np.zeros((4, 2))
    assert random.multivariate_normal(KEY, mean, np.eye(2)).shape == (4, 2)
    assert random.multivariate_normal(KEY, np.zeros(2), np.eye(2), (5, 4)).shape == (5, 4, 2)
    assert random.multivariate_normal(KEY, np.zeros(2), np.eye(2), dtype=np.float32
                                      ).dtype == np.float32
    # A rank-one covariance: the samples lie on the line x = y (eigh only).
    x = np.asarray(random.multivariate_normal(KEY, np.zeros(2), np.ones((2, 2)), (100,),
                                              method="eigh"))
    np.testing.assert_allclose(x[:, 0], x[:, 1], atol=1e-7)
    with pytest.raises(ValueError, match="multivariate_normal"):
        random.multivariate_normal(KEY, np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="method"):
        random.multivariate_normal(KEY, np.zeros(2), np.eye(2), method="lu")
    with pytest.raises(ValueError, match="broadcast"):
        random.multivariate_normal(KEY, mean, np.eye(2), (3,))


# ------------------------------------------------------------ gamma family
@pytest.mark.parametrize("a", [0.5, 1.0, 1.5, 3.0, 7.5])
def test_gamma_ks_closed_form_cdfs(a):
    x = draw(random.gamma, a, (N,))
    assert np.all(x > 0)
    assert_ks(x, stats.gamma_cdf(a), f"gamma({a})")
    assert_moments(x, a, a, 3 * a * a + 6 * a, f"gamma({a})")


@pytest.mark.parametrize("a", [0.05, 0.3, 2.7, 40.0])
def test_gamma_moments_and_scipy(a):
    x = draw(random.gamma, a, (N,))
    assert_moments(x, a, a, 3 * a * a + 6 * a, f"gamma({a})")
    scipy_stats = pytest.importorskip("scipy.stats")
    assert_ks(x, scipy_stats.gamma(a).cdf, f"gamma({a}) vs scipy")


def test_gamma_array_parameters_and_float32():
    a = np.array([0.2, 1.0, 4.0, 25.0])
    x = np.asarray(random.gamma(KEY, a, (5000, 4)))
    for j, aj in enumerate(a):
        assert_moments(x[:, j], aj, aj, 3 * aj * aj + 6 * aj, f"gamma column {aj}")
    y = draw(random.gamma, np.float32(2.0), (N,), np.float32)
    assert y.dtype == np.float32
    assert_ks(y, stats.gamma_cdf(2.0), "gamma float32")
    assert random.gamma(KEY, np.ones((2, 3))).shape == (2, 3)


def test_gamma_edge_parameters():
    a = np.array([0.0, -1.0, np.nan, np.inf, 1e-3])
    x = np.asarray(random.gamma(KEY, a))
    assert x[0] == 0.0 and np.isnan(x[1]) and np.isnan(x[2]) and x[3] == np.inf
    assert 0.0 <= x[4] < 1.0
    lg = np.asarray(random.loggamma(KEY, a))
    assert lg[0] == -np.inf and np.isnan(lg[1]) and lg[3] == np.inf and np.isfinite(lg[4])
    # Empty samples need no iterations.
    assert random.gamma(KEY, 2.0, (0,)).shape == (0,)


def test_loggamma_matches_gamma_and_stays_finite_for_tiny_a():
    a = np.array([0.01, 0.5, 3.0])
    np.testing.assert_allclose(np.exp(np.asarray(random.loggamma(KEY, a, (100, 3)))),
                               random.gamma(KEY, a, (100, 3)), rtol=1e-13)
    lg = draw(random.loggamma, 1e-3, (N,))
    assert np.all(np.isfinite(lg))
    # For a -> 0, a * log(X) is close to log(U) (X = G(a+1) U**(1/a)):
    # minus it is Exp(1) up to O(a).
    assert_moments(-1e-3 * lg, 1.0, 1.0, 9.0, "a log loggamma(1e-3)")


@pytest.mark.parametrize("a,b,cdf", [
    (2.0, 3.0, stats.beta_cdf_integer(2, 3)),
    (0.5, 0.5, lambda x: 2 / np.pi * np.arcsin(np.sqrt(x))),
    (1.0, 4.0, lambda x: 1 - (1 - x) ** 4),
])
def test_beta(a, b, cdf):
    x = draw(random.beta, a, b, (N,))
    assert np.all((x >= 0) & (x <= 1))
    assert_ks(x, cdf, f"beta({a}, {b})")
    m = a / (a + b)
    v = a * b / ((a + b) ** 2 * (a + b + 1))
    assert abs(x.mean() - m) < 5 * math.sqrt(v / N)


def test_beta_shapes_and_tiny_parameters():
    assert random.beta(KEY, np.ones(3), np.ones((2, 1))).shape == (2, 3)
    x = np.asarray(random.beta(KEY, 1e-3, 1e-3, (1000,), np.float32))
    assert x.dtype == np.float32 and not np.isnan(x).any()
    # Mass near 0 and 1, equally: Beta(a, a) for a -> 0 is Bernoulli(1/2).
    assert abs(np.mean(x > 0.5) - 0.5) < 5 * 0.5 / math.sqrt(1000)


def test_dirichlet():
    alpha = np.array([1.0, 2.0, 3.0])
    x = draw(random.dirichlet, alpha, (N,))
    assert x.shape == (N, 3)
    np.testing.assert_allclose(x.sum(-1), 1.0, rtol=1e-14)
    # Marginals are Beta(alpha_i, alpha_0 - alpha_i).
    assert_ks(x[:, 0], lambda t: 1 - (1 - t) ** 5, "dirichlet marginal 0 = Beta(1, 5)")
    assert_ks(x[:, 2], stats.beta_cdf_integer(3, 3), "dirichlet marginal 2 = Beta(3, 3)")
    a0 = alpha.sum()
    for j in range(3):
        v = alpha[j] * (a0 - alpha[j]) / (a0 ** 2 * (a0 + 1))
        assert abs(x[:, j].mean() - alpha[j] / a0) < 5 * math.sqrt(v / N)
    assert random.dirichlet(KEY, np.ones((4, 2))).shape == (4, 2)
    assert random.dirichlet(KEY, np.ones(2), (3, 5)).shape == (3, 5, 2)
    small = np.asarray(random.dirichlet(KEY, np.full(3, 1e-3), (100,)))
    np.testing.assert_allclose(small.sum(-1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="dirichlet"):
        random.dirichlet(KEY, 1.0)


# ------------------------------------------------------------ discrete
@pytest.mark.parametrize("p", [0.5, 0.1, 0.999])
def test_bernoulli(p):
    x = draw(random.bernoulli, p, (N,))
    assert x.dtype == np.bool_
    assert abs(x.sum() - N * p) < 5 * math.sqrt(N * p * (1 - p))


def test_bernoulli_shapes_and_extremes():
    p = np.array([0.0, 1.0, 0.5])
    assert random.bernoulli(KEY, p).shape == (3,)
    x = np.asarray(random.bernoulli(KEY, p, (1000, 3)))
    assert not x[:, 0].any() and x[:, 1].all()
    assert random.bernoulli(KEY).shape == ()
    with pytest.raises(ValueError, match="bernoulli"):
        random.bernoulli(KEY, np.ones(3), (4,))


def test_categorical():
    probs = np.array([0.1, 0.0, 0.6, 0.3])
    with np.errstate(divide="ignore"):
        logits = np.log(probs)
    x = draw(random.categorical, logits, shape=(N,))
    assert x.dtype == np.int64
    assert_counts(x, probs, "categorical")
    # Unnormalised logits give the same distribution (softmax).
    assert_counts(draw(random.categorical, logits + 7.0, shape=(N,)), probs, "shifted logits")


def test_categorical_batches_and_axis():
    logits = np.log(np.array([[0.2, 0.8], [0.7, 0.3], [0.5, 0.5]]))     # (3, 2)
    x = np.asarray(random.categorical(KEY, logits, shape=(N // 4, 3)))
    assert x.shape == (N // 4, 3)
    for row in range(3):
        assert_counts(x[:, row], np.exp(logits[row]), f"categorical row {row}")
    y = np.asarray(random.categorical(KEY, logits.T, axis=0, shape=(N // 4, 3)))
    for row in range(3):
        assert_counts(y[:, row], np.exp(logits[row]), f"categorical axis=0 column {row}")
    assert random.categorical(KEY, logits).shape == (3,)
    assert random.categorical(KEY, logits, axis=0).shape == (2,)
    with pytest.raises(ValueError, match="categorical"):
        random.categorical(KEY, logits, shape=(4,))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_randint(dtype):
    lo, hi = (3, 10) if np.dtype(dtype).kind == "u" else (-3, 4)
    x = draw(random.randint, (N,), lo, hi, dtype)
    assert x.dtype == dtype and x.min() >= lo and x.max() < hi
    assert_counts(x.astype(np.int64) - lo, np.full(hi - lo, 1 / (hi - lo)), "randint")


def test_randint_bounds_edge_cases():
    # A range that is not a power of two and large: no visible modulo bias.
    x = draw(random.randint, (N,), 0, 3 * 2 ** 40)
    assert_moments(x / 2.0 ** 40, 1.5, 0.75, 0.75 ** 2 * 1.8, "randint large range")
    # maxval above the dtype's maximum: the maximum itself is drawn.
    b = draw(random.randint, (N,), -128, 1000, np.int8)
    assert b.min() == -128 and b.max() == 127
    assert_counts(b.astype(np.int64) + 128, np.full(256, 1 / 256), "randint full int8")
    # The full 64-bit range (size 2**64).
    f = draw(random.randint, (N,), -(2 ** 63), 2 ** 63)
    assert_moments(f / 2.0 ** 63, 0.0, 1 / 3, 1 / 5, "randint full int64")
    u = draw(random.randint, (N,), 0, 2 ** 64, np.uint64)
    assert u.dtype == np.uint64 and u.max() > 2 ** 63
    # An empty or inverted range gives minval; array bounds broadcast.
    np.testing.assert_array_equal(draw(random.randint, (5,), 4, 4), 4)
    np.testing.assert_array_equal(draw(random.randint, (5,), 4, 2), 4)
    r = np.asarray(random.randint(KEY, (1000, 3), np.array([0, 10, 100]), np.array([1, 12, 200])))
    assert np.all(r[:, 0] == 0) and set(np.unique(r[:, 1])) == {10, 11}
    assert r[:, 2].min() >= 100 and r[:, 2].max() < 200
    # Array bounds of a wider dtype clip into int8 (maxval above 127: 127 included).
    c = np.asarray(random.randint(KEY, (N,), jnp.asarray(np.int32(-1000)),
                                  jnp.asarray(np.int32(1000)), np.int8))
    assert_counts(c.astype(np.int64) + 128, np.full(256, 1 / 256), "randint clipped bounds")
    with pytest.raises(ValueError, match="integer dtype"):
        random.randint(KEY, (2,), 0, 3, np.float64)
    with pytest.raises(TypeError, match="minval"):
        random.randint(KEY, (2,), np.array(0.5), 3)
    with pytest.raises(ValueError, match="broadcast"):
        random.randint(KEY, (2,), np.zeros(3, np.int64), 3)


def test_rademacher():
    x = draw(random.rademacher, (N,))
    assert x.dtype == np.int64 and set(np.unique(x)) == {-1, 1}
    assert abs(x.sum()) < 5 * math.sqrt(N)
    assert random.rademacher(KEY, (2,), np.float32).dtype == np.float32


def _permutation_counts(perms, n):
    codes = np.zeros(perms.shape[0], np.int64)
    for j in range(n):
        codes = codes * n + perms[:, j]
    index = {c: i for i, c in enumerate(sorted(set(codes.tolist())))}
    return np.array([index[c] for c in codes.tolist()]), len(index)


def test_permutation_is_uniform_over_all_orders():
    keys = random.split(KEY, 4800)
    perms = np.asarray(funcgrad.vmap(lambda k: random.permutation(k, 4))(keys))
    assert np.all(np.sort(perms, axis=1) == np.arange(4))
    codes, count = _permutation_counts(perms, 4)
    assert count == 24
    assert_counts(codes, np.full(24, 1 / 24), "permutations of 4")


def test_permutation_of_arrays_and_axes():
    x = np.arange(24.0).reshape(4, 6)
    p = np.asarray(random.permutation(KEY, x, axis=1))
    assert p.shape == (4, 6)
    # The same column order for every row.
    np.testing.assert_array_equal(p - p[:1], np.arange(0, 24, 6)[:, None] * np.ones(6))
    np.testing.assert_array_equal(np.sort(p, axis=1), x)
    q = np.asarray(random.permutation(KEY, x, axis=1, independent=True))
    np.testing.assert_array_equal(np.sort(q, axis=1), x)
    assert not np.all(q - q[:1] == np.arange(0, 24, 6)[:, None])
    np.testing.assert_array_equal(np.sort(np.asarray(random.permutation(KEY, x)), axis=0), x)
    assert random.permutation(KEY, 0).shape == (0,)
    with pytest.raises(TypeError, match="permutation"):
        random.permutation(KEY, np.float64(3.0))


def test_choice_with_replacement():
    x = draw(random.choice, 5, (N,))
    assert x.dtype == np.int64
    assert_counts(x, np.full(5, 0.2), "choice")
    p = np.array([0.5, 0.0, 0.2, 0.3])
    assert_counts(draw(random.choice, 4, (N,), p=p), p, "choice with p")
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    rows = np.asarray(random.choice(KEY, a, (7, 2)))
    assert rows.shape == (7, 2, 2) and all(any((r == a).all(1)) for r in rows.reshape(-1, 2))
    cols = np.asarray(random.choice(KEY, a, (5,), axis=1))
    assert cols.shape == (3, 5)


def test_choice_without_replacement():
    x = np.asarray(random.choice(KEY, 10, (10,), replace=False))
    np.testing.assert_array_equal(np.sort(x), np.arange(10))
    keys = random.split(KEY, 4000)
    # Without p, the first pick is uniform; with p it is drawn with p and
    # the picks are distinct and never of probability 0.
    first = np.asarray(funcgrad.vmap(lambda k: random.choice(k, 6, (3,), replace=False))(keys))
    assert all(len(set(r)) == 3 for r in first.tolist())
    assert_counts(first[:, 0], np.full(6, 1 / 6), "choice without replacement")
    p = np.array([0.1, 0.0, 0.4, 0.2, 0.3])
    picks = np.asarray(funcgrad.vmap(
        lambda k: random.choice(k, 5, (2,), replace=False, p=p))(keys))
    assert all(len(set(r)) == 2 for r in picks.tolist()) and not (picks == 1).any()
    assert_counts(picks[:, 0], p, "choice without replacement, first pick")
    # The second pick given the first: p renormalised without it.
    second = picks[picks[:, 0] == 2, 1]
    q = p.copy()
    q[2] = 0
    assert_counts(second, q / q.sum(), "choice without replacement, second pick")
    with pytest.raises(ValueError, match="larger sample"):
        random.choice(KEY, 3, (4,), replace=False)
    with pytest.raises(ValueError, match="length 3"):
        random.choice(KEY, 3, p=np.ones(4) / 4)
    with pytest.raises(ValueError, match="empty"):
        random.choice(KEY, 0, (2,))


# ------------------------------------------------------------ dtype and shape errors
@pytest.mark.parametrize("fn", [random.uniform, random.normal, random.exponential,
                                random.gumbel])
def test_integer_dtype_is_refused(fn):
    with pytest.raises(ValueError, match=fn.__name__):
        fn(KEY, (2,), np.int32)


def test_parameter_shapes_must_broadcast_to_shape():
    with pytest.raises(ValueError, match=r"uniform.*\(3,\)"):
        random.uniform(KEY, (3,), minval=np.zeros(2))
    with pytest.raises(ValueError, match="broadcast"):
        random.gamma(KEY, np.ones(3), (2,))
    with pytest.raises(ValueError, match="truncated_normal"):
        random.truncated_normal(KEY, np.zeros(2), np.ones(3))
    with pytest.raises(TypeError, match="minval"):
        random.uniform(KEY, (2,), minval="a")
    # A parameter of lower rank broadcasts (JAX's rule).
    assert random.uniform(KEY, (2, 3), minval=np.zeros(3)).shape == (2, 3)
