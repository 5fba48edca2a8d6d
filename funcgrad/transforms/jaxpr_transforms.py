"""Transforms applied to a whole jaxpr, giving a new jaxpr.

Primitives that hold jaxprs (``jit``, and the control-flow primitives
``cond``, ``while`` and ``scan``) implement their rules by transforming the
jaxprs they hold and binding themselves again.  The transformations they
share live here:

* :func:`jvp_jaxpr`: (primals, non-zero tangents) -> (primals, tangents);
* :func:`partial_eval_jaxpr`: split into a known and an unknown jaxpr with
  residuals between them (reverse mode);
* :func:`transpose_jaxpr`: the backward pass of a linear jaxpr;
* :func:`batch_jaxpr`: the vmap of a jaxpr;
* :func:`prune_jaxpr`: drop outputs nobody uses (dead-code elimination);
* small re-plumbing helpers (:func:`move_consts_to_invars`,
  :func:`permute_invars`, ...).

Results are cached on the (weakly held) jaxpr object, so a primitive inside
a loop, or a function called repeatedly, transforms its jaxpr once.
"""
from __future__ import annotations

import functools
import weakref
from typing import Any, Callable, Sequence

from funcgrad.core.ad_util import UndefinedPrimal, Zero, instantiate
from funcgrad.core.ir import ClosedJaxpr, Jaxpr, Literal, Var
from funcgrad.core.staging import eval_jaxpr, trace_to_jaxpr
from funcgrad.core.trace import Tracer


# ------------------------------------------------------------ staging
def closure_convert(jaxpr: Jaxpr, consts: list) -> tuple[ClosedJaxpr, list]:
    """Constants that are tracers of enclosing transforms (``jit`` inside
    ``grad``, closing over the differentiated value) must flow into the
    call as operands, or those transforms would not see them.  Returns the
    jaxpr with those constants as leading invars, and their values."""
    traced = [i for i, c in enumerate(consts) if isinstance(c, Tracer)]
    if not traced:
        return ClosedJaxpr(jaxpr, list(consts)), []
    keep = [i for i in range(len(consts)) if i not in traced]
    new = Jaxpr([jaxpr.constvars[i] for i in keep],
                [jaxpr.constvars[i] for i in traced] + list(jaxpr.invars),
                list(jaxpr.outvars), list(jaxpr.eqns))
    return ClosedJaxpr(new, [consts[i] for i in keep]), [consts[i] for i in traced]


def stage(flat_fun: Callable, in_avals, names=None, fun_name="fun", transform="jit"):
    """``flat_fun`` staged into a closed jaxpr (see :func:`closure_convert`)."""
    jaxpr, consts = trace_to_jaxpr(flat_fun, in_avals, names, fun_name, transform)
    return closure_convert(jaxpr, consts)


def stage_closed(flat_fun: Callable, in_avals, fun_name="fun") -> ClosedJaxpr:
    """Stage a function that closes over no tracers (a rule applied to a
    jaxpr, which only sees its own inputs)."""
    closed, extra = stage(flat_fun, list(in_avals), fun_name=fun_name)
    assert not extra, "a jaxpr transformation closes over no tracers"
    return closed


def move_consts_to_invars(closed: ClosedJaxpr) -> tuple[ClosedJaxpr, list]:
    """``closed`` with its constants as leading inputs (and no constants),
    plus their values: control-flow primitives take constants as operands."""
    if not closed.consts:
        return closed, []
    jaxpr = closed.jaxpr
    new = Jaxpr([], list(jaxpr.constvars) + list(jaxpr.invars), list(jaxpr.outvars),
                list(jaxpr.eqns))
    return ClosedJaxpr(new, []), list(closed.consts)


def permute_invars(closed: ClosedJaxpr, order: Sequence[int]) -> ClosedJaxpr:
    """A jaxpr whose k-th input is input ``order[k]`` of ``closed``."""
    invars = closed.jaxpr.invars
    assert sorted(order) == list(range(len(invars)))
    jaxpr = closed.jaxpr
    return ClosedJaxpr(Jaxpr(list(jaxpr.constvars), [invars[i] for i in order],
                             list(jaxpr.outvars), list(jaxpr.eqns)), list(closed.consts))


def permute_outvars(closed: ClosedJaxpr, order: Sequence[int]) -> ClosedJaxpr:
    """A jaxpr whose k-th output is output ``order[k]`` of ``closed``."""
    jaxpr = closed.jaxpr
    return ClosedJaxpr(Jaxpr(list(jaxpr.constvars), list(jaxpr.invars),
                             [jaxpr.outvars[i] for i in order], list(jaxpr.eqns)),
                       list(closed.consts))


def insert_unused_invars(closed: ClosedJaxpr, position: int, avals) -> ClosedJaxpr:
    """``closed`` taking extra, ignored inputs of types ``avals`` at
    ``position``."""
    jaxpr = closed.jaxpr
    invars = list(jaxpr.invars)
    invars[position:position] = [Var(a) for a in avals]
    return ClosedJaxpr(Jaxpr(list(jaxpr.constvars), invars, list(jaxpr.outvars),
                             list(jaxpr.eqns)), list(closed.consts))


def cached(fn):
    """Memoise a jaxpr transformation on the (weakly held) jaxpr object and
    the remaining (hashable) arguments."""
    store: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @functools.wraps(fn)
    def wrapper(closed: ClosedJaxpr, *key):
        per_jaxpr = store.setdefault(closed, {})
        if key not in per_jaxpr:
            per_jaxpr[key] = fn(closed, *key)
        return per_jaxpr[key]
    return wrapper


def _flags(value, n: int) -> tuple[bool, ...]:
    return tuple([bool(value)] * n) if isinstance(value, bool) else tuple(value)


# ------------------------------------------------------------ jvp
@cached
def jvp_jaxpr(closed: ClosedJaxpr, nonzero: tuple[bool, ...],
              instantiate_out: tuple[bool, ...] | bool = False):
    """A jaxpr from (primals, non-zero tangents) to (primals, non-zero
    tangents), and for each output whether its tangent is zero (and so not
    an output).  Output tangents flagged in ``instantiate_out`` are never
    zero (a symbolic zero is materialised)."""
    from funcgrad.core.ad_util import differentiable_dtype
    from funcgrad.transforms.jvp import jvp_flat
    n = len(nonzero)
    force = _flags(instantiate_out, len(closed.out_avals))
    tangent_avals = [a.strip_weak_type() for a, nz in zip(closed.in_avals, nonzero, strict=True)
                     if nz]
    zeros_out: list[bool] = []

    def fun(*args):
        primals, it = list(args[:n]), iter(args[n:])
        tangents = [next(it) if nz else Zero(a.strip_weak_type())
                    for a, nz in zip(closed.in_avals, nonzero, strict=True)]
        outs, touts = jvp_flat(lambda *xs: eval_jaxpr(closed.jaxpr, closed.consts, *xs),
                               primals, tangents)
        touts = [instantiate(t) if f and differentiable_dtype(a.dtype) else t
                 for t, f, a in zip(touts, force, closed.out_avals, strict=True)]
        zeros_out[:] = [type(t) is Zero for t in touts]
        return list(outs) + [t for t in touts if type(t) is not Zero]

    new = stage_closed(fun, list(closed.in_avals) + tangent_avals, "jvp")
    return new, tuple(zeros_out)


# ------------------------------------------------------------ partial evaluation
@cached
def partial_eval_jaxpr(closed: ClosedJaxpr, unknown: tuple[bool, ...],
                       instantiate_out: tuple[bool, ...] | bool = False):
    """Split ``closed`` into a known jaxpr (known inputs -> known outputs +
    residuals) and an unknown one (residuals + unknown inputs -> unknown
    outputs).  Outputs flagged in ``instantiate_out`` are unknown even when
    they could be computed now (their value becomes a residual).

    Returns ``(known, unknown_jaxpr, out_unknown, num_res)``.
    """
    from funcgrad.core.staging import JaxprBuilder
    from funcgrad.core.trace import full_raise, new_main
    from funcgrad.transforms.partial_eval import KnownTracer, PartialEvalTrace
    force = _flags(instantiate_out, len(closed.out_avals))
    known_avals = [a for a, u in zip(closed.in_avals, unknown, strict=True) if not u]
    unknown_avals = [a for a, u in zip(closed.in_avals, unknown, strict=True) if u]
    info: dict[str, Any] = {}

    def known_fun(*known_args):
        builder = JaxprBuilder(transform="partial evaluation")
        with new_main(PartialEvalTrace, builder) as main:
            trace = main.trace
            it_known = iter(known_args)
            it_unknown = iter([builder.new_arg(trace, a, f"unknown[{i}]")
                               for i, a in enumerate(unknown_avals)])
            args = [next(it_unknown) if u else next(it_known) for u in unknown]
            outs = [full_raise(trace, o) for o in
                    eval_jaxpr(closed.jaxpr, closed.consts, *args)]
            out_unknown = [type(o) is not KnownTracer or f for o, f in zip(outs, force, strict=True)]
            staged = [builder.new_const(trace, o.value) if type(o) is KnownTracer else o
                      for o, u in zip(outs, out_unknown, strict=True) if u]
            unknown_jaxpr, residuals = builder.build(staged)
        info["out_unknown"] = tuple(out_unknown)
        info["unknown_jaxpr"] = unknown_jaxpr
        info["num_res"] = len(residuals)
        known_outs = [o.value for o, u in zip(outs, out_unknown, strict=True) if not u]
        return known_outs + list(residuals)

    known = stage_closed(known_fun, known_avals, "known")
    uj: Jaxpr = info["unknown_jaxpr"]
    # Residuals become the leading inputs of the unknown jaxpr; it has no
    # constants of its own (a known constant would be a residual).
    unknown_closed = ClosedJaxpr(Jaxpr([], list(uj.constvars) + list(uj.invars),
                                       list(uj.outvars), list(uj.eqns)), [])
    return known, unknown_closed, info["out_unknown"], info["num_res"]


# ------------------------------------------------------------ transpose
@cached
def transpose_jaxpr(closed: ClosedJaxpr, linear: tuple[bool, ...],
                    zero_cts: tuple[bool, ...] | bool = False) -> ClosedJaxpr:
    """A jaxpr from (non-linear inputs, output cotangents) to the cotangents
    of the linear inputs (always materialised).  Output cotangents flagged in
    ``zero_cts`` are known to be zero and are not inputs."""
    from funcgrad.transforms.transpose import backward_pass
    nonlinear_avals = [a for a, lin in zip(closed.in_avals, linear, strict=True) if not lin]
    zero = _flags(zero_cts, len(closed.out_avals))
    ct_avals = [a.strip_weak_type() for a, z in zip(closed.out_avals, zero, strict=True)
                if not z]
    k = len(nonlinear_avals)

    def fun(*args):
        it = iter(args[:k])
        operands = [UndefinedPrimal(a) if lin else next(it)
                    for a, lin in zip(closed.in_avals, linear, strict=True)]
        it_ct = iter(args[k:])
        cts_out = [Zero(a.strip_weak_type()) if z else next(it_ct)
                   for a, z in zip(closed.out_avals, zero, strict=True)]
        cts = backward_pass(closed.jaxpr, closed.consts, operands, cts_out)
        return [instantiate(_ct_or_zero(ct, a)) for ct, a, lin
                in zip(cts, closed.in_avals, linear, strict=True) if lin]

    return stage_closed(fun, nonlinear_avals + ct_avals, "transpose")


def _ct_or_zero(ct, aval):
    return Zero(aval.strip_weak_type()) if ct is None else ct


# ------------------------------------------------------------ batching
@cached
def batch_jaxpr(closed: ClosedJaxpr, dims: tuple, axis_size: int,
                instantiate_out: tuple[bool, ...] | bool = False):
    """The vmap of ``closed`` over inputs batched at ``dims`` (``None``:
    unbatched).  Outputs are batched at axis 0 or unbatched; those flagged
    in ``instantiate_out`` are always batched.  Returns the jaxpr and for
    each output whether it is batched."""
    from funcgrad.core.batching import broadcast_batch, move_axis
    from funcgrad.transforms.vmap import batch_flat
    force = _flags(instantiate_out, len(closed.out_avals))
    out_batched: list[bool] = []

    def fun(*args):
        outs, odims = batch_flat(lambda *xs: eval_jaxpr(closed.jaxpr, closed.consts, *xs),
                                 args, dims, axis_size)
        results = []
        for o, d, f in zip(outs, odims, force, strict=True):
            if d is not None:
                results.append(move_axis(o, d, 0))
            elif f:
                results.append(broadcast_batch(o, axis_size, 0))
            else:
                results.append(o)
        out_batched[:] = [d is not None or f for d, f in zip(odims, force, strict=True)]
        return results

    in_avals = []
    for a, d in zip(closed.in_avals, dims, strict=True):
        if d is None:
            in_avals.append(a)
        else:
            in_avals.append(a.update(shape=a.shape[:d] + (axis_size,) + a.shape[d:]))
    new = stage_closed(fun, in_avals, "batched")
    return new, tuple(out_batched)


# ------------------------------------------------------------ dead code
@cached
def prune_jaxpr(closed: ClosedJaxpr, used_outputs: tuple[bool, ...],
                prune_invars: bool = False):
    """``closed`` computing only its ``used_outputs``; with ``prune_invars``
    also without the inputs that are then unused.  Returns the jaxpr and for
    each original input whether it is still used."""
    from funcgrad.passes.dce import dce_jaxpr
    outs = [v for v, u in zip(closed.jaxpr.outvars, used_outputs, strict=True) if u]
    body = Jaxpr(list(closed.jaxpr.constvars), list(closed.jaxpr.invars), outs,
                 list(closed.jaxpr.eqns))
    body, consts, used_in = dce_jaxpr(body, closed.consts, prune_invars=prune_invars)
    return ClosedJaxpr(body, consts), tuple(used_in)


def is_literal_output(closed: ClosedJaxpr, k: int) -> bool:
    return isinstance(closed.jaxpr.outvars[k], Literal)
