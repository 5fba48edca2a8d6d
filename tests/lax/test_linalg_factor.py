"""lax.cholesky, triangular_solve, lu and eigh: values against numpy.linalg
(and scipy's LAPACK LU where installed), eagerly and staged; jvp against
central finite differences; transposes by the dot-product identity; reverse
mode and second order by check_grads and analytic formulas."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
from funcgrad import lax
from funcgrad.test_util import check_grads
from funcgrad.transforms.jvp import jvp
from funcgrad.transforms.transpose import linear_transpose
from tests.transforms.test_jvp import fd_atol, numerical_jvp
from tests.util import FLOAT_DTYPES, arrays, assert_close, eager_and_staged

F32, F64, C128 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.complex128)


def tol(dtype):
    """(rtol, atol) for results computed by different but stable algorithms."""
    return (2e-4, 2e-4) if np.dtype(dtype) in (F32, np.dtype(np.complex64)) else (1e-10, 1e-10)


# ----------------------------------------------------------- strategies
batch_shapes = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)


@st.composite
def matrices(draw, dtype=None, shape=None, lo=-2.0, hi=2.0):
    dtype = np.dtype(draw(st.sampled_from(FLOAT_DTYPES)) if dtype is None else dtype)
    if shape is None:
        n = draw(st.integers(1, 4))
        shape = draw(batch_shapes) + (n, n)
    if dtype.kind == "c":
        part = np.dtype(np.float64 if dtype == C128 else np.float32)
        re = draw(arrays(part, shape, min_value=lo, max_value=hi))
        im = draw(arrays(part, shape, min_value=lo, max_value=hi))
        return (re + 1j * im).astype(dtype)
    return draw(arrays(dtype, shape, min_value=lo, max_value=hi))


def spd(x):
    """Hermitian positive definite (eigenvalues >= n) from any square x."""
    n = x.shape[-1]
    return (x @ np.conj(np.swapaxes(x, -1, -2)) + n * np.eye(n)).astype(x.dtype)


def well_conditioned(x, y, s):
    """Q1 diag(s) Q2 with orthogonal Q's from QR: condition number
    max(s)/min(s), and (unlike a diagonally dominant matrix) LU on it
    pivots."""
    q1, q2 = np.linalg.qr(x.astype(F64))[0], np.linalg.qr(y.astype(F64))[0]
    return ((q1 * s[..., None, :]) @ q2).astype(x.dtype)


@st.composite
def general(draw, dtype=F64, shape=None):
    dtype = np.dtype(dtype)
    if shape is None:
        n = draw(st.integers(1, 4))
        shape = draw(batch_shapes) + (n, n)
    x = draw(matrices(dtype, shape))
    y = draw(matrices(dtype, shape))
    s = draw(arrays(F64, shape[:-1], min_value=1.0, max_value=3.0))
    return well_conditioned(x, y, s)


def triangle(x, lower):
    """A well-conditioned triangular matrix with junk in the unread
    triangle (which must not matter)."""
    n = x.shape[-1]
    idx = np.arange(n)
    t = x.copy()
    t[..., idx, idx] = (2.0 + np.abs(x[..., idx, idx])) * np.where(x[..., idx, idx] < 0, -1, 1)
    junk = np.triu(np.full((n, n), 7.0), 1) if lower else np.tril(np.full((n, n), 7.0), -1)
    return (np.where(junk != 0, junk, t)).astype(x.dtype)


def tangent(f, x, t):
    return jvp(f, (x,), (t,))[1]


def check_jvp_fd(f, x, t, rtol=1e-6):
    """jvp (eager and staged) vs a float64 central difference."""
    actual = eager_and_staged(lambda x, t: tangent(f, x, t), x, t)
    expected = numerical_jvp(f, x, t)
    assert_close(actual, expected.astype(np.asarray(actual).dtype), rtol=rtol,
                 atol=10 * fd_atol(f, x, t))


def check_dot_product(L, t, ct):
    """<ct, L t> == <L^T ct, t> for a linear map L, using its transpose."""
    (t_ct,) = linear_transpose(L, t)(ct)
    assert np.shape(t_ct) == np.shape(t) and np.asarray(t_ct).dtype == np.asarray(t).dtype
    lhs = np.sum(np.asarray(ct) * np.asarray(L(t)))  # bilinear, as transposition is
    rhs = np.sum(np.asarray(t_ct) * np.asarray(t))
    scale = 1.0 + np.sqrt(np.sum(np.abs(ct) ** 2) * np.sum(np.abs(t) ** 2))
    assert abs(lhs - rhs) <= 1e-10 * scale * 100, (lhs, rhs)


def rng_for(seed):
    return np.random.default_rng(seed)


seeds = st.integers(0, 2**32 - 1)


# ------------------------------------------------------------ cholesky
@given(matrices(), st.booleans())
def test_cholesky_matches_numpy(x, symmetrize):
    a = spd(x)
    out = eager_and_staged(lambda a: lax.cholesky(a, symmetrize_input=symmetrize), a)
    assert_close(out, np.linalg.cholesky(a), rtol=tol(a.dtype)[0], atol=tol(a.dtype)[1])


@given(matrices(dtype=np.complex128))
def test_cholesky_complex(x):
    a = spd(x)
    out = eager_and_staged(lax.cholesky, a)
    assert_close(out, np.linalg.cholesky(a), rtol=1e-10, atol=1e-10)


def test_cholesky_reads_only_the_lower_triangle():
    a = spd(rng_for(0).normal(size=(3, 3)))
    junk = a + np.triu(np.full((3, 3), 100.0), 1)
    assert_close(lax.cholesky(junk, symmetrize_input=False), np.linalg.cholesky(a))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_cholesky_not_positive_definite_gives_nan(dtype):
    good = spd(rng_for(1).normal(size=(3, 3)))
    bad = np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    out = np.asarray(eager_and_staged(lax.cholesky, np.stack([good, bad]).astype(dtype)))
    assert out.dtype == dtype
    assert_close(out[0], np.linalg.cholesky(good.astype(dtype)), rtol=tol(dtype)[0],
                 atol=tol(dtype)[1])
    assert np.isnan(out[1]).all()


@given(matrices(dtype=F64), seeds, st.booleans())
def test_cholesky_jvp(x, seed, symmetrize):
    a = spd(x)
    t = rng_for(seed).normal(size=a.shape)  # not symmetric: the rule must say why not
    check_jvp_fd(lambda a: lax.cholesky(a, symmetrize_input=symmetrize), a, t)


@given(matrices(dtype=np.complex128, shape=(3, 3)), seeds)
def test_cholesky_complex_jvp(x, seed):
    a = spd(x)
    rng = rng_for(seed)
    t = rng.normal(size=a.shape) + 1j * rng.normal(size=a.shape)
    # Any direction: LAPACK reads the real part of the diagonal only.
    check_jvp_fd(lambda a: lax.cholesky(a, symmetrize_input=False), a, t)
    check_jvp_fd(lax.cholesky, a, t)


def test_cholesky_second_order_and_reverse_mode():
    a = spd(rng_for(2).normal(size=(2, 3, 3)))
    check_grads(lambda a: lax.cholesky(a), (a,), order=2)


def test_cholesky_linearised_transpose():
    rng = rng_for(3)
    a = spd(rng.normal(size=(2, 3, 3)))
    check_dot_product(lambda t: tangent(lax.cholesky, a, t), rng.normal(size=a.shape),
                      rng.normal(size=a.shape))


def test_logdet_by_cholesky_gradient_and_hessian_are_analytic():
    # f(A) = 2 sum(log diag(chol(sym(A)))) = log det A: gradient inv(A),
    # second derivative -tr(A^-1 V A^-1 W).
    rng = rng_for(4)
    a = spd(rng.normal(size=(4, 4)))
    f = lambda a: 2.0 * lax.reduce_sum(lax.log(lax.linalg_factor._diagonal(lax.cholesky(a))),
                                       (0,))
    ainv = np.linalg.inv(a)
    assert_close(funcgrad.grad(f)(a), ainv, rtol=1e-10, atol=1e-12)
    h = np.asarray(funcgrad.hessian(f)(a))
    v, w = rng.normal(size=(2, 4, 4))
    v, w = v + v.T, w + w.T  # symmetric directions: sym(A + V) = A + V
    assert_close(np.einsum("ijkl,ij,kl->", h, v, w), -np.trace(ainv @ v @ ainv @ w),
                 rtol=1e-9, atol=1e-12)


# ------------------------------------------------------- triangular_solve
FLAGS = list(itertools.product([True, False], repeat=4))  # left, lower, transpose, unit


def op_matrix(a, lower, transpose_a, conjugate_a, unit_diagonal):
    """The matrix triangular_solve applies, written out with NumPy."""
    t = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        idx = np.arange(a.shape[-1])
        t[..., idx, idx] = 1
    if conjugate_a:
        t = np.conj(t)
    return np.swapaxes(t, -1, -2) if transpose_a else t


def solve_reference(a, b, left_side, **flags):
    m = op_matrix(a, **flags)
    if left_side:
        return np.linalg.solve(m, b)
    return np.swapaxes(np.linalg.solve(np.swapaxes(m, -1, -2), np.swapaxes(b, -1, -2)), -1, -2)


@st.composite
def solve_case(draw, dtype=None, lower=None, left_side=None):
    dtype = np.dtype(draw(st.sampled_from(FLOAT_DTYPES)) if dtype is None else dtype)
    lower = draw(st.booleans()) if lower is None else lower
    left_side = draw(st.booleans()) if left_side is None else left_side
    batch, m, k = draw(batch_shapes), draw(st.integers(0, 4)), draw(st.integers(1, 3))
    a = triangle(draw(matrices(dtype, batch + (m, m), lo=-1.0, hi=1.0)), lower)
    b = draw(matrices(dtype, batch + ((m, k) if left_side else (k, m))))
    return a, b


@pytest.mark.parametrize("left_side,lower,transpose_a,unit_diagonal", FLAGS)
@settings(max_examples=6)
@given(data=st.data())
def test_triangular_solve_matches_reference(left_side, lower, transpose_a, unit_diagonal, data):
    a, b = data.draw(solve_case(lower=lower, left_side=left_side))
    flags = {"lower": lower, "transpose_a": transpose_a, "unit_diagonal": unit_diagonal}
    out = eager_and_staged(lambda a, b: lax.triangular_solve(a, b, left_side=left_side,
                                                             **flags), a, b)
    expected = solve_reference(a.astype(F64), b.astype(F64), left_side, conjugate_a=False,
                               **flags)
    assert_close(out, expected.astype(a.dtype), rtol=tol(a.dtype)[0], atol=tol(a.dtype)[1])


@pytest.mark.parametrize("transpose_a,conjugate_a", list(itertools.product([True, False],
                                                                             repeat=2)))
@settings(max_examples=6)
@given(data=st.data())
def test_triangular_solve_complex(transpose_a, conjugate_a, data):
    left_side, lower = data.draw(st.booleans()), data.draw(st.booleans())
    a, b = data.draw(solve_case(C128, lower, left_side))
    flags = {"lower": lower, "transpose_a": transpose_a, "conjugate_a": conjugate_a,
                 "unit_diagonal": False}
    out = eager_and_staged(lambda a, b: lax.triangular_solve(a, b, left_side=left_side,
                                                             **flags), a, b)
    assert_close(out, solve_reference(a, b, left_side, **flags), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("lower", [True, False])
def test_triangular_solve_spanning_several_blocks(lower):
    rng = rng_for(21)
    a = triangle(rng.uniform(-1, 1, size=(150, 150)), lower)
    a[np.arange(150), np.arange(150)] *= 10  # keep it well-conditioned
    b = rng.normal(size=(150, 4))
    for transpose_a in (True, False):
        out = lax.triangular_solve(a, b, left_side=True, lower=lower, transpose_a=transpose_a)
        expected = solve_reference(a, b, True, lower=lower, transpose_a=transpose_a,
                                   conjugate_a=False, unit_diagonal=False)
        assert_close(out, expected, rtol=1e-10, atol=1e-12)


def test_triangular_solve_vector_and_defaults():
    a = np.array([[2.0, 0.0], [1.0, 4.0]])
    assert_close(lax.triangular_solve(a, np.array([2.0, 9.0]), left_side=True, lower=True),
                 np.array([1.0, 2.0]))
    # JAX's defaults: right side, upper triangle: x @ triu(a) = b.
    b = np.array([[2.0, 9.0]])
    assert_close(lax.triangular_solve(a, b), b @ np.linalg.inv(np.triu(a)))
    assert_close(lax.triangular_solve(a, b[0]), (b @ np.linalg.inv(np.triu(a)))[0])


def test_triangular_solve_singular_gives_inf_or_nan():
    out = np.asarray(lax.triangular_solve(np.zeros((2, 2)), np.ones((2, 1)), left_side=True,
                                          lower=True))
    assert not np.isfinite(out).any()


@pytest.mark.parametrize("left_side,lower,transpose_a,unit_diagonal", FLAGS)
def test_triangular_solve_jvp(left_side, lower, transpose_a, unit_diagonal):
    rng = rng_for(sum(2**i * f for i, f in enumerate((left_side, lower, transpose_a,
                                                      unit_diagonal))))
    a = triangle(rng.uniform(-1, 1, size=(2, 3, 3)), lower)
    b = rng.normal(size=(2, 3, 2) if left_side else (2, 2, 3))
    flags = {"left_side": left_side, "lower": lower, "transpose_a": transpose_a,
                 "unit_diagonal": unit_diagonal}
    # Tangents everywhere, also in the triangle that is never read.
    check_jvp_fd(lambda a: lax.triangular_solve(a, b, **flags), a, rng.normal(size=a.shape))
    check_jvp_fd(lambda b: lax.triangular_solve(a, b, **flags), b, rng.normal(size=b.shape))


@pytest.mark.parametrize("left_side,lower,transpose_a,unit_diagonal", FLAGS)
def test_triangular_solve_transpose_in_b(left_side, lower, transpose_a, unit_diagonal):
    rng = rng_for(7)
    a = triangle(rng.uniform(-1, 1, size=(2, 3, 3)), lower)
    b = rng.normal(size=(2, 3, 2) if left_side else (2, 2, 3))
    flags = {"left_side": left_side, "lower": lower, "transpose_a": transpose_a,
                 "unit_diagonal": unit_diagonal}
    check_dot_product(lambda b: lax.triangular_solve(a, b, **flags), b,
                      rng.normal(size=b.shape))
    # The linearised map in a: its tangent path goes through dot_general,
    # select_n and transpose before the solve.
    check_dot_product(lambda t: tangent(lambda a: lax.triangular_solve(a, b, **flags), a, t),
                      rng.normal(size=a.shape), rng.normal(size=b.shape))


def test_triangular_solve_complex_transpose_and_jvp():
    rng = rng_for(8)
    c = lambda *s: rng.normal(size=s) + 1j * rng.normal(size=s)
    a, b = triangle(c(3, 3), True), c(3, 2)
    for transpose_a, conjugate_a in itertools.product([True, False], repeat=2):
        flags = {"left_side": True, "lower": True, "transpose_a": transpose_a,
                 "conjugate_a": conjugate_a}
        in_b = lambda b, flags=flags: lax.triangular_solve(a, b, **flags)
        in_a = lambda a, flags=flags: lax.triangular_solve(a, b, **flags)
        check_dot_product(in_b, b, c(3, 2))
        check_jvp_fd(in_b, b, c(3, 2))
        check_jvp_fd(in_a, a, c(3, 3))


def test_triangular_solve_reverse_and_second_order():
    rng = rng_for(9)
    a = triangle(rng.uniform(-1, 1, size=(3, 3)), False)
    b = rng.normal(size=(3, 2))
    check_grads(lambda a, b: lax.triangular_solve(a, b, left_side=True, transpose_a=True),
                (a, b), order=2)


def test_triangular_solve_is_not_linear_in_a():
    rule = lax.triangular_solve_p.transpose
    from funcgrad.core.ad_util import UndefinedPrimal
    from funcgrad.core.avals import ShapedArray
    with pytest.raises(ValueError, match="linear in b only"):
        rule([np.ones((2, 2))], UndefinedPrimal(ShapedArray((2, 2), F64)), np.ones((2, 2)),
             left_side=True, lower=True, transpose_a=False, conjugate_a=False,
             unit_diagonal=False)


# ------------------------------------------------------------------ lu
def unpack_lu(lu):
    m, n = lu.shape[-2:]
    k = min(m, n)
    lower = np.tril(lu[..., :, :k], -1) + np.eye(m, k, dtype=lu.dtype)
    upper = np.triu(lu[..., :k, :])
    return lower, upper


def permutation_from_pivots(pivots, m):
    perm = np.arange(m)
    for i, p in enumerate(pivots):
        perm[[i, p]] = perm[[p, i]]
    return perm


def check_lu(a, lu, pivots, perm, rtol, atol):
    lu, pivots, perm = np.asarray(lu), np.asarray(pivots), np.asarray(perm)
    m, n = a.shape[-2:]
    assert lu.shape == a.shape and lu.dtype == a.dtype
    assert pivots.shape == a.shape[:-2] + (min(m, n),) and pivots.dtype == np.int32
    assert perm.shape == a.shape[:-2] + (m,) and perm.dtype == np.int32
    lower, upper = unpack_lu(lu)
    for idx in np.ndindex(*a.shape[:-2]):
        assert_close(perm[idx], permutation_from_pivots(pivots[idx], m).astype(np.int32))
        assert_close(lower[idx] @ upper[idx], a[idx][perm[idx]], rtol=rtol, atol=atol)
    # Partial pivoting: multipliers are at most 1 in magnitude (sqrt(2) for
    # complex, where LAPACK picks the pivot by |re| + |im|).
    bound = np.sqrt(2.0) if a.dtype.kind == "c" else 1.0
    assert (np.abs(lower) <= bound * (1 + 1e-6)).all()


@given(data=st.data())
def test_lu_reconstructs_any_matrix(data):
    # Arbitrary (also singular, zero, repeated-entry) rectangular stacks.
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES + [C128]))
    shape = data.draw(batch_shapes) + (data.draw(st.integers(0, 4)), data.draw(st.integers(0, 4)))
    a = data.draw(matrices(dtype, shape, lo=-5, hi=5))
    out = eager_and_staged(lax.lu, a)
    scale = float(np.max(np.abs(a), initial=1.0))
    check_lu(a, *out, rtol=tol(dtype)[0], atol=tol(dtype)[1] * scale * 4)


@given(seeds, st.sampled_from([(3, 3), (4, 2), (2, 4), (2, 3, 3), (70, 70), (130, 100),
                               (100, 130)]))  # the larger ones span several blocks
def test_lu_matches_lapack(seed, shape):
    scipy_linalg = pytest.importorskip("scipy.linalg")
    a = rng_for(seed).normal(size=shape)
    lu, pivots, _ = lax.lu(a)
    for idx in np.ndindex(*shape[:-2]):
        ref_lu, ref_piv = scipy_linalg.lu_factor(a[idx])
        assert_close(np.asarray(pivots)[idx], ref_piv.astype(np.int32))
        assert_close(np.asarray(lu)[idx], ref_lu, rtol=1e-10, atol=1e-12)


def test_lu_singular_matrix_is_finite():
    lu, pivots, _perm = lax.lu(np.array([[0.0, 1.0], [0.0, 2.0]]))
    assert np.isfinite(np.asarray(lu)).all()
    assert_close(np.asarray(lu), np.array([[0.0, 1.0], [0.0, 2.0]]))
    assert_close(pivots, np.array([0, 1], np.int32))


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (4, 2), (2, 4), (1, 3, 5)])
def test_lu_jvp(shape):
    rng = rng_for(sum(shape))
    a = rng.normal(size=shape)
    t = rng.normal(size=shape)
    check_jvp_fd(lambda a: lax.lu(a)[0], a, t)
    _, (_, t_piv, t_perm) = jvp(lax.lu, (a,), (t,))
    assert not np.asarray(t_piv).any() and not np.asarray(t_perm).any()


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4)])
def test_lu_linearised_transpose_and_second_order(shape):
    rng = rng_for(11)
    a = rng.normal(size=shape)
    check_dot_product(lambda t: tangent(lambda a: lax.lu(a)[0], a, t),
                      rng.normal(size=shape), rng.normal(size=shape))
    check_grads(lambda a: lax.lu(a)[0], (a,), order=2)


def test_lu_float32_jvp():
    a = rng_for(12).normal(size=(3, 3)).astype(F32)
    t = rng_for(13).normal(size=(3, 3)).astype(F32)
    out = eager_and_staged(lambda a, t: tangent(lambda a: lax.lu(a)[0], a, t), a, t)
    expected = numerical_jvp(lambda a: lax.lu(a)[0], a.astype(F64), t.astype(F64))
    assert np.asarray(out).dtype == F32
    assert_close(out, expected.astype(F32), rtol=1e-3, atol=1e-3)


# ----------------------------------------------------------------- eigh
@given(matrices(), st.booleans(), st.booleans())
def test_eigh_matches_numpy(x, lower, symmetrize):
    a = (x + np.swapaxes(x, -1, -2)).astype(x.dtype)
    v, w = eager_and_staged(lambda a: lax.eigh(a, lower=lower, symmetrize_input=symmetrize), a)
    v, w = np.asarray(v), np.asarray(w)
    rtol, atol = tol(a.dtype)
    scale = float(np.max(np.abs(a), initial=1.0))
    assert v.dtype == a.dtype and w.dtype == a.dtype
    assert_close(w, np.linalg.eigvalsh(a.astype(F64), UPLO="L" if lower else "U").astype(a.dtype),
                 rtol=rtol, atol=atol * scale * 10)
    # Eigenvectors are defined up to sign (and rotations within repeated
    # eigenvalues): check the decomposition itself.
    n = a.shape[-1]
    assert_close(v @ np.swapaxes(v, -1, -2), np.broadcast_to(np.eye(n, dtype=a.dtype), a.shape),
                 rtol=rtol, atol=atol * 10)
    assert_close((v * w[..., None, :]) @ np.swapaxes(v, -1, -2), a, rtol=rtol,
                 atol=atol * scale * 10)


def test_eigh_complex_and_upper_triangle():
    rng = rng_for(14)
    x = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
    a = x + np.conj(x.T)
    junk = a + np.tril(np.full((3, 3), 50.0), -1)  # only the upper triangle is read
    v, w = lax.eigh(junk, lower=False, symmetrize_input=False)
    assert np.asarray(w).dtype == F64 and np.asarray(v).dtype == C128
    assert_close(w, np.linalg.eigvalsh(a))
    assert_close((np.asarray(v) * np.asarray(w)) @ np.conj(np.asarray(v).T), a)


def distinct_spectrum(seed, shape):
    """A symmetric matrix with well-separated eigenvalues (so eigenvectors
    are differentiable and finite differences keep their signs)."""
    rng = rng_for(seed)
    q = np.linalg.qr(rng.normal(size=shape))[0]
    w = np.arange(1, shape[-1] + 1) * 1.5 + rng.uniform(0, 0.5, size=shape[:-1])
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


@given(seeds, st.sampled_from([(2, 2), (3, 3), (2, 4, 4)]), st.booleans())
def test_eigh_jvp(seed, shape, symmetrize):
    a = distinct_spectrum(seed, shape)
    t = rng_for(seed + 1).normal(size=shape)
    f_w = lambda a: lax.eigh(a, symmetrize_input=symmetrize)[1]
    f_v = lambda a: lax.eigh(a, symmetrize_input=symmetrize)[0]
    check_jvp_fd(f_w, a, t)
    check_jvp_fd(f_v, a, t, rtol=1e-5)


def test_eigh_complex_jvp():
    rng = rng_for(20)
    x = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
    a = x @ np.conj(x.T) + 3 * np.eye(3)
    t = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
    check_jvp_fd(lambda a: lax.eigh(a, symmetrize_input=False)[1], a, t)

    def projectors(a):  # |v_ij|^2: independent of each eigenvector's phase
        v = lax.eigh(a)[0]
        return lax.mul(v, lax.conj(v))

    check_jvp_fd(projectors, a, t, rtol=1e-5)


def test_eigh_jvp_reconstructs_the_derivative_of_a_cube():
    # v diag(w^3) v^T = A^3, so its tangent is dA A^2 + A dA A + A^2 dA.
    rng = rng_for(15)
    a = distinct_spectrum(16, (4, 4))
    t = rng.normal(size=(4, 4))
    t = t + t.T

    def cube(a):
        v, w = lax.eigh(a)
        return lax.dot(lax.mul(v, lax.broadcast_in_dim(lax.mul(w, lax.mul(w, w)), (4, 4), (1,))),
                       lax.transpose(v, (1, 0)))

    expected = t @ a @ a + a @ t @ a + a @ a @ t
    assert_close(tangent(cube, a, t), expected, rtol=1e-9, atol=1e-9)


def test_eigh_linearised_transpose_and_reverse_mode():
    rng = rng_for(17)
    a = distinct_spectrum(18, (3, 3))
    check_dot_product(lambda t: tangent(lambda a: lax.eigh(a)[1], a, t),
                      rng.normal(size=(3, 3)), rng.normal(size=3))
    check_dot_product(lambda t: tangent(lambda a: lax.eigh(a)[0], a, t),
                      rng.normal(size=(3, 3)), rng.normal(size=(3, 3)))
    # Gradient of sum(c * w) is V diag(c) V^T (symmetric input).
    c = np.array([1.0, -2.0, 0.5])
    g = funcgrad.grad(lambda a: lax.reduce_sum(lax.mul(lax.eigh(a)[1], c), (0,)))(a)
    _, v = np.linalg.eigh(a)
    assert_close(g, (v * c) @ v.T, rtol=1e-9, atol=1e-10)
    check_grads(lambda a: lax.eigh(a)[1], (a,), order=2)


# --------------------------------------------------------------- errors
def test_shape_and_dtype_errors():
    sq, rect = np.ones((3, 3)), np.ones((3, 4))
    with pytest.raises(ValueError, match=r"cholesky requires.*square.*f64\[3,4\]"):
        lax.cholesky(rect, symmetrize_input=False)
    with pytest.raises(ValueError, match=r"eigh requires.*square"):
        lax.eigh(rect)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        lax.lu(np.ones(3))
    with pytest.raises(TypeError, match=r"cholesky does not accept dtype int64"):
        lax.cholesky(np.eye(2, dtype=np.int64))
    with pytest.raises(TypeError, match=r"lu does not accept dtype float16"):
        lax.lu(np.eye(2, dtype=np.float16))
    with pytest.raises(TypeError, match=r"triangular_solve requires a and b of the same dtype"):
        lax.triangular_solve(sq, np.ones((3, 2), F32), left_side=True)
    with pytest.raises(ValueError, match=r"as many rows as a.*f64\[3,3\].*f64\[2,2\]"):
        lax.triangular_solve(sq, np.ones((2, 2)), left_side=True)
    with pytest.raises(ValueError, match="as many columns"):
        lax.triangular_solve(sq, np.ones((2, 2)), left_side=False)
    with pytest.raises(ValueError, match="equal batch dimensions"):
        lax.triangular_solve(np.ones((2, 3, 3)), np.ones((3, 3, 1)), left_side=True)
    with pytest.raises(ValueError, match=r"triangular_solve requires its a.*square"):
        lax.triangular_solve(rect, np.ones((3, 3)))
    # The same errors when staged.
    with pytest.raises(ValueError, match="cholesky requires"):
        funcgrad.make_jaxpr(lambda x: lax.cholesky(x, symmetrize_input=False))(rect)


# ------------------------------------------------------------------- qr
@given(data=st.data())
def test_qr_matches_numpy(data):
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES + [C128]))
    shape = data.draw(batch_shapes) + (data.draw(st.integers(0, 4)), data.draw(st.integers(0, 4)))
    a = data.draw(matrices(dtype, shape))
    full = data.draw(st.booleans())
    q, r = eager_and_staged(lambda a: lax.qr(a, full_matrices=full), a)
    q_ref, r_ref = np.linalg.qr(a, mode="complete" if full else "reduced")
    # The same LAPACK Householder algorithm: the same signs.
    assert_close(q, q_ref.astype(dtype), rtol=tol(dtype)[0], atol=tol(dtype)[1])
    assert_close(r, r_ref.astype(dtype), rtol=tol(dtype)[0], atol=tol(dtype)[1] * 10)


@pytest.mark.parametrize("shape,full", [((3, 3), True), ((3, 3), False), ((5, 3), False),
                                        ((2, 4, 2), False)])
def test_qr_jvp_transpose_and_second_order(shape, full):
    rng = rng_for(sum(shape))
    a, t = rng.normal(size=(2,) + shape)
    for i in range(2):
        f = lambda a, i=i: lax.qr(a, full_matrices=full)[i]
        check_jvp_fd(f, a, t)
        check_dot_product(lambda u, f=f: tangent(f, a, u), t, rng.normal(size=np.shape(f(a))))
    check_grads(lambda a: lax.qr(a, full_matrices=full), (a,), order=2)


def test_qr_complex_jvp():
    rng = rng_for(19)
    a, t = rng.normal(size=(2, 4, 3)) + 1j * rng.normal(size=(2, 4, 3))
    for i in range(2):
        check_jvp_fd(lambda a, i=i: lax.qr(a, full_matrices=False)[i], a, t)


def test_qr_jvp_unsupported_shapes():
    with pytest.raises(NotImplementedError, match="m >= n"):
        jvp(lambda a: lax.qr(a, full_matrices=False), (np.ones((2, 3)),), (np.ones((2, 3)),))
    with pytest.raises(NotImplementedError, match="full_matrices=True"):
        jvp(lax.qr, (np.ones((3, 2)),), (np.ones((3, 2)),))
