"""Machinery and lax-level kernels of :mod:`funcgrad.numpy.ufuncs`.

``prepare`` gives a function's operands NumPy's dtype (via the dtype of
NumPy's own loop, found on dummy scalars) and broadcasts them; the kernels
(``float_divmod``, ``int_power``, ``signbit`` ...) act on prepared operands:
one dtype, broadcast-compatible shapes.
"""
from __future__ import annotations

import builtins
import functools
import inspect

import numpy as np

from funcgrad import lax
from funcgrad.core import dtypes
from funcgrad.core.array import Array
from funcgrad.core.trace import Tracer, get_aval
from funcgrad.transforms.custom_derivatives import custom_jvp
from funcgrad.lax.base import convert_weak_scalars
from funcgrad.numpy._util import asarray_operand, broadcast_shapes, broadcast_to, convert_to

IMMUTABLE = "funcgrad arrays are immutable; out= is not supported"
LN2, LN10 = float(np.log(2.0)), float(np.log(10.0))


# ------------------------------------------------------------ machinery
@functools.lru_cache(maxsize=None)
def loop_dtype(np_name: str, dts: tuple) -> np.dtype | None:
    """The output dtype of NumPy's loop for inputs of these dtypes, or None
    when NumPy has no loop (e.g. ``floor`` of a complex).  Static metadata:
    NumPy runs on dummy scalars."""
    try:
        with np.errstate(all="ignore"):
            out = getattr(np, np_name)(*[np.ones((), dt) for dt in dts])
    except TypeError:
        return None
    if isinstance(out, tuple):
        out = out[0]
    return np.asarray(out).dtype


def check_kwargs(name: str, kwargs: dict):
    """Handle NumPy's ufunc keyword arguments; returns ``dtype``."""
    if kwargs.pop("out", None) is not None:
        raise TypeError(f"{name}: {IMMUTABLE}")
    where = kwargs.pop("where", True)
    if where is not True:
        raise TypeError(f"{name}: where= is not supported (without out= it leaves elements "
                        f"undefined); use funcgrad.numpy.where(condition, {name}(...), other)")
    dtype = kwargs.pop("dtype", None)
    for key, default in (("casting", "same_kind"), ("order", "K"), ("subok", True)):
        if key in kwargs and kwargs.pop(key) != default:
            raise TypeError(f"{name}: {key}= is not supported")
    if kwargs:
        raise TypeError(f"{name}() got unsupported keyword argument(s): {', '.join(kwargs)}")
    return dtype


def broadcast_all(name: str, ops: list, shapes=None) -> list:
    """Broadcast non-0-d operands to their common shape (0-d ones combine with
    any shape in lax)."""
    if shapes is None:
        shapes = [get_aval(o).shape for o in ops]
    if len({s for s in shapes if s}) <= 1:
        return ops
    shape = broadcast_shapes(name, *shapes)
    return [o if not s or s == shape else broadcast_to(o, shape, name)
            for o, s in zip(ops, shapes, strict=True)]


def prepare(name: str, np_name: str, args, compute: str, dtype=None, nin=None) -> list:
    """Operands converted to one dtype and broadcast.  ``compute='out'``
    converts them to the dtype of NumPy's result (``sin`` of ints works in
    floats); ``'common'`` to the promoted input dtype (comparisons)."""
    ops = [asarray_operand(a, name) for a in args]
    avals = [get_aval(o) for o in ops]
    if dtype is None:
        dt, weak = dtypes.promote((a.dtype, a.weak_type) for a in avals)
    else:
        dt, weak = dtypes.canonicalize(dtype), False
    loop = loop_dtype(np_name, (dt,) * (nin or len(ops)))
    if loop is None or loop not in dtypes.SUPPORTED_DTYPES:
        got = ", ".join(a.dtype.name for a in avals)
        plural = "s" * (len(avals) > 1)
        raise TypeError(f"funcgrad.numpy.{name} does not support input dtype{plural} {got} "
                        f"(NumPy has no loop for {dt.name})")
    target = loop if compute == "out" else dt
    ops = [o if a.dtype == target and a.weak_type == weak else
           _python_scalar(x, repr(x), target, weak) if type(x) in _PY_SCALARS else
           convert(o, target, weak) for x, o, a in zip(args, ops, avals, strict=True)]
    return broadcast_all(name, ops, [a.shape for a in avals])


_PY_SCALARS = (bool, int, float, complex)


@functools.lru_cache(maxsize=512)
def _python_scalar(value, text: str, dt: np.dtype, weak: bool) -> Array:
    """A Python scalar converted to ``dt``, cached (arrays are immutable, and
    ``x * 2.0`` is common); ``text`` (its repr) keeps -0.0 apart from 0.0."""
    return convert(asarray_operand(value), dt, weak)


def convert(x, dt: np.dtype, weak: bool = False):
    """``convert_to``, done now for constants so that staging a function does
    not record conversions of its Python scalars."""
    if isinstance(x, Tracer):
        return convert_to(x, dt, weak)
    aval = get_aval(x)
    if aval.dtype == dt and aval.weak_type == weak:
        return x
    (out,) = lax.convert_element_type_p.impl(np.asarray(x), new_dtype=dt, weak_type=weak)
    out = np.asarray(out)
    out.flags.writeable = False
    return Array._from_buffer(out, weak)


def ufunc(registry: list, nin: int, compute: str = "out", np_name: str | None = None,
          name: str | None = None):
    """Decorator: a NumPy-style elementwise function (argument checks,
    promotion, broadcasting) from ``impl`` acting on prepared operands; its
    name is appended to ``registry`` (a module's ``__all__``)."""
    def deco(impl):
        fname = name or impl.__name__
        loop_name = np_name or fname

        def fn(*args, **kwargs):
            if len(args) != nin:
                raise TypeError(f"{fname}() takes {nin} positional argument{'s' * (nin > 1)} "
                                f"but {len(args)} were given")
            dtype = check_kwargs(fname, kwargs)
            return impl(*prepare(fname, loop_name, args, compute, dtype))

        fn.__name__ = fn.__qualname__ = fname
        fn.__doc__ = impl.__doc__
        fn.__signature__ = inspect.Signature(
            [inspect.Parameter(p, inspect.Parameter.POSITIONAL_ONLY)
             for p in (["x"] if nin == 1 else ["x1", "x2"])]
            + [inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)])
        registry.append(fname)
        return fn
    return deco


def dtype_of(x) -> np.dtype:
    return get_aval(x).dtype


def select(pred, on_true, on_false):
    """``lax.select`` broadcasting every operand (scalars included)."""
    on_true, on_false = convert_weak_scalars("select", (on_true, on_false))
    shapes = [get_aval(v).shape for v in (pred, on_true, on_false)]
    shape = broadcast_shapes("where", *shapes)
    ops = [v if s == shape else broadcast_to(v, shape, "where")
           for v, s in zip((pred, on_true, on_false), shapes, strict=True)]
    return lax.select(*ops)


def or_(*xs):
    return functools.reduce(lax.bitwise_or, xs)


def and_(*xs):
    return functools.reduce(lax.bitwise_and, xs)


def not_(x):
    return lax.bitwise_not(x)


def make_complex(re, im, dt):
    """``re + 1j * im`` of complex dtype ``dt`` (there is no lax.complex)."""
    return lax.add(lax.convert_element_type(re, dt),
                   lax.mul(lax.convert_element_type(im, dt), np.asarray(1j, dt)))


def isfinite_(x):
    """Finite test of a real float array.  (|x| < inf rather than
    lax.is_finite, whose abstract eval currently mislabels its dtype.)"""
    return lax.lt(lax.abs(x), np.inf)


def isnan_(x):
    k = dtype_of(x).kind
    if k == "f":
        return lax.ne(x, x)
    if k == "c":
        return lax.bitwise_or(isnan_(lax.real(x)), isnan_(lax.imag(x)))
    return lax.full_like(x, False, dtypes.bool_)


def signbit_(x):
    # atan2(x, -1) is negative exactly for x < 0 and x = -0.0 (there is no
    # bitcast primitive; the sign bit of a NaN is not seen).
    if dtype_of(x).kind == "f":
        return lax.lt(lax.atan2(x, -1.0), 0.0)
    if dtype_of(x).kind == "i":
        return lax.lt(x, 0)
    return lax.full_like(x, False, dtypes.bool_)


def copysign_(a, b):
    mag = lax.abs(a)
    return select(signbit_(b), lax.neg(mag), mag)


def trunc_(x):
    return select(lax.lt(x, 0.0), lax.ceil(x), lax.floor(x))


def rint_(x):
    if dtype_of(x).kind == "c":
        return make_complex(rint_(lax.real(x)), rint_(lax.imag(x)), dtype_of(x))
    return lax.round(x, lax.ROUND_TO_NEAREST_EVEN)


def lex_less(a, b, or_equal: bool):
    """NumPy's lexicographic order of complex numbers (NaN parts compare False)."""
    ar, ai, br, bi = lax.real(a), lax.imag(a), lax.real(b), lax.imag(b)
    head = and_(lax.lt(ar, br), not_(isnan_(ai)), not_(isnan_(bi)))
    tail = (lax.le if or_equal else lax.lt)(ai, bi)
    return or_(head, and_(lax.eq(ar, br), tail))


def float_divmod(a, b):
    """NumPy's floating ``divmod``: the floor quotient and a remainder with
    the sign of the divisor, both exact as NumPy computes them."""
    mod = lax.rem(a, b)
    nonzero_b = lax.ne(b, 0.0)
    safe_b = select(nonzero_b, b, 1.0)
    div = lax.div(lax.sub(a, mod), safe_b)
    mod_nonzero = lax.ne(mod, 0.0)
    fix = and_(mod_nonzero, lax.ne(lax.lt(safe_b, 0.0), lax.lt(mod, 0.0)))
    mod = select(fix, lax.add(mod, b), mod)
    div = select(fix, lax.sub(div, 1.0), div)
    mod = select(mod_nonzero, mod, copysign_(lax.full_like(mod, 0.0), b))
    floordiv = lax.floor(div)
    floordiv = select(lax.gt(lax.sub(div, floordiv), 0.5), lax.add(floordiv, 1.0), floordiv)
    quotient = lax.div(a, b)
    floordiv = select(lax.ne(div, 0.0), floordiv, copysign_(lax.full_like(div, 0.0), quotient))
    # Division by zero: a / 0 for the quotient, fmod(a, 0) = nan for the rest.
    floordiv = select(nonzero_b, floordiv, quotient)
    mod = select(nonzero_b, mod, lax.rem(a, b))
    return floordiv, mod


def int_divmod(a, b):
    """Python's integer ``divmod`` (floor quotient, remainder with the sign
    of the divisor); division by zero gives 0, as NumPy does."""
    nonzero_b = lax.ne(b, 0)
    safe_b = select(nonzero_b, b, 1)
    q = lax.div(a, safe_b)            # rounds toward zero
    r = lax.rem(a, safe_b)            # sign of a
    if dtype_of(a).kind == "i":
        fix = and_(lax.ne(r, 0), lax.ne(lax.lt(r, 0), lax.lt(safe_b, 0)))
        q = select(fix, lax.sub(q, 1), q)
        r = select(fix, lax.add(r, safe_b), r)
    zero = lax.full_like(q, 0)
    return select(nonzero_b, q, zero), select(nonzero_b, r, zero)


def divmod_impl(a, b):
    if dtype_of(a).kind == "f":
        return float_divmod(a, b)
    return int_divmod(a, b)


def concrete_int_exponent(x2):
    """The Python int value of a concrete integer scalar exponent, else None."""
    if isinstance(x2, bool) or isinstance(x2, Tracer):
        return None
    if isinstance(x2, (int, np.integer)):
        return int(x2)
    return None


def int_power(base, exponent, concrete):
    """Integer ``base ** exponent`` by square-and-multiply over the exponent's
    bits (a static number of steps: the bits of ``concrete``, the exponent's
    value if known, else the bit width).  Negative exponents: NumPy raises
    for concrete values; traced ones give 0."""
    dt = dtype_of(base)
    if concrete is not None:
        if np.any(concrete < 0):
            raise ValueError("Integers to negative integer powers are not allowed.")
        top = int(concrete.max(initial=0)) if concrete.size else 0
        nbits = builtins.max(top.bit_length(), 1)
    else:
        nbits = dt.itemsize * 8
    base, exponent = broadcast_all("power", [base, exponent])
    acc = lax.full_like(base, 1) if get_aval(base).ndim >= get_aval(exponent).ndim else \
        lax.full_like(exponent, 1)
    e = exponent
    for i in range(nbits):
        bit = lax.ne(lax.bitwise_and(e, 1), 0)
        acc = select(bit, lax.mul(acc, base), acc)
        if i + 1 < nbits:
            base = lax.mul(base, base)
            e = lax.shift_right_logical(e, 1)
    if dt.kind == "i" and concrete is None:
        acc = select(lax.lt(exponent, 0), lax.full_like(acc, 0), acc)
    return acc


def scale2(x, e):
    """``x * 2**e`` for a float array ``e`` of integer values, in three
    exact steps so that no power of two overflows (|e| < 3 * max exponent)."""
    e1 = lax.floor(lax.div(e, 3.0))
    e2 = lax.floor(lax.mul(lax.sub(e, e1), 0.5))
    e3 = lax.sub(lax.sub(e, e1), e2)
    return lax.mul(lax.mul(lax.mul(x, lax.exp2(e1)), lax.exp2(e2)), lax.exp2(e3))



def _hypot_body(x1, x2):
    """``sqrt(a*a + b*b)`` after an exact power-of-two scaling wherever
    squaring would overflow or underflow."""
    a, b = lax.abs(x1), lax.abs(x2)
    big = lax.max(a, b)
    emax = int(np.finfo(dtype_of(big)).maxexp)
    hi, lo = float(2.0 ** (emax // 2 - 2)), float(2.0 ** -(emax // 2 - 2))
    scale = select(lax.gt(big, hi), lax.full_like(big, 2.0 ** -(emax // 2 + 2)),
                   select(lax.lt(big, lo), lax.full_like(big, 2.0 ** (emax - 4)),
                          lax.full_like(big, 1.0)))
    a, b = lax.mul(a, scale), lax.mul(b, scale)
    squares = lax.add(lax.mul(a, a), lax.mul(b, b))
    origin = lax.eq(squares, 0.0)
    root = lax.sqrt(select(origin, lax.full_like(squares, 1.0), squares))
    out = lax.div(select(origin, lax.full_like(squares, 0.0), root), scale)
    # hypot(inf, nan) is inf (C99).
    inf = or_(lax.eq(a, np.inf), lax.eq(b, np.inf))
    return select(inf, lax.full_like(big, np.inf), out)


# The scaling above is exact in value but not in derivative: the tangent of
# a tiny argument, scaled by 2**1020 and squared, overflows (the gradient of
# hypot(3e-200, 4e-200) would come out 0).  The rule uses the ratios
# x_i / h instead, which lie in [-1, 1], and differentiates those ratios by
# ``_ratio``'s rule (t_x - (x/h) t_h) / h, which never forms h**2, so
# second derivatives are right at 1e-200 and at 1e200 alike.
def _ratio_body(x, h):
    return lax.div(x, h)


_ratio = custom_jvp(_ratio_body)


@_ratio.defjvp
def _ratio_jvp(primals, tangents):
    (x, h), (tx, th) = primals, tangents
    r = _ratio(x, h)
    return r, lax.div(lax.sub(tx, lax.mul(r, th)), h)


hypot_kernel = custom_jvp(_hypot_body)
hypot_kernel.__doc__ = """Kernel of ``hypot``: exact in value from 1e-308 to
    1e308, with derivatives ``x1 / h`` and ``x2 / h`` computed as ratios (0 at
    the origin, as in JAX, where hypot has a kink)."""


@hypot_kernel.defjvp
def _hypot_jvp(primals, tangents):
    (x1, x2), (t1, t2) = primals, tangents
    h = hypot_kernel(x1, x2)
    regular = and_(lax.gt(h, 0.0), lax.lt(h, np.inf))
    safe_h = select(regular, h, lax.full_like(h, 1.0))

    def weight(x):
        # Each branch sees harmless arguments where it is not selected.
        w = _ratio(select(regular, x, lax.full_like(h, 0.0)), safe_h)
        at_inf = select(lax.eq(lax.abs(x), np.inf), lax.sign(x), lax.full_like(h, 0.0))
        w = select(regular, w, select(lax.eq(h, np.inf), at_inf, lax.full_like(h, 0.0)))
        return select(isnan_(h), h, w)

    return h, lax.add(lax.mul(t1, weight(x1)), lax.mul(t2, weight(x2)))


# ``logaddexp`` and ``logaddexp2`` carry a custom derivative rule.  Their
# bodies are exact in value, but differentiating them goes through the kinks
# of max(x1, x2) and |x1 - x2|: at a tie (x1 == x2) the first derivative
# (1/2 each) holds only by the conventions at the kinks, and the second
# derivative is 0 instead of 1/4 (softplus''(0) would be 0).  The rule's
# weights are smooth and finite everywhere, at equal infinities included:
# the derivative of log(e**x1 + e**x2) in x1 is
# e**x1 / (e**x1 + e**x2) = logistic(x1 - x2).
def _tie_free_difference(x1, x2):
    """``x1 - x2``, but 0 where both are the same infinity (not
    ``inf - inf = nan``); nan inputs still give nan.  Finite ties keep the
    subtraction, whose derivative the second-order rule needs."""
    delta = lax.sub(x1, x2)
    same_inf = and_(lax.eq(x1, x2), lax.eq(lax.abs(x1), np.inf))
    return select(same_inf, lax.full_like(delta, 0.0), delta)


def _logaddexp_body(x1, x2):
    delta = _tie_free_difference(x1, x2)
    # max + log1p(exp(-|delta|)): no overflow; equal infinities give
    # max + log(2) = the infinity; nan propagates through delta and max.
    return lax.add(lax.max(x1, x2), lax.log1p(lax.exp(lax.neg(lax.abs(delta)))))


def _logaddexp2_body(x1, x2):
    delta = _tie_free_difference(x1, x2)
    tail = lax.div(lax.log1p(lax.exp2(lax.neg(lax.abs(delta)))), LN2)
    return lax.add(lax.max(x1, x2), tail)


def _logaddexp_rule(kernel, log_base):
    def rule(primals, tangents):
        (x1, x2), (t1, t2) = primals, tangents
        delta = _tie_free_difference(x1, x2)
        if log_base != 1.0:
            delta = lax.mul(delta, log_base)
        # w1 + w2 = 1; at 1000 vs 0 the weights are exactly 1 and 0, and at
        # a tie (infinite or not) 1/2 each.
        w1, w2 = lax.logistic(delta), lax.logistic(lax.neg(delta))
        return kernel(x1, x2), lax.add(lax.mul(t1, w1), lax.mul(t2, w2))
    return rule


logaddexp_kernel = custom_jvp(_logaddexp_body)
logaddexp_kernel.__doc__ = """Kernel of ``logaddexp``: ``log(exp(x1) + exp(x2))``
    without overflow, with derivatives ``logistic(x1 - x2)`` and
    ``logistic(x2 - x1)``."""
logaddexp_kernel.defjvp(_logaddexp_rule(logaddexp_kernel, 1.0))

logaddexp2_kernel = custom_jvp(_logaddexp2_body)
logaddexp2_kernel.__doc__ = """Kernel of ``logaddexp2``: ``log2(2**x1 + 2**x2)``
    without overflow, with derivatives ``logistic((x1 - x2) log 2)`` and its
    mirror."""
logaddexp2_kernel.defjvp(_logaddexp_rule(logaddexp2_kernel, LN2))


# Taylor coefficients of sin(y)/y in powers of y**2, through y**10: below
# |y| = 0.1 the first omitted term is under 2e-22 relative, and the
# polynomial's derivatives of every order are as accurate as its value.
_SINC_TAYLOR = (1.0, -1.0 / 6, 1.0 / 120, -1.0 / 5040, 1.0 / 362880, -1.0 / 39916800)
_SINC_SMALL = 0.1


def sinc_kernel(x):
    """Kernel of ``sinc``: the quotient ``sin(y) / y`` (``y = pi x``) away
    from 0, a Taylor polynomial for ``|y| < 0.1``, where the quotient's
    derivatives would be ``0/0`` at 0 and lose digits to cancellation near
    it.  Each branch sees a stand-in argument where it is not selected (the
    "double where"), so no nan leaks into reverse mode."""
    y = lax.mul(x, np.pi)
    small = lax.lt(lax.abs(y), _SINC_SMALL)
    y_big = select(small, lax.full_like(y, 1), y)
    quotient = lax.div(lax.sin(y_big), y_big)
    y_small = select(small, y, lax.full_like(y, 0))
    y2 = lax.mul(y_small, y_small)
    poly = lax.full_like(y, _SINC_TAYLOR[-1])
    for c in reversed(_SINC_TAYLOR[:-1]):
        poly = lax.add(lax.mul(poly, y2), c)
    return select(small, poly, quotient)


def frexp_kernel(x):
    """Kernel of ``frexp``."""
    ax = lax.abs(x)
    regular = and_(isfinite_(x), lax.ne(x, 0.0))
    safe = select(regular, ax, lax.full_like(ax, 1.0))
    e = lax.add(lax.floor(lax.div(lax.log(safe), LN2)), 1.0)
    m = scale2(safe, lax.neg(e))
    # log2 may be off by one near powers of two: fix up.
    big = lax.ge(m, 1.0)
    m, e = select(big, lax.mul(m, 0.5), m), select(big, lax.add(e, 1.0), e)
    small = lax.lt(m, 0.5)
    m, e = select(small, lax.mul(m, 2.0), m), select(small, lax.sub(e, 1.0), e)
    mant = select(regular, copysign_(m, x), x)
    exp = select(regular, lax.convert_element_type(e, dtypes.int32),
                  lax.full_like(e, 0, dtypes.int32))
    return mant, exp


def gcd_kernel(x1, x2):
    """Kernel of ``gcd``."""
    a, b = lax.abs(x1), lax.abs(x2)
    a, b = broadcast_all("gcd", [a, b])
    if get_aval(a).shape != get_aval(b).shape:
        shape = broadcast_shapes("gcd", get_aval(a).shape, get_aval(b).shape)
        a, b = broadcast_to(a, shape), broadcast_to(b, shape)
    one, zero = lax.full_like(b, 1), lax.full_like(b, 0)
    for _ in range(gcd_steps(dtype_of(a))):
        nonzero = lax.ne(b, zero)
        r = lax.rem(a, select(nonzero, b, one))
        a, b = select(nonzero, b, a), select(nonzero, r, zero)
    return a


def gcd_steps(dt: np.dtype) -> int:
    # Euclid takes at most ~1.44 * bits steps (consecutive Fibonacci numbers).
    return int(1.45 * dt.itemsize * 8) + 2
