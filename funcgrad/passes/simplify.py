"""Simplifications applied while staging, one equation at a time.

Transforms produce equations a person would never write: the backward pass
of ``grad`` multiplies by the seed cotangent ``1.0``; a jvp rule scales by a
constant that is itself a product of literals.  Rather than clean up after
the fact, :func:`simplify_eqn` is asked before every equation is recorded:

* an elementwise equation whose operands are all literals is evaluated now
  and becomes a literal (constant folding);
* ``x * 1``, ``1 * x``, ``x + 0``, ``0 + x``, ``x - 0`` and ``x / 1`` are
  ``x`` when that changes neither shape nor dtype (nor weak-typedness).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from funcgrad.core.avals import ShapedArray
from funcgrad.core.ir import Atom, Literal

# operand position -> the literal value that makes the *other* operand the result
_IDENTITIES = {
    "mul": {0: 1, 1: 1},
    "add": {0: 0, 1: 0},
    "sub": {1: 0},
    "div": {1: 1},
}


def simplify_eqn(primitive, atoms: Sequence[Atom], out_avals: Sequence[ShapedArray],
                 params) -> list[Atom] | None:
    """Atoms to use instead of recording the equation, or None to record it."""
    if len(out_avals) != 1 or primitive.effectful:
        return None
    (out_aval,) = out_avals
    if (primitive.scalar_expr is not None and atoms
            and all(isinstance(a, Literal) for a in atoms)):
        return [_fold(primitive, atoms, out_aval, params)]
    rules = _IDENTITIES.get(primitive.name)
    if rules and len(atoms) == 2:
        for pos, neutral in rules.items():
            lit, other = atoms[pos], atoms[1 - pos]
            if (isinstance(lit, Literal) and _equals(lit.val, neutral)
                    and other.aval == out_aval and other.aval.weak_type == out_aval.weak_type):
                return [other]
    return None


def _equals(value, neutral) -> bool:
    value = np.asarray(value)
    return value.dtype.kind in "iufc" and bool(value == neutral)


def _fold(primitive, atoms, out_aval: ShapedArray, params) -> Literal:
    with np.errstate(all="ignore"):
        (value,) = primitive.impl(*[np.asarray(a.val, a.aval.dtype) for a in atoms], **params)
    return Literal(np.asarray(value, out_aval.dtype)[()], out_aval)
