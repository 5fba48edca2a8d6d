"""Inlining of nested calls: a ``jit`` equation inside a jaxpr is replaced
by the equations of the jaxpr it calls, so nested jits (and the jaxprs the
transforms of ``jit`` produce) compile into one function.

Calls inside the bodies of control flow (``cond`` branches, ``while`` and
``scan`` bodies, at any depth) are inlined too.  A sub-jaxpr has no
constants (the control-flow contract), so the constants of a callee
inlined there become new leading *const operands* of the control-flow
equation: a new input of the sub-jaxpr, fed by a new constant of the
enclosing jaxpr (itself threaded further out when that jaxpr is a
sub-jaxpr too).  The result is an ordinary jaxpr that every interpreter
and printer understands.
"""
from __future__ import annotations

from funcgrad.core.ir import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var

# Call primitives and the parameter holding the jaxpr they run.  Functions
# with custom derivative rules are calls too: compiled code runs their body.
_CALLS = {"jit": "jaxpr", "custom_jvp_call": "call_jaxpr", "custom_vjp_call": "call_jaxpr"}

# Control-flow primitives and the parameters holding their sub-jaxprs.
_CONTROL_FLOW = {"cond": ("branches",), "while": ("cond_jaxpr", "body_jaxpr"),
                 "scan": ("jaxpr",)}


def inline_calls(closed: ClosedJaxpr) -> ClosedJaxpr:
    """``closed`` with every call equation (``jit``, and the bodies of
    functions with custom rules), at any depth, inlined.

    >>> import funcgrad, funcgrad.numpy as jnp
    >>> inner = funcgrad.jit(jnp.sin)
    >>> closed = funcgrad.make_jaxpr(lambda x: inner(x) * 2.0)(1.0)
    >>> [e.primitive.name for e in inline_calls(closed).eqns]
    ['sin', 'mul']
    """
    if not _has_calls(closed.jaxpr):
        return closed
    constvars, consts = list(closed.jaxpr.constvars), list(closed.consts)
    eqns: list[JaxprEqn] = []
    env: dict = {}
    _inline_into(closed.jaxpr, env, eqns, constvars, consts, fresh=False)
    outvars = [v if isinstance(v, Literal) else env.get(id(v), v) for v in closed.jaxpr.outvars]
    jaxpr = Jaxpr(constvars, list(closed.jaxpr.invars), outvars, eqns)
    return ClosedJaxpr(jaxpr, consts)


def _has_calls(jaxpr: Jaxpr) -> bool:
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in _CALLS:
            return True
        if any(_has_calls(sub.jaxpr) for sub in _subjaxprs(eqn)):
            return True
    return False


def _subjaxprs(eqn: JaxprEqn) -> list[ClosedJaxpr]:
    out = []
    for param in _CONTROL_FLOW.get(eqn.primitive.name, ()):
        value = eqn.params[param]
        out.extend(value if isinstance(value, tuple) else (value,))
    return out


def _inline_into(jaxpr: Jaxpr, env: dict, eqns: list, constvars: list, consts: list,
                 fresh: bool) -> None:
    """Append ``jaxpr``'s equations to ``eqns`` with variables renamed by
    ``env`` (inner variable id -> outer atom), inlining calls recursively;
    the constants of inlined callees are appended to ``constvars`` and
    ``consts``.  An inlined body gets ``fresh`` variables: it may be
    inlined twice."""
    def read(atom):
        return atom if isinstance(atom, Literal) else env.get(id(atom), atom)

    for eqn in jaxpr.eqns:
        if eqn.primitive.name not in _CALLS:
            outvars = [Var(v.aval) if fresh else v for v in eqn.outvars]
            for old, new in zip(eqn.outvars, outvars, strict=True):
                if new is not old:
                    env[id(old)] = new
            invars = [read(a) for a in eqn.invars]
            params = eqn.params
            if any(_has_calls(sub.jaxpr) for sub in _subjaxprs(eqn)):
                invars, params = _inline_control_flow(eqn, invars, constvars, consts)
            eqns.append(JaxprEqn(eqn.primitive, invars, outvars, params))
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


def _inline_sub(closed: ClosedJaxpr) -> tuple[ClosedJaxpr, list[Var], list]:
    """A sub-jaxpr with its calls inlined: returns it with the callees'
    constants as new leading inputs, and those constants (their variables
    in the sub-jaxpr, and values)."""
    jaxpr = closed.jaxpr
    if not _has_calls(jaxpr):
        return closed, [], []
    new_vars: list[Var] = []
    values: list = []
    eqns: list[JaxprEqn] = []
    env: dict = {}
    _inline_into(jaxpr, env, eqns, new_vars, values, fresh=False)
    outvars = [v if isinstance(v, Literal) else env.get(id(v), v) for v in jaxpr.outvars]
    inlined = Jaxpr([], new_vars + list(jaxpr.invars), outvars, eqns)
    return ClosedJaxpr(inlined, list(closed.consts)), new_vars, values


def _with_leading_inputs(closed: ClosedJaxpr, avals, where: int = 0) -> ClosedJaxpr:
    """``closed`` taking unused inputs of ``avals`` at position ``where``."""
    j = closed.jaxpr
    extra = [Var(a) for a in avals]
    invars = list(j.invars[:where]) + extra + list(j.invars[where:])
    return ClosedJaxpr(Jaxpr(list(j.constvars), invars, list(j.outvars), list(j.eqns)),
                       list(closed.consts))


def _outer(new_vars: list[Var], values: list, constvars: list, consts: list) -> list[Var]:
    """Constants of the enclosing jaxpr feeding a sub-jaxpr's new inputs."""
    outer = [Var(v.aval) for v in new_vars]
    constvars.extend(outer)
    consts.extend(values)
    return outer


def _inline_control_flow(eqn: JaxprEqn, invars: list, constvars: list, consts: list):
    """The operands and parameters of a control-flow equation whose
    sub-jaxprs hold calls, with those inlined (see the module docstring)."""
    name, p = eqn.primitive.name, dict(eqn.params)
    if name == "scan":
        body, new, values = _inline_sub(p["jaxpr"])
        outer = _outer(new, values, constvars, consts)
        p.update(jaxpr=body, num_consts=p["num_consts"] + len(new))
        return outer + invars, p
    if name == "while":
        nc = p["cond_nconsts"]
        cond, new_c, values_c = _inline_sub(p["cond_jaxpr"])
        body, new_b, values_b = _inline_sub(p["body_jaxpr"])
        outer_c = _outer(new_c, values_c, constvars, consts)
        outer_b = _outer(new_b, values_b, constvars, consts)
        p.update(cond_jaxpr=cond, body_jaxpr=body, cond_nconsts=nc + len(new_c),
                 body_nconsts=p["body_nconsts"] + len(new_b))
        return outer_c + invars[:nc] + outer_b + invars[nc:], p
    # cond: every branch takes every branch's new constants (its own, and
    # the others' unused), in branch order, before the operands.
    results = [_inline_sub(branch) for branch in p["branches"]]
    avals = [[v.aval for v in new] for _, new, _ in results]
    branches = []
    for k, (branch, _, _) in enumerate(results):
        before = [a for group in avals[:k] for a in group]
        after = [a for group in avals[k + 1:] for a in group]
        branch = _with_leading_inputs(branch, before, 0)
        branches.append(_with_leading_inputs(branch, after, len(before) + len(avals[k])))
    outer = []
    for _, new, values in results:
        outer += _outer(new, values, constvars, consts)
    p.update(branches=tuple(branches))
    return [invars[0]] + outer + invars[1:], p
