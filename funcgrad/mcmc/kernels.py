"""MCMC transition kernels: random-walk Metropolis, MALA and HMC.

Each constructor returns a :class:`Kernel` with two pure functions,

* ``init(position) -> MCMCState``
* ``step(key, state) -> (MCMCState, MCMCInfo)``

written only with funcgrad's public API, so they can be called eagerly,
under ``funcgrad.jit``, under ``funcgrad.vmap`` (one chain per batch member)
and inside ``lax.scan``.  Nothing branches in Python on a traced value: the
accept/reject decision is a ``jnp.where`` on the whole state.

Positions may be any pytree of float arrays.  The kernels flatten it into
one vector (:func:`ravel_pytree`), so a step size or mass matrix refers to
the raveled coordinates, in ``tree_util.tree_leaves`` order.

>>> import numpy as np
>>> import funcgrad, funcgrad.numpy as jnp
>>> from funcgrad import random
>>> from funcgrad.mcmc import hmc
>>> kernel = hmc(lambda x: -0.5 * jnp.sum(x ** 2), step_size=0.5,
...              inverse_mass_matrix=np.ones(2), num_steps=4)
>>> state = kernel.init(np.zeros(2))
>>> state, info = funcgrad.jit(kernel.step)(random.key(0), state)
>>> int(info.num_grad_evals)
4
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax, random, tree_util
from funcgrad.scipy.special import ndtr

__all__ = ["Kernel", "MCMCInfo", "MCMCState", "hmc", "mala", "ravel_pytree", "rwm"]

#: An energy error above this marks a transition as divergent (Stan's value).
DIVERGENCE_THRESHOLD = 1000.0


class MCMCState(NamedTuple):
    """The state of a chain: where it is and what the kernel knows there.

    ``logdensity_grad`` has the structure of ``position`` (``None`` for
    :func:`rwm`, which never evaluates a gradient).
    """
    position: Any
    logdensity: Any
    logdensity_grad: Any


class MCMCInfo(NamedTuple):
    """What one transition did.

    accept_prob : the Metropolis-Hastings acceptance probability ``min(1, r)``
        (0 for a proposal whose density or energy is not finite).
    is_accepted : whether the proposal became the new state.
    diverging : the energy error (or, for rwm/mala, minus the log
        acceptance ratio) exceeded 1000 or was not finite.
    num_grad_evals : gradient evaluations spent on this transition.
    """
    accept_prob: Any
    is_accepted: Any
    diverging: Any
    num_grad_evals: Any


class Kernel(NamedTuple):
    """A transition kernel: ``init(position)`` and ``step(key, state)``."""
    init: Callable
    step: Callable


def ravel_pytree(tree):
    """Flatten a pytree of arrays into one 1-d array.

    Returns ``(flat, unravel)`` where ``unravel(flat)`` rebuilds a tree of the
    same structure, shapes and dtypes.  Works on traced values (the shapes
    are static), so it can be used inside ``jit``/``vmap``.

    >>> import numpy as np
    >>> flat, unravel = ravel_pytree({"a": np.zeros((2, 2)), "b": np.ones(3)})
    >>> flat.shape
    (7,)
    >>> unravel(flat)["a"].shape
    (2, 2)
    """
    leaves, treedef = tree_util.tree_flatten(tree)
    leaves = [jnp.asarray(leaf) for leaf in leaves]
    shapes = [tuple(leaf.shape) for leaf in leaves]
    dtypes = [leaf.dtype for leaf in leaves]
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    if not leaves:
        flat = jnp.zeros((0,))
    elif len(leaves) == 1:
        flat = jnp.ravel(leaves[0])
    else:
        flat = jnp.concatenate([jnp.ravel(leaf) for leaf in leaves])
    offsets = np.cumsum([0] + sizes)

    def unravel(vector):
        parts = [jnp.reshape(vector[int(lo):int(hi)], shape).astype(dtype)
                 for lo, hi, shape, dtype in zip(offsets[:-1], offsets[1:], shapes, dtypes,
                                                 strict=True)]
        return tree_util.tree_unflatten(treedef, parts)

    return flat, unravel


def _flat_logdensity(logdensity_fn, unravel):
    """The log density as a function of the raveled position, with its gradient."""
    return funcgrad.value_and_grad(lambda x: logdensity_fn(unravel(x)))


def _where_tree(pred, new, old):
    return tree_util.tree_map(lambda a, b: jnp.where(pred, a, b), new, old)


def _draw_normals(key, n: int, dtype):
    """``n`` standard normals for the proposal and ``log u`` for the
    acceptance test, from ONE generator call.

    The uniform is ``Phi(z)`` of an extra normal ``z`` (the normal CDF of a
    normal is uniform).  Each generator call is ~130 staged uint32
    operations (Threefry's 20 rounds), so drawing once instead of splitting
    the key and drawing twice (three calls) roughly halves the size of a
    step's program and its compile time under ``jit``.
    """
    z = random.normal(key, (n + 1,), dtype)
    # |z| <= 8.1 (5.3 in float32) for the generator's normals, so Phi(z) > 0
    # and the log is finite.
    return z[:n], jnp.log(ndtr(z[n]))


def _metropolis(log_u, log_ratio):
    """Accept with probability ``min(1, exp(log_ratio))`` by comparing
    ``log(u)`` with the log ratio (no ``exp``, so no overflow).  A nan ratio
    (a proposal where the density is nan) becomes -inf: rejected, with
    acceptance probability 0, and counted as divergent."""
    log_ratio = jnp.where(jnp.isnan(log_ratio), -jnp.inf, log_ratio)
    accept_prob = jnp.exp(jnp.minimum(log_ratio, 0.0))
    is_accepted = log_u < log_ratio
    diverging = -log_ratio > DIVERGENCE_THRESHOLD
    return accept_prob, is_accepted, diverging


def _finish(log_u, state, new_state, log_ratio, num_grad_evals):
    accept_prob, is_accepted, diverging = _metropolis(log_u, log_ratio)
    out = _where_tree(is_accepted, new_state, state)
    info = MCMCInfo(accept_prob, is_accepted, diverging, jnp.asarray(num_grad_evals))
    return out, info


# --- random-walk Metropolis ----------------------------------------------------


def rwm(logdensity_fn: Callable, step_size) -> Kernel:
    """Gaussian random-walk Metropolis.

    Proposes ``x' = x + step_size * z`` with ``z ~ N(0, I)`` on the raveled
    position (``step_size`` a scalar or one scale per coordinate) and accepts
    with probability ``min(1, p(x') / p(x))``.  Uses no gradients.

    >>> import numpy as np, funcgrad.numpy as jnp
    >>> from funcgrad import random
    >>> k = rwm(lambda x: -0.5 * jnp.sum(x ** 2), 1.0)
    >>> s, info = k.step(random.key(1), k.init(np.zeros(3)))
    >>> s.position.shape, info.num_grad_evals.item()
    ((3,), 0)
    """
    def init(position):
        return MCMCState(position, jnp.asarray(logdensity_fn(position)), None)

    def step(key, state):
        return rwm_step(logdensity_fn, key, state, step_size)

    return Kernel(init, step)


def rwm_step(logdensity_fn, key, state, step_size):
    """One random-walk Metropolis transition with an explicit (possibly
    traced) step size; :func:`rwm` binds it."""
    x, unravel = ravel_pytree(state.position)
    z, log_u = _draw_normals(key, x.shape[0], x.dtype)
    x_new = x + step_size * z
    position = unravel(x_new)
    logdensity = jnp.asarray(logdensity_fn(position))
    new_state = MCMCState(position, logdensity, None)
    return _finish(log_u, state, new_state, logdensity - state.logdensity, 0)


# --- MALA ----------------------------------------------------------------------


def gradient_state(logdensity_fn, position) -> MCMCState:
    """The state at ``position`` for the gradient-based kernels."""
    value, grad = funcgrad.value_and_grad(logdensity_fn)(position)
    return MCMCState(position, jnp.asarray(value), grad)


def mala(logdensity_fn: Callable, step_size) -> Kernel:
    """Metropolis-adjusted Langevin algorithm (Roberts and Tweedie, 1996).

    Proposes ``x' = x + (h/2) grad log p(x) + sqrt(h) z`` with
    ``h = step_size ** 2`` and corrects with the Metropolis-Hastings ratio
    of the (asymmetric) Gaussian proposal.  One gradient per step.

    >>> import numpy as np, funcgrad.numpy as jnp
    >>> from funcgrad import random
    >>> k = mala(lambda x: -0.5 * jnp.sum(x ** 2), 0.8)
    >>> s, info = k.step(random.key(1), k.init(np.zeros(3)))
    >>> info.num_grad_evals.item()
    1
    """
    def init(position):
        return gradient_state(logdensity_fn, position)

    def step(key, state):
        return mala_step(logdensity_fn, key, state, step_size)

    return Kernel(init, step)


def mala_step(logdensity_fn, key, state, step_size):
    """One MALA transition with an explicit (possibly traced) step size."""
    x, unravel = ravel_pytree(state.position)
    g, _ = ravel_pytree(state.logdensity_grad)
    z, log_u = _draw_normals(key, x.shape[0], x.dtype)
    h = step_size ** 2
    x_new = x + 0.5 * h * g + step_size * z
    new_state = gradient_state(logdensity_fn, unravel(x_new))
    g_new, _ = ravel_pytree(new_state.logdensity_grad)

    # log q(to | from) up to a constant shared by both directions.
    def log_q(to, frm, g_frm):
        diff = to - frm - 0.5 * h * g_frm
        return -jnp.sum(diff * diff) / (2.0 * h)

    log_ratio = (new_state.logdensity - state.logdensity
                 + log_q(x, x_new, g_new) - log_q(x_new, x, g))
    return _finish(log_u, state, new_state, log_ratio, 1)


# --- HMC -----------------------------------------------------------------------


class _Metric(NamedTuple):
    """The Euclidean metric given by the inverse mass matrix ``S``: momentum
    ``p ~ N(0, S^{-1})``, kinetic energy ``p.S.p / 2``, velocity ``S p``."""
    inverse_mass_matrix: Any
    momentum_factor: Any      # F with F F^T = S^{-1}: p = F z

    def momentum(self, z):
        """The momentum for standard normals ``z``."""
        if self.inverse_mass_matrix.ndim == 1:
            return z * self.momentum_factor
        return self.momentum_factor @ z

    def velocity(self, p):
        if self.inverse_mass_matrix.ndim == 1:
            return self.inverse_mass_matrix * p
        return self.inverse_mass_matrix @ p

    def kinetic_energy(self, p):
        return 0.5 * jnp.sum(p * self.velocity(p))


def make_metric(inverse_mass_matrix) -> _Metric:
    """Precompute the momentum factor once (not per step): for a dense
    ``S = L L^T``, ``F = L^{-T}`` gives ``F F^T = (L L^T)^{-1}``, so sampling
    a momentum is one matrix-vector product."""
    inv_mass = jnp.asarray(inverse_mass_matrix)
    if inv_mass.ndim == 1:
        return _Metric(inv_mass, 1.0 / jnp.sqrt(inv_mass))
    if inv_mass.ndim != 2:
        raise ValueError("inverse_mass_matrix must be 1-d (diagonal) or 2-d (dense), "
                         f"got shape {tuple(inv_mass.shape)}")
    chol = jnp.linalg.cholesky(inv_mass)
    return _Metric(inv_mass, jnp.linalg.inv(chol).T)


def leapfrog(value_and_grad, metric: _Metric, step_size, x, p, logdensity, grad):
    """One leapfrog (velocity Verlet) step of the Hamiltonian
    ``-logdensity(x) + p.S.p / 2`` on raveled vectors; a negative
    ``step_size`` integrates backwards in time.  Returns
    ``(x, p, logdensity, grad)`` at the new point: one gradient evaluation.
    """
    del logdensity    # the old value is not needed, only the signature's symmetry
    p = p + 0.5 * step_size * grad
    x = x + step_size * metric.velocity(p)
    logdensity, grad = value_and_grad(x)
    p = p + 0.5 * step_size * grad
    return x, p, logdensity, grad


def hmc(logdensity_fn: Callable, step_size, inverse_mass_matrix, num_steps: int) -> Kernel:
    """Hamiltonian Monte Carlo with a leapfrog integrator (Duane et al., 1987;
    Neal, 2011) and a fixed number of steps.

    Parameters
    ----------
    logdensity_fn : position pytree -> scalar log density (up to a constant).
    step_size : leapfrog step size (scalar).
    inverse_mass_matrix : 1-d (diagonal) or 2-d (dense) array over the
        raveled position; ideally close to the posterior covariance.
    num_steps : number of leapfrog steps (a Python int: the loop is a
        native ``for`` under ``jit``); ``num_steps`` gradients per transition.

    >>> import numpy as np, funcgrad.numpy as jnp
    >>> from funcgrad import random
    >>> k = hmc(lambda p: -0.5 * jnp.sum(p["x"] ** 2), 0.3, np.eye(2), 5)
    >>> s, info = k.step(random.key(2), k.init({"x": np.ones(2)}))
    >>> s.position["x"].shape, info.num_grad_evals.item()
    ((2,), 5)
    """
    num_steps = int(num_steps)
    metric = make_metric(inverse_mass_matrix)

    def init(position):
        return gradient_state(logdensity_fn, position)

    def step(key, state):
        return hmc_step(logdensity_fn, key, state, step_size, metric, num_steps)

    return Kernel(init, step)


def hmc_step(logdensity_fn, key, state, step_size, metric: _Metric, num_steps: int):
    """One HMC transition with an explicit (possibly traced) step size."""
    x, unravel = ravel_pytree(state.position)
    g, _ = ravel_pytree(state.logdensity_grad)
    value_and_grad = _flat_logdensity(logdensity_fn, unravel)
    z, log_u = _draw_normals(key, x.shape[0], x.dtype)
    p = metric.momentum(z)
    energy = -state.logdensity + metric.kinetic_energy(p)

    def body(_, carry):
        return leapfrog(value_and_grad, metric, step_size, *carry)

    carry = (x, p, state.logdensity, g)
    x_new, p_new, logdensity, g_new = lax.fori_loop(0, num_steps, body, carry)
    new_energy = -logdensity + metric.kinetic_energy(p_new)
    new_state = MCMCState(unravel(x_new), logdensity, unravel(g_new))
    return _finish(log_u, state, new_state, energy - new_energy, num_steps)
