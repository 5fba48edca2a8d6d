"""The staging interpreter: record a function as a jaxpr (``make_jaxpr``).

While a function runs under :class:`StagingTrace`, every primitive it binds
is appended to a :class:`JaxprBuilder` instead of being evaluated.  Constants
(arrays the function closes over, or tracers of outer transforms) become
constvars; Python and NumPy scalars become inline literals.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Sequence

import numpy as np

from funcgrad import tree_util
from funcgrad.core.avals import ShapedArray
from funcgrad.core.errors import ConcretizationTypeError
from funcgrad.core.ir import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, has_effects
from funcgrad.core.trace import Trace, Tracer, bind, full_raise, get_aval, new_main
from funcgrad.passes.dce import dce_jaxpr
from funcgrad.passes.simplify import rewrite_eqn, simplify_eqn


class StagingTracer(Tracer):
    """A value known only by its type, standing for a jaxpr variable."""

    __slots__ = ("_aval", "atom")

    def __init__(self, trace: "StagingTrace", aval: ShapedArray, atom):
        self._trace = trace
        self._aval = aval
        self.atom = atom

    @property
    def aval(self) -> ShapedArray:
        return self._aval

    def to_concrete(self, context: str):
        builder: JaxprBuilder = self._trace.main.global_data
        raise ConcretizationTypeError(builder.concretization_message(self, context))


class JaxprBuilder:
    """Accumulates equations, arguments and constants of one jaxpr."""

    def __init__(self, fun_name: str = "fun", transform: str = "make_jaxpr"):
        self.fun_name = fun_name
        self.transform = transform
        self.eqns: list[JaxprEqn] = []
        self.invars: list[Var] = []
        self.arg_names: dict[int, str] = {}        # id(invar) -> "x['w']"
        self.producers: dict[int, JaxprEqn] = {}   # id(outvar) -> eqn
        # id(value) -> (value, tracer, frozen value); holding the value keeps
        # its id unique while we build.
        self.consts: dict[int, tuple[Any, StagingTracer, Any]] = {}
        self.cse: dict[tuple, JaxprEqn] = {}

    def new_arg(self, trace, aval: ShapedArray, name: str) -> StagingTracer:
        var = Var(aval)
        self.invars.append(var)
        self.arg_names[id(var)] = name
        return StagingTracer(trace, aval, var)

    def new_const(self, trace, value) -> StagingTracer:
        entry = self.consts.get(id(value))
        if entry is not None:
            return entry[1]
        aval = get_aval(value)
        if aval.ndim == 0 and not isinstance(value, Tracer):
            scalar = value if not hasattr(value, "__array__") else np.asarray(value)[()]
            return StagingTracer(trace, aval, Literal(scalar, aval))
        tracer = StagingTracer(trace, aval, Var(aval))
        frozen = value
        if isinstance(value, np.ndarray) and value.flags.writeable:
            # The caller may mutate their array after tracing; a jaxpr's
            # constants must not change under it.
            frozen = value.copy()
            frozen.flags.writeable = False
        self.consts[id(value)] = (value, tracer, frozen)
        return tracer

    def add_eqn(self, trace, primitive, tracers, out_avals, params) -> list[StagingTracer]:
        atoms = [t.atom for t in tracers]
        # Common subexpressions: an equation identical to an earlier one
        # (same primitive, operands and parameters) reuses its results.
        key = _cse_key(primitive, atoms, params)
        if key is not None and key in self.cse:
            return [StagingTracer(trace, v.aval, v) for v in self.cse[key].outvars]
        outvars = [Var(a) for a in out_avals]
        eqn = JaxprEqn(primitive, atoms, outvars, params)
        self.eqns.append(eqn)
        if key is not None:
            self.cse[key] = eqn
        for v in outvars:
            self.producers[id(v)] = eqn
        return [StagingTracer(trace, a, v) for a, v in zip(out_avals, outvars, strict=True)]

    def producer(self, atom) -> JaxprEqn | None:
        """The equation that computed ``atom`` (None for inputs, constants
        and literals)."""
        return None if isinstance(atom, Literal) else self.producers.get(id(atom))

    def build(self, out_tracers: Sequence[StagingTracer]) -> tuple[Jaxpr, list]:
        constvars = [t.atom for _, t, _ in self.consts.values()]
        consts = [frozen for _, _, frozen in self.consts.values()]
        jaxpr = Jaxpr(constvars, list(self.invars), [t.atom for t in out_tracers], list(self.eqns))
        return jaxpr, consts

    # ---------------------------------------------------------- errors
    def argument_dependencies(self, atom) -> list[str]:
        """Names of the function arguments that ``atom`` was computed from."""
        names, seen, stack = [], set(), [atom]
        while stack:
            a = stack.pop()
            if isinstance(a, Literal) or id(a) in seen:
                continue
            seen.add(id(a))
            if id(a) in self.arg_names:
                names.append(self.arg_names[id(a)])
            elif id(a) in self.producers:
                stack.extend(self.producers[id(a)].invars)
        return sorted(names)

    def concretization_message(self, tracer: StagingTracer, context: str) -> str:
        deps = self.argument_dependencies(tracer.atom)
        origin = (f"It depends on the argument{'s' if len(deps) > 1 else ''} "
                  f"{', '.join(deps)} of {self.fun_name}." if deps else
                  f"It was computed inside {self.fun_name}.")
        return (f"{context} needs a concrete value, but got an abstract traced value of "
                f"type {tracer.aval.str_short()} while {self.transform} was staging "
                f"{self.fun_name}. {origin} Python control flow and conversions "
                f"cannot depend on staged values: use funcgrad.lax.cond, "
                f"funcgrad.lax.while_loop or funcgrad.numpy.where for control flow "
                f"on values, or mark the argument static (static_argnums).")


def _cse_key(primitive, atoms, params) -> tuple | None:
    if has_effects(primitive, params):
        return None
    operands = tuple(("lit", a.val, a.aval.dtype, a.aval.weak_type) if isinstance(a, Literal)
                     else id(a) for a in atoms)
    key = (primitive, operands, tuple(sorted(params.items())))
    try:
        hash(key)
    except TypeError:  # a parameter that cannot be compared cheaply
        return None
    return key


class StagingTrace(Trace):
    """Records primitives into the builder held by its MainTrace."""

    __slots__ = ()

    def pure(self, value):
        return self.main.global_data.new_const(self, value)

    lift = pure  # a tracer of an outer transform becomes a constvar

    def process_primitive(self, primitive, tracers, params):
        if primitive.abstract_eval is None:
            raise NotImplementedError(f"primitive {primitive.name} has no abstract_eval rule")
        out_avals = primitive.abstract_eval(*[t.aval for t in tracers], **params)
        builder = self.main.global_data
        replacement = simplify_eqn(primitive, [t.atom for t in tracers], out_avals, params,
                                   builder.producer)
        if replacement is not None:
            return [StagingTracer(self, a.aval if isinstance(a, Literal) else aval, a)
                    for a, aval in zip(replacement, out_avals, strict=True)]
        rewritten = rewrite_eqn(primitive, tracers, out_avals, params, builder.producer)
        if rewritten is not None:
            return rewritten
        return builder.add_eqn(self, primitive, tracers, out_avals, params)

    # Functions with custom rules are staged as calls that keep the rules,
    # so transforms of the staged jaxpr (grad of jit) still use them.
    def process_custom_jvp_call(self, fun, jvp, tracers):
        from funcgrad.transforms.custom_derivatives import stage_custom_jvp_call
        return stage_custom_jvp_call(self, fun, jvp, tracers)

    def process_custom_vjp_call(self, fun, fwd, bwd, tracers):
        from funcgrad.transforms.custom_derivatives import stage_custom_vjp_call
        return stage_custom_vjp_call(self, fun, fwd, bwd, tracers)


def trace_to_jaxpr(flat_fun: Callable, in_avals: Sequence[ShapedArray],
                   arg_names: Sequence[str] | None = None, fun_name: str = "fun",
                   transform: str = "make_jaxpr") -> tuple[Jaxpr, list]:
    """Stage ``flat_fun`` (a function of a flat list of arrays returning a flat
    list) into a jaxpr and the values of its constvars."""
    builder = JaxprBuilder(fun_name, transform)
    names = arg_names or [f"args[{i}]" for i in range(len(in_avals))]
    with new_main(StagingTrace, builder, dynamic=True) as main:
        trace = main.trace
        in_tracers = [builder.new_arg(trace, aval, name)
                      for aval, name in zip(in_avals, names, strict=True)]
        outs = flat_fun(*in_tracers)
        out_tracers = [full_raise(trace, o) for o in outs]
        jaxpr, consts = builder.build(out_tracers)
    # Transforms emit freely (grad computes a primal value it then drops);
    # dead equations never reach the user or a backend.
    jaxpr, consts, _ = dce_jaxpr(jaxpr, consts)
    return jaxpr, consts


def eval_jaxpr(jaxpr: Jaxpr, consts: Sequence, *args) -> list:
    """Run a jaxpr by binding its primitives, so it composes with transforms.

    >>> import funcgrad.numpy as jnp
    >>> closed = make_jaxpr(lambda x: jnp.sin(x) * 2.0)(1.0)
    >>> eval_jaxpr(closed.jaxpr, closed.consts, 0.5)
    [Array(0.95885108, dtype=float64, weak_type=True)]
    """
    env: dict[int, Any] = {}

    def read(atom):
        return atom.value() if isinstance(atom, Literal) else env[id(atom)]

    for var, value in zip(jaxpr.constvars, consts, strict=True):
        env[id(var)] = value
    if len(args) != len(jaxpr.invars):
        raise TypeError(f"eval_jaxpr: the jaxpr takes {len(jaxpr.invars)} arguments, got {len(args)}")
    for var, value in zip(jaxpr.invars, args, strict=True):
        env[id(var)] = value
    for eqn in jaxpr.eqns:
        outs = bind(eqn.primitive, [read(a) for a in eqn.invars], eqn.params)
        if not eqn.primitive.multiple_results:
            outs = [outs]
        for var, value in zip(eqn.outvars, outs, strict=True):
            env[id(var)] = value
    return [read(a) for a in jaxpr.outvars]


def jaxpr_as_fun(closed: ClosedJaxpr) -> Callable:
    """A Python function that evaluates ``closed`` on flat arguments."""
    return functools.partial(eval_jaxpr, closed.jaxpr, closed.consts)


def argument_names(fun: Callable, args: tuple, kwargs: dict) -> tuple[list[str], Any]:
    """Flatten ``(args, kwargs)`` and name every leaf after the parameter it
    came from, e.g. ``x`` or ``params['w']``, for error messages."""
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [p.name for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    leaves_with_path, treedef = tree_util.tree_flatten_with_path((args, kwargs))
    names = []
    for path, _ in leaves_with_path:
        head, rest = path[0], path[1:]
        index = path[1] if len(path) > 1 else None
        key = getattr(index, "idx", getattr(index, "key", None))
        if head.idx == 0 and isinstance(key, int) and key < len(positional):
            base = positional[key]
        elif head.idx == 0:
            base = f"args[{key}]"
        else:
            base = str(key)
        names.append(base + tree_util.keystr(tuple(rest[1:])))
    return names, treedef


def make_jaxpr(fun: Callable, static_argnums: int | Sequence[int] = (),
               return_shape: bool = False) -> Callable:
    """Trace ``fun`` and return its jaxpr, without evaluating anything.

    >>> import funcgrad.numpy as jnp
    >>> print(make_jaxpr(lambda x: jnp.sin(x) * 2.0)(jnp.ones(3)))
    { lambda ; a:f64[3]. let
        b:f64[3] = sin a
        c:f64[3] = mul b 2.0
      in (c,) }
    """
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    static_argnums = tuple(static_argnums)
    fun_name = getattr(fun, "__name__", "fun")

    @functools.wraps(fun)
    def make_jaxpr_fun(*args, **kwargs):
        for i in static_argnums:
            if not -len(args) <= i < len(args):
                raise ValueError(f"static_argnums={static_argnums} is out of range for "
                                 f"{fun_name} called with {len(args)} positional arguments")
        static = {i % len(args) for i in static_argnums}
        # Static arguments are replaced by None, a pytree without leaves, so
        # positions (and so argument names) stay as the user wrote them.
        dynamic_args = tuple(None if i in static else a for i, a in enumerate(args))
        names, in_tree = argument_names(fun, dynamic_args, kwargs)
        flat_args = tree_util.tree_leaves((dynamic_args, kwargs))
        in_avals = [get_aval(x) for x in flat_args]
        out_tree_cell = []

        def flat_fun(*flat_tracers):
            dyn, kw = tree_util.tree_unflatten(in_tree, list(flat_tracers))
            full_args = [args[i] if i in static else a for i, a in enumerate(dyn)]
            out = fun(*full_args, **kw)
            flat_out, out_tree = tree_util.tree_flatten(out)
            out_tree_cell.append(out_tree)
            return flat_out

        jaxpr, consts = trace_to_jaxpr(flat_fun, in_avals, names, fun_name, "make_jaxpr")
        closed = ClosedJaxpr(jaxpr, consts)
        if return_shape:
            shapes = tree_util.tree_unflatten(out_tree_cell[0], jaxpr.out_avals)
            return closed, shapes
        return closed

    return make_jaxpr_fun
