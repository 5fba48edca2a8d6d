"""Helpers shared by the primitive families: operand coercion and the
standard shape/dtype rules."""
from __future__ import annotations

from typing import Callable

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.array import Array
from funcgrad.core.avals import ShapedArray
from funcgrad.core.trace import Tracer, get_aval

# Names of dtype classes, for error messages.
_KIND_NAMES = {"b": "bool", "i": "signed integer", "u": "unsigned integer",
               "f": "floating", "c": "complex floating"}
FLOAT, COMPLEX, INEXACT = "f", "c", "fc"
INT, BOOL_INT, NUMBER, ANY = "iu", "biu", "iufc", "biufc"


def asoperand(x, name: str = "operand"):
    """Accept a tracer, an Array, a NumPy array or a Python scalar (as a weak
    0-d Array); refuse anything else with a clear TypeError."""
    if isinstance(x, (Tracer, Array)):
        return x
    if isinstance(x, np.ndarray):
        dtypes.canonicalize(x.dtype)
        return x
    if dtypes.is_python_scalar(x):
        dt = dtypes.python_scalar_dtype(x)
        return Array._from_buffer(_readonly(np.asarray(x, dt)), weak_type=dt != dtypes.bool_)
    if isinstance(x, np.generic):
        return _readonly(np.asarray(x))
    raise TypeError(f"{name}: expected an array or a scalar, got {type(x).__name__}: {x!r}")


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def convert_weak_scalars(name: str, args) -> list:
    """Give weak-typed 0-d operands the dtype of the strongly typed ones.

    Lax operations require equal dtypes (like ``jax.lax``); a Python scalar
    adapts to its partner, so ``lax.mul(x_f32, 2.0)`` is float32.
    """
    args = [asoperand(a, name) for a in args]
    avals = [get_aval(a) for a in args]
    strong = [a.dtype for a in avals if not a.weak_type]
    if not strong or len(strong) == len(avals):
        return args
    target = strong[0]
    out = []
    for arg, aval in zip(args, avals, strict=True):
        if aval.weak_type and aval.dtype != target:
            if isinstance(arg, Tracer):
                from funcgrad.lax.elementwise import convert_element_type
                arg = convert_element_type(arg, target)
            else:
                arg = _readonly(np.asarray(arg).astype(target))
        out.append(arg)
    return out


def check_dtype(name: str, aval: ShapedArray, kinds: str, what: str = "operand") -> None:
    if aval.dtype.kind not in kinds:
        accepted = ", ".join(_KIND_NAMES[k] for k in kinds)
        raise TypeError(f"{name} does not accept dtype {aval.dtype.name} for its {what}; "
                        f"accepted dtypes are {accepted}")


def unary_shape_rule(name: str, kinds: str, out_dtype: Callable | np.dtype | None = None,
                     keep_weak: bool = True) -> Callable:
    """Abstract-eval rule of an elementwise unary primitive."""
    def abstract_eval(x: ShapedArray, **params):
        check_dtype(name, x, kinds)
        # A dtype rule is a function; np.bool_ and friends are callable
        # types, not rules.
        is_rule = callable(out_dtype) and not isinstance(out_dtype, type)
        dt = x.dtype if out_dtype is None else (
            out_dtype(x.dtype) if is_rule else np.dtype(out_dtype))
        return [ShapedArray(x.shape, dt, x.weak_type and keep_weak)]
    return abstract_eval


def elementwise_shape(name: str, avals) -> tuple[int, ...]:
    """Operands of an n-ary elementwise primitive have equal shapes, except
    that 0-d operands combine with anything."""
    shapes = {a.shape for a in avals if a.ndim}
    if len(shapes) > 1:
        raise TypeError(f"{name} got incompatible shapes: "
                        f"{', '.join(str(a.shape) for a in avals)} (lax operations do not "
                        f"broadcast; use funcgrad.numpy or lax.broadcast_in_dim)")
    return shapes.pop() if shapes else ()


def nary_shape_rule(name: str, kinds: str, out_dtype: np.dtype | None = None) -> Callable:
    """Abstract-eval rule of an elementwise n-ary primitive with equal dtypes."""
    def abstract_eval(*avals: ShapedArray, **params):
        for a in avals:
            check_dtype(name, a, kinds)
        if len({a.dtype for a in avals}) > 1:
            raise TypeError(f"{name} requires arguments to have the same dtypes, got "
                            f"{', '.join(a.dtype.name for a in avals)}")
        shape = elementwise_shape(name, avals)
        dt = avals[0].dtype if out_dtype is None else np.dtype(out_dtype)
        return [ShapedArray(shape, dt, all(a.weak_type for a in avals))]
    return abstract_eval


def quiet(fn: Callable) -> Callable:
    """Silence NumPy's floating-point warnings: like JAX, funcgrad returns
    inf/nan without warning."""
    def impl(*args, **params):
        with np.errstate(all="ignore"):
            return fn(*args, **params)
    impl.__name__ = getattr(fn, "__name__", "impl")
    return impl
