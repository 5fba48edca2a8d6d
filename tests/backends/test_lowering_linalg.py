"""dot_general (BLAS and loop paths) and the factorisations: compiled vs
eager."""
import numpy as np
import pytest

from funcgrad import lax
from funcgrad.lax import linalg_factor as lf
from funcgrad.backends.numba_cpu.lowering_linalg import have_blas
from tests.backends.util import check_compiled

rng = np.random.default_rng(42)
A, B, V = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal(3)
X3 = rng.standard_normal((2, 3, 4))


def _products(a, b, v, x):
    return (lax.dot(a, b), lax.dot(a, v), lax.dot(v, b), lax.dot(v, v),
            lax.dot_general(a, a, (((0,), (0,)), ((), ()))),        # a.T @ a, a transposed view
            lax.dot_general(b, a, (((0,), (1,)), ((), ()))),        # b.T @ a.T
            lax.dot_general(x, x, (((2,), (2,)), ((0,), (0,)))),    # batched, small: loops
            lax.dot_general(x, a, (((1,), (1,)), ((), ()))),        # contraction in the middle
            lax.dot_general(x, x, (((0, 2), (0, 2)), ((), ()))),    # two contracting dims
            lax.dot_general(a[:, :1], b[:1], (((1,), (0,)), ((), ()))))  # outer product


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_dot_general_floats(dtype):
    cast = (lambda z: (z + 0.5j * z[::-1] if z.ndim == 1 else z + 0.5j * z).astype(dtype)) \
        if np.dtype(dtype).kind == "c" else (lambda z: z.astype(dtype))
    check_compiled(_products, cast(A), cast(B), cast(V), cast(X3))


def test_dot_general_integers_bools_and_mixed_types():
    ai = (A * 3).astype(np.int32)
    bi = (B * 3).astype(np.int32)
    check_compiled(lambda a, b: (lax.dot(a, b), lax.dot_general(a, b, (((1,), (0,)), ((), ())),
                                                                preferred_element_type=np.int64),
                                 lax.dot(a > 0, b > 0)), ai, bi)
    check_compiled(lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ())),
                                                preferred_element_type=np.float64),
                   A.astype(np.float32), B.astype(np.float32))


def test_large_batched_products_use_blas():
    x = rng.standard_normal((3, 16, 32))
    y = rng.standard_normal((3, 32, 24))
    exe = check_compiled(lambda x, y: (lax.batch_matmul(x, y),
                                       lax.dot_general(y, x, (((1,), (2,)), ((0,), (0,))))), x, y)
    if have_blas():
        assert "_rt.batched_dot" in exe.source


def _spd(n, batch=(2,)):
    m = rng.standard_normal(batch + (n, n))
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


def test_cholesky_and_triangular_solve():
    s = _spd(4)
    rhs = rng.standard_normal((2, 4, 3))
    rhs_t = rng.standard_normal((2, 3, 4))

    def program(s, rhs, rhs_t):
        outs = [lf.cholesky(s), lf.cholesky(-s)]    # not positive definite: NaN
        for left, b in ((True, rhs), (False, rhs_t)):
            for lower in (True, False):
                for transpose_a in (True, False):
                    for unit in (True, False):
                        outs.append(lf.triangular_solve(s, b, left_side=left, lower=lower,
                                                        transpose_a=transpose_a,
                                                        conjugate_a=False, unit_diagonal=unit))
        return tuple(outs)
    check_compiled(program, s, rhs, rhs_t, rtol=1e-10, atol=1e-12)


def test_complex_cholesky_and_solve():
    m = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    h = m @ m.conj().T + 3 * np.eye(3)
    b = rng.standard_normal((3, 2)) + 0j
    check_compiled(lambda h, b: (lf.cholesky(h), lf.triangular_solve(
        h, b, left_side=True, lower=True, transpose_a=True, conjugate_a=True,
        unit_diagonal=False)), h, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(2, 5, 3), (3, 5), (4, 4)])
def test_lu(shape):
    a = rng.standard_normal(shape)
    check_compiled(lambda a: lf.lu(a), a, rtol=1e-10, atol=1e-12)


def test_lu_singular_matrix():
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 0.0, 1.0]])
    check_compiled(lambda a: lf.lu(a), a)


@pytest.mark.parametrize("shape", [(2, 5, 3), (3, 5)])
def test_qr_matches_lapack_signs(shape):
    a = rng.standard_normal(shape)
    check_compiled(lambda a: (lf.qr(a, full_matrices=True), lf.qr(a, full_matrices=False)), a,
                   rtol=1e-10, atol=1e-12)


def test_complex_qr():
    a = rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))
    check_compiled(lambda a: (lf.qr(a, full_matrices=True), lf.qr(a, full_matrices=False)), a,
                   rtol=1e-10, atol=1e-12)


@pytest.mark.skipif(not have_blas(), reason="eigh needs LAPACK through SciPy")
def test_eigh():
    s = _spd(4, (3,))
    check_compiled(lambda s: lf.eigh(s, symmetrize_input=False), s, rtol=1e-10, atol=1e-10)


def test_without_scipy_products_use_loops_and_eigh_is_refused(monkeypatch):
    # Numba reaches BLAS/LAPACK through SciPy, which is not a dependency.
    from funcgrad.backends import compile_jaxpr
    from funcgrad.backends.numba_cpu import lowering_linalg
    import funcgrad
    monkeypatch.setattr(lowering_linalg, "have_blas", lambda: False)
    exe = check_compiled(lambda a, b: (lax.dot(a, b), lax.dot(a, b[:, 0])), A, B)
    assert "_rt.dot" not in exe.source
    with pytest.raises(NotImplementedError, match="'eigh'.*scipy"):
        compile_jaxpr(funcgrad.make_jaxpr(lambda s: lf.eigh(s))(_spd(3)))


# Long contractions inside loop bodies (and every product without BLAS) are
# explicit loops: ``v @ M`` adds rows of M (contiguous reads), ``M @ v``
# sums with four accumulators (with a remainder loop when the length is not
# a multiple of four).  Sizes 16..19 exercise both and every remainder.
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize("k", [16, 19])
def test_long_contractions_in_loop_bodies(dtype, k):
    r = np.random.default_rng(k)
    m = r.standard_normal((k, 17)).astype(dtype)
    v = r.standard_normal(k).astype(dtype)
    x = r.standard_normal((3, k, 18)).astype(dtype)
    if np.dtype(dtype).kind == "c":
        m, v, x = m + 0.5j * m[::-1], v - 0.25j * v[::-1], x + 1j * x[:, ::-1]

    def products(m, v, x):
        def body(i, acc):
            out = (lax.dot(v, m),                                            # row updates
                   lax.dot(m.T, v),                                          # 4 accumulators
                   lax.dot_general(x, x, (((1,), (1,)), ((0,), (0,)))),      # batched rows
                   lax.dot_general(x, m, (((1,), (0,)), ((), ()))),          # middle contraction
                   lax.dot_general(x, x, (((2,), (2,)), ((0,), (0,)))))      # batched sums
            return tuple(a + o for a, o in zip(acc, out))
        zeros = tuple(np.zeros(s, dtype) for s in [(17,), (17,), (3, 18, 18), (3, 18, 17),
                                                    (3, k, k)])
        return lax.fori_loop(0, 2, body, zeros)

    tol = 1e-4 if dtype == np.float32 else 1e-12
    exe = check_compiled(products, m, v, x, rtol=tol, atol=tol)
    assert "acc" in exe.source and "range(0, " in exe.source
    # And against NumPy directly.
    got = exe(m, v, x)
    expected = [2 * (v @ m), 2 * (m.T @ v), 2 * np.einsum("bki,bkj->bij", x, x),
                2 * np.einsum("bkn,kj->bnj", x, m), 2 * np.einsum("bik,bjk->bij", x, x)]
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=tol * 10, atol=tol * 10)
