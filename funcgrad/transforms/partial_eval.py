"""Partial evaluation: run what is known, stage what is not.

Under :class:`PartialEvalTrace` every value is either *known* (a concrete
array, or a tracer of a lower interpreter) or *unknown* (only its type is
known: a variable of a jaxpr under construction).  A primitive whose operands
are all known is applied right away by the interpreters below; one with an
unknown operand is recorded as an equation, its known operands becoming
constants of the jaxpr (the *residuals*).

``linearize`` runs the JVP interpreter over this one with known primals and
unknown tangents: the primal computation happens now (so Python control flow
on primal values works), the tangent computation, linear in the unknown
tangents, becomes a jaxpr that reverse mode transposes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from funcgrad.core.ad_util import Zero, differentiable_dtype
from funcgrad.core.avals import ShapedArray
from funcgrad.core.ir import Jaxpr
from funcgrad.core.staging import JaxprBuilder, StagingTracer
from funcgrad.core.trace import Trace, Tracer, full_lower, full_raise, get_aval, new_main
from funcgrad.passes.dce import dce_jaxpr
from funcgrad.transforms.jvp import jvp_flat


class KnownTracer(Tracer):
    """A known value passing through the partial evaluator."""

    __slots__ = ("value",)

    def __init__(self, trace: "PartialEvalTrace", value):
        self._trace = trace
        self.value = value

    @property
    def aval(self) -> ShapedArray:
        return get_aval(self.value)

    def full_lower(self):
        return full_lower(self.value)


class PartialEvalTrace(Trace):
    """Applies primitives on known operands, stages the others into the
    :class:`JaxprBuilder` held by its MainTrace (unknown values are that
    builder's :class:`StagingTracer` objects, bound to this trace)."""

    __slots__ = ()

    def pure(self, value):
        return KnownTracer(self, value)

    lift = pure

    def process_primitive(self, primitive, tracers, params):
        if all(type(t) is KnownTracer for t in tracers):
            out = primitive.bind(*[t.value for t in tracers], **params)
            outs = out if primitive.multiple_results else [out]
            return [KnownTracer(self, o) for o in outs]
        if primitive.partial_eval is not None:
            return primitive.partial_eval(self, tracers, **params)
        builder: JaxprBuilder = self.main.global_data
        staged = [builder.new_const(self, t.value) if type(t) is KnownTracer else t
                  for t in tracers]
        out_avals = primitive.abstract_eval(*[t.aval for t in staged], **params)
        return builder.add_eqn(self, primitive, staged, out_avals, params)


@dataclass(frozen=True, eq=False)
class LinearFunction:
    """The result of linearizing a flat function at a point.

    ``jaxpr`` maps the tangents of the differentiable inputs
    (``diff_inputs[i]`` is True for those) to the non-zero output tangents
    (``zero_outputs[j]`` is True where the output tangent is symbolically
    zero; those are not outputs of the jaxpr).  ``residuals`` are the values
    of its constvars: exactly what the linear map needs from the primal
    computation.
    """

    jaxpr: Jaxpr
    residuals: list
    in_avals: list          # avals of all flat inputs (tangent/cotangent types)
    out_avals: list         # avals of all flat outputs
    diff_inputs: list[bool]
    zero_outputs: list[bool]

    def tangent_avals(self) -> list[ShapedArray]:
        return [a.strip_weak_type() for a in self.in_avals]


def linearize_flat(fun: Callable, primals: Sequence,
                   diff_inputs: Sequence[bool] | None = None) -> tuple[list, LinearFunction]:
    """Evaluate ``fun`` (flat list in, flat list out) at ``primals`` and
    build its linear map.  Inputs with ``diff_inputs[i]`` False, or of a
    non-float dtype, get a zero tangent."""
    avals = [get_aval(p) for p in primals]
    if diff_inputs is None:
        diff_inputs = [True] * len(primals)
    diff_inputs = [bool(d) and differentiable_dtype(a.dtype)
                   for d, a in zip(diff_inputs, avals, strict=True)]
    builder = JaxprBuilder(getattr(fun, "__name__", "fun"), "linearize")
    with new_main(PartialEvalTrace, builder) as main:
        trace = main.trace
        tangents = [builder.new_arg(trace, a.strip_weak_type(), f"tangent[{i}]") if d
                    else Zero(a.strip_weak_type())
                    for i, (a, d) in enumerate(zip(avals, diff_inputs, strict=True))]
        primals_out, tangents_out = jvp_flat(fun, list(primals), tangents)
        zero_outputs = [type(t) is Zero for t in tangents_out]
        out_tracers = []
        for t in tangents_out:
            if type(t) is Zero:
                continue
            t = full_raise(trace, t)
            # A tangent that turned out known (a materialised zero) is a
            # constant of the linear map.
            out_tracers.append(builder.new_const(trace, t.value) if type(t) is KnownTracer else t)
        jaxpr, residuals = builder.build(out_tracers)
    jaxpr, residuals, _ = dce_jaxpr(jaxpr, residuals)
    primals_out = [full_lower(p) for p in primals_out]
    linear = LinearFunction(jaxpr, residuals, avals, [get_aval(p) for p in primals_out],
                            diff_inputs, zero_outputs)
    return primals_out, linear


def is_unknown(x) -> bool:
    return type(x) is StagingTracer and isinstance(x._trace, PartialEvalTrace)
