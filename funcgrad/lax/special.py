"""Special-function primitives that are not plain unary functions:
``polygamma``, and the derivative rule of ``digamma`` that it makes possible.

``polygamma`` follows ``jax.lax.polygamma(m, x)``: the order ``m`` is an
*operand* (an array of x's float dtype holding integers), not a static
parameter.  That keeps JAX's signature and semantics (orders may differ per
element, be traced, be batched over) and makes the primitive an ordinary
elementwise binary one, with the shared shape rule and a scalar expression
for the code generators; the jvp just adds 1 to the order operand.  A
static order would have compiled one kernel per order and could not express
``polygamma(m_array, x)``.
"""
from __future__ import annotations

from funcgrad.core.ad_util import defjvp
from funcgrad.core.trace import get_aval
from funcgrad.lax import special_math as sm
from funcgrad.lax.base import FLOAT, convert_weak_scalars
from funcgrad.lax.elementwise import add, binary, convert_element_type, digamma_p, mul

__all__ = ["polygamma", "polygamma_p"]

polygamma_p = binary("polygamma", sm.polygamma_np, kinds=FLOAT,
                     scalar="special_math.polygamma({x}, {y})")


def _polygamma_order_tangent(t, m, x):
    # The order is an integer: there is no derivative to give, and a silent
    # zero would hide a mistake.  (JAX raises the same way.)
    raise ValueError("polygamma is not differentiable with respect to its order m "
                     "(an integer); differentiate with respect to x only")


defjvp(polygamma_p, _polygamma_order_tangent,
       lambda t, m, x: mul(t, polygamma_p.bind(add(m, 1.0), x)))
# d/dx digamma(x) = polygamma(1, x): with this, lgamma is differentiable to
# any order (its jvp is digamma's, digamma's is polygamma's, and so on).
defjvp(digamma_p, lambda t, x: mul(t, polygamma(1.0, x)))


def polygamma(m, x):
    """Elementwise polygamma function ``psi^(m)(x)``, the m-th derivative of
    digamma (the (m+1)-th of ``lgamma``), for integer orders ``m >= 0``.

    Like ``jax.lax.polygamma``, ``m`` and ``x`` have the same float dtype
    and shape (a 0-d operand combines with any shape).  For convenience an
    integer ``m`` (a Python int or an integer array) is converted to x's
    dtype.  Non-integer or negative orders give nan; ``m = 0`` is
    ``digamma`` (nan at its poles); for ``m >= 1`` the poles (0 and the
    negative integers) give ``+inf`` for odd m and ``-inf`` for even m, as
    SciPy does.  Differentiable in ``x`` to any order; differentiating with
    respect to ``m`` raises ``ValueError``.

    >>> import numpy as np
    >>> polygamma(1, np.array([1.0, 0.5]))        # pi**2/6, pi**2/2
    Array([1.64493407, 4.9348022 ], dtype=float64)
    >>> polygamma(np.array([0, 1, 2]), np.float32(1.0))
    Array([-0.5772157,  1.644934 , -2.4041138], dtype=float32)
    """
    m, x = convert_weak_scalars("polygamma", (m, x))
    m_aval, x_aval = get_aval(m), get_aval(x)
    if m_aval.dtype.kind in "biu" and x_aval.dtype.kind == "f":
        m = convert_element_type(m, x_aval.dtype, weak_type=m_aval.weak_type)
    return polygamma_p.bind(m, x)
