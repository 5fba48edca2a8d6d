"""The kernels sample their target, and give the same numbers eagerly,
compiled, and under ``vmap`` over chains.

Moment checks use Monte Carlo error bars from our own diagnostics: for a
quantity ``f`` (a coordinate, or a product of centred coordinates for the
covariance) the estimate must be within ``5 * sd(f) / sqrt(ess(f))`` of the
exact value.  Each kernel is compiled ONCE (the compile, ~5 s on two loaded
cores, dominates the runtime); every test of that kernel reuses those draws.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax, mcmc, random

NUM_CHAINS, NUM_DRAWS = 4, 1000

# 2-d: strongly correlated, unequal scales.  5-d: a random dense covariance.
MEAN2 = np.array([1.0, -1.0])
COV2 = np.array([[1.0, 0.8], [0.8, 2.0]])
_A = np.random.default_rng(5).normal(size=(5, 5))
MEAN5 = np.linspace(-2.0, 2.0, 5)
COV5 = _A @ _A.T / 5 + 0.3 * np.eye(5)


def gaussian_logdensity(mean, cov):
    prec = np.linalg.inv(cov)

    def logdensity(x):
        d = x - mean
        return -0.5 * d @ (prec @ d)
    return logdensity


LOGP2 = gaussian_logdensity(MEAN2, COV2)
LOGP5 = gaussian_logdensity(MEAN5, COV5)

KERNELS = {
    "rwm": (lambda: mcmc.rwm(LOGP2, 1.5), MEAN2, COV2),
    "mala": (lambda: mcmc.mala(LOGP2, 0.9), MEAN2, COV2),
    # The dense metric is a perturbed covariance (so momenta are correlated
    # but not exactly whitening).  A path near half a period (0.45 x 6 here)
    # makes successive draws antithetic, the ESS hits its cap and the test
    # would lose power; 0.3 x 5 gives an ESS of ~0.75 per draw.
    "hmc": (lambda: mcmc.hmc(LOGP5, 0.3, COV5 * 0.8 + 0.1 * np.eye(5), 5), MEAN5, COV5),
}


def chain_keys(seed):
    """(chain, draw) keys, split eagerly so the compiled program holds no
    key splitting and the eager loops below can use the very same keys."""
    keys = random.split(random.key(seed), NUM_CHAINS)
    return np.stack([np.asarray(random.split(k, NUM_DRAWS)) for k in keys])


def initial_positions(dim):
    return np.asarray(random.normal(random.key(99), (NUM_CHAINS, dim))) * 2.0


def _run(kernel, keys, x0):
    """All chains, all draws: vmap over chains of a scan over draws."""
    def one_chain(keys, x):
        def body(state, key):
            state, info = kernel.step(key, state)
            return state, (state.position, info)
        return lax.scan(body, kernel.init(x), keys)[1]
    return funcgrad.vmap(one_chain)(keys, x0)


@functools.cache
def draws(name):
    make, mean, _ = KERNELS[name]
    kernel = make()
    keys, x0 = chain_keys(1), initial_positions(mean.shape[0])
    positions, info = funcgrad.jit(functools.partial(_run, kernel))(keys, x0)
    return kernel, keys, x0, np.asarray(positions), info


def within_mc_error(f_draws, exact):
    """|mean(f) - exact| < 5 * MCSE, with the MCSE from our mean-ESS; also
    returns the ESS so a test can insist the chains actually mixed."""
    est = f_draws.mean(axis=(0, 1))
    sd = f_draws.reshape(-1, *f_draws.shape[2:]).std(axis=0)
    n_eff = mcmc.ess(f_draws, kind="mean")
    return np.abs(est - exact) < 5 * sd / np.sqrt(n_eff), n_eff


@pytest.mark.parametrize("name", list(KERNELS))
def test_recovers_mean_and_covariance(name):
    _, mean, cov = KERNELS[name]
    _, _, _, x, info = draws(name)
    x = x[:, NUM_DRAWS // 5:]           # discard burn-in from the dispersed starts
    ok, n_eff = within_mc_error(x, mean)
    assert ok.all(), (name, x.mean(axis=(0, 1)), mean, n_eff)
    assert (n_eff > 100).all(), n_eff
    centred = x - mean
    products = centred[..., :, None] * centred[..., None, :]
    ok, n_eff = within_mc_error(products, cov)
    assert ok.all(), (name, products.mean(axis=(0, 1)), cov, n_eff)
    assert (mcmc.rhat(x) < 1.05).all()
    accept = np.asarray(info.accept_prob)
    assert 0.2 < accept.mean() < 1.0
    assert not np.asarray(info.diverging).any()


@pytest.mark.parametrize("name", list(KERNELS))
def test_jit_vmap_matches_eager_loop(name):
    """The compiled, vmapped scan equals stepping each chain eagerly in a
    Python loop with the same keys (first few draws)."""
    kernel, keys, x0, positions, info = draws(name)
    steps = 3
    for c in (0, NUM_CHAINS - 1):
        state = kernel.init(x0[c])
        for t in range(steps):
            state, step_info = kernel.step(keys[c, t], state)
            np.testing.assert_allclose(np.asarray(state.position), positions[c, t],
                                       rtol=1e-12, atol=1e-12)
            assert bool(step_info.is_accepted) == bool(np.asarray(info.is_accepted)[c, t])
            np.testing.assert_allclose(float(step_info.accept_prob),
                                       np.asarray(info.accept_prob)[c, t], rtol=1e-10)
            assert int(step_info.num_grad_evals) == int(np.asarray(info.num_grad_evals)[c, t])


@pytest.mark.parametrize("name", list(KERNELS))
def test_eager_vmap_matches_per_chain(name):
    """One eager vmapped step over chains equals each chain's own step."""
    kernel, keys, x0, _, _ = draws(name)
    states = funcgrad.vmap(kernel.init)(x0)
    batched, binfo = funcgrad.vmap(kernel.step)(keys[:, 0], states)
    for c in range(NUM_CHAINS):
        single, sinfo = kernel.step(keys[c, 0], kernel.init(x0[c]))
        np.testing.assert_allclose(np.asarray(batched.position)[c], np.asarray(single.position),
                                   rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(np.asarray(batched.logdensity)[c], float(single.logdensity),
                                   rtol=1e-13)
        assert bool(np.asarray(binfo.is_accepted)[c]) == bool(sinfo.is_accepted)


def test_num_grad_evals():
    expected = {"rwm": 0, "mala": 1, "hmc": 5}
    for name, n in expected.items():
        assert (np.asarray(draws(name)[4].num_grad_evals) == n).all()


def test_hmc_pytree_position_matches_flat():
    """A dict position samples exactly like the raveled vector (leaves in
    tree_leaves order: 'a' then 'b'), and states keep the dict structure."""
    inv_mass = np.array([1.0, 0.5, 2.0])

    def logp_tree(p):
        return LOGP_FLAT3(jnp.concatenate([p["a"], jnp.reshape(p["b"], (1,))]))

    tree_k = mcmc.hmc(logp_tree, 0.3, inv_mass, 3)
    flat_k = mcmc.hmc(LOGP_FLAT3, 0.3, inv_mass, 3)
    ts = tree_k.init({"a": np.array([0.5, -0.5]), "b": np.array(1.0)})
    fs = flat_k.init(np.array([0.5, -0.5, 1.0]))
    assert set(ts.logdensity_grad) == {"a", "b"}
    for t in range(3):
        key = random.fold_in(random.key(3), t)
        ts, _ = tree_k.step(key, ts)
        fs, _ = flat_k.step(key, fs)
        assert ts.position["b"].shape == ()
        np.testing.assert_allclose(np.asarray(ts.position["a"]), np.asarray(fs.position)[:2],
                                   rtol=1e-13)
        np.testing.assert_allclose(float(ts.position["b"]), np.asarray(fs.position)[2],
                                   rtol=1e-13)


LOGP_FLAT3 = gaussian_logdensity(np.zeros(3), np.array([[1.0, 0.3, 0.0],
                                                        [0.3, 1.0, 0.2],
                                                        [0.0, 0.2, 1.5]]))


def test_hmc_diagonal_equals_dense_diagonal():
    """A diagonal inverse mass matrix and the same matrix written densely
    give the same transitions."""
    d = np.array([0.5, 1.0, 2.0])
    diag_k = mcmc.hmc(LOGP_FLAT3, 0.4, d, 4)
    dense_k = mcmc.hmc(LOGP_FLAT3, 0.4, np.diag(d), 4)
    s1 = diag_k.init(np.ones(3))
    s2 = dense_k.init(np.ones(3))
    for t in range(3):
        key = random.fold_in(random.key(4), t)
        s1, i1 = diag_k.step(key, s1)
        s2, i2 = dense_k.step(key, s2)
        np.testing.assert_allclose(np.asarray(s1.position), np.asarray(s2.position), rtol=1e-12)
        assert bool(i1.is_accepted) == bool(i2.is_accepted)


def test_divergence_is_flagged_and_rejected():
    """A huge step on a stiff target blows the energy up: the transition is
    marked diverging and the chain stays put."""
    stiff = mcmc.hmc(lambda x: -0.5 * 1e4 * jnp.sum(x ** 2), 1.0, np.ones(2), 5)
    state = stiff.init(np.array([0.1, -0.1]))
    new, info = stiff.step(random.key(0), state)
    assert bool(info.diverging) and not bool(info.is_accepted)
    assert float(info.accept_prob) == 0.0
    np.testing.assert_array_equal(np.asarray(new.position), np.asarray(state.position))


def test_nan_density_is_rejected():
    k = mcmc.rwm(lambda x: jnp.where(x[0] > 0.0, jnp.nan, -0.5 * jnp.sum(x ** 2)), 50.0)
    state = k.init(np.array([-100.0, 0.0]))
    for t in range(5):
        state, _info = k.step(random.fold_in(random.key(5), t), state)
        assert float(state.position[0]) <= 0.0 and np.isfinite(float(state.logdensity))


def test_ravel_pytree_roundtrip():
    tree = {"w": np.arange(6.0).reshape(2, 3), "b": (np.float64(2.0), np.ones(2))}
    flat, unravel = mcmc.ravel_pytree(tree)
    assert flat.shape == (9,)
    back = unravel(flat)
    np.testing.assert_array_equal(np.asarray(back["w"]), tree["w"])
    np.testing.assert_array_equal(np.asarray(back["b"][1]), tree["b"][1])
    assert back["b"][0].shape == ()
