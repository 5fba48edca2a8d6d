"""``jit``: trace once per input signature, run as one compiled function.

``jit(f)`` stages ``f`` into a jaxpr for each new signature (pytree
structure, avals, static arguments) and binds ``jit_p``, a primitive that
holds that jaxpr.  Like any primitive, ``jit_p`` has rules for every
transform, each of which transforms the inner jaxpr and binds ``jit_p``
again, so ``grad(jit(f))``, ``jit(grad(f))``, ``vmap(jit(f))`` and nested
jits all end in compiled code:

* ``impl``: compile the jaxpr with the backend (``funcgrad.backends``) and
  run it;
* ``jvp``: the jvp of the jaxpr, as a new jaxpr;
* ``partial_eval``: split into a known jaxpr (run now, compiled) and an
  unknown one (staged into the linear map), with residuals between them;
* ``transpose``: the backward pass of a linear jaxpr, as a new jaxpr;
* ``batch``: the vmap of the jaxpr, as a new jaxpr.

Transformed jaxprs are cached on the jaxpr object, so repeated calls do no
tracing.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
from typing import Callable, Sequence

import numpy as np

from funcgrad import tree_util
from funcgrad.core.ad_util import Zero, instantiate, is_undefined_primal
from funcgrad.core.ir import ClosedJaxpr
from funcgrad.core.primitive import Primitive
from funcgrad.core.staging import argument_names
from funcgrad.transforms.jaxpr_transforms import (batch_jaxpr, cached, jvp_jaxpr,
                                                  partial_eval_jaxpr, prune_jaxpr, stage,
                                                  transpose_jaxpr)
from funcgrad.core.array import Array
from funcgrad.core.trace import get_aval, trace_stack

jit_p = Primitive("jit", multiple_results=True)


# ------------------------------------------------------------ impl and types
def _jit_impl(*args, jaxpr: ClosedJaxpr, name: str):
    from funcgrad.backends import compile_jaxpr
    return compile_jaxpr(_inlined(jaxpr))(*args)


@cached
def _inlined(closed: ClosedJaxpr) -> ClosedJaxpr:
    from funcgrad.passes.inline import inline_calls
    return inline_calls(closed)


jit_p.impl = _jit_impl
jit_p.abstract_eval = lambda *avals, jaxpr, name: list(jaxpr.out_avals)


# ------------------------------------------------------------ jvp
def _jit_jvp(primals, tangents, *, jaxpr, name):
    nonzero = tuple(type(t) is not Zero for t in tangents)
    jvp_closed, zeros_out = jvp_jaxpr(jaxpr, nonzero)
    outs = jit_p.bind(*primals, *[t for t in tangents if type(t) is not Zero],
                      jaxpr=jvp_closed, name=f"jvp({name})")
    n = len(jaxpr.out_avals)
    primals_out, it = outs[:n], iter(outs[n:])
    tangents_out = [Zero(a.strip_weak_type()) if z else next(it)
                    for a, z in zip(jaxpr.out_avals, zeros_out, strict=True)]
    return primals_out, tangents_out


jit_p.jvp = _jit_jvp


# ------------------------------------------------------------ partial evaluation
def _jit_partial_eval(trace, tracers, *, jaxpr, name):
    from funcgrad.transforms.partial_eval import KnownTracer
    unknown = tuple(type(t) is not KnownTracer for t in tracers)
    known, unknown_jaxpr, out_unknown, num_res = partial_eval_jaxpr(jaxpr, unknown)
    known_outs = jit_p.bind(*[t.value for t in tracers if type(t) is KnownTracer],
                            jaxpr=known, name=f"known({name})")
    n_known = len(known_outs) - num_res
    residuals = known_outs[n_known:]
    builder = trace.main.global_data
    staged_in = ([builder.new_const(trace, r) for r in residuals]
                 + [t for t in tracers if type(t) is not KnownTracer])
    unknown_outs = builder.add_eqn(trace, jit_p, staged_in, list(unknown_jaxpr.out_avals),
                                   {"jaxpr": unknown_jaxpr, "name": f"unknown({name})"})
    it_known, it_unknown = iter(known_outs[:n_known]), iter(unknown_outs)
    return [next(it_unknown) if u else KnownTracer(trace, next(it_known)) for u in out_unknown]


jit_p.partial_eval = _jit_partial_eval


# ------------------------------------------------------------ transpose
def _jit_transpose(cts, *args, jaxpr, name):
    linear = tuple(is_undefined_primal(a) for a in args)
    t_jaxpr = transpose_jaxpr(jaxpr, linear)
    cts = [instantiate(ct) for ct in cts]
    outs = iter(jit_p.bind(*[a for a in args if not is_undefined_primal(a)], *cts,
                           jaxpr=t_jaxpr, name=f"transpose({name})"))
    return [next(outs) if lin else None for lin in linear]


jit_p.transpose = _jit_transpose


# ------------------------------------------------------------ batching
def _jit_batch(args, dims, axis_size, *, jaxpr, name):
    b_jaxpr, out_batched = batch_jaxpr(jaxpr, tuple(dims), axis_size)
    outs = jit_p.bind(*args, jaxpr=b_jaxpr, name=f"vmap({name})")
    return outs, [0 if b else None for b in out_batched]


jit_p.batch = _jit_batch


# ------------------------------------------------------------ dead code
def _jit_dce(eqn, used):
    from funcgrad.core.ir import JaxprEqn
    pruned, _ = prune_jaxpr(eqn.params["jaxpr"], tuple(used))
    outvars = [v for v, u in zip(eqn.outvars, used, strict=True) if u]
    return JaxprEqn(jit_p, list(eqn.invars), outvars, dict(eqn.params, jaxpr=pruned))


jit_p.dce = _jit_dce


# ------------------------------------------------------------ the API
def _fast_signature(args) -> tuple | None:
    """A key for positional arguments that are all plain arrays or Python
    scalars (None otherwise); equal keys mean equal avals."""
    sig = []
    for a in args:
        t = type(a)
        if t is Array:
            v = a._value
            sig.append((v.shape, v.dtype, a.weak_type))
        elif t is np.ndarray:
            sig.append((a.shape, a.dtype))
        elif t is float or t is int or t is bool or t is complex:
            sig.append(t)
        else:
            return None
    return tuple(sig)


def _as_array(buffer: np.ndarray, weak_type: bool) -> Array:
    buffer.flags.writeable = False
    return Array._from_buffer(buffer, weak_type)


class Jitted:
    """A function compiled by :func:`jit`; call it like the original."""

    def __init__(self, fun: Callable, static_argnums: tuple[int, ...],
                 static_argnames: tuple[str, ...]):
        functools.update_wrapper(self, fun)
        self._fun = fun
        self._name = getattr(fun, "__name__", "fun")
        self._static_argnums = static_argnums
        self._static_argnames = static_argnames
        self._cache: dict = {}
        self._fast: dict = {}   # cheap argument signature -> (executable, out tree, weak types)
        try:
            self._signature = inspect.signature(fun)
        except (TypeError, ValueError):
            self._signature = None

    def _split(self, args: tuple, kwargs: dict):
        static_nums = {i % len(args) for i in self._static_argnums if -len(args) <= i < len(args)}
        for i in self._static_argnums:
            if not -len(args) <= i < len(args):
                raise ValueError(f"jit of {self._name}: static_argnums={self._static_argnums} "
                                 f"is out of range for a call with {len(args)} positional "
                                 f"arguments")
        static = tuple((i, args[i]) for i in sorted(static_nums))
        static += tuple((k, kwargs[k]) for k in sorted(self._static_argnames) if k in kwargs)
        try:
            hash(static)
        except TypeError:
            raise TypeError(f"jit of {self._name}: static arguments must be hashable, got "
                            f"{[type(v).__name__ for _, v in static]}") from None
        dyn_args = tuple(None if i in static_nums else a for i, a in enumerate(args))
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self._static_argnames}
        return static, dyn_args, dyn_kwargs, static_nums

    def _trace(self, args, kwargs):
        static, dyn_args, dyn_kwargs, static_nums = self._split(args, kwargs)
        flat, in_tree = tree_util.tree_flatten((dyn_args, dyn_kwargs))
        avals = tuple(get_aval(x) for x in flat)
        key = (in_tree, tuple((a.shape, a.dtype, a.weak_type) for a in avals), static)
        entry = self._cache.get(key)
        if entry is None:
            names, _ = argument_names(self._fun, dyn_args, dyn_kwargs)
            store = {}

            def flat_fun(*leaves):
                dyn, kw = tree_util.tree_unflatten(in_tree, list(leaves))
                full = [args[i] if i in static_nums else a for i, a in enumerate(dyn)]
                kw = dict(kw, **{k: kwargs[k] for k in self._static_argnames if k in kwargs})
                out_leaves, store["out_tree"] = tree_util.tree_flatten(self._fun(*full, **kw))
                return out_leaves

            closed, closure_args = stage(flat_fun, list(avals), names, self._name, "jit")
            entry = (closed, store["out_tree"], closure_args)
            if not closure_args:  # closures over tracers change from call to call
                self._cache[key] = entry
        return entry, flat

    def __call__(self, *args, **kwargs):
        if _jit_disabled[0]:
            return self._fun(*args, **kwargs)
        # Fast path: positional arrays, no transform active, a signature seen
        # before.  A dict lookup on a cheap key and the compiled call.
        fast = not kwargs and len(trace_stack) == 1 and _fast_signature(args)
        if fast:
            entry = self._fast.get(fast)
            if entry is not None:
                exe, out_tree, out_weak = entry
                outs = exe(*[a._value if type(a) is Array else a for a in args])
                return tree_util.tree_unflatten(out_tree, [
                    _as_array(o, w) for o, w in zip(outs, out_weak, strict=True)])
        (closed, out_tree, closure_args), flat = self._trace(args, kwargs)
        outs = jit_p.bind(*closure_args, *flat, jaxpr=closed, name=self._name)
        if fast and not closure_args and not self._static_argnums and not self._static_argnames:
            from funcgrad.backends import compile_jaxpr
            self._fast[fast] = (compile_jaxpr(_inlined(closed)), out_tree,
                                tuple(a.weak_type for a in closed.out_avals))
        return tree_util.tree_unflatten(out_tree, outs)

    def lower(self, *args, **kwargs) -> "Lowered":
        """The staged program for these arguments (``.as_text()`` gives the
        generated Numba source, ``.jaxpr`` the jaxpr)."""
        (closed, _, _), _ = self._trace(args, kwargs)
        return Lowered(closed)

    def _cache_size(self) -> int:
        return len(self._cache)

    def __repr__(self) -> str:
        return f"jit({self._name})"


class Lowered:
    """A traced program, before or after compilation."""

    def __init__(self, closed: ClosedJaxpr):
        self.jaxpr = closed

    def as_text(self) -> str:
        from funcgrad.backends import compile_jaxpr
        return compile_jaxpr(_inlined(self.jaxpr)).source

    def __repr__(self) -> str:
        return f"Lowered({self.jaxpr.pretty()})"


_jit_disabled = [False]


@contextlib.contextmanager
def disable_jit(disable: bool = True):
    """Within this block, jitted functions run as plain Python (op by op,
    with concrete values you can print or inspect in a debugger).

    >>> import funcgrad.numpy as jnp
    >>> with disable_jit():
    ...     print(jit(lambda x: x + 1)(jnp.ones(2)))
    [2. 2.]
    """
    previous = _jit_disabled[0]
    _jit_disabled[0] = disable
    try:
        yield
    finally:
        _jit_disabled[0] = previous


def jit(fun: Callable | None = None, *, static_argnums: int | Sequence[int] = (),
        static_argnames: str | Sequence[str] = ()):
    """Compile ``fun``: trace it once per signature (pytree structure, shapes,
    dtypes, static argument values) and run it as one native function.

    Usable as ``jit(f)``, ``@jit`` or ``@jit(static_argnums=...)``.

    >>> import funcgrad.numpy as jnp
    >>> f = jit(lambda x: jnp.sum(jnp.sin(x) ** 2))
    >>> float(f(jnp.zeros(3)))
    0.0
    """
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    if isinstance(static_argnames, str):
        static_argnames = (static_argnames,)
    if fun is None:
        return lambda f: Jitted(f, tuple(static_argnums), tuple(static_argnames))
    return Jitted(fun, tuple(static_argnums), tuple(static_argnames))
