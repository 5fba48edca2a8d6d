"""Small arrays of loop bodies as scalar locals, and arrays with small
trailing dimensions as one array per component.

Inside a loop body, an array whose trailing sizes are literals (see
:class:`.codegen.SizeTable`) spanning at most ``settings.scalarize_max``
elements, and that only fused loop nests, ``concatenate`` and ``pad``
compute and read, is *split* at its first such dimension ``k``:

* ``k == 0`` (the whole array is small): element ``j`` (row-major) is
  the scalar local ``<name>_e<j>``.  LLVM then keeps a 3-vector state in
  registers instead of storing and reloading it through memory it cannot
  prove unaliased (the RK4 step of a Lorenz system runs twice as fast);
* ``k > 0`` (a batch of small vectors, shape ``(N, 3)``): component ``j``
  is the array ``<name>_e<j>`` of the leading shape ``(N,)``.  The loops
  over the batch then read and write contiguous memory (they vectorise),
  a component ``s[:, j]`` is an array, and ``concatenate`` of components
  only renames arrays.

The loop nests that touch split arrays are unrolled over those trailing
dimensions (:func:`unroll_level`), so the component indices are
constants.  Anything else (a body output, an operand of another primitive
or of a nested control-flow equation) keeps the value an array; should a
split array still be reached at a non-constant index, the program is
generated again without splitting it (:class:`.codegen.SplitFailure`).
"""
from __future__ import annotations

import re

import numpy as np

from funcgrad.core.ir import Jaxpr, Var
from funcgrad.backends.numba_cpu.codegen import Builder, SplitFailure, dtype_expr, settings

_CONSTANT = re.compile(r"^[\d +*()-]+$")


def constant_index(expr: str) -> int | None:
    """The value of an index expression made of integer literals, +, - and *
    (``"1 + 0"``, ``"(3 - 1 - 0)"``), None for anything else."""
    expr = expr.strip()
    if not _CONSTANT.match(expr):
        return None
    return int(eval(expr, {"__builtins__": {}}))  # digits, operators, parentheses only


def small(shape) -> bool:
    """A static shape small enough to unroll or scalarise."""
    return (all(n <= settings.static_dim_max for n in shape)
            and int(np.prod(shape, dtype=np.int64)) <= settings.scalarize_max)


def split_point(shape) -> int:
    """The first dimension of the small trailing part of ``shape``."""
    k = len(shape)
    while k > 0 and small(shape[k - 1:]):
        k -= 1
    return k


def _enabled(b: Builder) -> bool:
    return bool(b.loop_depth and settings.scalarize_max > 0 and b.scalarize)


def unroll_level(b: Builder, g, order=None) -> int | None:
    """The first loop level of group ``g`` written out point by point (in
    a loop body: the small trailing dimensions of its shape, in the default
    loop order; ``len(g.shape)`` when there are none), None when the group
    may not touch split arrays."""
    from funcgrad.backends.numba_cpu.fusion import view_only
    if not _enabled(b) or view_only(g):
        return None
    k = split_point(g.shape)
    if 0 < k < len(g.shape):
        if order is None:
            from funcgrad.backends.numba_cpu.fusion_emit import _loop_order
            order = _loop_order(b, g)
        if list(order) != list(range(len(g.shape))):
            return None
    return k


def plan_scalars(b: Builder, jaxpr: Jaxpr, steps: list) -> None:
    """Mark (``b.split``) the arrays of ``jaxpr`` (a loop body being
    emitted, fused into ``steps``) that are split, with their split point."""
    from funcgrad.backends.numba_cpu.fusion import Group
    if not _enabled(b):
        return
    candidates: dict[int, Var] = {}
    ok_users: set[int] = set()     # ids of equations that read elements at constants
    movers = []                    # concatenate and pad equations
    for step in steps:
        if isinstance(step, Group):
            if unroll_level(b, step) is None:
                continue
            ok_users.update(id(m) for m in step.members)
            for m in step.members:
                for v in m.outvars:
                    if id(v) in step.stored:
                        candidates[id(v)] = v
        elif step.primitive.name in ("concatenate", "pad"):
            ok_users.add(id(step))
            movers.append(step)
            candidates[id(step.outvars[0])] = step.outvars[0]
    if not candidates:
        return
    for eqn in jaxpr.eqns:
        for a in eqn.invars:
            if isinstance(a, Var) and id(eqn) not in ok_users:
                candidates.pop(id(a), None)
    for a in jaxpr.outvars:
        if isinstance(a, Var):
            candidates.pop(id(a), None)
    points_at = {}
    for key, v in candidates.items():
        k = split_point(v.aval.shape)
        if (v.aval.ndim and k < v.aval.ndim and v.aval.dtype.kind in "biufc"
                and key not in b.split_excluded):
            points_at[key] = k
    # concatenate and pad of split arrays move elements along the trailing
    # (constant-index) dimensions only, between arrays split at one point.
    for eqn in movers:
        arrays = [a for a in eqn.invars[:1 if eqn.primitive.name == "pad" else None]
                  if isinstance(a, Var)] + [eqn.outvars[0]]
        if eqn.primitive.name == "concatenate":
            moved = {eqn.params["dimension"]}
        else:
            moved = {d for d, c in enumerate(eqn.params["padding_config"]) if c != (0, 0, 0)}
        ks = [points_at[id(a)] for a in arrays if id(a) in points_at]
        if ks and (len(set(ks)) > 1 or min(moved, default=len(arrays[-1].aval.shape)) < ks[0]):
            for a in arrays:
                points_at.pop(id(a), None)
    b.split.update(points_at)


def element_name(b: Builder, var: Var, idx) -> str:
    """The scalar local (or component array element) of split ``var`` at
    ``idx``."""
    k = b.split[id(var)]
    trailing = []
    for i in idx[k:]:
        c = constant_index(i)
        if c is None:
            raise SplitFailure(id(var))
        trailing.append(c)
    name = _component_of(b, var, trailing)
    return f"{name}[{', '.join(idx[:k])}]" if k else name


def _component_of(b: Builder, var: Var, trailing) -> str:
    k = b.split[id(var)]
    flat = 0
    for i, n in zip(trailing, var.aval.shape[k:], strict=True):
        flat = flat * n + int(i)
    return f"{b.name(var)}_e{flat}"


def alloc_components(b: Builder, var: Var, target: str) -> None:
    """Allocate the component arrays of a split ``var`` (once, before the
    loop nest)."""
    k = b.split[id(var)]
    if not k:
        return
    shape = var.aval.shape
    for j in range(int(np.prod(shape[k:], dtype=np.int64))):
        b.hoisted(f"{target}_e{j} = np.empty({b.shape(shape[:k])}, "
                  f"{dtype_expr(var.aval.dtype)})")


def points(shape):
    """Every index of ``shape`` (row-major) as lists of literals."""
    return [[str(i) for i in p] for p in np.ndindex(*shape)]


def move_elements(b: Builder, x, out, pairs) -> None:
    """``out[dst] = x[src]`` for the (src, dst) pairs of indices over the
    trailing dimensions of split arrays (both split at the same point, or
    only one of them at 0); component arrays are renamed, not copied."""
    k = b.split.get(id(out), b.split.get(id(x), 0))
    both = id(x) in b.split and id(out) in b.split
    for src, dst in pairs:
        if k and both:
            b.emit(f"{_component_of(b, out, dst)} = {_component_of(b, x, src)}")
        elif k:
            with b.loops(out.aval.shape[:k]) as lidx:
                b.store(out, lidx + dst, b.elem(x, lidx + src))
        else:
            b.store(out, dst, b.elem(x, src))
