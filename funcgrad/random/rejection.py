"""Rejection samplers: ``gamma``, ``loggamma``, ``beta`` and ``dirichlet``.

Gamma variates come from Marsaglia and Tsang's method ("A simple method for
generating gamma variables", ACM TOMS 26(3), 2000): for ``alpha >= 1``, with
``d = alpha - 1/3`` and ``c = 1 / sqrt(9 d)``, draw ``x`` standard normal
and ``u`` uniform until ``v = (1 + c x)**3 > 0`` and
``log u < x**2 / 2 + d (1 - v + log v)``; the sample is ``d v``.  For
``alpha < 1`` the sampler draws with ``alpha + 1`` and multiplies by
``u**(1 / alpha)`` (the "boost"), which is done in logs so that
``loggamma`` stays finite where the sample itself underflows.

The rejection loop is one ``lax.while_loop`` over the whole array: every
iteration draws a fresh normal and uniform for every element (from
counters that hold the iteration number), and an element keeps the first candidate it
accepts.  So element ``i``'s value depends only on the key, on ``i`` and on
its own ``alpha``: the loop running longer for other elements (under
``vmap``, or in a larger array) never changes it, and the same key gives
the same numbers eagerly, staged, under ``jit`` and under ``vmap``.  Each
iteration accepts with probability above 0.95, so the loop runs about
``log(n) / 3`` times for ``n`` elements.

``alpha`` that is nan or negative gives nan, ``alpha = 0`` gives 0 (``-inf``
from ``loggamma``), ``alpha = inf`` gives inf.

>>> from funcgrad import random
>>> random.gamma(random.key(0), 2.0, (3,)).shape
(3,)
"""
from __future__ import annotations

import math

import numpy as np

import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core.trace import get_aval
from funcgrad.random.distributions import (as_array, broadcasts_to, float_dtype, normal_from_unit,
                                           params_to)
from funcgrad.random.prng import (blocks64, canonical_shape, check_key, floats_from_bits,
                                  key_words, split, unit_floats)
from funcgrad.transforms.custom_derivatives import custom_jvp

__all__ = ["beta", "dirichlet", "gamma", "loggamma"]

_U32 = np.dtype(np.uint32)


@custom_jvp
def _gamma_parts(key, a):
    """For ``a`` (already of the sample shape and dtype), return
    ``(dv, log_boost)``: the sample is ``dv * exp(log_boost)``, its log is
    ``log(dv) + log_boost``."""
    name = "gamma"
    dt = get_aval(a).dtype
    shape = get_aval(a).shape
    n = math.prod(shape)
    k_loop, k_boost = split(key)
    # k_loop belongs to the loop alone: iteration t reads the blocks
    # threefry(k_loop, (i, t)), i < 2n (n normals, then n uniforms), so one
    # block function per iteration serves both draws.
    l0, l1 = key_words(name, k_loop)
    valid = jnp.logical_and(lax.ge(a, 0.0), lax.lt(a, np.inf))   # False for nan
    boosted = jnp.logical_and(valid, lax.lt(a, 1.0))
    # Invalid entries get a harmless alpha: they start out done.
    alpha = jnp.where(valid, jnp.where(boosted, lax.add(a, 1.0), a), 1.0)
    d = lax.sub(alpha, 1.0 / 3.0)
    c = lax.rsqrt(lax.mul(d, 9.0))

    def not_done(carry):
        _, done, _ = carry
        return jnp.logical_not(jnp.all(done))

    def attempt(carry):
        t, done, out = carry
        raw = blocks64(l0, l1, 2 * n, t)
        x = normal_from_unit(floats_from_bits(
            lax.reshape(lax.slice(raw, (0,), (n,)), shape), dt, open_interval=True))
        u = floats_from_bits(lax.reshape(lax.slice(raw, (n,), (2 * n,)), shape), dt)
        v = lax.add(lax.mul(c, x), 1.0)
        v = lax.mul(lax.mul(v, v), v)
        positive = lax.gt(v, 0.0)
        log_v = lax.log(jnp.where(positive, v, 1.0))
        bound = lax.add(lax.mul(lax.mul(x, x), 0.5),
                        lax.mul(d, lax.add(lax.sub(1.0, v), log_v)))
        accept = jnp.logical_and(positive, lax.lt(lax.log(u), bound))
        take = jnp.logical_and(accept, jnp.logical_not(done))
        out = jnp.where(take, lax.mul(d, v), out)
        return lax.add(t, np.uint32(1)), jnp.logical_or(done, accept), out

    _check_size(name, n)
    start = jnp.where(lax.eq(a, np.inf), np.inf, np.nan).astype(dt)
    init = (lax.full((), 0, _U32), jnp.logical_not(valid), start)
    _, _, dv = lax.while_loop(not_done, attempt, init)
    # The boost u**(1/a), in logs; u on (0, 1) keeps log u finite, and
    # a = 0 gives -inf (the sample 0).
    u = unit_floats(name, k_boost, shape, dt, open_interval=True)
    log_boost = jnp.where(boosted, lax.div(lax.log(u), jnp.where(boosted, a, 1.0)), 0.0)
    return dv, log_boost.astype(dt)


@_gamma_parts.defjvp
def _gamma_parts_jvp(primals, tangents):
    # Differentiating the loop would give the derivative of the accepted
    # proposal, which is not the derivative of the sample (the acceptance
    # depends on a too): refuse rather than return a wrong number.
    raise NotImplementedError(
        "random.gamma (and loggamma, beta, dirichlet): derivatives with respect to the shape "
        "parameters are not implemented (they need the implicit reparameterization gradient "
        "of the gamma CDF); apply lax.stop_gradient to the parameters to treat them as "
        "constants")


def _check_size(name: str, n: int) -> None:
    if 2 * n >= 2 ** 32:
        raise ValueError(f"random.{name}: at most 2**31 - 1 samples at a time, asked for {n}")


def _alpha(name: str, key, a, shape, dtype):
    check_key(name, key)
    dt = float_dtype(name, dtype)
    shape, (a,) = params_to(name, dt, shape, a=a)
    return jnp.broadcast_to(a, shape)


def gamma(key, a, shape=None, dtype=float):
    """Gamma samples with shape parameter ``a`` and scale 1 (Marsaglia and
    Tsang's rejection method, boosted for ``a < 1``).  ``a`` broadcasts to
    ``shape`` (default: ``a``'s shape).  For small ``a`` many samples
    underflow to 0; :func:`loggamma` gives their logs.

    >>> from funcgrad import random
    >>> x = random.gamma(random.key(0), jnp.array([0.5, 1.0, 10.0]))
    >>> x.shape, bool((x > 0).all())
    ((3,), True)
    """
    a = _alpha("gamma", key, a, shape, dtype)
    dv, log_boost = _gamma_parts(key, a)
    return lax.mul(dv, lax.exp(log_boost))


def loggamma(key, a, shape=None, dtype=float):
    """The logs of gamma samples, finite even where the samples underflow
    (``a`` far below 1); the same draws as :func:`gamma` with the same key.

    >>> from funcgrad import random
    >>> bool(jnp.isfinite(random.loggamma(random.key(0), 1e-3, (4,))).all())
    True
    """
    a = _alpha("loggamma", key, a, shape, dtype)
    dv, log_boost = _gamma_parts(key, a)
    return lax.add(lax.log(dv), log_boost)


def beta(key, a, b, shape=None, dtype=float):
    """Beta(a, b) samples ``X / (X + Y)`` for gamma variates ``X``, ``Y``,
    computed from their logs (so tiny ``a``, ``b`` give 0s and 1s, not nan).
    ``a`` and ``b`` broadcast to ``shape`` (default: their broadcast shape).

    >>> from funcgrad import random
    >>> x = random.beta(random.key(0), 2.0, 3.0, (100,))
    >>> bool(((x >= 0) & (x <= 1)).all())
    True
    """
    check_key("beta", key)
    dt = float_dtype("beta", dtype)
    shape, (a, b) = params_to("beta", dt, shape, a=a, b=b)
    # One rejection loop for both variates.
    both = jnp.stack([jnp.broadcast_to(a, shape), jnp.broadcast_to(b, shape)])
    dv, log_boost = _gamma_parts(key, both)
    logs = lax.add(lax.log(dv), log_boost)
    log_x, log_y = logs[0], logs[1]
    top = lax.max(log_x, log_y)
    ex, ey = lax.exp(lax.sub(log_x, top)), lax.exp(lax.sub(log_y, top))
    return lax.div(ex, lax.add(ex, ey))


def dirichlet(key, alpha, shape=None, dtype=float):
    """Dirichlet samples: normalised gamma variates ``G_i / sum_j G_j``
    (from their logs, a softmax), along the last axis of ``alpha``
    (``(..., K)``).  ``shape`` is the batch shape (default
    ``alpha.shape[:-1]``); the result has shape ``shape + (K,)``.

    >>> from funcgrad import random
    >>> x = random.dirichlet(random.key(0), jnp.array([1.0, 2.0, 3.0]), (4,))
    >>> x.shape, bool(jnp.allclose(x.sum(-1), 1.0))
    ((4, 3), True)
    """
    check_key("dirichlet", key)
    dt = float_dtype("dirichlet", dtype)
    alpha = lax.convert_element_type(as_array("dirichlet", "alpha", alpha), dt)
    aval = get_aval(alpha)
    if aval.ndim < 1:
        raise ValueError(f"random.dirichlet: alpha must have at least one dimension, got "
                         f"{aval.str_short()}")
    batch = aval.shape[:-1]
    if shape is None:
        shape = batch
    else:
        shape = canonical_shape("dirichlet", shape)
        if not broadcasts_to(batch, shape):
            raise ValueError(f"random.dirichlet: alpha's batch shape {batch} (alpha "
                             f"{aval.shape} without its last axis) must broadcast to shape "
                             f"{shape}")
    a = jnp.broadcast_to(alpha, shape + aval.shape[-1:])
    dv, log_boost = _gamma_parts(key, a)
    logs = lax.add(lax.log(dv), log_boost)
    shifted = logs - jnp.max(logs, axis=-1, keepdims=True)
    e = jnp.exp(shifted)
    return e / jnp.sum(e, axis=-1, keepdims=True)
