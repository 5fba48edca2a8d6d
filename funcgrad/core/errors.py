"""Exceptions raised by funcgrad's tracing machinery."""
from __future__ import annotations


class ConcretizationTypeError(TypeError):
    """A traced value was used where Python needs a concrete one.

    Raised by ``bool()``, ``int()``, ``float()`` or ``if``/``while`` on a value
    that is only known abstractly while a function is being staged (by
    ``make_jaxpr`` or ``jit``).
    """


class TracerArrayConversionError(TypeError):
    """A traced value was handed to NumPy (``np.asarray(tracer)``)."""


class UnexpectedTracerError(Exception):
    """A tracer escaped the transformation that created it.

    This usually means a traced value was stored in a global, a closure or an
    attribute and used after the transformed function returned.
    """


class JaxprTypeError(TypeError):
    """A jaxpr is ill-formed: an undefined variable or mismatched types."""
