"""``threefry2x32``: calls of compiled helpers, not generated code.

The block function is ~130 integer operations; generated inline (as its
``lax`` composition once was) they cost Numba compile time in every
program that draws random numbers.  Here they are compiled once, into the
helpers below (``cache=True``: on disk, as the backend's other helpers),
and the generated code only calls them:

* 0-d outputs: ``y0, y1 = _threefry2x32(k0, k1, x0, x1)`` (the block
  function on four scalars);
* arrays: ``_threefry2x32_fill(k0, k1, x0, x1, y0, y1)`` fills the two
  flattened outputs; each operand is a scalar (a 0-d operand) or a
  flattened C-contiguous array.  The loop and the block function are in
  the one helper, so LLVM inlines and vectorises them (a call per element
  from the generated code could not be inlined: Numba links each compiled
  function as a separate library).  Numba compiles the helper once per
  combination of scalar and array operands, and keeps it on disk.

The equation is not fused with its neighbours (the fusion pass only takes
primitives that have elementwise scalar rules).  The generated module
imports the helpers (module-level names, see
:meth:`.codegen.Builder.helper`).
"""
from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import overload

from funcgrad.backends.numba_cpu.codegen import Builder, register
from funcgrad.core.ir import JaxprEqn
from funcgrad.random.threefry import PARITY, ROTATIONS

_jit = numba.njit(cache=True, nogil=True)
# Building blocks, inlined (Numba IR) into the helpers that call them.
_inline = numba.njit(inline="always")
_U, _W = np.uint32, np.uint64
_R0, _R1, _R2, _R3, _R4, _R5, _R6, _R7 = (np.uint32(r) for r in ROTATIONS)


# uint32 arithmetic, truncated after every operation: Numba widens integer
# arithmetic to 64 bits, and the truncations let LLVM narrow it back to
# 32-bit vector lanes (three times faster than masked int64 words).  Sums
# are widened explicitly, so that the functions also run as plain Python
# (NUMBA_DISABLE_JIT) without NumPy's scalar overflow warnings.
@_inline
def _mix(x0, x1, r):
    x0 = _U(_W(x0) + x1)
    x1 = _U(_U(_U(x1 << r) | _U(x1 >> (32 - r))) ^ x0)
    return x0, x1


@_inline
def _four_rounds(x0, x1, ra, rb, rc, rd, ka, kb, s):
    """Four rounds, then key injection ``s`` (the key words ``ka``, ``kb``
    plus the injection number)."""
    x0, x1 = _mix(x0, x1, ra)
    x0, x1 = _mix(x0, x1, rb)
    x0, x1 = _mix(x0, x1, rc)
    x0, x1 = _mix(x0, x1, rd)
    return _U(_W(x0) + ka), _U(_W(x1) + kb + s)


def _block(k0, k1, x0, x1):
    """Threefry-2x32, 20 rounds, on four uint32 scalars; returns the two
    output words."""
    k0, k1 = _U(k0), _U(k1)
    k2 = _U(_U(k0 ^ k1) ^ _U(PARITY))
    y0 = _U(_W(x0) + k0)
    y1 = _U(_W(x1) + k1)
    y0, y1 = _four_rounds(y0, y1, _R0, _R1, _R2, _R3, k1, k2, _U(1))
    y0, y1 = _four_rounds(y0, y1, _R4, _R5, _R6, _R7, k2, k0, _U(2))
    y0, y1 = _four_rounds(y0, y1, _R0, _R1, _R2, _R3, k0, k1, _U(3))
    y0, y1 = _four_rounds(y0, y1, _R4, _R5, _R6, _R7, k1, k2, _U(4))
    y0, y1 = _four_rounds(y0, y1, _R0, _R1, _R2, _R3, k2, k0, _U(5))
    return y0, y1


threefry2x32 = _jit(_block)
_block_inline = _inline(_block)


def _at(a, i):
    """Element ``i`` of a flat array, or the scalar ``a`` itself."""
    return a[i] if isinstance(a, np.ndarray) else a


@overload(_at, inline="always")
def _at_overload(a, i):
    if isinstance(a, types.Array):
        return lambda a, i: a[i]
    return lambda a, i: a


@_jit
def threefry2x32_fill(k0, k1, x0, x1, y0, y1):
    """``y0[i], y1[i] = threefry2x32(k0[i], k1[i], x0[i], x1[i])`` over the
    flat arrays ``y0``, ``y1``; a scalar operand stands for every element."""
    for i in range(y0.shape[0]):
        a, b = _block_inline(_at(k0, i), _at(k1, i), _at(x0, i), _at(x1, i))
        y0[i] = a
        y1[i] = b


_MODULE = "funcgrad.backends.numba_cpu.lowering_random"


@register("threefry2x32")
def _threefry2x32(b: Builder, eqn: JaxprEqn) -> None:
    y0, y1 = eqn.outvars
    if not y0.aval.shape:
        fn = b.helper("_threefry2x32",
                      f"from {_MODULE} import threefry2x32 as _threefry2x32")
        args = ", ".join(b.read(a) for a in eqn.invars)
        b.emit(f"{b.name(y0)}, {b.name(y1)} = {fn}({args})")
        return
    fn = b.helper("_threefry2x32_fill",
                  f"from {_MODULE} import threefry2x32_fill as _threefry2x32_fill")
    outs = [b.alloc(y) for y in (y0, y1)]
    # Flat C-contiguous views (copies only of operands that are not
    # contiguous): one helper specialisation whatever the rank and layout.
    args = [b.read(a) if a.aval.ndim == 0 else f"np.ascontiguousarray({b.name(a)}).ravel()"
            for a in eqn.invars]
    flat = [name if y0.aval.ndim == 1 else f"{name}.ravel()" for name in outs]
    b.emit(f"{fn}({', '.join(args + flat)})")
