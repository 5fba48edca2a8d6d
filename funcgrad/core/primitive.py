"""Primitives: the operations of the IR, each carrying all of its rules.

A primitive is declared once, and every rule it has is an attribute set next
to that declaration (see ``funcgrad/lax``)::

    exp_p = unary("exp", np.exp, scalar="math.exp({x})")
    exp_p.jvp = ...

Rule contracts (uniform, so transforms stay generic):

* ``impl(*arrays, **params) -> list[np.ndarray]``: eager evaluation in NumPy.
* ``abstract_eval(*avals, **params) -> list[ShapedArray]``: shape/dtype rule.
* ``jvp(primals, tangents, **params) -> (primals_out, tangents_out)``.
* ``transpose(cts, *args, **params) -> list``: for linear primitives.
  ``cts`` has one cotangent per output (``Zero`` possible only for
  multiple-result primitives; a rule is never called when all are zero);
  the operands being transposed are ``UndefinedPrimal(aval)``, the others
  are ordinary values the rule may use (a constant factor, indices).  It
  returns one entry per operand: the cotangent (exactly the operand's shape
  and dtype, or ``Zero``) for each UndefinedPrimal, ``None`` for the rest.
* ``batch(args, dims, axis_size, **params) -> (outs, out_dims)``.

A rule a primitive can never have is declared so explicitly (for example
``not_differentiable(p)``) so that a registry walk can tell "missing" from
"does not apply".
"""
from __future__ import annotations

from typing import Any, Callable

# Every primitive ever created, by name: tests walk it to check coverage.
registry: dict[str, "Primitive"] = {}


class Primitive:
    """An operation of the IR.  ``p.bind(*args, **params)`` applies it.

    >>> from funcgrad import lax
    >>> lax.sin_p
    Primitive(sin)
    """

    def __init__(self, name: str, *, multiple_results: bool = False):
        if name in registry:
            raise ValueError(f"a primitive named {name!r} already exists")
        self.name = name
        self.multiple_results = multiple_results
        self.impl: Callable[..., list] | None = None
        self.abstract_eval: Callable[..., list] | None = None
        self.jvp: Callable | None = None
        self._transpose: Callable | None = None
        self.batch: Callable | None = None
        # Call-like primitives (jit) split themselves under partial
        # evaluation: ``partial_eval(trace, tracers, **params) -> tracers``.
        self.partial_eval: Callable | None = None
        # Calls prune their bodies in dead-code elimination:
        # ``dce(eqn, used_outputs) -> eqn`` without the unused outputs.
        self.dce: Callable | None = None
        # Backend-neutral scalar expression for elementwise primitives, e.g.
        # "math.exp({x})"; the CPU and CUDA code generators both read it.
        self.scalar_expr: str | None = None
        # Which rules are deliberately absent (e.g. {"jvp"} for argmax).
        self.not_applicable: dict[str, str] = {}
        # Effectful primitives (printing) are never removed by dead-code
        # elimination.
        self.effectful = False
        registry[name] = self

    @property
    def transpose(self) -> Callable | None:
        return self._transpose

    @transpose.setter
    def transpose(self, rule: Callable | None) -> None:
        # A jvp combinator may have marked the primitive "not linear" before
        # its transpose rule was declared; the rule wins.
        self._transpose = rule
        if rule is not None:
            self.not_applicable.pop("transpose", None)

    def bind(self, *args: Any, **params: Any):
        from funcgrad.core.trace import bind
        return bind(self, args, params)

    def __repr__(self) -> str:
        return f"Primitive({self.name})"
