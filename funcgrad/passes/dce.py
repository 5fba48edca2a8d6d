"""Dead-code elimination: drop equations whose results nobody uses.

Runs on every staged jaxpr (``make_jaxpr``, the linear jaxpr of
``linearize``), so a transform may emit freely and rely on this pass to
remove what turned out to be unused (for example the primal computation
that ``grad`` does not return).  Effectful equations (printing, and
branches, loops or calls that print) are kept.
"""
from __future__ import annotations

from typing import Sequence

from funcgrad.core.ir import Jaxpr, Literal, has_effects


def dce_jaxpr(jaxpr: Jaxpr, consts: Sequence = (), *,
              prune_invars: bool = False) -> tuple[Jaxpr, list, list[bool]]:
    """Remove dead equations (and constants only they used).

    Returns the new jaxpr, its constants, and for each original invar
    whether it is still used (with ``prune_invars=True`` the unused ones are
    dropped from the jaxpr's invars; otherwise invars are kept as they are).

    >>> import funcgrad, funcgrad.numpy as jnp
    >>> closed = funcgrad.make_jaxpr(lambda x: (jnp.sin(x), x * 2.0)[1])(1.0)
    >>> len(closed.jaxpr.eqns)   # make_jaxpr already ran this pass
    1
    """
    live = {id(v) for v in jaxpr.outvars if not isinstance(v, Literal)}
    kept = []
    for eqn in reversed(jaxpr.eqns):
        used = [id(v) in live for v in eqn.outvars]
        if any(used) or has_effects(eqn.primitive, eqn.params):
            if not all(used) and eqn.primitive.dce is not None:
                # A call (jit) drops the outputs nobody uses from its body.
                eqn = eqn.primitive.dce(eqn, used)
            kept.append(eqn)
            live.update(id(a) for a in eqn.invars if not isinstance(a, Literal))
    kept.reverse()
    used_consts = [(v, c) for v, c in zip(jaxpr.constvars, consts, strict=True) if id(v) in live]
    used_in = [id(v) in live for v in jaxpr.invars]
    invars = ([v for v, used in zip(jaxpr.invars, used_in, strict=True) if used]
              if prune_invars else list(jaxpr.invars))
    new = Jaxpr([v for v, _ in used_consts], invars, list(jaxpr.outvars), kept)
    return new, [c for _, c in used_consts], used_in
