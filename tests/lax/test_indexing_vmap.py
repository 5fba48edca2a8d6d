"""vmap of ``gather`` and the scatters against a Python loop over the batch.

Every operand may be batched (at any axis, negative ones included) or not;
results are compared eagerly and staged (``make_jaxpr`` + ``eval_jaxpr``)
with stacking the unbatched function's results, for one and two levels of
vmap, and under ``jvp`` and ``grad``.  The helpers here (``loop_vmap``,
``batched_shape``, ``check_vmap``) are shared with ``test_linalg_vmap``.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
from funcgrad import lax, tree_util, vmap
from tests.util import arrays, assert_close, eager_and_staged, vmap_reference


# ------------------------------------------------------------ shared helpers
loop_vmap = vmap_reference


def batched_shape(member_shape, levels):
    """The shape of an argument whose member has ``member_shape``, batched by
    ``levels`` = [(in_axis or None, size), ...] from the innermost vmap out."""
    shape = list(member_shape)
    for axis, size in levels:
        if axis is not None:
            shape.insert(axis % (len(shape) + 1), size)
    return tuple(shape)


def check_vmap(f, args, in_axes_levels, out_axes_levels, **tol):
    """``vmap`` nested once per level (innermost first) equals the nested
    loop, eagerly and staged; returns the result."""
    vf, ref = f, f
    for in_axes, out_axes in zip(in_axes_levels, out_axes_levels, strict=True):
        vf = vmap(vf, in_axes=in_axes, out_axes=out_axes)
        ref = loop_vmap(ref, in_axes, out_axes)
    out = eager_and_staged(vf, *args)
    expected = ref(*args)
    tree_util.tree_map(lambda o, e: assert_close(o, e, **tol), out, expected)
    return out


def weighted_sum(x, weights):
    """A scalar loss giving each element of ``x`` its own cotangent (a full
    contraction with ``weights``)."""
    every = tuple(range(np.ndim(weights)))
    return lax.dot_general(x, weights, ((every, every), ((), ())))


def axis_for(draw, rank: int, allow_none: bool = True):
    """An in_axes entry for an argument of (member) rank ``rank``: None, or
    an axis of the batched rank, possibly negative."""
    choices = list(range(-(rank + 1), rank + 1))
    return draw(st.sampled_from(([None] if allow_none else []) + choices))


def in_axes_for(draw, ranks):
    """One level of in_axes for arguments of these ranks, at least one
    batched."""
    axes = [axis_for(draw, r) for r in ranks]
    if all(a is None for a in axes):
        i = draw(st.integers(0, len(ranks) - 1))
        axes[i] = axis_for(draw, ranks[i], allow_none=False)
    return tuple(axes)


def levels_for(draw, ranks, out_rank: int, depth: int):
    """``depth`` levels of (in_axes, out_axes, size), innermost first; the
    ranks grow with each level's batch axes."""
    in_levels, out_levels, sizes = [], [], []
    ranks = list(ranks)
    for _ in range(depth):
        in_axes = in_axes_for(draw, ranks)
        in_levels.append(in_axes)
        out_levels.append(draw(st.integers(-(out_rank + 1), out_rank)))
        sizes.append(draw(st.integers(1, 3)))
        ranks = [r + (a is not None) for r, a in zip(ranks, in_axes, strict=True)]
        out_rank += 1
    return in_levels, out_levels, sizes


def shapes_for(member_shapes, in_levels, sizes):
    return [batched_shape(shape, [(axes[i], n) for axes, n in zip(in_levels, sizes,
                                                                  strict=True)])
            for i, shape in enumerate(member_shapes)]


# ------------------------------------------------------------ layouts
@st.composite
def gather_layout(draw):
    """A member operand shape, gathered axes and member indices shape."""
    operand_shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    axes = tuple(draw(st.permutations(range(len(operand_shape))))[
        :draw(st.integers(0, len(operand_shape)))])
    rows = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    return tuple(operand_shape), axes, rows + (len(axes),)


def index_arrays(draw, shape, operand_shape, axes, dtype=np.int64):
    """Indices reaching one position out of bounds on either side, so that
    clip, fill and drop all matter."""
    top = max([operand_shape[a] for a in axes], default=1)
    return draw(arrays(dtype, shape, min_value=-1, max_value=top))


# ------------------------------------------------------------------ gather
@given(st.data())
def test_gather_vmap(data):
    draw = data.draw
    operand_shape, axes, idx_shape = draw(gather_layout())
    mode = draw(st.sampled_from(["clip", "fill"]))
    fill_value = draw(st.sampled_from([None, -3.5])) if mode == "fill" else None
    depth = draw(st.integers(1, 2))
    out_rank = len(idx_shape) - 1 + len(operand_shape) - len(axes)
    in_levels, out_levels, sizes = levels_for(draw, [len(operand_shape), len(idx_shape)],
                                              out_rank, depth)
    op_shape, ix_shape = shapes_for([operand_shape, idx_shape], in_levels, sizes)
    operand = draw(arrays(np.float64, op_shape))
    indices = index_arrays(draw, ix_shape, operand_shape, axes)

    def f(x, i):
        return lax.gather(x, i, axes, mode=mode, fill_value=fill_value)
    check_vmap(f, [operand, indices], in_levels, out_levels)


@given(st.data())
def test_gather_vmap_of_jvp_and_grad(data):
    draw = data.draw
    operand_shape, axes, idx_shape = draw(gather_layout())
    mode = draw(st.sampled_from(["clip", "fill"]))
    # out_axes 0 or -1: valid for every output rank.
    in_levels, out_levels, sizes = levels_for(draw, [len(operand_shape), len(idx_shape)],
                                              0, 1)
    op_shape, ix_shape = shapes_for([operand_shape, idx_shape], in_levels, sizes)
    operand = draw(arrays(np.float64, op_shape))
    indices = index_arrays(draw, ix_shape, operand_shape, axes)
    out_shape = idx_shape[:-1] + tuple(s for d, s in enumerate(operand_shape) if d not in axes)
    weights = draw(arrays(np.float64, out_shape))

    def gathered(x, i):
        return lax.gather(x, i, axes, mode=mode, fill_value=2.0)

    def jvp_of(x, i, t):
        return funcgrad.jvp(lambda y: gathered(y, i), (x,), (t,))

    def loss(x, i):
        return weighted_sum(gathered(x, i), weights)

    (in_axes,), (out_axes,) = in_levels, out_levels
    # The tangent is batched like the operand (or batched alone).
    tangent = draw(arrays(np.float64, batched_shape(operand_shape, [(in_axes[0] or 0,
                                                                    sizes[0])])))
    check_vmap(jvp_of, [operand, indices, tangent], [in_axes + (in_axes[0] or 0,)],
               [out_axes])
    check_vmap(funcgrad.grad(loss), [operand, indices], in_levels, out_levels)


def test_gather_vmap_narrow_index_dtype():
    """Member numbers beyond a narrow index dtype's range still index the
    right member (the indices are widened, not wrapped)."""
    n = 300
    operand = np.arange(n * 3.0).reshape(n, 3)
    indices = np.array([[[2]], [[0]]], np.uint8)[np.arange(n) % 2]

    def f(x, i):
        return lax.gather(x, i, (0,))
    check_vmap(f, [operand, indices], [(0, 0)], [0])


def test_gather_vmap_batched_operand_keeps_indices_unbatched():
    """A batched operand with shared indices is one gather with the batch
    axis as an unindexed dimension: no iota, no concatenate, no copy."""
    x, i = np.ones((5, 4, 3)), np.array([[1], [2]])
    jaxpr = funcgrad.make_jaxpr(vmap(lambda x, i: lax.gather(x, i, (1,)),
                                     in_axes=(1, None), out_axes=-1))(x, i)
    assert [e.primitive.name for e in jaxpr.jaxpr.eqns] == ["gather"]


def test_gather_vmap_reports_member_shapes():
    x, i = np.ones((3, 4)), np.zeros((3, 2, 1), np.int64)
    with pytest.raises(TypeError, match=r"gather.*len\(axes\) = 2"):
        vmap(lambda x, i: lax.gather(x, i, (0, 1)), in_axes=(None, 0))(x, i)


# ------------------------------------------------------------------ scatter
SCATTERS = [lax.scatter, lax.scatter_add, lax.scatter_mul, lax.scatter_min, lax.scatter_max]


@pytest.mark.parametrize("op", SCATTERS, ids=lambda op: op.__name__)
@given(st.data())
def test_scatter_vmap(op, data):
    draw = data.draw
    operand_shape, axes, idx_shape = draw(gather_layout())
    mode = draw(st.sampled_from(["drop", "clip"]))
    rest = tuple(s for d, s in enumerate(operand_shape) if d not in axes)
    updates_shape = idx_shape[:-1] + rest
    depth = draw(st.integers(1, 2))
    ranks = [len(operand_shape), len(idx_shape), len(updates_shape)]
    in_levels, out_levels, sizes = levels_for(draw, ranks, len(operand_shape), depth)
    shapes = shapes_for([operand_shape, idx_shape, updates_shape], in_levels, sizes)
    operand = draw(arrays(np.float64, shapes[0]))
    indices = index_arrays(draw, shapes[1], operand_shape, axes,
                           draw(st.sampled_from([np.int32, np.int64])))
    # Small integers keep scatter_mul's products exact.
    updates = draw(arrays(np.float64, shapes[2], min_value=-3, max_value=3))

    def f(x, i, u):
        return op(x, i, u, axes, mode=mode)
    check_vmap(f, [operand, indices, updates], in_levels, out_levels)


@pytest.mark.parametrize("op", SCATTERS, ids=lambda op: op.__name__)
@given(st.data())
def test_scatter_vmap_of_jvp_and_grad(op, data):
    draw = data.draw
    operand_shape, axes, idx_shape = draw(gather_layout())
    mode = draw(st.sampled_from(["drop", "clip"]))
    rest = tuple(s for d, s in enumerate(operand_shape) if d not in axes)
    updates_shape = idx_shape[:-1] + rest
    ranks = [len(operand_shape), len(idx_shape), len(updates_shape)]
    # out_axes 0 or -1: the outputs (and gradients) differ in rank.
    in_levels, out_levels, sizes = levels_for(draw, ranks, 0, 1)
    (in_axes,), n = in_levels, sizes[0]
    shapes = shapes_for([operand_shape, idx_shape, updates_shape], in_levels, sizes)
    # Small integers make ties (where scatter_min/max split the tangent)
    # and zero updates (scatter_mul's special case) frequent.
    operand = draw(arrays(np.int64, shapes[0], min_value=-3, max_value=3)).astype(np.float64)
    indices = index_arrays(draw, shapes[1], operand_shape, axes)
    updates = draw(arrays(np.int64, shapes[2], min_value=-3, max_value=3)).astype(np.float64)
    t_axes = (in_axes[0] or 0, in_axes[2] or 0)
    tangents = [draw(arrays(np.float64, batched_shape(s, [(a, n)])))
                for s, a in zip([operand_shape, updates_shape], t_axes, strict=True)]
    weights = draw(arrays(np.float64, operand_shape))

    def jvp_of(x, i, u, tx, tu):
        return funcgrad.jvp(lambda y, v: op(y, i, v, axes, mode=mode), (x, u), (tx, tu))

    def loss(x, i, u):
        return weighted_sum(op(x, i, u, axes, mode=mode), weights)

    check_vmap(jvp_of, [operand, indices, updates] + tangents, [in_axes + t_axes],
               out_levels, rtol=1e-10, atol=1e-10)
    check_vmap(funcgrad.grad(loss, argnums=(0, 2)), [operand, indices, updates],
               in_levels, out_levels, rtol=1e-10, atol=1e-10)


def test_scatter_vmap_unbatched_operand_matches_updates_layout():
    """Shared operand and indices with batched updates: the operand gets its
    batch axis where the updates have it, so the updates do not move."""
    x, i, u = np.zeros((4, 3)), np.array([[1], [3]]), np.ones((2, 3, 5))
    jaxpr = funcgrad.make_jaxpr(vmap(lambda x, i, u: lax.scatter_add(x, i, u, (0,)),
                                     in_axes=(None, None, 2), out_axes=2))(x, i, u)
    assert [e.primitive.name for e in jaxpr.jaxpr.eqns] == ["broadcast_in_dim", "scatter_add"]
    assert jaxpr.out_avals[0].shape == (4, 3, 5)


def test_scatter_vmap_last_duplicate_wins_per_member():
    """With batched indices every member keeps its own last duplicate."""
    x = np.zeros((2, 3))
    i = np.array([[[0], [0], [2]], [[1], [2], [1]]])
    u = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    out = vmap(lambda x, i, u: lax.scatter(x, i, u, (0,)))(x, i, u)
    assert_close(out, np.array([[2.0, 0.0, 3.0], [0.0, 6.0, 5.0]]))
