"""Samplers built on the key's bit stream (no loops): ``uniform``,
``normal``, ``bernoulli``, ``categorical``, ``randint``, ``exponential``,
``gumbel``, ``laplace``, ``logistic``, ``cauchy``, ``rademacher``,
``truncated_normal``, ``multivariate_normal``, ``permutation`` and
``choice``.  (The rejection samplers, ``gamma`` and its relatives, are in
``funcgrad.random.rejection``.)

Every sampler is an ordinary traced function of the key: the same key gives
the same numbers eagerly, staged, under ``jit`` and under ``vmap``.
Distribution parameters may be traced arrays; shapes are static.

>>> from funcgrad import random
>>> random.uniform(random.key(0), (3,)).shape
(3,)
"""
from __future__ import annotations

import math
import operator

import numpy as np

import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core import dtypes
from funcgrad.core.trace import Tracer, get_aval
from funcgrad.random.prng import canonical_shape, check_key, split, unit_floats, words64
from funcgrad.scipy import special

__all__ = ["bernoulli", "categorical", "cauchy", "choice", "exponential", "gumbel", "laplace",
           "logistic", "multivariate_normal", "normal", "permutation", "rademacher", "randint",
           "truncated_normal", "uniform"]

_SQRT2 = math.sqrt(2.0)
_U64 = np.dtype(np.uint64)


# ------------------------------------------------------------ argument helpers
def float_dtype(name: str, dtype) -> np.dtype:
    dt = dtypes.canonicalize(dtype)
    if dt.kind != "f":
        raise ValueError(f"random.{name}: dtype must be a floating dtype, got {dt.name}")
    return dt


def as_array(name: str, what: str, x):
    """A distribution parameter as an array operand (Python scalars and
    lists too), refusing non-numeric values with the parameter's name."""
    try:
        return x if isinstance(x, Tracer) else jnp.asarray(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"random.{name}: {what} must be an array or a number, got "
                        f"{type(x).__name__}: {e}") from None


def params_to(name: str, dtype, shape, **params) -> tuple[tuple[int, ...], list]:
    """Convert the parameters to ``dtype`` and broadcast them to the sample
    shape; ``shape=None`` means the parameters' broadcast shape.  As in JAX,
    the parameters must broadcast *to* an explicit shape."""
    arrays = [lax.convert_element_type(as_array(name, k, v), dtype) for k, v in params.items()]
    shapes = [get_aval(a).shape for a in arrays]
    try:
        joint = np.broadcast_shapes(*shapes)
    except ValueError:
        described = ", ".join(f"{k} {s}" for k, s in zip(params, shapes, strict=True))
        raise ValueError(f"random.{name}: the parameter shapes do not broadcast together: "
                         f"{described}") from None
    if shape is None:
        shape = tuple(joint)
    else:
        shape = canonical_shape(name, shape)
        if not broadcasts_to(joint, shape):
            described = ", ".join(f"{k} {s}" for k, s in zip(params, shapes, strict=True))
            raise ValueError(f"random.{name}: parameter shapes ({described}) must broadcast "
                             f"to the shape argument {shape}")
    return shape, [a if get_aval(a).shape in ((), shape) else jnp.broadcast_to(a, shape)
                   for a in arrays]


def broadcasts_to(shape, target) -> bool:
    """Whether ``shape`` broadcasts to exactly ``target``."""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def _is_number(x, value) -> bool:
    return dtypes.is_python_scalar(x) and not isinstance(x, bool) and x == value


# ------------------------------------------------------------ continuous
def uniform(key, shape=(), dtype=float, minval=0.0, maxval=1.0):
    """Floats uniform on ``[minval, maxval)``.

    On [0, 1) the values are ``k / 2**53`` (``k / 2**24`` in float32) for a
    uniformly random integer ``k``; other intervals are scaled from it and
    clamped, so that rounding never returns ``maxval``.  ``minval`` and
    ``maxval`` broadcast to ``shape``.

    >>> from funcgrad import random
    >>> u = random.uniform(random.key(0), (1000,), minval=2.0, maxval=3.0)
    >>> bool((u >= 2.0).all() and (u < 3.0).all())
    True
    """
    dt = float_dtype("uniform", dtype)
    shape = canonical_shape("uniform", shape)
    check_key("uniform", key)
    if _is_number(minval, 0) and _is_number(maxval, 1):
        return unit_floats("uniform", key, shape, dt)
    shape, (lo, hi) = params_to("uniform", dt, shape, minval=minval, maxval=maxval)
    u = unit_floats("uniform", key, shape, dt)
    out = lax.add(lax.mul(u, lax.sub(hi, lo)), lo)
    below_hi = lax.nextafter(hi, lax.full_like(hi, -np.inf))
    return lax.max(lo, lax.min(out, below_hi))


def normal_from_unit(u):
    """``sqrt(2) * erfinv(2u - 1)`` for u on the open interval (0, 1): 2u - 1
    is exact, never +-1, and symmetric about 0, so the samples are finite
    (|x| <= 8.1 in float64, 5.3 in float32) and exactly symmetric."""
    return lax.mul(lax.erf_inv(lax.sub(lax.mul(u, 2.0), 1.0)), _SQRT2)


def _standard_normal(name: str, key, shape, dt):
    return normal_from_unit(unit_floats(name, key, shape, dt, open_interval=True))


def normal(key, shape=(), dtype=float):
    """Standard normal samples, by the inverse CDF
    ``sqrt(2) * erfinv(2u - 1)``; complex dtypes have independent real and
    imaginary parts of variance 1/2 each.

    >>> from funcgrad import random
    >>> random.normal(random.key(1), (2, 3)).shape
    (2, 3)
    """
    shape = canonical_shape("normal", shape)
    dt = dtypes.canonicalize(dtype)
    check_key("normal", key)
    if dt.kind == "c":
        real_dt = np.finfo(dt).dtype
        k_re, k_im = split(key)
        re = _standard_normal("normal", k_re, shape, real_dt)
        im = _standard_normal("normal", k_im, shape, real_dt)
        z = lax.add(lax.convert_element_type(re, dt),
                    lax.mul(lax.convert_element_type(im, dt), 1j))
        return lax.mul(z, math.sqrt(0.5))
    return _standard_normal("normal", key, shape, float_dtype("normal", dt))


def exponential(key, shape=(), dtype=float):
    """Exponential samples with rate 1: ``-log1p(-u)`` for u on [0, 1).

    >>> from funcgrad import random
    >>> bool((random.exponential(random.key(0), (100,)) >= 0).all())
    True
    """
    dt = float_dtype("exponential", dtype)
    u = unit_floats("exponential", key, canonical_shape("exponential", shape), dt)
    return lax.neg(lax.log1p(lax.neg(u)))


def gumbel(key, shape=(), dtype=float):
    """Standard Gumbel samples ``-log(-log(u))``, u on the open interval
    (0, 1), so always finite.

    >>> from funcgrad import random
    >>> random.gumbel(random.key(0), (2,)).dtype
    dtype('float64')
    """
    dt = float_dtype("gumbel", dtype)
    u = unit_floats("gumbel", key, canonical_shape("gumbel", shape), dt, open_interval=True)
    return lax.neg(lax.log(lax.neg(lax.log(u))))


def laplace(key, shape=(), dtype=float):
    """Standard Laplace samples (density ``exp(-|x|) / 2``).

    >>> from funcgrad import random
    >>> random.laplace(random.key(0), (3,)).shape
    (3,)
    """
    dt = float_dtype("laplace", dtype)
    u = unit_floats("laplace", key, canonical_shape("laplace", shape), dt, open_interval=True)
    v = lax.sub(lax.mul(u, 2.0), 1.0)          # exact, symmetric, in (-1, 1)
    return lax.mul(lax.sign(v), lax.neg(lax.log1p(lax.neg(lax.abs(v)))))


def logistic(key, shape=(), dtype=float):
    """Standard logistic samples ``log(u / (1 - u))``.

    >>> from funcgrad import random
    >>> random.logistic(random.key(0), (3,)).shape
    (3,)
    """
    dt = float_dtype("logistic", dtype)
    u = unit_floats("logistic", key, canonical_shape("logistic", shape), dt, open_interval=True)
    return lax.sub(lax.log(u), lax.log1p(lax.neg(u)))


def cauchy(key, shape=(), dtype=float):
    """Standard Cauchy samples ``tan(pi (u - 1/2))``.

    >>> from funcgrad import random
    >>> random.cauchy(random.key(0), (3,)).shape
    (3,)
    """
    dt = float_dtype("cauchy", dtype)
    u = unit_floats("cauchy", key, canonical_shape("cauchy", shape), dt, open_interval=True)
    return lax.tan(lax.mul(lax.sub(u, 0.5), math.pi))


def truncated_normal(key, lower, upper, shape=None, dtype=float):
    """Standard normal samples conditioned on ``lower < x < upper``, by the
    inverse CDF, accurate far in the tails.

    The interval is mirrored so that it lies mostly below 0, where the
    normal CDF has full relative precision; the uniform draw is mapped to a
    log-probability between ``log_ndtr(lower)`` and ``log_ndtr(upper)``
    and inverted with ``ndtri`` (or, below the smallest normal float, with
    Newton steps on ``log_ndtr``).  So ``truncated_normal(key, 40., 41.)``
    gives values just above 40, not inf or nan.  ``lower``/``upper``
    broadcast to ``shape`` (default: their broadcast shape).

    >>> from funcgrad import random
    >>> x = random.truncated_normal(random.key(0), 40.0, 41.0, (3,))
    >>> bool(((x > 40.0) & (x < 40.1)).all())
    True
    """
    dt = float_dtype("truncated_normal", dtype)
    check_key("truncated_normal", key)
    shape, (lo, hi) = params_to("truncated_normal", dt, shape, lower=lower, upper=upper)
    u = unit_floats("truncated_normal", key, shape, dt, open_interval=True)
    # Mirror intervals whose midpoint is above 0: Phi(x) for x > 0 rounds
    # towards 1, Phi(-x) keeps its relative precision.
    flip = lax.gt(lax.add(lo, hi), 0.0)
    a = jnp.where(flip, lax.neg(hi), lo)
    b = jnp.where(flip, lax.neg(lo), hi)
    log_a, log_b = special.log_ndtr(a), special.log_ndtr(b)
    # q = Phi(b) - u (Phi(b) - Phi(a)) = Phi(b) (1 + u (e - 1)),
    # e = Phi(a) / Phi(b), all in logs (Phi(b) may underflow).
    log_q = lax.add(log_b, lax.log1p(lax.mul(u, lax.expm1(lax.sub(log_a, log_b)))))
    x = _ndtri_from_log(log_q, dt)
    x = jnp.where(flip, lax.neg(x), x)
    # Rounding in the inversion may step just outside the interval.
    x = lax.max(lax.min(x, lax.nextafter(hi, lax.full_like(hi, -np.inf))),
                lax.nextafter(lo, lax.full_like(lo, np.inf)))
    return x


# Below exp(_LOG_TINY) the probability is not a normal float: invert
# log Phi directly.
_LOG_TINY = {np.dtype(np.float64): -700.0, np.dtype(np.float32): -85.0,
             np.dtype(np.float16): -13.0}
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _ndtri_from_log(log_q, dt):
    """``Phi^-1(exp(log_q))`` for log_q <= 0, also where exp(log_q) underflows."""
    cut = _LOG_TINY[np.dtype(dt)]
    tiny = lax.lt(log_q, cut)
    direct = special.ndtri(lax.exp(jnp.where(tiny, 0.0, log_q)))
    # Far tail: x ~ -sqrt(-2 log q - log(-2 log q) - log(2 pi)) (from
    # Phi(x) ~ phi(x) / -x), then Newton on log Phi(x) = log q, whose
    # derivative is phi(x) / Phi(x).
    lq = jnp.where(tiny, log_q, cut - 1.0)
    t = lax.mul(lq, -2.0)
    x = lax.neg(lax.sqrt(lax.sub(lax.sub(t, lax.log(t)), 2.0 * _LOG_SQRT_2PI)))
    for _ in range(3):
        log_phi = special.log_ndtr(x)
        hazard = lax.exp(lax.sub(lax.sub(lax.mul(lax.mul(x, x), -0.5), _LOG_SQRT_2PI), log_phi))
        x = lax.sub(x, lax.div(lax.sub(log_phi, lq), hazard))
    return jnp.where(tiny, x, direct)


def multivariate_normal(key, mean, cov, shape=None, dtype=None, method: str = "cholesky"):
    """Samples of the normal distribution with mean ``mean`` (``(..., n)``)
    and covariance ``cov`` (``(..., n, n)``): ``mean + A z`` with
    ``A A^T = cov`` and ``z`` standard normal.

    ``method`` picks the factor ``A``: ``'cholesky'`` (needs a positive
    definite ``cov``), ``'eigh'`` or ``'svd'`` (both from the symmetric
    eigendecomposition, which for a covariance matrix is its SVD; they
    accept singular, semi-definite ``cov``).  ``shape`` is the batch shape,
    default the broadcast of ``mean.shape[:-1]`` and ``cov.shape[:-2]``;
    the result has shape ``shape + (n,)``.

    >>> from funcgrad import random
    >>> random.multivariate_normal(random.key(0), np.zeros(2), np.eye(2), (5,)).shape
    (5, 2)
    """
    if method not in ("cholesky", "eigh", "svd"):
        raise ValueError(f"random.multivariate_normal: method must be 'cholesky', 'eigh' or "
                         f"'svd', got {method!r}")
    check_key("multivariate_normal", key)
    mean, cov = as_array("multivariate_normal", "mean", mean), as_array(
        "multivariate_normal", "cov", cov)
    dt = float_dtype("multivariate_normal",
                     dtype if dtype is not None else np.result_type(
                         get_aval(mean).dtype, get_aval(cov).dtype, np.float32))
    mean, cov = lax.convert_element_type(mean, dt), lax.convert_element_type(cov, dt)
    ma, ca = get_aval(mean), get_aval(cov)
    if ma.ndim < 1 or ca.ndim < 2 or ca.shape[-2:] != (ma.shape[-1],) * 2:
        raise ValueError(f"random.multivariate_normal: mean must have shape (..., n) and cov "
                         f"(..., n, n), got mean {ma.shape} and cov {ca.shape}")
    n = ma.shape[-1]
    try:
        batch = np.broadcast_shapes(ma.shape[:-1], ca.shape[:-2])
    except ValueError:
        raise ValueError(f"random.multivariate_normal: the batch shapes of mean {ma.shape[:-1]} "
                         f"and cov {ca.shape[:-2]} do not broadcast together") from None
    if shape is None:
        shape = tuple(batch)
    else:
        shape = canonical_shape("multivariate_normal", shape)
        if not broadcasts_to(batch, shape):
            raise ValueError(f"random.multivariate_normal: the batch shapes of mean "
                             f"{ma.shape[:-1]} and cov {ca.shape[:-2]} must broadcast to "
                             f"shape {shape}")
    if method == "cholesky":
        factor = jnp.linalg.cholesky(cov)
    else:
        w, v = jnp.linalg.eigh(cov)
        # Round-off can make zero eigenvalues slightly negative.
        factor = v * jnp.sqrt(jnp.maximum(w, 0.0))[..., None, :]
    z = _standard_normal("multivariate_normal", key, shape + (n,), dt)
    return mean + jnp.matmul(factor, z[..., None])[..., 0]


# ------------------------------------------------------------ discrete
def bernoulli(key, p=0.5, shape=None):
    """Booleans that are True with probability ``p`` (``u < p`` for u
    uniform on [0, 1)); ``shape`` defaults to ``p``'s shape.

    >>> from funcgrad import random
    >>> random.bernoulli(random.key(0), 0.3, (4,)).dtype
    dtype('bool')
    """
    check_key("bernoulli", key)
    p = as_array("bernoulli", "p", p)
    dt = get_aval(p).dtype
    dt = dt if dt.kind == "f" else np.dtype(np.float64)
    shape, (p,) = params_to("bernoulli", dt, shape, p=p)
    return lax.lt(unit_floats("bernoulli", key, shape, dt), p)


def rademacher(key, shape=(), dtype=int):
    """Random signs, -1 or 1 with probability 1/2 each.

    >>> from funcgrad import random
    >>> sorted(set(np.asarray(random.rademacher(random.key(0), (50,))).tolist()))
    [-1, 1]
    """
    dt = dtypes.canonicalize(dtype)
    shape = canonical_shape("rademacher", shape)
    top = lax.shift_right_logical(words64("rademacher", key, shape), 63)
    return lax.convert_element_type(lax.sub(lax.mul(lax.convert_element_type(top, np.int64), 2),
                                            1), dt)


def categorical(key, logits, axis: int = -1, shape=None):
    """Indices drawn with probabilities ``softmax(logits)`` along ``axis``,
    by the Gumbel-max trick: ``argmax(logits + gumbel)``.

    ``shape`` defaults to the shape of ``logits`` without ``axis``; an
    explicit ``shape`` must end with a shape that this broadcasts to (the
    leading dimensions are independent draws).  Logits of ``-inf`` are
    never drawn.

    >>> from funcgrad import random
    >>> random.categorical(random.key(0), jnp.log(jnp.array([0.2, 0.8])), shape=(5,)).shape
    (5,)
    """
    check_key("categorical", key)
    logits = as_array("categorical", "logits", logits)
    aval = get_aval(logits)
    if aval.ndim == 0:
        raise ValueError("random.categorical: logits must have at least one dimension")
    if aval.dtype.kind != "f":
        logits = lax.convert_element_type(logits, np.float64)
        aval = get_aval(logits)
    ax = operator.index(axis)
    if not -aval.ndim <= ax < aval.ndim:
        raise ValueError(f"random.categorical: axis {axis} is out of range for logits of "
                         f"shape {aval.shape}")
    ax %= aval.ndim
    batch = aval.shape[:ax] + aval.shape[ax + 1:]
    if shape is None:
        shape = batch
    else:
        shape = canonical_shape("categorical", shape)
        if len(shape) < len(batch) or not broadcasts_to(batch, shape[len(shape) - len(batch):]):
            raise ValueError(f"random.categorical: shape {shape} must end with a shape that "
                             f"the logits' batch shape {batch} (logits {aval.shape} without "
                             f"axis {ax}) broadcasts to")
    prefix = shape[:len(shape) - len(batch)]
    tail = list(shape[len(prefix):])
    tail.insert(ax, aval.shape[ax])
    noise = gumbel(key, prefix + tuple(tail), aval.dtype)
    expanded = lax.reshape(logits, (1,) * len(prefix) + aval.shape)
    return jnp.argmax(noise + expanded, axis=len(prefix) + ax)


def _int_bound(x, dt: np.dtype, what: str):
    """An integer bound converted to ``dt`` with clipping (as JAX), and
    whether it was above ``dt``'s maximum (a ``maxval`` there means the
    maximum itself may be drawn)."""
    info = np.iinfo(dt)
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
        v = int(x)
        return np.array(min(max(v, info.min), info.max), dt), v > info.max
    x = as_array("randint", what, x)
    src = get_aval(x).dtype
    if src.kind not in "iu":
        raise TypeError(f"random.randint: {what} must be an integer or an integer array, "
                        f"got {get_aval(x).str_short()}")
    src_info = np.iinfo(src)
    over = False
    if src_info.max > info.max:
        over = lax.gt(x, np.array(info.max, src))
        x = lax.min(x, np.array(info.max, src))
    if src_info.min < info.min:
        x = lax.max(x, np.array(info.min, src))
    return lax.convert_element_type(x, dt), over


def _to_u64(x, dt: np.dtype):
    """The 64-bit two's complement pattern of an integer value."""
    return lax.convert_element_type(lax.convert_element_type(x, np.int64 if dt.kind == "i"
                                                             else _U64), _U64)


def randint(key, shape, minval, maxval, dtype=int):
    """Integers uniform on ``[minval, maxval)`` (bounds broadcast to
    ``shape``; out-of-range bounds are clipped to ``dtype``'s range, and a
    ``maxval`` above its maximum lets the maximum be drawn; an empty range
    gives ``minval``).

    Each value is a 64-bit random integer reduced modulo the range size, so
    the relative bias is at most ``size / 2**64`` (below ``2**-32`` for
    every range of a 32-bit dtype).

    >>> from funcgrad import random
    >>> r = random.randint(random.key(0), (1000,), 3, 7)
    >>> sorted(set(np.asarray(r).tolist()))
    [3, 4, 5, 6]
    """
    shape = canonical_shape("randint", shape)
    dt = dtypes.canonicalize(dtype)
    if dt.kind not in "iu":
        raise ValueError(f"random.randint: dtype must be an integer dtype, got {dt.name}")
    check_key("randint", key)
    lo, _ = _int_bound(minval, dt, "minval")
    hi, over = _int_bound(maxval, dt, "maxval")
    for name_, v in (("minval", lo), ("maxval", hi)):
        vs = get_aval(v).shape
        if not broadcasts_to(vs, shape):
            raise ValueError(f"random.randint: {name_} of shape {vs} must broadcast to the "
                             f"shape argument {shape}")
    over = jnp.broadcast_to(jnp.asarray(over), shape)
    lo, hi = jnp.broadcast_to(lo, shape), jnp.broadcast_to(hi, shape)
    lo64 = _to_u64(lo, dt)
    # The range size in unsigned 64-bit arithmetic (exact: the true size is
    # at most 2**64, and 2**64 wraps to 0, the full range).
    size = lax.add(lax.sub(_to_u64(hi, dt), lo64), lax.convert_element_type(over, _U64))
    empty = jnp.logical_and(lax.le(hi, lo), jnp.logical_not(over))
    full = jnp.logical_and(lax.eq(size, np.uint64(0)), jnp.logical_not(empty))
    r = words64("randint", key, shape)
    offset = lax.rem(r, jnp.where(lax.eq(size, np.uint64(0)), np.uint64(1), size))
    offset = jnp.where(full, r, jnp.where(empty, np.uint64(0), offset))
    return lax.convert_element_type(lax.add(lo64, offset), dt)


def _random_order(name: str, key, shape, axis: int):
    """Indices that sort 64-bit random numbers along ``axis``: a uniformly
    random permutation (ties, of probability below n**2 / 2**65, keep their
    order)."""
    return lax.argsort(words64(name, key, shape), dimension=axis)


def permutation(key, x, axis: int = 0, independent: bool = False):
    """A random permutation of ``range(x)`` (an int ``x``) or of the
    entries of the array ``x`` along ``axis``; with ``independent=True``
    every 1-d slice along ``axis`` is shuffled on its own.

    >>> from funcgrad import random
    >>> sorted(np.asarray(random.permutation(random.key(0), 5)).tolist())
    [0, 1, 2, 3, 4]
    """
    check_key("permutation", key)
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
        n = int(x)
        if n < 0:
            raise ValueError(f"random.permutation: x must be non-negative, got {n}")
        return _random_order("permutation", key, (n,), 0)
    x = as_array("permutation", "x", x)
    aval = get_aval(x)
    if aval.ndim == 0:
        raise TypeError(f"random.permutation: x must be an int or an array with at least one "
                        f"dimension, got {aval.str_short()}")
    ax = _axis("permutation", axis, aval)
    if independent:
        return jnp.take_along_axis(x, _random_order("permutation", key, aval.shape, ax), ax)
    return jnp.take(x, _random_order("permutation", key, (aval.shape[ax],), 0), axis=ax)


def _axis(name: str, axis, aval) -> int:
    """``axis`` as a non-negative axis of ``aval``, or a ValueError."""
    ax = operator.index(axis)
    if not -aval.ndim <= ax < aval.ndim:
        raise ValueError(f"random.{name}: axis {axis} is out of range for shape {aval.shape}")
    return ax % aval.ndim


def choice(key, a, shape=(), replace: bool = True, p=None, axis: int = 0):
    """Samples from ``range(a)`` (an int ``a``) or from the entries of the
    array ``a`` along ``axis``, uniformly or with probabilities ``p``.

    With replacement the draws are independent (``p`` by inverse CDF on its
    cumulative sum); without, they are the first entries of a random
    permutation (with ``p``: the Gumbel-top-k trick, i.e. successive draws
    without replacement).  The result has ``a``'s shape with ``axis``
    replaced by ``shape``.

    >>> from funcgrad import random
    >>> random.choice(random.key(0), 10, (3,), replace=False).shape
    (3,)
    """
    check_key("choice", key)
    shape = canonical_shape("choice", shape)
    if isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_)):
        arr, n, ax = None, int(a), 0
        if n < 0:
            raise ValueError(f"random.choice: a must be non-negative, got {n}")
    else:
        arr = as_array("choice", "a", a)
        aval = get_aval(arr)
        if aval.ndim == 0:
            raise ValueError(f"random.choice: a must be an int or an array with at least one "
                             f"dimension, got {aval.str_short()}")
        ax = _axis("choice", axis, aval)
        n = aval.shape[ax]
    k = math.prod(shape)
    if n == 0 and k > 0:
        raise ValueError("random.choice: cannot take a non-empty sample from an empty "
                         "population")
    if not replace and k > n:
        raise ValueError(f"random.choice: cannot take a larger sample ({k}) than the "
                         f"population ({n}) when replace=False")
    if p is None:
        if replace:
            idx = randint(key, shape, 0, n)
        else:
            idx = lax.reshape(lax.slice(_random_order("choice", key, (n,), 0), (0,), (k,)), shape)
    else:
        p = as_array("choice", "p", p)
        pa = get_aval(p)
        if pa.shape != (n,):
            raise ValueError(f"random.choice: p must be a vector of length {n} (the "
                             f"population size), got shape {pa.shape}")
        if pa.dtype.kind != "f":
            p = lax.convert_element_type(p, np.float64)
        pdt = get_aval(p).dtype
        if replace:
            cdf = jnp.cumsum(p)
            u = unit_floats("choice", key, shape, pdt)
            # (1 - u) in (0, 1]: the target is never 0, so entries of
            # probability 0 (flat steps of the cdf) are never found.
            target = lax.mul(lax.sub(1.0, u), cdf[-1])
            idx = jnp.minimum(jnp.searchsorted(cdf, target), n - 1)
        else:
            scores = gumbel(key, (n,), pdt) + jnp.log(p)
            idx = lax.reshape(lax.top_k(scores, k)[1], shape)
            idx = lax.convert_element_type(idx, np.int64)
    if arr is None:
        return idx
    return jnp.take(arr, idx, axis=ax)
