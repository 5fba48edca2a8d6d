"""Debugging helpers that work inside transformed and compiled code.

``funcgrad.debug.print`` prints values from inside ``jit``, ``grad`` and
``vmap``: it is a primitive with an effect, so it is staged (never removed
as dead code, never merged with another print) and runs whenever the
program runs, with the values of that run.
"""
from __future__ import annotations

import builtins

import numpy as np

from funcgrad import tree_util
from funcgrad.core.primitive import Primitive
from funcgrad.lax.base import asoperand

debug_print_p = Primitive("debug_print", multiple_results=True)
debug_print_p.effectful = True


def _format(fmt: str, treedef, values) -> str:
    args, kwargs = tree_util.tree_unflatten(treedef, [np.asarray(v) for v in values])
    return fmt.format(*args, **kwargs)


def _impl(*values, fmt, treedef):
    builtins.print(_format(fmt, treedef, values))
    return []


def _jvp(primals, tangents, *, fmt, treedef):
    # Printing shows primal values; it has no outputs, so no tangents.
    debug_print_p.bind(*primals, fmt=fmt, treedef=treedef)
    return [], []


def _batch(args, dims, axis_size, *, fmt, treedef):
    # Print each member of the batch, as the unbatched program would.
    from funcgrad.lax import index_in_dim
    for i in range(axis_size):
        member = [a if d is None else index_in_dim(a, i, d, keepdims=False)
                  for a, d in zip(args, dims, strict=True)]
        debug_print_p.bind(*member, fmt=fmt, treedef=treedef)
    return [], []


debug_print_p.impl = _impl
debug_print_p.abstract_eval = lambda *avals, fmt, treedef: []
debug_print_p.jvp = _jvp
debug_print_p.batch = _batch
debug_print_p.not_applicable["transpose"] = "it has no outputs"


def print(fmt: str, *args, **kwargs) -> None:  # noqa: A001 (JAX's name)
    """Print ``fmt.format(*args, **kwargs)`` with the runtime values of
    ``args``, also from inside ``jit``, ``grad`` and ``vmap``.

    >>> import funcgrad, funcgrad.numpy as jnp
    >>> @funcgrad.jit
    ... def f(x):
    ...     funcgrad.debug.print("x = {}", x)
    ...     return x * 2
    >>> _ = f(jnp.arange(2.0))   # doctest: +SKIP
    x = [0. 1.]
    """
    leaves, treedef = tree_util.tree_flatten((args, kwargs))
    debug_print_p.bind(*[asoperand(v, "debug.print") for v in leaves], fmt=fmt, treedef=treedef)
