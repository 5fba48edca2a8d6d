"""Loop fusion: planning which equations share a loop nest.

A *group* is a set of equations computed in one loop nest over a
*canonical* iteration shape ``S`` (a shape without its size-1 dimensions:
values whose shapes agree up to those are computed element by element in
the same loop):

* elementwise equations with results of shape ``S``;
* loads: ``broadcast_in_dim`` and the equations that only move elements
  (``transpose``, ``squeeze``, ``expand_dims``, ``rev``, a static
  ``slice``, a ``reshape``
  that only adds or drops size-1 dimensions), which read their operand,
  computed before the loop, at a remapped index: the moved array never
  exists;
* ``iota``, an index expression;
* reductions of values of shape ``S``, accumulated in the same loop.

Inside the loop every value is a scalar temporary; only values used outside
the group (or returned) are stored into arrays (see :mod:`.fusion_emit`).

Groups grow greedily in program order: an equation joins the group of one
of its operands' producers, and groups that produce its operands, or read
the same inputs, merge, while the plan stays

* *convex*: no path leaves a group and comes back into it (a value the loop
  would need before the loop has run), and
* *acyclic*: groups ordered by their dependencies form a DAG, so they can
  be emitted in a topological order.

Both are checks on ``reach`` bit masks (every unit a unit depends on, kept
transitively closed as groups grow).  Effects (printing) keep their program
order.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from funcgrad.core.ir import Jaxpr, JaxprEqn, Literal, Var
from funcgrad.backends.numba_cpu.codegen import ELEMENTWISE, Builder, settings


@dataclass(eq=False)
class Group:
    """Equations emitted as one loop nest over ``shape``."""

    index: int
    shape: tuple[int, ...]
    members: list[JaxprEqn] = field(default_factory=list)
    # ids of values the loop computes as scalars (non-reduction results).
    internal: set[int] = field(default_factory=set)
    # ids of reduction results (known only after the loop).
    reduced: set[int] = field(default_factory=set)
    # ids of internal values needed as arrays (used outside, or returned).
    stored: set[int] = field(default_factory=set)
    # ids of values produced by loads (broadcasts, views): other loads may
    # read through them, composing the index maps.
    loads: dict[int, JaxprEqn] = field(default_factory=dict)

    def first(self, order: dict[int, int]) -> int:
        return order[id(self.members[0])]


def _reducers():
    from funcgrad.backends.numba_cpu.lowering_reductions import REDUCERS
    return REDUCERS


def classify(eqn: JaxprEqn) -> str | None:
    name = eqn.primitive.name
    if name in ELEMENTWISE:
        return "elementwise"
    if name == "broadcast_in_dim":
        return "broadcast"
    if name in _VIEWS and view_map(eqn) is not None:
        return "view"
    if name == "iota":
        return "iota"
    if name in _reducers():
        return "reduce"
    return None


def canonical(shape) -> tuple[int, ...]:
    """A shape without its size-1 dimensions: values whose shapes agree
    up to those are computed in the same loop nest, element by element."""
    return tuple(n for n in shape if n != 1)


def actual_index(shape, idx) -> list[str]:
    """The index into an array of ``shape`` of the loop point ``idx`` (an
    index over ``canonical(shape)``): 0 for the size-1 dimensions."""
    it = iter(idx)
    return ["0" if n == 1 else next(it) for n in shape]


def _iteration_shape(eqn: JaxprEqn, kind: str) -> tuple[int, ...]:
    if kind == "reduce":
        return canonical(eqn.invars[0].aval.shape)
    return canonical(eqn.outvars[0].aval.shape)


def _reduces(eqn: JaxprEqn) -> bool:
    """A reduction over some dimension of size other than 1 (else it only
    drops size-1 dimensions: a copy)."""
    shape = eqn.invars[0].aval.shape
    return any(shape[a] != 1 for a in eqn.params["axes"])


def _bits(mask: int):
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class _Planner:
    """Greedy grouping in program order.  Every equation starts as a unit
    with one bit; a group's ``mask`` holds the bits of the units merged
    into it and ``reach[u]`` the bits of every unit ``u`` depends on
    (itself included), kept transitively closed as groups grow."""

    def __init__(self, jaxpr: Jaxpr):
        self.jaxpr = jaxpr
        self.units: list = []           # Group or JaxprEqn (None once merged away)
        self.mask: list[int] = []
        self.reach: list[int] = []
        self.parent: list[int] = []
        self.unit_of_var: dict[int, int] = {}
        self.readers: dict[int, list[int]] = {}   # var id -> groups reading it from outside

    def find(self, u: int) -> int:
        while self.parent[u] != u:
            self.parent[u] = self.parent[self.parent[u]]
            u = self.parent[u]
        return u

    def unit_of(self, atom) -> int | None:
        if isinstance(atom, Literal) or id(atom) not in self.unit_of_var:
            return None
        return self.find(self.unit_of_var[id(atom)])

    def reach_of(self, atom) -> int:
        u = self.unit_of(atom)
        return 0 if u is None else self.reach[u]

    def new_unit(self, unit, eqn: JaxprEqn) -> int:
        u = len(self.units)
        self.units.append(unit)
        self.parent.append(u)
        self.mask.append(1 << u)
        r = 1 << u
        for a in eqn.invars:
            r |= self.reach_of(a)
        self.reach.append(r)
        for v in eqn.outvars:
            self.unit_of_var[id(v)] = u
        return u

    def _propagate(self, u: int) -> None:
        """Units depending on ``u`` depend on everything ``u`` does."""
        m, r = self.mask[u], self.reach[u]
        for w in range(len(self.units)):
            if self.units[w] is not None and self.reach[w] & m and (r & ~self.reach[w]):
                self.reach[w] |= r

    @staticmethod
    def _uses_ok(g: Group, eqn: JaxprEqn, kind: str, internal=None, loads=None,
                 reduced=None) -> bool:
        """``eqn`` may sit in a loop over ``g.shape`` next to ``g``'s members
        (or, with the keyword sets, those of a group about to be formed)."""
        internal = g.internal if internal is None else internal
        loads = g.loads if loads is None else loads
        reduced = g.reduced if reduced is None else reduced
        for a in eqn.invars:
            if isinstance(a, Literal):
                continue
            if id(a) in reduced:
                return False  # known only after the loop
            if id(a) in internal and kind in ("broadcast", "view") and \
                    not _identity_load(eqn) and not _reads_outside(id(a), internal, loads):
                return False  # it reads a computed value at another point
        return True

    def can_join(self, u: int, eqn: JaxprEqn, kind: str) -> bool:
        g = self.units[u]
        if g.shape != _iteration_shape(eqn, kind) or not self._uses_ok(g, eqn, kind):
            return False
        for a in eqn.invars:
            if isinstance(a, Literal) or id(a) in g.internal:
                continue
            if self.reach_of(a) & self.mask[u]:
                return False  # a path leaves the group and comes back
        return True

    def join(self, u: int, eqn: JaxprEqn, kind: str) -> None:
        g = self.units[u]
        g.members.append(eqn)
        extra = 0
        for a in eqn.invars:
            if isinstance(a, Literal):
                continue
            if id(a) not in g.internal:
                extra |= self.reach_of(a)
                self.readers.setdefault(id(a), []).append(u)
        for v in eqn.outvars:
            self.unit_of_var[id(v)] = u
            (g.reduced if kind == "reduce" and _reduces(eqn) else g.internal).add(id(v))
            if kind in ("broadcast", "view"):
                g.loads[id(v)] = eqn
        if extra & ~self.reach[u]:
            self.reach[u] |= extra
            self._propagate(u)

    def can_merge(self, u: int, v: int) -> bool:
        gu, gv = self.units[u], self.units[v]
        if gu.shape != gv.shape:
            return False
        internal, reduced = gu.internal | gv.internal, gu.reduced | gv.reduced
        loads = {**gu.loads, **gv.loads}
        for m in gu.members + gv.members:
            if not self._uses_ok(gu, m, classify(m), internal, loads, reduced):
                return False
        # No unit outside both may sit on a path between them.
        both = self.mask[u] | self.mask[v]
        for bit in _bits((self.reach[u] | self.reach[v]) & ~both):
            x = self.find(bit)
            if x in (u, v):
                continue
            rx = self.reach[x]
            if (rx & self.mask[u] and self.reach[v] & self.mask[x]) or \
                    (rx & self.mask[v] and self.reach[u] & self.mask[x]):
                return False
        return True

    def merge(self, u: int, v: int) -> None:
        gu, gv = self.units[u], self.units[v]
        gu.members.extend(gv.members)
        gu.internal |= gv.internal
        gu.reduced |= gv.reduced
        gu.loads.update(gv.loads)
        self.mask[u] |= self.mask[v]
        self.reach[u] |= self.reach[v]
        self.parent[v] = u
        self.units[v] = None
        for readers in self.readers.values():
            for k, w in enumerate(readers):
                if w == v:
                    readers[k] = u
        self._propagate(u)

    def add(self, eqn: JaxprEqn) -> None:
        kind = classify(eqn)
        if kind is None:
            self.new_unit(eqn, eqn)
            return
        shape = _iteration_shape(eqn, kind)
        target = None
        if settings.fusion:
            producers, siblings = [], []
            for a in eqn.invars:
                u = self.unit_of(a)
                if u is not None and isinstance(self.units[u], Group):
                    producers.append(u)
                if isinstance(a, Var):
                    siblings.extend(self.find(w) for w in self.readers.get(id(a), ()))
            seen: set[int] = set()
            candidates = []
            for u in sorted(set(producers), reverse=True) + sorted(set(siblings), reverse=True):
                if u not in seen and self.units[u].shape == shape:
                    seen.add(u)
                    candidates.append(u)
            for u in candidates:
                u = self.find(u)
                if target is None:
                    if self.can_join(u, eqn, kind):
                        self.join(u, eqn, kind)
                        target = u
                elif u != target and self.can_merge(target, u):
                    self.merge(target, u)
        if target is None:
            g = Group(index=len(self.units), shape=shape)
            u = self.new_unit(g, eqn)
            self.join(u, eqn, kind)


def plan(jaxpr: Jaxpr) -> list:
    """The equations of ``jaxpr`` as a topologically ordered list of steps:
    :class:`Group` for loop nests, a :class:`JaxprEqn` for the rest."""
    eqns = jaxpr.eqns
    order = {id(e): k for k, e in enumerate(eqns)}
    p = _Planner(jaxpr)
    for eqn in eqns:
        p.add(eqn)
    units = {u: unit for u, unit in enumerate(p.units) if unit is not None}
    unit_of_eqn = {}
    for u, unit in units.items():
        if isinstance(unit, Group):
            unit.members.sort(key=lambda e: order[id(e)])
            for m in unit.members:
                unit_of_eqn[id(m)] = u
        else:
            unit_of_eqn[id(unit)] = u

    # Values a group computes that someone else needs, as arrays.
    deps: dict[int, set[int]] = {u: set() for u in units}
    for eqn in eqns:
        u = unit_of_eqn[id(eqn)]
        for a in eqn.invars:
            w = p.unit_of(a)
            if w is not None and w != u:
                deps[u].add(w)
                if isinstance(units[w], Group) and id(a) in units[w].internal and not (
                        eqn.primitive.name in _ELEMENT_READERS and units[w].shape == ()
                        and not view_only(units[w])):
                    units[w].stored.add(id(a))
    # Effects (printing) run in program order.
    effects = [unit_of_eqn[id(e)] for e in eqns if e.primitive.effectful]
    for before, after in zip(effects, effects[1:]):
        if before != after:
            deps[after].add(before)
    for a in jaxpr.outvars:
        w = p.unit_of(a)
        if w is not None and isinstance(units[w], Group) and id(a) in units[w].internal:
            units[w].stored.add(id(a))

    # Topological order of the units, earliest first equation first.
    first = {u: (order[id(unit.members[0])] if isinstance(unit, Group) else order[id(unit)])
             for u, unit in units.items()}
    users: dict[int, list[int]] = {u: [] for u in units}
    indegree = {u: len(d) for u, d in deps.items()}
    for u, d in deps.items():
        for w in d:
            users[w].append(u)
    ready = [(first[u], u) for u in units if indegree[u] == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        _, u = heapq.heappop(ready)
        out.append(units[u])
        for w in users[u]:
            indegree[w] -= 1
            if indegree[w] == 0:
                heapq.heappush(ready, (first[w], w))
    assert len(out) == len(units), "fusion produced a cyclic plan"
    return out


# Equations that read their operands element by element (``Builder.elem``):
# a one-element value of a loop-free group (a scalar that ``expand_dims`` or
# ``broadcast_in_dim`` made an array, as ``stack`` of scalars does) is read
# from its scalar local, and never stored as an array for them.
_ELEMENT_READERS = {"concatenate"}


# ------------------------------------------------------------ loads
# Equations that only move elements: inside a loop nest they are loads of
# their operand at a remapped index, so the moved array never exists.
_VIEWS = ("transpose", "squeeze", "expand_dims", "reshape", "rev", "slice")


def view_map(eqn: JaxprEqn):
    """For a broadcast or a view: a function from the output index (a list
    of expressions) to the operand index, with the size expression
    ``dim``; None when the equation is not a plain index map (a reshape
    that merges or splits dimensions)."""
    name = eqn.primitive.name
    x, out = eqn.invars[0], eqn.outvars[0]
    in_shape, out_shape = tuple(x.aval.shape), tuple(out.aval.shape)
    if name == "broadcast_in_dim":
        bd = eqn.params["broadcast_dimensions"]
        return lambda idx, dim: ["0" if in_shape[i] == 1 and out_shape[d] != 1 else idx[d]
                                 for i, d in enumerate(bd)]
    if name == "transpose":
        perm = eqn.params["permutation"]

        def transpose_map(idx, dim):
            src = [""] * len(perm)
            for k, p in enumerate(perm):
                src[p] = idx[k]
            return src
        return transpose_map
    if name == "slice":
        # A static slice (``s[0]``, ``s[:, k]``) read in the loop: no view
        # object is made, and the offsets are constants LLVM folds.
        starts = eqn.params["start_indices"]
        strides = eqn.params["strides"] or (1,) * len(in_shape)

        def slice_map(idx, dim):
            src = []
            for i, start, step in zip(idx, starts, strides, strict=True):
                term = i if step == 1 or i == "0" else f"{step} * {i}"
                src.append(str(start) if term == "0" else
                           term if start == 0 else f"{start} + {term}")
            return src
        return slice_map
    if name == "rev":
        dims = set(eqn.params["dimensions"])
        return lambda idx, dim: [f"({dim(in_shape[d])} - 1 - {i})" if d in dims else i
                                 for d, i in enumerate(idx)]
    perm = tuple(range(len(in_shape)))
    if name == "reshape" and eqn.params["dimensions"] is not None:
        perm = tuple(eqn.params["dimensions"])
    moved = [in_shape[p] for p in perm]
    # Only size-1 dimensions may appear or disappear.
    if [n for n in moved if n != 1] != [n for n in out_shape if n != 1]:
        return None
    big_out = [k for k, n in enumerate(out_shape) if n != 1]
    big_in = [k for k, n in enumerate(moved) if n != 1]

    def reshape_map(idx, dim):
        src_moved = ["0"] * len(moved)
        for k_in, k_out in zip(big_in, big_out, strict=True):
            src_moved[k_in] = idx[k_out]
        src = [""] * len(perm)
        for k, p in enumerate(perm):
            src[p] = src_moved[k]
        return src
    return reshape_map


def _identity_load(eqn: JaxprEqn) -> bool:
    """Whether the equation reads its operand at the same loop point (the
    same element up to size-1 dimensions)."""
    x, out = eqn.invars[0], eqn.outvars[0]
    if isinstance(x, Literal) or x.aval.ndim == 0:
        return True
    if canonical(x.aval.shape) != canonical(out.aval.shape):
        return False
    point = [f"i{k}" for k in range(len(canonical(out.aval.shape)))]
    src = view_map(eqn)(actual_index(out.aval.shape, point), str)
    return src == actual_index(x.aval.shape, point)


def _reads_outside(var: int, internal: set[int], loads: dict[int, JaxprEqn]) -> bool:
    """Whether the value ``var`` of a group is a load (of a load ...) of an
    array computed outside the group: it can then be read at any point."""
    while var in loads:
        x = loads[var].invars[0]
        if isinstance(x, Literal) or x.aval.ndim == 0:
            return True
        var = id(x)
    return var not in internal


def view_only(g: Group) -> bool:
    """A group of views only: each is emitted by its own rule (a reshape
    stays a view, a transpose is blocked), not as a loop."""
    return all(classify(m) == "view" for m in g.members)


__all__ = ["Group", "plan", "classify", "view_map", "canonical", "actual_index",
           "view_only", "emit_group"]


def emit_group(b: Builder, g: Group) -> None:
    """Emit the code of a group (see :mod:`.fusion_emit`)."""
    from funcgrad.backends.numba_cpu.fusion_emit import emit_group as emit
    emit(b, g)
