"""Derivatives of the control-flow primitives.

``check_grads`` compares jvp (forward) and vjp (reverse, by the dot-product
identity) with central finite differences, to second order; ``cond`` and
``scan`` (and ``fori_loop`` with concrete bounds, a scan) support both
modes, ``while_loop`` forward mode only.  Also: Jacobians in both modes
agree, the Hessian of an RK4 integrator written as a scan matches finite
differences of a NumPy integrator, reverse mode through a staged predicate
(the general partial evaluation of ``cond``), ``linear_transpose`` of a
linear scan against its explicit matrix, and residuals of a scan that are
loop invariant are not stacked.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core.ir import sub_jaxprs
from funcgrad.test_util import check_grads
from tests.util import arrays, assert_close, eager_and_staged

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
FEW = settings(max_examples=8, deadline=None)
RNG = np.random.default_rng(1234)
X3 = np.array([0.3, -0.7, 1.1])
W3 = np.array([[0.5, -0.2, 0.1], [0.3, 0.4, -0.6], [0.2, 0.1, 0.9]])


def all_eqns(jaxpr):
    """Every equation of a jaxpr, those of sub-jaxprs included."""
    for e in jaxpr.eqns:
        yield e
        for sub in sub_jaxprs(e.params):
            yield from all_eqns(sub)


def prim_count(closed, name):
    return sum(e.primitive.name == name for e in all_eqns(closed.jaxpr))


# ================================================================ cond / switch
@pytest.mark.parametrize("pred", [True, False])
def test_cond_grads_each_branch(pred):
    def f(x, y):
        return lax.cond(pred, lambda u, v: (jnp.sin(u) * v[0], u * v),
                        lambda u, v: (jnp.exp(u) * 2.0, v * v * u), x, y)

    check_grads(f, (X3, np.array([1.5, -0.5, 2.0])), order=2, modes=("fwd", "rev"))


@FEW
@given(x=arrays(F64, (3,), min_value=-2, max_value=2).filter(lambda v: abs(v[0]) > 0.05))
def test_cond_grads_with_a_predicate_computed_from_the_input(x):
    # Piecewise smooth: differentiable away from x[0] == 0.
    def f(v):
        return lax.cond(v[0] > 0, lambda u: jnp.sum(jnp.sin(u) * u), lambda u: jnp.sum(u ** 3),
                        v)

    check_grads(f, (x,), order=2, modes=("fwd", "rev"))
    expected = np.sin(x) + x * np.cos(x) if x[0] > 0 else 3 * x ** 2
    assert_close(eager_and_staged(funcgrad.grad(f), x), expected, rtol=1e-10)


@pytest.mark.parametrize("index", [-1, 0, 1, 2, 5])
def test_switch_grads_each_branch(index):
    branches = [jnp.sin, lambda u: jnp.cos(u) * u, lambda u: u ** 3 + jnp.exp(u)]
    w = np.array([0.5, 2.0, -1.0])

    def f(x, c):
        # The branches close over c: its derivative flows through the consts.
        return lax.switch(index, [lambda u, b=b: b(u) * c for b in branches], x)

    check_grads(f, (X3, w), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("pred", [True, False])
def test_cond_grad_only_through_closed_over_value(pred):
    # One branch depends on a, the other not (a zero tangent in one branch);
    # one output is an integer (no tangent at all).
    def f(a):
        return lax.cond(pred, lambda: (jnp.sin(a) * X3, np.int32(1)),
                        lambda: (X3, np.int32(0)))

    check_grads(f, (0.7,), order=2)
    g = funcgrad.grad(lambda a, p: jnp.sum(lax.cond(p, lambda: jnp.sin(a) * X3, lambda: X3)))
    expected = np.float64(np.cos(0.7) * X3.sum() if pred else 0.0)
    assert_close(eager_and_staged(g, np.float64(0.7), np.bool_(pred)), expected)


@pytest.mark.parametrize("p", [1.5, -0.5])
def test_grad_of_cond_with_a_staged_predicate(p):
    """Under make_jaxpr the predicate is a traced value: reverse mode takes
    the general partial-evaluation path, a known cond returning the
    residuals of every branch (zeros for the branch not taken) and an
    unknown cond reading them."""
    def f(q, x):
        return lax.cond(q > 0, lambda u: jnp.sum(jnp.sin(u) * q), lambda u: jnp.sum(u * u * u),
                        x)

    g = funcgrad.grad(f, argnums=(0, 1))
    closed = funcgrad.make_jaxpr(g)(np.float64(p), X3)
    assert prim_count(closed, "cond") == 2
    dq, dx = eager_and_staged(g, np.float64(p), X3)
    if p > 0:
        assert_close(dq, np.float64(np.sin(X3).sum()))
        assert_close(dx, np.cos(X3) * p)
    else:
        assert_close(dq, np.float64(0.0))
        assert_close(dx, 3 * X3 ** 2)
    # Second order through the same path.
    h = eager_and_staged(funcgrad.hessian(lambda x: f(np.float64(p), x)), X3)
    assert_close(h, np.diag(-np.sin(X3) * p if p > 0 else 6 * X3), rtol=1e-10, atol=1e-12)


def test_switch_with_a_staged_index_grad_hessian_and_vmap():
    # Three branches with 1, 4 and 0 residuals, joined by the known cond.
    br = [lambda u: jnp.sum(jnp.sin(u)), lambda u: jnp.sum(u * u * u) * jnp.cos(u[0]), jnp.sum]
    refs = [np.cos(X3), 3 * X3 ** 2 * np.cos(X3[0]) - np.eye(3)[0] * np.sum(X3 ** 3) * np.sin(
        X3[0]), np.ones(3)]
    g = funcgrad.grad(lambda i, u: lax.switch(i, br, u), argnums=1)
    for i in range(-1, 4):
        assert_close(eager_and_staged(g, np.int32(i), X3), refs[min(max(i, 0), 2)])
    idx = np.array([2, 0, 1, 5], np.int32)
    assert_close(eager_and_staged(funcgrad.vmap(g, (0, None)), idx, X3),
                 np.stack([refs[min(max(i, 0), 2)] for i in idx]))
    h = funcgrad.hessian(lambda u, i: lax.switch(i, br, u))
    assert_close(eager_and_staged(h, X3, np.int32(0)), np.diag(-np.sin(X3)))
    assert_close(eager_and_staged(h, X3, np.int32(2)), np.zeros((3, 3)))


def test_integer_residuals():
    # argmax indices are integer residuals (for the transpose of a gather).
    def f(p, u):
        return jnp.sum(lax.cond(p > 0, lambda v: v[jnp.argmax(v)] * v, lambda v: v * 2.0, u))

    g = funcgrad.grad(f, argnums=1)
    assert_close(eager_and_staged(g, 1.0, X3), np.full(3, X3.max()) + np.eye(3)[2] * X3.sum())
    assert_close(eager_and_staged(g, -1.0, X3), np.full(3, 2.0))

    def s(c, xs, idx):
        def body(h, inp):
            xv, i = inp
            j = jnp.argmax(h)
            return h * xv + h[j] + h[i], h[j]
        return lax.scan(body, c, (xs, idx))

    xs, idx = W3.T.copy(), np.array([2, 0, 1], np.int32)
    check_grads(s, (X3, xs, idx), order=2)
    loss = lambda c, v, i: jnp.sum(s(c, v, i)[0]) + jnp.sum(s(c, v, i)[1])  # noqa: E731
    eager_and_staged(funcgrad.grad(loss, argnums=(0, 1)), X3, xs, idx)


def test_linear_transpose_of_cond():
    a = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]])
    for pred in (True, False):
        f = lambda x, p=pred: lax.cond(p, lambda u: a @ u, lambda u: jnp.concatenate(  # noqa: E731
            [u, u[:1]]) * 2.0, x)
        matrix = a if pred else 2.0 * np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
        ct = np.array([0.3, -1.0, 2.0])
        (out,) = funcgrad.linear_transpose(f, np.zeros(2))(ct)
        assert_close(out, matrix.T @ ct)


# ================================================================ scan
def rnn(c0, xs, w):
    def body(c, x):
        h, k = c
        h = jnp.tanh(w @ h + x * k.astype(np.float64))
        return (h, k + 1), jnp.sum(h * h)
    (h, _), ys = lax.scan(body, (c0, np.int32(1)), xs)
    return h, ys


def test_scan_grads_consts_xs_and_an_integer_counter_carry():
    xs = RNG.standard_normal((4, 3))
    check_grads(rnn, (X3, xs, W3), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_grads_reverse_and_several_carries(reverse):
    def f(c, d, xs):
        def body(carry, x):
            a, b = carry
            return (a * x + jnp.sin(b), b * 0.5 + a * a), a * b
        return lax.scan(body, (c, d), xs, reverse=reverse)

    check_grads(f, (X3, X3[::-1].copy(), RNG.standard_normal((3, 3)) * 0.5), order=2,
                modes=("fwd", "rev"))


def test_scan_grads_ys_only_and_map():
    xs = RNG.standard_normal((5, 2))
    check_grads(lambda v: lax.scan(lambda c, x: (c, jnp.sin(x) * jnp.sum(x)), 0.0, v)[1],
                (xs,), order=2, modes=("fwd", "rev"))
    check_grads(lambda v: lax.map(lambda r: jnp.exp(r) * r[0], v), (xs,), order=2)
    g = eager_and_staged(funcgrad.grad(lambda v: jnp.sum(lax.map(lambda r: r ** 3, v))), xs)
    assert_close(g, 3 * xs ** 2)


def test_scan_grads_in_float32():
    xs = RNG.standard_normal((4, 3)).astype(np.float32)
    check_grads(lambda c, v: lax.scan(lambda a, x: (jnp.tanh(a * x + 0.1), a), c, v),
                (X3.astype(np.float32), xs), order=2, modes=("fwd", "rev"))


def test_scan_grad_wrt_value_only_closed_over():
    xs = np.array([1.0, -0.5, 2.0, 0.25])

    def f(a):
        return lax.scan(lambda c, x: (c * a + x, None), 0.0, xs)[0]

    check_grads(f, (0.8,), order=2)
    # f(a) = sum_i xs[i] a^(3-i)
    a = 0.8
    d1 = 3 * xs[0] * a ** 2 + 2 * xs[1] * a + xs[2]
    assert_close(eager_and_staged(funcgrad.grad(f), np.float64(a)), np.float64(d1), rtol=1e-10)
    assert_close(eager_and_staged(funcgrad.grad(funcgrad.grad(f)), np.float64(a)),
                 np.float64(6 * xs[0] * a + 2 * xs[1]), rtol=1e-10)


def test_scan_grads_of_length_zero_and_one():
    for n in (0, 1):
        xs = np.ones((n, 3))
        check_grads(lambda c, v: lax.scan(lambda a, x: (jnp.sin(a) + x, a * a), c, v),
                    (X3, xs), order=2)


@FEW
@given(c0=arrays(F64, (2,), min_value=-1, max_value=1), reverse=st.booleans())
def test_jacfwd_equals_jacrev_of_scan(c0, reverse):
    xs = np.linspace(-1.0, 1.0, 8).reshape(4, 2)

    def f(c):
        carry, ys = lax.scan(lambda a, x: (jnp.sin(a * x + a[::-1]), a[0] * x), c, xs,
                             reverse=reverse)
        return jnp.concatenate([carry, ys.reshape(-1)])

    jf = eager_and_staged(funcgrad.jacfwd(f), c0)
    jr = eager_and_staged(funcgrad.jacrev(f), c0)
    assert jf.shape == (10, 2)
    assert_close(jf, jr, rtol=1e-12, atol=1e-12)


# A zoo of scan bodies with structural twists, for the jvp / partial
# evaluation / transpose fixed points (and reused by the vmap tests).
NPX = np.linspace(-1, 1, 8).reshape(4, 2)


def scan_counter(c, xs, w):
    # An integer counter carry used in the float computation, int ys.
    def body(carry, x):
        h, k = carry
        h = jnp.sin(h * w + x) * (k.astype(np.float64) + 1.0)
        return (h, k + 1), (k * 2, h * x)
    return lax.scan(body, (c, np.int32(0)), xs)


def scan_known_ys(c, xs, w):
    # Some ys depend only on a NumPy xs (known in reverse mode).
    def body(h, x):
        a, b = x
        return h * jnp.cos(a) + w * b, (jnp.sin(b) * 3.0, h * a)
    return lax.scan(body, c, (xs, NPX))


def scan_passthrough(c, xs, w):
    # A carry that never changes.
    def body(carry, x):
        h, z = carry
        return (jnp.tanh(h + z * x), z), z * w
    return lax.scan(body, (c, c * 2.0), xs)


def scan_swap(c, xs, w):
    # Carries that swap: the second gets a derivative only after an iteration.
    def body(carry, x):
        a, b = carry
        return (b * x, a + w), a * b
    return lax.scan(body, (c, jnp.ones(2)), xs)


def scan_with_cond(c, xs, w):
    def body(h, x):
        h = lax.cond(jnp.sum(h) > 0, lambda u: jnp.sin(u) * w, lambda u: u * x - w, h)
        return h, jnp.sum(h)
    return lax.scan(body, c, xs, reverse=True)


def scan_nested(c, xs, w):
    def body(h, x):
        inner, ys = lax.scan(lambda g, y: (g * y + w, g[0] * y), h, NPX)
        return jnp.tanh(inner + x), ys
    return lax.scan(body, c, xs)


def scan_with_fori(c, xs, w):
    def body(h, x):
        h = lax.fori_loop(0, 2, lambda i, g: jnp.sin(g * x) + w * i, h)
        return h, h * h
    return lax.scan(body, c, xs)


SCAN_ZOO = [scan_counter, scan_known_ys, scan_passthrough, scan_swap, scan_with_cond,
            scan_nested, scan_with_fori]
ZOO_ARGS = (np.array([0.3, -0.4]), np.array([[0.5, 1.2], [-0.3, 0.8], [1.1, -0.9], [0.2, 0.4]]),
            np.array([0.7, -1.3]))


def zoo_loss(f):
    def loss(c, xs, w):
        return sum(jnp.sum(jnp.sin(leaf.astype(np.float64)))
                   for leaf in funcgrad.tree_util.tree_leaves(f(c, xs, w)))
    return loss


@pytest.mark.parametrize("f", SCAN_ZOO, ids=lambda f: f.__name__)
def test_scan_zoo_grads(f):
    check_grads(f, ZOO_ARGS, order=2, modes=("fwd", "rev"))
    # Staged: the known scan runs on traced values (make_jaxpr of grad).
    eager_and_staged(funcgrad.grad(zoo_loss(f), argnums=(0, 1, 2)), *ZOO_ARGS)
    jf = eager_and_staged(funcgrad.jacfwd(lambda c: f(c, *ZOO_ARGS[1:])), ZOO_ARGS[0])
    jr = eager_and_staged(funcgrad.jacrev(lambda c: f(c, *ZOO_ARGS[1:])), ZOO_ARGS[0])
    # (Integer outputs get zero blocks; jacfwd and jacrev differ in their
    # dtype, outside this file's scope, so compare values only.)
    funcgrad.tree_util.tree_map(
        lambda a, b: assert_close(a, b, rtol=1e-12, atol=1e-12, check_dtype=False), jf, jr)


def test_staged_hessian_of_scan():
    loss = zoo_loss(scan_counter)
    h = eager_and_staged(funcgrad.hessian(loss, argnums=2), *ZOO_ARGS)
    g = funcgrad.grad(loss, argnums=2)
    eps = 1e-5
    fd = np.stack([(np.asarray(g(*ZOO_ARGS[:2], ZOO_ARGS[2] + e))
                    - np.asarray(g(*ZOO_ARGS[:2], ZOO_ARGS[2] - e))) / (2 * eps)
                   for e in np.eye(2) * eps], axis=1)
    assert_close(h, fd, rtol=1e-6, atol=1e-8)


def test_transforms_keep_length_reverse_and_unroll():
    f = lambda c, v: jnp.sum(lax.scan(lambda a, x: (jnp.sin(a * x), a * a), c, v,  # noqa: E731
                                      reverse=True, unroll=3)[1])
    args = (np.ones(2), np.ones((5, 2)))
    for fun, expected in [(funcgrad.grad(f), [(True, 3, 5), (False, 3, 5)]),
                          (lambda c, v: funcgrad.jvp(f, (c, v), (c, v)), [(True, 3, 5)]),
                          (funcgrad.vmap(f, (None, 1)), [(True, 3, 5)])]:
        eqns = all_eqns(funcgrad.make_jaxpr(fun)(*args).jaxpr)
        assert [(e.params["reverse"], e.params["unroll"], e.params["length"]) for e in eqns
                if e.primitive.name == "scan"] == expected


# ================================================================ fori_loop
def test_fori_loop_concrete_bounds_grads():
    def f(x, w):
        return lax.fori_loop(1, 4, lambda i, c: jnp.sin(w @ c) * i + c * 0.5, x)

    check_grads(f, (X3, W3), order=2, modes=("fwd", "rev"))
    # Against an analytic derivative: x -> x * a^3 has derivative a^3.
    g = eager_and_staged(funcgrad.grad(lambda a: lax.fori_loop(0, 3, lambda i, c: c * a, 2.0)),
                         np.float64(1.5))
    assert_close(g, np.float64(2.0 * 3 * 1.5 ** 2), check_dtype=False)


# ================================================================ while_loop
def test_while_loop_forward_mode_grads():
    def f(x, s):
        def body(c):
            k, v = c
            return k + 1, jnp.sin(v) * s + v * 0.25
        return lax.while_loop(lambda c: c[0] < 4, body, (np.int32(0), x))[1]

    check_grads(f, (X3, 1.3), order=2, modes=("fwd",))


def test_while_loop_forward_mode_with_a_value_dependent_trip_count():
    # Doubling until the value exceeds 10: for x in (10/2^(k+1), 10/2^k]
    # the loop runs k+1 times and the derivative is 2^(k+1).
    f = lambda x: lax.while_loop(lambda v: v <= 10.0, lambda v: v * 2.0, x)  # noqa: E731
    for x, k in ((3.0, 2), (0.7, 4), (11.0, 0)):
        _, t = funcgrad.jvp(f, (x,), (1.0,))
        assert_close(t, np.float64(2.0 ** k), check_dtype=False)
    check_grads(f, (3.0,), order=2, modes=("fwd",))
    assert_close(eager_and_staged(lambda x: funcgrad.jvp(f, (x,), (1.0,))[1], np.float64(0.7)),
                 np.float64(16.0), check_dtype=False)


@pytest.mark.parametrize("transform", ["jacfwd", "linearize"])
def test_jacfwd_and_linearize_of_while_loop(transform):
    f = lambda x: lax.while_loop(lambda v: v[0] <= 10.0, lambda v: v * 2.0, x)  # noqa: E731
    x = np.array([0.7, 1.0])
    if transform == "jacfwd":
        assert_close(funcgrad.jacfwd(f)(x), np.eye(2) * 16.0)
    else:
        _, f_lin = funcgrad.linearize(f, x)
        assert_close(f_lin(np.array([1.0, -1.0])), np.array([16.0, -16.0]))


def test_while_loop_forward_mode_through_closed_over_values():
    # Both cond_fun and body_fun close over x; for x near 1.3 the loop runs
    # 4 times (while k < 3x), so f(x) = x^4.
    def f(x):
        return lax.while_loop(lambda c: c[0] < x * 3, lambda c: (c[0] + 1.0, c[1] * x),
                              (0.0, 1.0))[1]

    check_grads(f, (1.3,), order=2, modes=("fwd",))
    _, t = funcgrad.jvp(f, (1.3,), (1.0,))
    assert_close(t, np.float64(4 * 1.3 ** 3), check_dtype=False)
    check_grads(f, (np.float32(1.3),), order=1, modes=("fwd",))


def test_fori_loop_traced_bounds_forward_mode():
    def f(x, n):
        return lax.fori_loop(0, n, lambda i, c: c * jnp.cos(c) + i * 0.1, x)

    check_grads(f, (X3, np.int32(3)), order=2, modes=("fwd",))


def test_reverse_mode_of_while_loop_is_refused():
    f = lambda x: lax.while_loop(lambda v: v < 3.0, lambda v: v * 2.0, x)  # noqa: E731
    for transform in (funcgrad.grad, funcgrad.jacrev, funcgrad.hessian):
        with pytest.raises(ValueError, match="fori_loop.*scan|scan.*fori_loop"):
            transform(f)(1.0)
    # fori_loop with traced bounds is a while_loop (n traced by make_jaxpr).
    g = funcgrad.grad(lambda x, n: lax.fori_loop(0, n, lambda i, c: c * x, 1.0))
    with pytest.raises(ValueError, match="while_loop"):
        funcgrad.make_jaxpr(g)(2.0, 3)
    with pytest.raises(ValueError, match="fori_loop"):
        funcgrad.make_jaxpr(funcgrad.grad(f))(1.0)


# ================================================================ higher order
def rk4(theta, y0, dt, steps, xp):
    """A damped pendulum y'' = -a sin(y) - b y' integrated with RK4, written
    once for ``xp`` = NumPy (the reference) and for a scan body."""
    a, b = theta[0], theta[1]

    def rhs(y):
        return xp.stack([y[1], -a * xp.sin(y[0]) - b * y[1]])

    def step(y):
        k1 = rhs(y)
        k2 = rhs(y + 0.5 * dt * k1)
        k3 = rhs(y + 0.5 * dt * k2)
        k4 = rhs(y + dt * k3)
        return y + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)

    if xp is np:
        y = y0
        for _ in range(steps):
            y = step(y)
        return y
    return lax.scan(lambda y, _: (step(y), None), y0, None, length=steps)[0]


def test_hessian_of_an_rk4_scan_against_finite_differences():
    dt, steps = 0.1, 12

    def loss(p):   # p = (a, b, y0[0], y0[1])
        y = rk4(p[:2], p[2:], dt, steps, jnp)
        return y[0] ** 2 + 0.5 * y[1] ** 2

    def loss_np(p):
        y = rk4(p[:2], p[2:], dt, steps, np)
        return y[0] ** 2 + 0.5 * y[1] ** 2

    p = np.array([1.3, 0.2, 0.8, -0.1])
    h = np.asarray(funcgrad.hessian(loss)(p))
    eps, n = 1e-4, len(p)
    fd = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            ei, ej = np.eye(n)[i] * eps, np.eye(n)[j] * eps
            fd[i, j] = (loss_np(p + ei + ej) - loss_np(p + ei - ej) - loss_np(p - ei + ej)
                        + loss_np(p - ei - ej)) / (4 * eps * eps)
    assert_close(h, fd, rtol=1e-5, atol=1e-6)
    assert_close(h, h.T, rtol=1e-12, atol=1e-12)
    assert_close(funcgrad.grad(loss)(p), np.array([
        (loss_np(p + e) - loss_np(p - e)) / 2e-6 for e in np.eye(n) * 1e-6]), rtol=1e-6,
        atol=1e-8)


# ================================================================ transpose
@pytest.mark.parametrize("reverse", [False, True])
def test_linear_transpose_of_a_linear_scan_is_the_matrix_transpose(reverse):
    n, m, length = 3, 2, 4
    a = RNG.standard_normal((n, n)) * 0.5
    b = RNG.standard_normal((n, m))
    c = RNG.standard_normal((m, n))

    def f(c0, xs):
        def body(h, x):
            h = a @ h + b @ x
            return h, c @ h
        return lax.scan(body, c0, xs, reverse=reverse)

    def f_np(c0, xs):   # the same linear map in NumPy
        h, ys = c0, np.zeros((length, m))
        for t in (range(length - 1, -1, -1) if reverse else range(length)):
            h = a @ h + b @ xs[t]
            ys[t] = c @ h
        return h, ys

    def flat_np(v):
        h, ys = f_np(v[:n], v[n:].reshape(length, m))
        return np.concatenate([h, ys.reshape(-1)])

    size = n + length * m
    matrix = np.stack([flat_np(e) for e in np.eye(size)], axis=1)
    ct_h, ct_ys = RNG.standard_normal(n), RNG.standard_normal((length, m))
    ct_c0, ct_xs = funcgrad.linear_transpose(f, np.zeros(n), np.zeros((length, m)))(
        (ct_h, ct_ys))
    expected = matrix.T @ np.concatenate([ct_h, ct_ys.reshape(-1)])
    assert_close(ct_c0, expected[:n])
    assert_close(ct_xs, expected[n:].reshape(length, m))
    # A linear const (closed over), whose cotangent the transposed scan
    # accumulates over the iterations.
    xs1 = np.array([1.0, -2.0, 3.0])

    def g(v):
        return lax.scan(lambda h, x: (h * 0.5 + v * x, v * x + h), jnp.zeros(2), xs1,
                        reverse=reverse)

    # Forward: h = v, -1.5 v, 2.25 v; ys = (v, -v, 1.5 v).  Reverse: h = 3 v,
    # -0.5 v, 0.75 v; ys = (0.5 v, v, 3 v).
    (ct_v,) = funcgrad.linear_transpose(g, np.zeros(2))((np.array([1.0, 2.0]),
                                                          np.ones((3, 2))))
    h_final, ys_sum = (0.75, 4.5) if reverse else (2.25, 1.5)
    assert_close(ct_v, np.array([1.0, 2.0]) * h_final + ys_sum)
    # Only some outputs with a non-zero cotangent: ys alone.
    _, vjp = funcgrad.vjp(lambda v: f(np.zeros(n), v)[1], np.zeros((length, m)))
    (ct_xs_only,) = vjp(ct_ys)
    expected = matrix.T @ np.concatenate([np.zeros(n), ct_ys.reshape(-1)])
    assert_close(ct_xs_only, expected[n:].reshape(length, m))


# ================================================================ residuals
def stacked_shapes(closed, length, shape):
    """Outputs of scan equations (at any depth) that stack ``shape``."""
    return [v.aval.shape for e in all_eqns(closed.jaxpr) if e.primitive.name == "scan"
            for v in e.outvars if v.aval.shape == (length,) + shape]


def test_loop_invariant_residuals_are_not_stacked():
    n, length = 3, 5
    xs = RNG.standard_normal((length, n))

    def f(w, x):
        return jnp.sum(lax.scan(lambda c, r: (jnp.tanh(w @ c + r), None), jnp.ones(n), x)[0])

    closed = funcgrad.make_jaxpr(funcgrad.grad(f))(W3, xs)
    assert stacked_shapes(closed, length, (n, n)) == []
    # The matrix closed over (a constant of the body, not an argument).
    g = funcgrad.grad(lambda c0: jnp.sum(lax.scan(lambda c, r: (jnp.tanh(W3 @ c + r), None),
                                                  c0, xs)[0]))
    assert stacked_shapes(funcgrad.make_jaxpr(g)(np.ones(n)), length, (n, n)) == []
    check_grads(f, (W3, xs), order=1, modes=("rev",))


def test_residuals_computed_only_from_consts_are_not_stacked():
    n, length = 3, 5
    xs = RNG.standard_normal((length, n))

    def f(w, x):
        body = lambda c, r: (jnp.tanh((w * 2.0) @ c + r), None)  # noqa: E731
        return jnp.sum(lax.scan(body, jnp.ones(n), x)[0])

    closed = funcgrad.make_jaxpr(funcgrad.grad(f))(W3, xs)
    assert stacked_shapes(closed, length, (n, n)) == []


def test_reverse_mode_of_while_used_downstream_names_while_loop():
    # The loop's primal result stays known under linearize, so multiplying
    # it by the differentiated input is fine; the error comes from the loop.
    def f(a):
        return lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 2.0), (0, a))[1] * a

    with pytest.raises(ValueError, match="while_loop"):
        funcgrad.grad(f)(2.0)
    assert float(funcgrad.jacfwd(f)(2.0)) == 32.0          # d/da 8 a^2 = 16 a
    value, lin = funcgrad.linearize(f, 2.0)
    assert float(value) == 32.0 and float(lin(1.0)) == 32.0
