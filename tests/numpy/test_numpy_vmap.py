"""vmap of ``funcgrad.numpy`` functions against a Python loop over the batch.

The cases are those of ``tests/transforms/test_numpy_grads.py`` (imported:
each draws a function and one example of its arguments from a domain where
it is smooth) plus ``EXTRA`` below: the functions that are not
differentiable (arg-reductions, sorting and searching, ``unique``/``nonzero``
with ``size=``, comparisons, logical, bitwise and integer operations,
rounding, nan-aware statistics) and differentiable ones the gradient table
leaves out (linear algebra, creation functions, traced indices).

A batch is built from the drawn example: every batch member of an argument
is a random permutation of its elements, which keeps each element in the
case's domain (distinct values stay distinct, lattices stay lattices).  For
one or two nested vmap levels hypothesis draws the batch sizes, each
argument's in_axis (negative, or ``None``: shared by the members) and each
output's out_axis; ``vmap(f, in_axes, out_axes)`` runs eagerly and staged
(``make_jaxpr`` + ``eval_jaxpr``) and must equal ``f`` applied member by
member in a Python loop and stacked at the out_axes.  ``vmap(grad(f))``
(per-example gradients) is compared with a loop of ``grad(f)`` the same way.

Regression tests for bugs this matrix found are at the end.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import tree_util, vmap
from tests.lax.test_elementwise_vmap import compare_trees, looped
from tests.transforms.test_numpy_grads import (
    ANY,
    CASES,
    NONZERO,
    POS,
    SHAPES,
    Box,
    Case,
    Distinct,
    Grid,
)
from tests.util import arrays, assert_close, eager_and_staged

TIES = Grid(1.0, 0.0, 0.0, kmax=2)        # integers -2..1 as floats: ties and zeros
MATRIX_SIDE = st.integers(1, 3)


# ------------------------------------------------------------ batches
def _permuted(data, x):
    """``x`` with its elements in a random order (same shape and dtype)."""
    flat = np.asarray(x).reshape(-1)
    perm = np.array(data.draw(st.permutations(range(flat.size)), label="perm"), np.int64)
    return flat[perm].reshape(np.shape(x))


def _batched(data, x, plan_axes, sizes):
    """``x`` with the batch axes of ``plan_axes`` (innermost level first);
    the members are permutations of ``x``, shared where an axis is None."""
    def build(level):
        if level < 0:
            return _permuted(data, x)
        axis = plan_axes[level]
        if axis is None:
            return build(level - 1)
        return np.stack([build(level - 1) for _ in range(sizes[level])], axis=axis)
    out = build(len(plan_axes) - 1)
    return funcgrad.Array(out) if isinstance(x, funcgrad.Array) else out


def _out_axes_tree(out_tree, flat, example):
    """The out_axes pytree, one entry per output leaf."""
    return tree_util.tree_unflatten(out_tree, flat)


def check_vmap(data, f, args, levels, **tol):
    """``f`` under ``levels`` nested vmaps with drawn axes, eagerly and
    staged, against nested loops over members built from ``args``."""
    example = f(*args)
    out_leaves, out_tree = tree_util.tree_flatten(example)
    ranks = [np.ndim(o) for o in out_leaves]
    ranks_now = [np.ndim(a) for a in args]
    axes_per_arg = [[] for _ in args]
    sizes, batched, reference = [], f, f
    for level in range(levels):
        size = data.draw(st.integers(1, 3), label=f"size{level}")
        sizes.append(size)
        in_axes = []
        for i, r in enumerate(ranks_now):
            axis = data.draw(st.none() | st.integers(-r - 1, r), label=f"in_axis{level}.{i}")
            ranks_now[i] += axis is not None
            axes_per_arg[i].append(axis)
            in_axes.append(axis)
        if isinstance(example, list):   # one out_axis for every leaf
            lo = min(ranks)
            flat = [data.draw(st.integers(-lo - level - 1, lo + level), label="out_axis")]
            flat *= len(ranks)
        else:
            flat = [data.draw(st.integers(-r - level - 1, r + level), label=f"out_axis{level}")
                    for r in ranks]
        mapped = any(a is not None for a in in_axes)
        batched = vmap(batched, tuple(in_axes), _out_axes_tree(out_tree, flat, example),
                       axis_size=None if mapped else size)
        reference = looped(reference, in_axes, flat, size)
    xs = [_batched(data, a, axes, sizes) for a, axes in zip(args, axes_per_arg, strict=True)]
    note(f"in_axes per argument {axes_per_arg}, sizes {sizes}")
    got = eager_and_staged(batched, *xs)
    compare_trees(got, reference(*xs), **tol)


def _is_float(x):
    return np.asarray(x).dtype.kind == "f"


def check_vmap_of_grad(data, f, args, **tol):
    """Per-example gradients: ``vmap(grad(loss))`` with respect to the float
    arguments, against a loop of ``grad(loss)``."""
    wrt = tuple(i for i, a in enumerate(args) if _is_float(a))
    if not wrt:
        return

    def loss(*a):
        return sum(jnp.sum(jnp.sin(leaf)) for leaf in tree_util.tree_leaves(f(*a))
                   if jnp.result_type(leaf).kind == "f")

    check_vmap(data, funcgrad.grad(loss, argnums=wrt), args, levels=1, **tol)


# Batched LAPACK/BLAS calls and reductions may round differently from one
# call per member.
TOL = {"rtol": 1e-9, "atol": 1e-10}


# ------------------------------------------------------------ extra cases
EXTRA: list[Case] = []


def extra(name):
    def register(draw):
        EXTRA.append(Case(name, draw))
        return draw
    return register


def _nd(data, min_dims=1):
    return data.draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=3))


def _axis_or_none(data, shape):
    return data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))


def _ints(data, shape, lo=-3, hi=3, dtype=np.int64):
    return data.draw(arrays(dtype, shape, min_value=lo, max_value=hi))


def _bools(data, shape):
    return data.draw(hnp.arrays(np.bool_, shape))


def _with_nans(data, shape):
    x = TIES.draw(data, shape)
    return np.where(_bools(data, shape), x, np.nan)


def reduction_like(name, fn, dom=TIES, keepdims=True):
    """``fn(x, axis=..., [keepdims=...])`` with ties in the values."""
    @extra(name)
    def draw(data):
        shape = _nd(data)
        kw = {"axis": _axis_or_none(data, shape)}
        if keepdims:
            kw["keepdims"] = data.draw(st.booleans())
        x = dom(data, shape) if callable(dom) else dom.draw(data, shape)
        return (lambda x: fn(x, **kw)), (x,)


# All-nan slices included: nanargmax gives -1 there, nanmin/nanmedian nan.
reduction_like("argmax", jnp.argmax)
reduction_like("argmin", jnp.argmin)
reduction_like("nanargmax", jnp.nanargmax, _with_nans)
reduction_like("nanargmin", jnp.nanargmin, _with_nans)
reduction_like("count_nonzero", jnp.count_nonzero)
reduction_like("all", jnp.all)
reduction_like("any", jnp.any)
reduction_like("sum (bool)", jnp.sum, lambda d, s: _bools(d, s))
reduction_like("sum (int32)", jnp.sum, lambda d, s: _ints(d, s, dtype=np.int32))
reduction_like("prod (int)", jnp.prod, lambda d, s: _ints(d, s))
reduction_like("mean (int)", jnp.mean, lambda d, s: _ints(d, s))
reduction_like("max (int)", jnp.max, lambda d, s: _ints(d, s))
reduction_like("nanmin", jnp.nanmin, _with_nans)
reduction_like("nanmedian", jnp.nanmedian, _with_nans)
reduction_like("nanpercentile", lambda x, **kw: jnp.nanpercentile(x, 30.0, **kw), _with_nans)
reduction_like("nanquantile", lambda x, **kw: jnp.nanquantile(x, 0.7, **kw), _with_nans)
reduction_like("percentile (ties)", lambda x, **kw: jnp.percentile(x, 55.0, **kw))
reduction_like("median (ties)", jnp.median)


@extra("percentile (batched q)")
def _(data):
    shape = _nd(data)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    q = Box(0.0, 100.0).draw(data, (data.draw(st.integers(1, 3)),))
    return (lambda x, q: jnp.percentile(x, q, axis=axis)), (TIES.draw(data, shape), q)


def along_axis(name, fn, dom=TIES):
    @extra(name)
    def draw(data):
        shape = _nd(data)
        axis = data.draw(st.integers(-len(shape), len(shape) - 1))
        return (lambda x: fn(x, axis)), (dom.draw(data, shape),)


along_axis("argsort (stable, ties)", lambda x, a: jnp.argsort(x, axis=a, stable=True))
along_axis("argsort descending", lambda x, a: jnp.argsort(x, axis=a, descending=True), Distinct())
along_axis("sort (ties)", lambda x, a: jnp.sort(x, axis=a))
along_axis("argpartition (kth value)", lambda x, a: jnp.take_along_axis(
    x, jnp.argpartition(x, 0, axis=a), axis=a).take(0, axis=a))
along_axis("cumsum (int)", lambda x, a: jnp.cumsum(x.astype(np.int32), axis=a))
along_axis("cumprod (int)", lambda x, a: jnp.cumprod(x.astype(np.int64), axis=a))
along_axis("diff-like (roll, int)", lambda x, a: x.astype(int) - jnp.roll(x.astype(int), 1, a))


@extra("lexsort")
def _(data):
    n = data.draw(st.integers(1, 5))
    return (lambda a, b: jnp.lexsort((a, b))), (TIES.draw(data, (n,)), TIES.draw(data, (n,)))


@extra("searchsorted")
def _(data):
    n = data.draw(st.integers(1, 5))
    side = data.draw(st.sampled_from(["left", "right"]))
    method = data.draw(st.sampled_from(["auto", "sort", "compare_all"]))
    v_shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    # The members of the sorted operand are permutations: sort them first,
    # or pass the (batched) sorter.
    if data.draw(st.booleans()):
        def f(a, v):
            return jnp.searchsorted(a, v, side=side, method=method, sorter=jnp.argsort(a))
    else:
        def f(a, v):
            return jnp.searchsorted(jnp.sort(a), v, side=side, method=method)
    return f, (TIES.draw(data, (n,)), Box(-2.5, 1.5).draw(data, v_shape))


@extra("unique (size=)")
def _(data):
    n = data.draw(st.integers(1, 6))
    size = data.draw(st.integers(1, 6))
    flags = data.draw(st.tuples(st.booleans(), st.booleans(), st.booleans()))
    return ((lambda x: jnp.unique(x, return_index=flags[0], return_inverse=flags[1],
                                  return_counts=flags[2], size=size, fill_value=-9.0)),
            (TIES.draw(data, (n,)),))


for _name, _fn in [("nonzero", jnp.nonzero), ("flatnonzero", jnp.flatnonzero),
                   ("argwhere", jnp.argwhere), ("where (1 arg)", jnp.where)]:
    @extra(f"{_name} (size=)")
    def _(data, fn=_fn):
        size = data.draw(st.integers(0, 5))
        return (lambda x: fn(x, size=size, fill_value=-1)), (TIES.draw(data, _nd(data)),)


def elementwise(name, fn, *doms, broadcast=True):
    """``fn`` of ``len(doms)`` arguments of mutually broadcastable shapes;
    a dom is a domain (``.draw``) or a function ``(data, shape) -> array``."""
    @extra(name)
    def draw(data):
        if broadcast:
            shapes_ = data.draw(hnp.mutually_broadcastable_shapes(
                num_shapes=len(doms), max_dims=2, max_side=3)).input_shapes
        else:
            shapes_ = [data.draw(SHAPES)] * len(doms)
        return fn, tuple(d.draw(data, s) if hasattr(d, "draw") else d(data, s)
                         for d, s in zip(doms, shapes_, strict=True))


INTS = _ints
POS_INTS = lambda d, s: _ints(d, s, 1, 9)
WIDE_INTS = lambda d, s: _ints(d, s, -2**40, 2**40)
SHIFTS = lambda d, s: _ints(d, s, 0, 40)
BOOLS = _bools
NONFINITE = lambda d, s: d.draw(hnp.arrays(np.float64, s, elements=st.sampled_from(
    [0.0, -1.5, 2.0, np.nan, np.inf, -np.inf])))
HALVES = Grid(0.5, 0.0, 0.0, kmax=5)                              # exact halves for rounding

for _name in ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal"):
    elementwise(_name, getattr(jnp, _name), TIES, TIES)
    elementwise(f"{_name} (int, float)", getattr(jnp, _name), INTS, TIES)
for _name in ("logical_and", "logical_or", "logical_xor"):
    elementwise(_name, getattr(jnp, _name), BOOLS, BOOLS)
    elementwise(f"{_name} (float)", getattr(jnp, _name), TIES, BOOLS)
elementwise("logical_not", jnp.logical_not, TIES)
for _name in ("bitwise_and", "bitwise_or", "bitwise_xor", "gcd", "lcm"):
    elementwise(_name, getattr(jnp, _name), INTS, INTS)
elementwise("bitwise_and (bool)", jnp.bitwise_and, BOOLS, BOOLS)
elementwise("left_shift", jnp.left_shift, WIDE_INTS, SHIFTS)
elementwise("right_shift", jnp.right_shift, WIDE_INTS, SHIFTS)
elementwise("invert", jnp.invert, WIDE_INTS)
elementwise("invert (bool)", jnp.invert, BOOLS)
elementwise("floor_divide (int)", jnp.floor_divide, INTS, POS_INTS)
elementwise("floor_divide (float)", jnp.floor_divide, ANY, NONZERO)
elementwise("remainder (int)", jnp.remainder, INTS, POS_INTS)
elementwise("divmod", jnp.divmod, INTS, POS_INTS)
elementwise("divmod (float)", jnp.divmod, ANY, NONZERO)
elementwise("modf", jnp.modf, ANY)
elementwise("frexp", jnp.frexp, NONFINITE)
elementwise("ldexp (batched exponent)", jnp.ldexp, ANY, INTS)
for _name in ("floor", "ceil", "trunc", "fix", "rint", "round", "around", "sign", "signbit"):
    elementwise(_name, getattr(jnp, _name), HALVES)
elementwise("round(decimals=1)", lambda x: jnp.round(x, 1), ANY)
elementwise("heaviside", jnp.heaviside, TIES, Box(0.0, 1.0))
for _name in ("isfinite", "isinf", "isnan", "isneginf", "isposinf"):
    elementwise(_name, getattr(jnp, _name), NONFINITE)
elementwise("nan_to_num (nonfinite)", lambda x: jnp.nan_to_num(x, posinf=9.0), NONFINITE)
elementwise("isclose", jnp.isclose, TIES, TIES)
elementwise("nextafter", jnp.nextafter, TIES, TIES)
elementwise("angle", jnp.angle, NONZERO)
elementwise("iscomplex/isreal", lambda x: (jnp.iscomplex(x), jnp.isreal(x)), ANY)
elementwise("array API names", lambda u, x, y: (
    jnp.acos(u), jnp.asin(u), jnp.atan(x), jnp.atan2(x, y), jnp.acosh(2.0 + x * x),
    jnp.asinh(x), jnp.atanh(u), jnp.conjugate(x), jnp.imag(x)), Box(-0.9, 0.9), ANY, NONZERO)
elementwise("array API bitwise names", lambda x, n: (
    jnp.bitwise_invert(x), jnp.bitwise_not(x), jnp.bitwise_left_shift(x, n),
    jnp.bitwise_right_shift(x, n)), WIDE_INTS, SHIFTS)
elementwise("square (int)", jnp.square, INTS)
elementwise("power (int)", jnp.power, INTS, lambda d, s: _ints(d, s, 0, 3))
elementwise("abs (int)", jnp.abs, INTS)
elementwise("maximum (int)", jnp.maximum, INTS, INTS)
elementwise("clip (int)", lambda x, lo, hi: jnp.clip(x, lo, hi), INTS,
            lambda d, s: _ints(d, s, -3, 0), lambda d, s: _ints(d, s, 0, 3))
elementwise("clip (batched bounds)", jnp.clip, ANY, Box(-2, 0), Box(0, 2))
elementwise("where (batched condition)", jnp.where, BOOLS, ANY, ANY)
elementwise("where (int condition)", jnp.where, INTS, INTS, ANY)
elementwise("astype int", lambda x: jnp.astype(x, np.int32), ANY)
elementwise("astype bool", lambda x: x.astype(bool), TIES)
elementwise("degrees/radians", lambda x: (jnp.degrees(x), jnp.radians(x)), ANY)
elementwise("copy", jnp.copy, ANY)
elementwise("zeros_like/ones_like", lambda x: (jnp.zeros_like(x), jnp.ones_like(x, int)), ANY)
elementwise("full_like (batched fill)", jnp.full_like, ANY, ANY, broadcast=False)
elementwise("full_like (0-d fill)", jnp.full_like, ANY, lambda d, s: ANY.draw(d, ()))
elementwise("x + linspace (unbatched constant)",
            lambda x: x + jnp.linspace(0.0, 1.0, x.shape[-1] if x.ndim else 1), ANY)
elementwise("broadcast_arrays", lambda a, b: jnp.broadcast_arrays(a, b), ANY, ANY)
elementwise("piecewise", lambda x: jnp.piecewise(x, [x < 0, x > 1], [-1.0, lambda v: v * 2,
                                                                     lambda v: v]), ANY)
elementwise("select (batched conditions)", lambda c1, c2, a, b: jnp.select(
    [c1, c2], [a, b], default=0.5), BOOLS, BOOLS, ANY, ANY, broadcast=False)


@extra("allclose / array_equal")
def _(data):
    shape = data.draw(SHAPES)
    return ((lambda a, b: (jnp.allclose(a, b), jnp.array_equal(a, b), jnp.array_equiv(a, b))),
            (TIES.draw(data, shape), TIES.draw(data, shape)))


def shaped(name, fn, dom=ANY, shapes_=None):
    @extra(name)
    def draw(data):
        shape = data.draw(shapes_ if shapes_ is not None else
                          hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
        return fn, (dom.draw(data, shape),)


_NDIM2 = hnp.array_shapes(min_dims=2, max_dims=3, max_side=3)
_NDIM3 = hnp.array_shapes(min_dims=3, max_dims=3, max_side=3)
shaped("atleast_1d/2d/3d", lambda x: (jnp.atleast_1d(x), jnp.atleast_2d(x), jnp.atleast_3d(x)),
       shapes_=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3))
shaped("fliplr/flipud", lambda x: (jnp.fliplr(x), jnp.flipud(x)), shapes_=_NDIM2)
shaped("matrix_transpose", jnp.matrix_transpose, shapes_=_NDIM2)
shaped("permute_dims", lambda x: jnp.permute_dims(x, tuple(range(x.ndim))[::-1]))
shaped("squeeze", lambda x: jnp.squeeze(x[None, ..., None]))
shaped("resize", lambda x: jnp.resize(x, (2, 5)))
shaped("diagflat", lambda x: jnp.diagflat(x, -1))
shaped("dstack/dsplit", lambda x: jnp.dsplit(jnp.dstack([x, x + 1.0]), 2))
shaped("hsplit/vsplit", lambda x: (jnp.hsplit(x, [1]), jnp.vsplit(x, [1])), shapes_=_NDIM2)
shaped("concat", lambda x: jnp.concat([x, -x], axis=-1))
shaped("meshgrid", lambda x: jnp.meshgrid(x.ravel(), x.ravel()[:2] * 2, indexing="ij"))
shaped("trace offset", lambda x: jnp.trace(x, offset=1, axis1=0, axis2=-1), shapes_=_NDIM2)
shaped("diagonal offset", lambda x: jnp.diagonal(x, -1, 1, 0), shapes_=_NDIM2)
shaped("sum (where=)", lambda x: jnp.sum(x, axis=0, where=x > 0))
shaped("mean (dtype, int)", lambda x: jnp.mean(x.astype(int), axis=-1, dtype=np.float32),
       TIES)


@extra("linspace/geomspace/logspace (batched endpoints)")
def _(data):
    num = data.draw(st.integers(1, 4))
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=1, max_side=3))
    return ((lambda a, b: (jnp.linspace(a, b, num), jnp.geomspace(a, b + 3.0, num, axis=-1),
                           jnp.logspace(a, b, num, endpoint=False))),
            (POS.draw(data, shape), POS.draw(data, shape)))


# Traced (batchable) indices.  ``x`` is a funcgrad Array: vmap passes an
# unmapped argument through as it is, and a NumPy array cannot be indexed
# with a traced index (as in JAX).
@extra("x[i] (traced scalar index)")
def _(data):
    n = data.draw(st.integers(1, 4))
    return ((lambda x, i: x[i]), (jnp.asarray(ANY.draw(data, (n, 2))), np.asarray(
        data.draw(st.integers(-n, n - 1)))))


@extra("x[i] (traced index array)")
def _(data):
    n = data.draw(st.integers(1, 4))
    return ((lambda x, i: x[:, i]), (jnp.asarray(ANY.draw(data, (2, n))),
                                     _ints(data, (3,), -n, n - 1)))


@extra("take (traced indices, clip)")
def _(data):
    n = data.draw(st.integers(1, 4))
    return ((lambda x, i: jnp.take(x, i, axis=0, mode="clip")),
            (ANY.draw(data, (n, 2)), _ints(data, (2, 2), -2, n + 1)))


@extra("take_along_axis (traced)")
def _(data):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=2, max_side=3))
    return ((lambda x, i: jnp.take_along_axis(x, i, axis=-1)),
            (ANY.draw(data, shape), _ints(data, shape, 0, shape[-1] - 1)))


@extra("x.at[i].set/add (traced indices and values)")
def _(data):
    n = data.draw(st.integers(1, 4))
    x = jnp.asarray(ANY.draw(data, (n, 2)))
    return ((lambda x, i, v: (x.at[i].set(v), x.at[i].add(v), x.at[i].get())),
            (x, _ints(data, (3,), -n, n - 1), ANY.draw(data, (3, 2))))


@extra("dynamic slice x[i:i+2]")
def _(data):
    return ((lambda x, i: jnp.take(x, i + jnp.arange(2), axis=0, mode="clip")),
            (ANY.draw(data, (4, 2)), np.asarray(data.draw(st.integers(0, 3)))))


# Linear algebra.  Members are permutations of the drawn matrix, so the
# functions build their well-conditioned (or SPD) operands themselves.
def _wellcond(a):
    """Diagonally dominant: I + a / (6n) with |a| <= 3."""
    n = a.shape[-1]
    return jnp.eye(n) + a / (6.0 * n)


def _spd(a):
    return a @ jnp.swapaxes(a, -1, -2) + a.shape[-1] * jnp.eye(a.shape[-1])


def matrix_case(name, fn, n_args=1):
    @extra(name)
    def draw(data):
        n = data.draw(MATRIX_SIDE)
        return fn, (ANY.draw(data, (n, n)),) + tuple(ANY.draw(data, (n, 2))
                                                     for _ in range(n_args - 1))


matrix_case("linalg.det/slogdet", lambda a: (jnp.linalg.det(_wellcond(a)),
                                             *jnp.linalg.slogdet(_wellcond(a) - 2 * jnp.eye(
                                                 a.shape[0]))))
matrix_case("linalg.inv", lambda a: jnp.linalg.inv(_wellcond(a)))
matrix_case("linalg.solve", lambda a, b: jnp.linalg.solve(_wellcond(a), b), n_args=2)
matrix_case("linalg.matrix_power -2", lambda a: jnp.linalg.matrix_power(_wellcond(a), -2))
matrix_case("linalg.cholesky", lambda a: jnp.linalg.cholesky(_spd(a)))
matrix_case("linalg.eigvalsh", lambda a: jnp.linalg.eigvalsh(_spd(a)))


def _eigh_sign_free(a):
    # Eigenvectors are unique up to signs (and rotations within repeated
    # eigenvalues): compare the eigenvalues and the reconstruction.
    w, v = jnp.linalg.eigh(_spd(a))
    return w, v @ (w[:, None] * v.T)


def _qr_sign_free(a):
    q, r = jnp.linalg.qr(_wellcond(a))
    return q @ r, jnp.abs(jnp.diagonal(r))


matrix_case("linalg.eigh (v w v^T)", _eigh_sign_free)
matrix_case("linalg.qr (q r)", _qr_sign_free)
matrix_case("linalg.matrix_norm fro", jnp.linalg.matrix_norm)
matrix_case("linalg.vector_norm ord=1", lambda a: jnp.linalg.vector_norm(a, axis=-1, ord=1))
matrix_case("linalg.tensorsolve", lambda a, b: jnp.linalg.tensorsolve(_wellcond(a), b[:, 0]),
            n_args=2)
matrix_case("linalg.tensorinv", lambda a: jnp.linalg.tensorinv(_wellcond(a), ind=1))
matrix_case("linalg array API names", lambda a, b: (
    jnp.linalg.matmul(a, b), jnp.linalg.matrix_transpose(a), jnp.linalg.diagonal(a, offset=1),
    jnp.linalg.trace(a), jnp.linalg.tensordot(a, b, axes=1), jnp.linalg.vecdot(a, a)), n_args=2)
matrix_case("linalg.outer/cross", lambda a: (jnp.linalg.outer(a[0], a[-1]),
                                            jnp.linalg.cross(jnp.resize(a, (3,)),
                                                             jnp.ones(3))))


# ------------------------------------------------------------ the tests
ALL_CASES = CASES + EXTRA
# A few examples per case keeps the file fast under the default profile (20
# examples); the nightly profile scales them up.
FORWARD_EXAMPLES = max(1, settings().max_examples * 3 // 10)
GRAD_EXAMPLES = max(1, settings().max_examples // 10)


@pytest.mark.parametrize("c", ALL_CASES, ids=[c.name for c in ALL_CASES])
@given(data=st.data())
@settings(max_examples=FORWARD_EXAMPLES)
def test_vmap_matches_loop(c, data):
    f, args = c.draw(data)
    levels = data.draw(st.integers(1, 2), label="levels")
    check_vmap(data, f, args, levels, **TOL)


# Per-example gradients for every differentiable case of the gradient table,
# and the linear algebra.
GRAD_CASES = CASES + [c for c in EXTRA if c.name.startswith("linalg")]


@pytest.mark.parametrize("c", GRAD_CASES, ids=[c.name for c in GRAD_CASES])
@given(data=st.data())
@settings(max_examples=GRAD_EXAMPLES)
def test_vmap_of_grad_matches_loop(c, data):
    f, args = c.draw(data)
    check_vmap_of_grad(data, f, args, **TOL)


def test_cases_cover_the_namespace():
    """Every array function of funcgrad.numpy (and numpy.linalg) is called
    by some case, except creation functions without array operands and
    dtype helpers."""
    import inspect

    import tests.transforms.test_numpy_grads as grads_module
    source = inspect.getsource(inspect.getmodule(test_cases_cover_the_namespace))
    source += inspect.getsource(grads_module)
    not_array_functions = {
        "arange", "array", "asarray", "empty", "empty_like", "eye", "full", "identity", "indices",
        "ix_", "fromfunction", "ones", "zeros", "tri", "can_cast", "promote_types",
        "result_type", "finfo", "iinfo", "isdtype", "issubdtype", "isscalar", "iscomplexobj",
        "isrealobj", "ndim", "shape", "size", "broadcast_shapes", "dtype"}
    names = [n for n in dir(jnp) if not n.startswith("_") and n not in not_array_functions
             and callable(getattr(jnp, n)) and not isinstance(getattr(jnp, n), type)]
    missing = [n for n in names if f"jnp.{n}" not in source and f'"{n}"' not in source]
    missing += [f"linalg.{n}" for n in jnp.linalg.__all__
                if not isinstance(getattr(jnp.linalg, n), type)
                and not re.search(rf"linalg\.{n}\b", source)]
    assert missing == [], missing


def test_list_out_axes_for_a_list_output():
    x = np.arange(6.0).reshape(2, 3)
    out = vmap(lambda a: [a, 2 * a], out_axes=[0, 1])(x)
    assert_close(out[0], x)
    assert_close(out[1], 2 * x.T)


def test_per_example_gradients_with_shared_parameters():
    """The typical use: per-example gradients of a loss with respect to
    shared parameters, batched over the data only."""
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    xs, ys = rng.normal(size=(5, 3)), rng.integers(0, 2, size=5)

    def loss(p, x, y):
        logits = jnp.tanh(x @ p["w"] + p["b"])
        return -jnp.take(logits - jnp.log(jnp.sum(jnp.exp(logits))), y)

    g = funcgrad.grad(loss)
    got = eager_and_staged(vmap(g, (None, 0, 0)), params, xs, ys)
    expected = [g(params, x, y) for x, y in zip(xs, ys, strict=True)]
    for k in params:
        assert_close(got[k], np.stack([np.asarray(e[k]) for e in expected]))


def test_staged_vmap_of_std_keepdims_with_a_middle_batch_axis():
    """Regression: staging once folded std's keepdims reshape chain of a
    batch axis in the middle as if its transpose were not there."""
    x = np.linspace(-3, 3, 18).reshape(3, 2, 3)
    xs = np.stack([x, x[::-1], x * 0.5], axis=1)
    f = lambda a: jnp.std(a, axis=1, keepdims=True)
    closed = funcgrad.make_jaxpr(vmap(f, 1, 0))(xs)
    (staged,) = funcgrad.eval_jaxpr(closed.jaxpr, closed.consts, xs)
    assert_close(staged, np.stack([np.std(xs[:, i], axis=1, keepdims=True) for i in range(3)]))


def test_staged_vmap_of_solve_with_batch_size_equal_to_n():
    a, b = np.eye(2) + 0.1, np.arange(4.0).reshape(2, 2)
    closed = funcgrad.make_jaxpr(vmap(jnp.linalg.solve, (None, 0)))(a, b)
    (staged,) = funcgrad.eval_jaxpr(closed.jaxpr, closed.consts, a, b)
    assert_close(staged, np.linalg.solve(a, b.T).T)
