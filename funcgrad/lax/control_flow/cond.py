"""``cond`` and ``switch``: run one of several branches, chosen by a value.

``cond_p`` takes ``(index, *operands)`` and holds ``branches``, one closed
jaxpr per branch (no constants; all with the same input and output types).
Every rule transforms the branches and binds ``cond_p`` again:

* jvp: the jvp of every branch, with the same tangents zero in all;
* partial evaluation (reverse mode): each branch split into known and
  unknown parts; the known ``cond`` also returns the residuals of every
  branch (zeros for the branches not taken), the unknown one reads them;
* transpose: the transpose of every branch;
* vmap: with an unbatched index the branches are batched; with a batched
  index every branch runs on the whole batch and ``select_n`` picks each
  member's result (as in JAX).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from funcgrad import tree_util
from funcgrad.core.ad_util import Zero, is_undefined_primal
from funcgrad.core.batching import move_axis
from funcgrad.core.ir import ClosedJaxpr, Jaxpr, JaxprEqn, has_effects
from funcgrad.core.primitive import Primitive
from funcgrad.core.staging import eval_jaxpr
from funcgrad.core.trace import Tracer, full_raise, get_aval
from funcgrad.lax.control_flow.common import (check_operands, join_weak, leaf_names, scalar_operand,
                                              trace_body, with_consts)
from funcgrad.transforms.jaxpr_transforms import (batch_jaxpr, insert_unused_invars,
                                                  jvp_jaxpr, move_consts_to_invars,
                                                  partial_eval_jaxpr, prune_jaxpr,
                                                  stage_closed, transpose_jaxpr)

cond_p = Primitive("cond", multiple_results=True)


def _clamped(index, n: int) -> int:
    return min(max(int(index), 0), n - 1)


def bind_cond(index, operands: Sequence, branches: Sequence[ClosedJaxpr]) -> list:
    """Bind ``cond_p`` on branches that may have constants (the result of a
    transformation): each branch's constants become operands, which the
    other branches take and ignore."""
    converted = [move_consts_to_invars(b) for b in branches]
    const_avals = [[get_aval(c) for c in consts] for _, consts in converted]
    all_consts = [c for _, consts in converted for c in consts]
    new_branches = []
    for k, (b, _) in enumerate(converted):
        before = [a for avals in const_avals[:k] for a in avals]
        after = [a for avals in const_avals[k + 1:] for a in avals]
        b = insert_unused_invars(b, 0, before)
        b = insert_unused_invars(b, len(before) + len(const_avals[k]), after)
        new_branches.append(b)
    return cond_p.bind(index, *all_consts, *operands, branches=tuple(new_branches))


# ------------------------------------------------------------ eager and types
def _cond_impl(index, *operands, branches):
    branch = branches[_clamped(index, len(branches))]
    return eval_jaxpr(branch.jaxpr, branch.consts, *operands)


def _cond_abstract_eval(index, *operands, branches):
    if index.shape != () or index.dtype != np.int32:
        raise TypeError(f"cond: the branch index must be an int32 scalar, got "
                        f"{index.str_short()}")
    for k, b in enumerate(branches):
        check_operands(f"cond branch {k}", operands, b.in_avals)
    return join_weak([b.out_avals for b in branches])


cond_p.impl = _cond_impl
cond_p.abstract_eval = _cond_abstract_eval


# ------------------------------------------------------------ jvp
def _cond_jvp(primals, tangents, *, branches):
    index, operands = primals[0], primals[1:]
    op_tangents = tangents[1:]
    nonzero = tuple(type(t) is not Zero for t in op_tangents)
    n_out = len(branches[0].out_avals)
    zero_patterns = [jvp_jaxpr(b, nonzero)[1] for b in branches]
    out_nonzero = tuple(not all(z[k] for z in zero_patterns) for k in range(n_out))
    jvp_branches = [jvp_jaxpr(b, nonzero, out_nonzero) for b in branches]
    zeros_out = jvp_branches[0][1]
    outs = bind_cond(index, [*operands, *[t for t in op_tangents if type(t) is not Zero]],
                     [jb for jb, _ in jvp_branches])
    primals_out, it = outs[:n_out], iter(outs[n_out:])
    out_avals = join_weak([b.out_avals for b in branches])
    tangents_out = [Zero(a.strip_weak_type()) if z else next(it)
                    for a, z in zip(out_avals, zeros_out, strict=True)]
    return primals_out, tangents_out


cond_p.jvp = _cond_jvp


# ------------------------------------------------------------ partial evaluation
def _zeros_like_avals(avals) -> list:
    from funcgrad.lax import full
    return [full(a.shape, 0, a.dtype) for a in avals]


def _cond_partial_eval(trace, tracers, *, branches):
    from funcgrad.transforms.partial_eval import KnownTracer
    index_t, op_tracers = tracers[0], tracers[1:]
    builder = trace.main.global_data
    if type(index_t) is not KnownTracer:
        # An index computed from unknown values: stage the whole cond.
        staged = [builder.new_const(trace, t.value) if type(t) is KnownTracer else t
                  for t in tracers]
        return builder.add_eqn(trace, cond_p, staged,
                               join_weak([b.out_avals for b in branches]),
                               {"branches": branches})
    if not isinstance(index_t.value, Tracer):
        # The branch is known now: only it runs (eager reverse mode).
        branch = branches[_clamped(index_t.value, len(branches))]
        outs = eval_jaxpr(branch.jaxpr, branch.consts, *op_tracers)
        return [full_raise(trace, o) for o in outs]

    unknown = tuple(type(t) is not KnownTracer for t in op_tracers)
    n_out = len(branches[0].out_avals)
    first = [partial_eval_jaxpr(b, unknown)[2] for b in branches]
    out_unknown = tuple(any(f[k] for f in first) for k in range(n_out))
    splits = [partial_eval_jaxpr(b, unknown, out_unknown) for b in branches]
    n_known_out = out_unknown.count(False)
    res_avals = [list(known.out_avals[n_known_out:]) for known, _, _, _ in splits]

    # The known cond returns every branch's residuals: its own, and zeros in
    # the slots of the others.
    known_branches = []
    for k, (known, _, _, _) in enumerate(splits):
        def known_fun(*args, known=known, k=k):
            outs = eval_jaxpr(known.jaxpr, known.consts, *args)
            res = []
            for j, avals in enumerate(res_avals):
                res += outs[n_known_out:] if j == k else _zeros_like_avals(avals)
            return list(outs[:n_known_out]) + res
        known_branches.append(stage_closed(known_fun, known.in_avals, "known_branch"))
    unknown_branches = []
    for k, (_, unknown_jaxpr, _, _) in enumerate(splits):
        before = [a for avals in res_avals[:k] for a in avals]
        after = [a for avals in res_avals[k + 1:] for a in avals]
        b = insert_unused_invars(unknown_jaxpr, 0, before)
        unknown_branches.append(insert_unused_invars(b, len(before) + len(res_avals[k]), after))

    known_outs = bind_cond(index_t.value,
                           [t.value for t in op_tracers if type(t) is KnownTracer],
                           known_branches)
    residuals = known_outs[n_known_out:]
    staged_in = ([builder.new_const(trace, index_t.value)]
                 + [builder.new_const(trace, r) for r in residuals]
                 + [t for t in op_tracers if type(t) is not KnownTracer])
    unknown_outs = builder.add_eqn(trace, cond_p, staged_in,
                                   join_weak([b.out_avals for b in unknown_branches]),
                                   {"branches": tuple(unknown_branches)})
    it_known, it_unknown = iter(known_outs[:n_known_out]), iter(unknown_outs)
    return [next(it_unknown) if u else KnownTracer(trace, next(it_known)) for u in out_unknown]


cond_p.partial_eval = _cond_partial_eval


# ------------------------------------------------------------ transpose
def _cond_transpose(cts, index, *operands, branches):
    linear = tuple(is_undefined_primal(o) for o in operands)
    zero_cts = tuple(type(c) is Zero for c in cts)
    transposed = [transpose_jaxpr(b, linear, zero_cts) for b in branches]
    args = ([o for o in operands if not is_undefined_primal(o)]
            + [c for c in cts if type(c) is not Zero])
    outs = iter(bind_cond(index, args, transposed))
    return [None] + [next(outs) if lin else None for lin in linear]


cond_p.transpose = _cond_transpose


# ------------------------------------------------------------ batching
def _cond_batch(args, dims, axis_size, *, branches):
    from funcgrad.lax.elementwise import select_n
    from funcgrad.lax.shape import broadcast_in_dim
    index, index_dim = args[0], dims[0]
    operands = [x if d is None else move_axis(x, d, 0) for x, d in zip(args[1:], dims[1:],
                                                                       strict=True)]
    op_dims = tuple(None if d is None else 0 for d in dims[1:])
    n_out = len(branches[0].out_avals)
    if index_dim is None:
        first = [batch_jaxpr(b, op_dims, axis_size)[1] for b in branches]
        out_batched = tuple(any(f[k] for f in first) for k in range(n_out))
        batched = [batch_jaxpr(b, op_dims, axis_size, out_batched)[0] for b in branches]
        outs = bind_cond(index, operands, batched)
        return outs, [0 if b else None for b in out_batched]
    # Members take different branches: run all, pick per member.
    if any(has_effects(e.primitive, e.params) for b in branches for e in b.eqns):
        raise NotImplementedError(
            "vmap of cond/switch with a batched predicate runs every branch for every member, "
            "so a branch with side effects (funcgrad.debug.print) would act for members that "
            "did not take it; move the effect out of the branch or make the predicate "
            "unbatched")
    index = move_axis(index, index_dim, 0)
    results = []
    for b in branches:
        bj = batch_jaxpr(b, op_dims, axis_size, True)[0]
        results.append(eval_jaxpr(bj.jaxpr, bj.consts, *operands))
    outs = []
    for k in range(n_out):
        cases = [r[k] for r in results]
        shape = get_aval(cases[0]).shape
        which = broadcast_in_dim(index, shape, (0,)) if len(shape) > 1 else index
        outs.append(select_n(which, *cases))
    return outs, [0] * n_out


cond_p.batch = _cond_batch


# ------------------------------------------------------------ dead code
def _cond_dce(eqn: JaxprEqn, used: list[bool]) -> JaxprEqn:
    branches = eqn.params["branches"]
    pruned = [prune_jaxpr(b, tuple(used)) for b in branches]
    used_in = [any(p[1][i] for p in pruned) for i in range(len(eqn.invars) - 1)]
    new_branches = tuple(
        ClosedJaxpr(Jaxpr([], [v for v, u in zip(b.jaxpr.invars, used_in, strict=True) if u],
                          list(b.jaxpr.outvars), list(b.jaxpr.eqns)), list(b.consts))
        for b, _ in pruned)
    invars = [eqn.invars[0]] + [a for a, u in zip(eqn.invars[1:], used_in, strict=True) if u]
    outvars = [v for v, u in zip(eqn.outvars, used, strict=True) if u]
    return JaxprEqn(cond_p, invars, outvars, {"branches": new_branches})


cond_p.dce = _cond_dce


# ------------------------------------------------------------ the API
def _trace_branches(what: str, funs: Sequence[Callable], operands: tuple):
    leaves, in_tree = tree_util.tree_flatten(operands)
    avals = [get_aval(x) for x in leaves]
    names = leaf_names("operands", operands)
    traced = [trace_body(f, in_tree, avals, names, f"branch{k}", what)
              for k, f in enumerate(funs)]
    out_tree = traced[0][2]
    for k, (jaxpr, _, tree) in enumerate(traced):
        if tree != out_tree:
            raise TypeError(f"{what}: branch {k} returns a value of structure {tree} but "
                            f"branch 0 returns {out_tree}; all branches must return the "
                            f"same structure")
        for j, (a, b) in enumerate(zip(jaxpr.out_avals, traced[0][0].out_avals, strict=True)):
            if a.shape != b.shape or a.dtype != b.dtype:
                raise TypeError(f"{what}: output leaf {j} is {a.str_short()} in branch {k} "
                                f"but {b.str_short()} in branch 0; all branches must return "
                                f"the same shapes and dtypes")
    return leaves, traced, out_tree


def _switch_flat(what: str, index, funs: Sequence[Callable], operands: tuple):
    leaves, traced, out_tree = _trace_branches(what, funs, operands)
    outs = bind_cond(index, leaves, [with_consts(jaxpr, consts) for jaxpr, consts, _ in traced])
    return tree_util.tree_unflatten(out_tree, outs)


def cond(pred, true_fun: Callable, false_fun: Callable, *operands):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``,
    with only the chosen branch evaluated at run time.

    Both branches are traced (they must return the same structure, shapes
    and dtypes); ``pred`` is a scalar boolean or number and may be a traced
    value, unlike a Python ``if``.

    >>> import funcgrad
    >>> from funcgrad import lax
    >>> f = funcgrad.jit(lambda x: lax.cond(x > 0, lambda v: v * 2.0, lambda v: -v, x))
    >>> float(f(3.0)), float(f(-1.5))
    (6.0, 1.5)
    """
    from funcgrad.lax.elementwise import convert_element_type, ne
    scalar_operand("cond: pred", pred, "biuf")
    dtype = get_aval(pred).dtype
    if dtype != np.bool_:
        pred = ne(pred, np.zeros((), dtype))
    index = convert_element_type(pred, np.int32)
    return _switch_flat("cond", index, [false_fun, true_fun], operands)


def switch(index, branches: Sequence[Callable], *operands):
    """``branches[index](*operands)``, with ``index`` clamped to
    ``[0, len(branches) - 1]`` and only that branch evaluated at run time.

    >>> from funcgrad import lax
    >>> branches = [lambda x: x + 1.0, lambda x: x * 10.0, lambda x: -x]
    >>> [float(lax.switch(i, branches, 2.0)) for i in (0, 1, 2, 7)]
    [3.0, 20.0, -2.0, -2.0]
    """
    from funcgrad.lax.elementwise import clamp, convert_element_type
    branches = list(branches)
    if not branches:
        raise ValueError("switch: branches must be a non-empty sequence of functions")
    scalar_operand("switch: index", index, "iu")
    if len(branches) == 1:
        return branches[0](*operands)
    # Clamp in the index's own dtype: converting first would wrap large
    # values around.
    dtype = get_aval(index).dtype
    index = convert_element_type(clamp(np.zeros((), dtype), index,
                                       np.array(len(branches) - 1, dtype)), np.int32)
    return _switch_flat("switch", index, branches, operands)
