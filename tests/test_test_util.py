"""``funcgrad.test_util``: check_grads passes on correct derivatives and,
above all, fails on wrong ones (a wrong jvp, a wrong transpose, a wrong
second derivative), naming the mode, order and argument."""
import doctest

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax, test_util
from funcgrad.core.ad_util import defjvp, deflinear
from funcgrad.core.primitive import Primitive, registry
from funcgrad.test_util import check_grads, check_jvp, check_vjp, numerical_jvp


# ------------------------------------------------------------ deliberately wrong rules
def _private_primitive(name, impl):
    """A unary float primitive that stays out of the global registry (the
    registry walks must not see these deliberately broken rules)."""
    p = Primitive(name)
    registry.pop(name)
    p.impl = lambda x: [impl(x)]
    p.abstract_eval = lambda a: [a.strip_weak_type()]
    return p


# bad_cos: cos with the sign of its derivative flipped (d/dx cos = +sin, wrong).
bad_cos_p = _private_primitive("test_util_bad_cos", np.cos)
defjvp(bad_cos_p, lambda t, x: lax.mul(t, lax.sin(x)))
# good_sin_bad_second: first derivative right (via bad_cos), second wrong.
sin2_p = _private_primitive("test_util_sin_bad_second", np.sin)
defjvp(sin2_p, lambda t, x: lax.mul(t, bad_cos_p.bind(x)))
# twice: the linear map x -> 2x with a correct jvp but a wrong transpose (3 ct).
twice_p = _private_primitive("test_util_twice", lambda x: 2 * x)
deflinear(twice_p)
twice_p.transpose = lambda cts, x: [lax.mul(cts[0], 3.0)]


def test_private_primitives_behave_as_intended():
    x = np.array([0.3, 1.2])
    np.testing.assert_allclose(funcgrad.jvp(lambda v: sin2_p.bind(v), (x,), (np.ones(2),))[1],
                               np.cos(x))
    np.testing.assert_allclose(funcgrad.jvp(lambda v: bad_cos_p.bind(v), (x,), (np.ones(2),))[1],
                               np.sin(x))
    assert "test_util_twice" not in registry


# ------------------------------------------------------------ passes on correct functions
def test_passes_elementwise_second_order():
    check_grads(lambda x: jnp.sin(x) * jnp.exp(x / 3), (np.linspace(-1, 1, 4),), order=2)


def test_passes_third_order_both_modes():
    check_grads(lambda x, y: jnp.sum(jnp.tanh(x) * y ** 2), (np.array([0.2, -0.7]), 1.3), order=3)


def test_passes_pytree_args_and_outputs():
    def f(params, x):
        h = jnp.tanh(params["w"] @ x + params["b"])
        return {"h": h, "stats": (jnp.sum(h), jnp.max(h))}

    rng = np.random.default_rng(1)
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(3)}
    check_grads(f, (params, rng.standard_normal(2)), order=2)


def test_passes_with_integer_arguments_and_outputs():
    def f(x, n):
        return x ** n, jnp.argmax(x)

    check_grads(f, (np.array([0.5, 1.5, 2.5]), 3), order=2)


def test_passes_float32_with_default_tolerances():
    x = np.array([0.3, -0.8, 1.1], np.float32)
    check_grads(lambda x: jnp.sum(jnp.sin(x) * jnp.exp(x)), (x,), order=2)
    check_grads(lambda x: jnp.tanh(x) * 3.0, (x,), order=1)


def test_passes_funcgrad_array_and_python_scalar_arguments():
    # .at[] needs a funcgrad Array even in the finite-difference evaluations.
    def f(a, s):
        return a.at[1].set(s * a[0]) ** 2

    check_grads(f, (jnp.array([1.0, 2.0, 3.0]), 0.7), order=2)


def test_check_jvp_and_check_vjp_accept_hand_written_rules():
    def f(x, y):
        return jnp.sin(x) * y

    def f_jvp(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        return f(x, y), jnp.cos(x) * y * tx + jnp.sin(x) * ty

    def f_vjp(x, y):
        return f(x, y), lambda ct: (jnp.cos(x) * y * ct, jnp.sum(jnp.sin(x) * ct))

    args = (np.array([0.1, 0.5, 0.9]), 2.0)
    check_jvp(f, f_jvp, args)
    check_vjp(f, f_vjp, args)


def test_complex_functions_follow_jax_vjp_convention():
    z = np.array([1 + 0.5j, -0.3 + 2j])
    check_grads(lambda v: jnp.sin(v) * v, (z,), order=2)               # holomorphic
    check_grads(lambda v: jnp.conj(v) * v + jnp.real(v), (z,), order=2)  # not holomorphic
    a = 1 + 2j
    # vjp transposes (ct * a); the adjoint (ct * conj(a)) is a wrong vjp.
    check_vjp(lambda v: a * v, lambda v: (a * v, lambda ct: (ct * a,)), (z,))
    with pytest.raises(AssertionError, match="cotangent projection"):
        check_vjp(lambda v: a * v, lambda v: (a * v, lambda ct: (ct * np.conj(a),)), (z,))


def test_numerical_jvp_matches_analytic():
    out, _ = numerical_jvp(lambda x: {"y": x ** 3}, (np.array([1.0, 2.0]),),
                           (np.array([1.0, -1.0]),), 1e-5)
    np.testing.assert_allclose(out[0], [3.0, -12.0], rtol=1e-8)


# ------------------------------------------------------------ fails on wrong derivatives
def test_check_jvp_fails_on_a_wrong_rule_and_names_the_argument():
    def f(x, y):
        return jnp.sin(x) * y

    def wrong_jvp(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        return f(x, y), jnp.cos(x) * y * tx + jnp.cos(x) * ty   # d/dy is sin(x), not cos(x)

    with pytest.raises(AssertionError, match=r"forward mode.*order 1.*'y'") as info:
        check_jvp(f, wrong_jvp, (np.array([0.1, 0.5]), 2.0))
    assert "'x'" not in info.value.args[0].split("with respect to")[1]
    assert "max abs error" in info.value.args[0]


def test_check_jvp_fails_on_wrong_primal_and_wrong_tangent_dtype():
    x = np.array([0.1, 0.5], np.float32)
    with pytest.raises(AssertionError, match="primal"):
        check_jvp(jnp.sin, lambda p, t: (jnp.cos(p[0]), jnp.cos(p[0]) * t[0]), (x,))
    with pytest.raises(AssertionError, match="dtype float64"):
        check_jvp(jnp.sin, lambda p, t: (jnp.sin(p[0]), np.cos(p[0]).astype(np.float64) * t[0]),
                  (x,))


def test_a_nan_derivative_fails_and_shows_as_nan():
    with pytest.raises(AssertionError, match="max abs error nan"):
        check_jvp(jnp.sin, lambda p, t: (jnp.sin(p[0]), t[0] * np.nan), (np.array([0.1, 0.5]),))


def test_check_vjp_fails_on_a_wrong_rule_and_names_the_argument():
    def f(x, y):
        return jnp.sin(x) * y

    def wrong_vjp(x, y):
        return f(x, y), lambda ct: (jnp.cos(x) * y * ct, jnp.sum(jnp.sin(x) * ct) * 1.01)

    with pytest.raises(AssertionError, match=r"reverse mode.*order 1.*cotangent for args\[1\]"):
        check_vjp(f, wrong_vjp, (np.array([0.1, 0.5]), 2.0))


def test_check_vjp_fails_on_wrong_cotangent_shape():
    with pytest.raises(AssertionError, match=r"shape \(\)"):
        check_vjp(jnp.sin, lambda x: (jnp.sin(x), lambda ct: (jnp.sum(ct),)), (np.ones(3),))


def test_check_grads_fails_on_a_wrong_jvp_rule_in_both_modes():
    x = np.array([0.4, 1.3])
    for mode in ("fwd", "rev"):
        with pytest.raises(AssertionError, match="order 1"):
            check_grads(lambda v: bad_cos_p.bind(v), (x,), order=1, modes=(mode,))


def test_check_grads_fails_on_a_wrong_transpose_only_in_reverse_mode():
    x = np.array([0.4, 1.3])
    check_grads(lambda v: jnp.sin(twice_p.bind(v)), (x,), order=2, modes=("fwd",))
    with pytest.raises(AssertionError, match=r"reverse mode \(rev\), derivative order 1, VJP "):
        check_grads(lambda v: jnp.sin(twice_p.bind(v)), (x,), order=1, modes=("rev",))


@pytest.mark.parametrize("mode, what", [("fwd", "JVP of JVP"), ("rev", "VJP of VJP")])
def test_check_grads_catches_a_wrong_second_derivative_only_at_order_2(mode, what):
    x = np.array([0.4, 1.3])

    def f(v):
        return sin2_p.bind(v)

    check_grads(f, (x,), order=1, modes=(mode,))          # the first derivative is right
    with pytest.raises(AssertionError, match=f"derivative order 2, {what} of f"):
        check_grads(f, (x,), order=2, modes=(mode,))


def test_tolerances_can_be_loosened_and_tightened():
    def f(x):
        return jnp.sin(x) * jnp.exp(x)

    def slightly_wrong(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), (jnp.cos(x) + jnp.sin(x)) * jnp.exp(x) * t * (1 + 1e-4)

    x = (np.array([0.3, 0.9]),)
    with pytest.raises(AssertionError):
        check_jvp(f, slightly_wrong, x)
    check_jvp(f, slightly_wrong, x, atol=1e-3, rtol=1e-3)
    check_jvp(f, slightly_wrong, x, atol={np.float64: 1e-3}, rtol={np.float64: 1e-3})


def test_bad_arguments():
    with pytest.raises(ValueError, match="modes"):
        check_grads(jnp.sin, (1.0,), order=1, modes=("forward",))
    with pytest.raises(ValueError, match="order"):
        check_grads(jnp.sin, (1.0,), order=0)


def test_docstring_examples():
    result = doctest.testmod(test_util, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
