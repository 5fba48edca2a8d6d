"""Dtype rules: NumPy 2 promotion with weak Python scalars, float64 by default.

A *weak* type marks a value that came from a Python scalar (``2.0``, ``3``):
it takes the dtype of whatever it meets, as NumPy 2 does (NEP 50), so
``x_f32 * 2.0`` stays float32.  The result is weak only if every input is.
"""
from __future__ import annotations

import numpy as np

bool_ = np.dtype(np.bool_)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint32 = np.dtype(np.uint32)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
complex128 = np.dtype(np.complex128)

_SHORT_NAMES = {
    "bool": "bool", "int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64",
    "uint8": "u8", "uint16": "u16", "uint32": "u32", "uint64": "u64",
    "float16": "f16", "float32": "f32", "float64": "f64",
    "complex64": "c64", "complex128": "c128",
}
SUPPORTED_DTYPES = frozenset(np.dtype(name) for name in _SHORT_NAMES)

# A stand-in Python scalar per kind, handed to np.result_type to get NEP 50's
# weak-scalar promotion without reimplementing the lattice.
_WEAK_STANDIN = {"b": False, "i": 0, "u": 0, "f": 0.0, "c": 0j}


def short_name(dtype) -> str:
    """The jaxpr spelling of a dtype: ``f64``, ``i32``, ``bool`` ..."""
    return _SHORT_NAMES[np.dtype(dtype).name]


def canonicalize(dtype) -> np.dtype:
    """Turn anything NumPy accepts as a dtype into a supported ``np.dtype``.

    >>> canonicalize(float)
    dtype('float64')
    """
    if dtype is None:
        return float64
    dt = np.dtype(dtype)
    if dt not in SUPPORTED_DTYPES:
        raise TypeError(f"funcgrad does not support dtype {dt}; supported: "
                        f"{', '.join(sorted(d.name for d in SUPPORTED_DTYPES))}")
    return dt


def python_scalar_dtype(x) -> np.dtype:
    """The dtype NumPy gives a Python scalar: bool, int64, float64, complex128."""
    if isinstance(x, bool):
        return bool_
    if isinstance(x, int):
        return int64
    if isinstance(x, float):
        return float64
    if isinstance(x, complex):
        return complex128
    raise TypeError(f"{type(x).__name__} is not a Python scalar")


def is_python_scalar(x) -> bool:
    return type(x) in (bool, int, float, complex)


def is_float(dtype) -> bool:
    return np.dtype(dtype).kind == "f"


def is_complex(dtype) -> bool:
    return np.dtype(dtype).kind == "c"


def is_inexact(dtype) -> bool:
    return np.dtype(dtype).kind in "fc"


def is_integer(dtype) -> bool:
    return np.dtype(dtype).kind in "iu"


def is_bool(dtype) -> bool:
    return np.dtype(dtype).kind == "b"


def promote(pairs) -> tuple[np.dtype, bool]:
    """Promote ``(dtype, weak_type)`` pairs the way NumPy 2 promotes operands.

    >>> promote([(np.dtype('float32'), False), (np.dtype('float64'), True)])
    (dtype('float32'), False)
    """
    pairs = list(pairs)
    strong = [dt for dt, weak in pairs if not weak]
    if not strong:
        return np.result_type(*[dt for dt, _ in pairs]), True
    weak = [_WEAK_STANDIN[dt.kind] for dt, is_weak in pairs if is_weak]
    return np.result_type(*strong, *weak), False
