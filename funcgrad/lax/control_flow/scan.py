"""``scan`` and ``map``: a loop of known length over the leading axis of
arrays, carrying a state and stacking per-iteration outputs.

``scan_p`` takes ``(*consts, *init_carry, *xs)`` and holds ``jaxpr``
(``consts + carry + x slices -> carry + y slices``, no constants),
``length``, ``reverse``, ``num_consts``, ``num_carry`` and ``unroll``.  Its
outputs are the final carry and the stacked ys.

* jvp: the carry gains tangents (fixed point over which are non-zero);
* partial evaluation (reverse mode): the body is split into a known scan,
  run now, which also stacks the per-iteration residuals, and an unknown
  (linear) scan that reads them.  Residuals that do not change between
  iterations (the body's consts) are passed once, not stacked, and those
  that are slices of the xs are read from the xs;
* transpose: the linear scan runs backwards, carrying the cotangent of the
  carry and accumulating those of the linear consts;
* vmap: the batch axis of the xs sits at axis 1 (axis 0 is the loop).
"""
from __future__ import annotations

import numpy as np

from funcgrad import tree_util
from funcgrad.core.ad_util import (UndefinedPrimal, Zero, add_tangents, differentiable_dtype,
                                   instantiate, is_undefined_primal)
from funcgrad.core.batching import batch_to, move_axis
from funcgrad.core.ir import ClosedJaxpr, Jaxpr, JaxprEqn, Var, has_effects
from funcgrad.core.primitive import Primitive
from funcgrad.core.staging import eval_jaxpr
from funcgrad.core.trace import get_aval
from funcgrad.lax.control_flow.common import (check_carry, check_operands, join_weak, leaf_names,
                                              promote_weak_carry, trace_body)
from funcgrad.transforms.jaxpr_transforms import (batch_jaxpr, cached, jvp_jaxpr,
                                                  move_consts_to_invars, partial_eval_jaxpr,
                                                  permute_invars, permute_outvars,
                                                  prune_jaxpr, stage_closed)

scan_p = Primitive("scan", multiple_results=True)


def bind_scan(jaxpr: ClosedJaxpr, consts, init, xs, *, length, reverse, unroll) -> list:
    """Bind ``scan_p`` on a body that may have constants (they become
    leading consts operands)."""
    jaxpr, extra = move_consts_to_invars(jaxpr)
    consts = extra + list(consts)
    return scan_p.bind(*consts, *init, *xs, jaxpr=jaxpr, length=length, reverse=reverse,
                       num_consts=len(consts), num_carry=len(init), unroll=unroll)


def _split(args, num_consts, num_carry):
    nc, n = num_consts, num_carry
    return list(args[:nc]), list(args[nc:nc + n]), list(args[nc + n:])


def _stacked(aval, length: int):
    return aval.update(shape=(length,) + aval.shape)


# ------------------------------------------------------------ eager and types
def _scan_impl(*args, jaxpr, length, reverse, num_consts, num_carry, unroll):
    consts, carry, xs = _split(args, num_consts, num_carry)
    ys = []
    for k in range(length):
        i = length - 1 - k if reverse else k
        outs = eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, *consts, *carry, *[x[i] for x in xs])
        carry, y = outs[:num_carry], outs[num_carry:]
        ys.append(y)
    if reverse:
        ys.reverse()
    stacked = []
    for j, aval in enumerate(jaxpr.out_avals[num_carry:]):
        if length:
            stacked.append(np.stack([np.asarray(y[j]) for y in ys]).astype(aval.dtype, copy=False))
        else:
            stacked.append(np.empty((0,) + aval.shape, aval.dtype))
    return list(carry) + stacked


def _scan_abstract_eval(*avals, jaxpr, length, reverse, num_consts, num_carry, unroll):
    consts, init, xs = _split(avals, num_consts, num_carry)
    for k, x in enumerate(xs):
        if x.ndim == 0 or x.shape[0] != length:
            raise TypeError(f"scan: xs leaf {k} has type {x.str_short()}, but every xs leaf "
                            f"needs a leading axis of the scan length {length}")
    check_operands("scan body", consts + init + [x.update(shape=x.shape[1:]) for x in xs],
                   jaxpr.in_avals)
    body_out = jaxpr.out_avals
    carry = join_weak([init, body_out[:num_carry]])
    return carry + [_stacked(a, length) for a in body_out[num_carry:]]


scan_p.impl = _scan_impl
scan_p.abstract_eval = _scan_abstract_eval


# ------------------------------------------------------------ jvp
def _scan_jvp(primals, tangents, *, jaxpr, length, reverse, num_consts, num_carry, unroll):
    consts, init, xs = _split(primals, num_consts, num_carry)
    consts_t, init_t, xs_t = _split(tangents, num_consts, num_carry)
    const_nz = [type(t) is not Zero for t in consts_t]
    carry_nz = [type(t) is not Zero for t in init_t]
    xs_nz = [type(t) is not Zero for t in xs_t]
    n, ny = num_carry, len(jaxpr.out_avals) - num_carry
    while True:
        _, zeros_out = jvp_jaxpr(jaxpr, tuple(const_nz + carry_nz + xs_nz))
        new = [nz or (not z and differentiable_dtype(a.dtype))
               for nz, z, a in zip(carry_nz, zeros_out[:n], jaxpr.out_avals[:n], strict=True)]
        if new == carry_nz:
            break
        carry_nz = new
    body, zeros_out = jvp_jaxpr(jaxpr, tuple(const_nz + carry_nz + xs_nz),
                                tuple(carry_nz + [False] * ny))
    ys_nz = [not z for z in zeros_out[n:]]
    nc, nx = num_consts, len(xs)
    kc, kn, kx, ky = sum(const_nz), sum(carry_nz), sum(xs_nz), sum(ys_nz)
    # jvp_jaxpr's layout: (consts, carry, xs, their non-zero tangents) ->
    # (carry, ys, their non-zero tangents); the scan's: each group followed
    # by its tangents.
    base_t = nc + n + nx
    in_order = (list(range(nc)) + list(range(base_t, base_t + kc))
                + list(range(nc, nc + n)) + list(range(base_t + kc, base_t + kc + kn))
                + list(range(nc + n, base_t)) + list(range(base_t + kc + kn, base_t + kc + kn + kx)))
    out_order = (list(range(n)) + list(range(n + ny, n + ny + kn))
                 + list(range(n, n + ny)) + list(range(n + ny + kn, n + ny + kn + ky)))
    body = permute_outvars(permute_invars(body, in_order), out_order)
    init_tangents = [instantiate(t) for t, nz in zip(init_t, carry_nz, strict=True) if nz]
    outs = bind_scan(body, consts + [t for t in consts_t if type(t) is not Zero],
                     init + init_tangents, xs + [t for t in xs_t if type(t) is not Zero],
                     length=length, reverse=reverse, unroll=unroll)
    carry, carry_t = outs[:n], iter(outs[n:n + kn])
    ys, ys_t = outs[n + kn:n + kn + ny], iter(outs[n + kn + ny:])
    out_avals = [get_aval(o) for o in carry + ys]
    tangents_out = ([next(carry_t) if nz else Zero(a.strip_weak_type())
                     for nz, a in zip(carry_nz, out_avals[:n], strict=True)]
                    + [next(ys_t) if nz else Zero(a.strip_weak_type())
                       for nz, a in zip(ys_nz, out_avals[n:], strict=True)])
    return carry + ys, tangents_out


scan_p.jvp = _scan_jvp


# ------------------------------------------------------------ partial evaluation
def _scan_partial_eval(trace, tracers, *, jaxpr, length, reverse, num_consts, num_carry,
                       unroll):
    from funcgrad.transforms.partial_eval import KnownTracer
    builder = trace.main.global_data
    n, ny = num_carry, len(jaxpr.out_avals) - num_carry
    unknown = [type(t) is not KnownTracer for t in tracers]
    c_uk, carry_uk, x_uk = _split(unknown, num_consts, num_carry)
    while True:
        out_uk = partial_eval_jaxpr(jaxpr, tuple(c_uk + carry_uk + x_uk))[2]
        new = [a or b for a, b in zip(carry_uk, out_uk[:n], strict=True)]
        if new == carry_uk:
            break
        carry_uk = new
    known, unknown_body, out_uk, num_res = partial_eval_jaxpr(
        jaxpr, tuple(c_uk + carry_uk + x_uk), tuple(carry_uk + [False] * ny))
    consts, init, xs = _split(tracers, num_consts, num_carry)
    known_consts = [t.value for t, u in zip(consts, c_uk, strict=True) if not u]
    known_init = [t.value for t, u in zip(init, carry_uk, strict=True) if not u]
    known_xs = [t.value for t, u in zip(xs, x_uk, strict=True) if not u]

    # Sort the residuals: loop-invariant ones (computed from the body's
    # consts alone) are computed once, before the loop, and passed once;
    # slices of the xs are read from the xs; the rest are stacked by the
    # known scan.
    n_known_out = out_uk.count(False)
    n_kc, n_kcarry = len(known_consts), len(known_init)
    invariant_out = _loop_invariant_outputs(known.jaxpr, n_kc)
    position = {id(v): i for i, v in enumerate(known.jaxpr.invars)}
    invariant_r, from_xs, stacked = [], [], []
    for r in range(num_res):
        var = known.jaxpr.outvars[n_known_out + r]
        p = position.get(id(var)) if isinstance(var, Var) else None
        if invariant_out[n_known_out + r]:
            invariant_r.append(r)
        elif p is not None and p >= n_kc + n_kcarry:
            from_xs.append((r, known_xs[p - n_kc - n_kcarry]))
        else:
            stacked.append(r)
    invariant = []
    if invariant_r:
        wanted = tuple([False] * n_known_out + [r in invariant_r for r in range(num_res)])
        hoisted, used_in = prune_jaxpr(known, wanted, True)
        known_inputs = known_consts + known_init + known_xs
        values = eval_jaxpr(hoisted.jaxpr, hoisted.consts,
                            *[v for v, u in zip(known_inputs, used_in, strict=True) if u])
        invariant = list(zip(invariant_r, values, strict=True))
    keep = [True] * n_known_out + [r in stacked for r in range(num_res)]
    known_body, _ = prune_jaxpr(known, tuple(keep))
    known_outs = bind_scan(known_body, known_consts, known_init, known_xs, length=length,
                           reverse=reverse, unroll=unroll)
    n_kcarry_out = carry_uk.count(False)
    n_ky = n_known_out - n_kcarry_out
    res_stacked = known_outs[n_known_out:]

    # The unknown body takes (residuals, unknown consts, unknown carry,
    # unknown xs); the scan wants (invariant residuals, unknown consts |
    # unknown carry | stacked residuals, xs residuals, unknown xs).
    n_uc, n_ucarry = c_uk.count(True), carry_uk.count(True)
    base = num_res
    order = ([r for r, _ in invariant] + list(range(base, base + n_uc))
             + list(range(base + n_uc, base + n_uc + n_ucarry))
             + stacked + [r for r, _ in from_xs]
             + list(range(base + n_uc + n_ucarry, len(unknown_body.jaxpr.invars))))
    body = permute_invars(unknown_body, order)
    staged_consts = ([builder.new_const(trace, v) for _, v in invariant]
                     + [t for t, u in zip(consts, c_uk, strict=True) if u])
    staged_init = [t if type(t) is not KnownTracer else builder.new_const(trace, t.value)
                   for t, u in zip(init, carry_uk, strict=True) if u]
    staged_xs = ([builder.new_const(trace, v) for v in res_stacked]
                 + [builder.new_const(trace, v) for _, v in from_xs]
                 + [t for t, u in zip(xs, x_uk, strict=True) if u])
    operands = staged_consts + staged_init + staged_xs
    params = dict(jaxpr=body, length=length, reverse=reverse, num_consts=len(staged_consts),
                  num_carry=len(staged_init), unroll=unroll)
    out_avals = _scan_abstract_eval(*[t.aval for t in operands], **params)
    unknown_outs = builder.add_eqn(trace, scan_p, operands, out_avals, params)

    known_carry = iter(known_outs[:n_kcarry_out])
    known_ys = iter(known_outs[n_kcarry_out:n_kcarry_out + n_ky])
    it_unknown = iter(unknown_outs)
    results = [next(it_unknown) if u else KnownTracer(trace, next(known_carry))
               for u in carry_uk]
    results += [next(it_unknown) if u else KnownTracer(trace, next(known_ys))
                for u in out_uk[n:]]
    return results


scan_p.partial_eval = _scan_partial_eval


def _loop_invariant_outputs(jaxpr: Jaxpr, num_consts: int) -> list[bool]:
    """For each output of a scan body, whether it depends on the consts only
    (so it is the same in every iteration)."""
    varying = {id(v) for v in jaxpr.invars[num_consts:]}
    for eqn in jaxpr.eqns:
        if has_effects(eqn.primitive, eqn.params) or any(
                isinstance(a, Var) and id(a) in varying for a in eqn.invars):
            varying.update(id(v) for v in eqn.outvars)
    return [not (isinstance(v, Var) and id(v) in varying) for v in jaxpr.outvars]


# ------------------------------------------------------------ transpose
@cached
def _transposed_body(jaxpr: ClosedJaxpr, num_consts: int, num_carry: int,
                     const_linear: tuple[bool, ...], xs_linear: tuple[bool, ...],
                     ys_zero: tuple[bool, ...]) -> ClosedJaxpr:
    """The body of the transposed scan: (non-linear consts, accumulated
    const cotangents, carry cotangent, non-linear xs, non-zero y
    cotangents) -> (accumulated const cotangents, carry cotangent, linear xs
    cotangents)."""
    from funcgrad.transforms.transpose import backward_pass
    consts, carry, xs = _split(jaxpr.in_avals, num_consts, num_carry)
    y_avals = jaxpr.out_avals[num_carry:]
    res_c = [a for a, lin in zip(consts, const_linear, strict=True) if not lin]
    lin_c = [a.strip_weak_type() for a, lin in zip(consts, const_linear, strict=True) if lin]
    res_x = [a for a, lin in zip(xs, xs_linear, strict=True) if not lin]
    ct_y = [a.strip_weak_type() for a, z in zip(y_avals, ys_zero, strict=True) if not z]
    carry = [a.strip_weak_type() for a in carry]
    sizes = [len(res_c), len(lin_c), len(carry), len(res_x), len(ct_y)]

    def fun(*args):
        groups, start = [], 0
        for size in sizes:
            groups.append(list(args[start:start + size]))
            start += size
        res_c_v, acc, ct_carry, res_x_v, ct_y_v = groups
        it_c, it_x, it_y = iter(res_c_v), iter(res_x_v), iter(ct_y_v)
        operands = ([UndefinedPrimal(a) if lin else next(it_c)
                     for a, lin in zip(consts, const_linear, strict=True)]
                    + [UndefinedPrimal(a) for a in carry]
                    + [UndefinedPrimal(a) if lin else next(it_x)
                       for a, lin in zip(xs, xs_linear, strict=True)])
        cts_out = ct_carry + [Zero(a.strip_weak_type()) if z else next(it_y)
                              for a, z in zip(y_avals, ys_zero, strict=True)]
        cts = backward_pass(jaxpr.jaxpr, jaxpr.consts, operands, cts_out)
        ct_consts, ct_carry_in, ct_xs = _split(cts, num_consts, num_carry)
        lin_ct_consts = [c for c, lin in zip(ct_consts, const_linear, strict=True) if lin]
        new_acc = [instantiate(add_tangents(a, _zero_if_none(c, aval)))
                   for a, c, aval in zip(acc, lin_ct_consts, lin_c, strict=True)]
        carry_out = [instantiate(_zero_if_none(c, a)) for c, a in zip(ct_carry_in, carry,
                                                                      strict=True)]
        xs_out = [instantiate(_zero_if_none(c, a.strip_weak_type()))
                  for c, a, lin in zip(ct_xs, xs, xs_linear, strict=True) if lin]
        return new_acc + carry_out + xs_out

    return stage_closed(fun, res_c + lin_c + carry + res_x + ct_y, "transposed_scan_body")


def _zero_if_none(ct, aval):
    return Zero(aval) if ct is None else ct


def _scan_transpose(cts, *args, jaxpr, length, reverse, num_consts, num_carry, unroll):
    from funcgrad.lax import full
    consts, init, xs = _split(args, num_consts, num_carry)
    # A carry of a linear scan is linear; one given a value (a materialised
    # zero tangent, from partial evaluation) gets a cotangent nobody needs.
    init_given = [not is_undefined_primal(c) for c in init]
    const_linear = tuple(is_undefined_primal(c) for c in consts)
    xs_linear = tuple(is_undefined_primal(x) for x in xs)
    ct_carry = [instantiate(c) for c in cts[:num_carry]]
    ct_ys = cts[num_carry:]
    ys_zero = tuple(type(c) is Zero for c in ct_ys)
    body = _transposed_body(jaxpr, num_consts, num_carry, const_linear, xs_linear, ys_zero)
    acc = [full(c.aval.shape, 0, c.aval.dtype) for c in consts if is_undefined_primal(c)]
    outs = bind_scan(body, [c for c in consts if not is_undefined_primal(c)], acc + ct_carry,
                     [x for x in xs if not is_undefined_primal(x)]
                     + [c for c in ct_ys if type(c) is not Zero],
                     length=length, reverse=not reverse, unroll=unroll)
    k = len(acc)
    ct_consts, ct_init, ct_xs = iter(outs[:k]), outs[k:k + num_carry], iter(outs[k + num_carry:])
    ct_init = [None if given else ct for ct, given in zip(ct_init, init_given, strict=True)]
    return ([next(ct_consts) if lin else None for lin in const_linear] + ct_init
            + [next(ct_xs) if lin else None for lin in xs_linear])


scan_p.transpose = _scan_transpose


# ------------------------------------------------------------ batching
def _scan_batch(args, dims, axis_size, *, jaxpr, length, reverse, num_consts, num_carry,
                unroll):
    from funcgrad.lax.control_flow.loops import _members_run_alone, has_member_loops
    original = [x if d is None else move_axis(x, d, 0) for x, d in zip(args, dims, strict=True)]
    consts, init, xs = _split(args, num_consts, num_carry)
    c_dims, init_dims, x_dims = _split(dims, num_consts, num_carry)
    consts = [x if d is None else move_axis(x, d, 0) for x, d in zip(consts, c_dims, strict=True)]
    # Axis 0 of an xs leaf is the loop; its batch axis goes right after.
    xs = [x if d is None else move_axis(x, d, 1) for x, d in zip(xs, x_dims, strict=True)]
    c_b = [d is not None for d in c_dims]
    carry_b = [d is not None for d in init_dims]
    x_b = [d is not None for d in x_dims]
    n, ny = num_carry, len(jaxpr.out_avals) - num_carry

    def as_dims(flags):
        return tuple(0 if f else None for f in flags)

    while True:
        _, out_b = batch_jaxpr(jaxpr, as_dims(c_b + carry_b + x_b), axis_size)
        new = [a or b for a, b in zip(carry_b, out_b[:n], strict=True)]
        if new == carry_b:
            break
        carry_b = new
    body, out_b = batch_jaxpr(jaxpr, as_dims(c_b + carry_b + x_b), axis_size,
                              tuple(carry_b + [False] * ny))
    if has_member_loops(body.jaxpr):
        # Some while loop in the body runs member by member anyway (members
        # stop at different iterations, e.g. NUTS trees): run the whole scan
        # member by member instead.  The same numbers, but each member's
        # code is the unbatched body (smaller, faster to compile, and without
        # batched glue between the per-member loops).
        params = dict(jaxpr=jaxpr, length=length, reverse=reverse, num_consts=num_consts,
                      num_carry=num_carry, unroll=unroll)
        return _members_run_alone(original, [d is not None for d in dims], axis_size, params,
                                  scan_p)
    init = [batch_to(x, d, axis_size, 0) if want else x
            for x, d, want in zip(init, init_dims, carry_b, strict=True)]
    outs = bind_scan(body, consts, init, xs, length=length, reverse=reverse, unroll=unroll)
    out_dims = [0 if b else None for b in carry_b] + [1 if b else None for b in out_b[n:]]
    return outs, out_dims


scan_p.batch = _scan_batch


# ------------------------------------------------------------ dead code
def _scan_dce(eqn: JaxprEqn, used: list[bool]) -> JaxprEqn:
    p = eqn.params
    jaxpr, nc, n = p["jaxpr"], p["num_consts"], p["num_carry"]
    used_ys = list(used[n:])
    live_carry = list(used[:n])
    # A carry nobody reads after the loop is still live if a live output
    # depends on it through the body.
    while True:
        pruned, used_in = prune_jaxpr(jaxpr, tuple(live_carry + used_ys))
        new = [a or b for a, b in zip(live_carry, used_in[nc:nc + n], strict=True)]
        if new == live_carry:
            break
        live_carry = new
    keep_in = list(used_in[:nc]) + live_carry + list(used_in[nc + n:])
    body = ClosedJaxpr(Jaxpr([], [v for v, k in zip(pruned.jaxpr.invars, keep_in, strict=True)
                                  if k], list(pruned.jaxpr.outvars), list(pruned.jaxpr.eqns)),
                       list(pruned.consts))
    invars = [a for a, k in zip(eqn.invars, keep_in, strict=True) if k]
    outvars = ([v for v, k in zip(eqn.outvars[:n], live_carry, strict=True) if k]
               + [v for v, u in zip(eqn.outvars[n:], used_ys, strict=True) if u])
    params = dict(p, jaxpr=body, num_consts=sum(used_in[:nc]), num_carry=sum(live_carry))
    return JaxprEqn(scan_p, invars, outvars, params)


scan_p.dce = _scan_dce


# ------------------------------------------------------------ the API
def scan(f, init, xs=None, length: int | None = None, reverse: bool = False,
         unroll: int | bool = 1):
    """Loop ``f(carry, x) -> (carry, y)`` over the leading axis of ``xs``,
    returning the final carry and the stacked ys::

        carry = init
        for i in range(length):          # reversed(range(length)) with reverse
            carry, ys[i] = f(carry, xs[i])

    ``xs`` and the results may be pytrees; ``xs=None`` with ``length`` loops
    without inputs.  Compiles (under ``jit``) to a native ``for`` loop and
    supports every transform, reverse mode included.

    >>> import funcgrad.numpy as jnp
    >>> from funcgrad import lax
    >>> total, running = lax.scan(lambda c, x: (c + x, c + x), 0.0, jnp.arange(1.0, 5.0))
    >>> float(total), running.tolist()
    (10.0, [1.0, 3.0, 6.0, 10.0])
    """
    xs_leaves, _ = tree_util.tree_flatten(xs)
    x_avals = [get_aval(x) for x in xs_leaves]
    x_names = leaf_names("xs", xs)
    for name, a in zip(x_names, x_avals, strict=True):
        if a.ndim == 0:
            raise TypeError(f"scan: {name} is a scalar; every leaf of xs needs a leading axis "
                            f"to loop over")
    lengths = sorted({a.shape[0] for a in x_avals})
    if length is not None:
        length = int(length)
        if lengths and lengths != [length]:
            raise ValueError(f"scan: length={length} but the xs leaves have leading axes "
                             f"{[a.shape[0] for a in x_avals]}")
    elif len(lengths) > 1:
        raise ValueError(f"scan: the xs leaves have different leading axes "
                         f"{[a.shape[0] for a in x_avals]} ({', '.join(x_names)})")
    elif not lengths:
        raise ValueError("scan: length must be given when xs is None or has no leaves")
    else:
        length = lengths[0]
    unroll = length if unroll is True else max(int(unroll), 1)
    slice_avals = [a.update(shape=a.shape[1:]) for a in x_avals]
    init_leaves, carry_tree = tree_util.tree_flatten(init)
    carry_names = leaf_names("init", init)
    args_tree = tree_util.tree_structure((init, xs))
    trees = {}

    def body_fun(carry, x):
        out = f(carry, x)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"scan: f must return a pair (carry, y), got "
                            f"{type(out).__name__}")
        trees["carry"] = tree_util.tree_structure(out[0])
        trees["y"] = tree_util.tree_structure(out[1])
        return out

    for attempt in range(2):
        carry_avals = [get_aval(c) for c in init_leaves]
        body, consts, _ = trace_body(body_fun, args_tree, carry_avals + slice_avals,
                                     carry_names + x_names, "f", "scan")
        n = len(init_leaves)
        check_carry("scan f", carry_names, carry_tree, trees["carry"], carry_avals,
                    body.out_avals[:n], "init", types=False)
        promoted = promote_weak_carry(init_leaves, carry_avals, body.out_avals[:n])
        if promoted is None or attempt:
            break
        init_leaves = promoted
    check_carry("scan f", carry_names, carry_tree, trees["carry"], carry_avals,
                body.out_avals[:n], "init")
    outs = scan_p.bind(*consts, *init_leaves, *xs_leaves, jaxpr=body, length=length,
                       reverse=bool(reverse), num_consts=len(consts), num_carry=n,
                       unroll=unroll)
    return (tree_util.tree_unflatten(carry_tree, outs[:n]),
            tree_util.tree_unflatten(trees["y"], outs[n:]))


def map(f, xs):  # noqa: A001 (lax's name)
    """``f`` applied to every slice of ``xs`` along its leading axis, results
    stacked: a ``scan`` without carry, so one slice is live at a time
    (``vmap`` computes the whole batch at once instead).

    >>> import funcgrad.numpy as jnp
    >>> from funcgrad import lax
    >>> lax.map(lambda row: jnp.sum(row ** 2), jnp.arange(6.0).reshape(3, 2)).tolist()
    [1.0, 13.0, 41.0]
    """
    _, ys = scan(lambda carry, x: (carry, f(x)), None, xs)
    return ys
