"""jit: tracing once per signature, static arguments, and composition with
every other transform (grad, vjp, jvp, vmap, hessian, nested jit).  The
references are the same functions run without jit."""
import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import jit, lax
from tests.util import assert_close


def _counting(fun):
    calls = []

    def wrapped(*args, **kwargs):
        calls.append(1)
        return fun(*args, **kwargs)
    wrapped.__name__ = fun.__name__
    return wrapped, calls


def loss(w, x, y):
    return jnp.sum((jnp.tanh(x @ w) - y) ** 2)


W, X, Y = np.array([0.3, -0.2, 0.5]), np.arange(12.0).reshape(4, 3) / 10, np.ones(4)


def test_traces_once_per_signature():
    f, calls = _counting(lambda x, y: jnp.sin(x) * y)
    jf = jit(f)
    x = np.arange(3.0)
    assert_close(jf(x, 2.0), np.sin(x) * 2.0, check_dtype=False)
    jf(x + 1.0, 3.0)
    assert len(calls) == 1
    jf(np.ones(4), 2.0)                       # new shape
    jf(np.ones(4, np.float32), np.float32(2))  # new dtypes
    assert len(calls) == 3
    jf(np.ones(4), 2.0)
    assert len(calls) == 3
    assert jf._cache_size() == 3


def test_static_argnums_and_argnames_retrace_on_new_values():
    def power(x, n, *, scale=1.0):
        calls.append(1)
        out = x
        for _ in range(n - 1):  # Python control flow on a static value
            out = out * x
        return out * scale

    calls = []
    jp = jit(power, static_argnums=1, static_argnames="scale")
    assert_close(jp(np.full(2, 2.0), 3), np.full(2, 8.0))
    assert_close(jp(np.full(2, 3.0), 3), np.full(2, 27.0))
    assert len(calls) == 1
    assert_close(jp(np.full(2, 2.0), 4, scale=0.5), np.full(2, 8.0))
    assert len(calls) == 2
    with pytest.raises(TypeError, match="hashable"):
        jit(lambda x, s: x, static_argnums=1)(1.0, [1, 2])


def test_decorator_forms_and_pytrees():
    @jit
    def f(p):
        return {"s": p["a"] + p["b"][0], "t": p["b"][1] * 2.0}

    @jit(static_argnums=(1,))
    def g(x, k):
        return x[:k]

    out = f({"a": np.ones(2), "b": (np.ones(2), 3.0)})
    assert_close(out["s"], np.full(2, 2.0))
    assert_close(out["t"], 6.0, check_dtype=False)
    assert_close(g(np.arange(5.0), 2), np.arange(2.0))


def test_grad_of_jit_and_jit_of_grad():
    expected = funcgrad.grad(loss)(W, X, Y)
    assert_close(funcgrad.grad(jit(loss))(W, X, Y), expected)
    assert_close(jit(funcgrad.grad(loss))(W, X, Y), expected)
    assert_close(jit(funcgrad.grad(jit(loss)))(W, X, Y), expected)
    value, vjp_fun = funcgrad.vjp(jit(loss), W, X, Y)
    assert_close(value, loss(W, X, Y))
    assert_close(vjp_fun(1.0)[0], expected)


def test_grad_of_jit_stays_compiled():
    closed = funcgrad.make_jaxpr(funcgrad.grad(jit(loss)))(W, X, Y)
    names = [e.primitive.name for e in closed.eqns]
    assert names == ["jit", "jit"], names   # the known part and the transposed linear part
    # The known part computes no primal output nobody uses.
    known = closed.eqns[0].params["jaxpr"]
    assert "reduce_sum" not in [e.primitive.name for e in known.eqns]


def test_higher_order_and_forward_mode_through_jit():
    f = jit(lambda x: jnp.sum(jnp.sin(x) * x))
    x = np.array([0.3, 1.2])
    assert_close(funcgrad.hessian(f)(x), funcgrad.hessian(lambda v: jnp.sum(jnp.sin(v) * v))(x))
    _, t = funcgrad.jvp(f, (x,), (np.ones(2),))
    assert_close(t, np.sum(np.cos(x) * x + np.sin(x)), check_dtype=False)
    assert_close(funcgrad.jacfwd(f)(x), funcgrad.jacrev(f)(x))


def test_vmap_of_jit_and_jit_of_vmap():
    per_example = jit(funcgrad.vmap(funcgrad.grad(loss), in_axes=(None, 0, 0)))
    got = per_example(W, X[:, None, :], Y[:, None])
    ref = np.stack([np.asarray(funcgrad.grad(loss)(W, X[i:i + 1], Y[i:i + 1]))
                    for i in range(4)])
    assert_close(got, ref)
    batched = funcgrad.vmap(jit(lambda x, y: jnp.sin(x) * y), in_axes=(0, None))
    assert_close(batched(X, 2.0), np.sin(X) * 2.0)


def test_nested_jit_and_closures():
    inner = jit(lambda x: jnp.exp(x) + 1.0)
    outer = jit(lambda x: inner(x) * inner(2.0 * x))
    x = np.array([0.1, 0.2])
    assert_close(outer(x), (np.exp(x) + 1) * (np.exp(2 * x) + 1))
    # jit inside grad closing over the differentiated value.
    g = funcgrad.grad(lambda a: jit(lambda z: jnp.sum(z * a))(x))(2.0)
    assert_close(g, np.sum(x), check_dtype=False)
    # A closed-over constant array.
    c = np.array([1.0, 2.0])
    assert_close(jit(lambda z: z * c)(x), x * c)


def test_python_control_flow_on_traced_values_is_a_concretization_error():
    def f(x):
        return x if x > 0 else -x

    with pytest.raises(funcgrad.ConcretizationTypeError,
                       match=r"argument x of f.*static_argnums"):
        jit(f)(1.0)
    with pytest.raises(funcgrad.ConcretizationTypeError):
        jit(lambda x: int(x))(1.0)


def test_lower_shows_the_program():
    lowered = jit(loss).lower(W, X, Y)
    assert "tanh" in lowered.jaxpr.pretty()
    text = lowered.as_text()
    assert isinstance(text, str) and text


def test_errors():
    with pytest.raises(ValueError, match="static_argnums"):
        jit(lambda x: x, static_argnums=3)(1.0)
    with pytest.raises(TypeError, match="incompatible shapes"):
        jit(lambda x, y: lax.add(x, y))(np.ones(2), np.ones(3))
