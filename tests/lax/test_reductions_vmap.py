"""vmap of the reductions, arg-reductions, cumulative reductions, sort (and
its wrappers) and polygamma.

The reference is always a Python loop: the function applied to each batch
member (sliced with ``np.take``) and the results stacked with ``np.stack``
at the requested output axis; nested vmaps are compared with nested loops.
The vmapped function runs eagerly and staged (``make_jaxpr`` +
``eval_jaxpr``).  ``vmap(jvp(f))``, ``vmap(grad(f))`` and ``grad(vmap(f))``
are compared with loops of the same derivative, which exercises the batching
of the rules' tangent computations too.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import funcgrad
from funcgrad import lax, tree_util
from funcgrad.lax.special import polygamma
from tests.util import arrays, assert_close, eager_and_staged, shapes, vmap_reference

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
I32, I64 = np.dtype(np.int32), np.dtype(np.int64)
BOOL = np.dtype(bool)


# ---------------------------------------------------------------- helpers
loop = vmap_reference


@st.composite
def batched_args(draw, members, none_ok=True, max_levels=2):
    """Arguments for one or two nested vmaps of a function of the member
    arrays ``members`` (a list of ``(shape, element strategy factory)``).

    Returns ``(args, levels)`` with ``levels`` a list, innermost first, of
    in_axes tuples (ints, some negative, or None; at least one operand is
    batched at each level)."""
    n_levels = draw(st.integers(1, max_levels))
    shapes_now = [tuple(shape) for shape, _ in members]
    levels = []
    for _ in range(n_levels):
        size = draw(st.integers(1, 3))
        mapped = [not none_ok or draw(st.booleans()) for _ in members]
        if not any(mapped):
            mapped[draw(st.integers(0, len(members) - 1))] = True
        axes = []
        for i, m in enumerate(mapped):
            if not m:
                axes.append(None)
                continue
            shape = shapes_now[i]
            p = draw(st.integers(0, len(shape)))
            shapes_now[i] = shape[:p] + (size,) + shape[p:]
            # Name the axis counting from the start or from the end.
            axes.append(draw(st.sampled_from([p, p - len(shapes_now[i])])))
        levels.append(tuple(axes))
    args = [draw(make(shape)) for shape, (_, make) in zip(shapes_now, members, strict=True)]
    return args, levels


def draw_out_axes(draw, member_rank: int, n_levels: int) -> list:
    """One out_axes per level (innermost first), some negative."""
    out = []
    for level in range(n_levels):
        rank = member_rank + level + 1
        out.append(draw(st.integers(-rank, rank - 1)))
    return out


def check_vmap(f, args, levels, out_axes):
    """Nested vmaps of ``f`` (eager and staged) against nested loops."""
    vf, ref = f, f
    for axes, oa in zip(levels, out_axes, strict=True):
        vf = funcgrad.vmap(vf, in_axes=axes, out_axes=oa)
        ref = loop(ref, axes, oa)
    actual = eager_and_staged(vf, *args)
    expected = ref(*args)
    assert tree_util.tree_structure(actual) == tree_util.tree_structure(expected)
    tree_util.tree_map(lambda a, e: assert_close(a, e), actual, expected)


def values(dtype, **kwargs):
    return lambda shape: arrays(dtype, shape, **kwargs)


def member_rank(f, args, levels):
    """Rank of ``f``'s (first) output for one member (from a loop-free
    eager call on the first member)."""
    member = list(args)
    for axes in reversed(levels):
        member = [a if ax is None else np.take(np.asarray(a), 0, axis=ax)
                  for a, ax in zip(member, axes, strict=True)]
    return np.ndim(tree_util.tree_leaves(f(*member))[0])


def run_vmap_case(draw, f, members, none_ok=True, max_levels=2):
    args, levels = draw(batched_args(members, none_ok, max_levels))
    out_axes = draw_out_axes(draw, member_rank(f, args, levels), len(levels))
    check_vmap(f, args, levels, out_axes)


# ----------------------------------------------------------- reductions
REDUCTIONS = [
    (lax.reduce_sum, [F64, F32, I32]),
    (lax.reduce_prod, [F64, I64]),
    (lax.reduce_max, [F64, I32, BOOL]),
    (lax.reduce_min, [F32, I64, BOOL]),
    (lax.reduce_and, [BOOL, I64]),
    (lax.reduce_or, [BOOL, I32]),
]


@pytest.mark.parametrize("op,dtypes", REDUCTIONS, ids=lambda v: getattr(v, "__name__", ""))
@given(data=st.data())
def test_reduction(op, dtypes, data):
    dtype = data.draw(st.sampled_from(dtypes))
    # Zero-sized axes check the identities under vmap too.
    shape = data.draw(shapes(0, 3, min_side=0, max_side=3))
    axes = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), max_size=len(shape),
                              unique_by=lambda a: a % len(shape))) if shape else []

    def f(x):
        return op(x, tuple(axes))
    run_vmap_case(data.draw, f, [(shape, values(dtype, min_value=-3, max_value=3))])


@pytest.mark.parametrize("op", [lax.argmax, lax.argmin], ids=lambda v: v.__name__)
@given(data=st.data())
def test_arg_reduction(op, data):
    dtype = data.draw(st.sampled_from([F64, I32, BOOL]))
    shape = data.draw(shapes(1, 3, max_side=3))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    index_dtype = data.draw(st.sampled_from([I32, I64]))

    def f(x):
        return op(x, axis, index_dtype)
    # A narrow range of values makes ties, where the first index wins.
    run_vmap_case(data.draw, f, [(shape, values(dtype, min_value=-2, max_value=2))])


# ---------------------------------------------------------- cumulative
CUMULATIVE = [
    (lax.cumsum, [F64, F32, I32]),
    (lax.cumprod, [F64, I64]),
    (lax.cummax, [F64, I32]),
    (lax.cummin, [F32, I64]),
    (lax.cumlogsumexp, [F64, F32]),
]


@pytest.mark.parametrize("op,dtypes", CUMULATIVE, ids=lambda v: getattr(v, "__name__", ""))
@given(data=st.data())
def test_cumulative(op, dtypes, data):
    dtype = data.draw(st.sampled_from(dtypes))
    shape = data.draw(shapes(1, 3, min_side=0, max_side=3))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    reverse = data.draw(st.booleans())

    def f(x):
        return op(x, axis, reverse)
    run_vmap_case(data.draw, f, [(shape, values(dtype, min_value=-3, max_value=3))])


# ---------------------------------------------------------------- sort
@given(data=st.data())
def test_sort_several_operands(data):
    n_ops = data.draw(st.integers(1, 3))
    num_keys = data.draw(st.integers(1, n_ops))
    shape = data.draw(shapes(1, 3, max_side=4))
    dimension = data.draw(st.integers(-len(shape), len(shape) - 1))
    # Small integer keys tie often, so stability and secondary keys matter.
    dts = [data.draw(st.sampled_from([I32, F64, BOOL])) for _ in range(n_ops)]
    members = [(shape, values(dt, min_value=-2, max_value=2)) for dt in dts]

    def f(*ops):
        return lax.sort(ops, dimension=dimension, num_keys=num_keys)
    run_vmap_case(data.draw, f, members)


@given(data=st.data())
def test_sort_single_operand_with_nan(data):
    shape = data.draw(shapes(1, 2, max_side=4))
    dimension = data.draw(st.integers(-len(shape), len(shape) - 1))

    def with_nans(shp):
        return arrays(F64, shp, min_value=-2, max_value=2).map(
            lambda a: np.where(a > 1.5, np.nan, a))
    run_vmap_case(data.draw, lambda x: lax.sort(x, dimension), [(shape, with_nans)])


@given(data=st.data())
def test_sort_wrappers(data):
    shape = data.draw(shapes(1, 2, max_side=4))
    k = data.draw(st.integers(0, shape[-1]))
    which = data.draw(st.sampled_from(["argsort", "top_k", "sort_key_val"]))
    if which == "argsort":
        members, f = [(shape, values(I32, min_value=-2, max_value=2))], lax.argsort
    elif which == "top_k":
        members, f = [(shape, values(F64, min_value=-2, max_value=2))], lambda x: lax.top_k(x, k)
    else:
        members = [(shape, values(I32, min_value=-2, max_value=2)), (shape, values(F64))]
        f = lax.sort_key_val
    run_vmap_case(data.draw, f, members)


# ------------------------------------------------------------ polygamma
@given(data=st.data())
def test_polygamma(data):
    dtype = data.draw(st.sampled_from([F64, F32]))
    shape = data.draw(shapes(0, 2, max_side=3))
    m_shape = data.draw(st.sampled_from([shape, ()]))

    def orders(shp):
        return arrays(I32, shp, min_value=0, max_value=3).map(lambda a: a.astype(dtype))
    run_vmap_case(data.draw, polygamma,
                  [(m_shape, orders), (shape, values(dtype, min_value=0.25, max_value=5))])


# -------------------------------------------------- derivatives under vmap
def _sort_pair(x):
    # The second operand follows the permutation sorted by the first.
    return lax.sort((x, lax.sin(x)), dimension=-1)[1]


DIFFERENTIABLE = {
    "reduce_sum": lambda x: lax.reduce_sum(x, (0,)),
    "reduce_prod": lambda x: lax.reduce_prod(x, (-1,)),
    "reduce_max": lambda x: lax.reduce_max(x, (0, 1)),
    "reduce_min": lambda x: lax.reduce_min(x, (1,)),
    "cumsum": lambda x: lax.cumsum(x, 1, reverse=True),
    "cumprod": lambda x: lax.cumprod(x, 0),
    "cummax": lambda x: lax.cummax(x, -1),
    "cummin": lambda x: lax.cummin(x, 0, reverse=True),
    "cumlogsumexp": lambda x: lax.cumlogsumexp(x, 1),
    "sort": lambda x: lax.sort(x, 0),
    "sort_pair": _sort_pair,
    "top_k": lambda x: lax.top_k(x, 2)[0],
    "polygamma": lambda x: polygamma(1, lax.add(lax.abs(x), 0.5)),
}
SHAPE = (3, 2)


def _weights(shape):
    # Fixed, distinct weights: the gradient of a weighted sum sees every
    # output position differently.
    return np.linspace(-1.0, 2.0, int(np.prod(shape))).reshape(shape)


def _floats(shape):
    return arrays(F64, shape, min_value=-2, max_value=2)


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
@given(data=st.data())
def test_vmap_of_jvp(name, data):
    f = DIFFERENTIABLE[name]

    def f_jvp(x, t):
        return funcgrad.jvp(f, (x,), (t,))
    run_vmap_case(data.draw, f_jvp, [(SHAPE, _floats), (SHAPE, _floats)])


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
@given(data=st.data())
def test_vmap_of_grad(name, data):
    f = DIFFERENTIABLE[name]

    out_shape = np.shape(f(np.zeros(SHAPE)))

    def loss(x, w):
        return lax.reduce_sum(lax.mul(f(x), w), tuple(range(len(out_shape))))
    # The weights are batched (different for each member) or shared;
    # differentiate with respect to x.
    run_vmap_case(data.draw, funcgrad.grad(loss),
                  [(SHAPE, _floats), (out_shape, lambda shp: st.just(_weights(shp)))])


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
@given(data=st.data())
def test_grad_of_vmap(name, data):
    f = DIFFERENTIABLE[name]
    (xs,), ((axis,),) = data.draw(batched_args([(SHAPE, _floats)], none_ok=False, max_levels=1))
    out_axis = data.draw(st.integers(-1, 0))
    n = np.shape(xs)[axis]
    w_member = _weights(np.shape(f(np.take(xs, 0, axis=axis))))
    weights = np.stack([w_member * (i + 1) for i in range(n)], axis=out_axis)

    def total(xs):
        ys = funcgrad.vmap(f, in_axes=axis, out_axes=out_axis)(xs)
        return lax.reduce_sum(lax.mul(ys, weights), tuple(range(np.ndim(ys))))

    actual = eager_and_staged(funcgrad.grad(total), xs)
    # The sum separates over the members: member i's gradient is the
    # gradient of its own weighted term.
    member_grads = [funcgrad.grad(lambda x, i=i: lax.reduce_sum(
        lax.mul(f(x), w_member * (i + 1)), tuple(range(w_member.ndim))))(np.take(xs, i, axis=axis))
        for i in range(n)]
    assert_close(actual, np.stack([np.asarray(g) for g in member_grads], axis=axis % xs.ndim))
