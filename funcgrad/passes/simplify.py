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
* a chain of reshapes, ``expand_dims``, ``squeeze`` and transposes that,
  taken together, moves no element is its input.

The staging builder also reuses the result of an equation identical to an
earlier one (common-subexpression elimination).

:func:`rewrite_eqn` is asked next; it may replace an equation by cheaper
ones bound on the same trace (so they are simplified in turn):

* a ``dot_general`` with an identity matrix (``eye``, also shifted by an
  offset, also reshaped, transposed or broadcast: anything built from
  ``iota == iota + k``) is its other operand moved into the result's layout,
  padded or cropped for an offset.  ``jacfwd`` and ``jacrev`` push such a
  basis through the linear map, so without this rule ``hessian`` of
  ``f(X @ w)`` would compute ``X @ I``.  Exact for finite values; an inf or
  NaN in the operand no longer spreads (as ``0 * inf``) to the other
  elements of its row, which is the derivative's true value.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
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
    if primitive.name in _LAYOUT:
        source = _layout_chain_source(primitive.name, params, atoms[0], out_aval, producer)
        if source is not None:
            return [source]
    return None


# Equations that only move elements around (no arithmetic, no duplication).
_LAYOUT = {"reshape", "expand_dims", "squeeze", "transpose"}


def _layout_chain_source(name: str, params, operand: Atom, out_aval: ShapedArray, producer):
    """The start of a chain of transposes and reshapes ending in this
    equation, when the chain as a whole moves no element (``jacfwd`` of a
    linear map transposes there and back): the result *is* the start."""
    steps = [(name, params, operand.aval.shape, out_aval.shape)]
    source = operand
    for _ in range(_MAX_DEPTH):
        if source.aval == out_aval and source.aval.weak_type == out_aval.weak_type:
            if all(_is_pure_reshape(n, p) for n, p, _, _ in steps):
                return source  # row-major order is never changed
            # Follow where each non-unit dimension of the start ends up.
            dims: list | None = [d if n != 1 else None for d, n in enumerate(source.aval.shape)]
            for step in reversed(steps):
                dims = _dims_after(*step, dims)
                if dims is None:
                    break
            if dims == [d if n != 1 else None for d, n in enumerate(source.aval.shape)]:
                return source
        eqn = None if isinstance(source, Literal) else producer(source)
        if eqn is None or eqn.primitive.name not in _LAYOUT:
            return None
        steps.append((eqn.primitive.name, eqn.params, eqn.invars[0].aval.shape,
                      eqn.outvars[0].aval.shape))
        source = eqn.invars[0]
    return None


def _dims_after(name: str, params, in_shape, out_shape, dims: list) -> list | None:
    """``dims`` (what each operand dimension holds; None for size 1) as
    carried to the result of a layout equation; None when it merges or
    splits non-unit dimensions (a real reshape)."""
    if name == "transpose":
        return [dims[p] for p in params["permutation"]]
    if name == "reshape" and params.get("dimensions") is not None:
        perm = params["dimensions"]
        dims, in_shape = [dims[p] for p in perm], [in_shape[p] for p in perm]
    # What remains only inserts or removes size-1 dimensions, if anything.
    kept = [d for d, n in zip(dims, in_shape, strict=True) if n != 1]
    if [n for n in in_shape if n != 1] != [n for n in out_shape if n != 1]:
        return None
    kept_iter = iter(kept)
    return [next(kept_iter) if n != 1 else None for n in out_shape]


def _is_pure_reshape(name: str, params) -> bool:
    """Only the shape changes, never the element order (a reshape with
    ``dimensions`` transposes first)."""
    return name in ("expand_dims", "squeeze") or (
        name == "reshape" and params.get("dimensions") is None)
# Elementwise primitives whose scalar form depends on parameters (so they
# declare no scalar expression) but which fold all the same.
_FOLDABLE = {"convert_element_type", "integer_pow", "round"}


# Equations whose every output element is some element of their operand:
# a uniform operand gives a uniform result.
_MOVES_ELEMENTS = {"broadcast_in_dim", "reshape", "expand_dims", "squeeze", "transpose"}
# How far back through producers the pattern matchers look (staging is
# one pass; a bound keeps a pathological chain from costing quadratic time).
_MAX_DEPTH = 16


def _uniform_value(atom: Atom, producer, depth: int = 0):
    """The scalar every element of ``atom`` equals, when known (a literal,
    possibly broadcast, reshaped or converted, also in several steps, as
    ``jnp.ones`` under ``vmap`` gives); else None."""
    if isinstance(atom, Literal):
        return atom.val
    eqn = producer(atom)
    if eqn is None or depth > _MAX_DEPTH:
        return None
    name = eqn.primitive.name
    if name not in _MOVES_ELEMENTS and name != "convert_element_type":
        return None
    source = eqn.invars[0]
    if name in _MOVES_ELEMENTS:
        return _uniform_value(source, producer, depth + 1)
    if name == "convert_element_type":
        value = _uniform_value(source, producer, depth + 1)
        if value is None:
            return None
        with np.errstate(all="ignore"):
            (out,) = eqn.primitive.impl(np.asarray(value, source.aval.dtype), **eqn.params)
        return np.asarray(out)[()]
    return None


def _equals(value, neutral) -> bool:
    value = np.asarray(value)
    return value.dtype.kind in "iufc" and bool(value == neutral)


def _fold(primitive, atoms, out_aval: ShapedArray, params) -> Literal:
    with np.errstate(all="ignore"):
        (value,) = primitive.impl(*[np.asarray(a.val, a.aval.dtype) for a in atoms], **params)
    return Literal(np.asarray(value, out_aval.dtype)[()], out_aval)


# ------------------------------------------------------------ rewrites
def rewrite_eqn(primitive, tracers: Sequence, out_avals: Sequence[ShapedArray], params,
                producer: Callable[[Atom], Any] = lambda a: None) -> list | None:
    """Tracers computing the equation's results by other primitives, bound
    on the tracers' own trace; None to record the equation as it is.

    Called by the staging trace with its tracers (their ``.atom`` is the
    jaxpr variable); ``producer`` is as for :func:`simplify_eqn`.  A rewrite
    whose result type differs in any way from ``out_avals`` is dropped (the
    equations it bound are dead and removed later)."""
    if primitive.name != "dot_general" or len(out_avals) != 1:
        return None
    out = _dot_with_identity(tracers, out_avals[0], params["dimension_numbers"], producer)
    if out is None or out.aval != out_avals[0] or out.aval.weak_type != out_avals[0].weak_type:
        return None
    return [out]


@dataclass(frozen=True, slots=True)
class _Diagonal:
    """What is known of an array E: ``E[idx] == (idx[row] - idx[col] == offset)``
    (as 1 and 0, or True and False), whatever the other indices."""
    row: int
    col: int
    offset: int


def _diagonal(atom: Atom, producer, depth: int = 0) -> _Diagonal | None:
    """``atom`` as a (shifted) identity, when it was built as one: an
    ``eq`` of two iotas along different dimensions, plus constants, then
    converted and moved around by shape operations."""
    eqn = None if isinstance(atom, Literal) or depth > _MAX_DEPTH else producer(atom)
    if eqn is None or len(eqn.outvars) != 1:  # (lu, eigh... are no iotas)
        return None
    name = eqn.primitive.name
    if name == "eq":
        lhs, rhs = (_affine_iota(a, producer, depth + 1) for a in eqn.invars)
        if lhs is None or rhs is None or lhs[0] == rhs[0]:
            return None
        # idx[a] + ka == idx[b] + kb  <=>  idx[a] - idx[b] == kb - ka
        return _Diagonal(lhs[0], rhs[0], rhs[1] - lhs[1])
    if name == "convert_element_type":
        # 1 and 0 (True and False) are exact in every dtype.
        return _diagonal(eqn.invars[0], producer, depth + 1)
    if name in _MOVES_ELEMENTS:
        inner = _diagonal(eqn.invars[0], producer, depth + 1)
        dims = None if inner is None else _moved_dims(eqn, (inner.row, inner.col))
        return None if dims is None else _Diagonal(dims[0], dims[1], inner.offset)
    return None


def _affine_iota(atom: Atom, producer, depth: int) -> tuple[int, int] | None:
    """``(d, k)`` when every element of ``atom`` is exactly ``idx[d] + k``."""
    eqn = None if isinstance(atom, Literal) or depth > _MAX_DEPTH else producer(atom)
    if eqn is None or len(eqn.outvars) != 1:  # (lu, eigh... are no iotas)
        return None
    name, (out,) = eqn.primitive.name, eqn.outvars
    found = None
    if name == "iota":
        found = (eqn.params["dimension"], 0)
    elif name in ("add", "sub"):
        for pos in (0, 1) if name == "add" else (0,):
            inner = _affine_iota(eqn.invars[pos], producer, depth + 1)
            k = _uniform_value(eqn.invars[1 - pos], producer)
            if inner is not None and k is not None and _is_integral(k):
                found = (inner[0], inner[1] + int(k) * (1 if name == "add" else -1))
                break
    elif name == "convert_element_type":
        found = _affine_iota(eqn.invars[0], producer, depth + 1)
    elif name in _MOVES_ELEMENTS:
        inner = _affine_iota(eqn.invars[0], producer, depth + 1)
        dims = None if inner is None else _moved_dims(eqn, (inner[0],))
        found = None if dims is None else (dims[0], inner[1])
    if found is None:
        return None
    # Every value along the dimension must be exact in this dtype (an int8
    # iota of length 300 wraps, a float32 one past 2**24 rounds).
    d, k = found
    lo, hi = k, k + out.aval.shape[d] - 1
    return found if _holds_exactly(out.aval.dtype, lo, hi) else None


def _is_integral(value) -> bool:
    value = np.asarray(value)
    return (value.dtype.kind in "iu" or value.dtype.kind == "f" and bool(np.isfinite(value))
            and float(value).is_integer())


def _holds_exactly(dtype, lo: int, hi: int) -> bool:
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return info.min <= lo and hi <= info.max
    if dtype.kind in "fc":
        limit = 2 ** (np.finfo(dtype).nmant + 1)
        return -limit <= lo and hi <= limit
    return False


def _moved_dims(eqn, dims: tuple[int, ...]) -> tuple[int, ...] | None:
    """Where dimensions ``dims`` of the operand of a shape equation are in
    its result; None if one of them is stretched, split or merged (then the
    operand's structure along it is lost)."""
    name, params = eqn.primitive.name, eqn.params
    in_shape, out_shape = eqn.invars[0].aval.shape, eqn.outvars[0].aval.shape
    if name == "broadcast_in_dim":
        out = tuple(params["broadcast_dimensions"][d] for d in dims)
    elif name == "transpose":
        out = tuple(params["permutation"].index(d) for d in dims)
    elif _is_pure_reshape(name, params):
        # Only size-1 dimensions come or go when the sizes of the others
        # are the same sequence; those keep their order.
        big_in = [d for d, n in enumerate(in_shape) if n != 1]
        big_out = [d for d, n in enumerate(out_shape) if n != 1]
        if ([in_shape[d] for d in big_in] != [out_shape[d] for d in big_out]
                or any(d not in big_in for d in dims)):
            return None
        out = tuple(big_out[big_in.index(d)] for d in dims)
    else:
        return None
    if any(in_shape[d] != out_shape[o] for d, o in zip(dims, out, strict=True)):
        return None
    return out


def _dot_with_identity(tracers, out_aval: ShapedArray, dimension_numbers, producer):
    """``dot_general(A, E)`` or ``dot_general(E, A)`` with E a shifted
    identity contracted along one of its diagonal dimensions: A's
    contracted dimension, shifted, takes the place of E's other one."""
    from funcgrad import lax
    (lc, rc), (lb, rb) = dimension_numbers
    for e_pos in (1, 0):
        e, a = tracers[e_pos], tracers[1 - e_pos]
        diag = _diagonal(e.atom, producer)
        if diag is None or a.aval.dtype != out_aval.dtype:
            continue
        e_con, a_con = (rc, lc) if e_pos else (lc, rc)
        e_bat, a_bat = (rb, lb) if e_pos else (lb, rb)
        if ((diag.row in e_con) == (diag.col in e_con)
                or diag.row in e_bat or diag.col in e_bat):
            continue  # not one diagonal dimension contracted and one free
        contracted, free = (diag.col, diag.row) if diag.col in e_con else (diag.row, diag.col)
        # Summing over E's other contracted dimensions would need a
        # reduction of A; only size 1 ones (a plain reshape) are handled.
        if any(e.aval.shape[d] != 1 for d in e_con if d != contracted):
            continue
        c_a = a_con[e_con.index(contracted)]
        # out[.., i, ..] = A[.., i + shift, ..] (zero outside A).
        shift = -diag.offset if free == diag.row else diag.offset
        n_out, n_in = e.aval.shape[free], a.aval.shape[c_a]
        low, high = -shift, n_out - n_in + shift
        if max(0, -low) + max(0, -high) >= n_in:
            continue  # all zeros (or cropping past the end): leave it be
        moved = a
        if low or high:
            config = [(0, 0, 0)] * a.aval.ndim
            config[c_a] = (low, high, 0)
            moved = lax.pad(a, np.zeros((), a.aval.dtype), config)
        # The result's dimensions: batch, then lhs free, then rhs free;
        # each is a dimension of A or a new one (E's other free dims).
        e_free = [d for d in range(e.aval.ndim) if d not in e_con and d not in e_bat]
        a_free = [d for d in range(a.aval.ndim) if d not in a_con and d not in a_bat]
        e_src = [("a", c_a) if d == free else ("new", d) for d in e_free]
        a_src = [("a", d) for d in a_free]
        sources = [("a", d) for d in a_bat] + (a_src + e_src if e_pos else e_src + a_src)
        order = [d for kind, d in sources if kind == "a"]
        dropped = [d for d in a_con if d != c_a]  # size 1
        perm = tuple(order + dropped)
        if perm != tuple(range(len(perm))):
            moved = lax.transpose(moved, perm)
        kept = tuple(moved.aval.shape[:len(order)])
        if math.prod(kept) == out_aval.size:
            # Only size-1 dimensions come or go: a reshape (free in memory).
            if moved.aval.shape != out_aval.shape:
                moved = lax.reshape(moved, out_aval.shape)
            return moved
        if moved.aval.shape != kept:
            moved = lax.reshape(moved, kept)
        where = tuple(i for i, (kind, _) in enumerate(sources) if kind == "a")
        return lax.broadcast_in_dim(moved, out_aval.shape, where)
    return None
