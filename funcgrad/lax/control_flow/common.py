"""What the control-flow primitives share: tracing a user function into a
sub-jaxpr, checking loop-carried types, and small helpers.

A sub-jaxpr held by a control-flow primitive never has constants: every
array a body closes over becomes an explicit operand of the primitive (its
*consts*).  Transforms then see those values like any other operand (a body
closing over the value being differentiated gets its derivative), and
backends only ever compile variables.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from funcgrad import tree_util
from funcgrad.core.avals import ShapedArray
from funcgrad.core.ir import ClosedJaxpr, Jaxpr
from funcgrad.core.staging import trace_to_jaxpr
from funcgrad.core.trace import get_aval
from funcgrad.transforms.jaxpr_transforms import move_consts_to_invars


def leaf_names(prefix: str, tree_value: Any) -> list[str]:
    """``carry[0]['w']``-style names for the leaves of ``tree_value``."""
    return [prefix + tree_util.keystr(path)
            for path, _ in tree_util.tree_flatten_with_path(tree_value)[0]]


def trace_body(fun: Callable, args_tree, in_avals: Sequence[ShapedArray],
               names: Sequence[str], fun_name: str, transform: str):
    """Stage ``fun(*tree_unflatten(args_tree, leaves))``.

    Returns ``(jaxpr, consts, out_tree)``: ``jaxpr`` (no constants) takes the
    ``consts`` first, then the leaves; ``out_tree`` is the structure of what
    ``fun`` returned.
    """
    out_tree_cell = []

    def flat_fun(*leaves):
        out = fun(*tree_util.tree_unflatten(args_tree, list(leaves)))
        flat, out_tree = tree_util.tree_flatten(out)
        out_tree_cell.append(out_tree)
        return flat

    jaxpr, consts = trace_to_jaxpr(flat_fun, list(in_avals), list(names),
                                   getattr(fun, "__name__", fun_name), transform)
    closed, consts = move_consts_to_invars(ClosedJaxpr(jaxpr, consts))
    return closed, consts, out_tree_cell[0]


def carry_avals(leaves: Sequence) -> list[ShapedArray]:
    return [get_aval(x) for x in leaves]


def check_carry(what: str, names: Sequence[str], in_tree, out_tree,
                in_avals: Sequence[ShapedArray], out_avals: Sequence[ShapedArray],
                in_description: str = "the initial value", types: bool = True) -> None:
    """A loop body must return its carry with the structure and (unless
    ``types`` is False) the types it was given.  Weak typedness may differ
    (a Python scalar start value)."""
    if in_tree != out_tree:
        raise TypeError(f"{what} must return a carry with the same structure as "
                        f"{in_description}: got {out_tree} for {in_tree}")
    if not types:
        return
    for name, a, b in zip(names, in_avals, out_avals, strict=True):
        if a.shape != b.shape or a.dtype != b.dtype:
            raise TypeError(f"{what}: the carry leaf {name} has type {a.str_short()} in "
                            f"{in_description} but {b.str_short()} in the value the body "
                            f"returns; a loop carry must keep its shape and dtype (convert "
                            f"{in_description} or the body's result with .astype)")


def promote_weak_carry(init_leaves: list, in_avals, out_avals) -> list | None:
    """Where a weakly typed start value (a Python scalar) meets a body that
    returns another dtype of the same kind family, start from that dtype
    instead, as NumPy promotion of the Python scalar would.  Returns the new
    start leaves, or None when nothing changes."""
    from funcgrad.lax.elementwise import convert_element_type
    changed = False
    new = list(init_leaves)
    for i, (a, b) in enumerate(zip(in_avals, out_avals, strict=True)):
        if a.weak_type and a.shape == b.shape and (a.dtype != b.dtype or not b.weak_type):
            new[i] = convert_element_type(init_leaves[i], b.dtype, weak_type=b.weak_type)
            changed = True
    return new if changed else None


def join_weak(avals_lists: Sequence[Sequence[ShapedArray]]) -> list[ShapedArray]:
    """Per position, the common type of several branches' outputs: weak only
    if weak in every branch."""
    joined = []
    for avals in zip(*avals_lists, strict=True):
        first = avals[0]
        joined.append(first if all(a.weak_type for a in avals) else first.strip_weak_type())
    return joined


def scalar_operand(what: str, x, kinds: str):
    """``x`` as a 0-d array of one of the dtype ``kinds``, or a TypeError."""
    aval = get_aval(x)
    if aval.ndim != 0:
        raise TypeError(f"{what} must be a scalar, got an array of shape {aval.shape}")
    if aval.dtype.kind not in kinds:
        raise TypeError(f"{what} must have a dtype of kind {kinds!r}, got {aval.dtype}")
    return x


def with_consts(closed: ClosedJaxpr, consts: list) -> ClosedJaxpr:
    """The inverse of ``move_consts_to_invars``: ``closed``'s leading
    ``len(consts)`` inputs bound to ``consts`` (which may be tracers; the
    result only lives until a bind moves them back to operands)."""
    jaxpr, n = closed.jaxpr, len(consts)
    return ClosedJaxpr(Jaxpr(list(jaxpr.invars[:n]), list(jaxpr.invars[n:]),
                             list(jaxpr.outvars), list(jaxpr.eqns)), list(consts))


def check_operands(what: str, avals: Sequence[ShapedArray],
                   expected: Sequence[ShapedArray]) -> None:
    """The operands of a control-flow equation must have the types its
    sub-jaxpr takes (a transformation that breaks this is a funcgrad bug;
    the shape rule catches it where the jaxpr is built)."""
    if len(avals) != len(expected):
        raise TypeError(f"{what}: {len(avals)} operands for a body taking {len(expected)}")
    for k, (a, b) in enumerate(zip(avals, expected, strict=True)):
        if a.shape != b.shape or a.dtype != b.dtype:
            raise TypeError(f"{what}: operand {k} has type {a.str_short()} but the body "
                            f"takes {b.str_short()}")
