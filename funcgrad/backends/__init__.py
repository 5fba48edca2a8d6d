"""Backends: compile a closed jaxpr into a native function.

The interface between the transforms and a backend is one function::

    exe = compile_jaxpr(closed)   # closed: funcgrad.core.ir.ClosedJaxpr
    outs = exe(*flat_args)        # NumPy arrays/scalars of the jaxpr's input types
    exe.source                    # the generated source

``outs`` is a list of NumPy arrays, one per output of the jaxpr, with its
shape and dtype, never sharing memory with the arguments.  The only backend
so far is Numba on the CPU (:mod:`funcgrad.backends.numba_cpu`), imported
on first use so that ``import funcgrad`` does not import Numba.
"""
from __future__ import annotations


class InternalCompilerError(RuntimeError):
    """A backend generated code its compiler rejected: a funcgrad bug.  The
    message names the primitive, the equation and the generated line."""


def compile_jaxpr(closed, backend: str = "numba_cpu"):
    """Compile a closed jaxpr with ``backend`` (only ``"numba_cpu"``).

    >>> import numpy as np, funcgrad, funcgrad.numpy as jnp
    >>> closed = funcgrad.make_jaxpr(lambda x: jnp.sin(x) * 2.0)(np.zeros(3))
    >>> exe = compile_jaxpr(closed)
    >>> exe(np.array([0.0, 0.5, 1.0]))[0].round(6)
    array([0.      , 0.958851, 1.682942])
    """
    if backend != "numba_cpu":
        raise ValueError(f"unknown backend {backend!r}; available: 'numba_cpu'")
    from funcgrad.backends.numba_cpu import compile_jaxpr as compile_numba
    return compile_numba(closed)


__all__ = ["InternalCompilerError", "compile_jaxpr"]
