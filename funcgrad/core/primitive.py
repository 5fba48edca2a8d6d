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
        self.transpose: Callable | None = None
        self.batch: Callable | None = None
        # Backend-neutral scalar expression for elementwise primitives, e.g.
        # "math.exp({x})"; the CPU and CUDA code generators both read it.
        self.scalar_expr: str | None = None
        # Which rules are deliberately absent (e.g. {"jvp"} for argmax).
        self.not_applicable: dict[str, str] = {}
        registry[name] = self

    def bind(self, *args: Any, **params: Any):
        from funcgrad.core.trace import bind
        return bind(self, args, params)

    def __repr__(self) -> str:
        return f"Primitive({self.name})"
