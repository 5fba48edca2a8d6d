"""Small arrays of loop bodies held as scalar locals (``scalarize``), tiny
sizes written as literals, and static slices read inside fused loops: the
compiled programs equal eager execution (and a plain NumPy loop), and the
generated code has the promised shape."""
import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.backends.numba_cpu import settings
from tests.backends.test_control_flow_lowering import check, loop_body_lines, source

DT = 1e-3


def lorenz(steps):
    def rhs(s):
        x, y, z = s[0], s[1], s[2]
        return jnp.stack([10.0 * (y - x), x * (28.0 - z) - y, x * y - 8.0 / 3.0 * z])

    def step(carry, _):
        s, acc = carry
        k1 = rhs(s)
        k2 = rhs(s + 0.5 * DT * k1)
        k3 = rhs(s + 0.5 * DT * k2)
        k4 = rhs(s + DT * k3)
        s = s + (DT / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        return (s, acc + s[2]), None

    def run(s0):
        (s, acc), _ = lax.scan(step, (s0, 0.0 * s0[2]), None, length=steps)
        return s, acc / steps
    return run


def lorenz_numpy(s0, steps):
    def rhs(s):
        x, y, z = s
        return np.array([10.0 * (y - x), x * (28.0 - z) - y, x * y - 8.0 / 3.0 * z])
    s, acc = np.array(s0, float), 0.0
    for _ in range(steps):
        k1 = rhs(s)
        k2 = rhs(s + 0.5 * DT * k1)
        k3 = rhs(s + 0.5 * DT * k2)
        k4 = rhs(s + DT * k3)
        s = s + (DT / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        acc += s[2]
    return s, acc / steps


S0 = np.array([1.0, 1.0, 20.0])


def test_small_state_is_scalar_locals():
    fun = lorenz(50)
    jitted = check(fun, S0, rtol=1e-12, atol=1e-12, expected=lorenz_numpy(S0, 50))
    body = "\n".join(loop_body_lines(source(jitted, S0)))
    # The stacked derivatives never exist as arrays: one local per element,
    # and the only loop over the 3 components left copies the new carry.
    assert "_e0 = " in body and "_e2 = " in body
    assert body.count("for i") <= 1
    assert "np.empty" not in body


def test_small_state_gradient_and_vmap():
    fun = lambda s0: lorenz(30)(s0)[1]
    check(funcgrad.grad(fun), S0, rtol=1e-10, atol=1e-12)
    batch = S0 + np.random.default_rng(3).normal(size=(5, 3))
    check(funcgrad.vmap(fun), batch, rtol=1e-12, atol=1e-12,
          expected=np.array([lorenz_numpy(b, 30)[1] for b in batch]))
    check(funcgrad.vmap(funcgrad.grad(fun)), batch, rtol=1e-10, atol=1e-12)


def test_scalarize_off_gives_the_same_results(monkeypatch):
    fun = lambda s0: lorenz(20)(s0)[1]
    on = funcgrad.jit(funcgrad.grad(fun))(S0)
    monkeypatch.setattr(settings, "scalarize_max", 0)
    monkeypatch.setattr(settings, "static_dim_max", 0)
    off_jit = funcgrad.jit(funcgrad.grad(fun))
    off = off_jit(S0)
    assert "_e0" not in source(off_jit, S0)
    np.testing.assert_allclose(np.asarray(on), np.asarray(off), rtol=1e-13)


def test_mixed_small_arrays_in_loop_bodies():
    # Reductions, a matrix product, a cond and a dynamic index next to
    # small arrays: values those need stay arrays, the rest scalars.
    m = np.array([[0.9, 0.1, 0.0], [0.0, 0.8, 0.2], [0.1, 0.0, 0.9]])

    def fun(s, n):
        def body(i, c):
            s, t = c
            u = jnp.concatenate([s[1:], s[:1]]) * 0.5 + jnp.sum(s) * 0.1
            v = m @ u
            w = lax.cond(v[0] > 0.3, lambda a: a * 2.0, lambda a: a - 1.0, v)
            k = jnp.argmax(w)
            p = jnp.pad(w[:2], (1, 0)) + w[k]
            t = t + jnp.max(p) - jnp.min(u)
            return jnp.tanh(p + u), t
        return lax.fori_loop(0, n, body, (s, 0.0))

    check(fun, np.array([0.3, -0.2, 0.5]), 7, rtol=1e-12, atol=1e-12)


def test_small_2d_and_integer_arrays_in_loop_bodies():
    def fun(a, k):
        def body(c, x):
            a, k = c
            b = jnp.concatenate([jnp.transpose(a)[:, :1] * x, jnp.transpose(a)[:, 1:]], axis=1)
            a = jnp.tanh(a + 0.1 * b.T[:, ::-1] * x)
            k = (k * 3 + jnp.array([1, 2, 3], dtype=np.int32)) % 7
            return (a, k), jnp.sum(a, axis=0) + k
        return lax.scan(body, (a, k), jnp.arange(4.0))

    check(fun, np.arange(6.0).reshape(2, 3) / 6.0, np.array([1, 4, 2], np.int32),
          rtol=1e-12, atol=1e-12)


def test_tiny_dimension_change_recompiles_large_does_not():
    fun = funcgrad.jit(lambda x: lax.fori_loop(0, 3, lambda i, s: jnp.sin(s) + s[:1], x))
    small = [source(fun, np.ones(n)) for n in (3, 4)]
    strip = lambda src: "\n".join(l for l in src.splitlines() if not l.lstrip().startswith("#"))
    assert strip(small[0]) != strip(small[1])
    large = [source(fun, np.ones(n)) for n in (20, 30)]
    assert strip(large[0]) == strip(large[1])
    for n in (3, 4, 20):
        x = np.linspace(0.0, 1.0, n)
        expected = x.copy()
        for _ in range(3):
            expected = np.sin(expected) + expected[:1]
        np.testing.assert_allclose(np.asarray(fun(x)), expected, rtol=1e-13)


@pytest.mark.parametrize("batch", [2, 40])
def test_static_slices_fuse(batch):
    # s[:, k] read inside the loop nest at a constant offset, no view made.
    def fun(s):
        return s[:, 0] * s[:, 2] - s[:, 1:2][:, 0]
    s = np.random.default_rng(0).normal(size=(batch, 3))
    jitted = check(fun, s, expected=s[:, 0] * s[:, 2] - s[:, 1])
    src = source(jitted, s)
    assert "[:, 2:]" not in src and "[:, :1]" not in src


def test_non_constant_access_falls_back_to_arrays(monkeypatch):
    # Should a planned scalar array be read at a non-constant index, the
    # program is generated again with arrays (here: forced).
    from funcgrad.backends.numba_cpu import scalarize
    monkeypatch.setattr(scalarize, "constant_index", lambda expr: None)
    fun = lambda s0: lorenz(7)(s0)[1]
    jitted = check(fun, S0 * 1.5, rtol=1e-12, atol=1e-12,
                   expected=lorenz_numpy(S0 * 1.5, 7)[1])
    assert "_e0" not in source(jitted, S0 * 1.5)


def test_batched_small_vectors_are_component_arrays():
    # (N, 3) with N above the literal threshold: one array per component,
    # contiguous; concatenate of components renames arrays.
    fun = lambda s0: lorenz(25)(s0)[1]
    batch = S0 + np.random.default_rng(4).normal(size=(12, 3))
    expected = np.array([lorenz_numpy(b, 25)[1] for b in batch])
    jitted = check(funcgrad.vmap(fun), batch, rtol=1e-12, atol=1e-12, expected=expected)
    body = "\n".join(loop_body_lines(source(jitted, batch)))
    assert "_e0[" in body and "_e2[" in body
    assert any(line.strip().count("_e") == 2 and "[" not in line for line in body.splitlines())
    check(funcgrad.vmap(funcgrad.grad(fun)), batch, rtol=1e-10, atol=1e-12)


def test_component_arrays_read_across_components():
    # A split (N, 3) value read transposed (a non-constant component index)
    # stays an array; the rest of the program is still generated.
    def fun(s):
        def body(i, s):
            t = jnp.tanh(s * 0.5)
            u = jnp.concatenate([t[:, 1:], t[:, :1]], axis=1)
            return u + 0.1 * jnp.transpose(u)[::-1].T - 0.01 * jnp.sum(t, axis=1, keepdims=True)
        return lax.fori_loop(0, 4, body, s)
    s = np.random.default_rng(5).normal(size=(11, 3))
    expected = s.copy()
    for _ in range(4):
        t = np.tanh(expected * 0.5)
        u = np.concatenate([t[:, 1:], t[:, :1]], axis=1)
        expected = u + 0.1 * u.T[::-1].T - 0.01 * t.sum(axis=1, keepdims=True)
    check(fun, s, rtol=1e-12, atol=1e-12, expected=expected)


def test_value_read_twice_by_one_equation():
    # An operand used twice by an equation that needs arrays.
    def fun(s):
        def body(i, s):
            t = jnp.sin(s) + 1.0
            return jnp.outer(t, t)[0] + jnp.concatenate([t[1:], t[:1]])
        return lax.fori_loop(0, 3, body, s)
    s = np.array([0.1, 0.2, 0.3])
    expected = s.copy()
    for _ in range(3):
        t = np.sin(expected) + 1.0
        expected = np.outer(t, t)[0] + np.roll(t, -1)
    check(fun, s, rtol=1e-12, atol=1e-12, expected=expected)
