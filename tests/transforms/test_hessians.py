"""Higher-order derivatives against analytic formulas: Hessians (Rosenbrock,
logistic regression, quadratic forms, log-sum-exp, the norm), third and
fourth derivatives by nesting ``grad``, ``jacfwd`` vs ``jacrev`` vs finite
differences on random functions with pytree inputs and outputs, and Python
control flow on concrete values under every derivative."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import grad, hessian, jacfwd, jacrev, tree_util
from tests.util import arrays, assert_close

RTOL = 1e-10


def close(actual, expected, rtol=RTOL, atol=1e-10, err_msg=""):
    assert_close(actual, expected, rtol=rtol, atol=atol, check_dtype=False, err_msg=err_msg)


def numerical_jacobian(f, x, eps=1e-6):
    """Central differences, one input element at a time: shape out + in."""
    x = np.asarray(x, np.float64)
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = eps
        e = e.reshape(x.shape)
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps))
    out_shape = np.shape(f(x))
    return np.stack(cols, axis=-1).reshape(out_shape + x.shape)


# ------------------------------------------------------------ Rosenbrock
def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    n = x.size
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        h[i + 1, i + 1] += 200.0
        h[i, i + 1] = h[i + 1, i] = -400.0 * x[i]
    return h


@given(x=arrays(np.float64, (10,), min_value=-2, max_value=2))
@settings(max_examples=5)
def test_rosenbrock_hessian_n10(x):
    expected = rosenbrock_hessian(x)
    close(hessian(rosenbrock)(x), expected, err_msg="hessian")
    close(jacrev(jacrev(rosenbrock))(x), expected, err_msg="jacrev(jacrev)")
    close(jacfwd(jacfwd(rosenbrock))(x), expected, err_msg="jacfwd(jacfwd)")
    close(jacrev(jacfwd(rosenbrock))(x), expected, err_msg="jacrev(jacfwd)")


def test_rosenbrock_gradient_vanishes_at_the_minimum():
    close(grad(rosenbrock)(np.ones(10)), np.zeros(10), atol=0)
    h = np.asarray(hessian(rosenbrock)(np.ones(10)))
    assert np.all(np.linalg.eigvalsh(h) > 0)


# ------------------------------------------------------------ logistic regression
def _logistic_data(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((20, 5))
    y = (rng.random(20) < 0.5).astype(np.float64)
    w = 0.5 * rng.standard_normal(5)
    return X, y, w


def log_likelihood(w, X, y):
    z = X @ w
    # log p = z - log(1 + e^z), log(1 - p) = -log(1 + e^z)
    return jnp.sum(y * z - jnp.logaddexp(0.0, z))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_logistic_regression_gradient_and_hessian(seed):
    X, y, w = _logistic_data(seed)
    p = 1.0 / (1.0 + np.exp(-X @ w))
    close(grad(log_likelihood)(w, X, y), X.T @ (y - p))
    expected = -X.T @ np.diag(p * (1 - p)) @ X
    close(hessian(log_likelihood)(w, X, y), expected)
    close(jacrev(jacrev(log_likelihood))(w, X, y), expected)
    # With respect to the data (argnums=1): d/dX_ij = (y_i - p_i) w_j
    close(grad(log_likelihood, argnums=1)(w, X, y), np.outer(y - p, w))


# ------------------------------------------------------------ other analytic Hessians
@given(data=st.data())
@settings(max_examples=5)
def test_quadratic_form_hessian_is_the_symmetric_part(data):
    n = data.draw(st.integers(1, 5))
    A = data.draw(arrays(np.float64, (n, n), min_value=-3, max_value=3))
    b = data.draw(arrays(np.float64, (n,), min_value=-3, max_value=3))
    x = data.draw(arrays(np.float64, (n,), min_value=-3, max_value=3))

    def f(v):
        return 0.5 * v @ A @ v + b @ v

    close(grad(f)(x), 0.5 * (A + A.T) @ x + b)
    close(hessian(f)(x), 0.5 * (A + A.T))


def test_logsumexp_hessian():
    x = np.array([0.3, -1.2, 2.0, 0.7])
    s = np.exp(x) / np.sum(np.exp(x))

    def lse(v):
        m = jnp.max(v)
        return jnp.log(jnp.sum(jnp.exp(v - m))) + m

    close(grad(lse)(x), s)
    close(hessian(lse)(x), np.diag(s) - np.outer(s, s))


def test_norm_hessian():
    x = np.array([1.0, -2.0, 0.5])
    r = np.linalg.norm(x)
    u = x / r
    close(hessian(jnp.linalg.norm)(x), (np.eye(3) - np.outer(u, u)) / r)


def test_hessian_of_a_pytree_input_and_several_argnums():
    # Gaussian negative log-likelihood in (mu, log sigma) of fixed data.
    data = np.array([0.5, 1.5, -0.3, 2.2])
    n = data.size

    def nll(params):
        mu, log_s = params["mu"], params["log_s"]
        return jnp.sum(0.5 * ((data - mu) / jnp.exp(log_s)) ** 2) + n * log_s

    mu, log_s = 0.4, 0.2
    h = hessian(nll)({"mu": mu, "log_s": log_s})
    s2 = np.exp(2 * log_s)
    r = data - mu
    expected = {"mu": {"mu": n / s2, "log_s": 2 * np.sum(r) / s2},
                "log_s": {"mu": 2 * np.sum(r) / s2, "log_s": 2 * np.sum(r ** 2) / s2}}
    assert tree_util.tree_structure(h) == tree_util.tree_structure(expected)
    tree_util.tree_map(close, h, expected)

    def f(x, y):
        return jnp.sum(x ** 2 * y[0]) + jnp.sin(y[1]) * x[0]

    x, y = np.array([1.0, 2.0]), np.array([3.0, 0.5])
    (hxx, hxy), (hyx, hyy) = hessian(f, argnums=(0, 1))(x, y)
    close(hxx, np.diag([2 * y[0], 2 * y[0]]))
    close(hxy, np.array([[2 * x[0], np.cos(y[1])], [2 * x[1], 0.0]]))
    close(hyx, np.asarray(hxy).T)
    close(hyy, np.array([[0.0, 0.0], [0.0, -np.sin(y[1]) * x[0]]]))


# ------------------------------------------------------------ third and fourth order
THIRD = {
    "sin": (jnp.sin, lambda x: -np.cos(x)),
    "exp(2x)": (lambda x: jnp.exp(2.0 * x), lambda x: 8 * np.exp(2 * x)),
    "x^5": (lambda x: x ** 5, lambda x: 60 * x ** 2),
    "log": (jnp.log, lambda x: 2 / x ** 3),
    "sqrt": (jnp.sqrt, lambda x: 3 / 8 * x ** -2.5),
    "tanh": (jnp.tanh, lambda x: (1 - np.tanh(x) ** 2) * (6 * np.tanh(x) ** 2 - 2)),
    "arctan": (jnp.arctan, lambda x: (6 * x ** 2 - 2) / (1 + x ** 2) ** 3),
    "x*sin(x)": (lambda x: x * jnp.sin(x), lambda x: -3 * np.sin(x) - x * np.cos(x)),
    "1/(1+x^2)": (lambda x: 1.0 / (1.0 + x * x),
                  lambda x: 24 * x * (1 - x ** 2) / (1 + x ** 2) ** 4),
}


@pytest.mark.parametrize("name", sorted(THIRD))
@given(x=st.floats(0.2, 3.0))
@settings(max_examples=5)
def test_third_derivative_by_nested_grad(name, x):
    f, d3 = THIRD[name]
    close(grad(grad(grad(f)))(x), d3(x), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ["sin", "tanh", "x*sin(x)"])
def test_third_derivative_mixed_modes(name):
    f, d3 = THIRD[name]
    x = 0.7

    def fwd(g):
        return lambda v: funcgrad.jvp(g, (v,), (1.0,))[1]

    for combo, third in [("jvp(grad(grad))", fwd(grad(grad(f)))),
                         ("grad(jvp(grad))", grad(fwd(grad(f)))),
                         ("grad(grad(jvp))", grad(grad(fwd(f)))),
                         ("jvp(jvp(jvp))", fwd(fwd(fwd(f))))]:
        close(third(x), d3(x), rtol=1e-9, atol=1e-9, err_msg=combo)


def test_fourth_derivative_of_sin_and_a_polynomial():
    close(grad(grad(grad(grad(jnp.sin))))(0.8), np.sin(0.8))
    close(grad(grad(grad(grad(lambda x: x ** 6 - 2 * x ** 4))))(1.5), 360 * 1.5 ** 2 - 48)


def test_third_order_tensor_of_a_multivariate_function():
    def f(v):
        return v[0] ** 2 * v[1] ** 3 + jnp.sin(v[0] * v[1])

    x = np.array([0.7, -1.1])
    a, b = x
    # Analytic third derivatives of a^2 b^3 + sin(ab), indexed [i, j, k].
    s, c = np.sin(a * b), np.cos(a * b)
    t = np.zeros((2, 2, 2))
    t[0, 0, 0] = -b ** 3 * c
    t[0, 0, 1] = t[0, 1, 0] = t[1, 0, 0] = 6 * b ** 2 - 2 * b * s - a * b ** 2 * c
    t[0, 1, 1] = t[1, 0, 1] = t[1, 1, 0] = 12 * a * b - 2 * a * s - a ** 2 * b * c
    t[1, 1, 1] = 6 * a ** 2 - a ** 3 * c
    close(jacfwd(hessian(f))(x), t)
    close(jacrev(jacrev(jacrev(f)))(x), t)


# ------------------------------------------------------------ jacfwd vs jacrev
def _random_program(ops, weights):
    """A smooth function of a pytree built from the drawn op sequence."""
    def f(params, x):
        h = params["w"] @ x + params["b"]
        for op, w in zip(ops, weights, strict=True):
            if op == "tanh":
                h = jnp.tanh(h) * w
            elif op == "sin":
                h = jnp.sin(h + w)
            elif op == "square":
                h = h * h * w
            elif op == "cumsum":
                h = jnp.cumsum(h) * w
            elif op == "mix":
                h = h + w * jnp.roll(h, 1) * x[0]
            elif op == "softplus":
                h = jnp.logaddexp(0.0, h * w)
        return {"h": h, "stats": (jnp.sum(h * h), params["b"] * jnp.mean(h))}
    return f


@given(data=st.data())
@settings(max_examples=8)
def test_jacfwd_and_jacrev_agree_on_random_pytree_functions(data):
    ops = data.draw(st.lists(st.sampled_from(["tanh", "sin", "square", "cumsum", "mix",
                                              "softplus"]), min_size=1, max_size=4))
    weights = data.draw(st.lists(st.floats(-1.5, 1.5), min_size=len(ops), max_size=len(ops)))
    f = _random_program(ops, weights)
    params = {"w": data.draw(arrays(np.float64, (3, 2), min_value=-1, max_value=1)),
              "b": data.draw(arrays(np.float64, (3,), min_value=-1, max_value=1))}
    x = data.draw(arrays(np.float64, (2,), min_value=-1, max_value=1))

    jf = jacfwd(f, argnums=(0, 1))(params, x)
    jr = jacrev(f, argnums=(0, 1))(params, x)
    assert tree_util.tree_structure(jf) == tree_util.tree_structure(jr)
    tree_util.tree_map(lambda a, b: close(a, b, rtol=1e-10, atol=1e-12), jf, jr)
    # Independent reference for the x block of every output leaf.
    out_leaves = tree_util.tree_leaves(f(params, x))
    for k, leaf in enumerate(tree_util.tree_leaves(jax_like_x_blocks(jf))):
        expected = numerical_jacobian(
            lambda v, k=k: tree_util.tree_leaves(f(params, v))[k], x)
        assert np.shape(leaf) == np.shape(out_leaves[k]) + x.shape
        close(leaf, expected, rtol=1e-6, atol=1e-7)


def jax_like_x_blocks(jac):
    """From a Jacobian with argnums=(0, 1), the blocks for argument 1 (the
    tuple's second entry at every output leaf)."""
    return tree_util.tree_map(lambda pair: pair[1], jac,
                              is_leaf=lambda n: isinstance(n, tuple) and len(n) == 2
                              and isinstance(n[0], dict))


@given(data=st.data())
@settings(max_examples=8)
def test_hessian_equals_jacrev_jacrev_and_is_symmetric(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=3))
    x = data.draw(arrays(np.float64, shape, min_value=-1.5, max_value=1.5))

    def f(v):
        return jnp.sum(jnp.sin(v) * jnp.cumsum(v.ravel()).reshape(v.shape)) + jnp.prod(
            jnp.cos(v)) + jnp.sum(v ** 3) * jnp.mean(v)

    h = np.asarray(hessian(f)(x))
    assert h.shape == shape + shape
    close(h, jacrev(jacrev(f))(x), rtol=1e-10, atol=1e-12)
    close(h, jacfwd(jacfwd(f))(x), rtol=1e-10, atol=1e-12)
    flat = h.reshape(x.size, x.size)
    close(flat, flat.T, rtol=1e-10, atol=1e-12)
    close(h, numerical_jacobian(grad(f), x), rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------ Python control flow
def piecewise(x):
    if x > 0:
        return x ** 3
    return jnp.sin(x)


def doubling(x):
    # The number of iterations depends on the value of x.
    while x < 10.0:
        x = x * 2.0 + jnp.sin(x) * 0.0
    return x * x


@pytest.mark.parametrize("x", [0.5, -0.5])
def test_if_on_concrete_values_under_every_derivative(x):
    d1, d2, d3 = ((3 * x ** 2, 6 * x, 6.0) if x > 0 else
                  (np.cos(x), -np.sin(x), -np.cos(x)))
    close(grad(piecewise)(x), d1)
    close(grad(grad(piecewise))(x), d2)
    close(grad(grad(grad(piecewise)))(x), d3)
    close(hessian(piecewise)(x), d2)
    close(jacfwd(jacrev(piecewise))(x), d2)


@pytest.mark.parametrize("x", [0.3, 1.7, 6.0, 12.0])
def test_while_loop_with_a_value_dependent_count(x):
    k = 0
    while x * 2 ** k < 10.0:
        k += 1
    # doubling(x) = (2^k x)^2: derivatives 2 * 4^k x and 2 * 4^k.
    close(doubling(x), (2 ** k * x) ** 2)
    close(grad(doubling)(x), 2 * 4 ** k * x)
    close(grad(grad(doubling))(x), 2 * 4 ** k)
    close(jacfwd(doubling)(x), 2 * 4 ** k * x)


def test_loop_count_from_an_integer_argument_and_branches_on_array_elements():
    def f(x, n):
        acc = x[0]
        for i in range(n):
            acc = acc * x[i % x.shape[0]] if x[i % x.shape[0]] > 0 else acc - x[i % 2]
        return acc

    x = np.array([1.5, -0.5, 2.0])
    expected = numerical_jacobian(lambda v: f(v, 5), x)
    close(grad(f)(x, 5), expected, rtol=1e-7, atol=1e-8)
    close(jacrev(grad(f))(x, 5), numerical_jacobian(grad(lambda v: f(v, 5)), x),
          rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------ primitives' rules (other owners)
def test_hessian_of_a_duplicate_index_scatter_mul_with_a_tiny_factor():
    def f(v):
        return jnp.ones(1).at[np.array([0, 0])].mul(v)[0]

    close(hessian(f)(jnp.array([1e-200, 2.0])), np.array([[0.0, 1.0], [1.0, 0.0]]))
