"""The core: abstract values, the IR, the interpreter stack and staging."""
from funcgrad.core.array import Array
from funcgrad.core.avals import ShapedArray
from funcgrad.core.check import check_jaxpr
from funcgrad.core.errors import (ConcretizationTypeError, JaxprTypeError,
                                  TracerArrayConversionError, UnexpectedTracerError)
from funcgrad.core.ir import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var
from funcgrad.core.primitive import Primitive, registry
from funcgrad.core.staging import eval_jaxpr, jaxpr_as_fun, make_jaxpr, trace_to_jaxpr
from funcgrad.core.trace import (EvalTrace, MainTrace, Trace, Tracer, bind, find_top_trace,
                                 full_lower, full_raise, get_aval, new_main)

__all__ = ["Array", "ClosedJaxpr", "ConcretizationTypeError", "EvalTrace", "Jaxpr", "JaxprEqn",
           "JaxprTypeError", "Literal", "MainTrace", "Primitive", "ShapedArray", "Trace",
           "Tracer", "TracerArrayConversionError", "UnexpectedTracerError", "Var", "bind",
           "check_jaxpr", "eval_jaxpr", "find_top_trace", "full_lower", "full_raise", "get_aval",
           "jaxpr_as_fun", "make_jaxpr", "new_main", "registry", "trace_to_jaxpr"]
