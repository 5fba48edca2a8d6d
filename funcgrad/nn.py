"""``funcgrad.nn``: activation functions and friends (``jax.nn``).

Every function is finite, with a finite derivative, over the whole real
line where the mathematical function is (``softplus`` and ``log_sigmoid``
at +-1000, ``gelu`` and ``silu`` at huge arguments, ``elu`` where
``exp`` overflows), and matches ``jax.nn`` in value and in the
conventions at kinks (``relu'(0) = 0``).

>>> import funcgrad
>>> funcgrad.grad(softplus)(1000.0), funcgrad.grad(softplus)(-1000.0)
(Array(1., dtype=float64), Array(0., dtype=float64))
"""
from __future__ import annotations

import math

import numpy as np

import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core import dtypes
from funcgrad.core.trace import get_aval
from funcgrad.numpy._util import canonicalize_axis
from funcgrad.scipy.special import (_floats, _log_softmax_along, _softmax_along, logsumexp,
                                    ndtr)
from funcgrad.transforms.custom_derivatives import custom_jvp

__all__ = ["relu", "relu6", "sigmoid", "log_sigmoid", "softplus", "soft_sign", "silu", "swish",
           "gelu", "elu", "celu", "selu", "leaky_relu", "hard_tanh", "softmax", "log_softmax",
           "logsumexp", "one_hot", "standardize"]


def _float(name, x):
    (x,) = _floats(name, x)
    return x


# --------------------------------------------------------------- rectifiers
@custom_jvp
def _relu(x):
    return jnp.maximum(x, 0.0)


@_relu.defjvp
def _relu_jvp(primals, tangents):
    # The derivative at 0 is 0, as in JAX (not max's 1/2 split).
    (x,), (t,) = primals, tangents
    return _relu(x), jnp.where(jnp.greater(x, 0.0), t, 0.0)


def relu(x):
    """Rectified linear unit ``max(x, 0)``; its derivative at 0 is 0.

    >>> relu(jnp.array([-1.0, 0.0, 2.0]))
    Array([0., 0., 2.], dtype=float64)
    """
    return _relu(_float("relu", x))


@custom_jvp
def _relu6(x):
    return jnp.minimum(jnp.maximum(x, 0.0), 6.0)


@_relu6.defjvp
def _relu6_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    inside = jnp.logical_and(jnp.greater(x, 0.0), jnp.less(x, 6.0))
    return _relu6(x), jnp.where(inside, t, 0.0)


def relu6(x):
    """``min(max(x, 0), 6)``; derivative 0 at both kinks, as in JAX.

    >>> relu6(jnp.array([-1.0, 3.0, 7.0]))
    Array([0., 3., 6.], dtype=float64)
    """
    return _relu6(_float("relu6", x))


def leaky_relu(x, negative_slope=0.01):
    """``x`` for ``x >= 0``, ``negative_slope * x`` below.

    >>> leaky_relu(jnp.array([-2.0, 3.0]))
    Array([-0.02,  3.  ], dtype=float64)
    """
    x = _float("leaky_relu", x)
    return jnp.where(jnp.greater_equal(x, 0.0), x, jnp.multiply(negative_slope, x))


def hard_tanh(x):
    """``x`` clipped to [-1, 1].

    >>> hard_tanh(jnp.array([-2.0, 0.5, 2.0]))
    Array([-1. ,  0.5,  1. ], dtype=float64)
    """
    x = _float("hard_tanh", x)
    return jnp.where(jnp.greater(x, 1.0), 1.0, jnp.where(jnp.less(x, -1.0), -1.0, x))


def _exp_minus_one_below_zero(x, alpha):
    """``alpha * expm1(x)`` for ``x <= 0``; elsewhere a stand-in 0 is used,
    so that ``exp`` overflowing on an unselected branch cannot turn the
    gradient into ``0 * inf = nan`` (the double where)."""
    safe = jnp.where(jnp.greater(x, 0.0), 0.0, x)
    return jnp.multiply(alpha, jnp.expm1(safe))


def elu(x, alpha=1.0):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)``
    below.

    >>> elu(jnp.array([-1000.0, -1.0, 2.0]))
    Array([-1.        , -0.63212056,  2.        ], dtype=float64)
    """
    x = _float("elu", x)
    return jnp.where(jnp.greater(x, 0.0), x, _exp_minus_one_below_zero(x, alpha))


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: ``x`` for ``x > 0``,
    ``alpha * (exp(x / alpha) - 1)`` below.

    >>> celu(jnp.array([-1.0, 2.0]), alpha=2.0)
    Array([-0.78693868,  2.        ], dtype=float64)
    """
    x = _float("celu", x)
    below = _exp_minus_one_below_zero(jnp.divide(x, alpha), alpha)
    return jnp.where(jnp.greater(x, 0.0), x, below)


# Constants of Klambauer et al. (2017), "Self-normalizing neural networks".
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """Scaled ELU, ``scale * elu(x, alpha)`` with the self-normalising
    constants (alpha ~ 1.6733, scale ~ 1.0507).

    >>> selu(jnp.array([-1.0, 1.0]))
    Array([-1.11133074,  1.05070099], dtype=float64)
    """
    return jnp.multiply(_SELU_SCALE, elu(x, _SELU_ALPHA))


# ------------------------------------------------------- sigmoid family
def sigmoid(x):
    """The logistic sigmoid ``1 / (1 + exp(-x))``, without overflow.

    >>> sigmoid(jnp.array([-1000.0, 0.0, 1000.0]))
    Array([0. , 0.5, 1. ], dtype=float64)
    """
    return lax.logistic(_float("sigmoid", x))


def softplus(x):
    """``log(1 + exp(x))``, computed as ``logaddexp(x, 0)``: no overflow, and
    the derivative (the sigmoid) is finite everywhere, 1 at 1000 and 0 at
    -1000, where ``log1p(exp(x))`` differentiated gives nan.

    >>> softplus(jnp.array([-1000.0, 0.0, 1000.0]))
    Array([0.00000000e+00, 6.93147181e-01, 1.00000000e+03], dtype=float64)
    """
    return jnp.logaddexp(_float("softplus", x), 0.0)


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, accurate where the sigmoid
    underflows.

    >>> log_sigmoid(jnp.array([-1000.0, 0.0]))
    Array([-1.00000000e+03, -6.93147181e-01], dtype=float64)
    """
    return jnp.negative(softplus(jnp.negative(_float("log_sigmoid", x))))


def soft_sign(x):
    """``x / (|x| + 1)``.

    >>> soft_sign(jnp.array([-3.0, 1.0]))
    Array([-0.75,  0.5 ], dtype=float64)
    """
    x = _float("soft_sign", x)
    return jnp.divide(x, jnp.add(jnp.abs(x), 1.0))


def silu(x):
    """Sigmoid linear unit ``x * sigmoid(x)`` (also called ``swish``).

    >>> silu(jnp.array([-1000.0, 1.0]))
    Array([-0.        ,  0.73105858], dtype=float64)
    """
    x = _float("silu", x)
    return jnp.multiply(x, lax.logistic(x))


swish = silu

# Beyond |x| = 10 the tanh in the approximate GELU is exactly +-1 in every
# float format, so clipping its argument there changes no value; it keeps
# x**3 (and the derivative's x**2) from overflowing into 0 * inf = nan.
_GELU_CLIP = 10.0
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(x, approximate: bool = True):
    """Gaussian error linear unit ``x * Phi(x)``.

    With ``approximate=True`` (the default, as in JAX) ``Phi`` is replaced by
    ``(1 + tanh(sqrt(2/pi) (x + 0.044715 x**3))) / 2``; otherwise it is the
    normal CDF, computed with ``erfc`` so that ``gelu`` keeps its relative
    accuracy for negative x (where ``1 + erf`` would cancel).

    >>> gelu(jnp.array([-1.0, 1.0]))
    Array([-0.15880801,  0.84119199], dtype=float64)
    >>> gelu(jnp.array([-1.0, 1.0]), approximate=False)
    Array([-0.15865525,  0.84134475], dtype=float64)
    """
    x = _float("gelu", x)
    if not approximate:
        return jnp.multiply(x, ndtr(x))
    c = jnp.clip(x, -_GELU_CLIP, _GELU_CLIP)
    inner = jnp.multiply(_SQRT_2_OVER_PI, jnp.add(c, jnp.multiply(0.044715, jnp.multiply(
        c, jnp.multiply(c, c)))))
    return jnp.multiply(jnp.multiply(x, 0.5), jnp.add(1.0, jnp.tanh(inner)))


# ------------------------------------------------------------- softmaxes
def softmax(x, axis=-1, where=None):
    """``exp(x) / sum(exp(x))`` over ``axis`` (default: the last), computed
    from ``x - max(x)``; entries outside ``where`` get 0.  Its derivative
    rule is ``y * (t - sum(y * t))``.  A slice with ``+inf`` or only
    ``-inf`` gives nan, as in JAX.

    >>> softmax(jnp.array([[1.0, 1.0], [0.0, -jnp.inf]]))
    Array([[0.5, 0.5],
           [1. , 0. ]], dtype=float64)
    """
    return _softmax_along(x, axis, where)


def log_softmax(x, axis=-1, where=None):
    """``x - logsumexp(x)`` over ``axis`` (default: the last); entries
    outside ``where`` get ``-inf``.

    >>> log_softmax(jnp.array([1000.0, 0.0]))
    Array([    0., -1000.], dtype=float64)
    """
    return _log_softmax_along(x, axis, where)


# ---------------------------------------------------------------- helpers
def one_hot(x, num_classes: int, *, dtype=None, axis=-1):
    """One-hot encoding of integer ``x``: a new axis (at ``axis``) of length
    ``num_classes`` that is 1 at the index ``x`` and 0 elsewhere (all 0 for
    indices out of range).  ``dtype`` defaults to float64.

    >>> one_hot(jnp.array([0, 2, 5]), 3)
    Array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 0., 0.]], dtype=float64)
    """
    if not isinstance(num_classes, (int, np.integer)) or isinstance(num_classes, bool):
        raise TypeError(f"one_hot: num_classes must be a static int, got {num_classes!r}")
    dt = dtypes.float64 if dtype is None else np.dtype(dtype)
    x = jnp.asarray(x)
    ndim = get_aval(x).ndim
    out_axis = canonicalize_axis(axis, ndim + 1, "one_hot")
    classes = jnp.reshape(jnp.arange(int(num_classes)),
                          [int(num_classes) if i == out_axis else 1 for i in range(ndim + 1)])
    return jnp.asarray(jnp.equal(jnp.expand_dims(x, out_axis), classes), dtype=dt)


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None):
    """``(x - mean) / sqrt(variance + epsilon)`` over ``axis``; the mean and
    variance are computed when not given (the variance as the mean squared
    deviation, which, unlike ``E[x**2] - E[x]**2``, cannot come out
    negative).

    >>> standardize(jnp.array([1.0, 2.0, 3.0]), epsilon=0.0)
    Array([-1.22474487,  0.        ,  1.22474487], dtype=float64)
    """
    x = _float("standardize", x)
    if mean is None:
        mean = jnp.mean(x, axis=axis, keepdims=True, where=where)
    if variance is None:
        variance = jnp.mean(jnp.square(jnp.subtract(x, mean)), axis=axis, keepdims=True,
                            where=where)
    return jnp.multiply(jnp.subtract(x, mean), lax.rsqrt(jnp.add(variance, epsilon)))
