"""The No-U-Turn Sampler with multinomial sampling, as in Stan.

A transition draws a momentum and doubles a leapfrog trajectory, forwards
or backwards at random, until the trajectory makes a U-turn, an energy
error diverges, or ``max_tree_depth`` doublings are done (Hoffman and
Gelman, 2014; Betancourt, 2017, "A Conceptual Introduction to Hamiltonian
Monte Carlo", appendix A).  The draw is picked among the trajectory's
points with probability proportional to ``exp(-H)``:

* inside a new subtree, progressively, leaf by leaf (each leaf replaces the
  subtree's pick with probability ``w_leaf / w_subtree_so_far``, which
  picks each leaf with probability proportional to its weight);
* when a subtree is merged into the trajectory, the subtree's pick replaces
  the trajectory's with probability ``min(1, w_subtree / w_old)`` (Stan's
  biased progressive sampling, which favours moving away from the start).

Stan builds subtrees recursively.  Here a subtree is built by a loop over
its leaves (one ``lax.while_loop`` inside the ``lax.while_loop`` over
doublings, so the whole transition is native code under ``jit``), and the
U-turn checks of the balanced sub-subtrees that end at a leaf use
*checkpoints*: leaf ``n`` (counted from the subtree's first leaf) starts
the sub-subtrees of every size ``2**k`` dividing ``n``; for an even ``n``
the momentum there and the momentum sum before it are stored in slot
``popcount(n)``.  An odd ``n`` ends ``t`` sub-subtrees (``t`` = its
trailing one bits); the one of size ``2**k`` starts at the leaf stored in
slot ``popcount(n) - k``, which no later leaf has overwritten.  So the
checks are exactly Stan's, including the two extra checks across the
halves of each merge that Stan added in 2.26 (they catch U-turns of
strongly correlated targets that the whole-tree check alone misses).

The U-turn criterion with momentum sum ``rho`` and end momenta ``p_a``,
``p_b`` (velocities ``v = S p``): keep going while
``v_a . rho > 0 and v_b . rho > 0`` (Betancourt's generalised criterion).

>>> import numpy as np
>>> import funcgrad.numpy as jnp
>>> from funcgrad import random
>>> kernel = nuts(lambda x: -0.5 * jnp.sum(x ** 2), step_size=0.8,
...               inverse_mass_matrix=np.ones(3))
>>> state, info = kernel.step(random.key(0), kernel.init(np.zeros(3)))
>>> int(info.tree_depth), int(info.num_grad_evals)
(1, 3)

(One doubling kept; the second one's two-leaf subtree turned, so it was
built, paid for, and rejected.)
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as jnp
from funcgrad import lax, random
from funcgrad.mcmc.kernels import (DIVERGENCE_THRESHOLD, Kernel, MCMCState, _flat_logdensity,
                                   _Metric, gradient_state, leapfrog, make_metric, ravel_pytree)

__all__ = ["NUTSInfo", "nuts", "nuts_step"]


class NUTSInfo(NamedTuple):
    """What one NUTS transition did.

    accept_prob : mean over the trajectory's new points of
        ``min(1, exp(H0 - H))``, the statistic Stan's step-size adaptation
        drives to ``target_accept``.
    is_accepted : whether the draw differs from the starting point.
    diverging : an energy error over 1000 (or nan) stopped the trajectory.
    num_grad_evals : leapfrog steps (one gradient each) spent.
    tree_depth : doublings kept (Stan's ``treedepth__``): the trajectory has
        ``2 ** tree_depth`` points unless a subtree was rejected.
    energy : the Hamiltonian at the draw (Stan's ``energy__``).
    """
    accept_prob: Any
    is_accepted: Any
    diverging: Any
    num_grad_evals: Any
    tree_depth: Any
    energy: Any


class _Leaf(NamedTuple):
    """A point of the trajectory, on raveled vectors."""
    x: Any
    p: Any
    logdensity: Any
    grad: Any


class _Subtree(NamedTuple):
    """The carry of the loop over one subtree's leaves."""
    leaf: _Leaf                # the last leaf built
    n: Any                     # leaves built so far
    ckpt_p: Any                # (max_depth, dim): momentum at the stored leaf
    ckpt_rho: Any              # (max_depth, dim): momentum sum before it
    ckpt_prev_p: Any           # (max_depth, dim): momentum of the leaf before it
    rho: Any                   # momentum sum over the subtree
    log_weight: Any            # log of the sum of exp(H0 - H) over the subtree
    pick: _Leaf                # the subtree's multinomial pick (p unused)
    sum_accept: Any
    turning: Any
    diverging: Any


class _Trajectory(NamedTuple):
    """The carry of the loop over doublings."""
    left: _Leaf
    right: _Leaf
    pick: _Leaf
    log_weight: Any
    rho: Any
    depth: Any
    num_leapfrog: Any
    sum_accept: Any
    turning: Any
    diverging: Any


@functools.cache
def _bit_tables(max_depth: int):
    """``popcount(n)`` and the number of trailing one bits of ``n``, for every
    leaf index ``n < 2 ** (max_depth - 1)`` of a subtree, as int32 tables
    (one table read instead of a loop over bits in the compiled program)."""
    n = np.arange(2 ** max(max_depth - 1, 0), dtype=np.int64)
    ones = np.array([bin(int(i)).count("1") for i in n], np.int32)
    trailing = np.array([bin(int(i) ^ (int(i) + 1)).count("1") - 1 for i in n], np.int32)
    return ones, trailing


def _no_u_turn(metric: _Metric, p_a, p_b, rho):
    """Betancourt's criterion: both ends still move along ``rho``."""
    return (jnp.dot(metric.velocity(p_a), rho) > 0) & (jnp.dot(metric.velocity(p_b), rho) > 0)


def _merged_no_u_turn(metric, back_first, back_last, back_rho, fwd_first, fwd_last, fwd_rho):
    """Stan's three checks when two adjacent trajectories (in time order
    ``back`` then ``fwd``) are merged: the whole, and each half extended by
    the nearest point of the other."""
    return (_no_u_turn(metric, back_first, fwd_last, back_rho + fwd_rho)
            & _no_u_turn(metric, back_first, fwd_first, back_rho + fwd_first)
            & _no_u_turn(metric, back_last, fwd_last, fwd_rho + back_last))


def _subtree_turns(metric: _Metric, tree: _Subtree, p, rho, max_depth: int):
    """Whether any balanced sub-subtree ending at the (odd-numbered) leaf
    with momentum ``p`` turns; ``rho`` is the momentum sum through it."""
    ones, trailing = _bit_tables(max_depth)
    top = jnp.asarray(ones)[tree.n]
    trailing_ones = jnp.asarray(trailing)[tree.n]
    n = tree.n

    def cond(carry):
        k, turning = carry
        return (k <= trailing_ones) & ~turning

    def body(carry):
        k, _ = carry
        start = top - k            # slot of the sub-subtree's first leaf
        middle = start + 1         # slot of its right half's first leaf
        p_start = lax.dynamic_index_in_dim(tree.ckpt_p, start, keepdims=False)
        rho_before_start = lax.dynamic_index_in_dim(tree.ckpt_rho, start, keepdims=False)
        whole = _no_u_turn(metric, p_start, p, rho - rho_before_start)
        # For k == 1 the halves are single leaves and the extra checks
        # repeat the whole check; the middle slot may then be stale, so its
        # checks are masked.
        middle = jnp.minimum(middle, tree.ckpt_p.shape[0] - 1)
        p_mid = lax.dynamic_index_in_dim(tree.ckpt_p, middle, keepdims=False)
        rho_before_mid = lax.dynamic_index_in_dim(tree.ckpt_rho, middle, keepdims=False)
        p_before_mid = lax.dynamic_index_in_dim(tree.ckpt_prev_p, middle, keepdims=False)
        halves = _merged_no_u_turn(metric, p_start, p_before_mid, rho_before_mid - rho_before_start,
                                   p_mid, p, rho - rho_before_mid)
        ok = whole & ((k < 2) | halves)
        return k + 1, ~ok

    _, turning = lax.while_loop(cond, body, (jnp.ones_like(n), jnp.asarray(False)))
    return turning


def _build_subtree(value_and_grad, metric: _Metric, step_size, start: _Leaf, energy0,
                   key, depth, max_depth: int) -> _Subtree:
    """Integrate ``2 ** depth`` leaves from ``start`` (``step_size`` signed
    by the direction), stopping early at a U-turn or a divergence."""
    dim = start.x.shape[0]
    dtype = start.x.dtype
    num_leaves = jnp.left_shift(jnp.ones_like(depth), depth)

    def cond(tree: _Subtree):
        return (tree.n < num_leaves) & ~tree.turning & ~tree.diverging

    def body(tree: _Subtree):
        leaf = _Leaf(*leapfrog(value_and_grad, metric, step_size, *tree.leaf))
        energy = -leaf.logdensity + metric.kinetic_energy(leaf.p)
        energy = jnp.where(jnp.isnan(energy), jnp.inf, energy)
        log_w = energy0 - energy
        diverging = -log_w > DIVERGENCE_THRESHOLD
        log_weight = jnp.logaddexp(tree.log_weight, log_w)
        # Progressive multinomial pick: replace with prob w_leaf / w_total.
        u = random.uniform(random.fold_in(key, tree.n), dtype=dtype)
        take = jnp.log(u) < log_w - log_weight
        pick = _Leaf(*(jnp.where(take, a, b) for a, b in zip(leaf, tree.pick, strict=True)))
        sum_accept = tree.sum_accept + jnp.exp(jnp.minimum(log_w, 0.0))

        rho = tree.rho + leaf.p
        even = (tree.n & 1) == 0
        slot = jnp.asarray(_bit_tables(max_depth)[0])[tree.n]

        def store(table, value):
            old = lax.dynamic_index_in_dim(table, slot, keepdims=False)
            return lax.dynamic_update_index_in_dim(table, jnp.where(even, value, old), slot, 0)

        tree = tree._replace(ckpt_p=store(tree.ckpt_p, leaf.p),
                             ckpt_rho=store(tree.ckpt_rho, tree.rho),
                             ckpt_prev_p=store(tree.ckpt_prev_p, tree.leaf.p))
        turning = lax.cond(even, lambda: jnp.asarray(False),
                           lambda: _subtree_turns(metric, tree, leaf.p, rho, max_depth))
        return tree._replace(leaf=leaf, n=tree.n + 1, rho=rho, log_weight=log_weight, pick=pick,
                             sum_accept=sum_accept, turning=turning, diverging=diverging)

    zeros = jnp.zeros((max_depth, dim), dtype)
    init = _Subtree(leaf=start, n=jnp.zeros_like(depth), ckpt_p=zeros, ckpt_rho=zeros,
                    ckpt_prev_p=zeros, rho=jnp.zeros((dim,), dtype),
                    log_weight=jnp.asarray(-np.inf, dtype), pick=start,
                    sum_accept=jnp.asarray(0.0, dtype), turning=jnp.asarray(False),
                    diverging=jnp.asarray(False))
    return lax.while_loop(cond, body, init)


def nuts_step(logdensity_fn: Callable, key, state: MCMCState, step_size, metric: _Metric,
              max_tree_depth: int = 10):
    """One NUTS transition with an explicit (possibly traced) step size and
    metric; :func:`nuts` binds them.  Returns ``(state, NUTSInfo)``."""
    max_tree_depth = int(max_tree_depth)
    if max_tree_depth < 1:
        raise ValueError(f"nuts: max_tree_depth must be >= 1, got {max_tree_depth}")
    x, unravel = ravel_pytree(state.position)
    g, _ = ravel_pytree(state.logdensity_grad)
    value_and_grad = _flat_logdensity(logdensity_fn, unravel)
    dtype = x.dtype
    p = metric.momentum(random.normal(key, x.shape, dtype))
    energy0 = -state.logdensity + metric.kinetic_energy(p)
    start = _Leaf(x, p, state.logdensity, g)

    def cond(traj: _Trajectory):
        return (traj.depth < max_tree_depth) & ~traj.turning & ~traj.diverging

    def body(traj: _Trajectory):
        # The direction and the merge decision come from the stream of
        # fold_in(key, depth); the leaves' picks use fold_in of that again,
        # a different domain of the generator, so all are independent.
        depth_key = random.fold_in(key, traj.depth)
        u_direction, u_merge = random.uniform(depth_key, (2,), dtype)
        forward = u_direction < 0.5
        edge = _Leaf(*(jnp.where(forward, r, l) for r, l in zip(traj.right, traj.left,
                                                                strict=True)))
        signed_step = jnp.where(forward, step_size, -step_size)
        sub = _build_subtree(value_and_grad, metric, signed_step, edge, energy0, depth_key,
                             traj.depth, max_tree_depth)
        valid = ~sub.turning & ~sub.diverging

        # Biased progressive sampling between the old trajectory and the subtree.
        take = valid & (jnp.log(u_merge) < sub.log_weight - traj.log_weight)
        pick = _Leaf(*(jnp.where(take, a, b) for a, b in zip(sub.pick, traj.pick, strict=True)))
        left = _Leaf(*(jnp.where(valid & ~forward, a, b)
                       for a, b in zip(sub.leaf, traj.left, strict=True)))
        right = _Leaf(*(jnp.where(valid & forward, a, b)
                        for a, b in zip(sub.leaf, traj.right, strict=True)))
        # The subtree's first leaf's momentum is its checkpoint slot 0.
        sub_first = sub.ckpt_p[0]
        back_first = jnp.where(forward, traj.left.p, sub.leaf.p)
        back_last = jnp.where(forward, traj.right.p, sub_first)
        back_rho = jnp.where(forward, traj.rho, sub.rho)
        fwd_first = jnp.where(forward, sub_first, traj.left.p)
        fwd_last = jnp.where(forward, sub.leaf.p, traj.right.p)
        fwd_rho = jnp.where(forward, sub.rho, traj.rho)
        merged_turns = ~_merged_no_u_turn(metric, back_first, back_last, back_rho,
                                          fwd_first, fwd_last, fwd_rho)
        return _Trajectory(
            left=left, right=right, pick=pick,
            log_weight=jnp.where(valid, jnp.logaddexp(traj.log_weight, sub.log_weight),
                                 traj.log_weight),
            rho=jnp.where(valid, traj.rho + sub.rho, traj.rho),
            depth=traj.depth + valid.astype(traj.depth.dtype),
            num_leapfrog=traj.num_leapfrog + sub.n,
            sum_accept=traj.sum_accept + sub.sum_accept,
            turning=sub.turning | (valid & merged_turns),
            diverging=sub.diverging)

    zero_int = jnp.asarray(0, np.int32)
    init = _Trajectory(left=start, right=start, pick=start,
                       log_weight=jnp.asarray(0.0, dtype), rho=p, depth=zero_int,
                       num_leapfrog=zero_int, sum_accept=jnp.asarray(0.0, dtype),
                       turning=jnp.asarray(False), diverging=jnp.asarray(False))
    traj = lax.while_loop(cond, body, init)

    moved = jnp.any(traj.pick.x != x)
    new_state = MCMCState(unravel(traj.pick.x), traj.pick.logdensity, unravel(traj.pick.grad))
    # (An int32 count divides as its dtype: cast it, or float32 chains
    # would get a float64 statistic, as NumPy promotes.)
    steps = jnp.maximum(traj.num_leapfrog, 1).astype(dtype)
    info = NUTSInfo(accept_prob=traj.sum_accept / steps,
                    is_accepted=moved, diverging=traj.diverging,
                    num_grad_evals=traj.num_leapfrog, tree_depth=traj.depth,
                    energy=-traj.pick.logdensity + metric.kinetic_energy(traj.pick.p))
    return new_state, info


def nuts(logdensity_fn: Callable, step_size, inverse_mass_matrix, max_tree_depth: int = 10
         ) -> Kernel:
    """The No-U-Turn Sampler (multinomial, with Stan's U-turn checks).

    Parameters
    ----------
    logdensity_fn : position pytree -> scalar log density (up to a constant).
    step_size : leapfrog step size.
    inverse_mass_matrix : 1-d (diagonal) or 2-d (dense) over the raveled
        position; ideally close to the posterior covariance.
    max_tree_depth : at most ``2 ** max_tree_depth - 1`` leapfrog steps
        (gradients) per transition; 10 as in Stan.

    >>> import numpy as np, funcgrad.numpy as jnp
    >>> from funcgrad import random
    >>> k = nuts(lambda p: -0.5 * jnp.sum(p["x"] ** 2), 0.5, np.ones(2))
    >>> s, info = k.step(random.key(3), k.init({"x": np.ones(2)}))
    >>> s.position["x"].shape, info.tree_depth.dtype
    ((2,), dtype('int32'))
    """
    max_tree_depth = int(max_tree_depth)
    if max_tree_depth < 1:
        raise ValueError(f"nuts: max_tree_depth must be >= 1, got {max_tree_depth}")
    metric = make_metric(inverse_mass_matrix)

    def init(position):
        return gradient_state(logdensity_fn, position)

    def step(key, state):
        return nuts_step(logdensity_fn, key, state, step_size, metric, max_tree_depth)

    return Kernel(init, step)
