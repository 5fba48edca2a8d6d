"""vmap of the control-flow primitives.

The reference is a Python loop over the batch: the unbatched function (whose
values ``test_control_flow.py`` checks against NumPy) or a NumPy/Python
reimplementation applied to each member, results stacked at ``out_axes``.
Every vmapped function runs eagerly and staged (``make_jaxpr`` +
``eval_jaxpr``).  Covered: ``cond`` with a batched and an unbatched
predicate, ``switch`` with a batched index, ``while_loop`` whose predicate
is the same for the whole batch (one batched loop) or differs per member
(members run to their own trip counts), ``scan`` with each kind of operand
batched and batch axes anywhere, and compositions with ``grad``, nested
``vmap`` and ``vmap`` inside a loop body.
"""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax, tree_util
from tests.lax.test_control_flow import collatz, collatz_steps
from tests.lax.test_control_flow_ad import SCAN_ZOO, ZOO_ARGS, zoo_loss
from tests.util import arrays, assert_close, eager_and_staged, vmap_reference

F32, F64, I32 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int32)
FEW = settings(max_examples=10, deadline=None)
vmap = funcgrad.vmap


loop = vmap_reference


def check_vmap(f, in_axes, *args, out_axes=0, rtol=None):
    """``vmap(f)`` eagerly and staged equals the loop over members."""
    out = eager_and_staged(vmap(f, in_axes=in_axes, out_axes=out_axes), *args)
    expected = loop(f, in_axes, out_axes)(*args)
    tree_util.tree_map(lambda o, e: assert_close(o, e, rtol=rtol, atol=rtol), out, expected)
    return out


def top_names(closed):
    return [e.primitive.name for e in closed.jaxpr.eqns]


# ================================================================ cond / switch
def two_way(p, x, w):
    return lax.cond(p, lambda u, v: (jnp.sin(u) * v, jnp.sum(u).astype(np.int32), jnp.ones(2)),
                    lambda u, v: (u * u - v, np.int32(-1), jnp.zeros(2)), x, w)


@pytest.mark.parametrize("pred", [True, False])
def test_cond_unbatched_pred(pred):
    x, w = np.arange(6.0).reshape(3, 2), np.array([0.5, -2.0])
    check_vmap(two_way, (None, 0, None), np.bool_(pred), x, w)
    check_vmap(two_way, (None, None, 0), np.bool_(pred), w, x)
    # Only the operands are batched: one cond on the whole batch.
    closed = funcgrad.make_jaxpr(vmap(two_way, (None, 0, None)))(np.bool_(pred), x, w)
    assert top_names(closed).count("cond") == 1


@FEW
@given(preds=st.lists(st.booleans(), min_size=1, max_size=5), data=st.data())
def test_cond_batched_pred_every_branch(preds, data):
    n = len(preds)
    x = data.draw(arrays(F64, (n, 2, 3), min_value=-3, max_value=3))
    w = data.draw(arrays(F64, (3,), min_value=-3, max_value=3))
    p = np.array(preds)
    out = check_vmap(two_way, (0, 0, None), p, x, w)
    # An independent check of the selection, per member, against NumPy.
    for i in range(n):
        if preds[i]:
            assert_close(out[0][i], np.sin(x[i]) * w)
            assert_close(out[2][i], np.ones(2))
        else:
            assert_close(out[0][i], x[i] * x[i] - w)
            assert_close(out[1][i], np.int32(-1))


def test_cond_batched_pred_with_unbatched_operands_and_axes():
    p = np.array([[True, False], [False, False], [True, True]])
    x = np.array([1.0, -2.0, 0.5])
    f = lambda q, u: lax.cond(q, lambda v: v * 2.0, lambda v: v - 1.0, u)  # noqa: E731
    check_vmap(f, (0, None), p[:, 0], x)
    check_vmap(f, (0, None), p[:, 1], x, out_axes=-1)
    # Two levels, the outer batch at axis 1 of the predicate.
    out = eager_and_staged(vmap(vmap(f, (0, None)), (1, None), out_axes=1), p, x)
    assert out.shape == (3, 2, 3)
    assert_close(out, np.where(p[..., None], x * 2.0, x - 1.0))
    g = lambda q: lax.cond(q, lambda: jnp.arange(3.0), lambda: -jnp.ones(3))  # noqa: E731
    check_vmap(g, (0,), p[:, 0], out_axes=1)
    # Predicate computed from batched data, several levels of vmap.
    g = lambda u: lax.cond(jnp.sum(u) > 0, jnp.sin, jnp.cos, u)  # noqa: E731
    xs = np.linspace(-2, 2, 24).reshape(2, 3, 4)
    out = eager_and_staged(vmap(vmap(g)), xs)
    sums = xs.sum(axis=-1, keepdims=True)
    assert_close(out, np.where(sums > 0, np.sin(xs), np.cos(xs)))


@FEW
@given(index=st.lists(st.integers(-3, 6), min_size=1, max_size=6), data=st.data())
def test_switch_batched_index_clamps_per_member(index, data):
    n = len(index)
    x = data.draw(arrays(F64, (n, 2), min_value=-2, max_value=2))
    branches = [jnp.sin, lambda u: u * 10.0, lambda u: jnp.exp(u) - u]
    refs = [np.sin, lambda u: u * 10.0, lambda u: np.exp(u) - u]
    out = check_vmap(lambda i, u: lax.switch(i, branches, u), (0, 0), np.array(index, np.int32),
                     x)
    for i, k in enumerate(index):
        assert_close(out[i], refs[min(max(k, 0), 2)](x[i]))


def test_switch_batched_index_unbatched_operand():
    branches = [lambda u: u + 1.0, lambda u: u * u, lambda u: -u]
    idx = np.array([2, 0, 1, 1, -5], np.int32)
    x = np.array([1.5, -0.5])
    out = check_vmap(lambda i, u: lax.switch(i, branches, u), (0, None), idx, x)
    assert_close(out, np.stack([-x, x + 1.0, x * x, x * x, x + 1.0]))


def test_batched_pred_runs_effects_only_for_members_taking_the_branch(capsys):
    def f(p, x):
        def yes(v):
            funcgrad.debug.print("true {}", v)
            return v + 1.0

        def no(v):
            funcgrad.debug.print("false {}", v)
            return v - 1.0
        return lax.cond(p, yes, no, x)

    try:
        out = vmap(f)(np.array([True, False]), np.array([1.0, 2.0]))
    except NotImplementedError:
        return   # refusing is acceptable too
    assert_close(out, np.array([2.0, 1.0]))
    assert sorted(capsys.readouterr().out.splitlines()) == ["false 2.0", "true 1.0"]


def test_vmap_of_grad_of_cond():
    f = lambda u: jnp.sum(lax.cond(u[0] > 0, jnp.sin, lambda v: v ** 3, u))  # noqa: E731
    xs = np.array([[0.5, 1.0], [-0.5, 2.0], [1.5, -1.0]])
    out = check_vmap(funcgrad.grad(f), (0,), xs)
    expected = np.where(xs[:, :1] > 0, np.cos(xs), 3 * xs ** 2)
    assert_close(out, expected, rtol=1e-12)


# ================================================================ while_loop
@FEW
@given(ns=st.lists(st.integers(1, 120), min_size=1, max_size=6))
def test_while_batched_predicate_collatz(ns):
    n = np.array(ns, np.int32)
    m, k = eager_and_staged(vmap(collatz), n)
    assert_close(k, np.array([collatz_steps(v) for v in ns], np.int32))
    assert_close(m, np.ones(len(ns), np.int32))


def test_while_batched_predicate_very_different_trip_counts():
    # 1 -> 0 steps, 27 -> 111 steps, 97 -> 118 steps.
    n = np.array([1, 27, 2, 97, 6], np.int32)
    _, k = eager_and_staged(vmap(collatz), n)
    assert_close(k, np.array([0, 111, 1, 118, 8], np.int32))


def test_nested_vmap_of_while_with_batched_predicate():
    n = np.array([[1, 27, 5], [6, 97, 12]], np.int32)
    for in_axes in (0, 1):
        arg = n if in_axes == 0 else n.T
        _, k = eager_and_staged(vmap(vmap(collatz), in_axes=in_axes), arg)
        assert_close(k, np.vectorize(collatz_steps)(n).astype(np.int32))


def collatz_walk(start, offsets, scale):
    """A scan whose body holds a while loop with a member-dependent trip
    count (under vmap the scan runs member by member), with an unbatched
    const, a carry and xs; returns the carry and per-step outputs."""
    def body(carry, offset):
        total, n = carry
        _, steps = collatz(n + offset)
        total = total + scale * steps.astype(np.float64)
        return (total, n + 1), (steps, total)
    return lax.scan(body, (jnp.zeros(()), start), offsets)


@pytest.mark.parametrize("in_axes", [(0, None, None), (0, 0, None), (None, 1, None)])
def test_scan_with_member_dependent_while_inside(in_axes):
    """Eagerly, staged and under jit, vmap equals the loop over members."""
    starts = np.array([1, 27, 6], np.int32) if in_axes[0] == 0 else np.int32(7)
    offsets = {None: np.array([0, 3, 5, 1], np.int32),
               0: np.array([[0, 3, 5, 1], [2, 2, 0, 9], [1, 0, 4, 4]], np.int32),
               1: np.array([[0, 3, 5], [1, 1, 2], [7, 0, 3], [2, 2, 2]], np.int32)}[in_axes[1]]
    check_vmap(collatz_walk, in_axes, starts, offsets, 2.0)
    out = funcgrad.jit(vmap(collatz_walk, in_axes=in_axes))(starts, offsets, 2.0)
    expected = loop(collatz_walk, in_axes, 0)(starts, offsets, 2.0)
    tree_util.tree_map(assert_close, out, expected)
    # The whole scan is mapped over the 3 members (not batched around
    # per-member while loops).
    closed = funcgrad.make_jaxpr(vmap(collatz_walk, in_axes=in_axes))(starts, offsets, 2.0)
    (top,) = [e for e in closed.jaxpr.eqns if e.primitive.name == "scan"]
    assert top.params["length"] == 3 and top.params["num_carry"] == 0


def test_while_batched_carry_unbatched_predicate():
    def f(x):
        return lax.while_loop(lambda c: c[0] < 4,
                              lambda c: (c[0] + 1, jnp.sin(c[1]) + c[0]), (np.int32(0), x))

    xs = np.linspace(-1.0, 1.0, 6).reshape(3, 2)
    _, out = check_vmap(f, (0,), xs)
    ref = xs.copy()
    for i in range(4):
        ref = np.sin(ref) + i
    assert_close(out, ref)
    # One loop over the whole batch with an unbatched counter, not a loop per member.
    closed = funcgrad.make_jaxpr(vmap(f))(xs)
    assert top_names(closed).count("while") == 1 and "scan" not in top_names(closed)
    (w,) = [e for e in closed.jaxpr.eqns if e.primitive.name == "while"]
    assert w.outvars[0].aval.shape == () and w.outvars[1].aval.shape == (3, 2)


def test_while_carry_batched_only_through_the_body():
    # The start value is unbatched; the body adds a batched const.
    def f(a):
        return lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 0.5 + a),
                              (0, 1.0))[1]

    a = np.array([0.0, 1.0, -2.0])
    out = check_vmap(f, (0,), a)
    assert_close(out, 0.125 + a * 1.75)


def test_while_predicate_batched_through_a_const():
    def f(limit, x):
        return lax.while_loop(lambda c: c < limit, lambda c: c * 2.0, x)

    limits = np.array([0.5, 3.0, 100.0, 9.0])
    check_vmap(f, (0, None), limits, np.float64(1.0))
    out = check_vmap(f, (0, 0), limits, np.array([1.0, 0.25, 1.0, 10.0]))
    assert_close(out, np.array([1.0, 4.0, 128.0, 10.0]))


def test_cond_inside_a_while_with_batched_predicates():
    def f(n, x):
        def body(c):
            k, v = c
            return k + 1, lax.cond(k % 2 == 0, lambda u: u * 2.0, lambda u: u - 1.0, v)
        return lax.while_loop(lambda c: c[0] < n, body, (0, x))[1]

    ns, xs = np.array([0, 3, 5, 2], np.int32), np.array([1.0, 2.0, 3.0, -1.0])
    out = check_vmap(f, (0, 0), ns, xs)
    ref = xs.copy()
    for j, n in enumerate(ns):
        for k in range(n):
            ref[j] = ref[j] * 2.0 if k % 2 == 0 else ref[j] - 1.0
    assert_close(out, ref)
    # d/dx: 2 per doubling.
    _, t = eager_and_staged(lambda x: funcgrad.jvp(lambda u: vmap(f)(ns, u), (x,), (np.ones(4),)),
                            xs)
    assert_close(t, np.array([1.0, 4.0, 8.0, 2.0]))


def test_vmap_of_fori_loop_with_batched_bounds():
    def f(lo, hi, x):
        return lax.fori_loop(lo, hi, lambda i, c: c * 0.5 + i, x)

    lo = np.array([0, 3, 5, -2], np.int32)
    hi = np.array([4, 3, 2, 1], np.int32)
    x = np.array([1.0, 2.0, 3.0, 4.0])
    out = check_vmap(f, (0, 0, 0), lo, hi, x)
    for j in range(4):
        ref = x[j]
        for i in range(lo[j], hi[j]):
            ref = ref * 0.5 + i
        assert_close(out[j], np.float64(ref))
    check_vmap(f, (None, 0, None), np.int32(1), hi, np.float64(1.0))


def test_vmap_of_jvp_of_while():
    f = lambda x: lax.while_loop(lambda v: v <= 10.0, lambda v: v * 2.0, x)  # noqa: E731
    x = np.array([3.0, 0.7, 11.0, 6.0])   # 2, 4, 0 and 1 doublings
    out = eager_and_staged(vmap(lambda u: funcgrad.jvp(f, (u,), (1.0,))[1]), x)
    assert_close(out, np.array([4.0, 16.0, 1.0, 2.0]))


# ================================================================ scan
def rnn(c0, xs, w):
    def body(h, x):
        h = jnp.tanh(w @ h + x)
        return h, jnp.sum(h) * x
    return lax.scan(body, c0, xs)


C0 = np.array([0.1, -0.2, 0.3])
W = np.array([[0.5, -0.2, 0.1], [0.3, 0.4, -0.6], [0.2, 0.1, 0.9]])
XS = np.linspace(-1, 1, 12).reshape(4, 3)


def test_scan_batched_xs_only():
    xs = np.stack([XS, XS * 2.0, -XS])
    check_vmap(rnn, (None, 0, None), C0, xs, W, rtol=1e-12)


def test_scan_batched_carry_only():
    c0 = np.stack([C0, -C0, C0 * 3.0, np.zeros(3)])
    check_vmap(rnn, (0, None, None), c0, XS, W, rtol=1e-12)


def test_scan_batched_consts_only():
    ws = np.stack([W, W.T, np.eye(3)])
    out = check_vmap(rnn, (None, None, 0), C0, XS, ws, rtol=1e-12)
    # The carry starts unbatched and becomes batched through the body.
    closed = funcgrad.make_jaxpr(vmap(rnn, (None, None, 0)))(C0, XS, ws)
    assert top_names(closed).count("scan") == 1
    assert out[0].shape == (3, 3) and out[1].shape == (3, 4, 3)


@pytest.mark.parametrize("in_axes", [(0, 1, 2), (1, 0, None), (None, 2, 0)])
@pytest.mark.parametrize("out_axes", [0, 1, -1])
def test_scan_batch_axes_anywhere(in_axes, out_axes):
    rng = np.random.default_rng(7)
    b = 2
    c0 = C0 if in_axes[0] is None else np.moveaxis(rng.standard_normal((b, 3)), 0, in_axes[0])
    xs = XS if in_axes[1] is None else np.moveaxis(rng.standard_normal((b, 4, 3)), 0,
                                                   in_axes[1])
    w = W if in_axes[2] is None else np.moveaxis(rng.standard_normal((b, 3, 3)) * 0.5, 0,
                                                 in_axes[2])
    check_vmap(rnn, in_axes, c0, xs, w, out_axes=out_axes, rtol=1e-12)


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_reverse_pytree_mixed_batching(reverse):
    def f(a0, k0, u, v):
        def body(c, x):
            a, k = c
            a = a * x["u"] + x["v"]
            return (a, k + 1), {"a": a, "k": k, "s": jnp.sum(x["u"])}
        return lax.scan(body, (a0, k0), {"u": u, "v": v}, reverse=reverse)

    a0 = np.array([[1.0, 2.0], [-1.0, 0.5]])
    u = np.linspace(0.5, 1.5, 12).reshape(3, 2, 2)      # batch at axis 1
    v = np.arange(6.0).reshape(3, 2)
    (_, k), ys = check_vmap(f, (0, None, 1, None), a0, np.int32(0), u, v)
    assert k.shape == (2,) and ys["k"].shape == (2, 3) and ys["s"].shape == (2, 3)
    assert_close(ys["k"][1], np.array([2, 1, 0] if reverse else [0, 1, 2], np.int32))


def test_vmap_of_grad_of_scan():
    def loss(w, xs):
        return jnp.sum(rnn(C0, xs, w)[1] ** 2)

    ws = np.stack([W, W * 0.5, -W])
    xs = np.stack([XS, XS[::-1], XS * 0.1])
    out = check_vmap(funcgrad.grad(loss), (0, 0), ws, xs, rtol=1e-12)
    # Against finite differences of one member.
    eps, fd = 1e-6, np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            e = np.zeros((3, 3))
            e[i, j] = eps
            fd[i, j] = (float(loss(ws[1] + e, xs[1])) - float(loss(ws[1] - e, xs[1]))) / (2 * eps)
    assert_close(out[1], fd, rtol=1e-6, atol=1e-8)
    check_vmap(funcgrad.grad(loss), (None, 0), W, xs, rtol=1e-12)


def test_vmap_inside_a_scan_body():
    def f(c0, xs):
        def body(c, x):
            c = vmap(lambda row, v: jnp.sin(row) * v + jnp.sum(row))(c, x)
            return c, c[:, 0]
        return lax.scan(body, c0, xs)

    c0 = np.arange(6.0).reshape(3, 2) * 0.1
    xs = np.linspace(-1, 1, 12).reshape(4, 3)
    carry, ys = eager_and_staged(f, c0, xs)
    c, ref_ys = c0.copy(), []
    for x in xs:
        c = np.sin(c) * x[:, None] + c.sum(axis=1, keepdims=True)
        ref_ys.append(c[:, 0])
    assert_close(carry, c)
    assert_close(ys, np.stack(ref_ys))
    # and that scan, vmapped again.
    check_vmap(f, (0, None), np.stack([c0, -c0]), xs, rtol=1e-12)


def test_vmap_of_map_and_of_scan_without_xs():
    xs = np.arange(24.0).reshape(2, 4, 3)
    check_vmap(lambda v: lax.map(lambda r: jnp.sum(r * r), v), (0,), xs)
    check_vmap(lambda c: lax.scan(lambda a, _: (a * 0.5 + 1.0, a), c, None, length=3),
               (0,), np.array([1.0, -4.0, 8.0]))


def test_scan_with_batched_carry_and_unbatched_ys():
    # The ys depend on the xs only: unbatched inside, broadcast by vmap.
    xs = np.arange(6.0).reshape(3, 2)
    f = lambda c: lax.scan(lambda a, x: (a + x, x * 2.0), c, xs)  # noqa: E731
    check_vmap(f, (0,), np.ones((4, 2)))
    check_vmap(f, (0,), np.ones((4, 2)), out_axes=1)


def test_vmap_edge_sizes():
    # A batch of one and of zero members, and a scan of length zero.
    f = lambda n: lax.while_loop(lambda c: c < n, lambda c: c + 1, np.int32(0))  # noqa: E731
    assert_close(eager_and_staged(vmap(f), np.array([4], np.int32)), np.array([4], np.int32))
    assert_close(eager_and_staged(vmap(f), np.zeros(0, np.int32)), np.zeros(0, np.int32))
    g = lambda p, x: lax.cond(p, jnp.sin, jnp.cos, x)  # noqa: E731
    assert_close(eager_and_staged(vmap(g), np.zeros(0, bool), np.zeros((0, 2))), np.zeros((0, 2)))
    h = lambda c, x: lax.scan(lambda a, v: (a + v, a * v), c, x)  # noqa: E731
    carry, ys = eager_and_staged(vmap(h), np.ones((2, 3)), np.ones((2, 0, 3)))
    assert_close(carry, np.ones((2, 3)))
    assert_close(ys, np.zeros((2, 0, 3)))


def test_grad_of_vmap_of_cond_and_jvp_of_vmap_of_while():
    def f(x):
        return jnp.sum(vmap(lambda u: lax.cond(u > 0, jnp.sin, lambda v: v ** 3, u))(x))

    x = np.array([0.3, -0.7, 1.1])
    assert_close(eager_and_staged(funcgrad.grad(f), x), np.where(x > 0, np.cos(x), 3 * x ** 2))
    w = vmap(lambda u: lax.while_loop(lambda v: v <= 10.0, lambda v: v * 2.0, u))
    x = np.array([3.0, 0.7, 11.0, 6.0])
    _, t = eager_and_staged(lambda u: funcgrad.jvp(w, (u,), (np.ones(4),)), x)
    assert_close(t, np.array([4.0, 16.0, 1.0, 2.0]))


@pytest.mark.parametrize("f", SCAN_ZOO, ids=lambda f: f.__name__)
def test_scan_zoo_every_batching_pattern(f):
    """Each of the scan bodies of the AD tests, and the gradient of a loss
    of it, under vmap with every subset of (init, xs, consts) batched."""
    rng = np.random.default_rng(3)
    batched = [rng.standard_normal((3,) + np.shape(a)) for a in ZOO_ARGS]
    grad_f = funcgrad.grad(zoo_loss(f), argnums=(0, 1, 2))
    for axes in itertools.product([0, None], repeat=3):
        if axes == (None, None, None):
            continue
        args = [b if ax == 0 else a for ax, a, b in zip(axes, ZOO_ARGS, batched, strict=True)]
        check_vmap(f, axes, *args, rtol=1e-12)
        check_vmap(grad_f, axes, *args, rtol=1e-12)


# ================================================================ layout after transforms
def check_layout(jaxpr):
    """The contract's layout of every control-flow equation, at any depth:
    sub-jaxprs without constants, and operand counts matching the params.
    Returns how many control-flow equations it checked."""
    from funcgrad.core.ir import sub_jaxprs
    count = 0
    for e in jaxpr.eqns:
        count += e.primitive.name in ("cond", "while", "scan")
        p, name = e.params, e.primitive.name
        if name == "cond":
            assert all(not b.consts and not b.jaxpr.constvars for b in p["branches"])
            assert all(len(b.jaxpr.invars) == len(e.invars) - 1 for b in p["branches"])
            assert e.invars[0].aval.dtype == np.int32 and e.invars[0].aval.shape == ()
        elif name == "while":
            c, b = p["cond_jaxpr"], p["body_jaxpr"]
            assert not (c.consts or b.consts or c.jaxpr.constvars or b.jaxpr.constvars)
            n_carry = len(e.invars) - p["cond_nconsts"] - p["body_nconsts"]
            assert len(c.jaxpr.invars) == p["cond_nconsts"] + n_carry
            assert len(b.jaxpr.invars) == p["body_nconsts"] + n_carry == len(b.jaxpr.outvars) + \
                p["body_nconsts"]
        elif name == "scan":
            j = p["jaxpr"]
            assert not j.consts and not j.jaxpr.constvars
            assert len(j.jaxpr.invars) == len(e.invars)
            assert all(v.aval.shape[:1] == (p["length"],)
                       for v in e.invars[p["num_consts"] + p["num_carry"]:])
        for sub in sub_jaxprs(p):
            count += check_layout(sub)
    return count


@pytest.mark.parametrize("transform", ["grad", "jacfwd", "hessian", "vmap_grad", "grad_vmap"])
@pytest.mark.parametrize("f", SCAN_ZOO[::2], ids=lambda f: f.__name__)
def test_sub_jaxpr_layout_after_transforms(f, transform):
    loss = zoo_loss(f)
    c, xs, w = ZOO_ARGS
    rows = np.stack([c, c * 2.0])
    fun, args = {
        "grad": (funcgrad.grad(loss, argnums=(0, 1, 2)), ZOO_ARGS),
        "jacfwd": (funcgrad.jacfwd(loss, argnums=2), ZOO_ARGS),
        "hessian": (funcgrad.hessian(loss), ZOO_ARGS),
        "vmap_grad": (vmap(funcgrad.grad(loss), (0, None, None)), (rows, xs, w)),
        "grad_vmap": (funcgrad.grad(lambda r: jnp.sum(vmap(loss, (0, None, None))(r, xs, w))),
                      (rows,)),
    }[transform]
    closed = funcgrad.make_jaxpr(fun)(*args)
    funcgrad.check_jaxpr(closed)
    assert check_layout(closed.jaxpr) >= 2
    eager_and_staged(fun, *args)


def test_sub_jaxpr_layout_of_while_and_cond_transforms():
    w = lambda x: lax.while_loop(lambda v: v[0] <= 10.0, lambda v: v * 2.0, x)  # noqa: E731
    funs = [(vmap(lambda n: collatz(n)[1]), (np.array([3, 7], np.int32),)),
            (lambda x: funcgrad.jvp(w, (x,), (x,)), (np.array([0.7, 1.0]),)),
            (vmap(lambda x: funcgrad.jvp(w, (x,), (x,))), (np.array([[0.7, 1.0], [3.0, 1.0]]),)),
            (funcgrad.grad(lambda p, x: jnp.sum(lax.cond(p > 0, jnp.sin, jnp.cos, x) * p)),
             (1.0, np.ones(2)))]
    for fun, args in funs:
        closed = funcgrad.make_jaxpr(fun)(*args)
        assert check_layout(closed.jaxpr) >= 1
        eager_and_staged(fun, *args)
