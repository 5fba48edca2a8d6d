"""Stan-style warmup: dual-averaging step size, windowed diagonal mass
matrix, and the initial step-size heuristic.

* :class:`DualAveraging`: Nesterov dual averaging of ``log(step_size)``
  (Hoffman and Gelman, 2014, section 3.2) with Stan's constants
  (gamma = 0.05, t0 = 10, kappa = 0.75, mu = log(10 eps0)).  It drives the
  mean acceptance statistic to ``target_accept``; sampling then uses the
  averaged iterate.
* :func:`warmup_schedule`: Stan's windows.  An initial fast buffer (75
  draws) adapts only the step size, then slow windows of 25, 50, 100, ...
  draws (the last stretched to the terminal buffer) each estimate the
  posterior variance, which becomes the inverse mass matrix, and then a
  terminal fast buffer (50 draws) adapts the step size to the final metric.
  After each window the step size is searched again and dual averaging
  restarts.
* :class:`Welford`: running mean and variance of the draws of a window,
  regularised towards 1e-3 as Stan does: ``(n / (n + 5)) var + 1e-3 (5 / (n + 5))``.
* :func:`find_reasonable_step_size`: Stan's ``init_stepsize``: double (or
  halve) the step size until one leapfrog step's acceptance probability
  crosses 0.8.

All of these are pure functions on arrays, used inside the compiled
sampling loop of :mod:`funcgrad.mcmc.sampling`.

>>> warmup_schedule(1000).window_ends
(99, 149, 249, 449, 949)
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.mcmc.kernels import leapfrog

__all__ = ["DualAveraging", "Welford", "WarmupSchedule", "find_reasonable_step_size",
           "warmup_schedule"]

# Hoffman and Gelman's (2014) dual-averaging constants, as in Stan.
_GAMMA, _T0, _KAPPA = 0.05, 10.0, 0.75


class DualAveraging(NamedTuple):
    """The dual-averaging state: all entries are scalars."""
    log_step: Any        # the iterate used for the next warmup transition
    log_step_avg: Any    # its weighted average, used after warmup
    error_avg: Any       # H-bar: running mean of (target - accept_prob)
    t: Any               # number of updates since the last restart
    mu: Any              # the point the iterates shrink towards

    @staticmethod
    def start(log_step):
        """Restart at ``log_step`` with ``mu = log(10 * step)`` (Stan)."""
        log_step = jnp.asarray(log_step)
        zero = jnp.zeros_like(log_step)
        return DualAveraging(log_step, log_step, zero, zero, log_step + math.log(10.0))

    def update(self, accept_prob, target):
        t = self.t + 1.0
        eta = 1.0 / (t + _T0)
        error_avg = (1.0 - eta) * self.error_avg + eta * (target - accept_prob)
        log_step = self.mu - jnp.sqrt(t) / _GAMMA * error_avg
        weight = t ** (-_KAPPA)
        log_step_avg = weight * log_step + (1.0 - weight) * self.log_step_avg
        new = DualAveraging(log_step, log_step_avg, error_avg, t, self.mu)
        # Keep the state's dtypes (a float64 statistic must not promote a
        # float32 chain's state).
        return DualAveraging(*(jnp.asarray(a).astype(jnp.asarray(b).dtype)
                               for a, b in zip(new, self, strict=True)))


class Welford(NamedTuple):
    """Running count, mean and sum of squared deviations of vectors."""
    count: Any
    mean: Any
    m2: Any

    @staticmethod
    def start(dim: int, dtype):
        zeros = jnp.zeros((dim,), dtype)
        return Welford(jnp.asarray(0.0, dtype), zeros, zeros)

    def update(self, x):
        count = self.count + 1.0
        delta = x - self.mean
        mean = self.mean + delta / count
        return Welford(count, mean, self.m2 + delta * (x - mean))

    def regularized_variance(self):
        """Stan's estimate of the inverse mass matrix from the window."""
        n = self.count
        variance = self.m2 / jnp.maximum(n - 1.0, 1.0)
        return (n / (n + 5.0)) * variance + 1e-3 * (5.0 / (n + 5.0))


class WarmupSchedule(NamedTuple):
    """Per-warmup-iteration flags (NumPy bool arrays of length
    ``num_warmup``) and the slow windows' last iterations."""
    accumulate: np.ndarray      # the draw enters the variance estimate
    window_end: np.ndarray      # after this draw the metric is updated
    window_ends: tuple


def warmup_schedule(num_warmup: int, init_buffer: int = 75, term_buffer: int = 50,
                    base_window: int = 25) -> WarmupSchedule:
    """Stan's adaptation windows for ``num_warmup`` iterations.

    With fewer than 20 warmup iterations there are no slow windows (only
    the step size adapts).  If the default buffers do not fit, they become
    15% and 10% of the warmup with one window between them (Stan's rule).

    >>> s = warmup_schedule(100)
    >>> s.window_ends, int(s.accumulate.sum())
    ((89,), 75)
    """
    accumulate = np.zeros(num_warmup, bool)
    window_end = np.zeros(num_warmup, bool)
    if num_warmup < 20:
        return WarmupSchedule(accumulate, window_end, ())
    if init_buffer + base_window + term_buffer > num_warmup:
        init_buffer = int(0.15 * num_warmup)
        term_buffer = int(0.1 * num_warmup)
        base_window = num_warmup - (init_buffer + term_buffer)
    last = num_warmup - term_buffer - 1
    ends, size, end = [], base_window, init_buffer + base_window - 1
    while end <= last:
        ends.append(end)
        if end == last:
            break
        size *= 2
        end += size
        # A window that would leave less than twice its size before the
        # terminal buffer absorbs the rest.
        if end != last and end + 2 * size >= num_warmup - term_buffer:
            end = last
    accumulate[init_buffer:last + 1] = True
    window_end[list(ends)] = True
    return WarmupSchedule(accumulate, window_end, tuple(ends))


def find_reasonable_step_size(value_and_grad, metric, x, logdensity, grad, p, log_step,
                              max_iterations: int = 100):
    """Stan's heuristic: from ``exp(log_step)``, double (or halve) the step
    until one leapfrog step from ``(x, p)`` crosses acceptance probability
    0.8; returns the first log step size on the other side.  A non-finite
    energy counts as an acceptance of 0.  Works on raveled vectors."""
    energy0 = -logdensity + metric.kinetic_energy(p)
    threshold = math.log(0.8)

    def log_accept(log_step):
        _, p1, logdensity1, _ = leapfrog(value_and_grad, metric, jnp.exp(log_step), x, p,
                                         logdensity, grad)
        delta = energy0 - (-logdensity1 + metric.kinetic_energy(p1))
        return jnp.where(jnp.isnan(delta), -jnp.inf, delta)

    # The direction is fixed by the first evaluation (iteration 0), then the
    # loop walks in that direction until the acceptance crosses 0.8.  One
    # loop body holds the only copy of the leapfrog step.
    def cond(carry):
        _, _, crossed, i = carry
        return ~crossed & (i < max_iterations)

    def body(carry):
        log_step, direction, _, i = carry
        delta = log_accept(log_step)
        direction = jnp.where(i == 0, jnp.where(delta > threshold, 1.0, -1.0), direction)
        crossed = jnp.where(direction > 0, delta <= threshold, delta >= threshold)
        next_step = jnp.where(crossed, log_step, log_step + direction * math.log(2.0))
        return next_step, direction, crossed, i + 1

    dtype = jnp.asarray(log_step).dtype
    init = (jnp.asarray(log_step), jnp.asarray(1.0, dtype), jnp.asarray(False),
            jnp.asarray(0, np.int32))
    # Step sizes of 2**+-100 times the start are as far as the search goes.
    return lax.while_loop(cond, body, init)[0]
