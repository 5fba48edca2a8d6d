"""NUTS and Stan-style warmup.

* ``sample(kernel="nuts")`` recovers the mean and covariance of a
  correlated, badly scaled Gaussian within Monte Carlo error (tolerances
  from our own ESS), and its adapted diagonal metric approaches the
  posterior variances.
* One NUTS transition started from exact draws of a skewed 1-d mixture
  leaves the pair ``(x0, x1)`` exchangeable (detailed balance): binned
  counts ``N[i, j]`` and ``N[j, i]`` agree as a chi-square test says they
  should, and ``x1`` has the target's distribution (Kolmogorov-Smirnov).
* The kernel's bookkeeping (tree depth, gradient count, divergences) and
  the warmup schedule match Stan's definitions.

Each compiled program is built once per module (the compile dominates).
"""
from __future__ import annotations

import functools
import math
import sys

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import mcmc, random
from funcgrad.mcmc.adaptation import find_reasonable_step_size, warmup_schedule
from funcgrad.mcmc.kernels import make_metric

# --------------------------------------------------------------- the Gaussian
MEAN = np.array([1.0, -2.0, 0.5])
SCALES = np.array([0.1, 1.0, 5.0])
CORR = np.array([[1.0, 0.7, 0.0], [0.7, 1.0, -0.4], [0.0, -0.4, 1.0]])
COV = CORR * np.outer(SCALES, SCALES)
PREC = np.linalg.inv(COV)
NUM_CHAINS, NUM_WARMUP, NUM_SAMPLES = 4, 600, 1000


def gaussian_logp(x):
    d = x - MEAN
    return -0.5 * d @ (PREC @ d)


@functools.cache
def nuts_result():
    init = np.asarray(random.normal(random.key(5), (NUM_CHAINS, 3)))
    return mcmc.sample(gaussian_logp, init, random.key(11), num_warmup=NUM_WARMUP,
                       num_samples=NUM_SAMPLES)


def test_nuts_recovers_mean_and_covariance_within_mc_error():
    x = nuts_result().samples
    centred = x - MEAN
    for f, exact in [(x, MEAN), (centred[..., :, None] * centred[..., None, :], COV)]:
        est = f.mean(axis=(0, 1))
        sd = f.reshape(-1, *f.shape[2:]).std(axis=0)
        n_eff = mcmc.ess(f, kind="mean")
        assert (n_eff > 300).all(), n_eff
        assert (np.abs(est - exact) <= 4.5 * sd / np.sqrt(n_eff)).all(), (est, exact, n_eff)
    assert (mcmc.rhat(x) < 1.02).all()


def test_nuts_stats_and_adapted_metric():
    r = nuts_result()
    assert set(r.stats) == {"accept_prob", "is_accepted", "diverging", "num_grad_evals",
                            "tree_depth", "energy"}
    for v in r.stats.values():
        assert v.shape == (NUM_CHAINS, NUM_SAMPLES)
    depth, evals = r.stats["tree_depth"], r.stats["num_grad_evals"]
    assert r.stats["tree_depth"].dtype == np.int32
    # A kept tree of depth d has 2**d - 1 steps; a rejected last subtree
    # adds at most 2**d more (all of them when its last check turned).
    assert ((evals >= 2 ** depth - 1) & (evals <= 2 ** (depth + 1) - 1)).all()
    assert (evals > 2 ** depth - 1).any() and (evals == 2 ** depth - 1).any()
    assert not r.stats["diverging"].any()
    # Dual averaging aims at 0.8; the averaged iterate lands near it.
    assert 0.7 < r.stats["accept_prob"].mean() < 0.95
    # The windows' variance estimates approach the posterior variances (a
    # 50-fold range here): within 35% after the last (500-draw) window.
    ratio = r.inverse_mass_matrix / np.diag(COV)
    assert ((ratio > 0.65) & (ratio < 1.35)).all(), ratio
    assert r.step_size.shape == (NUM_CHAINS,) and (r.step_size > 0.2).all()


def test_summary_of_a_result():
    r = nuts_result()
    table = mcmc.summary(r)
    assert table.names == ["x[0]", "x[1]", "x[2]"]
    np.testing.assert_array_equal(table.column("mean"), r.summary().column("mean"))
    assert (np.abs(table.column("mean") - MEAN) < 0.2 * SCALES).all()


def test_same_key_same_draws():
    init = np.asarray(random.normal(random.key(5), (NUM_CHAINS, 3)))
    again = mcmc.sample(gaussian_logp, init, random.key(11), num_warmup=NUM_WARMUP,
                        num_samples=NUM_SAMPLES)
    np.testing.assert_array_equal(again.samples, nuts_result().samples)


def test_progress_without_tqdm_prints_blocks(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)        # as if not installed
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    init = np.asarray(random.normal(random.key(5), (NUM_CHAINS, 3)))
    mcmc.sample(gaussian_logp, init, random.key(11), num_warmup=NUM_WARMUP,
                num_samples=NUM_SAMPLES, progress_bar=True)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("warmup: 100/1600") and err[-1].startswith("sampling: 1600/1600")
    assert len(err) == 16


# ------------------------------------------------------- detailed balance, 1-d
WEIGHTS, MEANS, SDS = np.array([0.3, 0.7]), np.array([-1.5, 1.0]), np.array([0.5, 1.0])


def mixture_logp(x):
    comps = -0.5 * ((x - MEANS) / SDS) ** 2 - jnp.log(SDS) + jnp.log(WEIGHTS)
    return jnp.log(jnp.sum(jnp.exp(comps)))


def mixture_cdf(x):
    from math import erf
    return sum(w * 0.5 * (1 + erf((x - m) / (s * math.sqrt(2))))
               for w, m, s in zip(WEIGHTS, MEANS, SDS))


def exact_mixture_draws(n, seed):
    rng = np.random.default_rng(seed)
    comp = rng.choice(2, size=n, p=WEIGHTS)
    return rng.normal(MEANS[comp], SDS[comp])


def exchangeability_chi2(x0, x1, edges):
    """Sum over bin pairs i < j of (N_ij - N_ji)^2 / (N_ij + N_ji): under
    exchangeability each term is ~chi-square(1) (binomial(n, 1/2) split)."""
    i0, i1 = np.digitize(x0, edges), np.digitize(x1, edges)
    k = len(edges) + 1
    counts = np.zeros((k, k))
    np.add.at(counts, (i0, i1), 1)
    upper = np.triu_indices(k, 1)
    n_ij, n_ji = counts[upper], counts.T[upper]
    keep = n_ij + n_ji > 0
    return float(np.sum((n_ij - n_ji)[keep] ** 2 / (n_ij + n_ji)[keep])), int(keep.sum())


def chi2_quantile_999(dof):
    """The 0.999 quantile of chi-square(dof), Wilson-Hilferty (accurate to
    a few percent for dof >= 5)."""
    z = 3.090232
    return dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3


@functools.cache
def one_transition_from_stationarity():
    n = 20000
    x0 = exact_mixture_draws(n, 0)[:, None]
    kernel = mcmc.nuts(lambda x: mixture_logp(x[0]), step_size=0.9,
                       inverse_mass_matrix=np.ones(1), max_tree_depth=6)
    step = funcgrad.jit(funcgrad.vmap(lambda key, x: kernel.step(key, kernel.init(x))))
    state, info = step(random.split(random.key(3), n), x0)
    return x0[:, 0], np.asarray(state.position)[:, 0], info


def test_nuts_detailed_balance_on_a_skewed_1d_target():
    x0, x1, info = one_transition_from_stationarity()
    assert np.mean(x0 != x1) > 0.5                # the chain does move
    edges = np.quantile(x0, np.linspace(0, 1, 9)[1:-1])
    stat, dof = exchangeability_chi2(x0, x1, edges)
    assert stat < chi2_quantile_999(dof), (stat, dof)
    # x1 keeps the target distribution (KS at level ~0.001: 1.95 / sqrt(n)).
    xs = np.sort(x1)
    cdf = np.array([mixture_cdf(v) for v in xs])
    ecdf_hi = np.arange(1, xs.size + 1) / xs.size
    ks = max(np.max(ecdf_hi - cdf), np.max(cdf - (ecdf_hi - 1 / xs.size)))
    assert ks < 1.95 / math.sqrt(xs.size), ks
    assert (np.asarray(info.tree_depth) <= 6).all()


def test_exchangeability_statistic_has_power():
    """The statistic rejects a kernel that drifts (x1 = x0 + 0.3 + noise),
    which keeps a similar marginal spread but is not reversible."""
    x0 = exact_mixture_draws(20000, 1)
    x1 = x0 + 0.3 + 0.3 * np.random.default_rng(2).normal(size=x0.size)
    edges = np.quantile(x0, np.linspace(0, 1, 9)[1:-1])
    stat, dof = exchangeability_chi2(x0, x1, edges)
    assert stat > 10 * chi2_quantile_999(dof)


# ------------------------------------------------------------- the kernel alone
def test_kernel_eager_matches_jit_on_a_pytree():
    logp = lambda p: -0.5 * jnp.sum(p["a"] ** 2) - 2.0 * p["b"] ** 2
    kernel = mcmc.nuts(logp, 0.4, np.array([1.0, 1.0, 0.5]))
    state = kernel.init({"a": np.array([0.3, -1.0]), "b": np.float64(0.7)})
    eager = kernel.step(random.key(7), state)
    jitted = funcgrad.jit(kernel.step)(random.key(7), state)
    for e, j in zip(funcgrad.tree_util.tree_leaves(eager),
                    funcgrad.tree_util.tree_leaves(jitted), strict=True):
        np.testing.assert_allclose(np.asarray(e), np.asarray(j), rtol=1e-12)
    assert eager[0].position["a"].shape == (2,)


def test_divergence_stops_the_tree_and_stays():
    kernel = mcmc.nuts(lambda x: -1e6 * jnp.sum(x ** 2), 1.0, np.ones(2))
    state = kernel.init(np.array([0.1, 0.2]))
    new, info = kernel.step(random.key(0), state)
    assert bool(info.diverging) and not bool(info.is_accepted)
    assert int(info.num_grad_evals) == 1 and int(info.tree_depth) == 0
    np.testing.assert_array_equal(np.asarray(new.position), [0.1, 0.2])


def test_max_tree_depth_caps_the_work():
    # A tiny step on a wide target never turns: the tree doubles to the cap.
    kernel = mcmc.nuts(lambda x: -0.5 * jnp.sum(x ** 2) / 100.0, 1e-3, np.ones(2),
                       max_tree_depth=3)
    _, info = kernel.step(random.key(1), kernel.init(np.ones(2)))
    assert int(info.tree_depth) == 3 and int(info.num_grad_evals) == 7
    with pytest.raises(ValueError, match="max_tree_depth"):
        mcmc.nuts(lambda x: x, 0.1, np.ones(1), max_tree_depth=0)


# --------------------------------------------------------------- warmup pieces
def test_warmup_schedule_is_stans():
    s = warmup_schedule(1000)
    # Windows of 25, 50, 100, 200 and 500 draws after a 75-draw buffer.
    assert s.window_ends == (99, 149, 249, 449, 949)
    assert s.accumulate.sum() == 875 and not s.accumulate[:75].any()
    assert not s.accumulate[950:].any()
    small = warmup_schedule(100)      # 15% / 75% / 10%
    assert small.window_ends == (89,) and small.accumulate[15:90].all()
    assert warmup_schedule(19).window_ends == () and not warmup_schedule(19).accumulate.any()
    assert warmup_schedule(0).accumulate.shape == (0,)


@pytest.mark.parametrize("start", [1e-3, 1.0, 50.0])
def test_step_size_search_crosses_acceptance_08(start):
    """Stan's heuristic stops at the first step size whose one-step
    acceptance is on the other side of 0.8 from the start's."""
    scale = 0.3
    logp = lambda x: -0.5 * jnp.sum((x / scale) ** 2)
    metric = make_metric(np.ones(2))
    x, p = np.array([0.2, -0.1]), np.array([0.5, 1.0])
    value_and_grad = funcgrad.value_and_grad(logp)
    logdensity, g = value_and_grad(x)
    found = float(find_reasonable_step_size(value_and_grad, metric, x, logdensity, g, p,
                                            math.log(start)))

    def log_accept(eps):      # one leapfrog step, in NumPy
        p_half = p + 0.5 * eps * np.asarray(g)
        x1 = x + eps * p_half
        g1 = -x1 / scale ** 2
        p1 = p_half + 0.5 * eps * g1
        h0 = 0.5 * np.sum((x / scale) ** 2) + 0.5 * p @ p
        h1 = 0.5 * np.sum((x1 / scale) ** 2) + 0.5 * p1 @ p1
        return h0 - h1

    above = log_accept(start) > math.log(0.8)
    previous = found - math.log(2.0) if above else found + math.log(2.0)
    assert (log_accept(math.exp(found)) > math.log(0.8)) != above
    if abs(found - math.log(start)) > 1e-9:
        assert (log_accept(math.exp(previous)) > math.log(0.8)) == above


def test_continue_with_the_adapted_settings_and_warmup_stats():
    """The adapted per-chain step sizes and metrics go back into sample()
    (no warmup); warmup statistics and phase times come back too."""
    r = nuts_result()
    assert r.warmup_stats["tree_depth"].shape == (NUM_CHAINS, NUM_WARMUP)
    assert (r.warmup_stats["num_grad_evals"] >= 1).all()
    assert set(r.timing) == {"compile", "warmup", "sampling"}
    assert all(v >= 0 for v in r.timing.values())
    last = {"x": r.samples[:, -1]}
    more = mcmc.sample(lambda p: gaussian_logp(p["x"]), last, random.key(12), num_warmup=0,
                       num_samples=400, step_size=r.step_size,
                       inverse_mass_matrix=r.inverse_mass_matrix)
    np.testing.assert_allclose(more.step_size, r.step_size, rtol=1e-12)
    np.testing.assert_array_equal(more.inverse_mass_matrix, r.inverse_mass_matrix)
    assert more.warmup_stats["accept_prob"].shape == (NUM_CHAINS, 0)
    assert 0.6 < more.stats["accept_prob"].mean() < 0.97
    with pytest.raises(ValueError, match=r"step_size must be a scalar or have shape \(4,\)"):
        mcmc.sample(gaussian_logp, r.samples[:, -1], random.key(0), step_size=np.ones(3))
    with pytest.raises(ValueError, match="cannot be adapted"):
        mcmc.sample(gaussian_logp, r.samples[:, -1], random.key(0), inverse_mass_matrix=COV)


def test_float32_positions_stay_float32():
    scales = np.array([1.0, 3.0], np.float32)
    r = mcmc.sample(lambda x: -0.5 * jnp.sum((x / scales) ** 2), np.zeros((2, 2), np.float32),
                    random.key(4), num_warmup=300, num_samples=500)
    assert r.samples.dtype == np.float32 and r.step_size.dtype == np.float32
    assert r.stats["accept_prob"].dtype == np.float32
    assert r.inverse_mass_matrix.dtype == np.float32
    x = r.samples.astype(np.float64)
    n_eff = mcmc.ess(x ** 2, kind="mean")
    variance = (x ** 2).mean(axis=(0, 1))
    assert (np.abs(variance - scales ** 2) < 5 * scales ** 2 * np.sqrt(2 / n_eff)).all()
