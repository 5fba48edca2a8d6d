"""Inlining of nested calls: a ``jit`` equation inside a jaxpr is replaced
by the equations of the jaxpr it calls, so nested jits (and the jaxprs the
transforms of ``jit`` produce) compile into one function."""
from __future__ import annotations

from funcgrad.core.ir import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var

# Call primitives and the parameter holding the jaxpr they run.  Functions
# with custom derivative rules are calls too: compiled code runs their body.
_CALLS = {"jit": "jaxpr", "custom_jvp_call": "call_jaxpr", "custom_vjp_call": "call_jaxpr"}


def inline_calls(closed: ClosedJaxpr) -> ClosedJaxpr:
    """``closed`` with every call equation (``jit``, and the bodies of
    functions with custom rules), at any depth, inlined.

    >>> import funcgrad, funcgrad.numpy as jnp
    >>> inner = funcgrad.jit(jnp.sin)
    >>> closed = funcgrad.make_jaxpr(lambda x: inner(x) * 2.0)(1.0)
    >>> [e.primitive.name for e in inline_calls(closed).eqns]
    ['sin', 'mul']
    """
    if not any(e.primitive.name in _CALLS for e in closed.jaxpr.eqns):
        return closed
    constvars, consts = list(closed.jaxpr.constvars), list(closed.consts)
    eqns: list[JaxprEqn] = []
    env: dict = {}
    _inline_into(closed.jaxpr, env, eqns, constvars, consts, fresh=False)
    outvars = [v if isinstance(v, Literal) else env.get(id(v), v) for v in closed.jaxpr.outvars]
    jaxpr = Jaxpr(constvars, list(closed.jaxpr.invars), outvars, eqns)
    return ClosedJaxpr(jaxpr, consts)


def _inline_into(jaxpr: Jaxpr, env: dict, eqns: list, constvars: list, consts: list,
                 fresh: bool) -> None:
    """Append ``jaxpr``'s equations to ``eqns`` with variables renamed by
    ``env`` (inner variable id -> outer atom), inlining calls recursively.
    An inlined body gets ``fresh`` variables: it may be inlined twice."""
    def read(atom):
        return atom if isinstance(atom, Literal) else env.get(id(atom), atom)

    for eqn in jaxpr.eqns:
        if eqn.primitive.name not in _CALLS:
            outvars = [Var(v.aval) if fresh else v for v in eqn.outvars]
            for old, new in zip(eqn.outvars, outvars, strict=True):
                if new is not old:
                    env[id(old)] = new
            eqns.append(JaxprEqn(eqn.primitive, [read(a) for a in eqn.invars], outvars,
                                 eqn.params))
            continue
        callee: ClosedJaxpr = eqn.params[_CALLS[eqn.primitive.name]]
        inner_env: dict = {}
        for var, value in zip(callee.jaxpr.constvars, callee.consts, strict=True):
            outer = Var(var.aval)
            constvars.append(outer)
            consts.append(value)
            inner_env[id(var)] = outer
        for var, atom in zip(callee.jaxpr.invars, eqn.invars, strict=True):
            inner_env[id(var)] = read(atom)
        _inline_into(callee.jaxpr, inner_env, eqns, constvars, consts, fresh=True)
        for outer_var, inner_out in zip(eqn.outvars, callee.jaxpr.outvars, strict=True):
            env[id(outer_var)] = (inner_out if isinstance(inner_out, Literal)
                                  else inner_env.get(id(inner_out), inner_out))
