"""The IR: variables, literals, equations and jaxprs, with a pretty-printer.

A jaxpr is a straight-line program in A-normal form::

    { lambda ; a:f64[3]. let
        b:f64[3] = sin a
        c:f64[3] = mul b 2.0
      in (c,) }

Variables are compared by identity; names are given only when printing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray


@dataclass(eq=False, slots=True)
class Var:
    """A variable of a jaxpr.  Identity is the object itself."""

    aval: ShapedArray

    def __repr__(self) -> str:
        return f"Var({self.aval.str_short()})"


@dataclass(eq=False, slots=True)
class Literal:
    """A scalar constant written inline in an equation."""

    val: Any
    aval: ShapedArray

    def value(self):
        """The literal as an array of exactly its type (weak-typedness
        included), for interpreters that evaluate jaxprs."""
        from funcgrad.core.array import Array
        buffer = np.array(self.val, self.aval.dtype)
        buffer.flags.writeable = False
        return Array._from_buffer(buffer, self.aval.weak_type)

    def __repr__(self) -> str:
        return f"Literal({_format_literal(self)})"


Atom = Var | Literal


@dataclass(eq=False, slots=True)
class JaxprEqn:
    """``outvars = primitive[params] *invars``."""

    primitive: Any  # funcgrad.core.primitive.Primitive (import cycle)
    invars: list[Atom]
    outvars: list[Var]
    params: dict[str, Any]

    def __repr__(self) -> str:
        return _PrettyPrinter().eqn(self).strip()


@dataclass(eq=False, slots=True)
class Jaxpr:
    """A closed-over-nothing program: constvars and invars in, outvars out."""

    constvars: list[Var]
    invars: list[Var]
    outvars: list[Atom]
    eqns: list[JaxprEqn] = field(default_factory=list)

    @property
    def in_avals(self) -> list[ShapedArray]:
        return [v.aval for v in self.invars]

    @property
    def out_avals(self) -> list[ShapedArray]:
        return [v.aval for v in self.outvars]

    def pretty(self) -> str:
        return _PrettyPrinter().jaxpr(self)

    __str__ = pretty

    def __repr__(self) -> str:
        return self.pretty()


@dataclass(eq=False, slots=True, weakref_slot=True)
class ClosedJaxpr:
    """A jaxpr together with the values of its constvars."""

    jaxpr: Jaxpr
    consts: list[Any]

    @property
    def in_avals(self) -> list[ShapedArray]:
        return self.jaxpr.in_avals

    @property
    def out_avals(self) -> list[ShapedArray]:
        return self.jaxpr.out_avals

    @property
    def eqns(self) -> list[JaxprEqn]:
        return self.jaxpr.eqns

    def pretty(self) -> str:
        return self.jaxpr.pretty()

    __str__ = pretty

    def __repr__(self) -> str:
        return self.pretty()


# ----------------------------------------------------------------- printing

def _var_name(index: int) -> str:
    """a, b, ..., z, ba, bb, ... (as in JAX, so printed jaxprs look familiar)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    name = ""
    while True:
        name = letters[index % 26] + name
        index //= 26
        if index == 0:
            return name


def _format_literal(lit: Literal) -> str:
    value = np.asarray(lit.val)
    if value.ndim:
        return f"<array of shape {value.shape}>"
    if value.dtype == np.bool_:
        text = "True" if value else "False"
    elif dtypes.is_float(value.dtype):
        text = repr(float(value))
    elif dtypes.is_complex(value.dtype):
        text = repr(complex(value))
    else:
        text = str(int(value))
    default = {"b": dtypes.bool_, "f": dtypes.float64, "i": dtypes.int64,
               "c": dtypes.complex128}.get(lit.aval.dtype.kind)
    if lit.aval.dtype != default:
        text += ":" + lit.aval.str_short()
    return text


def _format_param(value: Any, printer: "_PrettyPrinter", indent: str) -> str:
    if isinstance(value, (Jaxpr, ClosedJaxpr)):
        inner = value.jaxpr if isinstance(value, ClosedJaxpr) else value
        return printer.jaxpr(inner, indent + "  ")
    if isinstance(value, np.dtype):
        return value.name
    if callable(value) and not isinstance(value, type):  # a rule of a custom call
        return getattr(value, "__name__", type(value).__name__)
    if isinstance(value, tuple) and value and all(isinstance(v, (Jaxpr, ClosedJaxpr)) for v in value):
        return "(\n" + "".join(indent + "  " + _format_param(v, printer, indent + "  ") + "\n"
                               for v in value) + indent + ")"
    return repr(value)


class _PrettyPrinter:
    """Assigns short names to variables in order of first appearance."""

    def __init__(self):
        self.names: dict[int, str] = {}

    def name(self, atom: Atom) -> str:
        if isinstance(atom, Literal):
            return _format_literal(atom)
        key = id(atom)
        if key not in self.names:
            self.names[key] = _var_name(len(self.names))
        return self.names[key]

    def binder(self, var: Var) -> str:
        return f"{self.name(var)}:{var.aval.str_short()}"

    def eqn(self, eqn: JaxprEqn, indent: str = "") -> str:
        params = ""
        # Parameters left at None (no precision requested, ...) are noise.
        shown = {k: v for k, v in eqn.params.items() if v is not None}
        if shown:
            items = ", ".join(f"{k}={_format_param(v, self, indent + '    ')}"
                              for k, v in shown.items())
            params = f"[{items}]"
        args = " ".join(self.name(a) for a in eqn.invars)
        outs = " ".join(self.binder(v) for v in eqn.outvars)
        binders = f"{outs} = " if outs else ""   # effects (printing) have no outputs
        return f"{indent}    {binders}{eqn.primitive.name}{params} {args}".rstrip()

    def jaxpr(self, jaxpr: Jaxpr, indent: str = "") -> str:
        consts = " ".join(self.binder(v) for v in jaxpr.constvars)
        ins = " ".join(self.binder(v) for v in jaxpr.invars)
        lines = [f"{{ lambda {consts}; {ins}. let"]
        lines += [self.eqn(e, indent) for e in jaxpr.eqns]
        outs = ", ".join(self.name(v) for v in jaxpr.outvars)
        trailing = "," if len(jaxpr.outvars) == 1 else ""
        lines.append(f"{indent}  in ({outs}{trailing}) }}")
        return "\n".join(lines)


def sub_jaxprs(params: dict) -> list[Jaxpr]:
    """The jaxprs held in an equation's parameters (branches, loop bodies,
    called functions)."""
    found = []
    for value in params.values():
        for sub in value if isinstance(value, tuple) else (value,):
            if isinstance(sub, ClosedJaxpr):
                found.append(sub.jaxpr)
            elif isinstance(sub, Jaxpr):
                found.append(sub)
    return found


def has_effects(primitive, params: dict) -> bool:
    """Whether an equation must run even if nobody uses its results: an
    effectful primitive (printing), or a call, branch or loop whose body
    holds one."""
    if primitive.effectful:
        return True
    return any(has_effects(e.primitive, e.params) for j in sub_jaxprs(params) for e in j.eqns)
