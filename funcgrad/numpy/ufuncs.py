"""Elementwise functions (NumPy's ufuncs and friends), built on ``funcgrad.lax``.

Every function broadcasts its operands and promotes their dtypes as NumPy 2
does (Python scalars are weak: ``x_f32 * 2.0`` is float32), then picks the
result dtype of NumPy's own loop for that dtype, so ``sqrt`` of an int32
array is float64 and of an int8 array float16, as in NumPy.  Arrays are
immutable: ``out=`` is refused, and so is ``where=`` (which only makes sense
with ``out=``; use :func:`where`).

>>> import funcgrad.numpy as jnp
>>> jnp.add(jnp.ones(3, jnp.float32), 2.0)
Array([3., 3., 3.], dtype=float32)
>>> jnp.floor_divide(-7, 2), jnp.remainder(-7, 2)
(Array(-4, dtype=int64, weak_type=True), Array(1, dtype=int64, weak_type=True))
"""
from __future__ import annotations

import builtins
import functools

import numpy as np

from funcgrad import lax
from funcgrad.core import dtypes
from funcgrad.core.trace import Tracer, get_aval
from funcgrad.numpy._ufunc_util import (IMMUTABLE, LN10, LN2, and_, broadcast_all, check_kwargs,
                                        concrete_int_exponent, copysign_, divmod_impl, dtype_of,
                                        frexp_kernel, gcd_kernel, hypot_kernel, int_power,
                                        isfinite_, isnan_, lex_less, logaddexp2_kernel,
                                        logaddexp_kernel, make_complex, not_, or_, prepare, rint_,
                                        scale2, select, signbit_, sinc_kernel, trunc_,
                                        ufunc)
from funcgrad.numpy._util import asarray_operand, broadcast_shapes, convert_to, promote_args_inexact

__all__: list[str] = []
_ufunc = functools.partial(ufunc, __all__)


# ---------------------------------------------------------- arithmetic
@_ufunc(2)
def add(x1, x2):
    """Elementwise ``x1 + x2`` (logical or for bools).

    >>> add(jnp.arange(3), 1)
    Array([1, 2, 3], dtype=int64)
    """
    return lax.bitwise_or(x1, x2) if dtype_of(x1) == np.bool_ else lax.add(x1, x2)


@_ufunc(2)
def subtract(x1, x2):
    """Elementwise ``x1 - x2``."""
    return lax.sub(x1, x2)


@_ufunc(2)
def multiply(x1, x2):
    """Elementwise ``x1 * x2`` (logical and for bools)."""
    return lax.bitwise_and(x1, x2) if dtype_of(x1) == np.bool_ else lax.mul(x1, x2)


@_ufunc(2)
def true_divide(x1, x2):
    """Elementwise true division; integers divide to float64, as in NumPy.

    >>> true_divide(1, 2)
    Array(0.5, dtype=float64, weak_type=True)
    """
    return lax.div(x1, x2)


divide = true_divide
__all__.append("divide")


@_ufunc(2)
def floor_divide(x1, x2):
    """Elementwise ``x1 // x2``, rounding toward minus infinity (Python's rule).

    >>> floor_divide(jnp.array([7, -7]), 2)
    Array([ 3, -4], dtype=int64)
    """
    return divmod_impl(x1, x2)[0]


@_ufunc(2)
def remainder(x1, x2):
    """Elementwise ``x1 % x2`` with the sign of ``x2`` (Python's rule).

    >>> remainder(jnp.array([7, -7]), 3)
    Array([1, 2], dtype=int64)
    """
    return divmod_impl(x1, x2)[1]


mod = remainder
__all__.append("mod")


@_ufunc(2)
def fmod(x1, x2):
    """Elementwise C remainder, with the sign of ``x1``; ``fmod(x, 0)`` is 0
    for integers and nan for floats, as in NumPy."""
    if dtype_of(x1).kind in "iu":
        nonzero = lax.ne(x2, 0)
        r = lax.rem(x1, select(nonzero, x2, 1))
        return select(nonzero, r, lax.full_like(r, 0))
    return lax.rem(x1, x2)


def divmod(x1, x2, /, *args, **kwargs):  # noqa: A001 (NumPy's name)
    """``(floor_divide(x1, x2), remainder(x1, x2))`` computed together.

    >>> divmod(jnp.array([7, -7]), 2)
    (Array([ 3, -4], dtype=int64), Array([1, 1], dtype=int64))
    """
    if args or kwargs.get("out") is not None:
        raise TypeError(f"divmod: {IMMUTABLE}")
    dtype = check_kwargs("divmod", dict(kwargs))
    return divmod_impl(*prepare("divmod", "divmod", (x1, x2), "out", dtype))


__all__.append("divmod")


def power(x1, x2, /, **kwargs):
    """Elementwise ``x1 ** x2``.  A static integer exponent uses
    ``lax.integer_pow`` (exact for integers, repeated multiplication for
    floats); integer arrays to negative integer powers raise, as in NumPy.

    >>> power(jnp.arange(4), 2), power(2.0, jnp.array([0.5, -1.0]))
    (Array([0, 1, 4, 9], dtype=int64), Array([1.41421356, 0.5       ], dtype=float64))
    """
    dtype = check_kwargs("power", kwargs)
    k = concrete_int_exponent(x2) if dtype is None else None
    base, exponent = prepare("power", "power", (x1, x2), "out", dtype)
    dt = dtype_of(base)
    if k is not None and builtins.abs(k) <= 64 and (dt.kind in "fc" or k >= 0) and \
            get_aval(exponent).ndim == 0:
        return lax.integer_pow(base, k)
    if dt.kind in "fc":
        return lax.pow(base, exponent)
    # The exponent's value, if known, bounds the number of steps (and lets
    # negative exponents raise as in NumPy), even while staging.
    concrete = None
    if not isinstance(x2, Tracer) and not isinstance(x2, (list, tuple)):
        concrete = np.asarray(x2)
    elif isinstance(x2, (list, tuple)) and not any(isinstance(v, Tracer) for v in np.ravel(
            np.asarray(x2, dtype=object))):
        concrete = np.asarray(x2)
    return int_power(base, exponent, concrete)


pow = power  # noqa: A001 (the array API's name)
__all__ += ["power", "pow"]


@_ufunc(2)
def float_power(x1, x2):
    """``x1 ** x2`` computed in float64 (or complex128) whatever the inputs."""
    return lax.pow(x1, x2)


@_ufunc(1, compute="common")
def negative(x):
    """Elementwise ``-x``."""
    return lax.neg(x)


@_ufunc(1, compute="common")
def positive(x):
    """Elementwise ``+x`` (a copy)."""
    return x


@_ufunc(1, compute="common", np_name="absolute")
def absolute(x):
    """Elementwise absolute value; the magnitude for complex input.

    >>> absolute(jnp.array([-1.5, 2.0]))
    Array([1.5, 2. ], dtype=float64)
    """
    return x if dtype_of(x) == np.bool_ else lax.abs(x)


abs = absolute  # noqa: A001
__all__.append("abs")


@_ufunc(1)
def fabs(x):
    """Elementwise absolute value of real numbers, as floats."""
    return lax.abs(x)


@_ufunc(1, compute="common")
def sign(x):
    """Elementwise sign: -1, 0 or 1 (nan for nan; ``z/|z|`` for complex)."""
    return lax.sign(x)


@_ufunc(1)
def square(x):
    """Elementwise ``x * x``."""
    return lax.integer_pow(x, 2)


@_ufunc(1)
def reciprocal(x):
    """Elementwise ``1 / x`` (integer division for integers, as in NumPy)."""
    if dtype_of(x).kind in "iu":
        nonzero = lax.ne(x, 0)
        return select(nonzero, lax.div(lax.full_like(x, 1), select(nonzero, x, 1)),
                       lax.full_like(x, 0))
    return lax.div(lax.full_like(x, 1), x)


@_ufunc(1)
def conjugate(x):
    """Complex conjugate (the input itself for real numbers)."""
    return lax.conj(x) if dtype_of(x).kind == "c" else x


conj = conjugate
__all__.append("conj")


# --------------------------------------------------- exponents and logs


def _family(nin, names_impls, doc, compute="out"):
    for fname, impl in names_impls:
        f = _ufunc(nin, compute=compute, name=fname)(impl)
        f.__doc__ = doc
        globals()[fname] = f


_family(1, [("sqrt", lax.sqrt), ("cbrt", lax.cbrt), ("exp", lax.exp), ("exp2", lax.exp2),
            ("expm1", lax.expm1), ("log", lax.log), ("log1p", lax.log1p),
            ("log2", lambda x: lax.div(lax.log(x), LN2)),
            ("log10", lambda x: lax.div(lax.log(x), LN10)),
            ("sin", lax.sin), ("cos", lax.cos), ("tan", lax.tan), ("arcsin", lax.asin),
            ("arccos", lax.acos), ("arctan", lax.atan), ("sinh", lax.sinh), ("cosh", lax.cosh),
            ("tanh", lax.tanh), ("arcsinh", lax.asinh), ("arccosh", lax.acosh),
            ("arctanh", lax.atanh),
            ("deg2rad", lambda x: lax.mul(x, np.pi / 180.0)),
            ("rad2deg", lambda x: lax.mul(x, 180.0 / np.pi)),
            ("radians", lambda x: lax.mul(x, np.pi / 180.0)),
            ("degrees", lambda x: lax.mul(x, 180.0 / np.pi))],
        """Elementwise mathematical function with NumPy's name and semantics:
    integer and bool inputs give floats (of NumPy's dtype for them), complex
    inputs are accepted where NumPy accepts them, invalid inputs give nan.

    >>> import funcgrad.numpy as jnp
    >>> jnp.sqrt(jnp.array([1.0, 4.0])), jnp.exp(0.0)
    (Array([1., 2.], dtype=float64), Array(1., dtype=float64, weak_type=True))
    """)
# The array API's spellings.
asin, acos, atan = arcsin, arccos, arctan  # noqa: F821
asinh, acosh, atanh = arcsinh, arccosh, arctanh  # noqa: F821
__all__ += ["asin", "acos", "atan", "asinh", "acosh", "atanh"]


@_ufunc(2)
def arctan2(x1, x2):
    """Elementwise angle of the point ``(x2, x1)``, in ``[-pi, pi]``."""
    return lax.atan2(x1, x2)


atan2 = arctan2
__all__.append("atan2")


@_ufunc(2)
def hypot(x1, x2):
    """Elementwise ``sqrt(x1**2 + x2**2)`` without overflow or underflow.

    >>> hypot(3e200, 4e200)
    Array(5.e+200, dtype=float64, weak_type=True)
    """
    return hypot_kernel(x1, x2)


@_ufunc(2)
def logaddexp(x1, x2):
    """Elementwise ``log(exp(x1) + exp(x2))``, without overflow.

    >>> logaddexp(1000.0, 1000.0)
    Array(1000.69314718, dtype=float64, weak_type=True)
    """
    return logaddexp_kernel(x1, x2)


@_ufunc(2)
def logaddexp2(x1, x2):
    """Elementwise ``log2(2**x1 + 2**x2)``, without overflow."""
    return logaddexp2_kernel(x1, x2)


def sinc(x, /):
    """Normalised sinc ``sin(pi x) / (pi x)``, 1 at 0.

    Near 0 a Taylor polynomial is used, so derivatives of every order are
    finite and accurate there (``sinc''(0) = -pi**2/3``), where the
    quotient's own would be ``0/0``.

    >>> sinc(jnp.array([0.0, 0.5]))
    Array([1.        , 0.63661977], dtype=float64)
    """
    (x,) = promote_args_inexact("sinc", x)
    return sinc_kernel(x)


__all__.append("sinc")


# ------------------------------------------------------------- rounding
@_ufunc(1, compute="common")
def floor(x):
    """Elementwise floor (integers are returned unchanged)."""
    return lax.floor(x) if dtype_of(x).kind == "f" else x


@_ufunc(1, compute="common")
def ceil(x):
    """Elementwise ceiling (integers are returned unchanged)."""
    return lax.ceil(x) if dtype_of(x).kind == "f" else x


@_ufunc(1, compute="common")
def trunc(x):
    """Elementwise rounding toward zero (integers are returned unchanged)."""
    return trunc_(x) if dtype_of(x).kind == "f" else x


fix = trunc
__all__.append("fix")


@_ufunc(1)
def rint(x):
    """Elementwise rounding to the nearest integer value, halves to even."""
    return rint_(x)


def round(a, decimals: int = 0, out=None):  # noqa: A001 (NumPy's name)
    """Round to ``decimals`` decimal places, halves to even (NumPy's rule:
    ``rint(a * 10**decimals) / 10**decimals``).

    >>> round(jnp.array([0.5, 1.5, 2.675]), 2), round(jnp.array([150, 250]), -2)
    (Array([0.5 , 1.5 , 2.68], dtype=float64), Array([200, 200], dtype=int64))
    """
    if out is not None:
        raise TypeError(f"round: {IMMUTABLE}")
    if isinstance(decimals, Tracer):
        raise TypeError("round: decimals must be a static int")
    decimals = int(decimals)
    a = asarray_operand(a, "round")
    dt = dtype_of(a)
    if dt.kind in "iu":
        if decimals >= 0:
            return a
        f = float(10.0 ** -decimals)
        x = convert_to(a, dtypes.float64)
        return convert_to(lax.mul(rint_(lax.div(x, f)), f), dt)
    if dt.kind == "b":
        return rint(a)
    if decimals == 0:
        return rint_(a)
    if decimals > 0:
        f = float(10.0 ** decimals)
        return lax.div(rint_(lax.mul(a, f)), f)
    f = float(10.0 ** -decimals)
    return lax.mul(rint_(lax.div(a, f)), f)


around = round
__all__ += ["round", "around"]


@_ufunc(1)
def modf(x):
    """``(fractional part, integral part)``, both with the sign of ``x``."""
    t = trunc_(x)
    inf = lax.eq(lax.abs(x), np.inf)
    frac = copysign_(select(inf, lax.full_like(x, 0.0), lax.sub(x, t)), x)
    return frac, t


# ------------------------------------------------------ min, max, clip
def _maximum(a, b, pick_first):
    """``a`` where ``pick_first(a, b)`` else ``b``, with lexicographic
    comparison for complex numbers."""
    return select(pick_first(a, b), a, b)


@_ufunc(2)
def maximum(x1, x2):
    """Elementwise maximum, propagating nan.

    >>> maximum(jnp.array([1.0, jnp.nan]), 0.5)
    Array([ 1., nan], dtype=float64)
    """
    if dtype_of(x1).kind == "c":
        return _maximum(x1, x2, lambda a, b: or_(lex_less(b, a, True), isnan_(a)))
    return lax.max(x1, x2)


@_ufunc(2)
def minimum(x1, x2):
    """Elementwise minimum, propagating nan."""
    if dtype_of(x1).kind == "c":
        return _maximum(x1, x2, lambda a, b: or_(lex_less(a, b, True), isnan_(a)))
    return lax.min(x1, x2)


@_ufunc(2)
def fmax(x1, x2):
    """Elementwise maximum, ignoring nan (nan only where both are nan)."""
    if dtype_of(x1).kind in "biu":
        return lax.max(x1, x2)
    ge = lex_less(x2, x1, True) if dtype_of(x1).kind == "c" else lax.ge(x1, x2)
    return select(or_(ge, isnan_(x2)), x1, x2)


@_ufunc(2)
def fmin(x1, x2):
    """Elementwise minimum, ignoring nan (nan only where both are nan)."""
    if dtype_of(x1).kind in "biu":
        return lax.min(x1, x2)
    le = lex_less(x1, x2, True) if dtype_of(x1).kind == "c" else lax.le(x1, x2)
    return select(or_(le, isnan_(x2)), x1, x2)


_NO_VALUE = object()


def clip(a, a_min=_NO_VALUE, a_max=_NO_VALUE, out=None, *, min=_NO_VALUE,  # noqa: A002
         max=_NO_VALUE):
    """Limit ``a`` to ``[a_min, a_max]``; either bound may be None (NumPy 2
    also spells them ``min=``/``max=``).  The result dtype promotes ``a``
    with the bounds, as NumPy does.

    >>> clip(jnp.array([-1.0, 0.5, 3.0]), 0.0, 1.0)
    Array([0. , 0.5, 1. ], dtype=float64)
    """
    if out is not None:
        raise TypeError(f"clip: {IMMUTABLE}")
    for given, alias, label in ((a_min, min, "min"), (a_max, max, "max")):
        if given is not _NO_VALUE and alias is not _NO_VALUE:
            raise ValueError(f"clip: pass a_{label} or {label}, not both")
    lo = a_min if a_min is not _NO_VALUE else (None if min is _NO_VALUE else min)
    hi = a_max if a_max is not _NO_VALUE else (None if max is _NO_VALUE else max)
    args = [a] + [b for b in (lo, hi) if b is not None]
    ops = prepare("clip", "maximum", args, "out", nin=2)
    x = ops[0]
    if lo is not None:
        x = maximum(x, ops[1])
    if hi is not None:
        x = minimum(x, ops[-1])
    return x


__all__.append("clip")


# ------------------------------------------------------ float functions
@_ufunc(2)
def heaviside(x1, x2):
    """Heaviside step: 0 for ``x1 < 0``, ``x2`` at 0, 1 for ``x1 > 0``."""
    step = select(lax.lt(x1, 0.0), lax.full_like(x1, 0.0), lax.full_like(x1, 1.0))
    step = select(lax.eq(x1, 0.0), x2, step)
    return select(isnan_(x1), x1, step)


@_ufunc(2)
def copysign(x1, x2):
    """Magnitude of ``x1`` with the sign of ``x2`` (-0.0 counts as negative)."""
    return copysign_(x1, x2)


@_ufunc(2)
def nextafter(x1, x2):
    """The next representable float after ``x1`` towards ``x2``."""
    return lax.nextafter(x1, x2)


@_ufunc(1, compute="common")
def signbit(x):
    """True where the sign is negative, -0.0 included (not seen on nan)."""
    return signbit_(x)


@_ufunc(1, compute="common")
def isnan(x):
    """True where ``x`` is nan (for complex: either part)."""
    return isnan_(x)


@_ufunc(1, compute="common")
def isinf(x):
    """True where ``x`` is plus or minus infinity (for complex: either part)."""
    k = dtype_of(x).kind
    if k == "c":
        return or_(isinf(lax.real(x)), isinf(lax.imag(x)))
    if k == "f":
        return lax.eq(lax.abs(x), np.inf)
    return lax.full_like(x, False, dtypes.bool_)


@_ufunc(1, compute="common")
def isfinite(x):
    """True where ``x`` is neither infinite nor nan."""
    k = dtype_of(x).kind
    if k == "c":
        return and_(isfinite_(lax.real(x)), isfinite_(lax.imag(x)))
    if k == "f":
        return isfinite_(x)
    return lax.full_like(x, True, dtypes.bool_)


def _real_only(name, x):
    x = asarray_operand(x, name)
    if dtype_of(x).kind == "c":
        raise TypeError(f"{name}: complex input is not supported (as in NumPy)")
    return x


def isposinf(x, /, out=None):
    """True where ``x`` is plus infinity."""
    if out is not None:
        raise TypeError(f"isposinf: {IMMUTABLE}")
    x = _real_only("isposinf", x)
    return and_(isinf(x), not_(signbit_(x))) if dtype_of(x).kind == "f" else isinf(x)


def isneginf(x, /, out=None):
    """True where ``x`` is minus infinity."""
    if out is not None:
        raise TypeError(f"isneginf: {IMMUTABLE}")
    x = _real_only("isneginf", x)
    return and_(isinf(x), signbit_(x)) if dtype_of(x).kind == "f" else isinf(x)


def nan_to_num(x, copy: bool = True, nan=0.0, posinf=None, neginf=None):
    """Replace nan by ``nan``, infinities by ``posinf``/``neginf`` (default:
    the largest finite values of the dtype); complex parts separately.

    >>> nan_to_num(jnp.array([jnp.nan, jnp.inf, -1.0]), nan=-9.0)
    Array([-9.00000000e+000,  1.79769313e+308, -1.00000000e+000], dtype=float64)
    """
    x = asarray_operand(x, "nan_to_num")
    dt = dtype_of(x)
    if dt.kind == "c":
        parts = [nan_to_num(p, nan=nan, posinf=posinf, neginf=neginf)
                 for p in (lax.real(x), lax.imag(x))]
        return make_complex(*parts, dt)
    if dt.kind != "f":
        return x
    info = np.finfo(dt)
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    fill = [convert_to(asarray_operand(v, "nan_to_num"), dt) for v in (nan, posinf, neginf)]
    out = select(isnan_(x), fill[0], x)
    out = select(lax.eq(x, np.inf), fill[1], out)
    return select(lax.eq(x, -np.inf), fill[2], out)


@_ufunc(1)
def frexp(x):
    """``(mantissa, exponent)`` with ``x = mantissa * 2**exponent`` and
    ``0.5 <= |mantissa| < 1`` (exponent int32; 0, inf and nan give exponent 0)."""
    return frexp_kernel(x)


def ldexp(x1, x2, /, **kwargs):
    """``x1 * 2**x2`` for an integer exponent ``x2``.

    >>> ldexp(0.75, 3)
    Array(6., dtype=float64)
    """
    dtype = check_kwargs("ldexp", kwargs)
    m = asarray_operand(x1, "ldexp")
    e = asarray_operand(x2, "ldexp")
    if dtype_of(e).kind not in "biu":
        raise TypeError(f"ldexp: the exponent must be an integer array, got {dtype_of(e).name}")
    (m,) = prepare("ldexp", "sin", (m,), "out", dtype)
    if dtype_of(m).kind != "f":
        raise TypeError(f"ldexp: the mantissa must be real, got {dtype_of(m).name}")
    info = np.finfo(dtype_of(m))
    limit = 2 * (info.maxexp - info.minexp + info.nmant)
    e = lax.clamp(-limit, convert_to(e, dtypes.int64), limit)
    m, e = broadcast_all("ldexp", [m, e])
    return scale2(m, lax.convert_element_type(e, dtype_of(m)))


__all__ += ["isposinf", "isneginf", "nan_to_num", "ldexp"]


# ------------------------------------------------------- comparisons
def _comparison(fname, lax_op, strict_lex):
    def impl(x1, x2):
        if dtype_of(x1).kind == "c" and strict_lex is not None:
            swap, or_equal = strict_lex
            return lex_less(x2, x1, or_equal) if swap else lex_less(x1, x2, or_equal)
        return lax_op(x1, x2)
    impl.__doc__ = f"""Elementwise comparison ``{fname}`` (bool result; complex numbers
    are ordered lexicographically, as in NumPy).

    >>> import funcgrad.numpy as jnp
    >>> jnp.less(jnp.array([1, 2, 3]), 2)
    Array([ True, False, False], dtype=bool)
    """
    return _ufunc(2, compute="common", name=fname)(impl)


equal = _comparison("equal", lax.eq, None)
not_equal = _comparison("not_equal", lax.ne, None)
less = _comparison("less", lax.lt, (False, False))
less_equal = _comparison("less_equal", lax.le, (False, True))
greater = _comparison("greater", lax.gt, (True, False))
greater_equal = _comparison("greater_equal", lax.ge, (True, True))


def _truth(x):
    return x if dtype_of(x) == np.bool_ else lax.ne(x, lax.full_like(x, 0))


@_ufunc(2, compute="common")
def logical_and(x1, x2):
    """Elementwise truth of ``x1 and x2``."""
    return lax.bitwise_and(_truth(x1), _truth(x2))


@_ufunc(2, compute="common")
def logical_or(x1, x2):
    """Elementwise truth of ``x1 or x2``."""
    return lax.bitwise_or(_truth(x1), _truth(x2))


@_ufunc(2, compute="common")
def logical_xor(x1, x2):
    """Elementwise truth of ``x1 != x2`` as booleans."""
    return lax.bitwise_xor(_truth(x1), _truth(x2))


@_ufunc(1, compute="common")
def logical_not(x):
    """Elementwise truth of ``not x``."""
    return not_(_truth(x))


# ------------------------------------------------------------ bitwise
@_ufunc(2)
def bitwise_and(x1, x2):
    """Elementwise bitwise (logical for bools) and, or, xor of integers."""
    return lax.bitwise_and(x1, x2)


@_ufunc(2)
def bitwise_or(x1, x2):
    """Elementwise bitwise (logical for bools) or."""
    return lax.bitwise_or(x1, x2)


@_ufunc(2)
def bitwise_xor(x1, x2):
    """Elementwise bitwise (logical for bools) xor."""
    return lax.bitwise_xor(x1, x2)


@_ufunc(1, np_name="invert")
def invert(x):
    """Elementwise bitwise not (logical not for bools).

    >>> invert(jnp.array([0, 1], jnp.int8))
    Array([-1, -2], dtype=int8)
    """
    return lax.bitwise_not(x)


bitwise_not = bitwise_invert = invert
__all__ += ["bitwise_not", "bitwise_invert"]


@_ufunc(2)
def left_shift(x1, x2):
    """Elementwise ``x1 << x2``; shifts of the bit width or more give 0."""
    return lax.shift_left(x1, x2)


@_ufunc(2)
def right_shift(x1, x2):
    """Elementwise ``x1 >> x2``: arithmetic (sign-filling) for signed
    integers, logical for unsigned; shifts of the bit width or more give
    0 or -1, as in NumPy."""
    if dtype_of(x1).kind == "u":
        return lax.shift_right_logical(x1, x2)
    bits = dtype_of(x1).itemsize * 8
    over = or_(lax.lt(x2, 0), lax.ge(x2, bits))
    return lax.shift_right_arithmetic(x1, select(over, lax.full_like(x2, bits - 1), x2))


bitwise_left_shift, bitwise_right_shift = left_shift, right_shift
__all__ += ["bitwise_left_shift", "bitwise_right_shift"]


@_ufunc(2)
def gcd(x1, x2):
    """Elementwise greatest common divisor of integers (non-negative).

    >>> gcd(jnp.array([12, -18]), 8)
    Array([4, 2], dtype=int64)
    """
    return gcd_kernel(x1, x2)


@_ufunc(2)
def lcm(x1, x2):
    """Elementwise least common multiple of integers (non-negative)."""
    g = gcd(x1, x2)
    nonzero = lax.ne(g, 0)
    q = lax.mul(lax.div(lax.abs(x1), select(nonzero, g, lax.full_like(g, 1))), lax.abs(x2))
    return select(nonzero, q, lax.full_like(q, 0))


# ------------------------------------------------------------- complex
def real(val, /):
    """Real part (the input itself for real arrays)."""
    val = asarray_operand(val, "real")
    return lax.real(val) if dtype_of(val).kind == "c" else val


def imag(val, /):
    """Imaginary part (zeros for real arrays)."""
    val = asarray_operand(val, "imag")
    return lax.imag(val) if dtype_of(val).kind == "c" else lax.full_like(val, 0)


def angle(z, deg: bool = False):
    """Argument of complex numbers (0 or pi for reals), in radians unless
    ``deg``.

    >>> angle(jnp.array([1j, -1.0]))
    Array([1.57079633, 3.14159265], dtype=float64)
    """
    z = asarray_operand(z, "angle")
    if dtype_of(z).kind == "c":
        a = arctan2(lax.imag(z), lax.real(z))
    else:
        a = arctan2(0, z)
    return lax.div(lax.mul(a, 180.0), np.pi) if deg else a


def iscomplex(x, /):
    """True where the imaginary part is non-zero."""
    return not_equal(imag(x), 0)


def isreal(x, /):
    """True where the imaginary part is zero."""
    return equal(imag(x), 0)


__all__ += ["real", "imag", "angle", "iscomplex", "isreal"]


# ------------------------------------------------------ where and tests
def where(condition, x=None, y=None, /, *, size=None, fill_value=None):
    """``x`` where ``condition`` else ``y``, broadcasting all three.

    With only ``condition``, the indices of its non-zero elements (this
    needs concrete values, or a static ``size`` under a transformation).

    >>> where(jnp.array([True, False]), 1.0, jnp.array([5.0, 6.0]))
    Array([1., 6.], dtype=float64)
    """
    if x is None and y is None:
        import funcgrad.numpy as jnp
        if hasattr(jnp, "nonzero"):
            return jnp.nonzero(condition, size=size, fill_value=fill_value)
        if isinstance(condition, Tracer) or size is not None:
            raise TypeError("where(condition) with one argument needs a concrete condition "
                            "(or size=, once nonzero is available)")
        from funcgrad.numpy.creation import asarray
        return tuple(asarray(i) for i in np.nonzero(np.asarray(condition)))
    if x is None or y is None:
        raise ValueError("where: either both or neither of x and y must be given")
    if size is not None or fill_value is not None:
        raise TypeError("where: size= and fill_value= only apply to the one-argument form")
    cond = _truth(asarray_operand(condition, "where"))
    x, y = prepare("where", "add", (x, y), "common")
    return select(cond, x, y)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan: bool = False):
    """Elementwise ``|a - b| <= atol + rtol * |b|`` (infinities are close only
    to themselves; nan to nan only with ``equal_nan``), as in NumPy.

    >>> isclose(jnp.array([1.0, 1.1]), 1.0)
    Array([ True, False], dtype=bool)
    """
    x = asarray_operand(a, "isclose")
    y = asarray_operand(b, "isclose")
    if not get_aval(y).weak_type:
        yd = dtype_of(y)
        y = convert_to(y, yd if yd.kind in "fc" else dtypes.float64)
    else:
        y = convert_to(y, dtype_of(y) if dtype_of(y).kind in "fc" else dtypes.float64, True)
    tol = add(atol, multiply(rtol, absolute(y)))
    result = logical_or(logical_and(less_equal(absolute(subtract(x, y)), tol), isfinite(y)),
                        equal(x, y))
    if equal_nan:
        result = logical_or(result, logical_and(isnan(x), isnan(y)))
    return result


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan: bool = False):
    """Whether all elements are :func:`isclose` (a 0-d bool array).

    >>> allclose([1.0, 2.0], [1.0, 2.0 + 1e-9])
    Array(True, dtype=bool)
    """
    from funcgrad.numpy.reductions import all as all_
    return all_(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def array_equal(a1, a2, equal_nan: bool = False):
    """Whether the arrays have the same shape and elements (a 0-d bool array).

    >>> array_equal([1, 2], [1, 2]), array_equal([1, 2], [1, 2, 3])
    (Array(True, dtype=bool), Array(False, dtype=bool))
    """
    from funcgrad.numpy.creation import asarray
    from funcgrad.numpy.reductions import all as all_
    a1, a2 = asarray_operand(a1, "array_equal"), asarray_operand(a2, "array_equal")
    if get_aval(a1).shape != get_aval(a2).shape:
        return asarray(False)
    eq = equal(a1, a2)
    if equal_nan:
        eq = logical_or(eq, logical_and(isnan(a1), isnan(a2)))
    return all_(eq)


def array_equiv(a1, a2):
    """Whether the arrays are equal once broadcast (False if they cannot be)."""
    from funcgrad.numpy.creation import asarray
    from funcgrad.numpy.reductions import all as all_
    a1, a2 = asarray_operand(a1, "array_equiv"), asarray_operand(a2, "array_equiv")
    try:
        broadcast_shapes("array_equiv", get_aval(a1).shape, get_aval(a2).shape)
    except ValueError:
        return asarray(False)
    return all_(equal(a1, a2))


__all__ += ["where", "isclose", "allclose", "array_equal", "array_equiv"]
