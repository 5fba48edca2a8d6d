"""The differentiation API's semantics and errors (JAX's): argnums,
has_aux, pytrees in and out, integer and non-scalar refusals, cotangent
checks, closures, constant functions, dtypes of gradients, what is staged
(golden jaxprs, no dead equations) and leaked tracers.  Values are compared
with analytic derivatives."""
import dataclasses
import re

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import (
    UnexpectedTracerError,
    grad,
    hessian,
    jacfwd,
    jacrev,
    jvp,
    linearize,
    tree_util,
    value_and_grad,
    vjp,
)
from funcgrad.core.trace import Tracer
from tests.util import assert_close


def close(actual, expected, **kw):
    assert_close(actual, expected, check_dtype=False, **kw)


def f2(x, y):
    return jnp.sum(jnp.sin(x) * y)


X, Y = np.array([0.3, 1.1]), np.array([2.0, -1.0])


# ------------------------------------------------------------ argnums
def test_argnums_int_tuple_and_negative():
    close(grad(f2)(X, Y), np.cos(X) * Y)
    close(grad(f2, argnums=1)(X, Y), np.sin(X))
    close(grad(f2, argnums=-1)(X, Y), np.sin(X))
    gx, gy = grad(f2, argnums=(0, 1))(X, Y)
    close(gx, np.cos(X) * Y)
    close(gy, np.sin(X))
    gy, gx = grad(f2, argnums=(-1, 0))(X, Y)   # order as given
    close(gy, np.sin(X))
    close(gx, np.cos(X) * Y)
    (g,) = grad(f2, argnums=(1,))(X, Y)        # a 1-tuple gives a 1-tuple
    close(g, np.sin(X))


@pytest.mark.parametrize("transform", [grad, value_and_grad, jacfwd, jacrev, hessian])
@pytest.mark.parametrize("argnums", [2, -3, (0, 2)])
def test_argnums_out_of_range(transform, argnums):
    with pytest.raises(TypeError, match=re.escape(f"argnums={argnums!r}")) as info:
        transform(f2, argnums=argnums)(X, Y)
    assert "called with 2" in str(info.value)


@pytest.mark.parametrize("argnums", ["a", 1.0, [0, "b"], ()])
def test_argnums_of_the_wrong_type(argnums):
    with pytest.raises(TypeError, match="argnums"):
        grad(f2, argnums=argnums)(X, Y)


def test_keyword_arguments_are_not_differentiated():
    def f(x, *, scale):
        return jnp.sum(x ** 2) * scale

    close(grad(f)(X, scale=3.0), 6 * X)


# ------------------------------------------------------------ has_aux
def _with_aux(x):
    y = jnp.sum(x ** 2)
    return y, {"y": y, "double": 2 * x}


def _is_plain(tree):
    return not any(isinstance(leaf, Tracer) for leaf in tree_util.tree_leaves(tree))


def test_has_aux_grad_and_value_and_grad():
    g, aux = grad(_with_aux, has_aux=True)(X)
    close(g, 2 * X)
    assert _is_plain(aux)
    close(aux["y"], np.sum(X ** 2))
    close(aux["double"], 2 * X)
    (value, aux), g = value_and_grad(_with_aux, has_aux=True)(X)
    close(value, np.sum(X ** 2))
    close(g, 2 * X)
    assert _is_plain(aux) and set(aux) == {"y", "double"}


def test_has_aux_vjp_jvp_linearize():
    out, pullback, aux = vjp(_with_aux, X, has_aux=True)
    close(out, np.sum(X ** 2))
    (ct,) = pullback(1.5)
    close(ct, 3 * X)
    assert _is_plain(aux)
    close(aux["double"], 2 * X)
    out, t, aux = jvp(_with_aux, (X,), (np.ones(2),), has_aux=True)
    close(out, np.sum(X ** 2))
    close(t, 2 * np.sum(X))
    assert _is_plain(aux)
    out, f_jvp, aux = linearize(_with_aux, X, has_aux=True)
    close(out, np.sum(X ** 2))
    close(f_jvp(np.ones(2)), 2 * np.sum(X))
    assert _is_plain(aux)


@pytest.mark.parametrize("jac", [jacfwd, jacrev])
def test_has_aux_jacobians(jac):
    def f(x):
        return jnp.sin(x), (jnp.cos(x), 7)

    j, (c, n) = jac(f, has_aux=True)(X)
    close(j, np.diag(np.cos(X)))
    close(c, np.cos(X))
    assert n == 7 and _is_plain(c)


@pytest.mark.parametrize("transform", [grad, value_and_grad, jacfwd, jacrev])
def test_has_aux_requires_a_pair(transform):
    with pytest.raises(TypeError, match="has_aux=True requires.*pair"):
        transform(lambda x: (jnp.sum(x), 1, 2), has_aux=True)(X)


def test_has_aux_error_names_grad():
    with pytest.raises(TypeError, match=r"^grad with has_aux=True") as info:
        grad(lambda x: x * x, has_aux=True)(3.0)
    assert "Tracer" not in str(info.value)


# ------------------------------------------------------------ pytrees
@tree_util.register_dataclass
@dataclasses.dataclass
class Layer:
    w: object
    b: object
    activation: str = dataclasses.field(default="tanh", metadata={"static": True})


def _layer_loss(layer, x):
    act = jnp.tanh if layer.activation == "tanh" else jnp.sin
    return jnp.sum(act(layer.w @ x + layer.b) ** 2)


def test_grad_of_a_registered_dataclass_dicts_and_tuples():
    rng = np.random.default_rng(0)
    w, b, x = rng.standard_normal((3, 2)), rng.standard_normal(3), rng.standard_normal(2)
    z = np.tanh(w @ x + b)
    dz = 2 * z * (1 - z ** 2)   # d loss / d pre-activation
    g = grad(_layer_loss)(Layer(w, b), x)
    assert isinstance(g, Layer) and g.activation == "tanh"
    close(g.w, np.outer(dz, x))
    close(g.b, dz)

    def f(params, pair):
        return _layer_loss(Layer(params["w"], params["b"]), pair[0]) * pair[1]

    gp, gpair = grad(f, argnums=(0, 1))({"w": w, "b": b}, (x, 2.0))
    assert set(gp) == {"w", "b"} and isinstance(gpair, tuple) and len(gpair) == 2
    close(gp["w"], 2 * np.outer(dz, x))
    close(gpair[0], 2 * w.T @ dz)
    close(gpair[1], np.sum(z ** 2))


def test_pytree_outputs_of_vjp_and_jacobians():
    def f(x):
        return {"a": jnp.sin(x), "b": [jnp.sum(x), x[0] * x[1]]}

    out, pullback = vjp(f, X)
    assert tree_util.tree_structure(out) == tree_util.tree_structure(f(X))
    (ct,) = pullback({"a": np.ones(2), "b": [2.0, 1.0]})
    close(ct, np.cos(X) + 2.0 + X[::-1])
    for jac in (jacfwd, jacrev):
        j = jac(f)(X)
        close(j["a"], np.diag(np.cos(X)))
        close(j["b"][0], np.ones(2))
        close(j["b"][1], X[::-1])


def test_jacobian_of_a_pytree_input_nests_input_structure_inside_output_structure():
    def f(p):
        return (p["u"] * p["v"][0], jnp.sum(p["u"]))

    p = {"u": np.array([1.0, 2.0, 3.0]), "v": (2.0,)}
    for jac in (jacfwd, jacrev):
        j0, j1 = jac(f)(p)
        close(j0["u"], 2.0 * np.eye(3))
        close(j0["v"][0], p["u"])
        close(j1["u"], np.ones(3))
        close(j1["v"][0], 0.0)


# ------------------------------------------------------------ integer inputs
def test_integer_input_to_grad_is_refused_naming_the_argument():
    def f(x, n):
        return jnp.sum(x) * n

    with pytest.raises(TypeError, match=r"argument n of f has dtype int64"):
        grad(f, argnums=1)(X, 3)
    with pytest.raises(TypeError, match=r"argument p\['k'\] of .* has dtype int"):
        grad(lambda p: jnp.sum(p["x"]) * p["k"])({"x": X, "k": np.arange(2)})
    with pytest.raises(TypeError, match="argument x"):
        jacrev(lambda x: x * 2)(np.arange(3))
    close(grad(f)(X, 3), 3 * np.ones(2))     # the int is not differentiated


def test_allow_int_gives_a_zero_gradient():
    g = grad(lambda x, n: jnp.sum(x) * jnp.sum(n), argnums=(0, 1), allow_int=True)(
        X, np.arange(3))
    close(g[0], 3.0 * np.ones(2))
    assert np.shape(g[1]) == (3,) and not np.any(np.asarray(g[1]))


def test_integer_inputs_to_vjp_get_zero_cotangents():
    out, pullback = vjp(lambda n, x: x * n, np.arange(3), 2.0)
    close(out, 2.0 * np.arange(3))
    ct_n, ct_x = pullback(np.ones(3))
    assert np.shape(ct_n) == (3,) and not np.any(np.asarray(ct_n))
    close(ct_x, 3.0)


# ------------------------------------------------------------ output checks
@pytest.mark.parametrize("f, pattern", [
    (jnp.sin, r"shape \(3,\)"),
    (lambda x: x[:, None] * x, r"shape \(3, 3\)"),
    (lambda x: (jnp.sum(x), jnp.sum(x)), r"return a scalar.*tuple"),
    (lambda x: jnp.argmax(x), r"real floating-point scalar.*i64\[\]"),
    (lambda x: jnp.sum(x) * 1j, r"real floating-point scalar.*c128\[\]"),
    (lambda x: jnp.sum(x) > 0, r"bool\[\]"),
])
def test_grad_refuses_non_scalar_and_non_real_outputs(f, pattern):
    with pytest.raises(TypeError, match=pattern):
        grad(f)(np.array([0.1, 0.2, 0.3]))
    with pytest.raises(TypeError, match=pattern):
        value_and_grad(f)(np.array([0.1, 0.2, 0.3]))


def test_vjp_checks_the_cotangent():
    _, pullback = vjp(lambda x: (jnp.sin(x), jnp.sum(x)), np.ones(3))
    with pytest.raises(ValueError, match=r"shape \(2,\).*shape \(3,\)"):
        pullback((np.ones(2), 1.0))
    with pytest.raises(TypeError, match="structure"):
        pullback(np.ones(3))
    with pytest.raises(TypeError, match="structure"):
        pullback([np.ones(3), 1.0])
    with pytest.raises(TypeError, match="dtype float32"):
        pullback((np.ones(3, np.float32), 1.0))
    ct_x, = pullback((np.ones(3), 2.0))    # a Python scalar cotangent is weak: accepted
    close(ct_x, np.cos(1.0) + 2.0 * np.ones(3))


# ------------------------------------------------------------ closures and constants
def test_closure_over_arrays():
    A = np.array([[1.0, 2.0], [3.0, 4.0]])

    def f(x):
        return jnp.sum(jnp.tanh(A @ x))

    t = np.tanh(A @ X)
    close(grad(f)(X), A.T @ (1 - t ** 2))


def test_no_perturbation_confusion_in_nested_closures():
    # d/dx [x * d/dy (x + y)] = d/dx [x] = 1, not 2.
    close(grad(lambda x: x * grad(lambda y: x + y)(1.0))(2.0), 1.0)
    close(jacfwd(lambda x: x * jacrev(lambda y: x + y)(1.0))(2.0), 1.0)
    # d/dx [d/dy (x * y)^2 at y = 1] = d/dx [2 x^2] = 4x
    close(grad(lambda x: grad(lambda y: (x * y) ** 2)(1.0))(3.0), 12.0)


def test_gradient_of_a_function_independent_of_its_input_is_zero():
    g = grad(lambda x: 3.0)(np.ones((2, 2)))
    assert np.shape(g) == (2, 2) and not np.any(np.asarray(g))
    g = grad(lambda p: jnp.sum(p["used"] ** 2))({"used": X, "unused": np.ones(3, np.float32)})
    close(g["used"], 2 * X)
    assert np.asarray(g["unused"]).dtype == np.float32 and not np.any(np.asarray(g["unused"]))
    for jac in (jacfwd, jacrev):
        j = jac(lambda x: jnp.ones(3))(X)
        assert np.shape(j) == (3, 2) and not np.any(np.asarray(j))
    _, pullback = vjp(lambda x, y: y * 2.0, X, 1.0)
    ct_x, ct_y = pullback(1.0)
    assert np.shape(ct_x) == (2,) and not np.any(np.asarray(ct_x))
    close(ct_y, 2.0)


# ------------------------------------------------------------ dtypes
def test_float32_inputs_give_float32_derivatives():
    x = np.array([0.3, 1.1], np.float32)

    def f(v):
        return jnp.sum(jnp.sin(v) * 2.0)

    def dtype_of(tree):
        return {np.asarray(leaf).dtype for leaf in tree_util.tree_leaves(tree)}

    assert dtype_of(grad(f)(x)) == {np.dtype(np.float32)}
    assert dtype_of(value_and_grad(f)(x)) == {np.dtype(np.float32)}
    assert dtype_of(vjp(jnp.sin, x)[1](np.ones(2, np.float32))) == {np.dtype(np.float32)}
    assert dtype_of(jacfwd(jnp.sin)(x)) == {np.dtype(np.float32)}
    assert dtype_of(jacrev(jnp.sin)(x)) == {np.dtype(np.float32)}
    assert dtype_of(hessian(f)(x)) == {np.dtype(np.float32)}
    assert dtype_of(linearize(jnp.sin, x)[1](np.ones(2, np.float32))) == {np.dtype(np.float32)}
    close(grad(f)(x), 2 * np.cos(x), rtol=1e-6)
    # A float64 constant promotes the output, but the gradient keeps the
    # input's dtype (the cotangent of the conversion is converted back).
    g = grad(lambda v: jnp.sum(v * np.array([1.0, 2.0])))(x)
    assert np.asarray(g).dtype == np.float32
    close(g, np.array([1.0, 2.0], np.float32))
    # A float64 input with float32 pieces inside keeps a float64 gradient.
    g = grad(lambda v: jnp.sum(v.astype(np.float32) ** 2).astype(np.float64))(X)
    assert np.asarray(g).dtype == np.float64


# ------------------------------------------------------------ what is staged
def test_golden_jaxpr_of_grad_has_no_dead_equations():
    def f(x):
        unused = jnp.exp(x) * 3.0   # noqa: F841  (dead: must not be staged)
        return jnp.sin(x) * 2.0

    expected = ("{ lambda ; a:f64[]. let\n"
                "    b:f64[] = cos a\n"
                "    c:f64[] = mul 2.0 b\n"
                "  in (c,) }")
    assert str(funcgrad.make_jaxpr(grad(f))(1.0)) == expected
    close(grad(f)(1.0), 2 * np.cos(1.0))


def test_golden_jaxpr_of_value_and_grad_and_second_derivative():
    def f(x):
        return jnp.sin(x) * 2.0

    assert str(funcgrad.make_jaxpr(value_and_grad(f))(1.0)) == (
        "{ lambda ; a:f64[]. let\n"
        "    b:f64[] = sin a\n"
        "    c:f64[] = cos a\n"
        "    d:f64[] = mul b 2.0\n"
        "    e:f64[] = mul 2.0 c\n"
        "  in (d, e) }")
    jaxpr = str(funcgrad.make_jaxpr(grad(grad(f)))(1.0))
    assert "exp" not in jaxpr and jaxpr.count(" = ") <= 3, jaxpr
    close(grad(grad(f))(1.0), -2 * np.sin(1.0))


# ------------------------------------------------------------ leaked tracers
@pytest.mark.parametrize("transform", [
    lambda f: grad(f)(3.0),
    lambda f: vjp(f, 3.0),
    lambda f: jvp(f, (3.0,), (1.0,)),
    lambda f: hessian(f)(3.0),
])
def test_leaked_tracer_is_detected(transform):
    leaked = []

    def f(x):
        leaked.append(x)
        return x * x

    transform(f)
    assert isinstance(leaked[0], Tracer)
    with pytest.raises(UnexpectedTracerError, match="stored"):
        jnp.sin(leaked[0])
    with pytest.raises(UnexpectedTracerError):
        leaked[0] + 1.0
    with pytest.raises(UnexpectedTracerError):
        grad(lambda y: y * leaked[0])(2.0)
