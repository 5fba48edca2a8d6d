"""vmap of functions with custom derivative rules (custom_jvp, custom_vjp).

Both rules below are deliberately *not* the true derivative (they clip the
x-derivative to [-0.5, 0.5]), so a per-example gradient that silently
differentiated the body instead of using the rule would be caught.  The
reference is a Python loop over the batch (``loop`` from the reductions'
vmap tests) or the rule written out in NumPy; vmapped functions run eagerly
and staged.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import custom_jvp, custom_vjp, grad, jvp, linearize, vmap
from funcgrad.transforms.transpose import linear_transpose
from tests.lax.test_reductions_vmap import loop, run_vmap_case
from tests.util import arrays, assert_close, eager_and_staged

SHAPE = (3,)


@custom_jvp
def sin_times(x, y):
    return jnp.sin(x) * y


@sin_times.defjvp
def _sin_times_jvp(primals, tangents):
    (x, y), (tx, ty) = primals, tangents
    return sin_times(x, y), jnp.clip(jnp.cos(x), -0.5, 0.5) * y * tx + jnp.sin(x) * ty


@custom_vjp
def sin_times_v(x, y):
    return jnp.sin(x) * y


def _sin_times_v_fwd(x, y):
    return sin_times_v(x, y), (jnp.cos(x), jnp.sin(x), y)


def _sin_times_v_bwd(res, g):
    cos_x, sin_x, y = res
    return jnp.clip(cos_x * y * g, -0.5, 0.5), sin_x * g


sin_times_v.defvjp(_sin_times_v_fwd, _sin_times_v_bwd)


# The rules in NumPy (what every per-example gradient must equal).
def rule_dx_jvp(x, y, g=1.0):
    return np.clip(np.cos(x), -0.5, 0.5) * y * g


def rule_dx_vjp(x, y, g=1.0):
    return np.clip(np.cos(x) * y * g, -0.5, 0.5)


FUNCS = {"custom_jvp": (sin_times, rule_dx_jvp), "custom_vjp": (sin_times_v, rule_dx_vjp)}


def _floats(shape):
    return arrays(np.float64, shape, min_value=-3, max_value=3)


def _loss(f):
    return lambda x, y: jnp.sum(f(x, y))


# ------------------------------------------------------------------ values
@pytest.mark.parametrize("kind", sorted(FUNCS))
@given(data=st.data())
def test_vmap_values(kind, data):
    f, _ = FUNCS[kind]
    run_vmap_case(data.draw, f, [(SHAPE, _floats), (SHAPE, _floats)])


# ------------------------------------------------ per-example gradients
@pytest.mark.parametrize("kind", sorted(FUNCS))
@given(data=st.data())
def test_vmap_of_grad_matches_loop(kind, data):
    f, _ = FUNCS[kind]
    run_vmap_case(data.draw, grad(_loss(f), argnums=(0, 1)), [(SHAPE, _floats), (SHAPE, _floats)])


@pytest.mark.parametrize("kind", sorted(FUNCS))
def test_vmap_of_grad_uses_the_rule(kind):
    f, rule_dx = FUNCS[kind]
    xs = np.linspace(-1.0, 1.0, 12).reshape(4, 3)
    y = np.array([2.0, -1.5, 0.3])
    actual = eager_and_staged(vmap(grad(_loss(f)), in_axes=(0, None)), xs, y)
    expected = rule_dx(xs, y)
    assert_close(actual, expected)
    # The body's derivative differs, so the rule was really used.
    assert not np.allclose(expected, np.cos(xs) * y)
    assert_close(actual, loop(grad(_loss(f)), (0, None))(xs, y))


@pytest.mark.parametrize("kind", sorted(FUNCS))
@given(data=st.data())
def test_grad_of_vmap(kind, data):
    f, rule_dx = FUNCS[kind]
    n = data.draw(st.integers(1, 3))
    xs = data.draw(_floats((n,) + SHAPE))
    y = data.draw(_floats(SHAPE))
    axis = data.draw(st.sampled_from([0, 1, -1, -2]))
    xs_in = np.moveaxis(xs, 0, axis)
    w = np.linspace(-2.0, 2.0, n * SHAPE[0]).reshape((n,) + SHAPE)

    def total(xs_in, y):
        return jnp.sum(vmap(f, in_axes=(axis, None))(xs_in, y) * w)

    gx, gy = eager_and_staged(grad(total, argnums=(0, 1)), xs_in, y)
    assert_close(gx, np.moveaxis(rule_dx(xs, y, w), 0, axis))
    # y is shared by the members: its gradient sums theirs.
    assert_close(gy, np.sum(np.sin(xs) * w, axis=0))


@given(data=st.data())
def test_vmap_of_jvp_of_custom_jvp(data):
    def f_jvp(x, y, tx):
        return jvp(sin_times, (x, y), (tx, jnp.ones_like(y)))
    run_vmap_case(data.draw, f_jvp, [(SHAPE, _floats)] * 3)


def test_vmap_of_hessian_of_custom_jvp():
    # Second derivatives differentiate the rule; per example as in a loop.
    xs = np.linspace(-2.0, 2.0, 12).reshape(4, 3)
    y = np.array([2.0, -1.5, 0.3])
    h = funcgrad.hessian(_loss(sin_times))
    assert_close(eager_and_staged(vmap(h, in_axes=(0, None)), xs, y), loop(h, (0, None))(xs, y))


def test_vmap_of_jacrev_of_custom_vjp():
    xs = np.linspace(-2.0, 2.0, 12).reshape(4, 3)
    y = np.array([2.0, -1.5, 0.3])
    jac = funcgrad.jacrev(sin_times_v)
    actual = eager_and_staged(vmap(jac, in_axes=(0, None)), xs, y)
    assert_close(actual, loop(jac, (0, None))(xs, y))
    assert_close(np.diagonal(actual, axis1=1, axis2=2), rule_dx_vjp(xs, y))


# -------------------------------- custom_lin: the opaque map under vmap
def test_vmap_of_jvp_of_custom_vjp_is_the_forward_mode_error():
    xs = np.ones((2, 3))
    with pytest.raises(TypeError, match="forward-mode.*sin_times_v"):
        vmap(lambda x, t: jvp(lambda x: sin_times_v(x, x), (x,), (t,)))(xs, xs)
    _, f_lin = linearize(sin_times_v, xs[0], xs[0])
    with pytest.raises(TypeError, match="forward-mode.*sin_times_v"):
        vmap(f_lin, in_axes=(0, None))(xs, xs[0])


def test_transpose_of_vmapped_linear_map_uses_bwd():
    # A linearized custom_vjp function evaluated on a batch of tangents
    # (some shared) and transposed: bwd runs batched, and the cotangent of
    # the shared tangent sums the members'.
    x0, y0 = np.array([0.1, 1.0, -2.0]), np.array([3.0, -0.2, 1.0])
    _, f_lin = linearize(sin_times_v, x0, y0)
    batched = vmap(f_lin, in_axes=(0, None))
    tx, ty = np.ones((4, 3)), np.ones(3)
    cts = np.linspace(-1.0, 1.0, 12).reshape(4, 3)
    ct_x, ct_y = linear_transpose(batched, tx, ty)(cts)
    assert_close(ct_x, rule_dx_vjp(x0, y0, cts))
    assert_close(ct_y, np.sum(np.sin(x0) * cts, axis=0))


def test_transpose_of_vmapped_linearization_with_batched_residuals():
    xs = np.linspace(-2.0, 2.0, 12).reshape(4, 3)
    y0 = np.array([3.0, -0.2, 1.0])

    def tangent_map(txs):
        def member(x, t):
            return linearize(lambda x: sin_times_v(x, y0), x)[1](t)
        return vmap(member)(xs, txs)

    cts = np.linspace(-1.0, 1.0, 12).reshape(4, 3)
    (ct_x,) = linear_transpose(tangent_map, np.ones((4, 3)))(cts)
    assert_close(ct_x, rule_dx_vjp(xs, y0, cts))


# -------------------------------------- closures over batched values
@pytest.mark.parametrize("kind", sorted(FUNCS))
def test_vmap_of_custom_function_closing_over_a_batched_value(kind):
    xs, cs = np.linspace(-2.0, 2.0, 3), np.array([1.0, 2.0, 3.0])

    def outer(x, c):
        if kind == "custom_jvp":
            h = custom_jvp(lambda x: x * c)
            h.defjvp(lambda p, t: (h(p[0]), t[0] * c))
        else:
            h = custom_vjp(lambda x: x * c)
            h.defvjp(lambda x: (h(x), None), lambda r, g: (g * c,))
        return h(x)

    # The function runs as written (its rule cannot see the batch), so
    # values and per-member derivatives are right.
    assert_close(np.asarray(vmap(outer)(xs, cs)), xs * cs)
    assert_close(np.asarray(vmap(grad(outer))(xs, cs)), cs)
