"""Simplifications applied while staging, one equation at a time.

Transforms produce equations a person would never write: the backward pass
of ``grad`` multiplies by the seed cotangent ``1.0``; a jvp rule scales by a
constant that is itself a product of literals.  Rather than clean up after
the fact, :func:`simplify_eqn` is asked before every equation is recorded:

* an elementwise equation whose operands are all literals is evaluated now
  and becomes a literal (constant folding);
* ``x * 1``, ``1 * x``, ``x + 0``, ``0 + x``, ``x - 0`` and ``x / 1`` are
  ``x`` when that changes neither shape nor dtype (nor weak-typedness),
  also when the 1 or 0 is a literal broadcast to an array;
* a chain of reshapes (``reshape``, ``expand_dims``, ``squeeze``) that gives
  back the shape it started from is its input.

The staging builder also reuses the result of an equation identical to an
earlier one (common-subexpression elimination).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

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
                 params, producer: Callable[[Atom], Any] = lambda a: None
                 ) -> list[Atom] | None:
    """Atoms to use instead of recording the equation, or None to record it.

    ``producer(atom)`` gives the equation that computed ``atom``, if any."""
    if len(out_avals) != 1 or primitive.effectful:
        return None
    (out_aval,) = out_avals
    if ((primitive.scalar_expr is not None or primitive.name in _FOLDABLE) and atoms
            and all(isinstance(a, Literal) for a in atoms)):
        return [_fold(primitive, atoms, out_aval, params)]
    rules = _IDENTITIES.get(primitive.name)
    if rules and len(atoms) == 2:
        for pos, neutral in rules.items():
            const, other = _uniform_value(atoms[pos], producer), atoms[1 - pos]
            if (const is not None and _equals(const, neutral)
                    and other.aval == out_aval and other.aval.weak_type == out_aval.weak_type):
                return [other]
    if _is_pure_reshape(primitive.name, params):
        # A chain of reshapes that ends where it started is the identity
        # (a reshape with ``dimensions`` transposes first: not a reshape).
        source = atoms[0]
        eqn = producer(source)
        while eqn is not None and _is_pure_reshape(eqn.primitive.name, eqn.params):
            source = eqn.invars[0]
            if source.aval == out_aval and source.aval.weak_type == out_aval.weak_type:
                return [source]
            eqn = producer(source)
    return None


def _is_pure_reshape(name: str, params) -> bool:
    """Only the shape changes, never the element order (a reshape with
    ``dimensions`` transposes first)."""
    return name in ("expand_dims", "squeeze") or (
        name == "reshape" and params.get("dimensions") is None)
# Elementwise primitives whose scalar form depends on parameters (so they
# declare no scalar expression) but which fold all the same.
_FOLDABLE = {"convert_element_type", "integer_pow", "round"}


def _uniform_value(atom: Atom, producer):
    """The scalar every element of ``atom`` equals, when known (a literal or
    a broadcast literal); else None."""
    if isinstance(atom, Literal):
        return atom.val
    eqn = producer(atom)
    if (eqn is not None and eqn.primitive.name == "broadcast_in_dim"
            and isinstance(eqn.invars[0], Literal)):
        return eqn.invars[0].val
    return None


def _equals(value, neutral) -> bool:
    value = np.asarray(value)
    return value.dtype.kind in "iufc" and bool(value == neutral)


def _fold(primitive, atoms, out_aval: ShapedArray, params) -> Literal:
    with np.errstate(all="ignore"):
        (value,) = primitive.impl(*[np.asarray(a.val, a.aval.dtype) for a in atoms], **params)
    return Literal(np.asarray(value, out_aval.dtype)[()], out_aval)
