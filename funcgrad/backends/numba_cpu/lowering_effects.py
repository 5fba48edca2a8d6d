"""Effects: ``debug_print`` calls back into Python from compiled code.

The call is a ``numba.objmode`` block around one call of :func:`emit`: a
narrow, explicit callback (the rest of the function stays nopython), like a
host callback in other systems.  The format string and the pytree structure
of the arguments are not source text, so the code passes a key under which
code generation registered them in this process.

The block sits in a small helper function of the generated module, called
where the print happens: Numba (0.68) fails to compile an ``objmode`` block
inside an ``if``/``else`` that follows another ``objmode`` block (LLVM:
"Instruction does not dominate all uses"), as a print in a ``cond`` branch
after a print in a loop would be.
"""
from __future__ import annotations

import builtins
import hashlib

import numpy as np

from funcgrad import tree_util
from funcgrad.core.ir import JaxprEqn
from funcgrad.backends.numba_cpu.codegen import Builder, register

_registry: dict[str, tuple] = {}


def emit(key: str, *values) -> None:
    """Print the values of one ``debug_print`` equation (called from
    compiled code)."""
    fmt, treedef, dts = _registry[key]
    arrays = [np.asarray(v, dt) for v, dt in zip(values, dts, strict=True)]
    args, kwargs = tree_util.tree_unflatten(treedef, arrays)
    builtins.print(fmt.format(*args, **kwargs))


@register("debug_print")
def _debug_print(b: Builder, eqn: JaxprEqn) -> None:
    fmt, treedef = eqn.params["fmt"], eqn.params["treedef"]
    dts = tuple(a.aval.dtype for a in eqn.invars)
    key = hashlib.sha256(repr((fmt, repr(treedef), dts)).encode()).hexdigest()[:20]
    _registry[key] = (fmt, treedef, dts)
    params = [f"v{k}" for k in range(len(eqn.invars))]
    name = b.helper(f"_print_{key}", "\n".join([
        "@numba.njit(cache=True, no_cpython_wrapper=True)",
        f"def _print_{key}({', '.join(params)}):",
        "    with numba.objmode():",
        f"        _debug_emit({', '.join([repr(key)] + params)})"]))
    b.uses_objmode = True
    b.emit(f"{name}({', '.join(b.read(a) for a in eqn.invars)})")


__all__ = ["emit"]
