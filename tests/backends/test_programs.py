"""Realistic funcgrad.numpy programs and their derivatives, compiled vs
eager; compiled code reused across array sizes."""
import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad.backends import compile_jaxpr
from funcgrad.backends.numba_cpu import compile_stats
from tests.backends.util import check_compiled, nests

rng = np.random.default_rng(7)


def seawater_density(t, s, p):
    """UNESCO-style equation of state: a long elementwise polynomial."""
    t2 = t * t
    s15 = s * jnp.sqrt(s)
    rho0 = (999.842594 + 6.793952e-2 * t - 9.095290e-3 * t2 + 1.001685e-4 * t2 * t
            - 1.120083e-6 * t2 * t2 + 6.536332e-9 * t2 * t2 * t)
    rho0 = (rho0 + s * (0.824493 - 4.0899e-3 * t + 7.6438e-5 * t2 - 8.2467e-7 * t2 * t
                        + 5.3875e-9 * t2 * t2)
            + s15 * (-5.72466e-3 + 1.0227e-4 * t - 1.6546e-6 * t2) + 4.8314e-4 * s * s)
    k = (19652.21 + 148.4206 * t - 2.327105 * t2 + 1.360477e-2 * t2 * t - 5.155288e-5 * t2 * t2
         + p * (3.239908 + 1.43713e-3 * t + 1.16092e-4 * t2 - 5.77905e-7 * t2 * t)
         + p * p * (8.50935e-5 - 6.12293e-6 * t + 5.2787e-8 * t2))
    return rho0 / (1.0 - p / k)


def _ocean(n):
    return rng.uniform(0, 30, n), rng.uniform(30, 40, n), rng.uniform(0, 1000, n)


def test_seawater_polynomial_is_one_loop():
    exe = check_compiled(seawater_density, *_ocean(101))
    assert nests(exe.source) == 1


def test_seawater_gradient():
    exe = check_compiled(funcgrad.grad(lambda t, s, p: jnp.sum(seawater_density(t, s, p)),
                                       argnums=(0, 1)), *_ocean(33))
    assert nests(exe.source) <= 2


def nll(w, x, y):
    """Logistic-regression negative log-likelihood."""
    z = x @ w
    return jnp.sum(jnp.logaddexp(0.0, z) - y * z)


X = rng.standard_normal((60, 5))
Y = (rng.random(60) > 0.5).astype(np.float64)
W = rng.standard_normal(5) * 0.3


@pytest.mark.parametrize("transform", ["value", "grad", "hessian", "per_example"])
def test_logistic_regression(transform):
    fun = {"value": nll, "grad": funcgrad.grad(nll), "hessian": funcgrad.hessian(nll),
           "per_example": funcgrad.vmap(funcgrad.grad(nll), in_axes=(None, 0, 0))}[transform]
    check_compiled(fun, W, X, Y, rtol=1e-10, atol=1e-10)


def test_softmax_cross_entropy_value_and_grad_float32():
    def loss(w, x, labels):
        logits = x @ w
        logp = logits - jnp.max(logits, axis=1, keepdims=True)
        logp = logp - jnp.log(jnp.sum(jnp.exp(logp), axis=1, keepdims=True))
        return -jnp.mean(jnp.sum(logp * labels, axis=1))
    w = rng.standard_normal((5, 3)).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 60)]
    check_compiled(funcgrad.value_and_grad(loss), w, X.astype(np.float32), labels,
                   rtol=1e-4, atol=1e-5)


def test_matrix_products_and_a_nonlinearity():
    def mlp(params, x):
        (w1, b1), (w2, b2) = params
        h = jnp.tanh(x @ w1 + b1)
        return jnp.sum((h @ w2 + b2) ** 2)
    params = [(rng.standard_normal((5, 8)), rng.standard_normal(8)),
              (rng.standard_normal((8, 2)), rng.standard_normal(2))]
    check_compiled(mlp, params, X, rtol=1e-10, atol=1e-10)
    check_compiled(funcgrad.grad(mlp), params, X, rtol=1e-10, atol=1e-10)


def test_jacobians_of_a_small_function():
    def f(x):
        return jnp.sum(jnp.tanh(x) ** 3 * jnp.sin(x[::-1])) + jnp.prod(jnp.cos(x))
    x = rng.standard_normal(6)
    check_compiled(funcgrad.jacfwd(funcgrad.grad(f)), x, rtol=1e-10, atol=1e-12)
    check_compiled(funcgrad.jacrev(funcgrad.grad(f)), x, rtol=1e-10, atol=1e-12)


def test_numpy_indexing_sorting_and_cumulative_program():
    def f(x, i):
        y = jnp.cumsum(jnp.sort(x, axis=1), axis=1)
        z = x.at[i, 0].add(10.0)
        return y[i] + jnp.take(z, jnp.argmax(x, axis=1), axis=1).sum(), jnp.where(x > 0, x, 0.0)
    check_compiled(f, rng.standard_normal((4, 5)), np.array([2, 0, 3]))


def test_new_sizes_reuse_the_compiled_code():
    # Same ranks, dtypes and broadcasting: the generated code is the same
    # (only its comments differ), so the cache key and the machine code are.
    def f(x, y):
        return jnp.sum(jnp.exp(x) * y[:, None], axis=0)
    # Sizes above ``settings.static_dim_max`` (tiny sizes are literals).
    a = compile_jaxpr(funcgrad.make_jaxpr(f)(np.ones((13, 14)), np.ones(13)))
    b = compile_jaxpr(funcgrad.make_jaxpr(f)(np.ones((17, 15)), np.ones(17)))
    assert a.key == b.key and a.dispatcher is b.dispatcher
    assert a.source != b.source              # the comments show each one's shapes
    before = compile_stats()["numba_compiles"]
    a(np.ones((13, 14)), np.ones(13))
    out = b(np.full((17, 15), 0.5), np.arange(17.0))
    np.testing.assert_allclose(out[0], np.exp(0.5) * np.arange(17.0).sum() * np.ones(15))
    assert compile_stats()["numba_compiles"] - before <= 1
    c = compile_jaxpr(funcgrad.make_jaxpr(f)(np.ones((13, 14), np.float32),
                                             np.ones(13, np.float32)))
    assert c.key != a.key


def test_tiny_sizes_are_literals():
    # A size up to ``settings.static_dim_max`` is written into the code (so
    # LLVM unrolls its loops): a new tiny size is a new program, a new large
    # size in the same program is not.
    from funcgrad.backends.numba_cpu import settings

    def f(x, y):
        return jnp.sum(jnp.exp(x) * y[:, None], axis=0)
    assert settings.static_dim_max >= 4
    x3, y = np.linspace(0.0, 1.0, 3 * 40).reshape(40, 3), np.linspace(-1.0, 1.0, 40)
    a = compile_jaxpr(funcgrad.make_jaxpr(f)(x3, y))
    assert "range(3)" in a.source and "range(a_n1)" not in a.source
    np.testing.assert_allclose(a(x3, y)[0], np.sum(np.exp(x3) * y[:, None], axis=0),
                               rtol=1e-12)
    x4 = np.ones((40, 4))
    b = compile_jaxpr(funcgrad.make_jaxpr(f)(x4, y))
    assert b.key != a.key
    np.testing.assert_allclose(b(x4, y)[0], np.sum(np.exp(x4) * y[:, None], axis=0),
                               atol=1e-12)
    c = compile_jaxpr(funcgrad.make_jaxpr(f)(np.ones((50, 3)), np.ones(50)))
    assert c.key == a.key and c.dispatcher is a.dispatcher
