"""Partial evaluation and linearize: the primal work happens once, the
linear map holds only linear primitives and exactly the residuals it needs,
and undifferentiated inputs cost nothing.  References: analytic derivatives
and forward-mode jvp."""
import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core.ad_util import UndefinedPrimal
from funcgrad.transforms.partial_eval import linearize_flat
from funcgrad.transforms.transpose import backward_pass
from tests.util import assert_close

LINEAR_PRIMITIVES = {"mul", "neg", "add", "sub", "div", "convert_element_type", "select_n",
                     "broadcast_in_dim", "reduce_sum", "reshape", "transpose"}


def test_linearize_matches_jvp_and_runs_the_primal_once():
    calls = []

    def f(x):
        calls.append(1)
        return jnp.sin(x) * jnp.exp(x)

    x = np.array([0.1, 0.7, -1.2])
    y, f_jvp = funcgrad.linearize(f, x)
    assert len(calls) == 1
    for t in (np.ones(3), np.array([0.5, -2.0, 3.0])):
        expected = (np.cos(x) * np.exp(x) + np.sin(x) * np.exp(x)) * t
        assert_close(f_jvp(t), expected)
    assert len(calls) == 1  # f_jvp evaluates only the linear map
    assert_close(y, np.sin(x) * np.exp(x))


def test_linear_map_holds_linear_primitives_and_minimal_residuals():
    outs, linear = linearize_flat(lambda x: [jnp.sin(x)], [np.ones(4)])
    names = {e.primitive.name for e in linear.jaxpr.eqns}
    assert names <= LINEAR_PRIMITIVES, names
    # sin's linear map needs cos(x) and nothing else.
    assert len(linear.residuals) == 1
    assert_close(linear.residuals[0], np.cos(np.ones(4)))

    def f(x, y):
        return [jnp.tanh(x) * y + jnp.log(y)]

    _, linear = linearize_flat(f, [np.ones(3), np.full(3, 2.0)])
    names = {e.primitive.name for e in linear.jaxpr.eqns}
    assert names <= LINEAR_PRIMITIVES, names
    assert "tanh" not in names and "log" not in names


def test_undifferentiated_inputs_cost_nothing():
    big = np.ones((50, 50))
    _, linear = linearize_flat(lambda x, w: [jnp.sum(jnp.sin(x) * w[0, :3])], [np.ones(3), big],
                               diff_inputs=[True, False])
    assert len(linear.jaxpr.invars) == 1  # only x's tangent
    assert all(np.shape(r) != big.shape for r in linear.residuals)


def test_integer_inputs_and_outputs_have_symbolic_zero_tangents():
    outs, linear = linearize_flat(lambda x, n: [x * n, n + 1], [np.ones(2), np.arange(2)])
    assert linear.diff_inputs == [True, False]
    assert linear.zero_outputs == [False, True]
    y, f_jvp = funcgrad.linearize(lambda x, n: (x * n, n + 1), np.ones(2), np.arange(2))
    dy, dn = f_jvp(np.ones(2), np.zeros(2, np.int64))
    assert_close(dy, np.arange(2.0))
    assert_close(dn, np.zeros(2, np.int64))


def test_output_independent_of_input_transposes_to_zero():
    g = funcgrad.grad(lambda x: jnp.sum(jnp.ones(3)) + 0.0 * 0.0)(np.ones(2))
    assert_close(g, np.zeros(2))
    y, vjp_fun = funcgrad.vjp(lambda x: (x * 2.0, jnp.ones(2)), np.ones(2))
    (ct,) = vjp_fun((np.ones(2), np.ones(2)))
    assert_close(ct, np.full(2, 2.0))


def test_backward_pass_evaluates_nonlinear_constant_work_forwards():
    # The jaxpr of t -> t * sin(c) computes sin(c) from a constant: the
    # backward pass must run it forwards, then transpose the mul.
    c = np.array([0.3, 1.1])
    closed = funcgrad.make_jaxpr(lambda t: t * jnp.sin(c))(np.ones(2))
    (ct,) = backward_pass(closed.jaxpr, closed.consts,
                          [UndefinedPrimal(closed.jaxpr.invars[0].aval)], [np.array([1.0, 2.0])])
    assert_close(ct, np.sin(c) * [1.0, 2.0])


def test_linearize_under_make_jaxpr_stages_primal_and_tangent():
    def f(x):
        y, f_jvp = funcgrad.linearize(jnp.sin, x)
        return f_jvp(2.0 * x)

    closed = funcgrad.make_jaxpr(f)(1.0)
    funcgrad.check_jaxpr(closed)
    (value,) = funcgrad.eval_jaxpr(closed.jaxpr, closed.consts, 0.4)
    assert_close(value, np.cos(0.4) * 0.8, check_dtype=False)


def test_linearize_errors():
    _, f_jvp = funcgrad.linearize(jnp.sin, np.ones(3))
    with pytest.raises(ValueError, match="shape"):
        f_jvp(np.ones(4))
    with pytest.raises(TypeError, match="structure"):
        f_jvp(np.ones(3), np.ones(3))


def test_linear_transpose_of_a_closure_and_pytrees():
    def f(p):
        return {"y": lax.mul(p["u"], 3.0), "z": lax.neg(p["v"])}

    f_t = funcgrad.linear_transpose(f, {"u": np.ones(2), "v": np.ones(())})
    (ct,) = f_t({"y": np.array([1.0, 2.0]), "z": np.array(5.0)})
    assert_close(ct["u"], np.array([3.0, 6.0]))
    assert_close(ct["v"], np.array(-5.0))
    with pytest.raises(TypeError, match="structure"):
        f_t(np.ones(2))
