"""Forward-mode differentiation: the JVP interpreter and ``jvp``.

A :class:`JVPTracer` carries a primal value and its tangent.  When the level
below is eager evaluation the primal is concrete, so Python control flow on
it works (``if x > 0:``) just as in autograd; under ``jit`` it is abstract.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from funcgrad import tree_util
from funcgrad.core.ad_util import Zero, as_result, differentiable_dtype, instantiate
from funcgrad.core.trace import (Trace, Tracer, bind_custom_call, full_lower, full_raise, get_aval,
                                 new_main)


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, trace: "JVPTrace", primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def aval(self):
        return get_aval(self.primal)

    def full_lower(self):
        if type(self.tangent) is Zero:
            return full_lower(self.primal)
        return self

    def to_concrete(self, context: str):
        if isinstance(self.primal, Tracer):
            return self.primal.to_concrete(context)
        return np.asarray(self.primal)


class JVPTrace(Trace):
    __slots__ = ()

    def pure(self, value):
        return JVPTracer(self, value, Zero.like(value))

    lift = pure

    def process_primitive(self, primitive, tracers, params):
        primals = [t.primal for t in tracers]
        tangents = [t.tangent for t in tracers]
        if all(type(t) is Zero for t in tangents):
            out = primitive.bind(*primals, **params)
            outs = out if primitive.multiple_results else [out]
            return [JVPTracer(self, o, Zero.like(o)) for o in outs]
        if primitive.jvp is None:
            raise NotImplementedError(
                f"Differentiation rule for '{primitive.name}' is not implemented")
        primals_out, tangents_out = primitive.jvp(primals, tangents, **params)
        return [JVPTracer(self, p, t) for p, t in zip(primals_out, tangents_out, strict=True)]

    def process_custom_jvp_call(self, fun, jvp, tracers):
        primals = [t.primal for t in tracers]
        tangents = [t.tangent for t in tracers]
        if all(type(t) is Zero for t in tangents):
            outs = bind_custom_call("process_custom_jvp_call", primals, fun, jvp)
            self._check_closure(fun, outs)
            return [JVPTracer(self, o, Zero.like(o)) for o in outs]
        # The user's rule sees real arrays, as in JAX.
        primals_out, tangents_out = jvp(primals, [instantiate(t) for t in tangents])
        self._check_closure(fun, primals_out + tangents_out)
        return [JVPTracer(self, p, t) for p, t in zip(primals_out, tangents_out, strict=True)]

    def process_custom_vjp_call(self, fun, fwd, bwd, tracers):
        from funcgrad.transforms.custom_derivatives import custom_lin_p
        primals = [t.primal for t in tracers]
        tangents = [t.tangent for t in tracers]
        if all(type(t) is Zero for t in tangents):
            outs = bind_custom_call("process_custom_vjp_call", primals, fun, fwd, bwd)
            self._check_closure(fun, outs)
            return [JVPTracer(self, o, Zero.like(o)) for o in outs]
        primals_out, residuals = fwd(*primals)
        self._check_closure(fun, primals_out + residuals)
        # The tangent map is opaque: it can only be transposed (by calling
        # bwd), which is exactly what reverse mode does with it.
        tangents_out = custom_lin_p.bind(
            *residuals, *[instantiate(t) for t in tangents], num_res=len(residuals), bwd=bwd,
            out_avals=tuple(get_aval(p).strip_weak_type() for p in primals_out),
            fun_name=getattr(fun, "__name__", "fun"))
        return [JVPTracer(self, p, t) for p, t in zip(primals_out, tangents_out, strict=True)]

    def _check_closure(self, fun, values):
        if any(isinstance(v, Tracer) and v._trace.main is self.main for v in values):
            raise TypeError(
                f"the custom derivative rule of {getattr(fun, '__name__', 'fun')} closes over "
                f"a value that is being differentiated; pass that value to the function as an "
                f"explicit argument instead")


def jvp_flat(fun: Callable, primals: Sequence, tangents: Sequence) -> tuple[list, list]:
    """``fun`` maps a flat list of arrays to a flat list; tangents may be Zero."""
    with new_main(JVPTrace) as main:
        trace = main.trace
        in_tracers = [JVPTracer(trace, p, t) for p, t in zip(primals, tangents, strict=True)]
        outs = fun(*in_tracers)
        out_tracers = [full_raise(trace, o) for o in outs]
        return ([o.primal for o in out_tracers], [o.tangent for o in out_tracers])


def _check_tangent(path: str, primal, tangent) -> None:
    p_aval, t_aval = get_aval(primal), get_aval(tangent)
    if p_aval.shape != t_aval.shape:
        raise ValueError(f"jvp: primal and tangent at {path} must have equal shapes, got "
                         f"{p_aval.shape} and {t_aval.shape}")
    if differentiable_dtype(p_aval.dtype) and t_aval.dtype != p_aval.dtype:
        raise TypeError(f"jvp: the tangent at {path} has dtype {t_aval.dtype.name} but its "
                        f"primal has dtype {p_aval.dtype.name}; they must match")


def jvp(fun: Callable, primals, tangents, has_aux: bool = False):
    """Forward-mode derivative: ``(fun(*primals), J(primals) @ tangents)``.

    ``primals`` and ``tangents`` are tuples (or lists) of pytrees of the same
    structure.

    >>> import funcgrad.numpy as jnp
    >>> y, dy = jvp(jnp.sin, (0.0,), (1.0,))
    >>> float(y), float(dy)
    (0.0, 1.0)
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples or lists of arguments, got "
                        f"{type(primals).__name__} and {type(tangents).__name__}")
    if len(primals) != len(tangents):
        raise TypeError(f"jvp: {len(primals)} primal arguments but {len(tangents)} tangents")
    flat_primals, in_tree = tree_util.tree_flatten(tuple(primals))
    flat_tangents, tangent_tree = tree_util.tree_flatten(tuple(tangents))
    if in_tree != tangent_tree:
        raise TypeError(f"jvp: primal and tangent arguments must have the same structure, "
                        f"got {in_tree} and {tangent_tree}")
    paths = [tree_util.keystr(p) for p, _ in tree_util.tree_flatten_with_path(tuple(primals))[0]]
    tangents_in = []
    for path, p, t in zip(paths, flat_primals, flat_tangents, strict=True):
        _check_tangent(f"primals{path}", p, t)
        tangents_in.append(t if differentiable_dtype(get_aval(p).dtype) else Zero.like(p))
    store = {}

    def flat_fun(*args):
        out = fun(*tree_util.tree_unflatten(in_tree, list(args)))
        aux_leaves = []
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError("jvp with has_aux=True requires fun to return a pair (out, aux)")
            out, aux = out
            # aux travels as extra outputs whose tangents are dropped, so
            # only this jvp's tracers are stripped from it.
            aux_leaves, store["aux_tree"] = tree_util.tree_flatten(aux)
        flat_out, store["out_tree"] = tree_util.tree_flatten(out)
        store["num_out"] = len(flat_out)
        return flat_out + aux_leaves

    primals_out, tangents_out = jvp_flat(flat_fun, flat_primals, tangents_in)
    n = store["num_out"]
    primals_out = [as_result(full_lower(p)) for p in primals_out]
    tangents_out = [as_result(full_lower(instantiate(t))) for t in tangents_out[:n]]
    result = (tree_util.tree_unflatten(store["out_tree"], primals_out[:n]),
              tree_util.tree_unflatten(store["out_tree"], tangents_out))
    if has_aux:
        return result + (tree_util.tree_unflatten(store["aux_tree"], primals_out[n:]),)
    return result
