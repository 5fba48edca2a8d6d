"""Differentiation rules of the shape and slicing primitives.

For every primitive, hypothesis draws shapes and parameters; then

* forward mode against central finite differences (computed in float64 with
  the eager forward pass, so float32 results are checked to float32 accuracy),
* the transpose dot-product identity ``<ct, L t> == <L^T ct, t>`` where
  ``L`` is the jvp in the tangents and ``L^T`` comes from
  ``linear_transpose``, run eagerly and through ``make_jaxpr``,
* reverse mode (``grad``) on ``sum(sin(op(x)))`` against finite
  differences, and second order (forward over reverse, reverse over
  reverse) against finite differences of the gradient.

Multi-operand primitives are also differentiated with respect to a subset
of their operands (the others are closed over, so their tangents are
symbolic zeros and the transposes see them as known values).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from hypothesis import given, note, strategies as st

import funcgrad
from funcgrad import lax
from funcgrad.transforms.transpose import linear_transpose
from tests.transforms.test_jvp import numerical_jvp
from tests.util import FLOAT_DTYPES, arrays, assert_close, eager_and_staged, shapes


@dataclass
class Case:
    fun: Callable              # the operation, a function of float arrays
    arg_shapes: list           # one shape per argument
    label: str


# ------------------------------------------------------------- cases
def _subset(draw, items):
    return sorted(draw(st.sets(st.sampled_from(list(items)))) if items else [])


@st.composite
def broadcast_in_dim_case(draw):
    out_shape = draw(shapes(min_dims=0, max_dims=4, min_side=0, max_side=3))
    bd = tuple(_subset(draw, range(len(out_shape))))
    # An operand dimension is either the output's size or a stretched 1.
    x_shape = tuple(draw(st.sampled_from([out_shape[d], 1])) for d in bd)
    return Case(lambda x: lax.broadcast_in_dim(x, out_shape, bd), [x_shape],
                f"broadcast_in_dim({x_shape} -> {out_shape}, {bd})")


def _prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


@st.composite
def reshape_case(draw):
    x_shape = draw(shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    dims = draw(st.none() | st.permutations(range(len(x_shape))).map(tuple))
    # Any shape with the same number of elements: shuffled prime factors,
    # some merged, with size-1 dimensions sprinkled in.
    factors = draw(st.permutations(_prime_factors(math.prod(x_shape))))
    new = []
    for f in factors:
        if new and draw(st.booleans()):
            new[-1] *= f
        else:
            new.append(f)
    for _ in range(draw(st.integers(0, 2))):
        new.insert(draw(st.integers(0, len(new))), 1)
    new = tuple(new)
    return Case(lambda x: lax.reshape(x, new, dims), [x_shape],
                f"reshape({x_shape} -> {new}, dimensions={dims})")


@st.composite
def transpose_case(draw):
    x_shape = draw(shapes(min_dims=0, max_dims=4, min_side=1, max_side=3))
    perm = tuple(draw(st.permutations(range(len(x_shape)))))
    return Case(lambda x: lax.transpose(x, perm), [x_shape], f"transpose({x_shape}, {perm})")


@st.composite
def squeeze_case(draw):
    x_shape = draw(shapes(min_dims=0, max_dims=4, min_side=1, max_side=3).filter(
        lambda s: 1 in s))
    dims = tuple(_subset(draw, [i for i, s in enumerate(x_shape) if s == 1]))
    return Case(lambda x: lax.squeeze(x, dims), [x_shape], f"squeeze({x_shape}, {dims})")


@st.composite
def expand_dims_case(draw):
    x_shape = draw(shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    k = draw(st.integers(1, 2))
    dims = tuple(sorted(draw(st.permutations(range(len(x_shape) + k)))[:k]))
    return Case(lambda x: lax.expand_dims(x, dims), [x_shape], f"expand_dims({x_shape}, {dims})")


@st.composite
def rev_case(draw):
    x_shape = draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    dims = tuple(_subset(draw, range(len(x_shape))))
    return Case(lambda x: lax.rev(x, dims), [x_shape], f"rev({x_shape}, {dims})")


@st.composite
def concatenate_case(draw):
    base = list(draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)))
    dim = draw(st.integers(0, len(base) - 1))
    arg_shapes = []
    for _ in range(draw(st.integers(1, 3))):
        base[dim] = draw(st.integers(0, 3))
        arg_shapes.append(tuple(base))
    return Case(lambda *xs: lax.concatenate(xs, dim), arg_shapes,
                f"concatenate({arg_shapes}, {dim})")


@st.composite
def pad_case(draw):
    x_shape = draw(shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
    config = []
    for size in x_shape:
        lo, hi, interior = (draw(st.integers(-3, 3)), draw(st.integers(-3, 3)),
                            draw(st.integers(0, 2)))
        # Keep the result's size non-negative by cropping less at the top.
        out = lo + hi + size + max(size - 1, 0) * interior
        config.append((lo, hi - min(out, 0), interior))
    return Case(lambda x, v: lax.pad(x, v, config), [x_shape, ()],
                f"pad({x_shape}, {config})")


@st.composite
def slice_case(draw):
    x_shape = draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    starts, limits, strides = [], [], []
    for size in x_shape:
        start = draw(st.integers(0, size))
        starts.append(start)
        limits.append(draw(st.integers(start, size)))
        strides.append(draw(st.integers(1, 3)))
    return Case(lambda x: lax.slice(x, starts, limits, strides), [x_shape],
                f"slice({x_shape}, {starts}, {limits}, {strides})")


def _starts(draw, x_shape):
    # Out of range on both sides too: negative starts wrap, then clamp.
    return tuple(draw(st.integers(-d - 3, d + 3)) for d in x_shape)


@st.composite
def dynamic_slice_case(draw):
    x_shape = draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    sizes = tuple(draw(st.integers(0, d)) for d in x_shape)
    starts = _starts(draw, x_shape)
    return Case(lambda x: lax.dynamic_slice(x, starts, sizes), [x_shape],
                f"dynamic_slice({x_shape}, {starts}, {sizes})")


@st.composite
def dynamic_update_slice_case(draw):
    x_shape = draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    u_shape = tuple(draw(st.integers(0, d)) for d in x_shape)
    starts = _starts(draw, x_shape)
    return Case(lambda x, u: lax.dynamic_update_slice(x, u, starts), [x_shape, u_shape],
                f"dynamic_update_slice({x_shape}, {u_shape}, {starts})")


CASES = {
    "broadcast_in_dim": broadcast_in_dim_case(), "reshape": reshape_case(),
    "transpose": transpose_case(), "squeeze": squeeze_case(),
    "expand_dims": expand_dims_case(), "rev": rev_case(), "concatenate": concatenate_case(),
    "pad": pad_case(), "slice": slice_case(), "dynamic_slice": dynamic_slice_case(),
    "dynamic_update_slice": dynamic_update_slice_case(),
}


# ------------------------------------------------------------ helpers
def _draw_problem(data, name, dtype):
    """A case, its primal arguments, and which of them are differentiated
    (the others are closed over as constants)."""
    case = data.draw(CASES[name], label="case")
    note(case.label)
    args = [data.draw(arrays(dtype, s, min_value=-2, max_value=2), label=f"arg{i}")
            for i, s in enumerate(case.arg_shapes)]
    n = len(args)
    wrt = [0] if n == 1 else sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1),
                                              label="wrt"))
    return case, args, wrt


def _partial(fun, args, wrt):
    """``fun`` as a function of ``args[i] for i in wrt`` only."""
    def f(*diff):
        full = list(args)
        for i, d in zip(wrt, diff, strict=True):
            full[i] = d
        return fun(*full)
    return f


def _pack(arrays):
    return np.concatenate([np.ravel(np.asarray(a, np.float64)) for a in arrays] + [np.zeros(0)])


def _unpack(vec, shapes_):
    out, i = [], 0
    for s in shapes_:
        n = math.prod(s)
        out.append(vec[i:i + n].reshape(s))
        i += n
    return out


def _fd_directional(f, args, tangents):
    """Central difference of ``f`` (a function of several float64 arrays)
    along ``tangents``, through ``numerical_jvp`` on the packed vector."""
    shapes_ = [np.shape(a) for a in args]
    x, t = _pack(args), _pack(tangents)
    if x.size == 0 or not np.any(t):
        return np.zeros(np.shape(f(*args)))
    return numerical_jvp(lambda v: np.asarray(f(*_unpack(v, shapes_))), x, t)


def _tol(dtype):
    return 2e-5 if dtype == np.float32 else 1e-9


def _f64(arrays):
    return [np.asarray(a, np.float64) for a in arrays]


# ------------------------------------------------------------ forward mode
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_jvp_matches_finite_differences(name, dtype, data):
    case, args, wrt = _draw_problem(data, name, dtype)
    f = _partial(case.fun, args, wrt)
    primals = [args[i] for i in wrt]
    tangents = [data.draw(arrays(dtype, np.shape(p), min_value=-1, max_value=1)) for p in primals]
    out, t_out = funcgrad.jvp(f, primals, tangents)
    assert_close(out, case.fun(*args))  # the primal output is untouched
    assert np.asarray(t_out).dtype == dtype and np.shape(t_out) == np.shape(out)
    # Reference in float64: the same composition through the eager forward
    # pass, where a float32 tangent is checked to float32 accuracy.
    f64 = _partial(case.fun, _f64(args), wrt)
    expected = _fd_directional(f64, _f64(primals), _f64(tangents))
    assert_close(t_out, expected.astype(dtype), rtol=_tol(dtype), atol=_tol(dtype))

    # A non-linear composition: the jvp rule meets a non-constant tangent.
    def g(*xs):
        return lax.sin(f(*[lax.mul(x, x) for x in xs]))

    def g64(*xs):
        return lax.sin(f64(*[lax.mul(x, x) for x in xs]))

    _, t_g = funcgrad.jvp(g, primals, tangents)
    assert_close(t_g, _fd_directional(g64, _f64(primals), _f64(tangents)).astype(dtype),
                 rtol=10 * _tol(dtype), atol=10 * _tol(dtype))


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_second_order_jvp(name, data):
    case, args, wrt = _draw_problem(data, name, np.float64)
    f = _partial(case.fun, args, wrt)
    primals = [args[i] for i in wrt]
    tangents = [data.draw(arrays(np.float64, np.shape(p), min_value=-1, max_value=1))
                for p in primals]

    def first(*xs):
        return funcgrad.jvp(lambda *ys: lax.sin(f(*ys)), xs, tangents)[1]

    _, second = funcgrad.jvp(first, primals, tangents)
    expected = _fd_directional(first, primals, tangents)
    assert_close(second, expected, rtol=1e-6, atol=1e-6)


def test_integer_start_indices_have_no_tangent():
    x, t = np.arange(5.0), np.full(5, 10.0)

    def f(x, s):
        return lax.dynamic_slice(x, (s,), (2,)), lax.dynamic_update_slice(x, x[:2] * 2, (s,))

    (y, z), (ty, tz) = funcgrad.jvp(f, (x, np.int64(-2)), (t, np.int64(0)))
    assert_close(y, np.array([3.0, 4.0]))
    assert_close(ty, np.array([10.0, 10.0]))
    assert_close(z, np.array([0.0, 1.0, 2.0, 0.0, 2.0]))
    assert_close(tz, np.array([10.0, 10.0, 10.0, 20.0, 20.0]))


# ------------------------------------------------------------ transposes
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_transpose_dot_product_identity(name, dtype, data):
    case, args, wrt = _draw_problem(data, name, dtype)
    f = _partial(case.fun, args, wrt)
    primals = [args[i] for i in wrt]
    tangents = [data.draw(arrays(dtype, np.shape(p), min_value=-1, max_value=1)) for p in primals]

    def linear(*ts):
        return funcgrad.jvp(f, primals, list(ts))[1]

    y = np.asarray(linear(*tangents))
    ct = data.draw(arrays(dtype, y.shape, min_value=-1, max_value=1), label="ct")
    transposed = linear_transpose(linear, *tangents)
    cts_in = eager_and_staged(transposed, ct)
    assert len(cts_in) == len(tangents)
    for c, t in zip(cts_in, tangents, strict=True):
        assert np.shape(c) == np.shape(t) and np.asarray(c).dtype == dtype
    lhs = float(np.sum(np.asarray(ct, np.float64) * y))
    rhs = sum(float(np.sum(np.asarray(c, np.float64) * t)) for c, t in zip(cts_in, tangents))
    scale = float(np.sum(np.abs(ct) * np.abs(y))) + sum(
        float(np.sum(np.abs(np.asarray(c, np.float64)) * np.abs(t)))
        for c, t in zip(cts_in, tangents))
    assert abs(lhs - rhs) <= _tol(dtype) * (1 + scale), (lhs, rhs)


def _window(start: int, dim: int, size: int) -> slice:
    """Where dynamic slicing reads/writes: wrap a negative start, clamp."""
    start = start + dim if start < 0 else start
    start = min(max(start, 0), dim - size)
    return slice(start, start + size)


@st.composite
def _dynamic_problem(draw):
    x_shape = draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    sizes = tuple(draw(st.integers(0, d)) for d in x_shape)
    starts = np.array(_starts(draw, x_shape), np.int64)
    x = draw(arrays(np.float64, x_shape))
    ct = draw(arrays(np.float64, sizes))
    return x, sizes, starts, ct


@given(problem=_dynamic_problem())
def test_dynamic_transposes_use_the_clamped_window_with_traced_starts(problem):
    x, sizes, starts, ct = problem
    window = tuple(_window(int(s), d, n) for s, d, n in zip(starts, x.shape, sizes))

    def slice_t(starts):  # starts are traced under make_jaxpr
        return linear_transpose(lambda t: lax.dynamic_slice(t, starts, sizes), x)(ct)[0]

    expected = np.zeros_like(x)
    expected[window] = ct
    assert_close(eager_and_staged(slice_t, starts), expected)

    def update_t(starts, cotangent):
        return linear_transpose(lambda t, u: lax.dynamic_update_slice(t, u, starts),
                                x, ct)(cotangent)

    ct_x, ct_u = eager_and_staged(update_t, starts, x)
    expected_x = x.copy()
    expected_x[window] = 0.0
    assert_close(ct_x, expected_x)
    assert_close(ct_u, x[window])


def test_pad_transpose_by_hand():
    # [1, 2, 3] -> pad (-1 low, 2 high, 1 interior) with v -> [v, 2, v, 3, v, v]
    f = lambda x, v: lax.pad(x, v, [(-1, 2, 1)])  # noqa: E731
    assert_close(f(np.array([1.0, 2.0, 3.0]), 9.0), np.array([9.0, 2.0, 9.0, 3.0, 9.0, 9.0]))
    ct_x, ct_v = linear_transpose(f, np.zeros(3), 0.0)(np.arange(1.0, 7.0))
    assert_close(ct_x, np.array([0.0, 2.0, 4.0]))
    assert_close(ct_v, np.asarray(1.0 + 3.0 + 5.0 + 6.0))


def test_broadcast_and_slice_transposes_by_hand():
    bt = linear_transpose(lambda x: lax.broadcast_in_dim(x, (2, 3, 4), (1, 2)), np.zeros((1, 4)))
    ct = np.arange(24.0).reshape(2, 3, 4)
    assert_close(bt(ct)[0], ct.sum(axis=(0, 1))[None, :])
    st_ = linear_transpose(lambda x: lax.slice(x, (1,), (6,), (2,)), np.zeros(7))
    assert_close(st_(np.array([1.0, 2.0, 3.0]))[0], np.array([0, 1, 0, 2, 0, 3, 0.0]))


# ------------------------------------------------------------ reverse mode
def _objective(f):
    def objective(*xs):
        y = lax.sin(f(*xs))
        return lax.reduce_sum(y, tuple(range(np.ndim(y))))
    return objective


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_grad_matches_finite_differences(name, dtype, data):
    case, args, wrt = _draw_problem(data, name, dtype)
    objective = _objective(_partial(case.fun, args, wrt))
    objective64 = _objective(_partial(case.fun, _f64(args), wrt))
    primals = [args[i] for i in wrt]
    grads = eager_and_staged(funcgrad.grad(objective, argnums=tuple(range(len(primals)))),
                             *primals)
    for g, p in zip(grads, primals, strict=True):
        assert np.shape(g) == np.shape(p) and np.asarray(g).dtype == dtype
    direction = [data.draw(arrays(np.float64, np.shape(p), min_value=-1, max_value=1))
                 for p in primals]
    got = sum(float(np.sum(np.asarray(g, np.float64) * d)) for g, d in zip(grads, direction))
    expected = float(_fd_directional(objective64, _f64(primals), direction))
    assert abs(got - expected) <= 10 * _tol(dtype) * (1 + sum(np.size(p) for p in primals))


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_second_order_reverse(name, data):
    case, args, wrt = _draw_problem(data, name, np.float64)
    objective = _objective(_partial(case.fun, args, wrt))
    primals = [args[i] for i in wrt]
    argnums = tuple(range(len(primals)))
    gradient = funcgrad.grad(objective, argnums=argnums)
    direction = [data.draw(arrays(np.float64, np.shape(p), min_value=-1, max_value=1))
                 for p in primals]
    reference = _fd_directional(lambda *xs: _pack(gradient(*xs)), primals, direction)

    # Forward over reverse: the Hessian applied to ``direction``.
    _, hvp = funcgrad.jvp(lambda *xs: gradient(*xs), primals, direction)
    assert_close(_pack(hvp), reference, rtol=1e-6, atol=1e-6)

    # Reverse over reverse: d/dx <grad f(x), direction> (the Hessian is
    # symmetric, so this is the same vector).
    def directional(*xs):
        gs = gradient(*xs)
        return sum(lax.reduce_sum(lax.mul(g, d), tuple(range(np.ndim(d))))
                   for g, d in zip(gs, direction, strict=True))

    hvp2 = funcgrad.grad(directional, argnums=argnums)(*primals)
    assert_close(_pack(hvp2), reference, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------ the registry
def test_every_shape_primitive_declares_its_rules():
    from funcgrad.core.primitive import registry
    for name in CASES:
        p = registry[name]
        assert callable(p.jvp) and callable(p.transpose), name
    iota = registry["iota"]
    assert callable(iota.jvp) and "transpose" in iota.not_applicable

