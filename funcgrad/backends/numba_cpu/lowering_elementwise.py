"""Scalar rules of the elementwise primitives.

Most primitives declare a backend-neutral ``scalar_expr`` (``"np.sin({x})"``)
used as it is.  The rules here cover what the expression cannot say:
parameters (``round``, ``integer_pow``, ``convert_element_type``,
``select_n``, ``clamp``), integer semantics that differ between NumPy and
Python (division, remainder, shifts), NaN-propagating ``max``/``min``, and
typed constants for float32.  The caller casts the returned expression to
the output dtype unless it is an :class:`Exact` expression.
"""
from __future__ import annotations

import numpy as np

from funcgrad.core import registry
from funcgrad.core.ir import JaxprEqn, Literal
from funcgrad.backends.numba_cpu.codegen import ELEMENTWISE, Builder, Exact, cast, literal


def _dtype(eqn: JaxprEqn, k: int = 0) -> np.dtype:
    return eqn.invars[k].aval.dtype


def default_rule(template: str):
    """A rule from ``primitive.scalar_expr``; the special functions take
    float64 (the eager path computes in float64 and rounds back too)."""
    special = template.startswith("special_math.")

    def rule(b: Builder, eqn: JaxprEqn, args: list[str]) -> str:
        if special:
            args = [f"np.float64({a})" for a in args]
        names = {"x": args[0]}
        if len(args) > 1:
            names["y"] = args[1]
        return template.format(**names)
    return rule


def _install_defaults() -> None:
    for name, prim in registry.items():
        if prim.scalar_expr is not None and name not in ELEMENTWISE:
            ELEMENTWISE[name] = default_rule(prim.scalar_expr)


def rule(*names: str):
    def decorator(fn):
        for name in names:
            ELEMENTWISE[name] = fn
        return fn
    return decorator


def _arith(op: str):
    def r(b, eqn, args):
        expr = f"({args[0]} {op} {args[1]})"
        # Same-typed float arithmetic stays in its type under Numba; small
        # integers are widened (the cast wraps them back as NumPy does).
        return Exact(expr) if _dtype(eqn).kind in "fc" else expr
    return r


ELEMENTWISE["add"] = _arith("+")
ELEMENTWISE["sub"] = _arith("-")
ELEMENTWISE["mul"] = _arith("*")


@rule("neg")
def _neg(b, eqn, args):
    expr = f"(-{args[0]})"
    return Exact(expr) if _dtype(eqn).kind in "fc" else expr


@rule("div")
def _div(b, eqn, args):
    dt = _dtype(eqn)
    if dt.kind in "fc":
        return Exact(f"({args[0]} / {args[1]})")
    helper = "sdiv" if dt.kind == "i" else "udiv"
    return f"_rt.{helper}({args[0]}, {args[1]})"


@rule("rem")
def _rem(b, eqn, args):
    dt = _dtype(eqn)
    if dt.kind == "f":
        return f"np.fmod({args[0]}, {args[1]})"
    helper = "srem" if dt.kind == "i" else "urem"
    return f"_rt.{helper}({args[0]}, {args[1]})"


@rule("max", "min")
def _minmax(b, eqn, args):
    fn = "maximum" if eqn.primitive.name == "max" else "minimum"
    return Exact(f"_rt.{fn}({args[0]}, {args[1]})")


@rule("rsqrt")
def _rsqrt(b, eqn, args):
    return f"({literal(1, _dtype(eqn))} / np.sqrt({args[0]}))"


@rule("cbrt")
def _cbrt(b, eqn, args):
    # The eager implementation is np.cbrt in float64.
    return f"np.cbrt(np.float64({args[0]}))"


@rule("sign")
def _sign(b, eqn, args):
    dt = _dtype(eqn)
    if dt.kind == "u":  # Numba's np.sign treats unsigned values as signed
        return f"({args[0]} != {literal(0, dt)})"
    return f"np.sign({args[0]})"


@rule("not")
def _not(b, eqn, args):
    if _dtype(eqn).kind == "b":
        return Exact(f"(not {args[0]})")
    return f"(~{args[0]})"


@rule("eq", "ne", "lt", "le", "gt", "ge")
def _compare(b, eqn, args):
    op = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[eqn.primitive.name]
    return Exact(f"({args[0]} {op} {args[1]})")


@rule("stop_gradient")
def _identity(b, eqn, args):
    return Exact(args[0])


# ------------------------------------------------------------ shifts
# A shift by an amount outside [0, bits) is defined (0, or the sign) in
# funcgrad but not in C; a run-time amount gets a guard.  A literal amount
# (hash and random-number code shifts by constants) is checked here
# instead: the guards multiply the code LLVM must optimise several times.
def _literal_amount(eqn) -> int | None:
    y = eqn.invars[1]
    return int(y.val) if isinstance(y, Literal) else None


@rule("shift_left")
def _shift_left(b, eqn, args):
    dt = _dtype(eqn)
    x, y = args
    zero, bits = literal(0, dt), literal(dt.itemsize * 8, dt)
    amount = _literal_amount(eqn)
    if amount is not None:
        return f"({x} << {y})" if 0 <= amount < dt.itemsize * 8 else zero
    return f"(({x} << {y}) if ({y} >= {zero} and {y} < {bits}) else {zero})"


@rule("shift_right_arithmetic")
def _shift_right_arithmetic(b, eqn, args):
    dt = _dtype(eqn)
    x, y = args
    zero, top = literal(0, dt), literal(dt.itemsize * 8 - 1, dt)
    amount = _literal_amount(eqn)
    if amount is not None:
        return f"({x} >> {literal(min(max(amount, 0), dt.itemsize * 8 - 1), dt)})"
    return f"({x} >> _rt.minimum(_rt.maximum({y}, {zero}), {top}))"


@rule("shift_right_logical")
def _shift_right_logical(b, eqn, args):
    dt = _dtype(eqn)
    x, y = args
    bits = dt.itemsize * 8
    zero, width = literal(0, dt), literal(bits, dt)
    if dt.kind == "u":
        shifted = f"({x} >> {y})"
    elif bits < 64:
        # Widened to int64, the masked value is the unsigned bit pattern.
        shifted = f"((np.int64({x}) & {(1 << bits) - 1}) >> {y})"
    else:
        shifted = f"np.int64(np.uint64({x}) >> np.uint64({y}))"
    amount = _literal_amount(eqn)
    if amount is not None:
        return shifted if 0 <= amount < bits else zero
    return f"({shifted} if ({y} >= {zero} and {y} < {width}) else {zero})"


# ------------------------------------------------------------ parameters
@rule("round")
def _round(b, eqn, args):
    if eqn.params["rounding_method"] == 1:  # ROUND_TO_NEAREST_EVEN
        return f"np.rint({args[0]})"
    return f"special_math.round_half_away(np.float64({args[0]}))"


@rule("integer_pow")
def _integer_pow(b, eqn, args):
    dt = _dtype(eqn)
    y = int(eqn.params["y"])
    x = args[0]
    if y == 0:
        return Exact(literal(1, dt))
    if dt.kind == "f":
        if y == 1:
            return Exact(x)
        if y == 2:
            return Exact(f"({x} * {x})")
        return f"({x} ** {literal(float(y), dt)})"
    if dt.kind == "c":
        return f"_rt.cpow_int({x}, {y})"
    return f"_rt.ipow({x}, {y})"


@rule("select_n")
def _select_n(b, eqn, args):
    which, *cases = args
    if len(cases) == 1:
        return Exact(cases[0])
    wdt = _dtype(eqn, 0)
    if wdt.kind == "b":
        return Exact(f"({cases[1]} if {which} else {cases[0]})")
    # Out-of-range integer predicates clamp to the first or last case.
    expr = cases[-1]
    for k in range(len(cases) - 2, 0, -1):
        expr = f"({cases[k]} if {which} == {literal(k, wdt)} else {expr})"
    return Exact(f"({cases[0]} if {which} <= {literal(0, wdt)} else {expr})")


@rule("clamp")
def _clamp(b, eqn, args):
    lo, x, hi = args
    return Exact(f"_rt.minimum(_rt.maximum({x}, {lo}), {hi})")


@rule("convert_element_type")
def _convert(b, eqn, args):
    src = _dtype(eqn)
    dst = np.dtype(eqn.params["new_dtype"])
    return convert_expr(args[0], src, dst)


def convert_expr(x: str, src: np.dtype, dst: np.dtype) -> str:
    """``x`` of dtype ``src`` converted to ``dst`` like ``_convert_impl``."""
    if src == dst:
        return Exact(x)
    if src.kind == "c" and dst.kind != "c":
        x = f"{x}.real"
        src = np.dtype(np.float32 if src == np.complex64 else np.float64)
    if dst.kind == "b":
        return Exact(f"({x} != {literal(0, src)})")
    if src.kind == "f" and dst.kind in "iu":
        info = np.iinfo(dst)
        return (f"_rt.saturate({x}, {literal(info.min, dst)}, {literal(info.max, dst)})")
    if src.kind == "b":
        return f"({literal(1, dst)} if {x} else {literal(0, dst)})"
    if dst.kind == "c" and src.kind in "iu":
        return cast(f"np.float64({x})", dst)
    return cast(x, dst)


_install_defaults()

__all__ = ["convert_expr", "default_rule"]
