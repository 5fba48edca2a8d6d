"""Run several chains, with step-size adaptation, as one compiled program.

:func:`sample` vmaps a chain over the leading axis of the initial
positions; each chain is one ``lax.scan`` over warmup and sampling draws,
and the whole thing is one ``funcgrad.jit`` call, so Python runs once per
call, not once per draw.

During warmup the step size is tuned per chain by Nesterov dual averaging
as in Hoffman and Gelman (2014, "The No-U-Turn Sampler", section 3.2) with
Stan's constants (gamma = 0.05, t0 = 10, kappa = 0.75, mu = log(10 eps0)):
it drives the mean acceptance probability to ``target_accept``, and sampling
then uses the averaged iterate ``exp(log_eps_bar)``.

>>> import numpy as np
>>> import funcgrad.numpy as jnp
>>> from funcgrad import random
>>> result = sample(lambda x: -0.5 * jnp.sum(x ** 2), np.zeros((2, 3)), random.key(0),
...                 kernel="mala", num_warmup=200, num_samples=300)
>>> result.samples.shape, result.stats["accept_prob"].shape
((2, 300, 3), (2, 300))
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax, random, tree_util
from funcgrad.mcmc.kernels import (MCMCState, gradient_state, hmc_step, make_metric, mala_step,
                                   ravel_pytree, rwm_step)
from funcgrad.mcmc.summaries import summary

__all__ = ["SampleResult", "sample"]

# Hoffman and Gelman's (2014) dual-averaging constants, as in Stan.
_GAMMA, _T0, _KAPPA = 0.05, 10.0, 0.75

_DEFAULT_TARGET = {"hmc": 0.8, "mala": 0.574, "rwm": 0.234}


class SampleResult(NamedTuple):
    """What :func:`sample` returns.

    samples : the position's structure, every leaf with leading
        ``(chain, draw)`` axes (warmup draws excluded).
    stats : dict of ``(chain, draw)`` arrays: ``accept_prob``,
        ``is_accepted``, ``diverging``, ``num_grad_evals``.
    step_size : ``(chain,)`` step sizes used for sampling (after adaptation;
        before jitter).
    """
    samples: Any
    stats: dict
    step_size: np.ndarray

    def summary(self):
        """:func:`funcgrad.mcmc.summary` of the samples."""
        return summary(self.samples)


class _DualAveraging(NamedTuple):
    log_step: Any        # the iterate used for the next warmup step
    log_step_avg: Any    # its weighted average, used after warmup
    error_avg: Any       # H-bar: running mean of (target - accept_prob)
    t: Any


def _da_init(log_step0):
    zero = jnp.zeros_like(log_step0)
    return _DualAveraging(log_step0, zero, zero, zero)


def _da_update(da, accept_prob, mu, target):
    t = da.t + 1.0
    eta = 1.0 / (t + _T0)
    error_avg = (1.0 - eta) * da.error_avg + eta * (target - accept_prob)
    log_step = mu - jnp.sqrt(t) / _GAMMA * error_avg
    weight = t ** (-_KAPPA)
    log_step_avg = weight * log_step + (1.0 - weight) * da.log_step_avg
    return _DualAveraging(log_step, log_step_avg, error_avg, t)


def _kernel_step(kernel: str, num_steps: int) -> Callable:
    """``step(logdensity_fn, key, state, step_size, metric)`` for one kernel."""
    if kernel == "hmc":
        return lambda f, key, state, eps, metric: hmc_step(f, key, state, eps, metric, num_steps)
    if kernel == "mala":
        return lambda f, key, state, eps, metric: mala_step(f, key, state, eps)
    if kernel == "rwm":
        return lambda f, key, state, eps, metric: rwm_step(f, key, state, eps)
    raise ValueError(f"kernel must be 'hmc', 'mala' or 'rwm', got {kernel!r}")


def _init_state(kernel, logdensity_fn, position):
    if kernel == "rwm":
        return MCMCState(position, jnp.asarray(logdensity_fn(position)), None)
    return gradient_state(logdensity_fn, position)


@functools.lru_cache(maxsize=32)
def _compiled_run(logdensity_fn, kernel: str, num_steps: int, num_warmup: int,
                  num_samples: int, adapt: bool, jitter: float):
    """The jitted program for one configuration (cached, so a second call
    with the same target and settings reuses the compiled code)."""
    step = _kernel_step(kernel, num_steps)
    total = num_warmup + num_samples

    def one_chain(key, position, log_step0, metric, target):
        state = _init_state(kernel, logdensity_fn, position)
        mu = math.log(10.0) + log_step0

        # One scan over warmup and sampling, with the phase chosen by the
        # draw index: a second scan would stage (and compile) a second copy
        # of the kernel.
        def body(carry, xs):
            state, da = carry
            i, key, scale = xs
            warming = i < num_warmup
            log_step = jnp.where(warming, da.log_step, da.log_step_avg) if adapt else log_step0
            state, info = step(logdensity_fn, key, state, jnp.exp(log_step) * scale, metric)
            if adapt:
                updated = _da_update(da, info.accept_prob, mu, target)
                da = tree_util.tree_map(lambda a, b: jnp.where(warming, a, b), updated, da)
            stats = {"accept_prob": info.accept_prob, "is_accepted": info.is_accepted,
                     "diverging": info.diverging, "num_grad_evals": info.num_grad_evals}
            return (state, da), (state.position, stats)

        if jitter > 0:
            # All the draws' jitter factors from one generator call, outside
            # the loop (a call inside would add ~130 operations to the body).
            key, jitter_key = random.split(key)
            u = random.uniform(jitter_key, (total,), dtype=log_step0.dtype)
            scales = 1.0 + jitter * (2.0 * u - 1.0)
        else:
            scales = jnp.ones((total,), log_step0.dtype)
        xs = (jnp.arange(total), random.split(key, total), scales)
        (_, da), (positions, stats) = lax.scan(body, (state, _da_init(log_step0)), xs)
        final = da.log_step_avg if (adapt and num_warmup > 0) else log_step0
        return positions, stats, jnp.exp(final)

    def run(keys, positions, log_step0, metric, target):
        return funcgrad.vmap(one_chain, in_axes=(0, 0, None, None, None))(
            keys, positions, log_step0, metric, target)

    return funcgrad.jit(run)


def sample(logdensity_fn: Callable, initial_positions, key, *, kernel: str = "hmc",
           num_warmup: int = 500, num_samples: int = 1000, step_size: float | None = None,
           num_steps: int = 10, inverse_mass_matrix=None, target_accept: float | None = None,
           adapt_step_size: bool = True, step_size_jitter: float = 0.0) -> SampleResult:
    """Draw from ``exp(logdensity_fn)`` with several chains in one compiled call.

    Parameters
    ----------
    logdensity_fn : position pytree -> scalar log density (up to a constant).
    initial_positions : pytree whose leaves have a leading chain axis.
    key : a ``funcgrad.random`` key.
    kernel : ``"hmc"``, ``"mala"`` or ``"rwm"``.
    num_warmup, num_samples : draws per chain; warmup draws adapt the step
        size (if ``adapt_step_size``) and are discarded.
    step_size : initial (or, without adaptation, fixed) step size; default
        0.5 for hmc/mala and ``2.38 / sqrt(dim)`` for rwm.
    num_steps : leapfrog steps per HMC transition.
    inverse_mass_matrix : HMC metric over the raveled position, 1-d
        (diagonal) or 2-d (dense); default the identity.
    target_accept : mean acceptance probability the adaptation aims at;
        default 0.8 (hmc), 0.574 (mala), 0.234 (rwm).
    step_size_jitter : each transition (warmup too) uses the step size
        times a factor uniform on ``[1 - j, 1 + j)``.  HMC with a fixed
        number of steps can be nearly periodic (the path length close to a
        period of some direction of the target, so the chain barely moves
        along it); varying the path length breaks that (Neal, 2011, 5.4.2.2).

    >>> import numpy as np
    >>> import funcgrad.numpy as jnp
    >>> from funcgrad import random
    >>> logp = lambda p: -0.5 * jnp.sum(p["x"] ** 2) - 0.5 * p["y"] ** 2
    >>> init = {"x": np.zeros((4, 2)), "y": np.zeros(4)}
    >>> r = sample(logp, init, random.key(1), num_warmup=100, num_samples=200, num_steps=5)
    >>> r.samples["x"].shape, r.samples["y"].shape, r.step_size.shape
    ((4, 200, 2), (4, 200), (4,))
    """
    if kernel not in _DEFAULT_TARGET:
        raise ValueError(f"kernel must be 'hmc', 'mala' or 'rwm', got {kernel!r}")
    leaves = tree_util.tree_leaves(initial_positions)
    if not leaves:
        raise ValueError("initial_positions has no arrays")
    num_chains = int(np.shape(leaves[0])[0])
    one = tree_util.tree_map(lambda a: np.asarray(a)[0], initial_positions)
    dim = int(ravel_pytree(one)[0].shape[0])
    if step_size is None:
        step_size = 2.38 / math.sqrt(dim) if kernel == "rwm" else 0.5
    if target_accept is None:
        target_accept = _DEFAULT_TARGET[kernel]
    if inverse_mass_matrix is None:
        inverse_mass_matrix = np.ones(dim)
    # The metric's factorisation runs once, eagerly, outside the program.
    metric = make_metric(inverse_mass_matrix)
    if not 0.0 <= step_size_jitter < 1.0:
        raise ValueError(f"step_size_jitter must be in [0, 1), got {step_size_jitter}")
    run = _compiled_run(logdensity_fn, kernel, int(num_steps), int(num_warmup),
                        int(num_samples), bool(adapt_step_size), float(step_size_jitter))
    keys = random.split(key, num_chains)
    positions, stats, final_step = run(keys, initial_positions,
                                       np.float64(math.log(step_size)), metric,
                                       np.float64(target_accept))
    samples = tree_util.tree_map(lambda a: np.asarray(a)[:, num_warmup:], positions)
    stats = {k: np.asarray(v)[:, num_warmup:] for k, v in stats.items()}
    return SampleResult(samples, stats, np.asarray(final_step))
