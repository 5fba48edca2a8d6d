"""The scalar special functions of :mod:`funcgrad.lax.special_math`,
compiled with Numba, under the name the primitives' scalar expressions use
(``special_math.erf({x})``): generated code imports this module as
``special_math``.

The functions take and return float64; the code generator converts float32
operands up and the result back down, which is what the eager
implementation does too.
"""
from __future__ import annotations

import numba

from funcgrad.lax import special_math as _sm

# error_model="numpy": a division by zero gives inf/nan as in NumPy instead
# of raising ZeroDivisionError inside compiled code.
_jit = numba.njit(cache=True, nogil=True, error_model="numpy")

erf = _jit(_sm.erf)
erfc = _jit(_sm.erfc)
erf_inv = _jit(_sm.erf_inv)
lgamma = _jit(_sm.lgamma)
digamma = _jit(_sm.digamma)
polygamma = _jit(_sm.polygamma)
logistic = _jit(_sm.logistic)
cbrt = _jit(_sm.cbrt)
round_half_away = _jit(_sm.round_half_away)

__all__ = ["erf", "erfc", "erf_inv", "lgamma", "digamma", "polygamma", "logistic", "cbrt",
           "round_half_away"]


# Whole-array versions for the eager implementations (funcgrad.lax.special_math
# calls them on large arrays instead of its per-element Python loop).
@_jit
def erf_array(a, out):
    for i in range(a.size):
        out[i] = erf(a[i])


@_jit
def erfc_array(a, out):
    for i in range(a.size):
        out[i] = erfc(a[i])


@_jit
def erf_inv_array(a, out):
    for i in range(a.size):
        out[i] = erf_inv(a[i])


@_jit
def lgamma_array(a, out):
    for i in range(a.size):
        out[i] = lgamma(a[i])


@_jit
def digamma_array(a, out):
    for i in range(a.size):
        out[i] = digamma(a[i])

