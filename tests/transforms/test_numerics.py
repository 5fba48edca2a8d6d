"""Numerically delicate derivatives: what funcgrad gives, and why.

Automatic differentiation differentiates the program, not the mathematical
function.  Where a program is exact in value but its derivative passes
through an overflow, a ``0 * inf`` or a ``0 / 0``, the derivative is nan
although the function is smooth.  In every case below funcgrad gives JAX's
result, except in a few corners where JAX gives nan and funcgrad a finite
value (each is said).  Each test checks against analytic formulas, eagerly
and staged (``make_jaxpr`` + ``eval_jaxpr``), in forward and reverse mode.

**logsumexp.**  ``log(sum(exp(x)))`` overflows for ``x = 1000``: the value
is inf and the gradient nan.  ``funcgrad.scipy.special.logsumexp``
subtracts ``m = stop_gradient(max(x))`` first (``m + log(sum(exp(x - m)))``,
exact in exact arithmetic), so only numbers in [0, 1] are summed; its
gradient is the softmax, ``[0.5, 0.5, 0]`` at ``[1000, 1000, -inf]``.  A
slice that is all ``-inf`` gives ``-inf`` and a zero gradient (JAX gives a
nan gradient there).  ``stop_gradient`` is what keeps the shift out of the
derivative: the shift cancels in value, so its derivative must not appear.

**softplus, logaddexp.**  ``log1p(exp(x))`` written naively has value
``inf`` and gradient ``inf / inf = nan`` at ``x = 1000``, in JAX as here.
Use ``funcgrad.nn.softplus`` (``= logaddexp(x, 0)``): its gradient is
``sigmoid(x)``, exactly 1 at 1000 and 0 at -1000.  ``funcgrad.numpy.logaddexp``
and ``logaddexp2`` carry a custom derivative rule (``logistic(x1 - x2)``),
so ties (``logaddexp(x, x)``, ``softplus(0)``) have the right first *and
second* derivatives (``softplus''(0) = 1/4``), and equal infinities give
1/2 each (the body's own derivative would be nan there).

**sqrt (or log, or 1/x) under where.**  ``where(x > 0, sqrt(x), 0.)`` has
the right value everywhere, but its gradient at 0 (and at every x < 0) is
nan: reverse mode sends a zero cotangent into the unselected branch, and
``0 * sqrt'(0) = 0 * inf = nan`` (``0 * nan`` below 0).  JAX gives the same
nan.  (Forward mode selects tangents and gives 0.)  The fix is the *double
where*: make the unselected branch harmless,
``where(x > 0, sqrt(where(x > 0, x, 1.)), 0.)``, whose gradient is 0
there.  funcgrad's own functions use this idiom internally (``sinc``,
``hypot``, ``xlogy``, ``logsumexp``, ``elu``, ...).

**xlogy.**  ``x * log(y)`` is nan at ``x = y = 0`` (``0 * -inf``).
``funcgrad.scipy.special.xlogy`` defines it as 0 wherever ``x = 0`` and has
a custom rule: the derivative in x is ``log(y)`` (also at ``x = 0``) and in
y it is ``x / y``, 0 at ``x = 0``, so ``grad`` is finite there (also at
``x = y = 0``, where JAX's rule gives ``0 / 0 = nan``).

**sinc, hypot, log_ndtr.**  ``sin(pi x) / (pi x)`` is ``0 / 0`` at 0;
``funcgrad.numpy.sinc`` switches to its Taylor polynomial near 0, so its
derivatives of every order are right there (``sinc''(0) = -pi**2 / 3``).
``hypot`` has gradient 0 at the origin (as in JAX; its kink), and exact
first and second derivatives at ``1e-200`` and ``1e200`` (its value is
computed with a power-of-two rescaling that must not reach the derivative:
differentiated, it would give 0 at ``1e-200``).  ``log(ndtr(x))`` is
``-inf`` with a nan gradient at ``x = -40`` (ndtr underflows); ``log_ndtr``
uses the asymptotic series there and its gradient ``phi(x) / Phi(x)`` is
about ``-x``.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import funcgrad
import funcgrad.nn as nn
import funcgrad.numpy as jnp
from funcgrad.scipy import special as sp
from tests.util import assert_close, eager_and_staged

F64 = np.float64
grad = funcgrad.grad


def _sigmoid(x):
    # Written so that exp never overflows.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _both_modes(f, x):
    """The derivative of scalar-valued ``f`` at ``x`` in reverse mode (eager
    and staged) and in forward mode; checks they agree, returns it."""
    g = eager_and_staged(grad(f), x)
    if np.ndim(x) == 0:
        _, t = funcgrad.jvp(f, (x,), (1.0,))
    else:
        t = funcgrad.jacfwd(f)(x)
    assert_close(t, g, check_dtype=False)
    return g


# --------------------------------------------------------------- logsumexp
def test_logsumexp_at_huge_and_minus_infinite_entries():
    x = np.array([1000.0, 1000.0, -np.inf])
    assert_close(eager_and_staged(sp.logsumexp, x), F64(1000.0 + math.log(2.0)))
    assert_close(_both_modes(sp.logsumexp, x), np.array([0.5, 0.5, 0.0]))
    # The naive formula overflows: value inf, gradient nan (as in JAX).
    naive = lambda v: jnp.log(jnp.sum(jnp.exp(v)))  # noqa: E731
    assert naive(x) == np.inf
    assert np.all(np.isnan(grad(naive)(x)[:2]))
    # The second derivative (the softmax's Jacobian) is finite too.
    h = funcgrad.hessian(sp.logsumexp)(x)
    assert_close(h, np.array([[0.25, -0.25, 0.0], [-0.25, 0.25, 0.0], [0.0, 0.0, 0.0]]))


def test_logsumexp_of_an_all_minus_infinite_slice():
    x = np.array([[-np.inf, -np.inf], [0.0, 0.0]])
    f = lambda v: sp.logsumexp(v, axis=1)  # noqa: E731
    assert_close(eager_and_staged(f, x), np.array([-np.inf, math.log(2.0)]))
    g = eager_and_staged(grad(lambda v: jnp.sum(jnp.where(jnp.isinf(f(v)), 0.0, f(v)))), x)
    assert_close(g, np.array([[0.0, 0.0], [0.5, 0.5]]))
    assert_close(funcgrad.jacrev(f)(x)[0], np.zeros((2, 2)))


# ------------------------------------------------------- softplus, logaddexp
@pytest.mark.parametrize("x", [1000.0, -1000.0, 30.0, -30.0, 0.0, 1e300, -1e300])
def test_softplus_gradient_is_the_sigmoid_everywhere(x):
    for f in (nn.softplus, lambda v: jnp.logaddexp(v, 0.0), lambda v: jnp.logaddexp(0.0, v)):
        g = _both_modes(f, x)
        assert_close(g, F64(_sigmoid(x)), check_dtype=False)
        # The second derivative is sigmoid' = s (1 - s): 1/4 at 0, 0 far out.
        s = _sigmoid(x)
        assert_close(eager_and_staged(grad(grad(f)), x), F64(s * (1 - s)), check_dtype=False)
    assert_close(nn.softplus(x), F64(max(x, 0.0) + math.log1p(math.exp(-abs(x)))),
                 check_dtype=False)
    assert_close(_both_modes(nn.log_sigmoid, x), F64(1 - _sigmoid(x)), check_dtype=False)


def test_naive_log1p_exp_has_a_nan_gradient_use_softplus():
    naive = lambda v: jnp.log1p(jnp.exp(v))  # noqa: E731
    # Value inf, derivative exp(x) / (1 + exp(x)) = inf / inf = nan, as in JAX.
    assert naive(1000.0) == np.inf
    assert np.isnan(grad(naive)(1000.0))
    assert np.isnan(funcgrad.jvp(naive, (1000.0,), (1.0,))[1])
    # funcgrad.nn.softplus computes the same function without either problem.
    assert_close(nn.softplus(1000.0), F64(1000.0), check_dtype=False)
    assert_close(grad(nn.softplus)(1000.0), F64(1.0), check_dtype=False)


def test_logaddexp_ties_and_infinities():
    # d/dx1 log(e^x1 + e^x2) = logistic(x1 - x2): 1/2 at a tie, each way.
    for x in (0.0, 3.0, 1e300, np.inf, -np.inf):
        g1, g2 = grad(jnp.logaddexp, (0, 1))(x, x)
        assert_close(g1, F64(0.5), check_dtype=False)
        assert_close(g2, F64(0.5), check_dtype=False)
    assert_close(grad(grad(jnp.logaddexp))(2.0, 2.0), F64(0.25), check_dtype=False)
    assert_close(grad(grad(jnp.logaddexp2))(2.0, 2.0), F64(math.log(2.0) / 4),
                 check_dtype=False)
    # Against an infinite partner the weights are exactly 1 and 0.
    assert_close(grad(jnp.logaddexp, (0, 1))(np.inf, 5.0), (F64(1.0), F64(0.0)))
    assert_close(grad(jnp.logaddexp, (0, 1))(-np.inf, 5.0), (F64(0.0), F64(1.0)))
    assert_close(jnp.logaddexp(np.inf, np.inf), F64(np.inf), check_dtype=False)
    assert_close(jnp.logaddexp(-np.inf, -np.inf), F64(-np.inf), check_dtype=False)


# ------------------------------------------------------- sqrt under where
def test_sqrt_under_where_single_and_double():
    single = lambda x: jnp.where(x > 0, jnp.sqrt(x), 0.0)  # noqa: E731
    double = lambda x: jnp.where(x > 0, jnp.sqrt(jnp.where(x > 0, x, 1.0)), 0.0)  # noqa: E731
    # Same values everywhere.
    xs = np.array([0.0, 0.25, 4.0, -1.0])
    assert_close(single(xs), double(xs))
    # At 0 the single where's gradient is nan, exactly as in JAX: the zero
    # cotangent of the unselected branch meets sqrt'(0) = inf.
    assert np.isnan(eager_and_staged(grad(single), 0.0))
    # The double where keeps the unselected branch at a harmless input.
    assert_close(eager_and_staged(grad(double), 0.0), F64(0.0), check_dtype=False)
    assert_close(_both_modes(double, 0.0), F64(0.0), check_dtype=False)
    # For x > 0 both are 1 / (2 sqrt x).  For x < 0 the single where is nan
    # again (sqrt(-1) = nan in the unselected branch), the double where 0.
    for x, expected in ((0.25, 1.0), (4.0, 0.25)):
        assert_close(grad(single)(x), F64(expected), check_dtype=False)
        assert_close(grad(double)(x), F64(expected), check_dtype=False)
    assert np.isnan(grad(single)(-1.0))
    assert_close(grad(double)(-1.0), F64(0.0), check_dtype=False)
    # Forward mode selects the tangents, so it discards the infinite one
    # and gives 0 (as JAX's jvp does): the nan is a reverse-mode effect.
    assert_close(funcgrad.jvp(single, (0.0,), (1.0,))[1], F64(0.0), check_dtype=False)


# ------------------------------------------------------------------ xlogy
def test_xlogy_at_zero():
    naive = lambda x, y: x * jnp.log(y)  # noqa: E731
    assert np.isnan(naive(0.0, 0.0))  # 0 * -inf
    assert_close(eager_and_staged(sp.xlogy, 0.0, 0.0), F64(0.0), check_dtype=False)
    gx, gy = grad(sp.xlogy, (0, 1))(0.0, 2.0)
    assert_close(gx, F64(math.log(2.0)))  # d/dx x log y = log y
    assert_close(gy, F64(0.0))            # d/dy x log y = x / y = 0
    _, t = funcgrad.jvp(sp.xlogy, (0.0, 2.0), (1.0, 1.0))
    assert_close(t, F64(math.log(2.0)), check_dtype=False)
    # At x = y = 0: the derivative in x is log 0 = -inf (exact), in y 0.
    gx, gy = grad(sp.xlogy, (0, 1))(0.0, 0.0)
    assert gx == -np.inf and gy == 0.0
    # Entropy-like sums stay finite with zero probabilities.
    p = np.array([0.0, 0.25, 0.75])
    g = grad(lambda v: -jnp.sum(sp.xlogy(v, v)))(p)
    assert_close(g[1:], -np.log(p[1:]) - 1)
    assert g[0] == np.inf


# ------------------------------------------------------ sinc, hypot, log_ndtr
def test_sinc_derivatives_at_zero():
    d = jnp.sinc
    expected = [1.0, 0.0, -math.pi ** 2 / 3, 0.0, math.pi ** 4 / 5]
    for order, value in enumerate(expected):
        assert_close(eager_and_staged(d, 0.0), F64(value), check_dtype=False, rtol=1e-13)
        d = grad(d)
    # Near 0, where the quotient's derivatives would lose digits:
    x = 1e-4
    assert_close(grad(jnp.sinc)(x), F64(-math.pi ** 2 * x / 3 + math.pi ** 4 * x ** 3 / 30),
                 check_dtype=False, rtol=1e-12)


def test_hypot_at_the_origin_and_at_large_values():
    g1, g2 = grad(jnp.hypot, (0, 1))(0.0, 0.0)
    assert_close((g1, g2), (F64(0.0), F64(0.0)), check_dtype=False)
    g1, g2 = grad(jnp.hypot, (0, 1))(3e200, 4e200)
    assert_close((g1, g2), (F64(0.6), F64(0.8)), check_dtype=False)
    # At tiny and huge arguments alike (the scaling that keeps the value
    # exact must not reach the derivatives): the gradient is (x, y) / h and
    # the Hessian [[y^2, -xy], [-xy, x^2]] / h^3.
    for scale in (1e-200, 1.0, 1e200):
        g = grad(lambda v: jnp.hypot(v[0], v[1]))(np.array([3.0, 4.0]) * scale)
        assert_close(g, np.array([0.6, 0.8]))
        h = funcgrad.hessian(lambda v: jnp.hypot(v[0], v[1]))(np.array([3.0, 4.0]) * scale)
        assert_close(h * scale, np.array([[16.0, -12.0], [-12.0, 9.0]]) / 125, rtol=1e-13)


def test_log_ndtr_in_the_far_tail():
    naive = lambda x: jnp.log(sp.ndtr(x))  # noqa: E731
    assert naive(-40.0) == -np.inf and np.isnan(grad(naive)(-40.0))
    value = eager_and_staged(sp.log_ndtr, -40.0)
    # log Phi(x) = -x^2/2 - log(-x) - log sqrt(2 pi) + log(1 - 1/x^2 + 3/x^4 - 15/x^6 + ...)
    z = 1 / 1600
    series = 1 - z + 3 * z ** 2 - 15 * z ** 3 + 105 * z ** 4
    assert_close(value, F64(-800.0 - math.log(40.0) - 0.5 * math.log(2 * math.pi)
                            + math.log(series)), rtol=1e-15, check_dtype=False)
    # phi/Phi = -x - 1/x + 2/x^3 - 10/x^5 + 74/x^7 - ... = 40.0249...
    assert_close(_both_modes(sp.log_ndtr, -40.0),
                 F64(40.0 + 1 / 40 - 2 / 40 ** 3 + 10 / 40 ** 5 - 74 / 40 ** 7),
                 check_dtype=False, rtol=1e-13)
