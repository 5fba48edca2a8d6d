"""Transposition of linear jaxprs: the backward pass of reverse mode.

A linear jaxpr (what :func:`funcgrad.linearize` produces, or any function
traced by :func:`linear_transpose`) maps tangents to tangents.  Its transpose
maps output cotangents to input cotangents: equations are visited in reverse
and each linear primitive's ``transpose`` rule turns the cotangents of its
outputs into cotangents of its linear operands, which accumulate (sum) where
a variable is used more than once.  Only linear primitives need such rules.

Equations of the jaxpr that do not depend on the linear inputs (they compute
constant factors from residuals) are evaluated forwards first.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from funcgrad import tree_util
from funcgrad.core.ad_util import UndefinedPrimal, Zero, add_tangents, instantiate
from funcgrad.core.ir import Jaxpr, Literal
from funcgrad.core.staging import argument_names, trace_to_jaxpr
from funcgrad.core.trace import bind, get_aval


def backward_pass(jaxpr: Jaxpr, consts: Sequence, args: Sequence, cts_out: Sequence) -> list:
    """Cotangents of ``jaxpr``'s inputs given those of its outputs.

    ``args`` holds one entry per invar: an :class:`UndefinedPrimal` for the
    linear inputs, a value for the others.  ``cts_out`` may contain ``Zero``.
    Returns one cotangent (possibly ``Zero``) per invar; ``None`` for the
    inputs that were given values.
    """
    env: dict[int, Any] = {}
    linear: set[int] = set()

    def read(atom):
        return atom.value() if isinstance(atom, Literal) else env[id(atom)]

    for var, value in zip(jaxpr.constvars, consts, strict=True):
        env[id(var)] = value
    for var, value in zip(jaxpr.invars, args, strict=True):
        if type(value) is UndefinedPrimal:
            linear.add(id(var))
        else:
            env[id(var)] = value

    # Forward sweep: evaluate what does not depend on the linear inputs.
    linear_eqns = []
    for eqn in jaxpr.eqns:
        if any(not isinstance(a, Literal) and id(a) in linear for a in eqn.invars):
            linear_eqns.append(eqn)
            linear.update(id(v) for v in eqn.outvars)
            continue
        outs = bind(eqn.primitive, [read(a) for a in eqn.invars], eqn.params)
        outs = outs if eqn.primitive.multiple_results else [outs]
        for var, value in zip(eqn.outvars, outs, strict=True):
            env[id(var)] = value

    cts: dict[int, Any] = {}

    def write_ct(var, ct):
        if isinstance(var, Literal) or id(var) not in linear or type(ct) is Zero or ct is None:
            return
        cts[id(var)] = add_tangents(cts[id(var)], ct) if id(var) in cts else ct

    for var, ct in zip(jaxpr.outvars, cts_out, strict=True):
        write_ct(var, ct)

    for eqn in reversed(linear_eqns):
        eqn_cts = [cts.pop(id(v), None) for v in eqn.outvars]
        if all(ct is None for ct in eqn_cts):
            continue  # nothing flows back through this equation
        eqn_cts = [Zero(v.aval.strip_weak_type()) if ct is None else ct
                   for v, ct in zip(eqn.outvars, eqn_cts, strict=True)]
        rule = eqn.primitive.transpose
        if rule is None:
            why = eqn.primitive.not_applicable.get("transpose", "no rule is declared")
            raise NotImplementedError(
                f"Transpose rule (for reverse-mode differentiation) of '{eqn.primitive.name}' "
                f"is not implemented: {why}")
        operands = [UndefinedPrimal(a.aval) if not isinstance(a, Literal) and id(a) in linear
                    else read(a) for a in eqn.invars]
        cts_in = rule(eqn_cts, *operands, **eqn.params)
        if len(cts_in) != len(eqn.invars):
            raise AssertionError(f"internal error: the transpose rule of {eqn.primitive.name} "
                                 f"returned {len(cts_in)} cotangents for {len(eqn.invars)} operands")
        for var, ct in zip(eqn.invars, cts_in, strict=True):
            write_ct(var, ct)

    return [cts.get(id(v), Zero(v.aval.strip_weak_type())) if type(a) is UndefinedPrimal else None
            for v, a in zip(jaxpr.invars, args, strict=True)]


def linear_transpose(fun: Callable, *primals) -> Callable:
    """The transpose of a linear function, as a function of output cotangents.

    ``primals`` fix the types (shape and dtype) of ``fun``'s arguments; their
    values are not used.  ``fun`` must be linear in all its arguments.

    >>> import funcgrad.numpy as jnp
    >>> f_t = linear_transpose(lambda x: 2.0 * jnp.sum(x), jnp.ones(3))
    >>> f_t(1.0)
    (Array([2., 2., 2.], dtype=float64),)
    """
    names, in_tree = argument_names(fun, primals, {})
    flat_primals = tree_util.tree_leaves((primals, {}))
    in_avals = [get_aval(p).strip_weak_type() for p in flat_primals]
    out_tree_cell = []

    def flat_fun(*flat_args):
        args, _ = tree_util.tree_unflatten(in_tree, list(flat_args))
        out = fun(*args)
        flat_out, out_tree = tree_util.tree_flatten(out)
        out_tree_cell.append(out_tree)
        return flat_out

    jaxpr, consts = trace_to_jaxpr(flat_fun, in_avals, names,
                                   getattr(fun, "__name__", "fun"), "linear_transpose")
    out_tree = out_tree_cell[0]

    def transposed(*cts):
        ct_tree = cts[0] if len(cts) == 1 else cts
        flat_cts, tree = tree_util.tree_flatten(ct_tree)
        if tree != out_tree:
            raise TypeError(f"linear_transpose: cotangents must have the structure of the "
                            f"function's output {out_tree}, got {tree}")
        for ct, var in zip(flat_cts, jaxpr.outvars, strict=True):
            if get_aval(ct).shape != var.aval.shape:
                raise ValueError(f"linear_transpose: a cotangent of shape {get_aval(ct).shape} "
                                 f"was given for an output of shape {var.aval.shape}")
        args = [UndefinedPrimal(a) for a in in_avals]
        cts_in = backward_pass(jaxpr, consts, args, flat_cts)
        cts_in = [instantiate(ct) for ct in cts_in]
        return tree_util.tree_unflatten(in_tree, cts_in)[0]

    return transposed
