"""Differentiation of the reductions, cumulative reductions and sorting.

Every derivative is compared with an independent reference: central finite
differences in float64 (also for float32 derivatives), or an analytic
formula written with NumPy loops where finite differences cannot decide (ties
of max/min, products with exact zeros).  Transpose rules are checked with the
dot-product identity ``<ct, L t> == <L^T ct, t>`` on the linearised maps.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import funcgrad
from funcgrad import lax
from funcgrad.core.trace import get_aval
from funcgrad.transforms.jvp import jvp
from funcgrad.transforms.transpose import linear_transpose
from tests.transforms.test_jvp import fd_atol, numerical_jvp
from tests.util import FLOAT_DTYPES, arrays, assert_close, eager_and_staged, shapes

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


# --------------------------------------------------------------- helpers
def tangent(f, x, t):
    return jvp(f, (x,), (t,))[1]


def _tolerances(dtype, expected, rtol64=1e-6, atol64=1e-6):
    if dtype == F32:
        scale = float(np.max(np.abs(expected), initial=1.0))
        return 2e-4, 2e-4 * scale
    return rtol64, atol64


def check_jvp(f, x, t, rtol=1e-6, staged=True):
    """``jvp(f)`` at ``x`` along ``t`` (eagerly and staged, in ``x``'s
    dtype) against a float64 central difference at the same point."""
    x, t = np.asarray(x), np.asarray(t)
    run = eager_and_staged if staged else (lambda g, *a: g(*a))
    actual = run(lambda x, t: tangent(f, x, t), x, t)
    x64, t64 = x.astype(F64), t.astype(F64)
    expected = numerical_jvp(f, x64, t64)
    rtol, atol = _tolerances(x.dtype, expected, rtol, fd_atol(f, x64, t64))
    assert_close(actual, expected.astype(x.dtype), rtol=rtol, atol=atol)


def check_transpose(L, t, ct):
    """The dot-product identity for the linear map ``L`` at ``t``'s type."""
    (t_ct,) = linear_transpose(L, t)(ct)
    assert np.asarray(t_ct).shape == np.shape(t)
    assert np.asarray(t_ct).dtype == np.asarray(t).dtype
    lhs = np.vdot(np.asarray(ct, F64), np.asarray(L(t), F64))
    rhs = np.vdot(np.asarray(t_ct, F64), np.asarray(t, F64))
    tol = 1e-4 if np.asarray(t).dtype == F32 else 1e-10
    scale = np.sqrt(np.vdot(np.abs(ct), np.abs(ct)) * np.vdot(np.abs(t), np.abs(t))) + 1.0
    assert abs(lhs - rhs) <= tol * scale, (lhs, rhs)


def check_linearised_transpose(f, x, t, ct):
    """Transpose of the linear map ``t -> jvp(f, x, t)``: exercises the rules
    of every primitive the jvp rule applies to tangents."""
    check_transpose(lambda u: tangent(f, x, u), t, ct)


def check_grad(f, x, t):
    """Reverse mode: ``<grad(sum(w * f)), t>`` against a float64 central
    difference of ``sum(w * f)`` along ``t``."""
    x = np.asarray(x)
    w = np.linspace(-1.0, 1.5, int(np.prod(np.shape(f(x)), dtype=int))).reshape(
        np.shape(f(x))).astype(x.dtype)

    def scalar(v):
        w_v = lax.convert_element_type(w, get_aval(v).dtype)  # the FD runs in float64
        return lax.reduce_sum(lax.mul(f(v), w_v), tuple(range(w.ndim)))

    g = eager_and_staged(funcgrad.grad(scalar), x)
    assert np.asarray(g).dtype == x.dtype
    expected = numerical_jvp(scalar, x.astype(F64), np.asarray(t, F64))
    actual = np.vdot(np.asarray(g, F64), np.asarray(t, F64))
    rtol, atol = _tolerances(x.dtype, expected, 1e-6,
                             fd_atol(scalar, x.astype(F64), np.asarray(t, F64)))
    assert_close(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


@st.composite
def distinct_arrays(draw, dtype, shape, spacing=0.3):
    """Values at least ``spacing / 2`` apart (no ties, no kinks under a
    finite-difference step), in random order."""
    n = int(np.prod(shape, dtype=int))
    order = np.array(draw(st.permutations(range(n))), dtype=F64)
    jitter = draw(arrays(F64, (n,), min_value=0.0, max_value=0.5))
    return ((order + jitter - n / 2) * spacing).reshape(shape).astype(dtype)


@st.composite
def case(draw, min_dims=0, max_side=3, values="distinct", with_axes=True):
    """(x, t, ct, axes) with x of a random float dtype and shape."""
    dtype = draw(st.sampled_from(FLOAT_DTYPES))
    shape = draw(shapes(min_dims=min_dims, max_dims=3, max_side=max_side))
    if values == "distinct":
        x = draw(distinct_arrays(dtype, shape))
    else:  # magnitudes in [0.5, 1.5] with random signs, some exact zeros
        x = draw(arrays(dtype, shape, min_value=0.5, max_value=1.5))
        x = x * draw(arrays(dtype, shape, min_value=-1, max_value=1).map(np.sign))
        x = np.where(x == 0, 1, x).astype(dtype)
        zeros = draw(st.lists(st.integers(0, max(x.size - 1, 0)), max_size=2))
        if x.size:
            x.reshape(-1)[zeros] = 0
    t = draw(arrays(dtype, shape, min_value=-1, max_value=1))
    axes = ()
    if with_axes and x.ndim:
        axes = tuple(draw(st.lists(st.integers(0, x.ndim - 1), unique=True, max_size=x.ndim)))
    return x, t, axes


def _out_cotangent(f, x):
    out = np.asarray(f(x))
    return np.linspace(-1.0, 1.0, out.size).reshape(out.shape).astype(out.dtype)


# ------------------------------------------------------------ reductions
@given(case(values="distinct"))
def test_reduce_sum(args):
    x, t, axes = args
    f = lambda v: lax.reduce_sum(v, axes)  # noqa: E731
    check_jvp(f, x, t)
    check_transpose(f, t, _out_cotangent(f, x))
    check_grad(f, x, t)


@given(case(values="zeros"))
def test_reduce_prod(args):
    x, t, axes = args
    f = lambda v: lax.reduce_prod(v, axes)  # noqa: E731
    check_jvp(f, x, t)
    check_linearised_transpose(f, x, t, _out_cotangent(f, x))
    check_grad(f, x, t)


def _prod_gradient(x):
    """d prod(x) / d x[i] = prod of the other elements, by deletion."""
    flat = x.reshape(-1)
    return np.array([np.prod(np.delete(flat, i)) for i in range(flat.size)]).reshape(x.shape)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("zeros", [[], [2], [1, 4], [0, 5]])
def test_reduce_prod_with_exact_zeros(dtype, zeros):
    x = np.array([[1.5, -2.0, 0.5], [3.0, -1.0, 2.0]], dtype)
    x.reshape(-1)[zeros] = 0
    expected = _prod_gradient(x)
    assert_close(eager_and_staged(funcgrad.grad(lambda v: lax.reduce_prod(v, (0, 1))), x),
                 expected.astype(dtype))
    # Forward mode along each basis vector, over the last axis only.
    rows = np.stack([_prod_gradient(row) for row in x])
    for j in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, j] = 1
        assert_close(tangent(lambda v: lax.reduce_prod(v, (1,)), x, e), rows[:, j].astype(dtype))


def test_reduce_prod_second_order():
    x = np.array([[1.5, 0.0, 0.5, -2.0], [3.0, -1.0, 2.0, 0.25]])
    t = np.array([[0.3, -1.0, 0.5, 0.2], [1.0, 0.5, -0.25, 0.75]])

    def first(v):
        return tangent(lambda u: lax.reduce_prod(u, (1,)), v, t)

    check_jvp(first, x, t, rtol=1e-5)
    # Hessian of the product over everything: prod of all but i and j.
    flat = x.reshape(-1)
    h = np.array([[0.0 if i == j else np.prod(np.delete(flat, [i, j])) for j in range(8)]
                  for i in range(8)])
    actual = funcgrad.hessian(lambda v: lax.reduce_prod(v, (0,)))(flat)
    assert_close(actual, h)


@pytest.mark.parametrize("op", ["reduce_max", "reduce_min"])
@given(args=case(values="distinct"))
def test_reduce_max_min(op, args):
    x, t, axes = args
    f = lambda v: getattr(lax, op)(v, axes)  # noqa: E731
    check_jvp(f, x, t)
    check_linearised_transpose(f, x, t, _out_cotangent(f, x))
    check_grad(f, x, t)


def _chooser_reference(x, t, axes, pick):
    """Mean of ``t`` over the positions of each reduced slice equal to the
    slice's max/min, by looping over the kept indices."""
    kept = [d for d in range(x.ndim) if d not in axes]
    xm = np.moveaxis(x, kept, list(range(len(kept))))
    tm = np.moveaxis(t, kept, list(range(len(kept))))
    out = np.empty(xm.shape[:len(kept)], F64)
    for idx in np.ndindex(*out.shape):
        xs, ts = xm[idx].reshape(-1), tm[idx].reshape(-1)
        at = xs == pick(xs)
        out[idx] = ts[at].sum() / at.sum()
    return out


@pytest.mark.parametrize("op, pick", [("reduce_max", np.max), ("reduce_min", np.min)])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_reduce_max_min_ties_share_the_derivative(op, pick, dtype, data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=4))
    x = data.draw(arrays(dtype, shape, min_value=-2, max_value=2).map(np.round))
    t = data.draw(arrays(dtype, shape, min_value=-1, max_value=1))
    axes = tuple(data.draw(st.lists(st.integers(0, x.ndim - 1), unique=True, min_size=1)))
    f = lambda v: getattr(lax, op)(v, axes)  # noqa: E731
    expected = _chooser_reference(x, t, axes, pick).astype(dtype)
    assert_close(eager_and_staged(lambda x, t: tangent(f, x, t), x, t), expected)
    # Reverse mode follows the same convention: grad of the sum of the
    # maxima is 1/count at every tied position.
    g = funcgrad.grad(lambda v: lax.reduce_sum(f(v), tuple(range(np.ndim(f(x))))))(x)
    e = np.zeros_like(t)
    for i in range(x.size):
        e.reshape(-1)[:] = 0
        e.reshape(-1)[i] = 1
        assert_close(np.asarray(g).reshape(-1)[i],
                     _chooser_reference(x, e, axes, pick).sum().astype(dtype))


def test_reduce_max_ties_by_hand():
    x = np.array([3.0, 1.0, 3.0, 3.0])
    t = np.array([3.0, 100.0, 6.0, 0.0])
    assert float(tangent(lambda v: lax.reduce_max(v, (0,)), x, t)) == 3.0
    assert float(tangent(lambda v: lax.reduce_min(v, (0,)), x, t)) == 100.0
    assert np.isnan(float(tangent(lambda v: lax.reduce_max(v, (0,)),
                                  np.array([1.0, np.nan]), np.ones(2))))


def test_empty_reductions_have_zero_tangents():
    x = np.ones((0, 3))
    for op in (lax.reduce_max, lax.reduce_min, lax.reduce_prod, lax.reduce_sum):
        assert_close(tangent(lambda v: op(v, (0,)), x, x), np.zeros(3))


def test_integer_valued_reductions_are_not_differentiable():
    x, t = np.array([[1.0, 3.0], [2.0, 0.0]]), np.ones((2, 2))
    for op in (lax.argmax, lax.argmin):
        out, dout = jvp(lambda v: op(v, 1), (x,), (t,))
        assert_close(dout, np.zeros(2, np.int64))
        assert "not linear" in op.__globals__[op.__name__ + "_p"].not_applicable["transpose"]
    for p in (lax.reduce_and_p, lax.reduce_or_p):
        assert p.jvp is not None and "transpose" in p.not_applicable
    # Differentiating through an argmax-selected index gives the tangent there.
    assert_close(tangent(lambda v: lax.mul(v, lax.convert_element_type(lax.argmax(v, 0),
                                                                       np.float64)),
                         np.array([1.0, 5.0]), np.array([1.0, 1.0])), np.array([1.0, 1.0]))


# ------------------------------------------------------------ cumulative
@st.composite
def cumulative_case(draw, values="distinct", max_side=5):
    x, t, _ = draw(case(min_dims=1, max_side=max_side, values=values, with_axes=False))
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    return x, t, axis, draw(st.booleans())


@given(cumulative_case())
def test_cumsum(args):
    x, t, axis, reverse = args
    f = lambda v: lax.cumsum(v, axis, reverse)  # noqa: E731
    check_jvp(f, x, t)
    check_transpose(f, t, _out_cotangent(f, x))
    check_grad(f, x, t)


@given(cumulative_case(values="zeros"))
def test_cumprod(args):
    x, t, axis, reverse = args
    f = lambda v: lax.cumprod(v, axis, reverse)  # noqa: E731
    check_jvp(f, x, t)
    check_linearised_transpose(f, x, t, _out_cotangent(f, x))
    check_grad(f, x, t)


def _cumprod_jacobian(x):
    """d out[i] / d x[k] = prod(x[j] for j <= i, j != k) for k <= i."""
    n = x.size
    jac = np.zeros((n, n))
    for i in range(n):
        for k in range(i + 1):
            jac[i, k] = np.prod(np.delete(x[:i + 1], k))
    return jac


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("zeros", [[], [0], [3], [1, 4], [2, 3]])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumprod_with_exact_zeros(dtype, zeros, reverse):
    x = np.array([1.5, -2.0, 0.5, 3.0, -1.0, 2.0, 0.75], dtype)
    x[zeros] = 0
    jac = _cumprod_jacobian(x[::-1].astype(F64))[::-1, ::-1] if reverse else \
        _cumprod_jacobian(x.astype(F64))
    f = lambda v: lax.cumprod(v, 0, reverse)  # noqa: E731
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = 1
        assert_close(tangent(f, x, e), jac[:, k].astype(dtype))
    w = np.linspace(-1.0, 1.0, x.size).astype(dtype)
    g = funcgrad.grad(lambda v: lax.reduce_sum(lax.mul(f(v), w), (0,)))(x)
    assert_close(g, (w.astype(F64) @ jac).astype(dtype))


@pytest.mark.parametrize("name", ["cumprod", "cumlogsumexp"])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumulative_second_order(name, reverse):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.5, 1.5, (3, 6))
    x[1, 2] = 0.0
    t = rng.uniform(-1, 1, (3, 6))
    f = lambda v: getattr(lax, name)(v, 1, reverse)  # noqa: E731

    def first(v):
        return tangent(f, v, t)

    check_jvp(first, x, t, rtol=1e-5)
    # Reverse over forward: the Hessian-vector product of sum(w * f).
    w = rng.uniform(-1, 1, (3, 6))

    def scalar(v):
        return lax.reduce_sum(lax.mul(f(v), w), (0, 1))

    hvp = lambda v: tangent(funcgrad.grad(scalar), v, t)  # noqa: E731
    expected = numerical_jvp(funcgrad.grad(scalar), x, t, eps=1e-5)
    assert_close(hvp(x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", ["cummax", "cummin"])
@given(args=cumulative_case())
def test_cummax_cummin(op, args):
    x, t, axis, reverse = args
    f = lambda v: getattr(lax, op)(v, axis, reverse)  # noqa: E731
    check_jvp(f, x, t)
    check_linearised_transpose(f, x, t, _out_cotangent(f, x))
    check_grad(f, x, t)


def _cumulative_chooser_reference(x, t, reverse, pick):
    """1-D: mean of t[j] over j <= i (in accumulation order) with x[j] equal
    to the running extreme at i."""
    if reverse:
        return _cumulative_chooser_reference(x[::-1], t[::-1], False, pick)[::-1]
    out = np.empty(x.size, F64)
    for i in range(x.size):
        at = x[:i + 1] == pick(x[:i + 1])
        out[i] = t[:i + 1][at].sum() / at.sum()
    return out


@pytest.mark.parametrize("op, pick", [("cummax", np.max), ("cummin", np.min)])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_cummax_cummin_ties_share_the_derivative(op, pick, dtype, data):
    n = data.draw(st.integers(1, 9))
    x = data.draw(arrays(dtype, (2, n), min_value=-2, max_value=2).map(np.round))
    t = data.draw(arrays(dtype, (2, n), min_value=-1, max_value=1))
    reverse = data.draw(st.booleans())
    f = lambda v: getattr(lax, op)(v, 1, reverse)  # noqa: E731
    expected = np.stack([_cumulative_chooser_reference(x[r], t[r], reverse, pick)
                         for r in range(2)]).astype(dtype)
    assert_close(eager_and_staged(lambda x, t: tangent(f, x, t), x, t), expected)


def test_cummax_ties_by_hand_and_nan():
    x = np.array([1.0, 3.0, 3.0, 2.0, 5.0])
    t = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    assert_close(tangent(lax.cummax, x, t), np.array([1.0, 2.0, 3.0, 3.0, 16.0]))
    out = tangent(lax.cummax, np.array([1.0, np.nan, 2.0]), np.ones(3))
    assert float(out[0]) == 1.0 and np.isnan(out[1:]).all()


@given(cumulative_case())
def test_cumlogsumexp(args):
    x, t, axis, reverse = args
    f = lambda v: lax.cumlogsumexp(v, axis, reverse)  # noqa: E731
    check_jvp(f, x, t)
    check_linearised_transpose(f, x, t, _out_cotangent(f, x))
    check_grad(f, x, t)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_cumlogsumexp_derivative_is_stable(dtype):
    # d out[i] / d x[j] = softmax(x[:i+1])[j]: finite for huge and -inf inputs.
    x = np.array([-np.inf, 1000.0, 1001.0, -np.inf, 999.0], dtype)
    jac = np.zeros((5, 5))
    for i in range(5):
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.exp(x[:i + 1].astype(F64) - np.logaddexp.reduce(x[:i + 1].astype(F64)))
        jac[i, :i + 1] = np.nan_to_num(w)
    jac[0, 0] = 0.0  # out[0] = -inf: taken as constant
    for k in range(5):
        e = np.zeros(5, dtype)
        e[k] = 1
        assert_close(tangent(lax.cumlogsumexp, x, e), jac[:, k].astype(dtype))


# --------------------------------------------------------------- sorting
def numerical_jvp_multi(f, xs, ts, eps=1e-6):
    """Central difference of ``f(*xs)`` (a tuple of arrays) along ``ts``."""
    plus = f(*[x + eps * t for x, t in zip(xs, ts, strict=True)])
    minus = f(*[x - eps * t for x, t in zip(xs, ts, strict=True)])
    return [(np.asarray(p) - np.asarray(m)) / (2 * eps) for p, m in zip(plus, minus, strict=True)]


@st.composite
def sort_case(draw):
    dtype = draw(st.sampled_from(FLOAT_DTYPES))
    shape = draw(shapes(min_dims=1, max_dims=3, max_side=4))
    dimension = draw(st.integers(-len(shape), len(shape) - 1))
    keys = draw(distinct_arrays(dtype, shape))
    values = draw(arrays(dtype, shape))
    # An integer major key (ties common, never differentiated) in front.
    major = draw(arrays(np.int64, shape, min_value=0, max_value=2))
    ts = [draw(arrays(dtype, shape, min_value=-1, max_value=1)) for _ in range(2)]
    return keys, values, major, ts, dimension


@given(sort_case(), st.booleans())
def test_sort(args, with_major_key):
    keys, values, major, ts, dimension = args

    def f(k, v):
        if with_major_key:
            return lax.sort((major, k, v), dimension, num_keys=2)[1:]
        return lax.sort((k, v), dimension, num_keys=1)

    actual = eager_and_staged(lambda k, v, tk, tv: jvp(f, (k, v), (tk, tv))[1],
                              keys, values, *ts)
    expected = numerical_jvp_multi(f, [keys.astype(F64), values.astype(F64)],
                                   [t.astype(F64) for t in ts])
    for a, e in zip(actual, expected, strict=True):
        assert_close(a, e.astype(keys.dtype), rtol=1e-5, atol=1e-5)
    # The transpose (a scatter of the cotangent back) and reverse mode.
    single = lambda k: lax.sort(k, dimension)  # noqa: E731
    check_linearised_transpose(single, keys, ts[0], _out_cotangent(single, keys))
    check_grad(single, keys, ts[0])
    check_grad(lambda v: f(keys, v)[1], values, ts[1])


def test_sort_single_operand_and_stability_by_hand():
    x = np.array([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]])
    t = np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])
    assert_close(tangent(lambda v: lax.sort(v, 1), x, t),
                 np.array([[20.0, 30.0, 10.0], [50.0, 40.0, 60.0]]))
    assert_close(tangent(lambda v: lax.sort(v, 0), x, t),
                 np.array([[40.0, 50.0, 30.0], [10.0, 20.0, 60.0]]))
    # Equal keys keep their order, so the tangents follow the stable order.
    out = jvp(lambda v: lax.sort_key_val(np.array([1, 0, 1]), v)[1],
              (np.array([1.0, 2.0, 3.0]),), (np.array([4.0, 5.0, 6.0]),))[1]
    assert_close(out, np.array([5.0, 4.0, 6.0]))


@given(data=st.data())
def test_top_k_and_argsort(data):
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    shape = data.draw(shapes(min_dims=1, max_dims=2, max_side=5))
    x = data.draw(distinct_arrays(dtype, shape))
    t = data.draw(arrays(dtype, shape, min_value=-1, max_value=1))
    k = data.draw(st.integers(1, shape[-1]))
    values = lambda v: lax.top_k(v, k)[0]  # noqa: E731
    check_jvp(values, x, t)
    check_grad(values, x, t)
    _, (_, d_indices) = jvp(lambda v: lax.top_k(v, k), (x,), (t,))
    assert not np.any(np.asarray(d_indices))
    _, d_perm = jvp(lambda v: lax.argsort(v), (x,), (t,))
    assert not np.any(np.asarray(d_perm))
    kv = lambda v: lax.sort_key_val(v, lax.mul(v, v))[1]  # noqa: E731
    check_jvp(kv, x, t)


def test_rules_are_declared():
    for name in ("reduce_sum", "cumsum"):
        p = getattr(lax, name + "_p")
        assert p.jvp is not None and p.transpose is not None
    for name in ("reduce_prod", "reduce_max", "reduce_min", "argmax", "argmin", "reduce_and",
                 "reduce_or", "cumprod", "cummax", "cummin", "cumlogsumexp", "sort"):
        p = getattr(lax, name + "_p")
        assert p.jvp is not None and p.transpose is None
        assert "not linear" in p.not_applicable["transpose"]

