"""vmap of ``dot_general`` and the factorisations (``cholesky``,
``triangular_solve``, ``lu``, ``eigh``, ``qr``) against a Python loop over
the batch, eagerly and staged, one and two levels deep, and under ``jvp``
and ``grad``."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
from funcgrad import lax, vmap
from tests.lax.test_indexing_vmap import (batched_shape, check_vmap, levels_for, shapes_for,
                                          weighted_sum)
from tests.util import arrays


# ------------------------------------------------------------ dot_general
@st.composite
def dot_layout(draw):
    """Member shapes and dimension numbers of a dot_general: the batch,
    contracting and free dimensions of each side in a random order."""
    counts = {"b": draw(st.integers(0, 1)), "c": draw(st.integers(0, 2)),
              "l": draw(st.integers(0, 2)), "r": draw(st.integers(0, 1))}
    size = {f"{k}{i}": draw(st.integers(1, 3)) for k, n in counts.items() for i in range(n)}
    lhs = draw(st.permutations([d for d in size if d[0] in "bcl"]))
    rhs = draw(st.permutations([d for d in size if d[0] in "bcr"]))

    def where(dims, kind):
        return tuple(dims.index(f"{kind}{i}") for i in range(counts[kind]))
    dimension_numbers = ((where(lhs, "c"), where(rhs, "c")), (where(lhs, "b"), where(rhs, "b")))
    out_rank = counts["b"] + counts["l"] + counts["r"]
    return ([size[d] for d in lhs], [size[d] for d in rhs], dimension_numbers, out_rank)


DOT_DTYPES = [(np.float64, None), (np.float32, None), (np.int32, None),
              (np.int32, np.dtype(np.float64))]


@given(st.data())
def test_dot_general_vmap(data):
    draw = data.draw
    lhs_shape, rhs_shape, dims, out_rank = draw(dot_layout())
    dtype, preferred = draw(st.sampled_from(DOT_DTYPES))
    in_levels, out_levels, sizes = levels_for(draw, [len(lhs_shape), len(rhs_shape)], out_rank,
                                              draw(st.integers(1, 2)))
    shapes = shapes_for([lhs_shape, rhs_shape], in_levels, sizes)
    lhs, rhs = (draw(arrays(dtype, s, min_value=-5, max_value=5)) for s in shapes)

    def f(x, y):
        return lax.dot_general(x, y, dims, preferred_element_type=preferred)
    check_vmap(f, [lhs, rhs], in_levels, out_levels)


@given(st.data())
def test_dot_general_vmap_of_jvp_and_grad(data):
    draw = data.draw
    lhs_shape, rhs_shape, dims, _ = draw(dot_layout())
    in_levels, out_levels, sizes = levels_for(draw, [len(lhs_shape), len(rhs_shape)], 0, 1)
    (in_axes,), n = in_levels, sizes[0]
    shapes = shapes_for([lhs_shape, rhs_shape], in_levels, sizes)
    lhs, rhs = (draw(arrays(np.float64, s)) for s in shapes)
    # Tangents batched where their primals are (at 0 for unbatched ones).
    t_axes = tuple(0 if a is None else a for a in in_axes)
    tangents = [draw(arrays(np.float64, batched_shape(s, [(a, n)])))
                for s, a in zip([lhs_shape, rhs_shape], t_axes, strict=True)]
    out_shape = lax.dot_general(np.zeros(lhs_shape), np.zeros(rhs_shape), dims).shape
    weights = draw(arrays(np.float64, out_shape))

    def jvp_of(x, y, tx, ty):
        return funcgrad.jvp(lambda a, b: lax.dot_general(a, b, dims), (x, y), (tx, ty))

    def loss(x, y):
        return weighted_sum(lax.dot_general(x, y, dims), weights)

    check_vmap(jvp_of, [lhs, rhs] + tangents, [in_axes + t_axes], out_levels)
    check_vmap(funcgrad.grad(loss, argnums=(0, 1)), [lhs, rhs], in_levels, out_levels)


def _names(closed):
    return [e.primitive.name for e in closed.jaxpr.eqns]


def test_vmap_of_matvec_is_one_dot_general():
    """A batch of matrix-vector products is one dot_general: a batched
    matrix, a batched vector or both, with no loop and no copy of the
    matrix (only the result moves, for out_axes=0 when the vector alone is
    batched)."""
    def matvec(a, x):
        return lax.dot(a, x)
    a, x = np.arange(60.0).reshape(3, 4, 5), np.arange(15.0).reshape(3, 5)
    for in_axes, args in [((0, 0), (a, x)), ((0, None), (a, x[0])), ((2, 1), (np.moveaxis(a, 0, 2), x.T)),
                          ((None, 0), (a[0], x))]:
        closed = funcgrad.make_jaxpr(vmap(matvec, in_axes=in_axes))(*args)
        names = _names(closed)
        assert names.count("dot_general") == 1, closed
        matrix = closed.jaxpr.invars[0]
        moved = [e for e in closed.jaxpr.eqns
                 if e.primitive.name == "transpose" and matrix in e.invars]
        assert not moved, closed
        assert set(names) <= {"dot_general", "transpose"}, closed
        if in_axes != (None, 0):
            assert names == ["dot_general"], closed
        check_vmap(matvec, list(args), [in_axes], [0])


def test_vmap_of_dot_general_reports_member_shapes():
    with pytest.raises(TypeError, match=r"dot_general.*f64\[4,5\]"):
        vmap(lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ()))),
             in_axes=(None, 0))(np.ones((4, 5)), np.ones((2, 4)))


# ------------------------------------------------------- factorisations
def place(canonical, axes_levels):
    """Lay out ``canonical`` (one leading axis per batched level, outermost
    first, then the member) for ``axes_levels`` (the argument's in_axis at
    each level, innermost first)."""
    x = canonical
    batched = [a for a in axes_levels if a is not None]
    for k, axis in enumerate(batched):
        outer = len(batched) - 1 - k  # leading axes still in front of it
        rank = x.ndim - outer  # the rank of the array this level maps over
        x = np.moveaxis(x, outer, outer + axis % rank)
    return x


@st.composite
def factor_case(draw, n_args, square=True, max_depth=2):
    """Member stack shape, vmap levels (up to ``max_depth``) for ``n_args``
    arguments of one member rank, and a seeded generator for the data."""
    stack = tuple(draw(st.lists(st.integers(1, 2), max_size=1)))
    m = draw(st.integers(1, 4))
    n = m if square else draw(st.integers(1, 4))
    rank = len(stack) + 2
    in_levels, out_levels, sizes = levels_for(draw, [rank] * n_args, 0,
                                              draw(st.integers(1, max_depth)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return stack, m, n, in_levels, out_levels, sizes, rng


def canonical_shape(i, member_shape, in_levels, sizes):
    """Leading axes (outermost first) for the levels that batch argument i."""
    lead = [n for axes, n in zip(in_levels, sizes, strict=True) if axes[i] is not None]
    return tuple(lead[::-1]) + tuple(member_shape)


def spd(rng, shape):
    a = rng.normal(size=shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def one_operand_input(rng, make, member_shape, in_levels, sizes):
    x = make(rng, canonical_shape(0, member_shape, in_levels, sizes))
    return place(x, [axes[0] for axes in in_levels])


def symmetric(rng, shape):
    a = rng.normal(size=shape)
    return a + np.swapaxes(a, -1, -2)


def well_conditioned(rng, shape):
    """Diagonally dominant, so LU's pivots are far from zero."""
    a = rng.uniform(-1, 1, size=shape)
    k = min(shape[-2:])
    a[..., range(k), range(k)] += 4 * np.sign(a[..., range(k), range(k)] + 0.5)
    return a


FACTORISATIONS = {
    "cholesky": (lax.cholesky, spd, True),
    "eigh": (lax.eigh, symmetric, True),
    "lu": (lax.lu, well_conditioned, False),
    "qr_full": (lambda x: lax.qr(x, full_matrices=True), well_conditioned, False),
    "qr": (lambda x: lax.qr(x, full_matrices=False), well_conditioned, False),
}
TOL = {"rtol": 1e-9, "atol": 1e-9}


@pytest.mark.parametrize("name", sorted(FACTORISATIONS))
@given(st.data())
def test_factorisation_vmap(name, data):
    fn, make, square = FACTORISATIONS[name]
    stack, m, n, in_levels, out_levels, sizes, rng = data.draw(factor_case(1, square))
    x = one_operand_input(rng, make, stack + (m, n), in_levels, sizes)
    check_vmap(fn, [x], in_levels, out_levels, **TOL)


@pytest.mark.parametrize("name", ["cholesky", "eigh", "lu", "qr"])
@given(st.data())
def test_factorisation_vmap_of_jvp_and_grad(name, data):
    fn, make, _ = FACTORISATIONS[name]
    # Square members: every factorisation's derivative exists there.
    stack, m, _, in_levels, out_levels, sizes, rng = data.draw(factor_case(1, max_depth=1))
    x = one_operand_input(rng, make, stack + (m, m), in_levels, sizes)
    (in_axes,), size = in_levels, sizes[0]
    t_axis = 0 if in_axes[0] is None else in_axes[0]
    tangent = place(symmetric(rng, (size,) + stack + (m, m)), [t_axis])
    outs = fn(np.zeros(stack + (m, m)) + np.eye(m))
    outs = [outs] if name == "cholesky" else list(outs)
    # One weight array per floating-point output (lu's pivots are ints).
    weights = [rng.normal(size=np.shape(o)) if np.asarray(o).dtype.kind == "f" else None
               for o in outs]

    def jvp_of(a, t):
        return funcgrad.jvp(fn, (a,), (t,))

    def loss(a):
        res = fn(a)
        res = [res] if name == "cholesky" else res
        return sum(weighted_sum(r, w) for r, w in zip(res, weights, strict=True)
                   if w is not None)

    check_vmap(jvp_of, [x, tangent], [in_axes + (t_axis,)], out_levels, **TOL)
    check_vmap(funcgrad.grad(loss), [x], in_levels, out_levels, **TOL)


@given(st.data(), st.booleans(), st.booleans(), st.booleans(), st.booleans())
def test_triangular_solve_vmap(data, left_side, lower, transpose_a, unit_diagonal):
    stack, m, n, in_levels, out_levels, sizes, rng = data.draw(factor_case(2, square=False))
    b_member = stack + ((m, n) if left_side else (n, m))
    a = place(well_conditioned(rng, canonical_shape(0, stack + (m, m), in_levels, sizes)),
              [axes[0] for axes in in_levels])
    b = place(rng.normal(size=canonical_shape(1, b_member, in_levels, sizes)),
              [axes[1] for axes in in_levels])
    params = {"left_side": left_side, "lower": lower, "transpose_a": transpose_a,
              "unit_diagonal": unit_diagonal}

    def solve(a, b):
        return lax.triangular_solve(a, b, **params)
    check_vmap(solve, [a, b], in_levels, out_levels, **TOL)
    if len(in_levels) == 1:
        # Derivatives in both operands, batched like their primals.
        (in_axes,), size = in_levels, sizes[0]
        t_axes = tuple(0 if ax is None else ax for ax in in_axes)
        ta = rng.normal(size=batched_shape(stack + (m, m), [(t_axes[0], size)]))
        tb = rng.normal(size=batched_shape(b_member, [(t_axes[1], size)]))
        weights = rng.normal(size=b_member)

        def jvp_of(a, b, ta, tb):
            return funcgrad.jvp(solve, (a, b), (ta, tb))

        def loss(a, b):
            return weighted_sum(solve(a, b), weights)
        check_vmap(jvp_of, [a, b, ta, tb], [in_axes + t_axes], [0], **TOL)
        check_vmap(funcgrad.grad(loss, argnums=(0, 1)), [a, b], in_levels, [0], **TOL)


def test_triangular_solve_vmap_over_b_only_does_not_copy_a():
    """Members that share ``a`` are more right-hand sides of one solve: ``a``
    is neither broadcast nor moved."""
    a = np.tril(np.ones((3, 3))) + 2 * np.eye(3)
    b = np.ones((4, 3, 2))
    for left_side in (True, False):
        bb = b if left_side else np.swapaxes(b, -1, -2)
        closed = funcgrad.make_jaxpr(vmap(
            lambda a, b, left_side=left_side: lax.triangular_solve(a, b, left_side=left_side,
                                                                    lower=True),
            in_axes=(None, 0)))(a, bb)
        names = _names(closed)
        assert names.count("triangular_solve") == 1 and "broadcast_in_dim" not in names
        solve = next(e for e in closed.jaxpr.eqns if e.primitive.name == "triangular_solve")
        assert solve.invars[0] is closed.jaxpr.invars[0], closed


def test_factorisation_vmap_keeps_leading_batch_axis():
    """A batch axis that is already a stack axis stays put: no transpose."""
    x = spd(np.random.default_rng(0), (2, 3, 4, 4))
    closed = funcgrad.make_jaxpr(vmap(lambda x: lax.cholesky(x, symmetrize_input=False),
                                      in_axes=1, out_axes=1))(x)
    assert _names(closed) == ["cholesky"], closed
