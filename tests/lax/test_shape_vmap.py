"""Batching rules of the shape and slicing primitives.

The reference for ``vmap(f, in_axes, out_axes)`` is a Python loop: ``f``
applied to each batch member (``np.take`` along its in_axis; unbatched
operands as they are) and the results stacked at ``out_axes``.  Hypothesis
draws the operation's parameters (the cases of ``test_shape_ad``, plus
dynamic slices whose start indices are operands), a dtype, and for each vmap
level the batch size, every operand's in_axis (negative ones and ``None``
included) and the out_axis.  Every check runs eagerly and staged
(``make_jaxpr`` + ``eval_jaxpr``), with one and two levels of vmap, and
``vmap`` of ``jvp`` and of ``grad`` of a function using the primitive is
compared with the same loop (which exercises the batching of the
primitives the derivative rules emit).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, note, strategies as st

import funcgrad
from funcgrad import lax, vmap
from funcgrad.core.primitive import registry
from funcgrad.lax import shape as shape_module, slicing as slicing_module
from tests.lax.test_shape_ad import CASES
from tests.util import arrays, assert_close, eager_and_staged, shapes

DTYPES = [np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.bool_)]


@dataclass
class Operand:
    shape: tuple
    dtype: np.dtype
    start: bool = False   # an integer start index (0-d), not data

    def strategy(self, shape):
        if self.start:
            # Out of range on both sides: negative starts wrap, then clamp.
            return arrays(self.dtype, shape, min_value=-6, max_value=6)
        return arrays(self.dtype, shape, min_value=-3, max_value=3)


# ------------------------------------------------------- the loop reference
def _member(x, axis, b):
    return x if axis is None else np.take(np.asarray(x), b, axis=axis)


def _stack(outs, axis):
    return np.moveaxis(np.stack([np.asarray(o) for o in outs]), 0, axis)


def looped(f, in_axes, out_axes, size):
    """``vmap``'s reference: ``f`` on each member, outputs (a value or a
    tuple of values) stacked at ``out_axes``."""
    def run(*args):
        outs = [f(*[_member(x, a, b) for x, a in zip(args, in_axes, strict=True)])
                for b in range(size)]
        if isinstance(outs[0], tuple):
            return tuple(_stack([o[i] for o in outs], out_axes) for i in range(len(outs[0])))
        return _stack(outs, out_axes)
    return run


@st.composite
def vmap_plan(draw, member_shapes, out_ndim, levels, fixed_out_axis=None):
    """Per vmap level (innermost first): in_axes, out_axes and batch size;
    and the shapes of the arguments with every level's batch axes."""
    arg_shapes = [tuple(s) for s in member_shapes]
    plan = []
    for level in range(levels):
        size = draw(st.integers(1, 3), label=f"size{level}")
        in_axes = []
        for i, s in enumerate(arg_shapes):
            axis = draw(st.none() | st.integers(-len(s) - 1, len(s)), label=f"in_axis{level}.{i}")
            if axis is not None:
                grown = list(s)
                grown.insert(axis % (len(s) + 1), size)
                arg_shapes[i] = tuple(grown)
            in_axes.append(axis)
        rank = out_ndim + level + 1
        out_axis = (fixed_out_axis if fixed_out_axis is not None else
                    draw(st.integers(-rank, rank - 1), label=f"out_axis{level}"))
        plan.append((tuple(in_axes), out_axis, size))
    return plan, arg_shapes


def check_vmap(data, f, operands, levels=None, fixed_out_axis=None):
    """``f`` vmapped ``levels`` times (1 or 2, drawn if None) against nested
    loops, eagerly and staged."""
    levels = data.draw(st.integers(1, 2), label="levels") if levels is None else levels
    example = f(*[np.zeros(o.shape, o.dtype) for o in operands])
    first = example[0] if isinstance(example, tuple) else example
    plan, arg_shapes = data.draw(vmap_plan([o.shape for o in operands], np.ndim(first), levels,
                                           fixed_out_axis), label="plan")
    args = [data.draw(o.strategy(s), label=f"arg{i}")
            for i, (o, s) in enumerate(zip(operands, arg_shapes, strict=True))]
    batched, reference = f, f
    for in_axes, out_axes, size in plan:
        unmapped = all(a is None for a in in_axes)
        batched = vmap(batched, in_axes, out_axes, axis_size=size if unmapped else None)
        reference = looped(reference, in_axes, out_axes, size)
    got = eager_and_staged(batched, *args)
    expected = reference(*args)
    if isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            assert_close(g, e)
    else:
        assert_close(got, expected)


def check_vmap_of_derivatives(data, f, operands):
    """``vmap(jvp(f))`` and ``vmap(grad(sum(sin(f))))`` with respect to the
    float operands, against loops of the same derivative."""
    n = len(operands)
    wrt = [i for i, o in enumerate(operands) if o.dtype.kind == "f"]

    def partial(args):
        def h(*diff):
            full = list(args)
            for i, d in zip(wrt, diff, strict=True):
                full[i] = d
            return f(*full)
        return h

    def with_jvp(*args):
        ops, tangents = args[:n], args[n:]
        return funcgrad.jvp(partial(ops), tuple(ops[i] for i in wrt), tuple(tangents))

    tangent_operands = [Operand(operands[i].shape, operands[i].dtype) for i in wrt]
    check_vmap(data, with_jvp, list(operands) + tangent_operands, levels=1)

    def with_grad(*args):
        def loss(*diff):
            y = lax.sin(partial(args)(*diff))
            return lax.reduce_sum(y, tuple(range(np.ndim(y))))
        return funcgrad.grad(loss, argnums=tuple(range(len(wrt))))(*[args[i] for i in wrt])

    # The gradients have their operands' (different) ranks: out_axes=0.
    check_vmap(data, with_grad, operands, levels=1, fixed_out_axis=0)


# ------------------------------------------------------------ static cases
@pytest.mark.parametrize("name", sorted(set(CASES) - {"dynamic_slice", "dynamic_update_slice"}))
@given(data=st.data())
def test_vmap_matches_loop(name, data):
    case = data.draw(CASES[name], label="case")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    note(case.label)
    operands = [Operand(tuple(s), dtype) for s in case.arg_shapes]
    check_vmap(data, case.fun, operands)


@pytest.mark.parametrize("name", sorted(set(CASES) - {"dynamic_slice", "dynamic_update_slice"}))
@given(data=st.data())
def test_vmap_of_jvp_and_grad(name, data):
    case = data.draw(CASES[name], label="case")
    dtype = data.draw(st.sampled_from(DTYPES[:2]), label="dtype")
    note(case.label)
    check_vmap_of_derivatives(data, case.fun, [Operand(tuple(s), dtype) for s in case.arg_shapes])


# ---------------------------------------------- dynamic slices, traced starts
@st.composite
def dynamic_slice_problem(draw, dtypes_):
    x_shape = draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), label="x_shape")
    sizes = tuple(draw(st.integers(0, d)) for d in x_shape)
    dtype = draw(st.sampled_from(dtypes_), label="dtype")
    # Each start is an operand (batchable) or a Python int closed over.
    static = [draw(st.none() | st.integers(-6, 6)) for _ in x_shape]
    note(f"dynamic_slice({x_shape}, sizes={sizes}, static starts={static})")

    def f(x, *traced):
        it = iter(traced)
        return lax.dynamic_slice(x, [next(it) if s is None else s for s in static], sizes)
    operands = [Operand(x_shape, dtype)] + [Operand((), np.dtype(np.int64), start=True)
                                            for s in static if s is None]
    return f, operands


@st.composite
def dynamic_update_slice_problem(draw, dtypes_):
    x_shape = draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), label="x_shape")
    u_shape = tuple(draw(st.integers(0, d)) for d in x_shape)
    dtype = draw(st.sampled_from(dtypes_), label="dtype")
    static = [draw(st.none() | st.integers(-6, 6)) for _ in x_shape]
    note(f"dynamic_update_slice({x_shape}, {u_shape}, static starts={static})")

    def f(x, u, *traced):
        it = iter(traced)
        return lax.dynamic_update_slice(x, u, [next(it) if s is None else s for s in static])
    operands = [Operand(x_shape, dtype), Operand(u_shape, dtype)] + [
        Operand((), np.dtype(np.int64), start=True) for s in static if s is None]
    return f, operands


DYNAMIC = {"dynamic_slice": dynamic_slice_problem,
           "dynamic_update_slice": dynamic_update_slice_problem}


@pytest.mark.parametrize("name", sorted(DYNAMIC))
@given(data=st.data())
def test_vmap_dynamic_matches_loop(name, data):
    f, operands = data.draw(DYNAMIC[name](DTYPES), label="problem")
    check_vmap(data, f, operands)


@pytest.mark.parametrize("name", sorted(DYNAMIC))
@given(data=st.data())
def test_vmap_dynamic_of_jvp_and_grad(name, data):
    f, operands = data.draw(DYNAMIC[name](DTYPES[:2]), label="problem")
    check_vmap_of_derivatives(data, f, operands)


@pytest.mark.parametrize("start_dtype", [np.int8, np.uint8, np.int32, np.uint64], ids=str)
@given(data=st.data())
def test_vmap_dynamic_primitives_clamp_any_integer_start(start_dtype, data):
    """The primitives take starts of any integer dtype (the wrappers only
    ever bind int64): batched, they must clamp them exactly as the eager
    implementation does, including uint64 values beyond int64's range."""
    start_dtype = np.dtype(start_dtype)
    info = np.iinfo(start_dtype)
    x_shape = data.draw(shapes(min_dims=1, max_dims=2, min_side=1, max_side=4), label="x_shape")
    sizes = tuple(data.draw(st.integers(0, d)) for d in x_shape)
    candidates = sorted({info.min, info.max, 0, 1, 2, min(5, info.max), max(-3, info.min)})
    start_values = st.sampled_from(candidates)
    size = data.draw(st.integers(1, 3), label="size")
    starts = [np.array(data.draw(st.lists(start_values, min_size=size, max_size=size)),
                       start_dtype) for _ in x_shape]
    x = data.draw(arrays(np.float64, (size,) + x_shape), label="x")
    update = data.draw(arrays(np.float64, sizes), label="update")
    n = len(x_shape)

    def sliced(x, *s):
        return lax.dynamic_slice_p.bind(x, *s, slice_sizes=sizes)

    def updated(x, *s):
        return lax.dynamic_update_slice_p.bind(x, update, *s)

    for f in (sliced, updated):
        got = eager_and_staged(vmap(f), x, *starts)
        assert_close(got, looped(f, (0,) * (n + 1), 0, size)(x, *starts))


# ------------------------------------------------------------ specific rules
def test_vmap_dynamic_primitives_clamp_extreme_starts():
    x = np.arange(10.0).reshape(2, 5)
    for starts in [np.array([2**64 - 1, 1], np.uint64), np.array([-128, 127], np.int8)]:
        for f in (lambda x, s: lax.dynamic_slice_p.bind(x, s, slice_sizes=(2,)),
                  lambda x, s: lax.dynamic_update_slice_p.bind(x, np.ones(2), s)):
            got = eager_and_staged(vmap(f), x, starts)
            assert_close(got, looped(f, (0, 0), 0, 2)(x, starts))


def test_vmap_pad_with_batched_padding_value_and_interior_and_crop():
    x = np.arange(6.0).reshape(2, 3)
    values = np.array([-1.0, np.nan, np.inf])
    config = [(1, -1, 1), (-1, 2, 2)]

    def f(x, v):
        return lax.pad(x, v, config)

    for in_axes in [(None, 0), (0, 0), (1, 0)]:
        xs = x if in_axes[0] is None else np.stack([x + i for i in range(3)], in_axes[0])
        got = eager_and_staged(vmap(f, in_axes), xs, values)
        assert_close(got, looped(f, in_axes, 0, 3)(xs, values))


def test_vmap_reshape_is_one_equation_wherever_the_batch_axis_is():
    """A leading or trailing batch axis is reshaped in place; one in the
    middle is moved to the front by the reshape's own ``dimensions``."""
    x = np.arange(24.0).reshape(2, 3, 4)
    def f(a):
        return lax.reshape(a, (a.shape[0] * a.shape[1],))

    for in_axis, out_axis in [(0, 0), (1, 0), (2, -1)]:
        batched = vmap(f, in_axis, out_axis)
        closed = funcgrad.make_jaxpr(batched)(x)
        assert [e.primitive.name for e in closed.jaxpr.eqns] == ["reshape"]
        expected = looped(f, (in_axis,), out_axis, x.shape[in_axis])(x)
        assert_close(eager_and_staged(batched, x), expected)


def test_vmap_dynamic_slice_shared_start_stays_a_dynamic_slice():
    x = np.arange(12.0).reshape(3, 4)
    closed = funcgrad.make_jaxpr(vmap(lambda a, s: lax.dynamic_slice(a, (s,), (2,)),
                                      (0, None)))(x, np.int64(1))
    assert [e.primitive.name for e in closed.jaxpr.eqns].count("gather") == 0
    closed = funcgrad.make_jaxpr(vmap(lambda a, s: lax.dynamic_slice(a, (s,), (2,))))(
        x, np.array([0, 5, -1]))
    assert "gather" in [e.primitive.name for e in closed.jaxpr.eqns]


def test_vmap_shape_errors_name_the_op_and_the_member_shapes():
    with pytest.raises(TypeError, match=r"reshape: cannot reshape f64\[4\]"):
        vmap(lambda a: lax.reshape(a, (3,)))(np.zeros((2, 4)))
    with pytest.raises(TypeError, match=r"dynamic_slice: slice_sizes \(5,\)"):
        vmap(lambda a, s: lax.dynamic_slice(a, (s,), (5,)))(np.zeros((2, 4)), np.arange(2))
    with pytest.raises(TypeError, match=r"concatenate: operand shapes"):
        vmap(lambda a, b: lax.concatenate([a, b], 0), (0, None))(np.zeros((2, 2, 3)),
                                                                   np.zeros((2, 2)))


def test_iota_inside_vmap_is_unbatched():
    x = np.arange(6.0).reshape(2, 3)
    got = eager_and_staged(vmap(lambda a: lax.add(a, lax.iota(np.float64, 3))), x)
    assert_close(got, x + np.arange(3.0))
    assert "batch" in lax.iota_p.not_applicable


def test_every_shape_and_slicing_primitive_declares_batching():
    names = [getattr(m, n).name for m in (shape_module, slicing_module) for n in m.__all__
             if n.endswith("_p")]
    assert len(names) == 12, names
    for name in names:
        p = registry[name]
        assert callable(p.batch) or "batch" in p.not_applicable, name
