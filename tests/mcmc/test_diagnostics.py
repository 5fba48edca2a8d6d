"""ESS and R-hat against cases with known answers, and the summary table.

References are analytic: iid draws have ESS = n; an AR(1) chain
x_t = rho x_{t-1} + e_t has integrated autocorrelation time
(1 + rho) / (1 - rho), so ESS = n (1 - rho) / (1 + rho); chains around
different means must give R-hat well above 1.
"""
from __future__ import annotations

import numpy as np
import pytest

from funcgrad import mcmc


def ar1(rho, chains, n, seed):
    """Stationary AR(1) chains with unit marginal variance."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(chains, n)) * np.sqrt(1 - rho ** 2)
    x = np.empty((chains, n))
    x[:, 0] = rng.normal(size=chains)
    for t in range(1, n):
        x[:, t] = rho * x[:, t - 1] + noise[:, t]
    return x


def test_iid_normal():
    x = np.random.default_rng(0).normal(size=(4, 2000))
    n = x.size
    # The ESS estimate of iid draws has a relative sd of roughly
    # sqrt(2 * tau_window / n), a few percent here: allow 10%.
    for kind in ("bulk", "mean", "tail"):
        assert abs(mcmc.ess(x, kind) / n - 1) < 0.1, kind
    assert abs(mcmc.rhat(x) - 1) < 0.01
    assert abs(mcmc.split_rhat(x) - 1) < 0.01


@pytest.mark.parametrize("rho", [0.5, 0.9, -0.5])
def test_ar1_ess(rho):
    x = ar1(rho, chains=4, n=10000, seed=1)
    expected = x.size * (1 - rho) / (1 + rho)
    # Geyer's truncation makes the estimator slightly conservative and its
    # relative error grows with rho: 15% is several standard errors here.
    for kind in ("mean", "bulk"):
        assert abs(mcmc.ess(x, kind) / expected - 1) < 0.15, (kind, mcmc.ess(x, kind), expected)
    assert mcmc.rhat(x) < 1.01


def test_autocorrelation_of_ar1():
    x = ar1(0.7, chains=1, n=50000, seed=2)[0]
    rho = mcmc.autocorrelation(x)
    np.testing.assert_allclose(rho[:4], 0.7 ** np.arange(4), atol=0.03)
    # Against the direct O(n^2)-free definition at a few lags.
    c = x - x.mean()
    for lag in (1, 5):
        assert abs(rho[lag] - (c[:-lag] @ c[lag:]) / (c @ c)) < 1e-10


def test_shifted_chains_have_large_rhat():
    x = np.random.default_rng(3).normal(size=(4, 1000))
    x[1] += 1.0
    assert mcmc.rhat(x) > 1.1
    # Different scales only (same mean): caught by the folded (tail) part.
    y = np.random.default_rng(4).normal(size=(4, 1000))
    y[0] *= 4.0
    assert mcmc.split_rhat(y) < 1.05 < mcmc.rhat(y)
    # A trend inside each chain: caught by splitting the chains.
    z = np.random.default_rng(5).normal(size=(4, 1000)) + np.linspace(0, 3, 1000)
    assert mcmc.rhat(z) > 1.1


def test_shapes_and_trailing_dims():
    x = np.random.default_rng(6).normal(size=(3, 400, 2, 5))
    assert mcmc.ess(x).shape == (2, 5)
    assert mcmc.rhat(x).shape == (2, 5)
    # Each element is diagnosed on its own.
    np.testing.assert_allclose(mcmc.ess(x)[1, 3], mcmc.ess(x[:, :, 1, 3]))
    np.testing.assert_allclose(mcmc.rhat(x)[0, 2], mcmc.rhat(x[:, :, 0, 2]))
    with pytest.raises(ValueError, match="kind"):
        mcmc.ess(x, kind="median")
    with pytest.raises(ValueError, match="chain, draw"):
        mcmc.ess(np.ones(10))


def test_rank_diagnostics_are_invariant_to_monotone_transforms():
    x = ar1(0.6, chains=4, n=2000, seed=7)
    # Bulk ESS depends on ranks only.  R-hat's folded part depends on
    # distances to the median, so it is only invariant to increasing
    # affine maps.
    np.testing.assert_allclose(mcmc.ess(np.exp(x)), mcmc.ess(x), rtol=1e-12)
    np.testing.assert_allclose(mcmc.rhat(3.0 * x - 2.0), mcmc.rhat(x), rtol=1e-12)


def test_summary_table():
    rng = np.random.default_rng(8)
    samples = {"mu": rng.normal(3.0, 2.0, size=(4, 1000)),
               "beta": rng.normal(size=(4, 1000, 2, 2))}
    s = mcmc.summary(samples)
    assert s.names == ["mu", "beta[0, 0]", "beta[0, 1]", "beta[1, 0]", "beta[1, 1]"]
    assert s.columns == ["mean", "sd", "5%", "50%", "95%", "ess_bulk", "ess_tail", "rhat"]
    row = s["mu"]
    pooled = samples["mu"].ravel()
    assert row["mean"] == pytest.approx(pooled.mean())
    assert row["sd"] == pytest.approx(pooled.std(ddof=1))
    assert row["95%"] == pytest.approx(np.quantile(pooled, 0.95))
    assert row["ess_bulk"] == pytest.approx(mcmc.ess(samples["mu"]))
    assert row["rhat"] == pytest.approx(mcmc.rhat(samples["mu"]))
    assert s["beta[1, 0]"]["ess_tail"] == pytest.approx(
        mcmc.ess(samples["beta"][:, :, 1, 0], kind="tail"))
    text = str(s)
    assert text.splitlines()[0].split() == ["name", *s.columns]
    assert len(text.splitlines()) == 6 and "beta[1, 1]" in text and repr(s) == text
    np.testing.assert_allclose(s.column("rhat"), [s[n]["rhat"] for n in s.names])
