"""Statistical checks for the samplers, with references written in NumPy and
``math`` only (no SciPy): Kolmogorov-Smirnov against an exact CDF, a
chi-square test on counts, and moments within a number of standard errors
derived from the sample size.

The seeds are fixed, so each check is deterministic; the thresholds are the
ones a test at level ``ALPHA`` would use, so a correct sampler fails one of
them with probability about ``ALPHA`` per check when the seeds change.
"""
from __future__ import annotations

import math

import numpy as np

ALPHA = 1e-3
# Moments must lie within this many standard errors.
N_SE = 5.0


def kolmogorov_sf(lam: float) -> float:
    """P(sqrt(n) D_n > lam) for n -> infinity: ``2 sum (-1)**(k-1) exp(-2 k**2 lam**2)``."""
    if lam < 0.2:
        return 1.0
    return float(min(1.0, 2.0 * sum((-1) ** (k - 1) * math.exp(-2.0 * k * k * lam * lam)
                                    for k in range(1, 101))))


def ks_test(samples, cdf) -> tuple[float, float]:
    """The one-sample KS statistic of ``samples`` against the continuous
    ``cdf`` (a vectorised NumPy function) and its p-value (asymptotic, with
    Stephens' small-sample correction)."""
    x = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    n = x.size
    f = np.asarray(cdf(x), dtype=np.float64)
    upper = np.max(np.arange(1, n + 1) / n - f)
    lower = np.max(f - np.arange(0, n) / n)
    d = float(max(upper, lower))
    sqrt_n = math.sqrt(n)
    return d, kolmogorov_sf((sqrt_n + 0.12 + 0.11 / sqrt_n) * d)


def assert_ks(samples, cdf, what: str = "") -> None:
    d, p = ks_test(samples, cdf)
    assert p > ALPHA, f"{what}: KS statistic {d:.5f} (n={np.size(samples)}), p-value {p:.2e}"


def chi2_sf(stat: float, dof: int) -> float:
    """Upper tail of the chi-square distribution (Wilson-Hilferty's normal
    approximation of the cube root, good to a few percent in p at the
    levels tested here)."""
    k = float(dof)
    z = ((stat / k) ** (1.0 / 3.0) - (1.0 - 2.0 / (9.0 * k))) / math.sqrt(2.0 / (9.0 * k))
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def assert_counts(values, probabilities, what: str = "") -> None:
    """Chi-square test that the integers ``values`` take ``i`` with
    probability ``probabilities[i]`` (categories of probability 0 must
    never occur)."""
    values = np.asarray(values).ravel()
    probabilities = np.asarray(probabilities, dtype=np.float64)
    counts = np.bincount(values, minlength=probabilities.size)
    assert counts.size == probabilities.size, f"{what}: values out of range: {counts.size}"
    zero = probabilities == 0
    assert not counts[zero].any(), f"{what}: drew a category of probability 0: {counts}"
    expected = probabilities[~zero] * values.size
    assert expected.min() >= 5, "test design: too few expected counts for chi-square"
    stat = float(np.sum((counts[~zero] - expected) ** 2 / expected))
    p = chi2_sf(stat, int((~zero).sum()) - 1)
    assert p > ALPHA, f"{what}: chi-square {stat:.1f}, p-value {p:.2e}, counts {counts}"


def assert_moments(samples, mean: float, var: float, mu4: float, what: str = "") -> None:
    """Sample mean and variance within ``N_SE`` standard errors of
    ``mean`` and ``var``; ``mu4`` is the fourth central moment (the
    variance of the sample variance is ``(mu4 - var**2) / n``)."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    n = x.size
    m = float(np.mean(x))
    assert abs(m - mean) <= N_SE * math.sqrt(var / n), (
        f"{what}: mean {m} vs {mean} (se {math.sqrt(var / n):.2e})")
    v = float(np.var(x, ddof=1))
    se_v = math.sqrt(max(mu4 - var * var, 0.0) / n)
    assert abs(v - var) <= N_SE * se_v, f"{what}: variance {v} vs {var} (se {se_v:.2e})"


# ------------------------------------------------------------ reference CDFs
_erfc = np.vectorize(math.erfc, otypes=[np.float64])
_erf = np.vectorize(math.erf, otypes=[np.float64])


def normal_cdf(x):
    return 0.5 * _erfc(-np.asarray(x, np.float64) / math.sqrt(2.0))


def normal_sf(x):
    return 0.5 * _erfc(np.asarray(x, np.float64) / math.sqrt(2.0))


def log_normal_sf_tail(x):
    """``log P(Z > x)`` for large x (x >= 20): the asymptotic series of
    Mills' ratio, ``phi(x) / x * (1 - 1/x**2 + 3/x**4 - ...)``."""
    x = np.asarray(x, np.float64)
    z = 1.0 / (x * x)
    series, term = np.ones_like(x), np.ones_like(x)
    for k in range(1, 12):
        term = -term * (2 * k - 1) * z
        series = series + term
    return -0.5 * x * x - 0.5 * math.log(2 * math.pi) - np.log(x) + np.log(series)


def gamma_cdf(a: float):
    """The gamma(a) CDF for integer and half-integer ``a`` (closed forms:
    Erlang sums and, for half-integers, erf plus a finite sum)."""
    if a == int(a):
        n = int(a)

        def cdf(x):
            x = np.asarray(x, np.float64)
            total = sum(x ** k / math.factorial(k) for k in range(n))
            return 1.0 - np.exp(-x) * total
        return cdf
    if 2 * a == int(2 * a):
        n = int(a - 0.5)

        def cdf(x):
            x = np.asarray(x, np.float64)
            total = sum(x ** (k - 0.5) / math.gamma(k + 0.5) for k in range(1, n + 1))
            return _erf(np.sqrt(x)) - np.exp(-x) * total
        return cdf
    raise ValueError(a)


def beta_cdf_integer(a: int, b: int):
    """The Beta(a, b) CDF for integer a, b: a binomial tail."""
    m = a + b - 1

    def cdf(x):
        x = np.asarray(x, np.float64)
        return sum(math.comb(m, j) * x ** j * (1 - x) ** (m - j) for j in range(a, m + 1))
    return cdf
