"""custom_jvp, custom_vjp and stop_gradient: the rules are used, nest, and
fail clearly when misused.  References are analytic derivatives."""
import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax
from tests.util import assert_close


@funcgrad.custom_jvp
def softplus(x):
    return jnp.log1p(jnp.exp(x))


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus(x), t * lax.logistic(x)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_custom_jvp_rule_is_used_where_the_body_overflows():
    # The body's own derivative is exp(x)/(1+exp(x)) = inf/inf = nan at 1000.
    assert_close(funcgrad.grad(softplus)(1000.0), np.float64(1.0), check_dtype=False)
    naive = funcgrad.grad(lambda x: jnp.log1p(jnp.exp(x)))(1000.0)
    assert np.isnan(naive)


@pytest.mark.parametrize("x", [-3.0, 0.0, 0.7, 5.0])
def test_custom_jvp_all_modes_and_orders(x):
    s = _sigmoid(x)
    assert_close(softplus(x), np.log1p(np.exp(x)), check_dtype=False)
    _, t = funcgrad.jvp(softplus, (x,), (2.0,))
    assert_close(t, 2.0 * s, check_dtype=False)
    assert_close(funcgrad.grad(softplus)(x), s, check_dtype=False)
    # Higher orders differentiate the rule itself (logistic' = s(1-s)).
    assert_close(funcgrad.grad(funcgrad.grad(softplus))(x), s * (1 - s), check_dtype=False)
    assert_close(funcgrad.jvp(funcgrad.grad(softplus), (x,), (1.0,))[1], s * (1 - s),
                 check_dtype=False)
    third = funcgrad.grad(funcgrad.grad(funcgrad.grad(softplus)))(x)
    assert_close(third, s * (1 - s) * (1 - 2 * s), check_dtype=False)


def test_custom_jvp_on_arrays_staged_and_under_jacobians():
    x = np.array([-1.0, 0.5, 2.0])
    assert_close(funcgrad.jacrev(softplus)(x), np.diag(_sigmoid(x)))
    assert_close(funcgrad.jacfwd(softplus)(x), np.diag(_sigmoid(x)))
    closed = funcgrad.make_jaxpr(funcgrad.grad(lambda v: jnp.sum(softplus(v))))(x)
    names = [e.primitive.name for e in closed.eqns]
    assert "logistic" in names and "log1p" not in names  # the rule, not the body
    (g,) = funcgrad.eval_jaxpr(closed.jaxpr, closed.consts, x)
    assert_close(g, _sigmoid(x))


def test_custom_jvp_defjvps_nondiff_argnums_and_pytrees():
    @funcgrad.custom_jvp
    def scaled_sin(x, y):
        return jnp.sin(x) * y

    scaled_sin.defjvps(lambda t, out, x, y: jnp.cos(x) * y * t,
                       lambda t, out, x, y: jnp.sin(x) * t)
    gx, gy = funcgrad.grad(scaled_sin, (0, 1))(0.3, 2.0)
    assert_close(gx, np.cos(0.3) * 2.0, check_dtype=False)
    assert_close(gy, np.sin(0.3), check_dtype=False)

    def power(n, x):
        return x ** n
    power = funcgrad.custom_jvp(power, nondiff_argnums=(0,))

    @power.defjvp
    def _power_jvp(n, primals, tangents):
        (x,), (t,) = primals, tangents
        return power(n, x), n * x ** (n - 1) * t

    assert_close(funcgrad.grad(power, 1)(3, 2.0), 12.0, check_dtype=False)

    @funcgrad.custom_jvp
    def norm2(p):
        return {"sq": p["a"] ** 2 + p["b"] ** 2}

    @norm2.defjvp
    def _norm2_jvp(primals, tangents):
        (p,), (t,) = primals, tangents
        return norm2(p), {"sq": 2 * p["a"] * t["a"] + 2 * p["b"] * t["b"]}

    g = funcgrad.grad(lambda p: norm2(p)["sq"])({"a": 1.0, "b": 3.0})
    assert_close(g["a"], 2.0, check_dtype=False)
    assert_close(g["b"], 6.0, check_dtype=False)


def test_custom_jvp_errors():
    @funcgrad.custom_jvp
    def f(x):
        return x

    with pytest.raises(AttributeError, match="defjvp"):
        f(1.0)

    f.defjvp(lambda primals, tangents: primals[0])  # not a pair
    with pytest.raises(TypeError, match="pair"):
        funcgrad.jvp(f, (1.0,), (1.0,))

    f.defjvp(lambda primals, tangents: (primals[0], jnp.ones(3)))  # wrong tangent shape
    with pytest.raises(ValueError, match="shape"):
        funcgrad.jvp(f, (1.0,), (1.0,))


def test_custom_jvp_closing_over_a_differentiated_value():
    def make(y):
        @funcgrad.custom_jvp
        def f(x):
            return x * y

        f.defjvp(lambda primals, tangents: (f(primals[0]), tangents[0] * y))
        return f

    # Called on constants, the function runs as written and the closed-over
    # value is differentiated through its body: d(2y)/dy = 2.
    assert_close(funcgrad.grad(lambda y: make(y)(2.0))(3.0), 2.0, check_dtype=False)
    # When the rule itself would have to see the differentiated closure,
    # it cannot be right: refuse rather than return a wrong derivative.
    with pytest.raises(TypeError, match="closes over"):
        funcgrad.grad(lambda y: make(y)(y))(3.0)


@funcgrad.custom_vjp
def clip_gradient(x):
    return x


clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (jnp.clip(g, -1.0, 1.0),))


def test_custom_vjp_rule_replaces_the_derivative():
    assert_close(funcgrad.grad(lambda x: 5.0 * clip_gradient(x))(2.0), 1.0, check_dtype=False)
    assert_close(funcgrad.grad(lambda x: 0.5 * clip_gradient(x))(2.0), 0.5, check_dtype=False)
    assert_close(clip_gradient(2.0), 2.0, check_dtype=False)
    x = np.array([1.0, -2.0, 3.0])
    assert_close(funcgrad.jacrev(lambda v: 3.0 * clip_gradient(v))(x), np.eye(3))


@funcgrad.custom_vjp
def sin_times(x, y):
    return jnp.sin(x) * y


def _sin_times_fwd(x, y):
    return sin_times(x, y), (jnp.cos(x), jnp.sin(x), y)


def _sin_times_bwd(res, g):
    cos_x, sin_x, y = res
    return cos_x * g * y, sin_x * g


sin_times.defvjp(_sin_times_fwd, _sin_times_bwd)


def test_custom_vjp_first_and_second_order():
    x, y = 0.8, 2.0
    gx, gy = funcgrad.grad(sin_times, (0, 1))(x, y)
    assert_close(gx, np.cos(x) * y, check_dtype=False)
    assert_close(gy, np.sin(x), check_dtype=False)
    # Reverse over reverse and forward over reverse differentiate bwd.
    assert_close(funcgrad.grad(funcgrad.grad(sin_times))(x, y), -np.sin(x) * y, check_dtype=False)
    h = funcgrad.hessian(sin_times, (0, 1))(x, y)
    expected = [[-np.sin(x) * y, np.cos(x)], [np.cos(x), 0.0]]
    for i in range(2):
        for j in range(2):
            assert_close(h[i][j], expected[i][j], check_dtype=False)


def test_custom_vjp_forward_mode_is_refused():
    with pytest.raises(TypeError, match="forward-mode.*clip_gradient"):
        funcgrad.jvp(clip_gradient, (1.0,), (1.0,))
    with pytest.raises(TypeError, match="forward-mode"):
        funcgrad.jacfwd(clip_gradient)(np.ones(2))


def test_custom_vjp_none_cotangent_nondiff_argnums_and_errors():
    def scale(k, x):
        return k * x
    scale = funcgrad.custom_vjp(scale, nondiff_argnums=(0,))
    scale.defvjp(lambda k, x: (k * x, None), lambda k, res, g: (2.0 * k * g,))
    assert_close(funcgrad.grad(scale, 1)(3.0, 1.0), 6.0, check_dtype=False)

    @funcgrad.custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(lambda x, y: (x * y, y), lambda y, g: (g * y, None))
    gx, gy = funcgrad.grad(f, (0, 1))(2.0, 5.0)
    assert_close(gx, 5.0, check_dtype=False)
    assert_close(gy, 0.0, check_dtype=False)

    f.defvjp(lambda x, y: (x * y, y), lambda y, g: (g * y,))  # one cotangent too few
    with pytest.raises(TypeError, match="1 cotangents for 2"):
        funcgrad.grad(f)(2.0, 5.0)

    @funcgrad.custom_vjp
    def h(x):
        return x
    with pytest.raises(AttributeError, match="defvjp"):
        h(1.0)


def test_stop_gradient():
    f = lambda x: x * lax.stop_gradient(x)  # noqa: E731
    assert_close(funcgrad.grad(f)(3.0), 3.0, check_dtype=False)
    assert_close(funcgrad.jvp(f, (3.0,), (1.0,))[1], 3.0, check_dtype=False)
    tree = lax.stop_gradient({"a": np.ones(2), "b": 1})
    assert_close(tree["a"], np.ones(2))
    # Integers pass through unchanged.
    assert_close(lax.stop_gradient(np.arange(3)), np.arange(3))


def test_staged_custom_rules_survive_in_the_jaxpr():
    """make_jaxpr (and so jit) keeps a function with custom rules as one
    call equation; differentiating the staged jaxpr uses the rules."""
    closed = funcgrad.make_jaxpr(softplus)(1.0)
    assert [e.primitive.name for e in closed.eqns] == ["custom_jvp_call"]
    assert "_softplus_jvp" in str(closed)

    def staged(x):
        return funcgrad.eval_jaxpr(closed.jaxpr, closed.consts, x)[0]

    assert_close(staged(0.3), np.log1p(np.exp(0.3)), check_dtype=False)
    assert_close(funcgrad.grad(staged)(1000.0), 1.0, check_dtype=False)   # the rule, not nan
    x = np.array([-1.0, 2.0])
    assert_close(funcgrad.vmap(funcgrad.grad(staged))(x), _sigmoid(x))

    closed_vjp = funcgrad.make_jaxpr(lambda v: 5.0 * clip_gradient(v))(2.0)
    assert "custom_vjp_call" in [e.primitive.name for e in closed_vjp.eqns]
    g = funcgrad.grad(lambda v: funcgrad.eval_jaxpr(closed_vjp.jaxpr, closed_vjp.consts, v)[0])
    assert_close(g(2.0), 1.0, check_dtype=False)
