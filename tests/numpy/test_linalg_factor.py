"""funcgrad.numpy.linalg's factorisation-based functions (cholesky, solve,
inv, det, slogdet, eigh, eigvalsh, tensorinv, tensorsolve, matrix_power with
negative powers) against numpy.linalg, eagerly and staged; their
derivatives against analytic formulas (d log|det A| = tr(A^-1 dA), ...)
and central finite differences, in forward and reverse mode and to second
order."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad.test_util import check_grads
from tests.util import FLOAT_DTYPES, arrays, assert_close, eager_and_staged

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
batch_shapes = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)


def tol(dtype):
    return (3e-4, 3e-4) if np.dtype(dtype) in (F32, np.dtype(np.complex64)) else (1e-9, 1e-10)


def close(actual, expected, dtype=None, scale=1.0):
    rtol, atol = tol(np.asarray(expected).dtype if dtype is None else dtype)
    assert_close(actual, expected, rtol=rtol, atol=atol * scale)


@st.composite
def general(draw, dtype=None, batch=None, n=None):
    """Well-conditioned square stacks Q1 diag(s) Q2 (Q's orthogonal from QR
    of hypothesis-drawn matrices, s in [1, 3]), which LU has to pivot."""
    dtype = np.dtype(draw(st.sampled_from(FLOAT_DTYPES)) if dtype is None else dtype)
    batch = draw(batch_shapes) if batch is None else batch
    n = draw(st.integers(1, 4)) if n is None else n
    x, y = (draw(arrays(F64, batch + (n, n), min_value=-1, max_value=1)) for _ in range(2))
    s = draw(arrays(F64, batch + (n,), min_value=1, max_value=3))
    signs = draw(arrays(np.int8, batch + (n,), min_value=-1, max_value=1))
    s = s * np.where(signs < 0, -1, 1)  # negative determinants too
    q1, q2 = np.linalg.qr(x)[0], np.linalg.qr(y)[0]
    return ((q1 * s[..., None, :]) @ q2).astype(dtype)


@st.composite
def spd(draw, dtype=None, batch=None, n=None):
    dtype = np.dtype(draw(st.sampled_from(FLOAT_DTYPES)) if dtype is None else dtype)
    batch = draw(batch_shapes) if batch is None else batch
    n = draw(st.integers(0, 4)) if n is None else n
    x = draw(arrays(F64, batch + (n, n), min_value=-2, max_value=2))
    return (x @ np.swapaxes(x, -1, -2) + n * np.eye(n)).astype(dtype)


def rng_for(seed):
    return np.random.default_rng(seed)


# -------------------------------------------------------------- values
@given(spd(), st.booleans(), st.booleans())
def test_cholesky(a, upper, symmetrize):
    out = eager_and_staged(lambda a: jnp.linalg.cholesky(a, upper=upper,
                                                         symmetrize_input=symmetrize), a)
    close(out, np.linalg.cholesky(a, upper=upper))


def test_cholesky_reads_one_triangle_and_gives_nan_when_not_definite():
    a = np.array([[4.0, 2.0], [2.0, 5.0]])
    lower_junk, upper_junk = a + np.triu(np.ones((2, 2)), 1), a + np.tril(np.ones((2, 2)), -1)
    close(jnp.linalg.cholesky(lower_junk, symmetrize_input=False), np.linalg.cholesky(a))
    close(jnp.linalg.cholesky(upper_junk, upper=True, symmetrize_input=False),
          np.linalg.cholesky(a, upper=True))
    # JAX's default factors (a + a^T) / 2 instead.
    close(jnp.linalg.cholesky(lower_junk), np.linalg.cholesky((lower_junk + lower_junk.T) / 2))
    assert np.isnan(np.asarray(jnp.linalg.cholesky(-a))).all()  # NumPy raises LinAlgError
    assert jnp.linalg.cholesky(np.eye(2, dtype=np.int32)).dtype == F64


@st.composite
def solve_case(draw):
    dtype = np.dtype(draw(st.sampled_from(FLOAT_DTYPES)))
    n = draw(st.integers(1, 4))
    a_batch, b_batch = draw(batch_shapes), draw(batch_shapes)
    # Size-1 axes broadcast against the other batch.
    b_batch = tuple(draw(st.sampled_from([1, s])) for s in a_batch[len(a_batch)
                                                                 - len(b_batch):]) \
        if len(b_batch) <= len(a_batch) else b_batch[:len(b_batch) - len(a_batch)] + tuple(
            draw(st.sampled_from([1, s])) for s in a_batch)
    a = draw(general(dtype, a_batch, n))
    if draw(st.booleans()):
        b = draw(arrays(dtype, (n,)))
    else:
        b = draw(arrays(dtype, b_batch + (n, draw(st.integers(1, 3)))))
    return a, b


@given(solve_case())
def test_solve(case):
    a, b = case
    out = eager_and_staged(jnp.linalg.solve, a, b)
    close(out, np.linalg.solve(a, b), scale=float(np.max(np.abs(b), initial=1.0)))


@given(general())
def test_inv(a):
    close(eager_and_staged(jnp.linalg.inv, a), np.linalg.inv(a))


@given(general())
def test_det_and_slogdet(a):
    close(eager_and_staged(jnp.linalg.det, a), np.linalg.det(a))
    sign, logabsdet = eager_and_staged(jnp.linalg.slogdet, a)
    expected = np.linalg.slogdet(a)
    assert isinstance(jnp.linalg.slogdet(a), jnp.linalg.SlogdetResult)
    assert_close(sign, expected.sign)
    close(logabsdet, expected.logabsdet)


@given(st.integers(0, 4), st.sampled_from([np.float64, np.complex128]))
def test_det_slogdet_of_singular_and_empty(n, dtype):
    for a in (np.zeros((n, n), dtype), np.ones((2, n, n), dtype)):
        expected_det = np.linalg.det(a)
        close(jnp.linalg.det(a), expected_det)
        sign, logabsdet = jnp.linalg.slogdet(a)
        expected = np.linalg.slogdet(a)
        if n > 1:  # exactly singular: NumPy gives sign 0 and -inf
            assert_close(sign, expected.sign)
            assert_close(logabsdet, expected.logabsdet)
        if n == 0:
            assert_close(sign, expected.sign)
            assert_close(logabsdet, expected.logabsdet)


def test_complex_det_slogdet_inv_solve():
    rng = rng_for(0)
    a = rng.normal(size=(2, 3, 3)) + 1j * rng.normal(size=(2, 3, 3)) + 3 * np.eye(3)
    b = rng.normal(size=(3,)) + 1j * rng.normal(size=(3,))
    close(jnp.linalg.det(a), np.linalg.det(a))
    sign, logabsdet = jnp.linalg.slogdet(a)
    close(sign, np.linalg.slogdet(a).sign)
    close(logabsdet, np.linalg.slogdet(a).logabsdet)
    close(jnp.linalg.inv(a), np.linalg.inv(a))
    close(jnp.linalg.solve(a, b), np.linalg.solve(a, b))
    c64 = a.astype(np.complex64)
    close(jnp.linalg.inv(c64), np.linalg.inv(c64))


@given(st.data())
def test_eigh_and_eigvalsh(data):
    x = data.draw(spd())
    a = x - 2 * np.eye(x.shape[-1], dtype=x.dtype)  # indefinite too
    uplo = data.draw(st.sampled_from(["L", "U"]))
    sym = data.draw(st.booleans())
    # Junk in the triangle that is not read (matters only without symmetrizing).
    junk = np.tril(np.full(a.shape[-2:], 5.0, a.dtype), -1)
    a_read = a if sym else a + (junk if uplo == "U" else junk.T)
    w, v = eager_and_staged(lambda a: jnp.linalg.eigh(a, uplo, symmetrize_input=sym), a_read)
    scale = float(np.max(np.abs(a), initial=1.0))
    close(w, np.linalg.eigvalsh(a, uplo), scale=scale)
    close(eager_and_staged(lambda a: jnp.linalg.eigvalsh(a, UPLO=uplo, symmetrize_input=sym),
                           a_read), np.linalg.eigvalsh(a, uplo), scale=scale)
    v, w = np.asarray(v), np.asarray(w)
    close((v * w[..., None, :]) @ np.swapaxes(v, -1, -2), a, scale=scale * 10)
    assert isinstance(jnp.linalg.eigh(a), jnp.linalg.EighResult)


@given(general(batch=(), n=4), st.integers(-3, -1))
def test_matrix_power_negative(a, n):
    close(eager_and_staged(lambda a: jnp.linalg.matrix_power(a, n), a),
          np.linalg.matrix_power(a, n), scale=10.0)


def test_tensorinv_and_tensorsolve():
    rng = rng_for(1)
    a = (rng.normal(size=(24, 24)) + 6 * np.eye(24)).reshape(4, 6, 8, 3)
    close(eager_and_staged(lambda a: jnp.linalg.tensorinv(a, ind=2), a),
          np.linalg.tensorinv(a, ind=2))
    a2 = (rng.normal(size=(6, 6)) + 4 * np.eye(6)).reshape(6, 2, 3)
    b = rng.normal(size=6)
    close(eager_and_staged(jnp.linalg.tensorsolve, a2, b), np.linalg.tensorsolve(a2, b))
    a3 = (rng.normal(size=(6, 6)) + 4 * np.eye(6)).reshape(2, 3, 6)
    b3 = rng.normal(size=(2, 3))
    close(jnp.linalg.tensorsolve(a3, b3), np.linalg.tensorsolve(a3, b3))
    a4 = np.moveaxis(a2, 0, 2)
    close(jnp.linalg.tensorsolve(a4, b, axes=(0, 1)), np.linalg.tensorsolve(a4, b, axes=(0, 1)))


def test_integer_inputs_promote_to_float64():
    a = np.array([[2, 1], [1, 3]])
    for name in ("inv", "det", "cholesky", "eigvalsh"):
        out = getattr(jnp.linalg, name)(a)
        assert out.dtype == F64
        close(out, getattr(np.linalg, name)(a))
    close(jnp.linalg.solve(a, np.array([1, 2])), np.linalg.solve(a, np.array([1, 2])))
    assert jnp.linalg.det(np.eye(2, dtype=np.float32)).dtype == F32


def test_errors():
    with pytest.raises(jnp.linalg.LinAlgError, match="square"):
        jnp.linalg.inv(np.ones((2, 3)))
    with pytest.raises(jnp.linalg.LinAlgError, match="at least two-dimensional"):
        jnp.linalg.det(np.ones(3))
    with pytest.raises(ValueError, match="solve"):
        jnp.linalg.solve(np.eye(3), np.ones(2))
    with pytest.raises(ValueError, match="solve"):
        jnp.linalg.solve(np.eye(3), np.ones((2, 2)))
    with pytest.raises(ValueError, match="could not be broadcast"):
        jnp.linalg.solve(np.ones((2, 3, 3)), np.ones((3, 3, 1)))
    with pytest.raises(ValueError, match="UPLO"):
        jnp.linalg.eigh(np.eye(2), "X")
    with pytest.raises(TypeError, match="float16"):
        jnp.linalg.inv(np.eye(2, dtype=np.float16))
    with pytest.raises(jnp.linalg.LinAlgError):
        jnp.linalg.tensorinv(np.ones((2, 3)), ind=1)
    with pytest.raises(AttributeError, match="not available yet"):
        jnp.linalg.svd(np.eye(2))


# ---------------------------------------------------------- derivatives
def test_gradient_of_logdet_is_inverse_transpose():
    rng = rng_for(2)
    a = rng.normal(size=(2, 4, 4)) + 2 * np.eye(4)
    logdet = lambda a: jnp.sum(jnp.linalg.slogdet(a).logabsdet)
    close(eager_and_staged(funcgrad.grad(logdet), a), np.swapaxes(np.linalg.inv(a), -1, -2))
    # det: d det(A) = det(A) tr(A^-1 dA).
    g = funcgrad.grad(lambda a: jnp.sum(jnp.linalg.det(a)))(a)
    close(g, np.linalg.det(a)[:, None, None] * np.swapaxes(np.linalg.inv(a), -1, -2))
    # The sign is piecewise constant.
    assert not np.asarray(funcgrad.grad(lambda a: jnp.sum(jnp.linalg.slogdet(a).sign))(a)).any()


@given(spd(F64, batch=(), n=3))
def test_gradient_of_logdet_of_spd_is_inverse(a):
    # Through LU (slogdet) the gradient is inv(A)^T = inv(A).
    g = funcgrad.grad(lambda a: jnp.linalg.slogdet(a)[1])(a)
    close(g, np.linalg.inv(a), scale=10.0)
    # Through the Cholesky factor of (A + A^T) / 2: inv(A) as well.
    inv = np.linalg.inv(a)
    for sym in (True, False):
        chol_logdet = lambda a, sym=sym: 2.0 * jnp.sum(jnp.log(jnp.diagonal(
            jnp.linalg.cholesky(a, symmetrize_input=sym))))
        # Reading only the lower triangle, the symmetric gradient lands on
        # it (off-diagonal entries twice).
        expected = inv if sym else np.tril(2 * inv) - np.diag(np.diag(inv))
        close(funcgrad.grad(chol_logdet)(a), expected, scale=10.0)


def test_hessian_of_logdet():
    # d^2 log|det A| [V, W] = -tr(A^-1 V A^-1 W).
    rng = rng_for(3)
    a = rng.normal(size=(3, 3)) + 2 * np.eye(3)
    h = np.asarray(funcgrad.hessian(lambda a: jnp.linalg.slogdet(a)[1])(a))
    ainv = np.linalg.inv(a)
    for _ in range(3):
        v, w = rng.normal(size=(2, 3, 3))
        close(np.einsum("ijkl,ij,kl->", h, v, w), -np.trace(ainv @ v @ ainv @ w))
    # The same for an SPD matrix through Cholesky.
    s = a @ a.T + 3 * np.eye(3)
    sinv = np.linalg.inv(s)
    v, w = rng.normal(size=(2, 3, 3))
    f = lambda s: 2.0 * jnp.sum(jnp.log(jnp.diagonal(jnp.linalg.cholesky(s))))
    h = np.asarray(funcgrad.hessian(f)(s))
    # A direction V acts as its symmetric part (V + V^T) / 2.
    vs, ws = (v + v.T) / 2, (w + w.T) / 2
    close(np.einsum("ijkl,ij,kl->", h, v, w), -np.trace(sinv @ vs @ sinv @ ws))
    f = lambda s: 2.0 * jnp.sum(jnp.log(jnp.diagonal(
        jnp.linalg.cholesky(s, symmetrize_input=False))))
    h = np.asarray(funcgrad.hessian(f)(s))
    # Reading the lower triangle, V acts as tril(V) + tril(V, -1)^T.
    vs, ws = np.tril(v) + np.tril(v, -1).T, np.tril(w) + np.tril(w, -1).T
    close(np.einsum("ijkl,ij,kl->", h, v, w), -np.trace(sinv @ vs @ sinv @ ws))


def test_solve_gradients():
    rng = rng_for(4)
    a = rng.normal(size=(4, 4)) + 2 * np.eye(4)
    b, c = rng.normal(size=(2, 4, 2))
    f = lambda a, b: jnp.sum(jnp.linalg.solve(a, b) * c)
    ga, gb = funcgrad.grad(f, argnums=(0, 1))(a, b)
    # Analytic: with x = A^-1 b and y = A^-T c, df = -y^T dA x + y^T db.
    x, y = np.linalg.solve(a, b), np.linalg.solve(a.T, c)
    close(ga, -y @ x.T)
    close(gb, y)
    check_grads(jnp.linalg.solve, (a, b), order=2)
    check_grads(jnp.linalg.solve, (a, b[:, 0]), order=1)


def test_batched_solve_inv_det_grads_by_finite_differences():
    rng = rng_for(5)
    a = rng.normal(size=(2, 3, 3)) + 2 * np.eye(3)
    b = rng.normal(size=(3, 1))  # broadcast against a's batch
    check_grads(jnp.linalg.solve, (a, b), order=1)
    check_grads(jnp.linalg.inv, (a,), order=2)
    check_grads(jnp.linalg.det, (a,), order=2)
    check_grads(lambda a: jnp.linalg.slogdet(a).logabsdet, (a,), order=2)


def test_inverse_derivative_is_analytic():
    rng = rng_for(6)
    a, t = rng.normal(size=(2, 3, 3))
    a = a + 2 * np.eye(3)
    _, dinv = funcgrad.jvp(jnp.linalg.inv, (a,), (t,))
    ainv = np.linalg.inv(a)
    close(dinv, -ainv @ t @ ainv)


def test_eigh_gradients():
    rng = rng_for(7)
    q = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    a = (q * np.array([1.0, 2.5, 4.0])) @ q.T
    c = np.array([0.5, -1.0, 2.0])
    sym = (q * c) @ q.T  # the gradient of sum(c * eigenvalues)
    close(funcgrad.grad(lambda a: jnp.sum(jnp.linalg.eigvalsh(a) * c))(a), sym)
    # Reading only the lower triangle, the symmetric gradient lands on it.
    g = funcgrad.grad(lambda a: jnp.sum(jnp.linalg.eigvalsh(a, symmetrize_input=False) * c))(a)
    close(g, np.tril(2 * sym) - np.diag(np.diag(sym)))
    # Eigenvectors up to sign: v v^T products are sign-free.
    check_grads(lambda a: jnp.linalg.eigh(a).eigenvectors[:, 1] ** 2, (a,), order=2)


def test_float32_gradients():
    rng = rng_for(8)
    a = (rng.normal(size=(3, 3)) + 2 * np.eye(3)).astype(F32)
    g = funcgrad.grad(lambda a: jnp.linalg.slogdet(a)[1])(a)
    assert g.dtype == F32
    assert_close(g, np.linalg.inv(a.astype(F64)).T.astype(F32), rtol=1e-4, atol=1e-5)
    b = rng.normal(size=3).astype(F32)
    gb = funcgrad.grad(lambda b: jnp.sum(jnp.linalg.solve(a, b)))(b)
    assert gb.dtype == F32
    assert_close(gb, np.linalg.solve(a.astype(F64).T, np.ones(3)).astype(F32), rtol=1e-4,
                 atol=1e-5)


@given(st.data())
def test_qr(data):
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    shape = data.draw(batch_shapes) + (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    a = data.draw(arrays(dtype, shape))
    mode = data.draw(st.sampled_from(["reduced", "complete", "r"]))
    out = eager_and_staged(lambda a: jnp.linalg.qr(a, mode), a)
    expected = np.linalg.qr(a, mode)
    scale = float(np.max(np.abs(a), initial=1.0))
    if mode == "r":
        close(out, expected, scale=scale * 10)
    else:
        assert isinstance(jnp.linalg.qr(a, mode), jnp.linalg.QRResult)
        close(out.Q, expected.Q)
        close(out.R, expected.R, scale=scale * 10)
    with pytest.raises(NotImplementedError, match="raw"):
        jnp.linalg.qr(a, "raw")


def test_qr_gradient():
    # Least squares through QR: x = R^-1 Q^T b; its gradient in b is
    # (A^T A)^-1 A^T c-weighted, compared with finite differences.
    rng = rng_for(9)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=5)

    def lstsq(a, b):
        q, r = jnp.linalg.qr(a)
        return funcgrad.lax.triangular_solve(r, q.T @ b, left_side=True)

    close(lstsq(a, b), np.linalg.lstsq(a, b, rcond=None)[0])
    check_grads(lstsq, (a, b), order=2)
