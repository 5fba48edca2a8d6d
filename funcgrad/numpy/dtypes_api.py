"""Dtypes and type inspection: scalar types (``jnp.float32``), ``finfo``,
``iinfo``, ``result_type``, ``promote_types``, ``can_cast``, ``issubdtype``,
``astype`` and the shape queries ``shape``/``ndim``/``size``.

Promotion follows NumPy 2 (NEP 50): Python scalars are *weak* and take the
dtype of the arrays they meet, so ``jnp.ones(3, jnp.float32) * 2.0`` is
float32.  The scalar types are callable like NumPy's but return funcgrad
arrays, and work on traced values: ``jnp.float32(x)`` casts ``x``.

>>> import funcgrad.numpy as jnp
>>> jnp.result_type(jnp.float32, 2.0)
dtype('float32')
>>> jnp.float32(3)
Array(3., dtype=float32)
"""
from __future__ import annotations

import builtins
import operator

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.array import Array
from funcgrad.core.trace import Tracer, get_aval
from funcgrad.numpy._util import asarray_operand, convert_to


class _ScalarMeta(type):
    """Metaclass of the scalar types: ``jnp.float32(x)`` casts ``x`` (traced or
    not) to a float32 array, and ``np.dtype(jnp.float32)`` is float32."""

    def __call__(cls, x=0):
        from funcgrad.numpy.creation import asarray
        return asarray(x, dtype=cls.dtype)

    def __instancecheck__(cls, instance):
        return isinstance(instance, cls.dtype.type)

    def __eq__(cls, other):
        if isinstance(other, _ScalarMeta):
            return cls.dtype == other.dtype
        return other is cls.dtype.type or (isinstance(other, np.dtype) and other == cls.dtype)

    def __hash__(cls):
        return hash(cls.dtype.type)

    def __repr__(cls):
        return f"<class 'funcgrad.numpy.{cls.__name__}'>"


def _scalar_type(name: str, np_type) -> type:
    dt = np.dtype(np_type)
    return _ScalarMeta(name, (), {
        "dtype": dt, "__module__": "funcgrad.numpy",
        "__doc__": f"The {dt.name} scalar type; calling it casts to a {dt.name} array."})


bool_ = _scalar_type("bool_", np.bool_)
int8 = _scalar_type("int8", np.int8)
int16 = _scalar_type("int16", np.int16)
int32 = _scalar_type("int32", np.int32)
int64 = _scalar_type("int64", np.int64)
uint8 = _scalar_type("uint8", np.uint8)
uint16 = _scalar_type("uint16", np.uint16)
uint32 = _scalar_type("uint32", np.uint32)
uint64 = _scalar_type("uint64", np.uint64)
float16 = _scalar_type("float16", np.float16)
float32 = _scalar_type("float32", np.float32)
float64 = _scalar_type("float64", np.float64)
complex64 = _scalar_type("complex64", np.complex64)
complex128 = _scalar_type("complex128", np.complex128)
# Defaults, as NumPy 2 has them on 64-bit platforms.
float_, int_, uint, complex_, intp, uintp = float64, int64, uint64, complex128, int64, uint64
half, single, double = float16, float32, float64
csingle, cdouble = complex64, complex128

# The abstract hierarchy is NumPy's own: ``issubdtype(x.dtype, jnp.floating)``.
generic, number, inexact, floating = np.generic, np.number, np.inexact, np.floating
complexfloating, integer = np.complexfloating, np.integer
signedinteger, unsignedinteger = np.signedinteger, np.unsignedinteger
dtype = np.dtype

_NAMED_TYPES = {t.dtype: t for t in (bool_, int8, int16, int32, int64, uint8, uint16, uint32,
                                     uint64, float16, float32, float64, complex64, complex128)}


def _to_numpy_dtype_like(x):
    """Our scalar types to NumPy's, everything else unchanged."""
    return x.dtype.type if isinstance(x, _ScalarMeta) else x


def _is_dtype_like(x) -> builtins.bool:
    return (isinstance(x, (np.dtype, str, _ScalarMeta))
            or (isinstance(x, type) and x in (builtins.bool, int, float, complex))
            or (isinstance(x, type) and issubclass(x, np.generic)))


def _dtype_of(x, name: str) -> np.dtype:
    if _is_dtype_like(x):
        return dtypes.canonicalize(_to_numpy_dtype_like(x))
    return get_aval(asarray_operand(x, name)).dtype


def finfo(dtype_or_array) -> np.finfo:
    """Machine limits of a floating dtype (NumPy's ``finfo``).

    >>> finfo(float32).eps
    np.float32(1.1920929e-07)
    """
    return np.finfo(_dtype_of(dtype_or_array, "finfo"))


def iinfo(dtype_or_array) -> np.iinfo:
    """Machine limits of an integer dtype (NumPy's ``iinfo``).

    >>> int(iinfo(int8).max)
    127
    """
    return np.iinfo(_dtype_of(dtype_or_array, "iinfo"))


def _dtype_and_weak(x, name: str) -> tuple[np.dtype, builtins.bool]:
    if _is_dtype_like(x):
        return dtypes.canonicalize(_to_numpy_dtype_like(x)), False
    aval = get_aval(asarray_operand(x, name))
    return aval.dtype, aval.weak_type


def result_type(*arrays_and_dtypes) -> np.dtype:
    """The dtype NumPy 2 gives an operation on these operands; Python
    scalars are weak.

    >>> result_type(float32, 1.0), result_type(int32, 1.5), result_type(1, 2.0)
    (dtype('float32'), dtype('float64'), dtype('float64'))
    """
    if not arrays_and_dtypes:
        raise ValueError("at least one array or dtype is required")
    pairs = [_dtype_and_weak(x, "result_type") for x in arrays_and_dtypes]
    return dtypes.canonicalize(dtypes.promote(pairs)[0])


def promote_types(type1, type2) -> np.dtype:
    """The smallest dtype both can be safely cast to.

    >>> promote_types(int8, uint8)
    dtype('int16')
    """
    return dtypes.canonicalize(np.promote_types(_dtype_of(type1, "promote_types"),
                                                _dtype_of(type2, "promote_types")))


def can_cast(from_, to, casting: str = "safe") -> builtins.bool:
    """Whether a cast between dtypes follows the ``casting`` rule (NumPy's)."""
    return builtins.bool(np.can_cast(_dtype_of(from_, "can_cast"), _dtype_of(to, "can_cast"),
                                     casting=casting))


def issubdtype(arg1, arg2) -> builtins.bool:
    """Whether ``arg1`` is a sub-dtype of ``arg2`` (e.g. ``jnp.floating``).

    >>> issubdtype(float32, floating), issubdtype(int32, floating)
    (True, False)
    """
    return builtins.bool(np.issubdtype(_to_numpy_dtype_like(arg1), _to_numpy_dtype_like(arg2)))


def isdtype(dtype, kind) -> builtins.bool:
    """Array-API dtype classification: ``isdtype(x.dtype, 'real floating')``."""
    if isinstance(kind, tuple):
        kind = tuple(_to_numpy_dtype_like(k) for k in kind)
    else:
        kind = _to_numpy_dtype_like(kind)
    return builtins.bool(np.isdtype(np.dtype(_to_numpy_dtype_like(dtype)), kind))


def iscomplexobj(x) -> builtins.bool:
    """True if ``x`` has a complex dtype (whatever its values)."""
    return _dtype_of(x, "iscomplexobj").kind == "c"


def isrealobj(x) -> builtins.bool:
    """True if ``x`` does not have a complex dtype."""
    return not iscomplexobj(x)


def isscalar(element) -> builtins.bool:
    """True for Python and NumPy scalars and for 0-d funcgrad arrays/tracers."""
    if isinstance(element, (Array, Tracer)):
        return element.ndim == 0
    return builtins.bool(np.isscalar(element))


def astype(x, dtype, /, *, copy: builtins.bool = False, device=None):
    """Cast ``x`` to ``dtype``; floats to ints truncate toward zero.

    >>> astype(jnp.array([1.7, -2.5]), int32)
    Array([ 1, -2], dtype=int32)
    """
    if device is not None:
        raise TypeError("astype: device= is not supported")
    if dtype is None:
        raise TypeError("astype: a dtype is required")
    x = asarray_operand(x, "astype")
    return convert_to(x, dtypes.canonicalize(_to_numpy_dtype_like(dtype)))


def shape(a) -> tuple[int, ...]:
    """The shape of an array-like.

    >>> shape([[1, 2, 3], [4, 5, 6]])
    (2, 3)
    """
    return tuple(get_aval(asarray_operand(a, "shape")).shape)


def ndim(a) -> int:
    """The number of dimensions of an array-like."""
    return get_aval(asarray_operand(a, "ndim")).ndim


def size(a, axis=None) -> int:
    """The number of elements of an array-like, or along ``axis``."""
    s = shape(a)
    if axis is None:
        return int(np.prod(s, dtype=np.int64))
    from funcgrad.numpy._util import canonicalize_axis
    return s[canonicalize_axis(operator.index(axis), len(s), "size")]


__all__ = [
    "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128", "float_", "int_", "uint",
    "complex_", "intp", "uintp", "half", "single", "double", "csingle", "cdouble",
    "generic", "number", "inexact", "floating", "complexfloating", "integer",
    "signedinteger", "unsignedinteger", "dtype",
    "finfo", "iinfo", "result_type", "promote_types", "can_cast", "issubdtype", "isdtype",
    "iscomplexobj", "isrealobj", "isscalar", "astype", "shape", "ndim", "size",
]

bool = bool_  # noqa: A001  (NumPy 2 and JAX spell it jnp.bool)
__all__.append("bool")
