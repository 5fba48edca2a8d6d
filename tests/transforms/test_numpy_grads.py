"""Derivatives of ``funcgrad.numpy`` functions, to second order in forward
and reverse mode, against central finite differences (``check_grads``).

Every case of the table draws its shapes and values with hypothesis from a
domain where the function is smooth: away from the kinks of abs/max/clip,
from ties of sort/max/median, from the poles and branch cuts of the
elementary functions.  The finite-difference step (1e-5 in float64) is far
smaller than every margin kept here.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad.numpy as jnp
from funcgrad.scipy import special
from funcgrad.test_util import check_grads
from tests.util import arrays


# ------------------------------------------------------------ domains
@dataclass(frozen=True)
class Box:
    """Uniform-ish values in [lo, hi]."""
    lo: float
    hi: float

    def draw(self, data, shape, dtype=np.float64):
        return data.draw(arrays(dtype, shape, min_value=self.lo, max_value=self.hi))


@dataclass(frozen=True)
class Signed:
    """Magnitudes in [lo, hi] (lo > 0) with random signs: away from 0."""
    lo: float
    hi: float

    def draw(self, data, shape, dtype=np.float64):
        mag = data.draw(arrays(dtype, shape, min_value=self.lo, max_value=self.hi))
        sign = data.draw(hnp.arrays(np.bool_, shape))
        return np.where(sign, mag, -mag).astype(dtype)


@dataclass(frozen=True)
class Distinct:
    """Pairwise distinct values in [lo, hi] (gaps of at least 60% of the
    grid spacing), in random order: no ties for sort/max/median."""
    lo: float = -3.0
    hi: float = 3.0

    def draw(self, data, shape, dtype=np.float64):
        n = int(np.prod(shape, dtype=np.int64))
        spacing = (self.hi - self.lo) / max(n - 1, 1)
        grid = np.linspace(self.lo, self.hi, n) if n > 1 else np.array([self.lo])
        perm = np.array(data.draw(st.permutations(range(n))), dtype=np.int64)
        noise = data.draw(arrays(np.float64, (n,), min_value=-0.2 * spacing,
                                 max_value=0.2 * spacing))
        return (grid[perm] + noise).reshape(shape).astype(dtype)


@dataclass(frozen=True)
class Grid:
    """``offset + step * k`` plus noise of at most ``noise``, k in
    [-kmax, kmax): a lattice kept away from a function's kinks."""
    step: float
    offset: float
    noise: float
    kmax: int = 3

    def draw(self, data, shape, dtype=np.float64):
        k = data.draw(hnp.arrays(np.int64, shape, elements=st.integers(-self.kmax, self.kmax - 1)))
        e = data.draw(arrays(np.float64, shape, min_value=-self.noise, max_value=self.noise))
        return (self.offset + self.step * k + e).astype(dtype)


ANY = Box(-3.0, 3.0)
UNIT = Box(-0.9, 0.9)
POS = Box(0.2, 4.0)
NONZERO = Signed(0.3, 3.0)
NEAR_ONE = Signed(0.5, 1.5)      # products stay O(1)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3)
ND_SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)


# ------------------------------------------------------------ cases
@dataclass(frozen=True)
class Case:
    name: str
    draw: Callable  # data -> (function, args)


CASES: list[Case] = []


def case(name):
    def register(draw):
        CASES.append(Case(name, draw))
        return draw
    return register


def unary(name, fn, dom):
    @case(name)
    def draw(data):
        return fn, (dom.draw(data, data.draw(SHAPES)),)


def binary(name, fn, dom_x, dom_y):
    @case(name)
    def draw(data):
        sx, sy = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2,
                                                             max_side=3)).input_shapes
        return fn, (dom_x.draw(data, sx), dom_y.draw(data, sy))


for _name, _dom in [
        ("sin", ANY), ("cos", ANY), ("tan", Box(-1.2, 1.2)), ("arcsin", UNIT),
        ("arccos", UNIT), ("arctan", ANY), ("sinh", ANY), ("cosh", ANY), ("tanh", ANY),
        ("arcsinh", ANY), ("arccosh", Box(1.2, 4.0)), ("arctanh", UNIT), ("exp", ANY),
        ("exp2", ANY), ("expm1", ANY), ("log", POS), ("log2", POS), ("log10", POS),
        ("log1p", Box(-0.8, 4.0)), ("sqrt", POS), ("cbrt", POS), ("square", ANY),
        ("negative", ANY), ("positive", ANY), ("deg2rad", ANY), ("rad2deg", ANY),
        ("reciprocal", NONZERO), ("abs", NONZERO), ("absolute", NONZERO), ("fabs", NONZERO),
        ("sinc", Signed(0.2, 2.0)), ("nan_to_num", ANY), ("real", ANY), ("conj", ANY)]:
    unary(_name, getattr(jnp, _name), _dom)

for _name, _dx, _dy in [
        ("add", ANY, ANY), ("subtract", ANY, ANY), ("multiply", ANY, ANY),
        ("divide", ANY, NONZERO), ("true_divide", ANY, NONZERO), ("power", POS, Box(-2, 2)),
        ("float_power", POS, Box(-2, 2)), ("arctan2", NONZERO, NONZERO),
        ("hypot", NONZERO, NONZERO), ("logaddexp", ANY, ANY), ("logaddexp2", ANY, ANY),
        ("copysign", NONZERO, NONZERO),
        # x and y on lattices shifted by half a step: never within 0.3 of each other.
        ("maximum", Grid(1.0, 0.25, 0.1), Grid(1.0, -0.25, 0.1)),
        ("minimum", Grid(1.0, 0.25, 0.1), Grid(1.0, -0.25, 0.1)),
        ("fmax", Grid(1.0, 0.25, 0.1), Grid(1.0, -0.25, 0.1)),
        ("fmin", Grid(1.0, 0.25, 0.1), Grid(1.0, -0.25, 0.1))]:
    binary(_name, getattr(jnp, _name), _dx, _dy)

# x / 0.7 stays within 0.3 of k + 1/2: away from the jumps of rem and mod.
for _name in ("remainder", "mod", "fmod"):
    binary(_name, getattr(jnp, _name), Grid(0.7, 0.35, 0.15), Box(0.69, 0.71))

binary("operator **", lambda x, y: x ** y, POS, Box(-2, 2))
binary("operator / and -", lambda x, y: (x - y) / (y * y + 1.0), ANY, ANY)
unary("integer power x**3", lambda x: x ** 3, ANY)
unary("integer power x**-2", lambda x: x ** -2, NONZERO)
unary("scalar arithmetic", lambda x: 2.0 * x - x / 3.0 + 1.5, ANY)


@case("ldexp (integer exponent)")
def _(data):
    shape = data.draw(SHAPES)
    n = data.draw(hnp.arrays(np.int64, shape, elements=st.integers(-3, 3)))
    return jnp.ldexp, (ANY.draw(data, shape), n)


@case("where")
def _(data):
    shape = data.draw(SHAPES)
    cond = data.draw(hnp.arrays(np.bool_, shape))
    return (lambda x, y: jnp.where(cond, x, y)), (ANY.draw(data, shape), ANY.draw(data, ()))


@case("clip (array bounds)")
def _(data):
    # x lies on a lattice of step 0.5 offset by 0.25: at least 0.15 from +-1.
    shape = data.draw(SHAPES)
    x = Grid(0.5, 0.25, 0.1, kmax=4).draw(data, shape)
    return jnp.clip, (x, Box(-1.02, -0.98).draw(data, ()), Box(0.98, 1.02).draw(data, ()))


@case("select")
def _(data):
    shape = data.draw(SHAPES)
    c1, c2 = data.draw(hnp.arrays(np.bool_, shape)), data.draw(hnp.arrays(np.bool_, shape))
    return ((lambda a, b: jnp.select([c1, c2], [a, jnp.sin(b)], default=-1.0)),
            (ANY.draw(data, shape), ANY.draw(data, shape)))


# ------------------------------------------------------------ reductions
def reduction(name, fn, dom=ANY, min_side=1, keepdims=True, axis_tuple=True):
    @case(name)
    def draw(data):
        shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=min_side,
                                           max_side=3))
        nd = len(shape)
        choices = [st.none(), st.integers(-nd, nd - 1)]
        if axis_tuple and nd > 1:
            choices.append(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd,
                                    unique=True).map(tuple))
        axis = data.draw(st.one_of(*choices))
        kwargs = {"axis": axis}
        if keepdims:
            kwargs["keepdims"] = data.draw(st.booleans())
        return (lambda x: fn(x, **kwargs)), (dom.draw(data, shape),)


for _name, _dom, _side in [("sum", ANY, 1), ("mean", ANY, 1), ("nansum", ANY, 1),
                           ("nanmean", ANY, 1), ("prod", NEAR_ONE, 1), ("nanprod", NEAR_ONE, 1),
                           ("max", Distinct(), 1), ("min", Distinct(), 1),
                           ("amax", Distinct(), 1), ("amin", Distinct(), 1),
                           ("nanmax", Distinct(), 1), ("ptp", Distinct(), 1),
                           ("var", ANY, 1), ("nanvar", ANY, 1), ("median", Distinct(), 1),
                           ("std", Distinct(), 2), ("nanstd", Distinct(), 2)]:
    reduction(_name, getattr(jnp, _name), _dom, _side)
reduction("var(ddof=1)", lambda x, **kw: jnp.var(x, ddof=1, **kw), ANY, 2)
reduction("quantile(q=0.3)", lambda x, **kw: jnp.quantile(x, 0.3, **kw), Distinct())
reduction("linalg.norm (axis)", lambda x, axis, keepdims: jnp.linalg.norm(
    x, axis=axis if not isinstance(axis, tuple) else axis[:1], keepdims=keepdims), NONZERO,
    axis_tuple=False)


def _logsumexp(x, axis=None, keepdims=False):
    # The stable composite a user would write with funcgrad.numpy: the max's
    # derivative cancels, so ties in the max are harmless.
    m = jnp.max(x, axis=axis, keepdims=True)
    out = jnp.log(jnp.sum(jnp.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else jnp.squeeze(out, axis=axis)


reduction("logsumexp (composite)", _logsumexp, ANY)
reduction("scipy.special.logsumexp", special.logsumexp, ANY)


@case("scipy.special.logsumexp (weights b)")
def _(data):
    shape = data.draw(ND_SHAPES)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    return ((lambda x, b: special.logsumexp(x, axis=axis, b=b)),
            (ANY.draw(data, shape), POS.draw(data, shape)))


@case("average (weights)")
def _(data):
    shape = data.draw(ND_SHAPES)
    axis = data.draw(st.integers(0, len(shape) - 1))
    return ((lambda x, w: jnp.average(x, axis=axis, weights=w)),
            (ANY.draw(data, shape), POS.draw(data, (shape[axis],))))


def scan(name, fn, dom):
    @case(name)
    def draw(data):
        shape = data.draw(ND_SHAPES)
        axis = data.draw(st.integers(-len(shape), len(shape) - 1))
        return (lambda x: fn(x, axis=axis)), (dom.draw(data, shape),)


for _name, _dom in [("cumsum", ANY), ("cumprod", NEAR_ONE), ("cumulative_sum", ANY),
                    ("cumulative_prod", NEAR_ONE), ("nancumsum", ANY), ("nancumprod", NEAR_ONE)]:
    scan(_name, getattr(jnp, _name), _dom)
scan("sort", jnp.sort, Distinct())
scan("take_along_axis(argsort)",
     lambda x, axis: jnp.take_along_axis(x, jnp.argsort(x, axis=axis), axis=axis), Distinct())


@case("partition")
def _(data):
    shape = data.draw(ND_SHAPES)
    kth = data.draw(st.integers(0, shape[-1] - 1))
    # partition's order inside each side is unspecified: compare sorted sides.
    return ((lambda x: jnp.sort(jnp.partition(x, kth), axis=-1)), (Distinct().draw(data, shape),))


# ------------------------------------------------------------ products
def product(name, fn, shapes_):
    @case(name)
    def draw(data):
        dims = data.draw(st.lists(st.integers(1, 3), min_size=6, max_size=6))
        return fn, tuple(ANY.draw(data, tuple(dims[i] for i in s)) for s in shapes_)


# Shapes are given as indices into six drawn sizes, so contracted axes agree.
product("matmul", jnp.matmul, [(0, 1), (1, 2)])
product("matmul batched", jnp.matmul, [(3, 0, 1), (1, 2)])
product("matmul vector-matrix", jnp.matmul, [(1,), (1, 2)])
product("operator @", lambda a, b: a @ b, [(0, 1), (1,)])
product("dot 1d", jnp.dot, [(0,), (0,)])
product("dot 2d", jnp.dot, [(0, 1), (1, 2)])
product("dot scalar", jnp.dot, [(), (0, 1)])
product("vdot", jnp.vdot, [(0, 1), (0, 1)])
product("inner", jnp.inner, [(0, 1), (2, 1)])
product("outer", jnp.outer, [(0,), (1, 2)])
product("kron", jnp.kron, [(0, 1), (2,)])
product("tensordot axes=1", lambda a, b: jnp.tensordot(a, b, axes=1), [(0, 1), (1, 2)])
product("tensordot axes=2", lambda a, b: jnp.tensordot(a, b, axes=2), [(0, 1, 2), (1, 2, 3)])
product("tensordot axes pairs", lambda a, b: jnp.tensordot(a, b, axes=([0], [1])),
        [(0, 1), (2, 0)])
product("einsum ij,jk->ik", lambda a, b: jnp.einsum("ij,jk->ik", a, b), [(0, 1), (1, 2)])
product("einsum bij,bjk->bik", lambda a, b: jnp.einsum("bij,bjk->bik", a, b),
        [(3, 0, 1), (3, 1, 2)])
product("einsum ij,ij->i", lambda a, b: jnp.einsum("ij,ij->i", a, b), [(0, 1), (0, 1)])
product("einsum ii->", lambda a: jnp.einsum("ii->", a), [(0, 0)])
product("einsum i,j,k->ijk", lambda a, b, c: jnp.einsum("i,j,k->ijk", a, b, c),
        [(0,), (1,), (2,)])
product("trace", jnp.trace, [(0, 1)])
product("diagonal", lambda a: jnp.diagonal(a, offset=0), [(0, 1, 2)])
product("linalg.multi_dot", lambda a, b, c: jnp.linalg.multi_dot([a, b, c]),
        [(0, 1), (1, 2), (2, 3)])
product("linalg.matrix_power 3", lambda a: jnp.linalg.matrix_power(a, 3), [(0, 0)])
product("vecdot", jnp.vecdot, [(0, 1), (1,)])


@case("cross")
def _(data):
    return jnp.cross, (ANY.draw(data, (data.draw(st.integers(1, 2)), 3)), ANY.draw(data, (3,)))


@case("linalg.norm")
def _(data):
    ord_, shape, dom = data.draw(st.sampled_from([
        (None, (4,), NONZERO), (2, (3,), NONZERO), (1, (3,), NONZERO),
        (np.inf, (4,), Distinct(0.3, 3.0)), (3, (3,), NONZERO),
        ("fro", (2, 3), NONZERO), (None, (2, 3), NONZERO)]))
    x = dom.draw(data, shape)
    if ord_ == np.inf:  # distinct magnitudes with random signs
        x = x * np.where(data.draw(hnp.arrays(np.bool_, shape)), 1, -1)
    return (lambda v: jnp.linalg.norm(v, ord=ord_)), (x,)


# ------------------------------------------------------------ shapes
def reshaping(name, fn, param=None, shape_strategy=ND_SHAPES):
    """``fn(x)``, or ``fn(x, p)`` with ``p = param(data, shape)`` drawn once
    per example (check_grads calls the function many times)."""
    @case(name)
    def draw(data):
        shape = data.draw(shape_strategy)
        if param is None:
            return fn, (ANY.draw(data, shape),)
        p = param(data, shape)
        return (lambda x: fn(x, p)), (ANY.draw(data, shape),)


def _axis(data, shape):
    return data.draw(st.integers(-len(shape), len(shape) - 1))


MATRICES = hnp.array_shapes(min_dims=2, max_dims=2, max_side=3)
reshaping("reshape", lambda x: jnp.reshape(x, (-1,)))
reshaping("reshape 2d", lambda x: x.reshape(1, -1).T)
reshaping("ravel", jnp.ravel)
reshaping("transpose", jnp.transpose, lambda d, s: d.draw(st.permutations(range(len(s)))))
reshaping("x.T", lambda x: x.T)
reshaping("moveaxis", lambda x: jnp.moveaxis(x, 0, -1))
reshaping("swapaxes", lambda x, a: jnp.swapaxes(x, 0, a), _axis)
reshaping("expand_dims+squeeze", lambda x: jnp.squeeze(jnp.expand_dims(x, 0) * 2.0, axis=0))
reshaping("broadcast_to", lambda x: jnp.broadcast_to(x, (2,) + x.shape))
reshaping("flip", lambda x, a: jnp.flip(x, axis=a), _axis)
reshaping("flip all", jnp.flip)
reshaping("roll", lambda x, p: jnp.roll(x, p[0], axis=p[1]),
          lambda d, s: (d.draw(st.integers(-4, 4)), _axis(d, s)))
reshaping("roll flat", lambda x: jnp.roll(x, 2))
reshaping("rot90", jnp.rot90, lambda d, s: d.draw(st.integers(-2, 3)),
          hnp.array_shapes(min_dims=2, max_dims=3, max_side=3))
reshaping("tile", lambda x: jnp.tile(x, (2, 1)))
reshaping("repeat", lambda x, a: jnp.repeat(x, 2, axis=a), _axis)
reshaping("repeat per element", lambda x: jnp.repeat(x, np.arange(1, x.shape[0] + 1), axis=0))
reshaping("pad constant", lambda x: jnp.pad(x, 1, constant_values=0.5))
for _mode in ("edge", "reflect", "symmetric", "wrap"):
    reshaping(f"pad {_mode}",
              lambda x, m: jnp.pad(x, ((1, 2),) + ((0, 1),) * (x.ndim - 1), mode=m),
              lambda d, s, m=_mode: m,
              hnp.array_shapes(min_dims=1, max_dims=2, min_side=3, max_side=3))
reshaping("split", lambda x: jnp.split(x, [1], axis=0))
reshaping("array_split", lambda x: jnp.array_split(x, 2, axis=-1))
reshaping("tril", jnp.tril, None, hnp.array_shapes(min_dims=2, max_dims=3, max_side=3))
reshaping("triu(k=1)", lambda x: jnp.triu(x, 1), None, MATRICES)
reshaping("diag 1d->2d", lambda x: jnp.diag(x, 1), None,
          hnp.array_shapes(min_dims=1, max_dims=1, max_side=3))
reshaping("diag 2d->1d", jnp.diag, None, MATRICES)
reshaping("delete", lambda x: jnp.delete(x, 0, axis=0), None,
          hnp.array_shapes(min_dims=1, max_dims=2, min_side=2, max_side=3))


@case("pad with a differentiable constant")
def _(data):
    shape = data.draw(ND_SHAPES)
    return ((lambda x, c: jnp.pad(x, 1, constant_values=c)),
            (ANY.draw(data, shape), jnp.asarray(ANY.draw(data, ()))))


def joining(name, fn, n=2):
    @case(name)
    def draw(data):
        shape = data.draw(ND_SHAPES)
        return fn, tuple(ANY.draw(data, shape) for _ in range(n))


joining("concatenate", lambda a, b: jnp.concatenate([a, b], axis=-1))
joining("concatenate axis=None", lambda a, b: jnp.concatenate([a, b * 2], axis=None))
joining("stack", lambda a, b, c: jnp.stack([a, b, c], axis=1), 3)
joining("hstack", lambda a, b: jnp.hstack([a, b]))
joining("vstack", lambda a, b: jnp.vstack([a, b]))
joining("column_stack", lambda a, b: jnp.column_stack([a, b]))
joining("append", lambda a, b: jnp.append(a, b, axis=0))


@case("insert")
def _(data):
    x = ANY.draw(data, (3, 2))
    return (lambda a, v: jnp.insert(a, 1, v, axis=0)), (x, ANY.draw(data, (2,)))


# ------------------------------------------------------------ indexing
INDEX_SHAPE = hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=4)


def indexing(name, fn, param=None, dom=ANY):
    """``fn(x)`` or ``fn(x, p)`` with indices ``p = param(data, shape)``
    drawn once per example, on a funcgrad Array ``x`` (``.at[]`` needs one)."""
    @case(name)
    def draw(data):
        shape = data.draw(INDEX_SHAPE)
        x = jnp.asarray(dom.draw(data, shape))
        if param is None:
            return fn, (x,)
        p = param(data, shape)
        return (lambda x: fn(x, p)), (x,)


def _rows(data, shape, size=3):
    """Row indices, negative ones and repeats included."""
    n = shape[0]
    return data.draw(hnp.arrays(np.int64, (size,), elements=st.integers(-n, n - 1)))


def _cols(data, shape):
    return _rows(data, shape[::-1], 4)


def _mask(data, shape):
    return data.draw(hnp.arrays(np.bool_, shape))


indexing("x[int]", lambda x: x[1])
indexing("x[slice, step]", lambda x: x[::-1, 1::2])
indexing("x[..., None]", lambda x: x[..., None, 0])
indexing("x[int array] (repeats)", lambda x, i: x[i], _rows)
indexing("x[:, int array]", lambda x, i: x[:, i], _cols)
indexing("x[a, b] (advanced pair)", lambda x, ij: x[ij[0], ij[1]],
         lambda d, s: (_rows(d, s), _rows(d, s[::-1])))
indexing("x[bool mask]", lambda x, m: x[m], _mask)
indexing("take", lambda x, i: jnp.take(x, i, axis=1), _cols)
indexing("take flat", lambda x, i: jnp.take(x, i), lambda d, s: _rows(d, (s[0] * s[1],), 4))
indexing("take_along_axis", lambda x, i: jnp.take_along_axis(x, i, axis=1),
         lambda d, s: d.draw(hnp.arrays(np.int64, s, elements=st.integers(0, s[1] - 1))))
indexing("x.at[int].add", lambda x: x.at[0].add(jnp.sin(x[1])))
indexing("x.at[int array].add (repeats)", lambda x, i: x.at[i].add(x[0] * x[1]), _rows)
indexing("x.at[int array].mul (repeats)", lambda x, i: x.at[i].mul(x[1]), _rows, NEAR_ONE)
indexing("x.at[slice].set", lambda x: x.at[1:, ::2].set(x[0, 0] * 3.0))
indexing("x.at[unique int array].set", lambda x, i: x.at[i].set(x[-1] ** 2),
         lambda d, s: np.array(d.draw(st.permutations(range(s[0]))))[:2])
indexing("x.at[bool mask].set", lambda x, m: x.at[m].set(2.0 * x[0, 0]), _mask)


@case("x.at[].min / .max (no ties)")
def _(data):
    x = Grid(1.0, 0.25, 0.1).draw(data, (4,))
    v = Grid(1.0, -0.25, 0.1).draw(data, (2,))
    return (lambda a, b: (a.at[np.array([0, 2])].min(b), a.at[np.array([1, 3])].max(b))), (
        jnp.asarray(x), jnp.asarray(v))


# ------------------------------------------------------------ the tests
@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
@given(data=st.data())
@settings(max_examples=4)
def test_numpy_grads(c, data):
    f, args = c.draw(data)
    check_grads(f, args, order=2, modes=("fwd", "rev"))


FLOAT32_CASES = [
    ("sin*exp", lambda x: jnp.sin(x) * jnp.exp(x / 2)),
    ("tanh-sum", lambda x: jnp.sum(jnp.tanh(x), axis=0)),
    ("log1p(x^2)", lambda x: jnp.log1p(x * x)),
    ("matmul", lambda x: x @ x.T),
    ("cumsum", lambda x: jnp.cumsum(x * x, axis=1)),
    ("mean+var", lambda x: jnp.mean(x) + jnp.var(x, axis=1)),
]


@pytest.mark.parametrize("name, f", FLOAT32_CASES, ids=[n for n, _ in FLOAT32_CASES])
@given(data=st.data())
@settings(max_examples=3)
def test_float32_grads_with_default_tolerances(name, f, data):
    x = Box(-1.5, 1.5).draw(data, data.draw(hnp.array_shapes(min_dims=2, max_dims=2,
                                                             max_side=3)), np.float32)
    check_grads(f, (x,), order=2)
