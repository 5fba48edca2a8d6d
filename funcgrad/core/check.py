"""``check_jaxpr``: the type checker every transform's output goes through."""
from __future__ import annotations

from funcgrad.core.avals import ShapedArray, same_type
from funcgrad.core.errors import JaxprTypeError
from funcgrad.core.ir import ClosedJaxpr, Jaxpr, Literal, Var


def check_jaxpr(jaxpr: Jaxpr | ClosedJaxpr) -> None:
    """Raise :class:`JaxprTypeError` unless ``jaxpr`` is well formed.

    Checks that every variable is bound exactly once before use, literals are
    scalars, and each equation's output types are what its primitive's
    ``abstract_eval`` rule computes from its input types.  Jaxprs held in
    equation parameters are checked recursively.

    >>> from funcgrad import make_jaxpr
    >>> import funcgrad.numpy as jnp
    >>> check_jaxpr(make_jaxpr(jnp.sin)(1.0))
    """
    if isinstance(jaxpr, ClosedJaxpr):
        if len(jaxpr.consts) != len(jaxpr.jaxpr.constvars):
            raise JaxprTypeError(f"closed jaxpr has {len(jaxpr.consts)} constants for "
                                 f"{len(jaxpr.jaxpr.constvars)} constvars")
        jaxpr = jaxpr.jaxpr
    bound: set[int] = set()

    def bind_var(v, where):
        if not isinstance(v, Var):
            raise JaxprTypeError(f"{where}: expected a Var, got {v!r}")
        if id(v) in bound:
            raise JaxprTypeError(f"{where}: variable {v!r} is bound twice")
        if not isinstance(v.aval, ShapedArray):
            raise JaxprTypeError(f"{where}: variable has no ShapedArray type: {v.aval!r}")
        bound.add(id(v))

    def read(a, where):
        if isinstance(a, Literal):
            if a.aval.shape != ():
                raise JaxprTypeError(f"{where}: literal {a!r} is not a scalar")
            return a.aval
        if not isinstance(a, Var) or id(a) not in bound:
            raise JaxprTypeError(f"{where}: variable {a!r} is used before it is defined")
        return a.aval

    for v in jaxpr.constvars:
        bind_var(v, "constvars")
    for v in jaxpr.invars:
        bind_var(v, "invars")
    for i, eqn in enumerate(jaxpr.eqns):
        where = f"equation {i} ({eqn.primitive.name})"
        in_avals = [read(a, where) for a in eqn.invars]
        for value in eqn.params.values():
            for sub in value if isinstance(value, tuple) else (value,):
                if isinstance(sub, (Jaxpr, ClosedJaxpr)):
                    check_jaxpr(sub)
        try:
            expected = eqn.primitive.abstract_eval(*in_avals, **eqn.params)
        except (TypeError, ValueError) as err:
            raise JaxprTypeError(f"{where}: the inputs {[a.str_short() for a in in_avals]} "
                                 f"are rejected by its shape rule: {err}") from err
        if len(expected) != len(eqn.outvars):
            raise JaxprTypeError(f"{where}: {len(eqn.outvars)} outputs, rule gives {len(expected)}")
        for out, exp in zip(eqn.outvars, expected, strict=True):
            if not same_type(out.aval, exp):
                raise JaxprTypeError(f"{where}: output typed {out.aval.str_short()} but the "
                                     f"rule gives {exp.str_short()}")
            bind_var(out, where)
    for a in jaxpr.outvars:
        read(a, "outvars")
