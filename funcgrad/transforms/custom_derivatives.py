"""User-defined derivative rules: ``custom_jvp`` and ``custom_vjp``.

A decorated function runs as written everywhere except under
differentiation, where its rule is used instead of differentiating its body
(for numerical stability, efficiency, or to define the derivative of
something the body cannot express).  Both compose with nesting: the rules
are ordinary traceable Python, so higher derivatives differentiate the rule.

* ``custom_jvp``: the rule gives output tangents from input tangents.
  Reverse mode works as for any function: the rule's tangent computation is
  linearized and transposed (so it must be linear in the tangents).
* ``custom_vjp``: ``fwd`` computes the output and residuals, ``bwd`` maps
  residuals and output cotangents to input cotangents.  Under reverse mode
  the tangent map is an opaque linear primitive (``custom_lin``) whose
  transpose calls ``bwd``.  Forward mode (``jvp``, ``jacfwd``) through a
  custom_vjp function is an error, as in JAX.
"""
from __future__ import annotations

import functools
import inspect
from typing import Callable, Sequence

import numpy as np

from funcgrad import tree_util
from funcgrad.core.ad_util import Zero, instantiate, is_undefined_primal
from funcgrad.core.avals import ShapedArray
from funcgrad.core.batching import batch_to
from funcgrad.core.primitive import Primitive
from funcgrad.core.trace import bind_custom_call, get_aval


def _resolve_args(fun: Callable, args: tuple, kwargs: dict) -> tuple:
    """Keyword arguments become positional, so argument numbers are stable."""
    if not kwargs:
        return args
    try:
        bound = inspect.signature(fun).bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{getattr(fun, '__name__', 'fun')}: {e}") from None
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(f"functions with custom derivatives do not accept keyword-only "
                        f"arguments ({', '.join(bound.kwargs)}); make them positional")
    return tuple(bound.args)


class _Split:
    """Splits positional arguments into static ones (``nondiff_argnums``)
    and flattened differentiable leaves, and back."""

    def __init__(self, args: tuple, nondiff_argnums: tuple[int, ...], name: str):
        for i in nondiff_argnums:
            if not 0 <= i < len(args):
                raise TypeError(f"{name}: nondiff_argnums={nondiff_argnums} out of range for "
                                f"{len(args)} arguments")
        self.n = len(args)
        self.static = {i: args[i] for i in nondiff_argnums}
        dyn = tuple(a for i, a in enumerate(args) if i not in self.static)
        self.leaves, self.tree = tree_util.tree_flatten(dyn)

    def full_args(self, leaves) -> list:
        dyn = iter(tree_util.tree_unflatten(self.tree, list(leaves)))
        return [self.static[i] if i in self.static else next(dyn) for i in range(self.n)]

    def dyn_args(self, leaves) -> tuple:
        return tree_util.tree_unflatten(self.tree, list(leaves))

    def static_args(self) -> list:
        return [self.static[i] for i in sorted(self.static)]


def _check_like(what: str, name: str, values: Sequence, avals: Sequence) -> None:
    for i, (v, a) in enumerate(zip(values, avals, strict=True)):
        got = get_aval(v)
        if got.shape != a.shape:
            raise ValueError(f"{what} of {name}: leaf {i} has shape {got.shape}, but the "
                             f"corresponding primal has shape {a.shape}")


class custom_jvp:
    """A function with a custom forward-mode derivative rule.

    >>> import funcgrad, funcgrad.numpy as jnp
    >>> @custom_jvp
    ... def log1pexp(x):
    ...     return jnp.log1p(jnp.exp(x))
    >>> @log1pexp.defjvp
    ... def log1pexp_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return log1pexp(x), t * funcgrad.lax.logistic(x)
    >>> funcgrad.grad(log1pexp)(1000.0)   # the body's derivative is nan here
    Array(1., dtype=float64, weak_type=True)
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp: Callable | None = None

    def defjvp(self, jvp: Callable) -> Callable:
        """Set the rule ``jvp(*nondiff_args, primals, tangents) -> (primal_out,
        tangent_out)``; returns it, so it can be used as a decorator."""
        self.jvp = jvp
        return jvp

    def defjvps(self, *tangent_fns: Callable | None) -> None:
        """Set the rule from one function per argument,
        ``tangent_fn(t, primal_out, *primals)``, whose results are summed
        (``None``: that argument has no effect)."""
        def jvp(primals, tangents):
            out = self.fun(*primals)
            total = None
            for fn, t in zip(tangent_fns, tangents, strict=True):
                if fn is None:
                    continue
                contribution = fn(t, out, *primals)
                total = contribution if total is None else tree_util.tree_map(
                    lambda a, b: a + b, total, contribution)
            if total is None:
                total = tree_util.tree_map(lambda o: instantiate(Zero.like(o)), out)
            return out, total
        self.jvp = jvp

    def __call__(self, *args, **kwargs):
        name = getattr(self.fun, "__name__", "fun")
        if self.jvp is None:
            raise AttributeError(f"no JVP rule is defined for the custom_jvp function {name}; "
                                 f"call {name}.defjvp(rule) first")
        args = _resolve_args(self.fun, args, kwargs)
        split = _Split(args, self.nondiff_argnums, name)
        out_tree_cell = []

        def flat_fun(*leaves):
            flat_out, out_tree = tree_util.tree_flatten(self.fun(*split.full_args(leaves)))
            out_tree_cell.append(out_tree)
            return flat_out

        def flat_jvp(primals, tangents):
            result = self.jvp(*split.static_args(), split.dyn_args(primals),
                              split.dyn_args(tangents))
            if not (isinstance(result, (tuple, list)) and len(result) == 2):
                raise TypeError(f"the custom_jvp rule of {name} must return a pair "
                                f"(primal_out, tangent_out), got {type(result).__name__}")
            flat_p, tree_p = tree_util.tree_flatten(result[0])
            flat_t, tree_t = tree_util.tree_flatten(result[1])
            if tree_p != tree_t:
                raise TypeError(f"the custom_jvp rule of {name} returned a primal output of "
                                f"structure {tree_p} but a tangent output of structure {tree_t}")
            _check_like("the tangent output", name, flat_t, [get_aval(p) for p in flat_p])
            out_tree_cell.append(tree_p)
            return flat_p, flat_t

        flat_fun.__name__ = name
        flat_jvp.__name__ = getattr(self.jvp, "__name__", "jvp")
        outs = bind_custom_call("process_custom_jvp_call", split.leaves, flat_fun, flat_jvp)
        return tree_util.tree_unflatten(out_tree_cell[-1], outs)


class custom_vjp:
    """A function with a custom reverse-mode derivative rule.

    >>> import funcgrad, funcgrad.numpy as jnp
    >>> @custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> def fwd(x):
    ...     return x, None
    >>> def bwd(res, g):
    ...     return (jnp.clip(g, -1.0, 1.0),)
    >>> clip_gradient.defvjp(fwd, bwd)
    >>> funcgrad.grad(lambda x: 5.0 * clip_gradient(x))(2.0)
    Array(1., dtype=float64, weak_type=True)
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        """``fwd(*args) -> (output, residuals)`` and
        ``bwd(*nondiff_args, residuals, output_cotangent) -> tuple`` of one
        cotangent per differentiable argument (``None`` for zero)."""
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args, **kwargs):
        name = getattr(self.fun, "__name__", "fun")
        if self.fwd is None:
            raise AttributeError(f"no VJP rule is defined for the custom_vjp function {name}; "
                                 f"call {name}.defvjp(fwd, bwd) first")
        args = _resolve_args(self.fun, args, kwargs)
        split = _Split(args, self.nondiff_argnums, name)
        in_avals = [get_aval(x) for x in split.leaves]
        store: dict = {}

        def flat_fun(*leaves):
            flat_out, store["out_tree"] = tree_util.tree_flatten(self.fun(*split.full_args(leaves)))
            return flat_out

        def flat_fwd(*leaves):
            result = self.fwd(*split.full_args(leaves))
            if not (isinstance(result, (tuple, list)) and len(result) == 2):
                raise TypeError(f"the custom_vjp fwd of {name} must return a pair "
                                f"(output, residuals), got {type(result).__name__}")
            flat_out, store["out_tree"] = tree_util.tree_flatten(result[0])
            flat_res, store["res_tree"] = tree_util.tree_flatten(result[1])
            return flat_out, flat_res

        def flat_bwd(flat_res, flat_cts):
            res = tree_util.tree_unflatten(store["res_tree"], list(flat_res))
            ct = tree_util.tree_unflatten(store["out_tree"], list(flat_cts))
            cts_in = self.bwd(*split.static_args(), res, ct)
            if not isinstance(cts_in, (tuple, list)):
                raise TypeError(f"the custom_vjp bwd of {name} must return a tuple with one "
                                f"cotangent per differentiable argument, got "
                                f"{type(cts_in).__name__}")
            dyn = split.dyn_args(in_avals)
            if len(cts_in) != len(dyn):
                raise TypeError(f"the custom_vjp bwd of {name} returned {len(cts_in)} "
                                f"cotangents for {len(dyn)} differentiable arguments")
            flat = []
            for ct, arg in zip(cts_in, dyn, strict=True):
                arg_avals = tree_util.tree_leaves(arg)
                if ct is None:
                    flat += [Zero(a.strip_weak_type()) for a in arg_avals]
                    continue
                leaves = tree_util.tree_flatten(ct, is_leaf=lambda x: x is None)[0]
                if len(leaves) != len(arg_avals):
                    raise TypeError(f"the custom_vjp bwd of {name} returned a cotangent with "
                                    f"{len(leaves)} leaves for an argument with "
                                    f"{len(arg_avals)}")
                flat += [Zero(a.strip_weak_type()) if c is None else c
                         for c, a in zip(leaves, arg_avals, strict=True)]
            _check_like("the bwd cotangent", name,
                        [instantiate(c) for c in flat], in_avals)
            return flat

        flat_fun.__name__ = name
        flat_fwd.__name__ = getattr(self.fwd, "__name__", "fwd")
        flat_bwd.__name__ = getattr(self.bwd, "__name__", "bwd")
        outs = bind_custom_call("process_custom_vjp_call", split.leaves, flat_fun, flat_fwd,
                                flat_bwd)
        return tree_util.tree_unflatten(store["out_tree"], outs)


# ------------------------------------------------ the opaque linear map
def _custom_lin_forward(*args, fun_name, **params):
    raise TypeError(f"cannot apply forward-mode differentiation (jvp, jacfwd, linearize) to "
                    f"the custom_vjp function {fun_name}: it only defines a reverse-mode rule. "
                    f"Use grad, vjp or jacrev, or define the rule with custom_jvp.")


def _custom_lin_transpose(cts, *args, num_res, bwd, out_avals, fun_name):
    res, linear = args[:num_res], args[num_res:]
    cts_in = bwd(list(res), [instantiate(c) for c in cts])
    return [None] * num_res + [ct if is_undefined_primal(x) else None
                               for ct, x in zip(cts_in, linear, strict=True)]


def _custom_lin_batch(args, dims, axis_size, *, num_res, bwd, out_avals, fun_name):
    """A custom_lin over a batch of tangents is one custom_lin whose ``bwd``
    is ``bwd`` vmapped.

    Reverse mode never batches custom_lin (it is staged by the partial
    evaluator and transposed, under vmap too), but a vmap between the
    tangents and the linear map does: ``vmap`` of a function from
    ``linearize`` (then ``linear_transpose`` of that, which works), or
    ``vmap(jvp(f))``, which then meets the forward-mode error below this
    level instead of a missing rule.
    """
    from funcgrad.transforms.vmap import batch_flat
    res, res_dims = list(args[:num_res]), list(dims[:num_res])
    # Every tangent gets the batch axis in front, broadcast if unbatched:
    # the cotangent bwd gives a shared tangent then flows back through the
    # broadcast, whose transpose sums it over the batch.
    linear = [batch_to(x, d, axis_size, 0)
              for x, d in zip(args[num_res:], dims[num_res:], strict=True)]
    linear_avals = [get_aval(t).strip_weak_type() for t in linear]

    def bwd_batched(res_vals, cts):
        def member_bwd(*zs):
            return bwd(list(zs[:num_res]), list(zs[num_res:]))
        cts_in, ct_dims = batch_flat(member_bwd, list(res_vals) + list(cts),
                                     res_dims + [0] * len(cts), axis_size)
        return [Zero(a) if type(ct) is Zero else batch_to(ct, d, axis_size, 0)
                for ct, d, a in zip(cts_in, ct_dims, linear_avals, strict=True)]

    batched_avals = tuple(ShapedArray((axis_size,) + a.shape, a.dtype) for a in out_avals)
    outs = custom_lin_p.bind(*res, *linear, num_res=num_res, bwd=bwd_batched,
                             out_avals=batched_avals, fun_name=fun_name)
    return outs, [0] * len(outs)


custom_lin_p = Primitive("custom_lin", multiple_results=True)
custom_lin_p.abstract_eval = lambda *avals, out_avals, **params: list(out_avals)
custom_lin_p.impl = _custom_lin_forward
custom_lin_p.jvp = lambda primals, tangents, **params: _custom_lin_forward(**params)
custom_lin_p.transpose = _custom_lin_transpose
custom_lin_p.batch = _custom_lin_batch

# ------------------------------------------------ staged calls that keep the rules
# Under make_jaxpr/jit a function with custom rules becomes one equation
# holding its body as a jaxpr and its rules as Python callables.  Running
# the jaxpr runs the body; differentiating it calls the rules; batching it
# batches both.  The compiler inlines the body.

def _stage_body(trace, fun, tracers):
    """``fun`` staged as a closed jaxpr; constants that are tracers of
    enclosing transforms become leading operands."""
    from funcgrad.transforms.jaxpr_transforms import stage
    closed, closure = stage(lambda *xs: list(fun(*xs)), [t.aval for t in tracers],
                             fun_name=getattr(fun, "__name__", "fun"), transform="custom rule")
    from funcgrad.core.trace import full_raise
    return closed, [full_raise(trace, c) for c in closure]


def stage_custom_jvp_call(trace, fun, jvp, tracers):
    closed, closure = _stage_body(trace, fun, tracers)
    return trace.main.global_data.add_eqn(
        trace, custom_jvp_call_p, closure + list(tracers), list(closed.out_avals),
        {"call_jaxpr": closed, "jvp": jvp, "num_consts": len(closure)})


def stage_custom_vjp_call(trace, fun, fwd, bwd, tracers):
    closed, closure = _stage_body(trace, fun, tracers)
    return trace.main.global_data.add_eqn(
        trace, custom_vjp_call_p, closure + list(tracers), list(closed.out_avals),
        {"call_jaxpr": closed, "fwd": fwd, "bwd": bwd, "num_consts": len(closure)})


def _call_impl(*args, call_jaxpr, **params):
    from funcgrad.core.staging import eval_jaxpr
    return [np.asarray(o) for o in eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *args)]


def _body(call_jaxpr, num_consts, consts):
    """The body as a function of the non-constant operands."""
    from funcgrad.core.staging import eval_jaxpr

    def body(*xs):
        return eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *consts, *xs)
    return body


def _check_consts_constant(tangents, num_consts):
    if any(type(t) is not Zero for t in tangents[:num_consts]):
        raise TypeError("a function with custom derivative rules closes over a value that is "
                        "being differentiated; pass that value as an explicit argument")


def _custom_jvp_call_jvp(primals, tangents, *, call_jaxpr, jvp, num_consts):
    # Exactly what the JVP interpreter does for an unstaged call.
    _check_consts_constant(tangents, num_consts)
    p_out, t_out = jvp(list(primals[num_consts:]),
                       [instantiate(t) for t in tangents[num_consts:]])
    return list(p_out), list(t_out)


def _custom_vjp_call_jvp(primals, tangents, *, call_jaxpr, fwd, bwd, num_consts):
    _check_consts_constant(tangents, num_consts)
    args = primals[num_consts:]
    primals_out, residuals = fwd(*args)
    tangents_out = custom_lin_p.bind(
        *residuals, *[instantiate(t) for t in tangents[num_consts:]], num_res=len(residuals),
        bwd=bwd, out_avals=tuple(get_aval(p).strip_weak_type() for p in primals_out),
        fun_name="custom_vjp function")
    return list(primals_out), list(tangents_out)


def _custom_call_batch(method):
    """Batch a staged custom call by handing it to the batching
    interpreter's handling of unstaged calls (rules batched with the body)."""
    def rule(args, dims, axis_size, *, call_jaxpr, num_consts, **rules):
        from funcgrad.core.trace import new_main
        from funcgrad.transforms.vmap import BatchTrace, BatchTracer
        from funcgrad.transforms.vmap import batch_flat
        consts, cdims = args[:num_consts], dims[:num_consts]
        if any(d is not None for d in cdims):
            # The rules cannot see a batched closure: run the body (correct,
            # without the custom rule), as for unstaged calls.
            return batch_flat(_body(call_jaxpr, 0, []), args, dims, axis_size)
        fun = _body(call_jaxpr, num_consts, consts)
        with new_main(BatchTrace, axis_size) as main:
            tracers = [BatchTracer(main.trace, a, d)
                       for a, d in zip(args[num_consts:], dims[num_consts:], strict=True)]
            if method == "jvp":
                outs = main.trace.process_custom_jvp_call(fun, rules["jvp"], tracers)
            else:
                outs = main.trace.process_custom_vjp_call(fun, rules["fwd"], rules["bwd"],
                                                          tracers)
            return [o.val for o in outs], [o.batch_dim for o in outs]
    return rule


custom_jvp_call_p = Primitive("custom_jvp_call", multiple_results=True)
custom_jvp_call_p.impl = _call_impl
custom_jvp_call_p.abstract_eval = lambda *avals, call_jaxpr, **params: list(call_jaxpr.out_avals)
custom_jvp_call_p.jvp = _custom_jvp_call_jvp
custom_jvp_call_p.batch = _custom_call_batch("jvp")
custom_jvp_call_p.not_applicable["transpose"] = "not linear (its jvp rule is linearized instead)"

custom_vjp_call_p = Primitive("custom_vjp_call", multiple_results=True)
custom_vjp_call_p.impl = _call_impl
custom_vjp_call_p.abstract_eval = lambda *avals, call_jaxpr, **params: list(call_jaxpr.out_avals)
custom_vjp_call_p.jvp = _custom_vjp_call_jvp
custom_vjp_call_p.batch = _custom_call_batch("vjp")
custom_vjp_call_p.not_applicable["transpose"] = "not linear (its fwd/bwd rules are used instead)"

__all__ = ["custom_jvp", "custom_vjp"]
