"""Elementwise primitives: math functions, arithmetic, comparisons, bitwise
operations, ``select_n``, ``clamp`` and ``convert_element_type``.

Every primitive is declared once with its NumPy implementation, its
shape/dtype rule and the backend-neutral scalar expression the code
generators use (``{x}``, ``{y}`` stand for the scalar operands).  Operands of
a binary primitive have the same dtype and the same shape, except that a 0-d
operand combines with any shape; use ``funcgrad.numpy`` for broadcasting and
type promotion.
"""
from __future__ import annotations

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.ad_util import (Zero, deflinear, defjvp, defjvp_with_output, instantiate,
                                   is_undefined_primal, not_differentiable)
from funcgrad.core.avals import ShapedArray
from funcgrad.core.batching import batch_elementwise
from funcgrad.core.primitive import Primitive
from funcgrad.core.trace import get_aval
from funcgrad.lax import special_math as sm
from funcgrad.lax.base import (ANY, BOOL_INT, FLOAT, INEXACT, INT, NUMBER, asoperand,
                               check_dtype, convert_weak_scalars, elementwise_shape,
                               nary_shape_rule, quiet, unary_shape_rule)


def unary(name: str, numpy_fn, *, kinds: str = INEXACT, scalar: str | None = None,
          out_dtype=None) -> Primitive:
    """Declare an elementwise unary primitive from a NumPy function."""
    p = Primitive(name)
    fn = quiet(numpy_fn)
    p.impl = lambda x, **params: [fn(x, **params)]
    p.abstract_eval = unary_shape_rule(name, kinds, out_dtype)
    p.scalar_expr = scalar
    batch_elementwise(p)
    return p


def binary(name: str, numpy_fn, *, kinds: str = NUMBER, scalar: str | None = None,
           out_dtype=None) -> Primitive:
    """Declare an elementwise binary primitive from a NumPy function."""
    p = Primitive(name)
    fn = quiet(numpy_fn)
    p.impl = lambda x, y: [fn(x, y)]
    p.abstract_eval = nary_shape_rule(name, kinds, out_dtype)
    p.scalar_expr = scalar
    batch_elementwise(p)
    return p


def _unary_api(p: Primitive, doc: str):
    def op(x):
        return p.bind(asoperand(x, p.name))
    op.__name__ = op.__qualname__ = p.name
    op.__doc__ = doc
    return op


def _binary_api(p: Primitive, doc: str):
    def op(x, y):
        return p.bind(*convert_weak_scalars(p.name, (x, y)))
    op.__name__ = op.__qualname__ = p.name
    op.__doc__ = doc
    return op


# ------------------------------------------------------------ unary math
# Each primitive is followed by its differentiation rule; the rules use the
# public wrappers below (bound at call time), so they are themselves
# traceable and derivatives of any order come from nesting.
neg_p = unary("neg", np.negative, kinds=NUMBER, scalar="(-{x})")
deflinear(neg_p)
sign_p = unary("sign", np.sign, kinds=NUMBER, scalar="np.sign({x})")
not_differentiable(sign_p)
floor_p = unary("floor", np.floor, kinds=FLOAT, scalar="np.floor({x})")
not_differentiable(floor_p)
ceil_p = unary("ceil", np.ceil, kinds=FLOAT, scalar="np.ceil({x})")
not_differentiable(ceil_p)
is_finite_p = unary("is_finite", np.isfinite, kinds=FLOAT, out_dtype=np.bool_,
                    scalar="np.isfinite({x})")
not_differentiable(is_finite_p)
# Constants in rules are Python floats (weak), so they take the operand's
# dtype: float32 derivatives stay float32.
_LN2 = float(np.log(2.0))
_TWO_OVER_SQRT_PI = float(2.0 / np.sqrt(np.pi))
exp_p = unary("exp", np.exp, scalar="np.exp({x})")
defjvp_with_output(exp_p, lambda t, out, x: mul(t, out))
exp2_p = unary("exp2", np.exp2, scalar="np.exp2({x})")
defjvp_with_output(exp2_p, lambda t, out, x: mul(t, mul(out, _LN2)))
log_p = unary("log", np.log, scalar="np.log({x})")
defjvp(log_p, lambda t, x: div(t, x))
log1p_p = unary("log1p", np.log1p, scalar="np.log1p({x})")
defjvp(log1p_p, lambda t, x: div(t, add(x, 1.0)))
expm1_p = unary("expm1", np.expm1, scalar="np.expm1({x})")
defjvp_with_output(expm1_p, lambda t, out, x: mul(t, add(out, 1.0)))
sin_p = unary("sin", np.sin, scalar="np.sin({x})")
defjvp(sin_p, lambda t, x: mul(t, cos(x)))
cos_p = unary("cos", np.cos, scalar="np.cos({x})")
defjvp(cos_p, lambda t, x: neg(mul(t, sin(x))))
tan_p = unary("tan", np.tan, scalar="np.tan({x})")
defjvp_with_output(tan_p, lambda t, out, x: mul(t, add(1.0, mul(out, out))))
asin_p = unary("asin", np.arcsin, scalar="np.arcsin({x})")
defjvp(asin_p, lambda t, x: mul(t, rsqrt(sub(1.0, mul(x, x)))))
acos_p = unary("acos", np.arccos, scalar="np.arccos({x})")
defjvp(acos_p, lambda t, x: neg(mul(t, rsqrt(sub(1.0, mul(x, x))))))
atan_p = unary("atan", np.arctan, scalar="np.arctan({x})")
defjvp(atan_p, lambda t, x: div(t, add(1.0, mul(x, x))))
sinh_p = unary("sinh", np.sinh, scalar="np.sinh({x})")
defjvp(sinh_p, lambda t, x: mul(t, cosh(x)))
cosh_p = unary("cosh", np.cosh, scalar="np.cosh({x})")
defjvp(cosh_p, lambda t, x: mul(t, sinh(x)))
tanh_p = unary("tanh", np.tanh, scalar="np.tanh({x})")
defjvp_with_output(tanh_p, lambda t, out, x: mul(t, sub(1.0, mul(out, out))))
asinh_p = unary("asinh", np.arcsinh, scalar="np.arcsinh({x})")
defjvp(asinh_p, lambda t, x: mul(t, rsqrt(add(mul(x, x), 1.0))))
acosh_p = unary("acosh", np.arccosh, scalar="np.arccosh({x})")
# sqrt(x-1)*sqrt(x+1) rather than sqrt(x*x-1): no cancellation near x = 1.
defjvp(acosh_p, lambda t, x: div(t, mul(sqrt(sub(x, 1.0)), sqrt(add(x, 1.0)))))
atanh_p = unary("atanh", np.arctanh, scalar="np.arctanh({x})")
defjvp(atanh_p, lambda t, x: div(t, mul(sub(1.0, x), add(1.0, x))))
sqrt_p = unary("sqrt", np.sqrt, scalar="np.sqrt({x})")
defjvp_with_output(sqrt_p, lambda t, out, x: div(mul(t, 0.5), out))
rsqrt_p = unary("rsqrt", lambda x: np.reciprocal(np.sqrt(x)), scalar="(1.0 / np.sqrt({x}))")
defjvp_with_output(rsqrt_p, lambda t, out, x: mul(t, mul(div(out, x), -0.5)))
cbrt_p = unary("cbrt", sm.cbrt_np, kinds=FLOAT, scalar="special_math.cbrt({x})")
defjvp_with_output(cbrt_p, lambda t, out, x: div(t, mul(3.0, mul(out, out))))
logistic_p = unary("logistic", sm.logistic_np, kinds=FLOAT, scalar="special_math.logistic({x})")
defjvp_with_output(logistic_p, lambda t, out, x: mul(t, mul(out, sub(1.0, out))))
erf_p = unary("erf", sm.erf_np, kinds=FLOAT, scalar="special_math.erf({x})")
defjvp(erf_p, lambda t, x: mul(t, mul(_TWO_OVER_SQRT_PI, exp(neg(mul(x, x))))))
erfc_p = unary("erfc", sm.erfc_np, kinds=FLOAT, scalar="special_math.erfc({x})")
defjvp(erfc_p, lambda t, x: mul(t, mul(-_TWO_OVER_SQRT_PI, exp(neg(mul(x, x))))))
erf_inv_p = unary("erf_inv", sm.erf_inv_np, kinds=FLOAT, scalar="special_math.erf_inv({x})")
defjvp_with_output(erf_inv_p,
                   lambda t, out, x: mul(t, mul(1.0 / _TWO_OVER_SQRT_PI, exp(mul(out, out)))))
lgamma_p = unary("lgamma", sm.lgamma_np, kinds=FLOAT, scalar="special_math.lgamma({x})")
defjvp(lgamma_p, lambda t, x: mul(t, digamma(x)))
digamma_p = unary("digamma", sm.digamma_np, kinds=FLOAT, scalar="special_math.digamma({x})")
not_p = unary("not", np.invert, kinds=BOOL_INT, scalar="(~{x})")
not_differentiable(not_p)
real_p = unary("real", np.real, kinds="c", scalar="{x}.real",
               out_dtype=lambda dt: np.finfo(dt).dtype)
imag_p = unary("imag", np.imag, kinds="c", scalar="{x}.imag",
               out_dtype=lambda dt: np.finfo(dt).dtype)
conj_p = unary("conj", np.conjugate, kinds="c", scalar="np.conj({x})")
abs_p = unary("abs", np.abs, kinds=NUMBER, scalar="np.abs({x})",
              out_dtype=lambda dt: np.finfo(dt).dtype if dt.kind == "c" else dt)
def _abs_jvp(t, x):
    if get_aval(x).dtype.kind == "c":
        # |x| is real: its tangent is the real part of conj(sign(x)) * t.
        return real(mul(conj(sign(x)), t))
    return mul(t, sign(x))


defjvp(abs_p, _abs_jvp)
# round: 0 rounds half away from zero (lax's default), 1 half to even (NumPy's).
ROUND_AWAY_FROM_ZERO, ROUND_TO_NEAREST_EVEN = 0, 1


def _round_impl(x, *, rounding_method):
    if rounding_method == ROUND_TO_NEAREST_EVEN:
        return [np.round(x)]
    return [sm.round_half_away_np(x)]


round_p = Primitive("round")
round_p.impl = _round_impl
round_p.abstract_eval = unary_shape_rule("round", FLOAT)
round_p.scalar_expr = None  # depends on the parameter: lowered by the backend
not_differentiable(round_p)


def _integer_pow_impl(x, *, y):
    x = np.asarray(x)
    with np.errstate(all="ignore"):
        return [np.power(x, x.dtype.type(y)).astype(x.dtype)]


def _integer_pow_abstract_eval(x: ShapedArray, *, y):
    check_dtype("integer_pow", x, NUMBER)
    if y < 0 and dtypes.is_integer(x.dtype):
        raise TypeError(f"integer_pow of an integer array ({x.str_short()}) to the negative power {y}")
    return [x]


integer_pow_p = Primitive("integer_pow")
integer_pow_p.impl = _integer_pow_impl
integer_pow_p.abstract_eval = _integer_pow_abstract_eval
def _integer_pow_jvp(t, x, *, y):
    if y == 0:
        return Zero.like(x)
    if y == 1:
        return t
    # x ** 1 is x itself: no equation for it.
    return mul(t, mul(float(y), x if y == 2 else integer_pow(x, y - 1)))


defjvp(integer_pow_p, _integer_pow_jvp)


# ------------------------------------------------------------ binary ops
def _int_div(x, y):
    """Integer division rounding toward zero (C semantics), as lax.div does."""
    if dtypes.is_integer(np.result_type(x)):
        q = np.floor_divide(x, y)
        fix = (np.remainder(x, y) != 0) & ((np.asarray(x) < 0) != (np.asarray(y) < 0))
        return np.where(fix, q + 1, q).astype(q.dtype)
    return np.true_divide(x, y)


def _shift_right_logical(x, y):
    x, y = np.asarray(x), np.asarray(y)
    bits = x.dtype.itemsize * 8
    unsigned = np.dtype(f"u{x.dtype.itemsize}")
    shifted = np.right_shift(x.view(unsigned), np.clip(y, 0, bits - 1).astype(unsigned))
    return np.where((y < 0) | (y >= bits), 0, shifted).astype(unsigned).view(x.dtype)


def _shift_left(x, y):
    x, y = np.asarray(x), np.asarray(y)
    bits = x.dtype.itemsize * 8
    shifted = np.left_shift(x, np.clip(y, 0, bits - 1).astype(x.dtype))
    return np.where((y < 0) | (y >= bits), 0, shifted).astype(x.dtype)


def _shift_right_arithmetic(x, y):
    x, y = np.asarray(x), np.asarray(y)
    bits = x.dtype.itemsize * 8
    return np.right_shift(x, np.clip(y, 0, bits - 1).astype(x.dtype))


add_p = binary("add", np.add, scalar="({x} + {y})")
sub_p = binary("sub", np.subtract, scalar="({x} - {y})")
mul_p = binary("mul", np.multiply, scalar="({x} * {y})")
div_p = binary("div", _int_div, scalar=None)  # int division differs from Python's
rem_p = binary("rem", np.fmod, kinds="iuf", scalar="np.fmod({x}, {y})")
pow_p = binary("pow", np.power, kinds=INEXACT, scalar="({x} ** {y})")
max_p = binary("max", np.maximum, kinds="biuf", scalar="max({x}, {y})")
min_p = binary("min", np.minimum, kinds="biuf", scalar="min({x}, {y})")
atan2_p = binary("atan2", np.arctan2, kinds=FLOAT, scalar="np.arctan2({x}, {y})")
nextafter_p = binary("nextafter", np.nextafter, kinds=FLOAT, scalar="np.nextafter({x}, {y})")
and_p = binary("and", np.bitwise_and, kinds=BOOL_INT, scalar="({x} & {y})")
or_p = binary("or", np.bitwise_or, kinds=BOOL_INT, scalar="({x} | {y})")
xor_p = binary("xor", np.bitwise_xor, kinds=BOOL_INT, scalar="({x} ^ {y})")
shift_left_p = binary("shift_left", _shift_left, kinds=INT)
shift_right_logical_p = binary("shift_right_logical", _shift_right_logical, kinds=INT)
shift_right_arithmetic_p = binary("shift_right_arithmetic", _shift_right_arithmetic, kinds=INT)
eq_p = binary("eq", np.equal, kinds=ANY, out_dtype=np.bool_, scalar="({x} == {y})")
ne_p = binary("ne", np.not_equal, kinds=ANY, out_dtype=np.bool_, scalar="({x} != {y})")
lt_p = binary("lt", np.less, kinds="biuf", out_dtype=np.bool_, scalar="({x} < {y})")
le_p = binary("le", np.less_equal, kinds="biuf", out_dtype=np.bool_, scalar="({x} <= {y})")
gt_p = binary("gt", np.greater, kinds="biuf", out_dtype=np.bool_, scalar="({x} > {y})")
ge_p = binary("ge", np.greater_equal, kinds="biuf", out_dtype=np.bool_, scalar="({x} >= {y})")

# Differentiation rules of the binary operations.
defjvp(add_p, lambda t, x, y: t, lambda t, x, y: t)
defjvp(sub_p, lambda t, x, y: t, lambda t, x, y: neg(t))
defjvp(mul_p, lambda t, x, y: mul(t, y), lambda t, x, y: mul(x, t))
# x / y / y rather than x / (y * y): y * y overflows for |y| > 1e154.
defjvp(div_p, lambda t, x, y: div(t, y), lambda t, x, y: neg(mul(t, div(div(x, y), y))))
defjvp(rem_p, lambda t, x, y: t,
       lambda t, x, y: neg(mul(t, mul(sign(div(x, y)), floor(abs(div(x, y)))))))


def _pow_jvp_base(t, x, y):
    # d/dx x**y = y * x**(y-1), taken as 0 at x == y == 0 (where it is 0 * inf)
    # as JAX does.  Only that point is masked (with a safe base, so no nan
    # flows back through the unselected branch): at y == 0 elsewhere the
    # formula itself gives 0 and keeps the mixed derivative d2/dxdy = 1/x.
    both_0 = bitwise_and(eq(x, 0.0), eq(y, 0.0))
    safe_x = _where(both_0, 1.0, x)
    return mul(t, _where(both_0, 0.0, mul(y, pow(safe_x, sub(y, 1.0)))))


def _pow_jvp_exponent(t, x, y):
    # d/dy x**y = log(x) * x**y, taken as 0 where x == 0 (as JAX does).
    x_is_0 = eq(x, 0.0)
    return mul(t, _where(x_is_0, 0.0, mul(log(_where(x_is_0, 1.0, x)), pow(x, y))))


defjvp(pow_p, _pow_jvp_base, _pow_jvp_exponent)


def _minmax_weight(x, y, pick):
    """1 where ``pick`` chooses x, 1/2 at ties (the gradient is split evenly,
    as in JAX), 0 elsewhere."""
    dt = get_aval(x).dtype
    return add(convert_element_type(pick(x, y), dt),
               mul(convert_element_type(eq(x, y), dt), 0.5))


defjvp(max_p, lambda t, x, y: mul(t, _minmax_weight(x, y, gt)),
       lambda t, x, y: mul(t, _minmax_weight(y, x, gt)))
defjvp(min_p, lambda t, x, y: mul(t, _minmax_weight(x, y, lt)),
       lambda t, x, y: mul(t, _minmax_weight(y, x, lt)))
defjvp(atan2_p, lambda t, x, y: mul(t, div(y, add(mul(x, x), mul(y, y)))),
       lambda t, x, y: neg(mul(t, div(x, add(mul(x, x), mul(y, y))))))
for _p in (nextafter_p, and_p, or_p, xor_p, shift_left_p, shift_right_logical_p,
           shift_right_arithmetic_p, eq_p, ne_p, lt_p, le_p, gt_p, ge_p):
    not_differentiable(_p)


def _where(pred, on_true, on_false):
    """``select`` that broadcasts 0-d operands (Python scalars adapt to the
    dtype of the array operand) to the common shape; used by rules."""
    from funcgrad.lax.shape import broadcast_in_dim
    on_true, on_false = convert_weak_scalars("select", (on_true, on_false))
    pred = asoperand(pred, "select")
    shape = elementwise_out_shape(pred, on_true, on_false)
    ops = [x if get_aval(x).shape == shape else broadcast_in_dim(x, shape, ())
           for x in (on_true, on_false)]
    return select_n_p.bind(pred, ops[1], ops[0])


# Comparisons always give strong bool results.
for _p in (eq_p, ne_p, lt_p, le_p, gt_p, ge_p, is_finite_p):
    _rule = _p.abstract_eval
    _p.abstract_eval = (lambda rule: lambda *a, **k: [o.update(weak_type=False) for o in rule(*a, **k)])(_rule)


# ---------------------------------------------------- select and clamp
def _select_n_abstract_eval(which: ShapedArray, *cases: ShapedArray):
    if not cases:
        raise TypeError("select_n requires at least one case")
    check_dtype("select_n", which, "bi", "predicate")
    if which.dtype == np.bool_ and len(cases) > 2:
        raise TypeError(f"select_n with a bool predicate takes at most 2 cases, got {len(cases)}")
    shapes = {c.shape for c in cases}
    dts = {c.dtype for c in cases}
    if len(shapes) > 1 or len(dts) > 1:
        raise TypeError(f"select_n cases must have equal shapes and dtypes, got "
                        f"{', '.join(c.str_short() for c in cases)}")
    shape = cases[0].shape
    if which.ndim and which.shape != shape:
        raise TypeError(f"select_n predicate shape {which.shape} must be () or equal to the "
                        f"case shape {shape}")
    return [ShapedArray(shape, cases[0].dtype, all(c.weak_type for c in cases))]


def _select_n_impl(which, *cases):
    if len(cases) == 1:
        return [np.array(cases[0])]
    which = np.asarray(which)
    if which.dtype == np.bool_:
        return [np.where(which, cases[1], cases[0])]
    return [np.choose(np.clip(which, 0, len(cases) - 1), cases)]


select_n_p = Primitive("select_n")
select_n_p.impl = _select_n_impl
select_n_p.abstract_eval = _select_n_abstract_eval


def _select_n_jvp(primals, tangents):
    which, *cases = primals
    out = select_n_p.bind(which, *cases)
    if all(type(t) is Zero for t in tangents[1:]):
        return [out], [Zero.like(out)]
    return [out], [select_n_p.bind(which, *[instantiate(t) for t in tangents[1:]])]


select_n_p.jvp = _select_n_jvp


def _clamp_abstract_eval(lo: ShapedArray, x: ShapedArray, hi: ShapedArray):
    check_dtype("clamp", x, "iuf")
    for bound, label in ((lo, "min"), (hi, "max")):
        if bound.dtype != x.dtype:
            raise TypeError(f"clamp requires {label} of dtype {x.dtype.name}, got {bound.dtype.name}")
        if bound.ndim and bound.shape != x.shape:
            raise TypeError(f"clamp {label} must be a scalar or have the operand's shape "
                            f"{x.shape}, got {bound.shape}")
    return [ShapedArray(x.shape, x.dtype, x.weak_type)]


clamp_p = Primitive("clamp")
clamp_p.impl = lambda lo, x, hi: [np.minimum(np.maximum(x, lo), hi).astype(np.asarray(x).dtype)]
clamp_p.abstract_eval = _clamp_abstract_eval
clamp_p.scalar_expr = "min(max({x}, {lo}), {hi})"


defjvp(clamp_p,
       lambda t, lo, x, hi: _where(lt(x, lo), t, 0.0),
       lambda t, lo, x, hi: _where(bitwise_and(ge(x, lo), le(x, hi)), t, 0.0),
       lambda t, lo, x, hi: _where(gt(x, hi), t, 0.0))


# ------------------------------------------- transposes (linear primitives)
def _unbroadcast(operand_aval: ShapedArray, ct):
    """A 0-d operand of an elementwise primitive was used at every output
    element: its cotangent is the sum of the output's."""
    from funcgrad.lax.reductions import reduce_sum
    ct_aval = get_aval(ct)
    if ct_aval.shape != operand_aval.shape:
        ct = reduce_sum(ct, tuple(range(ct_aval.ndim)))
    if get_aval(ct).dtype != operand_aval.dtype:
        ct = convert_element_type(ct, operand_aval.dtype)
    return ct


def _add_transpose(cts, x, y):
    (ct,) = cts
    return [_unbroadcast(x.aval, ct) if is_undefined_primal(x) else None,
            _unbroadcast(y.aval, ct) if is_undefined_primal(y) else None]


def _sub_transpose(cts, x, y):
    (ct,) = cts
    return [_unbroadcast(x.aval, ct) if is_undefined_primal(x) else None,
            _unbroadcast(y.aval, neg(ct)) if is_undefined_primal(y) else None]


def _mul_transpose(cts, x, y):
    # mul is bilinear: it is transposed with respect to one operand while
    # the other is a known factor.
    (ct,) = cts
    if is_undefined_primal(x) and is_undefined_primal(y):
        raise ValueError("mul is not linear when both operands are unknown")
    if is_undefined_primal(x):
        return [_unbroadcast(x.aval, mul(ct, y)), None]
    return [None, _unbroadcast(y.aval, mul(x, ct))]


def _div_transpose(cts, x, y):
    (ct,) = cts
    if is_undefined_primal(y):
        raise ValueError("div is linear in its numerator only")
    return [_unbroadcast(x.aval, div(ct, y)), None]


def _select_n_transpose(cts, which, *cases):
    (ct,) = cts
    if is_undefined_primal(which):
        raise ValueError("select_n is not linear in its predicate")
    from funcgrad.lax.shape import full_like
    zeros = full_like(ct, 0)
    out = [None]
    for i, case in enumerate(cases):
        if not is_undefined_primal(case):
            out.append(None)
            continue
        # The cotangent goes to the case that was selected, zeros elsewhere.
        picks = [ct if j == i else zeros for j in range(len(cases))]
        out.append(select_n_p.bind(which, *picks))
    return out


# real, imag and conj are real-linear maps of complex numbers.  Transposes
# follow JAX's convention for complex cotangents (grad of imag(z) is -1j).
def _real_transpose(cts, x):
    return [convert_element_type(cts[0], x.aval.dtype)]


def _imag_transpose(cts, x):
    ct = convert_element_type(neg(cts[0]), x.aval.dtype)
    return [mul(ct, np.array(1j, x.aval.dtype))]


deflinear(real_p)
deflinear(imag_p)
deflinear(conj_p)
real_p.transpose = _real_transpose
imag_p.transpose = _imag_transpose
conj_p.transpose = lambda cts, x: [conj(cts[0])]
neg_p.transpose = lambda cts, x: [neg(cts[0])]
add_p.transpose = _add_transpose
sub_p.transpose = _sub_transpose
mul_p.transpose = _mul_transpose
div_p.transpose = _div_transpose
select_n_p.transpose = _select_n_transpose


# ------------------------------------------------------- stop_gradient
stop_gradient_p = unary("stop_gradient", np.array, kinds=ANY, scalar="{x}")
not_differentiable(stop_gradient_p, "it is the identity with a zero derivative by definition")


def stop_gradient(x):
    """The identity, but with a zero derivative: differentiation treats
    ``stop_gradient(x)`` as a constant.

    >>> import funcgrad
    >>> funcgrad.grad(lambda x: x * stop_gradient(x))(3.0)
    Array(3., dtype=float64, weak_type=True)
    """
    from funcgrad import tree_util
    return tree_util.tree_map(lambda leaf: stop_gradient_p.bind(asoperand(leaf, "stop_gradient")), x)


# ---------------------------------------------------- dtype conversion
def _convert_impl(x, *, new_dtype, weak_type):
    x = np.asarray(x)
    if dtypes.is_inexact(x.dtype) and dtypes.is_integer(new_dtype):
        # Casting nan/inf/out-of-range floats to ints is undefined in C;
        # make it deterministic (nan -> 0, saturate) and silent.
        # The integer bounds may round up when written as floats (2**63 - 1
        # becomes 2**63), so compare instead of clipping, and convert only
        # values that are in range.
        info = np.iinfo(new_dtype)
        x = np.real(x)
        with np.errstate(invalid="ignore"):
            too_big = x >= x.dtype.type(info.max)
            too_small = x <= x.dtype.type(info.min)
            safe = np.where(too_big | too_small | np.isnan(x), 0, x)
            out = np.trunc(safe).astype(new_dtype)
        out = np.where(too_big, info.max, np.where(too_small, info.min, out)).astype(new_dtype)
        return [out]
    if dtypes.is_complex(x.dtype) and not dtypes.is_complex(new_dtype):
        x = np.real(x)
    with np.errstate(all="ignore"):
        return [x.astype(new_dtype)]


def _convert_abstract_eval(x: ShapedArray, *, new_dtype, weak_type):
    return [ShapedArray(x.shape, new_dtype, weak_type)]


convert_element_type_p = Primitive("convert_element_type")
convert_element_type_p.impl = _convert_impl
convert_element_type_p.abstract_eval = _convert_abstract_eval


def _convert_jvp(primals, tangents, *, new_dtype, weak_type):
    (x,), (t,) = primals, tangents
    out = convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=weak_type)
    if type(t) is Zero or new_dtype.kind not in "fc":
        return [out], [Zero.like(out)]
    return [out], [convert_element_type_p.bind(t, new_dtype=new_dtype, weak_type=weak_type)]


convert_element_type_p.jvp = _convert_jvp


def _convert_transpose(cts, x, *, new_dtype, weak_type):
    (ct,) = cts
    return [convert_element_type_p.bind(ct, new_dtype=x.aval.dtype, weak_type=x.aval.weak_type)
            if get_aval(ct).dtype != x.aval.dtype else ct]


convert_element_type_p.transpose = _convert_transpose
for _p in (round_p, integer_pow_p, convert_element_type_p):
    batch_elementwise(_p)
batch_elementwise(select_n_p, scalar_ok=lambda i: i == 0)   # only the predicate may be 0-d
batch_elementwise(clamp_p, scalar_ok=lambda i: i != 1)       # the bounds may be 0-d


def convert_element_type(x, new_dtype, weak_type: bool = False):
    """Cast ``x`` to ``new_dtype`` (float to int truncates toward zero).

    >>> convert_element_type(2.7, np.int32)
    Array(2, dtype=int32)
    """
    x = asoperand(x, "convert_element_type")
    new_dtype = dtypes.canonicalize(new_dtype)
    aval = get_aval(x)
    if aval.dtype == new_dtype and aval.weak_type == weak_type:
        return x
    return convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=weak_type)


# ------------------------------------------------------------ the API
neg = _unary_api(neg_p, "Elementwise negation ``-x``.")
sign = _unary_api(sign_p, "Elementwise sign (-1, 0 or 1).")
floor = _unary_api(floor_p, "Elementwise floor.")
ceil = _unary_api(ceil_p, "Elementwise ceiling.")
is_finite = _unary_api(is_finite_p, "Elementwise test: neither inf nor nan.")
exp = _unary_api(exp_p, "Elementwise exponential.")
exp2 = _unary_api(exp2_p, "Elementwise ``2 ** x``.")
log = _unary_api(log_p, "Elementwise natural logarithm.")
log1p = _unary_api(log1p_p, "Elementwise ``log(1 + x)``, accurate near 0.")
expm1 = _unary_api(expm1_p, "Elementwise ``exp(x) - 1``, accurate near 0.")
sin = _unary_api(sin_p, "Elementwise sine.")
cos = _unary_api(cos_p, "Elementwise cosine.")
tan = _unary_api(tan_p, "Elementwise tangent.")
asin = _unary_api(asin_p, "Elementwise arc sine.")
acos = _unary_api(acos_p, "Elementwise arc cosine.")
atan = _unary_api(atan_p, "Elementwise arc tangent.")
sinh = _unary_api(sinh_p, "Elementwise hyperbolic sine.")
cosh = _unary_api(cosh_p, "Elementwise hyperbolic cosine.")
tanh = _unary_api(tanh_p, "Elementwise hyperbolic tangent.")
asinh = _unary_api(asinh_p, "Elementwise inverse hyperbolic sine.")
acosh = _unary_api(acosh_p, "Elementwise inverse hyperbolic cosine.")
atanh = _unary_api(atanh_p, "Elementwise inverse hyperbolic tangent.")
sqrt = _unary_api(sqrt_p, "Elementwise square root.")
rsqrt = _unary_api(rsqrt_p, "Elementwise ``1 / sqrt(x)``.")
cbrt = _unary_api(cbrt_p, "Elementwise real cube root.")
logistic = _unary_api(logistic_p, "Elementwise logistic sigmoid ``1 / (1 + exp(-x))``, overflow-free.")
erf = _unary_api(erf_p, "Elementwise error function.")
erfc = _unary_api(erfc_p, "Elementwise ``1 - erf(x)``, accurate for large x.")
erf_inv = _unary_api(erf_inv_p, "Elementwise inverse error function.")
lgamma = _unary_api(lgamma_p, "Elementwise ``log|Gamma(x)|``.")
digamma = _unary_api(digamma_p, "Elementwise digamma function (derivative of lgamma).")
bitwise_not = _unary_api(not_p, "Elementwise logical/bitwise not.")
abs = _unary_api(abs_p, "Elementwise absolute value.")
real = _unary_api(real_p, "Real part of a complex array.")
imag = _unary_api(imag_p, "Imaginary part of a complex array.")
conj = _unary_api(conj_p, "Complex conjugate.")
add = _binary_api(add_p, "Elementwise ``x + y``.")
sub = _binary_api(sub_p, "Elementwise ``x - y``.")
mul = _binary_api(mul_p, "Elementwise ``x * y``.")
div = _binary_api(div_p, "Elementwise ``x / y``; integer division rounds toward zero.")
rem = _binary_api(rem_p, "Elementwise remainder with the sign of ``x`` (C ``fmod``).")
pow = _binary_api(pow_p, "Elementwise ``x ** y`` for inexact dtypes.")
max = _binary_api(max_p, "Elementwise maximum (nan-propagating).")
min = _binary_api(min_p, "Elementwise minimum (nan-propagating).")
atan2 = _binary_api(atan2_p, "Elementwise ``atan2(x, y)``.")
nextafter = _binary_api(nextafter_p, "The next representable float after ``x`` towards ``y``.")
bitwise_and = _binary_api(and_p, "Elementwise logical/bitwise and.")
bitwise_or = _binary_api(or_p, "Elementwise logical/bitwise or.")
bitwise_xor = _binary_api(xor_p, "Elementwise logical/bitwise xor.")
shift_left = _binary_api(shift_left_p, "``x << y``; shifts of the bit width or more give 0.")
shift_right_logical = _binary_api(shift_right_logical_p, "Logical ``x >> y`` (zeros shifted in); shifts of the bit width or more give 0.")
shift_right_arithmetic = _binary_api(shift_right_arithmetic_p, "Arithmetic ``x >> y`` (sign bit shifted in).")
eq = _binary_api(eq_p, "Elementwise ``x == y``.")
ne = _binary_api(ne_p, "Elementwise ``x != y``.")
lt = _binary_api(lt_p, "Elementwise ``x < y``.")
le = _binary_api(le_p, "Elementwise ``x <= y``.")
gt = _binary_api(gt_p, "Elementwise ``x > y``.")
ge = _binary_api(ge_p, "Elementwise ``x >= y``.")


def round(x, rounding_method: int = ROUND_AWAY_FROM_ZERO):  # noqa: A001 (lax's name)
    """Round to the nearest integer value; halves away from zero by default,
    to even with ``rounding_method=ROUND_TO_NEAREST_EVEN`` (NumPy's rule).

    >>> round(2.5), round(2.5, ROUND_TO_NEAREST_EVEN)
    (Array(3., dtype=float64, weak_type=True), Array(2., dtype=float64, weak_type=True))
    """
    return round_p.bind(asoperand(x, "round"), rounding_method=int(rounding_method))


def integer_pow(x, y: int):
    """``x ** y`` for a static Python int ``y`` (lowered to multiplications).

    >>> integer_pow(3.0, 2)
    Array(9., dtype=float64, weak_type=True)
    """
    if not isinstance(y, (int, np.integer)):
        raise TypeError(f"integer_pow requires a Python int exponent, got {type(y).__name__}")
    return integer_pow_p.bind(asoperand(x, "integer_pow"), y=int(y))


def select_n(which, *cases):
    """Pick, element by element, ``cases[which]``; a bool ``which`` selects
    ``cases[1]`` where True.

    >>> select_n(np.array([True, False]), np.zeros(2), np.ones(2))
    Array([1., 0.], dtype=float64)
    """
    cases = convert_weak_scalars("select_n", cases)
    return select_n_p.bind(asoperand(which, "select_n"), *cases)


def select(pred, on_true, on_false):
    """``on_true`` where ``pred`` else ``on_false`` (``select_n`` reordered)."""
    return select_n(pred, on_false, on_true)


def clamp(min, x, max):  # noqa: A002 (lax's parameter names)
    """Clip ``x`` to ``[min, max]``; bounds are scalars or of ``x``'s shape.

    >>> clamp(0.0, np.array([-1.0, 0.5, 2.0]), 1.0)
    Array([0. , 0.5, 1. ], dtype=float64)
    """
    lo, x, hi = convert_weak_scalars("clamp", (min, x, max))
    return clamp_p.bind(lo, x, hi)


def elementwise_out_shape(*xs) -> tuple[int, ...]:
    """The shape of an elementwise result, checking compatibility."""
    return elementwise_shape("elementwise", [get_aval(x) for x in xs])


__all__ = ([name for name, value in list(globals().items())
            if not name.startswith("_") and (
                name.endswith("_p")
                or callable(value) and getattr(value, "__module__", None) == __name__)]
           + ["ROUND_AWAY_FROM_ZERO", "ROUND_TO_NEAREST_EVEN"])
