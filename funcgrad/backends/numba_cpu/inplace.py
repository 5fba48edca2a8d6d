"""When an equation may overwrite an operand's buffer: after every other
reader of that buffer is done.

``x.at[i].set(v)`` (``dynamic_update_slice``, ``scatter``) writes into
``x``'s buffer instead of a copy, and a loop takes an initial carry's
buffer as its own, when ``x`` is an array this program allocated (or a
loop carry), not an output, and every other equation reading ``x`` (or a
view of it) is an *ancestor* of the writer: it feeds the writer's
operands, so any emission order runs it first.  The usual pattern in a
loop body reads an element of the carry and then updates the carry::

    v = x[i - 1]          # dynamic_slice: a view of x, read by ...
    w = v + 1.0           # ... this, which the update needs
    y = x.at[i].set(w)    # so y may take x's buffer

Views (slices, reshapes) share ``x``'s memory, so their readers count as
readers of ``x``.
"""
from __future__ import annotations

from funcgrad.core.ir import Jaxpr, JaxprEqn, Var

# Equations whose array results may share memory with their first operand.
_VIEWS = {"reshape", "squeeze", "expand_dims", "slice", "dynamic_slice", "transpose",
          "dynamic_update_slice", "scatter", "scatter_add", "scatter_mul", "scatter_min",
          "scatter_max"}


def _carry_inputs(eqn: JaxprEqn) -> list:
    """The initial carries of a loop (a loop may take their buffers)."""
    p = eqn.params
    if eqn.primitive.name == "while":
        return eqn.invars[p["cond_nconsts"] + p["body_nconsts"]:]
    if eqn.primitive.name == "scan":
        nc = p["num_consts"]
        return eqn.invars[nc:nc + p["num_carry"]]
    return []


def _may_alias(eqn: JaxprEqn, var: Var) -> bool:
    """Whether ``eqn``'s results may share memory with its operand ``var``."""
    if eqn.primitive.name in _VIEWS:
        return eqn.invars[0] is var
    return any(a is var for a in _carry_inputs(eqn))


class Dataflow:
    """Readers and ancestors of the equations of one jaxpr."""

    def __init__(self, jaxpr: Jaxpr):
        self.eqns = jaxpr.eqns
        self.position = {id(e): k for k, e in enumerate(self.eqns)}
        self.readers: dict[int, list[int]] = {}
        # ancestors[k]: bit j set if equation j feeds equation k (transitively).
        self.ancestors: list[int] = []
        producer: dict[int, int] = {}
        for k, eqn in enumerate(self.eqns):
            mask = 0
            for a in eqn.invars:
                if isinstance(a, Var):
                    self.readers.setdefault(id(a), []).append(k)
                    p = producer.get(id(a))
                    if p is not None:
                        mask |= self.ancestors[p] | (1 << p)
            self.ancestors.append(mask)
            for v in eqn.outvars:
                producer[id(v)] = k

    def _aliases(self, var: Var, writer: int) -> set[int]:
        """``var`` and every array that may share its memory (but the
        results of the equation ``writer``)."""
        out, stack = {id(var)}, [var]
        while stack:
            v = stack.pop()
            for k in self.readers.get(id(v), ()):
                if k == writer:
                    continue
                eqn = self.eqns[k]
                if _may_alias(eqn, v):
                    for o in eqn.outvars:
                        if o.aval.ndim and id(o) not in out:
                            out.add(id(o))
                            stack.append(o)
        return out

    def last_reader(self, var: Var, eqn: JaxprEqn, outputs: set[int]) -> bool:
        """Whether ``eqn`` may overwrite ``var``'s memory: it reads it once,
        through no view, every other reader of it or of its views feeds
        ``eqn``, and none of them is an output (of ``outputs``)."""
        k = self.position.get(id(eqn))
        if k is None:
            return False
        aliases = self._aliases(var, k)
        if aliases & outputs:
            return False
        if sum(1 for a in eqn.invars if isinstance(a, Var) and id(a) in aliases) != 1:
            return False
        before = self.ancestors[k]
        return all(j == k or (before >> j) & 1
                   for a in aliases for j in self.readers.get(a, ()))


__all__ = ["Dataflow"]
