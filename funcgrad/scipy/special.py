"""``funcgrad.scipy.special``: special functions with SciPy's names and JAX's
semantics (``jax.scipy.special``), written to be accurate in value *and* in
derivative where the textbook formula is not.

The techniques, used throughout (see also ``tests/transforms/test_numerics.py``):

* **Shift by a stopped maximum.**  ``logsumexp`` and the softmaxes subtract
  ``stop_gradient(max)`` before exponentiating: no overflow, and the
  gradient (the softmax) is computed from numbers in [0, 1].
* **Custom derivative rules** (``funcgrad.custom_jvp``) where the derivative
  of the body is nan or inaccurate although the function is smooth:
  ``xlogy``/``xlog1py`` at ``x = 0``, ``log_ndtr`` in the far tail,
  ``ndtri`` (whose body is an iteration), the softmax.  The rules are
  written with differentiable operations, so higher derivatives nest.
* **The double where.**  ``where(c, f(x), g(x))`` differentiates both
  branches; a branch that is nan or infinite where it is not selected makes
  the gradient nan (``0 * inf``).  Each branch therefore sees a harmless
  stand-in argument where it is not selected.

>>> import funcgrad
>>> from funcgrad.scipy import special
>>> funcgrad.grad(special.logsumexp)(jnp.array([1000.0, 1000.0, -jnp.inf]))
Array([0.5, 0.5, 0. ], dtype=float64)
"""
from __future__ import annotations

import math

import numpy as np

import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core.trace import get_aval
from funcgrad.numpy._util import canonicalize_axes, promote_args_inexact
from funcgrad.transforms.custom_derivatives import custom_jvp

__all__ = ["logsumexp", "softmax", "log_softmax", "expit", "logit", "xlogy", "xlog1py",
           "entr", "rel_entr", "kl_div", "gammaln", "digamma", "polygamma", "erf", "erfc",
           "erfinv", "ndtr", "ndtri", "log_ndtr"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
_SQRT_2 = math.sqrt(2.0)


def _floats(name: str, *args) -> list:
    """Operands promoted to one real floating dtype (ints become float64)
    and broadcast (0-d operands stay 0-d)."""
    ops = promote_args_inexact(name, *args)
    dt = get_aval(ops[0]).dtype
    if dt.kind != "f":
        raise TypeError(f"{name}: complex input is not supported (got {dt.name})")
    return ops


def _ndim(x) -> int:
    return get_aval(x).ndim


def _select(cond, on_true, on_false):
    return jnp.where(cond, on_true, on_false)


# ------------------------------------------------------ logsumexp, softmax
def logsumexp(a, axis=None, b=None, keepdims: bool = False, return_sign: bool = False,
              where=None):
    """``log(sum(b * exp(a), axis))`` computed without overflow.

    The maximum over ``axis`` (stopped from gradients) is subtracted before
    exponentiating, so huge and ``-inf`` entries are fine, and the gradient
    with respect to ``a`` is the softmax, computed from numbers in [0, 1].

    Parameters
    ----------
    a : array_like
    axis : None, int or tuple of ints
        Axes to reduce (None: all).
    b : array_like, optional
        Weights broadcast against ``a``; zero weights drop their entries
        (as SciPy and JAX do, the entry is treated as ``-inf``, so the
        gradient with respect to a zero weight is 0); negative weights need
        ``return_sign=True`` unless the sum stays positive (else nan).
    keepdims : bool
    return_sign : bool
        Also return the sign of the sum (+1, -1, or 0 for an empty sum), the
        result then being ``log|sum|``.
    where : array_like of bool, optional
        Only these entries take part.

    Returns
    -------
    The log of the sum; ``-inf`` for a slice with nothing in it (all
    ``-inf``, all weights zero, or empty), with a zero (not nan) gradient
    there; ``+inf`` if an entry is ``+inf``.  With ``return_sign``, the pair
    ``(log|sum|, sign)``.

    Examples
    --------
    >>> logsumexp(jnp.array([1000.0, 1000.0]))
    Array(1000.69314718, dtype=float64)
    >>> logsumexp(jnp.array([[0.0, -jnp.inf], [-jnp.inf, -jnp.inf]]), axis=1)
    Array([  0., -inf], dtype=float64)
    >>> logsumexp(jnp.array([1.0, 2.0]), b=jnp.array([1.0, -1.0]), return_sign=True)
    (Array(1.54132485, dtype=float64), Array(-1., dtype=float64))
    """
    if b is not None:
        a, b = _floats("logsumexp", a, b)
        a = _select(jnp.not_equal(b, 0), a, -np.inf)
    else:
        (a,) = _floats("logsumexp", a)
    if where is not None:
        # Masked entries become -inf before anything else sees them, so
        # that an inf or nan there cannot leak into the gradient.
        a = _select(where, a, -np.inf)
    axes = canonicalize_axes(axis, _ndim(a), "logsumexp")
    amax = jnp.max(a, axis=axes, keepdims=True, initial=-np.inf)
    # An all -inf (or +inf, or nan) slice shifts by 0 instead, giving -inf
    # (or inf, or nan) rather than -inf - (-inf) = nan.
    amax = lax.stop_gradient(_select(jnp.isfinite(amax), amax, 0.0))
    terms = jnp.exp(jnp.subtract(a, amax))
    if b is not None:
        terms = jnp.multiply(terms, b)
    total = jnp.sum(terms, axis=axes, keepdims=True)
    sign = jnp.sign(total)
    magnitude = jnp.abs(total)
    # The double where: log's derivative at an empty sum is 0/0.
    empty = jnp.equal(magnitude, 0.0)
    log_total = _select(empty, -np.inf, jnp.log(_select(empty, 1.0, magnitude)))
    out = jnp.add(log_total, amax)
    if not keepdims:
        out, sign = lax.squeeze(out, axes), lax.squeeze(sign, axes)
    if return_sign:
        return out, sign
    if b is not None:
        out = _select(jnp.less(sign, 0), np.nan, out)
    return out


def _shift_by_max(x, axis, where):
    """``x - stop_gradient(max(x))`` over ``axis`` (keeping dimensions),
    masked entries set to ``-inf`` first."""
    if where is not None:
        x = _select(where, x, -np.inf)
    x_max = jnp.max(x, axis=axis, keepdims=True, initial=-np.inf)
    return jnp.subtract(x, lax.stop_gradient(x_max))


def _softmax_body(x, axis, where):
    unnormalized = jnp.exp(_shift_by_max(x, axis, where))
    result = jnp.divide(unnormalized, jnp.sum(unnormalized, axis=axis, keepdims=True))
    return result if where is None else _select(where, result, 0.0)


_softmax = custom_jvp(_softmax_body, nondiff_argnums=(1, 2))


@_softmax.defjvp
def _softmax_jvp(axis, where, primals, tangents):
    # d softmax = y * (t - <y, t>): uses only y, never exp(x) again.
    (x,), (t,) = primals, tangents
    y = _softmax(x, axis, where)
    inner = jnp.sum(jnp.multiply(y, t), axis=axis, keepdims=True)
    return y, jnp.multiply(y, jnp.subtract(t, inner))


def _log_softmax(x, axis, where):
    shifted = _shift_by_max(x, axis, where)
    log_total = jnp.log(jnp.sum(jnp.exp(shifted), axis=axis, keepdims=True))
    result = jnp.subtract(shifted, log_total)
    return result if where is None else _select(where, result, -np.inf)


def _softmax_along(x, axis, where=None):
    """``softmax`` over the given axes (shared by ``funcgrad.nn``)."""
    (x,) = _floats("softmax", x)
    axes = canonicalize_axes(axis, _ndim(x), "softmax")
    return _softmax(x, axes, where)


def _log_softmax_along(x, axis, where=None):
    """``log_softmax`` over the given axes (shared by ``funcgrad.nn``)."""
    (x,) = _floats("log_softmax", x)
    axes = canonicalize_axes(axis, _ndim(x), "log_softmax")
    return _log_softmax(x, axes, where)


def softmax(x, /, *, axis=None):
    """``exp(x) / sum(exp(x), axis)``, computed from ``x - max(x)``.

    All axes by default (SciPy's convention; ``funcgrad.nn.softmax`` uses
    the last axis).  A slice containing ``+inf``, or only ``-inf``, gives nan,
    as in JAX.  The derivative rule is ``y * (t - sum(y * t))``.

    >>> softmax(jnp.array([1000.0, 1000.0, -jnp.inf]))
    Array([0.5, 0.5, 0. ], dtype=float64)
    """
    return _softmax_along(x, axis)


def log_softmax(x, /, *, axis=None):
    """``x - logsumexp(x, axis)``, accurate where the softmax underflows.

    >>> log_softmax(jnp.array([1000.0, 1.0]))
    Array([   0., -999.], dtype=float64)
    """
    return _log_softmax_along(x, axis)


# --------------------------------------------------------------- logistic
def expit(x):
    """The logistic sigmoid ``1 / (1 + exp(-x))``, without overflow.

    >>> expit(jnp.array([-1000.0, 0.0, 1000.0]))
    Array([0. , 0.5, 1. ], dtype=float64)
    """
    (x,) = _floats("expit", x)
    return lax.logistic(x)


@custom_jvp
def _logit(x):
    return jnp.log(jnp.divide(x, jnp.subtract(1.0, x)))


@_logit.defjvp
def _logit_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _logit(x), jnp.divide(t, jnp.multiply(x, jnp.subtract(1.0, x)))


def logit(x):
    """The inverse of :func:`expit`, ``log(x / (1 - x))``; ``-inf`` at 0,
    ``inf`` at 1, nan outside [0, 1]; derivative ``1 / (x (1 - x))``.

    >>> logit(jnp.array([0.0, 0.5, 0.75, 1.0]))
    Array([      -inf, 0.        , 1.09861229,        inf], dtype=float64)
    """
    (x,) = _floats("logit", x)
    return _logit(x)


# ------------------------------------------------------ x log y and friends
def _x_times(x, log_of_y):
    """``x * log_of_y(y)`` with the convention ``0 * log(anything) = 0``."""
    def body(x, y):
        x_ok = jnp.not_equal(x, 0.0)
        safe_x = _select(x_ok, x, 1.0)
        safe_y = _select(x_ok, y, 1.0)
        return _select(x_ok, jnp.multiply(safe_x, log_of_y(safe_y)), 0.0)
    return body


def _both_zero(x, y):
    return jnp.logical_and(jnp.equal(x, 0.0), jnp.equal(y, 0.0))


@custom_jvp
def _xlogy(x, y):
    return _x_times(x, jnp.log)(x, y)


@_xlogy.defjvp
def _xlogy_jvp(primals, tangents):
    # d/dx = log(y); d/dy = x / y, taken as 0 (not 0/0) at x = y = 0.  Only
    # that point is patched: elsewhere x / y keeps its x-derivative 1 / y,
    # which the mixed second derivative needs (also at x = 0).
    (x, y), (tx, ty) = primals, tangents
    dy = jnp.divide(x, _select(_both_zero(x, y), 1.0, y))
    return _xlogy(x, y), jnp.add(jnp.multiply(tx, jnp.log(y)), jnp.multiply(ty, dy))


@custom_jvp
def _xlog1py(x, y):
    return _x_times(x, jnp.log1p)(x, y)


@_xlog1py.defjvp
def _xlog1py_jvp(primals, tangents):
    (x, y), (tx, ty) = primals, tangents
    one_plus_y = jnp.add(y, 1.0)
    dy = jnp.divide(x, _select(_both_zero(x, one_plus_y), 1.0, one_plus_y))
    return _xlog1py(x, y), jnp.add(jnp.multiply(tx, jnp.log1p(y)), jnp.multiply(ty, dy))


def xlogy(x, y):
    """``x * log(y)``, defined as 0 where ``x == 0`` (whatever ``y``).

    Its derivatives are ``log(y)`` in x and ``x / y`` in y; at ``x = 0`` the
    latter is 0, so ``grad`` is finite there (as with JAX's rule), at
    ``x = y = 0`` too (where JAX gives ``0/0 = nan``).  The derivative in x
    at ``y = 0`` is ``log(0) = -inf``, which is exact.

    >>> xlogy(jnp.array([0.0, 2.0]), jnp.array([0.0, jnp.e]))
    Array([0., 2.], dtype=float64)
    >>> import funcgrad
    >>> funcgrad.grad(xlogy, (0, 1))(0.0, 2.0)
    (Array(0.69314718, dtype=float64), Array(0., dtype=float64))
    """
    x, y = _floats("xlogy", x, y)
    return _xlogy(x, y)


def xlog1py(x, y):
    """``x * log1p(y)``, defined as 0 where ``x == 0``; derivatives
    ``log1p(y)`` and ``x / (1 + y)`` (0 at ``x = 0``, ``y = -1`` included).

    >>> xlog1py(jnp.array([0.0, 3.0]), jnp.array([-1.0, 1e-20]))
    Array([0.e+00, 3.e-20], dtype=float64)
    """
    x, y = _floats("xlog1py", x, y)
    return _xlog1py(x, y)


def entr(x):
    """Elementwise entropy term ``-x log(x)``: 0 at 0, ``-inf`` for ``x < 0``.

    >>> entr(jnp.array([0.5, 2.0, -1.0]))
    Array([ 0.34657359, -1.38629436,        -inf], dtype=float64)
    """
    (x,) = _floats("entr", x)
    negative = jnp.less(x, 0.0)
    safe_x = _select(negative, 1.0, x)
    return _select(negative, -np.inf, jnp.negative(_xlogy(safe_x, safe_x)))


def rel_entr(p, q):
    """Elementwise relative entropy ``p log(p / q)`` for ``p, q > 0``; 0 for
    ``p = 0, q >= 0``; ``inf`` otherwise (SciPy's definition).

    >>> rel_entr(jnp.array([0.5, 0.0, 1.0]), jnp.array([0.25, 1.0, 0.0]))
    Array([0.34657359, 0.        ,        inf], dtype=float64)
    """
    p, q = _floats("rel_entr", p, q)
    both_positive = jnp.logical_and(jnp.greater(p, 0.0), jnp.greater(q, 0.0))
    p_zero = jnp.logical_and(jnp.equal(p, 0.0), jnp.greater_equal(q, 0.0))
    safe_p = _select(both_positive, p, 1.0)
    safe_q = _select(both_positive, q, 1.0)
    value = jnp.multiply(safe_p, jnp.log(jnp.divide(safe_p, safe_q)))
    return _select(both_positive, value, _select(p_zero, 0.0, np.inf))


def kl_div(p, q):
    """Elementwise ``p log(p / q) - p + q`` (``q`` where ``p = 0``; ``inf``
    where undefined), SciPy's ``kl_div``.

    >>> kl_div(jnp.array([0.5, 0.0]), jnp.array([0.25, 2.0]))
    Array([0.09657359, 2.        ], dtype=float64)
    """
    p, q = _floats("kl_div", p, q)
    return jnp.add(jnp.subtract(rel_entr(p, q), p), q)


# ------------------------------------------------ gamma and error functions
def gammaln(x):
    """``log|Gamma(x)|``; differentiable to any order (digamma, polygamma).

    >>> gammaln(jnp.array([0.5, 10.0]))
    Array([ 0.57236494, 12.80182748], dtype=float64)
    """
    (x,) = _floats("gammaln", x)
    return lax.lgamma(x)


def digamma(x):
    """The digamma function ``d/dx log Gamma(x)`` (nan at its poles).

    >>> digamma(jnp.array([1.0, 0.5]))
    Array([-0.57721566, -1.96351003], dtype=float64)
    """
    (x,) = _floats("digamma", x)
    return lax.digamma(x)


def polygamma(n, x):
    """The polygamma function ``psi^(n)(x)``, the n-th derivative of
    digamma, for integer ``n >= 0`` (nan for other orders); differentiable
    in ``x``.

    >>> polygamma(1, jnp.array([1.0, 0.5]))
    Array([1.64493407, 4.9348022 ], dtype=float64)
    """
    n, x = _floats("polygamma", n, x)
    return lax.polygamma(n, x)


def erf(x):
    """The error function ``2/sqrt(pi) * integral_0^x exp(-t**2) dt``.

    >>> erf(jnp.array([0.0, 1.0]))
    Array([0.        , 0.84270079], dtype=float64)
    """
    (x,) = _floats("erf", x)
    return lax.erf(x)


def erfc(x):
    """``1 - erf(x)``, accurate in relative terms for large ``x``.

    >>> erfc(jnp.array([0.0, 10.0]))
    Array([1.00000000e+00, 2.08848758e-45], dtype=float64)
    """
    (x,) = _floats("erfc", x)
    return lax.erfc(x)


def erfinv(x):
    """The inverse error function on (-1, 1) (``+-inf`` at ``+-1``).

    >>> erfinv(jnp.array([0.0, 0.5]))
    Array([0.        , 0.47693628], dtype=float64)
    """
    (x,) = _floats("erfinv", x)
    return lax.erf_inv(x)


# ----------------------------------------------------- the normal CDF
def _ndtr_raw(x):
    # erfc keeps relative accuracy in the lower tail, where 1 + erf would
    # round to 0.
    return lax.mul(lax.erfc(lax.mul(x, -_SQRT_HALF)), 0.5)


def ndtr(x):
    """The standard normal CDF ``Phi(x) = erfc(-x / sqrt(2)) / 2``, accurate
    in relative terms in the lower tail.

    >>> ndtr(jnp.array([-20.0, 0.0, 1.0]))
    Array([2.75362412e-89, 5.00000000e-01, 8.41344746e-01], dtype=float64)
    """
    (x,) = _floats("ndtr", x)
    return _ndtr_raw(x)


def _lower_cut(x) -> float:
    """Below this x, Phi(x) is computed from its asymptotic series: erfc
    would leave the normal floating-point range (about x = -37.5 in
    float64, -12.7 in float32)."""
    return -37.0 if get_aval(x).dtype.itemsize >= 8 else -12.0


def _tail_series(x):
    """``S(x) = 1 - 1/x**2 + 3/x**4 - 15/x**6 + ...`` through ``1/x**16``,
    with ``Phi(x) = phi(x) / (-x) * S(x)`` for x -> -inf.  Below the cut
    (``1/x**2 < 0.007``) the first omitted term, ``17!! / x**18``, is below
    1e-20 in float64 and 1e-11 in float32."""
    z = lax.div(1.0, lax.mul(x, x))
    coefficients = [1.0]
    for k in range(1, 9):
        coefficients.append(-coefficients[-1] * (2 * k - 1))
    s = lax.full_like(x, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        s = lax.add(lax.mul(s, z), c)
    return s


def _log_ndtr_raw(x):
    """``log Phi(x)`` on a float array, in three pieces, each fed a
    stand-in argument where it is not selected."""
    cut = _lower_cut(x)
    lower = lax.lt(x, cut)
    upper = lax.gt(x, 0.0)
    # Far lower tail: log(phi(x) / -x * S(x)).
    x_lo = _select(lower, x, cut - 1.0)
    lo = lax.sub(lax.sub(lax.mul(lax.mul(x_lo, x_lo), -0.5), lax.log(lax.neg(x_lo))),
                 _LOG_SQRT_2PI)
    lo = lax.add(lo, lax.log(_tail_series(x_lo)))
    # Upper half: log(1 - Phi(-x)), accurate when the result is tiny.
    x_up = _select(upper, x, 1.0)
    up = lax.log1p(lax.neg(_ndtr_raw(lax.neg(x_up))))
    # In between: the log of the (relative-accurate) CDF.
    x_mid = _select(jnp.logical_or(lower, upper), -1.0, x)
    mid = lax.log(_ndtr_raw(x_mid))
    return _select(lower, lo, _select(upper, up, mid))


def _hazard(x, log_ndtr_x):
    """``phi(x) / Phi(x)``, the derivative of ``log Phi`` at ``x``, given
    ``log Phi(x)``: ``-x / S(x)`` in the far tail (no cancellation),
    ``exp(log phi(x) - log Phi(x))`` elsewhere (0 at +inf, no overflow)."""
    cut = _lower_cut(x)
    lower = lax.lt(x, cut)
    x_lo = _select(lower, x, cut - 1.0)
    tail = lax.div(lax.neg(x_lo), _tail_series(x_lo))
    x_rest = _select(lower, 0.0, x)
    log_rest = _select(lower, math.log(0.5), log_ndtr_x)
    rest = lax.exp(lax.sub(lax.sub(lax.mul(lax.mul(x_rest, x_rest), -0.5), _LOG_SQRT_2PI),
                           log_rest))
    return _select(lower, tail, rest)


_log_ndtr = custom_jvp(_log_ndtr_raw)


@_log_ndtr.defjvp
def _log_ndtr_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    out = _log_ndtr(x)
    return out, lax.mul(t, _hazard(x, out))


def log_ndtr(x):
    """``log(ndtr(x))``, accurate for all x: from the asymptotic series of
    the normal tail far below 0 (where ``ndtr`` underflows), from
    ``log1p(-ndtr(-x))`` above 0 (where ``ndtr`` rounds to 1).

    Its derivative ``phi(x) / Phi(x)`` is finite everywhere (about ``-x``
    for x -> -inf, 0 at +inf) and accurate in the tails.

    >>> log_ndtr(jnp.array([-1000.0, 0.0, 10.0]))
    Array([-5.00007827e+05, -6.93147181e-01, -7.61985302e-24], dtype=float64)
    """
    (x,) = _floats("log_ndtr", x)
    return _log_ndtr(x)


# ------------------------------------------------------ the normal quantile
# Abramowitz & Stegun 26.2.23: a starting point within 4.5e-4 of the
# quantile, for a lower-tail probability q <= 1/2.
_AS_NUM = (2.515517, 0.802853, 0.010328)
_AS_DEN = (1.0, 1.432788, 0.189269, 0.001308)
_NEWTON_STEPS = 3


def _polyval(coefficients, t):
    out = lax.full_like(t, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        out = lax.add(lax.mul(out, t), c)
    return out


def _ndtri_raw(p):
    # Central region: the inverse error function is accurate there and
    # 2p - 1 loses nothing (to within half an ulp of 1).
    central = lax.le(lax.abs(lax.sub(p, 0.5)), 0.425)
    x_central = lax.mul(lax.erf_inv(lax.sub(lax.mul(p, 2.0), 1.0)), _SQRT_2)
    # Tails: by symmetry solve Phi(x) = q for the lower-tail probability
    # q = min(p, 1 - p) (1 - p is exact for p >= 1/2), by Newton's method
    # on log Phi(x) = log q, which stays accurate down to q = 1e-308.
    q = _select(lax.gt(p, 0.5), lax.sub(1.0, p), p)
    in_tail = jnp.logical_and(jnp.logical_not(central), lax.gt(q, 0.0))
    q = _select(in_tail, q, 0.01)
    log_q = lax.log(q)
    t = lax.sqrt(lax.mul(log_q, -2.0))
    x = lax.neg(lax.sub(t, lax.div(_polyval(_AS_NUM, t), _polyval(_AS_DEN, t))))
    for _ in range(_NEWTON_STEPS):
        # log Phi is concave: the iterates approach from below, quadratically.
        log_phi = _log_ndtr_raw(x)
        x = lax.sub(x, lax.div(lax.sub(log_phi, log_q), _hazard(x, log_phi)))
    x_tail = _select(lax.gt(p, 0.5), lax.neg(x), x)
    out = _select(central, x_central, x_tail)
    out = _select(lax.eq(p, 0.0), -np.inf, _select(lax.eq(p, 1.0), np.inf, out))
    # Outside [0, 1], and nan: nan (the comparisons are False for nan).
    return _select(jnp.logical_and(lax.ge(p, 0.0), lax.le(p, 1.0)), out, np.nan)


_ndtri = custom_jvp(_ndtri_raw)


@_ndtri.defjvp
def _ndtri_jvp(primals, tangents):
    # d/dp Phi^-1(p) = 1 / phi(x) = sqrt(2 pi) exp(x**2 / 2).
    (p,), (t,) = primals, tangents
    x = _ndtri(p)
    return x, lax.mul(t, lax.exp(lax.add(lax.mul(lax.mul(x, x), 0.5), _LOG_SQRT_2PI)))


def ndtri(p):
    """The standard normal quantile, the inverse of :func:`ndtr`: ``-inf``
    at 0, ``inf`` at 1, nan outside [0, 1].

    Accurate in relative terms down to the smallest probabilities
    (``ndtri(1e-300) = -37.0470963...``), with derivative ``1 / phi(ndtri(p))``.

    >>> ndtri(jnp.array([1e-300, 0.025, 0.5, 0.975]))
    Array([-37.0470963 ,  -1.95996398,   0.        ,   1.95996398], dtype=float64)
    """
    (p,) = _floats("ndtri", p)
    return _ndtri(p)
