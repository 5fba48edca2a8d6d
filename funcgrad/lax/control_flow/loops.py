"""``while_loop`` and ``fori_loop``.

``while_p`` takes ``(*cond_consts, *body_consts, *init_carry)`` and holds
``cond_jaxpr`` (``cond_consts + carry -> bool``) and ``body_jaxpr``
(``body_consts + carry -> carry``), both without constants.

* jvp: the carry gains tangents (a fixed point decides which carries have
  non-zero tangents);
* linearize stages the whole loop; transposing it (reverse mode) is
  refused: the trip count is only known at run time, so the iterations'
  values cannot be kept for the backward pass (``fori_loop`` with concrete
  bounds is a ``scan`` and supports it);
* vmap: with a predicate that is the same for every member the body is
  batched; when members may stop at different iterations, each member runs
  its own loop to its own end (a ``scan`` over the batch around the
  unbatched loop).  The result is what JAX computes by running every member
  in lockstep until all are done, without the wasted iterations.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from funcgrad import tree_util
from funcgrad.core.ad_util import Zero, differentiable_dtype, instantiate
from funcgrad.core.batching import batch_to, move_axis
from funcgrad.core.ir import ClosedJaxpr, Jaxpr, Var, sub_jaxprs
from funcgrad.core.primitive import Primitive
from funcgrad.core.staging import eval_jaxpr
from funcgrad.core.trace import Tracer, get_aval
from funcgrad.lax.control_flow.common import (check_carry, check_operands, join_weak, leaf_names,
                                              promote_weak_carry, trace_body)
from funcgrad.transforms.jaxpr_transforms import (batch_jaxpr, insert_unused_invars,
                                                  jvp_jaxpr, move_consts_to_invars,
                                                  partial_eval_jaxpr, permute_invars,
                                                  prune_jaxpr, stage_closed)

while_p = Primitive("while", multiple_results=True)


def bind_while(cond_jaxpr, cond_consts, body_jaxpr, body_consts, init) -> list:
    """Bind ``while_p`` on jaxprs that may have constants (they become
    leading consts operands)."""
    cond_jaxpr, extra_c = move_consts_to_invars(cond_jaxpr)
    body_jaxpr, extra_b = move_consts_to_invars(body_jaxpr)
    cond_consts = extra_c + list(cond_consts)
    body_consts = extra_b + list(body_consts)
    return while_p.bind(*cond_consts, *body_consts, *init, cond_jaxpr=cond_jaxpr,
                        body_jaxpr=body_jaxpr, cond_nconsts=len(cond_consts),
                        body_nconsts=len(body_consts))


def _split(args, cond_nconsts, body_nconsts):
    nc, nb = cond_nconsts, body_nconsts
    return list(args[:nc]), list(args[nc:nc + nb]), list(args[nc + nb:])


# ------------------------------------------------------------ eager and types
def _while_impl(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cconsts, bconsts, carry = _split(args, cond_nconsts, body_nconsts)
    while bool(eval_jaxpr(cond_jaxpr.jaxpr, cond_jaxpr.consts, *cconsts, *carry)[0]):
        carry = eval_jaxpr(body_jaxpr.jaxpr, body_jaxpr.consts, *bconsts, *carry)
    return carry


def _while_abstract_eval(*avals, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cconsts, bconsts, carry = _split(avals, cond_nconsts, body_nconsts)
    check_operands("while_loop cond", cconsts + carry, cond_jaxpr.in_avals)
    check_operands("while_loop body", bconsts + carry, body_jaxpr.in_avals)
    return join_weak([carry, body_jaxpr.out_avals])


while_p.impl = _while_impl
while_p.abstract_eval = _while_abstract_eval


# ------------------------------------------------------------ jvp
def _while_jvp(primals, tangents, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cconsts, bconsts, init = _split(primals, cond_nconsts, body_nconsts)
    _, bconst_t, init_t = _split(tangents, cond_nconsts, body_nconsts)
    bconst_nz = [type(t) is not Zero for t in bconst_t]
    carry_nz = [type(t) is not Zero for t in init_t]
    # A carry has a non-zero tangent if it starts with one or the body gives
    # it one from another carry or a const: iterate to the fixed point.
    while True:
        _, zeros_out = jvp_jaxpr(body_jaxpr, tuple(bconst_nz + carry_nz))
        new = [nz or (not z and differentiable_dtype(a.dtype))
               for nz, z, a in zip(carry_nz, zeros_out, body_jaxpr.out_avals, strict=True)]
        if new == carry_nz:
            break
        carry_nz = new
    body_jvp, _ = jvp_jaxpr(body_jaxpr, tuple(bconst_nz + carry_nz), tuple(carry_nz))
    nb, n = len(bconsts), len(init)
    k_bt, k_ct = sum(bconst_nz), sum(carry_nz)
    # jvp_jaxpr orders inputs (consts, carry, const tangents, carry
    # tangents); the loop wants (consts, const tangents | carry, carry
    # tangents).
    order = (list(range(nb)) + list(range(nb + n, nb + n + k_bt))
             + list(range(nb, nb + n)) + list(range(nb + n + k_bt, nb + n + k_bt + k_ct)))
    body_new = permute_invars(body_jvp, order)
    tangent_avals = [a.strip_weak_type() for a, nz in zip(body_jaxpr.out_avals, carry_nz,
                                                          strict=True) if nz]
    cond_new = insert_unused_invars(cond_jaxpr, cond_nconsts + n, tangent_avals)
    init_tangents = [instantiate(t) if type(t) is Zero else t
                     for t, nz in zip(init_t, carry_nz, strict=True) if nz]
    outs = bind_while(cond_new, cconsts, body_new,
                      bconsts + [t for t in bconst_t if type(t) is not Zero],
                      init + init_tangents)
    it = iter(outs[n:])
    out_avals = _while_abstract_eval(*[get_aval(x) for x in primals], cond_jaxpr=cond_jaxpr,
                                     body_jaxpr=body_jaxpr, cond_nconsts=cond_nconsts,
                                     body_nconsts=body_nconsts)
    tangents_out = [next(it) if nz else Zero(a.strip_weak_type())
                    for nz, a in zip(carry_nz, out_avals, strict=True)]
    return outs[:n], tangents_out


while_p.jvp = _while_jvp


REVERSE_MODE_MESSAGE = (
    "Reverse-mode differentiation (grad, vjp, jacrev, hessian) of lax.while_loop is not "
    "supported: its trip count is only known at run time, so the values of every "
    "iteration cannot be stored for the backward pass. Use lax.fori_loop with concrete "
    "(Python int) bounds or lax.scan, which support reverse mode, or forward mode "
    "(jvp, jacfwd).")


def _while_partial_eval(trace, tracers, *, cond_jaxpr, body_jaxpr, cond_nconsts,
                        body_nconsts):
    # The trip count is only known at run time, so the loop cannot be split
    # into a known part and a linear part fed by stored iterations.  The
    # carries computable from known values alone (the primal values under
    # linearize) come from a known loop run now; the others from the whole
    # loop, staged (so linearize and jacfwd work; transposing it, which
    # reverse mode needs, is refused).
    from funcgrad.transforms.partial_eval import KnownTracer
    params = dict(cond_jaxpr=cond_jaxpr, body_jaxpr=body_jaxpr, cond_nconsts=cond_nconsts,
                  body_nconsts=body_nconsts)
    builder = trace.main.global_data
    unknown = [type(t) is not KnownTracer for t in tracers]
    cconst_uk, bconst_uk, carry_uk = _split(unknown, cond_nconsts, body_nconsts)
    while True:
        out_uk = partial_eval_jaxpr(body_jaxpr, tuple(bconst_uk + carry_uk))[2]
        new = [a or b for a, b in zip(carry_uk, out_uk, strict=True)]
        if new == carry_uk:
            break
        carry_uk = new
    pred_uk = partial_eval_jaxpr(cond_jaxpr, tuple(cconst_uk + carry_uk))[2][0]
    staged = [builder.new_const(trace, t.value) if type(t) is KnownTracer else t
              for t in tracers]
    out_avals = _while_abstract_eval(*[t.aval for t in staged], **params)
    staged_outs = builder.add_eqn(trace, while_p, staged, out_avals, params)
    if pred_uk or all(carry_uk):
        return staged_outs
    known_carry = [not u for u in carry_uk]
    cond_known = _restrict_inputs(prune_jaxpr(cond_jaxpr, (True,))[0],
                                  [not u for u in cconst_uk] + known_carry)
    body_known = _restrict_inputs(prune_jaxpr(body_jaxpr, tuple(known_carry))[0],
                                  [not u for u in bconst_uk] + known_carry)
    cconsts, bconsts, init = _split(tracers, cond_nconsts, body_nconsts)
    known_outs = iter(bind_while(
        cond_known, [t.value for t, u in zip(cconsts, cconst_uk, strict=True) if not u],
        body_known, [t.value for t, u in zip(bconsts, bconst_uk, strict=True) if not u],
        [t.value for t, u in zip(init, carry_uk, strict=True) if not u]))
    return [o if u else KnownTracer(trace, next(known_outs))
            for o, u in zip(staged_outs, carry_uk, strict=True)]


def _restrict_inputs(closed, keep):
    """``closed`` without the inputs not in ``keep`` (which it must not use)."""
    jaxpr = closed.jaxpr
    dropped = {id(v) for v, k in zip(jaxpr.invars, keep, strict=True) if not k}
    assert not any(isinstance(a, Var) and id(a) in dropped
                   for e in jaxpr.eqns for a in e.invars), "a dropped input is used"
    return ClosedJaxpr(Jaxpr(list(jaxpr.constvars),
                             [v for v, k in zip(jaxpr.invars, keep, strict=True) if k],
                             list(jaxpr.outvars), list(jaxpr.eqns)), list(closed.consts))


def _while_transpose(cts, *args, **params):
    raise ValueError(REVERSE_MODE_MESSAGE + " (lax.fori_loop with traced bounds is a "
                     "while_loop too.)")


while_p.partial_eval = _while_partial_eval
while_p.transpose = _while_transpose


# ------------------------------------------------------------ batching
def _while_batch(args, dims, axis_size, *, cond_jaxpr, body_jaxpr, cond_nconsts,
                 body_nconsts):
    params = dict(cond_jaxpr=cond_jaxpr, body_jaxpr=body_jaxpr, cond_nconsts=cond_nconsts,
                  body_nconsts=body_nconsts)
    args = [x if d is None else move_axis(x, d, 0) for x, d in zip(args, dims, strict=True)]
    batched = [d is not None for d in dims]
    cconst_b, bconst_b, carry_b = _split(batched, cond_nconsts, body_nconsts)

    def as_dims(flags):
        return tuple(0 if f else None for f in flags)

    while True:
        _, out_b = batch_jaxpr(body_jaxpr, as_dims(bconst_b + carry_b), axis_size)
        new = [c or o for c, o in zip(carry_b, out_b, strict=True)]
        if new == carry_b:
            break
        carry_b = new
    (pred_batched,) = batch_jaxpr(cond_jaxpr, as_dims(cconst_b + carry_b), axis_size)[1]
    if pred_batched:
        return _members_run_alone(args, batched, axis_size, params)

    body_b, _ = batch_jaxpr(body_jaxpr, as_dims(bconst_b + carry_b), axis_size, tuple(carry_b))
    cond_b, _ = batch_jaxpr(cond_jaxpr, as_dims(cconst_b + carry_b), axis_size)
    cconsts, bconsts, init = _split(args, cond_nconsts, body_nconsts)
    _, _, init_b = _split(batched, cond_nconsts, body_nconsts)
    init = [batch_to(x, 0 if was else None, axis_size, 0) if want and not was else x
            for x, was, want in zip(init, init_b, carry_b, strict=True)]
    outs = bind_while(cond_b, cconsts, body_b, bconsts, init)
    return outs, [0 if b else None for b in carry_b]


def _members_run_alone(args, batched, axis_size, params, primitive=None):
    """vmap of a loop whose members stop at different iterations: a map over
    the batch of the unbatched loop, so each member does only its own
    iterations.  ``args`` are batched at axis 0 where ``batched``;
    ``primitive`` (default ``while_p``) is the loop bound per member."""
    from funcgrad.lax.control_flow.scan import scan_p
    primitive = while_p if primitive is None else primitive
    unbatched = [x for x, b in zip(args, batched, strict=True) if not b]
    per_member = [x for x, b in zip(args, batched, strict=True) if b]

    def member(*xs):
        it_u, it_m = iter(xs[:len(unbatched)]), iter(xs[len(unbatched):])
        operands = [next(it_m) if b else next(it_u) for b in batched]
        return primitive.bind(*operands, **params)

    avals = [get_aval(x) for x in unbatched]
    avals += [get_aval(x).update(shape=get_aval(x).shape[1:]) for x in per_member]
    body = stage_closed(member, avals, "member_loop")
    body, extra = move_consts_to_invars(body)
    outs = scan_p.bind(*extra, *unbatched, *per_member, jaxpr=body, length=axis_size,
                       reverse=False, num_consts=len(extra) + len(unbatched), num_carry=0,
                       unroll=1)
    return outs, [0] * len(outs)


def has_member_loops(jaxpr) -> bool:
    """Whether ``jaxpr`` (a batched loop body) runs some while loop member by
    member (the map :func:`_members_run_alone` makes), at any depth."""
    from funcgrad.lax.control_flow.scan import scan_p
    for eqn in jaxpr.eqns:
        if (eqn.primitive is scan_p and eqn.params["num_carry"] == 0
                and any(e.primitive is while_p for e in eqn.params["jaxpr"].jaxpr.eqns)):
            return True
        if any(has_member_loops(sub) for sub in sub_jaxprs(eqn.params)):
            return True
    return False


while_p.batch = _while_batch


# ------------------------------------------------------------ the API
def while_loop(cond_fun: Callable, body_fun: Callable, init_val):
    """``val = init_val; while cond_fun(val): val = body_fun(val)``, as one
    primitive: under ``jit`` it compiles to a native ``while`` loop.

    ``cond_fun`` returns a scalar boolean; ``body_fun`` returns a value of
    the structure, shapes and dtypes of ``init_val``.  Differentiable in
    forward mode (``jvp``, ``jacfwd``); for reverse mode use ``fori_loop``
    with concrete bounds or ``scan``.

    >>> import funcgrad
    >>> from funcgrad import lax
    >>> collatz = lambda n: lax.while_loop(lambda c: c[0] != 1,
    ...     lambda c: (lax.select(c[0] % 2 == 0, c[0] // 2, 3 * c[0] + 1), c[1] + 1), (n, 0))
    >>> int(funcgrad.jit(collatz)(27)[1])
    111
    """
    init_leaves, in_tree = tree_util.tree_flatten(init_val)
    names = leaf_names("init_val", init_val)
    args_tree = tree_util.tree_structure((init_val,))
    for attempt in range(2):
        avals = [get_aval(x) for x in init_leaves]
        body, body_consts, out_tree = trace_body(body_fun, args_tree, avals, names,
                                                 "body_fun", "while_loop")
        check_carry("while_loop body_fun", names, in_tree, out_tree, avals, body.out_avals,
                    types=False)
        promoted = promote_weak_carry(init_leaves, avals, body.out_avals)
        if promoted is None or attempt:
            break
        init_leaves = promoted
    check_carry("while_loop body_fun", names, in_tree, out_tree, avals, body.out_avals)
    cond, cond_consts, _ = trace_body(cond_fun, args_tree, avals, names, "cond_fun",
                                      "while_loop")
    pred = cond.out_avals
    if len(pred) != 1 or pred[0].shape != () or pred[0].dtype != np.bool_:
        got = ", ".join(a.str_short() for a in pred)
        raise TypeError(f"while_loop: cond_fun must return a scalar boolean, got {got}")
    outs = while_p.bind(*cond_consts, *body_consts, *init_leaves, cond_jaxpr=cond,
                        body_jaxpr=body, cond_nconsts=len(cond_consts),
                        body_nconsts=len(body_consts))
    return tree_util.tree_unflatten(in_tree, outs)


def fori_loop(lower, upper, body_fun: Callable, init_val, *, unroll: int | None = None):
    """``val = init_val; for i in range(lower, upper): val = body_fun(i, val)``.

    With concrete bounds (Python or NumPy integers) the loop is a ``scan``
    of known length: it supports reverse-mode differentiation and compiles
    to a native ``for`` loop.  Traced bounds give a ``while_loop``.

    >>> from funcgrad import lax
    >>> float(lax.fori_loop(0, 10, lambda i, x: x + i, 0.0))
    45.0
    """
    from funcgrad.lax.control_flow.scan import scan
    from funcgrad.lax.elementwise import convert_element_type, lt
    lo_aval, hi_aval = get_aval(lower), get_aval(upper)
    for what, aval in (("lower", lo_aval), ("upper", hi_aval)):
        if aval.ndim != 0 or aval.dtype.kind not in "iu":
            raise TypeError(f"fori_loop: {what} must be a scalar integer, got "
                            f"{aval.str_short()}")
    # The counter has the bounds' dtype; a Python int adapts to the other.
    if lo_aval.weak_type != hi_aval.weak_type:
        dtype = hi_aval.dtype if lo_aval.weak_type else lo_aval.dtype
    else:
        dtype = np.result_type(lo_aval.dtype, hi_aval.dtype)
    weak = lo_aval.weak_type and hi_aval.weak_type
    if not isinstance(lower, Tracer) and not isinstance(upper, Tracer):
        length = max(int(upper) - int(lower), 0)
        start = convert_element_type(int(lower), dtype, weak_type=weak)

        def step(carry, _):
            i, val = carry
            return (i + 1, body_fun(i, val)), None

        (_, out), _ = scan(step, (start, init_val), None, length=length, unroll=unroll or 1)
        return out
    lower = convert_element_type(lower, dtype, weak_type=weak)
    upper = convert_element_type(upper, dtype, weak_type=weak)

    def body(carry):
        i, hi, val = carry
        return i + 1, hi, body_fun(i, val)

    _, _, out = while_loop(lambda c: lt(c[0], c[1]), body, (lower, upper, init_val))
    return out
