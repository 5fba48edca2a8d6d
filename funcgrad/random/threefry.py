"""``threefry2x32``: the Threefry-2x32 block function (20 rounds) as one
primitive.

Written with ``lax`` operations (as :func:`funcgrad.random.prng._threefry`
still is for other round counts), the block function is ~130 uint32
equations, staged anew by every ``split``, ``fold_in`` and draw: in a
compiled program each becomes a line of generated code, and Numba's
compile time grows with the lines.  As one primitive it is one equation,
computed eagerly by vectorised NumPy and in compiled code by one call per
element of a compiled helper (``funcgrad/backends/numba_cpu/
lowering_random.py``).  The numbers are the same either way: the tests
check the primitive against the ``lax`` composition.

Operands ``k0, k1`` (the key words) and ``x0, x1`` (the counter words) are
uint32, elementwise like a ``lax`` n-ary operation: of one shape, except
that 0-d operands combine with any shape (a key's two words are usually
0-d, the counter an array).  The two outputs, the encrypted counter words,
have that shape.

>>> import numpy as np
>>> y0, y1 = threefry2x32(np.uint32(0x13198a2e), np.uint32(0x03707344),
...                       np.uint32(0x243f6a88), np.uint32(0x85a308d3))
>>> hex(int(y0)), hex(int(y1))            # Random123's known answer
('0xc4923a9c', '0x483df7a0')
"""
from __future__ import annotations

import math

import numpy as np

from funcgrad.core.ad_util import not_differentiable
from funcgrad.core.avals import ShapedArray
from funcgrad.core.batching import batch_elementwise
from funcgrad.core.primitive import Primitive
from funcgrad.lax.base import asoperand, elementwise_shape

__all__ = ["PARITY", "ROTATIONS", "ROUNDS", "threefry2x32", "threefry2x32_p"]

_U32 = np.dtype(np.uint32)
# Rotation distances of Threefry-2x32 (Salmon et al., table 4), used in
# turn, and the key-schedule parity constant (shared with the lax
# composition in prng.py and the compiled helper).
ROTATIONS = (13, 15, 26, 6, 17, 29, 16, 24)
PARITY = 0x1BD11BDA
ROUNDS = 20


def _abstract_eval(k0: ShapedArray, k1: ShapedArray, x0: ShapedArray, x1: ShapedArray):
    avals = (k0, k1, x0, x1)
    for name, a in zip(("k0", "k1", "x0", "x1"), avals, strict=True):
        if a.dtype != _U32:
            raise TypeError(f"threefry2x32: operand {name} must be uint32, got "
                            f"{a.str_short()}")
    shape = elementwise_shape("threefry2x32", avals)
    return [ShapedArray(shape, _U32), ShapedArray(shape, _U32)]


def _impl(k0, k1, x0, x1):
    """Vectorised NumPy, in place on two flat uint32 buffers (arrays, never
    NumPy scalars: uint32 scalar arithmetic would warn on wrapping)."""
    k0, k1, x0, x1 = (np.asarray(a, _U32) for a in (k0, k1, x0, x1))
    shape = np.broadcast_shapes(k0.shape, k1.shape, x0.shape, x1.shape)
    size = math.prod(shape)

    def flat(a):
        return a.reshape(-1) if a.ndim else a

    k0, k1 = flat(k0), flat(k1)
    ks = (k0, k1, np.bitwise_xor(np.bitwise_xor(k0, k1), _U32.type(PARITY)))
    y0, y1, tmp = (np.empty(size, _U32) for _ in range(3))
    with np.errstate(over="ignore"):
        np.add(flat(x0), ks[0], out=y0)
        np.add(flat(x1), ks[1], out=y1)
        for r in range(ROUNDS):
            rot = ROTATIONS[r % 8]
            np.add(y0, y1, out=y0)
            np.left_shift(y1, _U32.type(rot), out=tmp)
            np.right_shift(y1, _U32.type(32 - rot), out=y1)
            np.bitwise_or(y1, tmp, out=y1)
            np.bitwise_xor(y1, y0, out=y1)
            if r % 4 == 3:
                # Key injection s, with the injection number added too.
                s = (r + 1) // 4
                np.add(y0, ks[s % 3], out=y0)
                np.add(y1, ks[(s + 1) % 3], out=y1)
                np.add(y1, _U32.type(s), out=y1)
    return [y0.reshape(shape), y1.reshape(shape)]


threefry2x32_p = Primitive("threefry2x32", multiple_results=True)
threefry2x32_p.impl = _impl
threefry2x32_p.abstract_eval = _abstract_eval
# Integer outputs: every tangent is a symbolic zero (and it is not linear).
not_differentiable(threefry2x32_p, "its outputs are integers")
# Elementwise in all four operands, each of which may be 0-d.
batch_elementwise(threefry2x32_p)


def _operand(x, name: str):
    """A uint32 operand; a Python int is taken modulo 2**32."""
    if isinstance(x, int) and not isinstance(x, bool):
        return np.asarray(x % 2 ** 32, _U32)
    return asoperand(x, f"threefry2x32 ({name})")


def threefry2x32(k0, k1, x0, x1):
    """The Threefry-2x32 block function with 20 rounds: the counter words
    ``(x0, x1)`` encrypted under the key words ``(k0, k1)``.

    Parameters
    ----------
    k0, k1, x0, x1 : uint32 arrays (or Python ints, taken modulo 2**32)
        Of one shape, except that 0-d operands combine with any shape.

    Returns
    -------
    ``[y0, y1]``: uint32 arrays of the common shape.

    >>> import numpy as np
    >>> [int(y) for y in threefry2x32(0, 0, 0, np.zeros(2, np.uint32))[0]]
    [1797259609, 1797259609]
    """
    return threefry2x32_p.bind(*[_operand(a, n) for a, n in
                                 zip((k0, k1, x0, x1), ("k0", "k1", "x0", "x1"), strict=True)])
