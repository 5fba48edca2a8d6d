"""Differentiation rules of gather and the scatter family: jvp against
central finite differences, transposes against the dot-product identity and
NumPy loop references, reverse mode and second order, eagerly and staged.

The helpers at the top (``check_jvp``, ``check_transpose``,
``check_second_order``, ``check_reverse``) are shared with
tests/lax/test_linalg_ad.py.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
from funcgrad import lax
from funcgrad.transforms.jvp import jvp
from funcgrad.transforms.transpose import linear_transpose
from tests.lax.test_indexing import gather_ref, layouts, scatter_ref
from tests.transforms.test_jvp import fd_atol, numerical_jvp
from tests.util import arrays, assert_close, eager_and_staged

FLOATS = [np.float32, np.float64]


# ----------------------------------------------------------------- helpers
def _wide(x):
    """float64 (complex128) copy: finite differences are taken in double
    precision whatever the dtype under test."""
    x = np.asarray(x)
    return x.astype(np.result_type(x.dtype, np.float64))


def _tolerances(dtype):
    # float32 results are compared with a float64 reference.
    return (2e-4, 2e-4) if np.dtype(dtype) in (np.float32, np.complex64) else (1e-6, 1e-7)


def fd_directional(f, args, tangents, nan_is_constant=False):
    """Central difference of ``f(*args)`` along ``tangents`` (in float64)
    and its absolute tolerance.  With ``nan_is_constant``, output elements
    that are NaN at ``args`` (gather's default fill) are constants: their
    expected derivative is 0."""
    args, tangents = [_wide(a) for a in args], [_wide(t) for t in tangents]
    scale = max([float(np.max(np.abs(t), initial=0.0)) for t in tangents] + [0.0]) or 1.0

    def along(s):
        return f(*[a + s * (t / scale) for a, t in zip(args, tangents, strict=True)])

    expected = numerical_jvp(along, 0.0, 1.0) * scale
    if nan_is_constant:
        expected = np.where(np.isnan(np.asarray(along(0.0))), 0.0, expected)
        base = np.nan_to_num(np.asarray(along(0.0)), nan=0.0)
        return expected, 1e-6 + 1e-8 * float(np.max(np.abs(base), initial=0.0)) * scale
    if expected.size == 0:
        return expected, 0.0
    return expected, fd_atol(along, 0.0, 1.0) * scale


def check_jvp(f, args, tangents, nan_is_constant=False):
    """``jvp(f)`` eagerly and staged against central differences; the output
    tangent has the output's dtype.  Returns the output tangent."""
    n = len(args)
    out, t_out = jvp(f, tuple(args), tuple(tangents))
    staged = eager_and_staged(lambda *at: jvp(f, at[:n], at[n:])[1], *args, *tangents)
    assert_close(staged, t_out)
    assert np.asarray(t_out).dtype == np.asarray(out).dtype
    expected, atol = fd_directional(f, args, tangents, nan_is_constant)
    rtol, tol = _tolerances(np.asarray(out).dtype)
    atol = atol + tol * (1.0 + float(np.max(np.abs(expected), initial=0.0)))
    assert_close(t_out, expected, rtol=rtol, atol=atol, check_dtype=False,
                 err_msg="jvp vs finite differences:")
    return t_out


def _inner(a, b):
    # The bilinear pairing of the transpose contract (no conjugation).
    a, b = _wide(a), _wide(b)
    return np.sum(a * b), np.sum(np.abs(a * b))


def check_transpose(f, args, tangents, ct):
    """The transpose of the linear map ``t -> jvp(f, args, t)`` satisfies
    ``<ct, L t> == <L^T ct, t>``; L^T is run eagerly and staged, and its
    results have exactly the tangents' shapes and dtypes.  Returns L^T ct."""
    def lin(*ts):
        return jvp(f, tuple(args), ts)[1]

    lin_t = linear_transpose(lin, *tangents)
    cts = eager_and_staged(lin_t, ct)
    assert len(cts) == len(tangents)
    for c, t in zip(cts, tangents, strict=True):
        assert np.shape(c) == np.shape(t) and np.asarray(c).dtype == np.asarray(t).dtype
    lhs, lhs_mag = _inner(ct, lin(*tangents))
    pairs = [_inner(c, t) for c, t in zip(cts, tangents, strict=True)]
    rhs, rhs_mag = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
    _, tol = _tolerances(np.asarray(ct).dtype)
    assert abs(lhs - rhs) <= 1e-12 + 10 * tol * (lhs_mag + rhs_mag), (
        f"<ct, L t> = {lhs} but <L^T ct, t> = {rhs}")
    return cts


def check_second_order(f, args, tangents):
    """The second directional derivative (jvp of jvp, in float64) against a
    central difference of the first."""
    n = len(args)
    args, tangents = [_wide(a) for a in args], [_wide(t) for t in tangents]

    def first(*a):
        return jvp(f, a, tuple(tangents))[1]

    _, second = jvp(first, tuple(args), tuple(tangents))
    staged = eager_and_staged(lambda *a: jvp(first, a[:n], a[n:])[1], *args, *tangents)
    assert_close(staged, second)
    expected, atol = fd_directional(first, args, tangents)
    assert_close(second, expected, rtol=1e-5, atol=atol + 1e-6 * (1 + np.max(np.abs(expected),
                                                                            initial=0.0)),
                 err_msg="second order vs finite differences:")


def check_reverse(f, args, seed):
    """``grad`` of ``sum(w * f(*args))`` (float64) along random directions
    against central differences; then ``jvp`` of that ``grad`` (forward over
    reverse) against a central difference of the ``grad``."""
    rng = np.random.default_rng(seed)
    args = [_wide(a) for a in args]
    out = np.asarray(f(*args))
    w = rng.uniform(-1, 1, out.shape)
    tangents = [rng.uniform(-1, 1, np.shape(a)) for a in args]
    argnums = tuple(range(len(args)))

    def loss(*a):
        return funcgrad.numpy.sum(lax.mul(f(*a), w))

    grads = funcgrad.grad(loss, argnums=argnums)(*args)
    directional = sum(float(np.sum(np.asarray(g) * t)) for g, t in zip(grads, tangents,
                                                                       strict=True))
    expected, atol = fd_directional(loss, args, tangents)
    np.testing.assert_allclose(directional, expected, rtol=1e-6, atol=atol)

    grad_fn = funcgrad.grad(loss, argnums=argnums)
    _, hvp = jvp(lambda *a: grad_fn(*a), tuple(args), tuple(tangents))
    for i in argnums:
        fd, atol = fd_directional(lambda *a, i=i: grad_fn(*a)[i], args, tangents)
        assert_close(hvp[i], fd, rtol=1e-5, atol=atol, err_msg=f"forward-over-reverse [{i}]:")


def _rest_shape(x, axes):
    return tuple(s for d, s in enumerate(np.shape(x)) if d not in axes)


# ------------------------------------------------------------------ gather
@given(layouts(dtypes=FLOATS), st.sampled_from(["clip", "fill"]),
       st.sampled_from([None, 2.5]), st.data())
def test_gather_jvp_and_transpose(layout, mode, fill_value, data):
    x, idx, passed, axes, batch = layout

    def f(a):
        return lax.gather(a, idx, passed, mode=mode, fill_value=fill_value)

    t = data.draw(arrays(x.dtype, x.shape, min_value=-1, max_value=1))
    t_out = check_jvp(f, (x,), (t,), nan_is_constant=True)
    # Filled rows are constants: an exact zero tangent (never NaN).
    assert_close(t_out, gather_ref(t, idx, axes, mode, fill_value=0))
    ct = data.draw(arrays(x.dtype, batch + _rest_shape(x, axes), min_value=-1, max_value=1))
    (ct_x,) = check_transpose(f, (x,), (t,), ct)
    # Clipped rows send their cotangent to the clamped element; filled rows
    # send none back.
    expected = scatter_ref("scatter_add", np.zeros_like(x), idx, ct, axes,
                           "clip" if mode == "clip" else "drop")
    assert_close(ct_x, expected)


def test_gather_fill_rows_have_zero_tangent_and_no_cotangent():
    x = np.arange(4.0)
    idx = np.array([[1], [9], [-1], [1]])
    f = lambda a: lax.gather(a, idx, (0,), mode="fill")
    out, t = jvp(f, (x,), (np.ones(4),))
    np.testing.assert_array_equal(np.isnan(out), [False, True, True, False])
    np.testing.assert_array_equal(t, [1.0, 0.0, 0.0, 1.0])
    (ct,) = linear_transpose(lambda v: jvp(f, (x,), (v,))[1], x)(np.array([1., 2., 3., 4.]))
    np.testing.assert_array_equal(ct, [0.0, 5.0, 0.0, 0.0])


def test_gather_clip_sends_cotangent_to_clamped_rows():
    x = np.arange(3.0)
    idx = np.array([[-5], [7], [1]])
    g = funcgrad.grad(lambda a: funcgrad.numpy.sum(lax.gather(a, idx, (0,), mode="clip")
                                                   * np.array([1.0, 10.0, 100.0])))(x)
    np.testing.assert_array_equal(g, [1.0, 100.0, 10.0])


# ----------------------------------------------- scatter, scatter_add, mul
@given(layouts(dtypes=FLOATS), st.sampled_from(["scatter", "scatter_add", "scatter_mul"]),
       st.sampled_from(["drop", "clip"]), st.data())
def test_scatter_jvp_and_transpose(layout, name, mode, data):
    # layouts draws indices in [-2, size + 1]: out-of-bounds rows and, with
    # several rows, duplicates.
    x, idx, passed, axes, batch = layout
    shape_u = batch + _rest_shape(x, axes)
    if name == "scatter_mul":
        # Exact zeros among the factors, often; the others are kept away
        # from subnormals, whose products lose all relative precision (see
        # _product_of_others).
        upd = data.draw(st.one_of(
            arrays(x.dtype, shape_u, min_value=-2, max_value=2),
            st.lists(st.sampled_from([0.0, -1.5, 0.5, 2.0]), min_size=int(np.prod(shape_u)),
                     max_size=int(np.prod(shape_u))).map(
                lambda v: np.array(v, x.dtype).reshape(shape_u))))
        upd = np.where(np.abs(upd) < 1e-3, 0, upd).astype(x.dtype)
    else:
        upd = data.draw(arrays(x.dtype, shape_u, min_value=-3, max_value=3))
    fn = getattr(lax, name)

    def f(a, u):
        return fn(a, idx, u, passed, mode=mode)

    tx = data.draw(arrays(x.dtype, x.shape, min_value=-1, max_value=1))
    tu = data.draw(arrays(x.dtype, shape_u, min_value=-1, max_value=1))
    check_jvp(f, (x, upd), (tx, tu))
    ct = data.draw(arrays(x.dtype, x.shape, min_value=-1, max_value=1))
    ct_x, ct_u = check_transpose(f, (x, upd), (tx, tu), ct)
    rows = gather_ref(ct, idx, axes, "clip" if mode == "clip" else "fill", fill_value=0)
    if name == "scatter_add":
        assert_close(ct_x, ct)
        assert_close(ct_u, rows)
    elif name == "scatter":
        # Overwritten elements get no cotangent; of duplicate updates only
        # the one written (the last) gets it.
        assert_close(ct_x, scatter_ref("scatter", ct, idx, np.zeros_like(rows), axes, mode))
        assert_close(ct_u, np.where(_winners_ref(x.shape, idx, shape_u, axes, mode), rows, 0))


def _winners_ref(shape, idx, shape_u, axes, mode):
    """Loop reference: which update elements scatter writes last."""
    ids = np.arange(1, np.prod(shape_u, dtype=np.int64) + 1).reshape(shape_u)
    written = scatter_ref("scatter", np.zeros(shape, np.int64), idx, ids, axes, mode)
    back = gather_ref(written, idx, axes, "clip" if mode == "clip" else "fill", fill_value=0)
    return back == ids


def test_scatter_duplicate_cotangent_goes_to_the_last_write():
    x = np.zeros(4)
    idx = np.array([[1], [1], [3], [1], [8]])
    f = lambda a, u: lax.scatter(a, idx, u, (0,))
    u = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    ct_x, ct_u = funcgrad.vjp(f, x, u)[1](np.array([10.0, 20.0, 30.0, 40.0]))
    np.testing.assert_array_equal(ct_x, [10.0, 0.0, 30.0, 0.0])
    np.testing.assert_array_equal(ct_u, [0.0, 0.0, 40.0, 20.0, 0.0])


def test_scatter_mul_with_zero_factors():
    # d/du of x * u0 * u1 * u2 at a position with one or two zero factors.
    x = np.array([2.0, 3.0])
    idx = np.array([[0], [0], [0], [1], [1], [1]])
    u = np.array([0.0, 4.0, 5.0, 0.0, 0.0, 7.0])
    f = lambda a, v: lax.scatter_mul(a, idx, v, (0,))
    g = funcgrad.grad(lambda v: funcgrad.numpy.sum(f(x, v)))(u)
    np.testing.assert_array_equal(g, [2.0 * 20.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    for k in range(6):
        t = np.eye(6)[k]
        assert_close(jvp(lambda v: f(x, v), (u,), (t,))[1],
                     fd_directional(lambda v: f(x, v), (u,), (t,))[0])


# ------------------------------------------------------ scatter_min / max
@given(layouts(dtypes=FLOATS), st.sampled_from(["scatter_min", "scatter_max"]),
       st.sampled_from(["drop", "clip"]), st.data())
def test_scatter_extremum_jvp_away_from_ties(layout, name, mode, data):
    x, idx, passed, axes, batch = layout
    shape_u = batch + _rest_shape(x, axes)
    # All candidate values distinct (spaced 0.5 apart): no ties.
    n_x, n_u = x.size, int(np.prod(shape_u))
    perm = np.array(data.draw(st.permutations(range(n_x + n_u))), np.float64)
    values = (perm - (n_x + n_u) / 2) * 0.5
    x = values[:n_x].reshape(x.shape).astype(x.dtype)
    upd = values[n_x:].reshape(shape_u).astype(x.dtype)
    fn = getattr(lax, name)

    def f(a, u):
        return fn(a, idx, u, passed, mode=mode)

    tx = data.draw(arrays(x.dtype, x.shape, min_value=-1, max_value=1))
    tu = data.draw(arrays(x.dtype, shape_u, min_value=-1, max_value=1))
    check_jvp(f, (x, upd), (tx, tu))
    # The tangent map is linear and transposable (reverse mode).
    ct = data.draw(arrays(x.dtype, x.shape, min_value=-1, max_value=1))
    check_transpose(f, (x, upd), (tx, tu), ct)


@pytest.mark.parametrize("name", ["scatter_max", "scatter_min"])
def test_scatter_extremum_ties_split_evenly(name):
    x = np.array([1.0, 5.0, 0.0])
    idx = np.array([[0], [0], [1], [2], [2]])
    upd = np.array([1.0, 1.0, 5.0, 0.0, 0.0] if name == "scatter_max"
                   else [1.0, 1.0, 5.0, 9.0, 0.0])
    fn = getattr(lax, name)
    _, t = jvp(lambda a, u: fn(a, idx, u, (0,)), (x, upd),
               (np.array([3.0, 6.0, 9.0]), np.array([0.0, 6.0, 12.0, 30.0, 90.0])))
    if name == "scatter_max":
        # 3 candidates equal at 0, 2 at 1, 3 at 2.
        np.testing.assert_allclose(t, [(3.0 + 0.0 + 6.0) / 3, (6.0 + 12.0) / 2,
                                       (9.0 + 30.0 + 90.0) / 3])
    else:
        # min at 2 is 0: the operand and the last update tie (9 is larger).
        np.testing.assert_allclose(t, [(3.0 + 0.0 + 6.0) / 3, (6.0 + 12.0) / 2,
                                       (9.0 + 90.0) / 2])


# ------------------------------------------- second order and reverse mode
_SECOND_ORDER = {
    "gather": lambda a, u, idx: lax.mul(lax.gather(lax.sin(a), idx, (0,), mode="clip"),
                                        lax.gather(a, idx, (0,), mode="fill", fill_value=0.0)),
    "scatter": lambda a, u, idx: lax.scatter(lax.sin(a), idx, lax.mul(u, u), (0,)),
    "scatter_add": lambda a, u, idx: lax.mul(lax.scatter_add(a, idx, lax.sin(u), (0,)), a),
    "scatter_mul": lambda a, u, idx: lax.scatter_mul(a, idx, u, (0,)),
    "scatter_min": lambda a, u, idx: lax.scatter_min(lax.mul(a, a), idx, lax.sin(u), (0,)),
    "scatter_max": lambda a, u, idx: lax.scatter_max(lax.mul(a, a), idx, lax.sin(u), (0,),
                                                     mode="clip"),
}


@pytest.mark.parametrize("name", sorted(_SECOND_ORDER))
def test_second_order_and_reverse_mode(name):
    # Duplicates and an out-of-bounds row; values chosen without ties for
    # min/max (x*x in {0.01, 1.69, 4, 7.29}, sin(u) in (-1, 1) distinct).
    idx = np.array([[2], [0], [2], [5], [3], [0]])
    x = np.array([0.1, -1.3, 2.0, 2.7])
    u = np.array([0.3, -0.8, 1.1, 0.4, -0.2, 0.9])
    f = lambda a, v: _SECOND_ORDER[name](a, v, idx)
    tx = np.array([0.5, -1.0, 0.25, 1.0])
    tu = np.array([1.0, 0.5, -0.5, 0.75, -1.0, 0.2])
    check_second_order(f, (x, u), (tx, tu))
    for seed in range(3):
        check_reverse(f, (x, u), seed)


@given(layouts(dtypes=[np.float64], max_batch_side=2), st.integers(0, 2**16))
def test_reverse_mode_scatter_add_of_gather(layout, seed):
    # Random layouts: gather then scatter_add back (both modes), through grad.
    x, idx, passed, _, _ = layout

    def f(a):
        rows = lax.gather(lax.sin(a), idx, passed, mode="clip")
        return lax.scatter_add(lax.mul(a, a), idx, lax.mul(rows, rows), passed, mode="drop")

    check_reverse(f, (x,), seed)


@pytest.mark.parametrize("name", sorted(_SECOND_ORDER))
def test_check_grads_to_second_order(name):
    from funcgrad import test_util
    idx = np.array([[2], [0], [2], [5], [3], [0]])
    x = np.array([0.1, -1.3, 2.0, 2.7])
    u = np.array([0.3, -0.8, 1.1, 0.4, -0.2, 0.9])
    test_util.check_grads(lambda a, v: _SECOND_ORDER[name](a, v, idx), (x, u), order=2)
