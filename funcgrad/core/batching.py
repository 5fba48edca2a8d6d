"""Helpers for batching rules (the ``batch`` rule of a primitive).

A batching rule receives the operands of one primitive, each with the
position of its batch axis (``dims[i]``, or ``None`` for an operand that is
the same for every batch member), and returns the outputs with the positions
of their batch axes.  Rules should move axes only where needed: a rule is free
to return its output's batch axis anywhere.

Contract: ``batch(args, dims, axis_size, **params) -> (outs, out_dims)``
where ``outs`` and ``out_dims`` are lists (one entry per output).
"""
from __future__ import annotations

from typing import Sequence

from funcgrad.core.trace import get_aval

not_mapped = None


def member_avals(args, dims) -> list:
    """The types one batch member sees (batch axes removed).  The batching
    interpreter has already checked them with the primitive's shape rule
    before calling its batching rule."""
    avals = []
    for x, d in zip(args, dims, strict=True):
        aval = get_aval(x)
        if d is not None:
            aval = aval.update(shape=aval.shape[:d] + aval.shape[d + 1:])
        avals.append(aval)
    return avals


def move_axis(x, src: int, dst: int):
    """``x`` with axis ``src`` moved to position ``dst`` (a transpose, or
    ``x`` itself when nothing moves)."""
    if src == dst:
        return x
    from funcgrad.lax.shape import transpose
    perm = [i for i in range(get_aval(x).ndim) if i != src]
    perm.insert(dst, src)
    return transpose(x, tuple(perm))


def broadcast_batch(x, axis_size: int, dim: int):
    """An unbatched ``x`` given a batch axis of ``axis_size`` at ``dim``."""
    from funcgrad.lax.shape import broadcast_in_dim
    aval = get_aval(x)
    shape = list(aval.shape)
    shape.insert(dim, axis_size)
    kept = tuple(i for i in range(aval.ndim + 1) if i != dim)
    return broadcast_in_dim(x, tuple(shape), kept)


def batch_to(x, d: int | None, axis_size: int, dst: int):
    """``x`` (batched at ``d``, or unbatched) with its batch axis at ``dst``."""
    if d is None:
        return broadcast_batch(x, axis_size, dst)
    return move_axis(x, d, dst)


def batch_elementwise(primitive, scalar_ok=lambda i: True):
    """Declare the batching rule of an elementwise primitive (unary, binary
    or n-ary; 0-d operands combine with any shape).  Batched operands keep
    the batch axis where the first of them has it; unbatched 0-d operands
    are left alone where ``scalar_ok(position)`` (the primitive accepts a
    0-d operand there), other unbatched operands are broadcast."""
    def rule(args: Sequence, dims: Sequence, axis_size: int, **params):
        avals = [get_aval(a) for a in args]
        examples = [a.shape[:d] + a.shape[d + 1:] if d is not None else a.shape
                    for a, d in zip(avals, dims, strict=True)]
        rank = max(len(e) for e in examples)
        example_shape = next(e for e in examples if len(e) == rank)
        # Keep the batch axis where a full-rank batched operand has it.
        target = next((d for e, d in zip(examples, dims, strict=True)
                       if d is not None and len(e) == rank), 0)
        full = example_shape[:target] + (axis_size,) + example_shape[target:]
        new_args = []
        for i, (x, aval, d) in enumerate(zip(args, avals, dims, strict=True)):
            if d is None and aval.ndim == 0 and scalar_ok(i):
                new_args.append(x)
            elif d is None:
                if aval.ndim < rank:
                    from funcgrad.lax.shape import broadcast_in_dim
                    full_rest = full[:target] + full[target + 1:]
                    x = broadcast_in_dim(x, full_rest, ())
                new_args.append(broadcast_batch(x, axis_size, target))
            elif aval.ndim - 1 == rank:
                new_args.append(move_axis(x, d, target))
            else:  # a 0-d operand per batch member, batched: spread it out
                from funcgrad.lax.shape import broadcast_in_dim
                new_args.append(broadcast_in_dim(x, full, (target,)))
        out = primitive.bind(*new_args, **params)
        outs = out if primitive.multiple_results else [out]
        return outs, [target] * len(outs)
    primitive.batch = rule
