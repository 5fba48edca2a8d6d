"""Vectorisation: the batching interpreter and ``vmap``.

A :class:`BatchTracer` holds a value with one extra axis, the batch axis, at
position ``batch_dim`` (or ``None``: the same value for every batch member).
Each primitive's ``batch`` rule (see :mod:`funcgrad.core.batching`) maps the
batched operands to batched results in one call, so a vmapped function runs
its primitives once on whole batches, never once per member.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from funcgrad import tree_util
from funcgrad.core.ad_util import as_result
from funcgrad.core.avals import ShapedArray
from funcgrad.core.batching import batch_to, move_axis, not_mapped
from funcgrad.core.errors import ConcretizationTypeError
from funcgrad.core.trace import (Trace, Tracer, bind_custom_call, full_lower, full_raise,
                                 get_aval, new_main)


class BatchTracer(Tracer):
    __slots__ = ("val", "batch_dim")

    def __init__(self, trace: "BatchTrace", val, batch_dim: int | None):
        self._trace = trace
        self.val = val
        self.batch_dim = batch_dim

    @property
    def aval(self) -> ShapedArray:
        aval = get_aval(self.val)
        if self.batch_dim is None:
            return aval
        shape = aval.shape[:self.batch_dim] + aval.shape[self.batch_dim + 1:]
        return ShapedArray(shape, aval.dtype, aval.weak_type)

    def full_lower(self):
        if self.batch_dim is None:
            return full_lower(self.val)
        return self

    def to_concrete(self, context: str):
        if self.batch_dim is None:
            if isinstance(self.val, Tracer):
                return self.val.to_concrete(context)
            return np.asarray(self.val)
        raise ConcretizationTypeError(
            f"{context} needs one concrete value, but got a value of type "
            f"{self.aval.str_short()} that differs across the {self._trace.axis_size} members "
            f"of a vmap batch. Python control flow cannot branch per member: use "
            f"funcgrad.numpy.where or funcgrad.lax.select (and lax.cond/while_loop) instead.")


class BatchTrace(Trace):
    __slots__ = ()

    @property
    def axis_size(self) -> int:
        return self.main.global_data

    def pure(self, value):
        return BatchTracer(self, value, not_mapped)

    lift = pure

    def process_primitive(self, primitive, tracers, params):
        vals = [t.val for t in tracers]
        dims = [t.batch_dim for t in tracers]
        if all(d is None for d in dims):
            out = primitive.bind(*vals, **params)
            outs = out if primitive.multiple_results else [out]
            return [BatchTracer(self, o, not_mapped) for o in outs]
        if primitive.batch is None:
            raise NotImplementedError(f"Batching rule for '{primitive.name}' is not implemented")
        # The shape rule on one member's types first: a user's mistake under
        # vmap gets the same message, with the shapes they wrote.
        primitive.abstract_eval(*[t.aval for t in tracers], **params)
        outs, out_dims = primitive.batch(vals, dims, self.axis_size, **params)
        return [BatchTracer(self, o, d) for o, d in zip(outs, out_dims, strict=True)]

    def _batched(self, fun, xs, dims):
        """``fun`` run on the whole batch in a fresh batching interpreter;
        refuses (``_ClosesOverBatch``) when ``fun`` closes over values of
        this one, which the fresh interpreter cannot see as batched."""
        outs, out_dims = batch_flat(fun, xs, dims, self.axis_size)
        if any(isinstance(o, Tracer) and o._trace.main is self.main for o in outs):
            raise _ClosesOverBatch
        return outs, out_dims

    def process_custom_jvp_call(self, fun, jvp, tracers):
        try:
            return self._custom_jvp_call(fun, jvp, tracers)
        except _ClosesOverBatch:
            # Correct, at the price of the custom rule: run the body here.
            return fun(*tracers)

    def process_custom_vjp_call(self, fun, fwd, bwd, tracers):
        try:
            return self._custom_vjp_call(fun, fwd, bwd, tracers)
        except _ClosesOverBatch:
            return fun(*tracers)

    def _custom_jvp_call(self, fun, jvp, tracers):
        vals, dims = [t.val for t in tracers], [t.batch_dim for t in tracers]
        size, n = self.axis_size, len(tracers)

        def fun_batched(*xs):
            return _at_front(*self._batched(fun, xs, dims), size)

        def jvp_batched(primals, tangents):
            # Tangents have their primals' shapes, so their batch axes too.
            def both(*xs):
                p_out, t_out = jvp(list(xs[:n]), list(xs[n:]))
                return list(p_out) + list(t_out)
            outs = _at_front(*self._batched(both, list(primals) + list(tangents), dims + dims),
                             size)
            half = len(outs) // 2
            return outs[:half], outs[half:]

        outs = bind_custom_call("process_custom_jvp_call", vals, fun_batched, jvp_batched)
        return [BatchTracer(self, o, 0) for o in outs]

    def _custom_vjp_call(self, fun, fwd, bwd, tracers):
        vals, dims = [t.val for t in tracers], [t.batch_dim for t in tracers]
        size = self.axis_size
        res_dims: list = []

        def fun_batched(*xs):
            return _at_front(*self._batched(fun, xs, dims), size)

        def fwd_batched(*xs):
            n_out = []

            def flat_fwd(*ys):
                out, res = fwd(*ys)
                n_out.append(len(out))
                return list(out) + list(res)
            outs, out_dims = self._batched(flat_fwd, xs, dims)
            k = n_out[0]
            res_dims[:] = out_dims[k:]
            return _at_front(outs[:k], out_dims[:k], size), outs[k:]

        def bwd_batched(res, cts):
            cts_in, ct_dims = self._batched(
                lambda *zs: bwd(list(zs[:len(res)]), list(zs[len(res):])),
                list(res) + list(cts), res_dims + [0] * len(cts))
            return [_to_input_layout(c, cd, d, size) for c, cd, d in
                    zip(cts_in, ct_dims, dims, strict=True)]

        outs = bind_custom_call("process_custom_vjp_call", vals, fun_batched, fwd_batched,
                                bwd_batched)
        return [BatchTracer(self, o, 0) for o in outs]


class _ClosesOverBatch(Exception):
    """A function with custom rules closes over a value batched by the
    enclosing vmap."""


def _at_front(outs, out_dims, size) -> list:
    return [batch_to(o, d, size, 0) for o, d in zip(outs, out_dims, strict=True)]


def _to_input_layout(ct, ct_dim, in_dim, size):
    """A batched cotangent for an input batched at ``in_dim``; an unbatched
    input was shared by every member, so its cotangent is their sum."""
    from funcgrad.core.ad_util import Zero
    if type(ct) is Zero:
        return ct
    if in_dim is None:
        if ct_dim is None:
            return ct
        from funcgrad.lax import reduce_sum
        return reduce_sum(ct, (ct_dim,))
    return batch_to(ct, ct_dim, size, in_dim)


def batch_flat(fun: Callable, args: Sequence, in_dims: Sequence, axis_size: int):
    """Run ``fun`` (flat list in, flat list out) on batched arguments; return
    the outputs and the positions of their batch axes."""
    with new_main(BatchTrace, axis_size) as main:
        trace = main.trace
        tracers = [BatchTracer(trace, a, d) if d is not None else a
                   for a, d in zip(args, in_dims, strict=True)]
        outs = fun(*tracers)
        out_tracers = [full_raise(trace, o) for o in outs]
        return [t.val for t in out_tracers], [t.batch_dim for t in out_tracers]


# ------------------------------------------------------------ the API
def _axis_spec_leaves(spec, tree_value, what: str, names) -> list:
    """One axis (int or None) per leaf of ``tree_value``, from ``spec``, a
    pytree prefix of it whose leaves are ints or None."""
    spec_tree = tree_util.tree_structure(spec, is_leaf=lambda x: x is None)
    try:
        subtrees = spec_tree.flatten_up_to(tree_value)
    except ValueError as e:
        raise ValueError(f"vmap {what} specification must be a tree prefix of the "
                         f"corresponding value ({names}): {e}") from None
    axes = tree_util.tree_leaves(spec, is_leaf=lambda x: x is None)
    out = []
    for axis, sub in zip(axes, subtrees, strict=True):
        if axis is not None and (isinstance(axis, bool) or not isinstance(axis, (int, np.integer))):
            raise TypeError(f"vmap {what} must be ints or None, got {axis!r}")
        out.extend([None if axis is None else int(axis)] * len(tree_util.tree_leaves(sub)))
    return out


def vmap(fun: Callable, in_axes: Any = 0, out_axes: Any = 0,
         axis_size: int | None = None) -> Callable:
    """Vectorise ``fun`` over a batch axis of its arguments.

    ``in_axes`` gives, for each positional argument (a tuple with one entry
    per argument, or one value for all), the axis that holds the batch: an
    int (negative counts from the end), ``None`` (not batched), or a pytree
    prefix of the argument.  ``out_axes`` says where the batch axis goes in
    each output.  Nested vmaps vectorise over several axes.

    >>> import funcgrad.numpy as jnp
    >>> vmap(jnp.dot, in_axes=(0, None))(jnp.eye(2), jnp.array([1.0, 2.0]))
    Array([1., 2.], dtype=float64)
    """
    name = getattr(fun, "__name__", "fun")
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)

    def vmapped(*args, **kwargs):
        if kwargs:
            raise TypeError(f"vmap of {name} takes positional arguments only (keyword "
                            f"arguments are not batched); got {sorted(kwargs)}")
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(f"vmap in_axes has {len(in_axes)} entries but {name} was called "
                             f"with {len(args)} positional arguments")
        spec = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        flat_args, in_tree = tree_util.tree_flatten(args)
        paths = [f"args{tree_util.keystr(p)}"
                 for p, _ in tree_util.tree_flatten_with_path(args)[0]]
        axes = _axis_spec_leaves(spec, args, "in_axes", "the positional arguments")
        dims, sizes = [], {}
        for path, x, axis in zip(paths, flat_args, axes, strict=True):
            if axis is None:
                dims.append(None)
                continue
            ndim = get_aval(x).ndim
            if not -ndim <= axis < ndim:
                raise ValueError(f"vmap was asked to map {path} of {name} over axis {axis}, but "
                                 f"it has rank {ndim} (shape {get_aval(x).shape})")
            axis %= ndim
            dims.append(axis)
            sizes.setdefault(get_aval(x).shape[axis], []).append(f"{path} (axis {axis})")
        if len(sizes) > 1:
            detail = "; ".join(f"size {s}: {', '.join(p)}" for s, p in sizes.items())
            raise ValueError(f"vmap got inconsistent sizes for the mapped axes of {name}'s "
                             f"arguments: {detail}")
        size = next(iter(sizes)) if sizes else axis_size
        if size is None:
            raise ValueError(f"vmap of {name} needs at least one mapped argument, or axis_size")
        if axis_size is not None and size != axis_size:
            raise ValueError(f"vmap of {name}: axis_size={axis_size} but the mapped arguments "
                             f"have size {size}")
        store = {}

        def flat_fun(*leaves):
            out = fun(*tree_util.tree_unflatten(in_tree, list(leaves)))
            flat_out, store["out_tree"] = tree_util.tree_flatten(out)
            return flat_out

        outs, out_dims = batch_flat(flat_fun, flat_args, dims, size)
        out_tree = store["out_tree"]
        # A list out_axes matches a list output; for a tuple output it is
        # read as the tuple it lists.
        out_spec = out_axes
        if isinstance(out_axes, list) and not isinstance(tree_util.tree_unflatten(
                out_tree, outs), list):
            out_spec = tuple(out_axes)
        targets = _axis_spec_leaves(out_spec, tree_util.tree_unflatten(out_tree, outs),
                                    "out_axes", f"{name}'s output")
        out_paths = [tree_util.keystr(p) for p, _ in tree_util.tree_flatten_with_path(
            tree_util.tree_unflatten(out_tree, outs))[0]]
        results = []
        for path, o, d, target in zip(out_paths, outs, out_dims, targets, strict=True):
            if target is None:
                if d is not None:
                    raise ValueError(f"vmap of {name}: out_axes is None for output{path}, but "
                                     f"that output varies across the batch")
                results.append(as_result(o))
                continue
            ndim = get_aval(o).ndim + (d is None)
            if not -ndim <= target < ndim:
                raise ValueError(f"vmap of {name}: out_axes {target} is out of range for "
                                 f"output{path} of batched rank {ndim}")
            results.append(as_result(batch_to(o, d, size, target % ndim)))
        return tree_util.tree_unflatten(out_tree, results)

    vmapped.__name__ = f"vmap({name})"
    vmapped.__doc__ = fun.__doc__
    vmapped.__wrapped__ = fun
    return vmapped


__all__ = ["BatchTrace", "BatchTracer", "batch_flat", "move_axis", "vmap"]
