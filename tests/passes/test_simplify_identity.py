"""The staging simplifier's identity rules, each against a NumPy reference
and against the same program staged with the rewrites switched off:

* ``dot_general`` with a (shifted, transposed, broadcast) identity matrix
  built from iotas is its other operand, moved, padded or cropped;
* a chain of transposes and reshapes that moves no element is its input;
* multiplying by a broadcast (or converted) literal 1 is a no-op.
"""
import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core import staging
from funcgrad.core.staging import eval_jaxpr

RNG = np.random.default_rng(0)


def staged(f, *args):
    """The jaxpr of ``f`` and its value through eval_jaxpr."""
    closed = funcgrad.make_jaxpr(f)(*args)
    return closed, [np.asarray(v) for v in eval_jaxpr(closed.jaxpr, closed.consts, *args)]


def primitives(closed) -> list[str]:
    return [e.primitive.name for e in closed.eqns]


@pytest.fixture
def unsimplified(monkeypatch):
    """A context in which staging records dot_generals as they come."""
    class Off:
        def __enter__(self):
            monkeypatch.setattr(staging, "rewrite_eqn", lambda *a, **k: None)

        def __exit__(self, *exc):
            monkeypatch.undo()
    return Off()


def check_identity_dot(f, args, expected, unsimplified, rewritten=True):
    """``f`` staged equals ``expected`` (exactly: a product with 0 and 1 is
    exact for finite values), equals the unrewritten program, runs the same
    compiled, and has (or, if not ``rewritten``, keeps) no dot_general."""
    closed, (out,) = staged(f, *args)
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == expected.dtype
    assert ("dot_general" not in primitives(closed)) == rewritten, closed
    with unsimplified:
        plain, (plain_out,) = staged(f, *args)
    assert "dot_general" in primitives(plain)
    np.testing.assert_array_equal(out, plain_out)
    np.testing.assert_array_equal(np.asarray(funcgrad.jit(f)(*args)), expected)


def test_matrix_times_eye_is_the_matrix(unsimplified):
    x = RNG.normal(size=(3, 4))
    check_identity_dot(lambda a: a @ jnp.eye(4), (x,), x, unsimplified)
    check_identity_dot(lambda a: jnp.eye(3) @ a, (x,), x, unsimplified)
    check_identity_dot(lambda a: a.T @ jnp.eye(3), (x,), x.T, unsimplified)


@pytest.mark.parametrize("n,m,k", [(4, 4, 1), (4, 4, -2), (4, 6, 0), (4, 6, 3), (4, 2, -1),
                                   (4, 3, -3), (4, 5, 4)])
def test_shifted_eye_pads_or_crops(n, m, k, unsimplified):
    # (An all-zero shifted eye has nothing to keep: left as a product.)
    x = RNG.normal(size=(3, n))
    check_identity_dot(lambda a: a @ jnp.eye(n, m, k), (x,), x @ np.eye(n, m, k), unsimplified,
                       rewritten=np.eye(n, m, k).any())
    y = RNG.normal(size=(m, 2))
    check_identity_dot(lambda a: jnp.eye(n, m, k) @ a, (y,), np.eye(n, m, k) @ y, unsimplified,
                       rewritten=np.eye(n, m, k).any())
    check_identity_dot(lambda a: a @ jnp.eye(m, n, k).T, (x,), x @ np.eye(m, n, k).T,
                       unsimplified, rewritten=np.eye(m, n, k).any())


def test_shift_past_the_end_is_left_alone(unsimplified):
    # Every element is zero: nothing of x survives, the rule does not apply.
    x = RNG.normal(size=(3, 4))
    check_identity_dot(lambda a: a @ jnp.eye(4, 4, 5), (x,), np.zeros((3, 4)), unsimplified,
                       rewritten=False)


def test_eye_written_with_arange_and_comparison(unsimplified):
    x = RNG.normal(size=(3, 4))

    def f(a):
        eye = (jnp.arange(4)[:, None] == jnp.arange(4)[None, :] + 1).astype(a.dtype)
        return a @ eye
    check_identity_dot(f, (x,), x @ np.eye(4, 4, -1), unsimplified)


def test_batch_dimensions_and_extra_free_dimensions(unsimplified):
    a = RNG.normal(size=(2, 3, 4))
    # E broadcast along a batch dimension of the product.
    eye_b = lambda: lax.broadcast_in_dim(jnp.eye(4), (2, 4, 4), (1, 2))
    check_identity_dot(lambda v: lax.dot_general(v, eye_b(), (((2,), (1,)), ((0,), (0,)))),
                       (a,), a, unsimplified)
    check_identity_dot(lambda v: lax.dot_general(eye_b(), v, (((1,), (2,)), ((0,), (0,)))),
                       (a,), np.swapaxes(a, 1, 2), unsimplified)
    # E with a further free dimension: the operand is broadcast along it.
    x = a[0]
    eye_3 = lambda: lax.broadcast_in_dim(jnp.eye(4), (4, 5, 4), (0, 2))
    check_identity_dot(lambda v: lax.dot_general(v, eye_3(), (((1,), (0,)), ((), ()))),
                       (x,), np.broadcast_to(x[:, None, :], (3, 5, 4)), unsimplified)
    check_identity_dot(lambda v: jnp.einsum("bij,jk->bik", v, jnp.eye(4)), (a,), a,
                       unsimplified)


def test_under_vmap(unsimplified):
    xs = RNG.normal(size=(5, 3, 4))
    check_identity_dot(funcgrad.vmap(lambda a: a @ jnp.eye(4, 4, 1)), (xs,),
                       xs @ np.eye(4, 4, 1), unsimplified)


def test_trace_and_float32(unsimplified):
    x = RNG.normal(size=(4, 4))
    # Both diagonal dimensions contracted (a trace): not an identity product.
    check_identity_dot(lambda a: lax.dot_general(a, jnp.eye(4), (((0, 1), (0, 1)), ((), ()))),
                       (x,), np.asarray(np.trace(x)), unsimplified, rewritten=False)
    x32 = x.astype(np.float32)
    check_identity_dot(lambda a: a @ jnp.eye(4, dtype=np.float32), (x32,), x32, unsimplified)


def test_wrapping_iota_is_not_an_identity(unsimplified):
    # An int8 iota of length 300 wraps: rows 0 and 256 compare equal.
    n = 300
    x = RNG.normal(size=(2, n))

    def eye_int8():
        rows = lax.broadcasted_iota(np.int8, (n, n), 0)
        cols = lax.broadcasted_iota(np.int8, (n, n), 1)
        return lax.convert_element_type(lax.eq(rows, cols), np.float64)
    idx = np.arange(n).astype(np.int8)
    expected = x @ (idx[:, None] == idx[None, :]).astype(np.float64)
    closed, (out,) = staged(lambda a: a @ eye_int8(), x)
    assert "dot_general" in primitives(closed)
    np.testing.assert_allclose(out, expected, rtol=1e-13)


def test_non_finite_values_stay_in_their_element():
    # Documented: X @ I is X even when X holds inf (the unrewritten product
    # would spread NaN = inf * 0 along the row).
    x = np.array([[np.inf, 1.0], [2.0, np.nan]])
    _, (out,) = staged(lambda a: a @ jnp.eye(2), x)
    np.testing.assert_array_equal(out, x)


# ------------------------------------------------------------ layout chains
@pytest.mark.parametrize("f", [lambda x: x.T.T,
                               lambda x: x.T.reshape(6).reshape(3, 2).T,
                               lambda x: jnp.reshape(jnp.reshape(x, (6,)), (2, 3)),
                               lambda x: jnp.squeeze(jnp.moveaxis(x[:, None, :], 1, 2), 2)])
def test_layout_chain_back_to_the_start_is_the_input(f):
    x = RNG.normal(size=(2, 3))
    closed, (out,) = staged(f, x)
    assert closed.eqns == [], closed
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("f,ref", [
    (lambda x: x.T.reshape(6).reshape(2, 3), lambda x: x.T.reshape(6).reshape(2, 3)),
    (lambda x: jnp.moveaxis(x[:, :, None], 2, 0).reshape(2, 3),
     lambda x: np.moveaxis(x[:, :, None], 2, 0).reshape(2, 3)),
    (lambda x: x.reshape(3, 2).T.T, lambda x: x.reshape(3, 2))])
def test_layout_chain_that_moves_elements_is_kept(f, ref):
    x = RNG.normal(size=(2, 3))
    _, (out,) = staged(f, x)
    np.testing.assert_array_equal(out, ref(x))


# ------------------------------------------------------------ ones
def test_multiplying_by_a_broadcast_or_converted_one_is_dropped():
    x = RNG.normal(size=(2, 3))
    for ones in (lambda: jnp.broadcast_to(jnp.ones((1, 3)), (2, 3)),
                 lambda: jnp.ones((2, 3), np.int32).astype(np.float64)):
        closed, (out,) = staged(lambda a: a * ones(), x)
        assert "mul" not in primitives(closed), closed
        np.testing.assert_array_equal(out, x)


def test_operands_from_multi_output_equations():
    # lu has three results; the matchers walking producers must skip it.
    a = RNG.normal(size=(3, 3))
    x = RNG.normal(size=(3, 2))
    closed, (out,) = staged(lambda m: lax.lu(m)[0] @ x, a)
    assert "dot_general" in primitives(closed)
    np.testing.assert_allclose(out, np.asarray(lax.lu(a)[0]) @ x, rtol=1e-14)
