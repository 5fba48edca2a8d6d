"""Semantics of the control-flow API: ``cond``, ``switch``, ``while_loop``,
``fori_loop``, ``scan`` and ``map``.

Every result is compared with a Python reference (a loop or an ``if`` over
NumPy values), eagerly and staged (``make_jaxpr`` + ``eval_jaxpr``, which
runs the primitives' impls on the staged sub-jaxprs).  Also: the errors of
the API (messages naming the offending leaf and types), the promotion of a
Python scalar start value, closures over outer and traced values, the
structure of staged jaxprs (golden tests) and dead-code elimination of
loop outputs.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core.trace import get_aval
from tests.util import arrays, assert_close, eager_and_staged

F32, F64, I32, I64 = (np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64))
FEW = settings(max_examples=12, deadline=None)


def eqn_names(closed):
    """Primitive names of the top-level equations of a closed jaxpr."""
    return [e.primitive.name for e in closed.jaxpr.eqns]


def only_eqn(closed, name):
    eqns = [e for e in closed.jaxpr.eqns if e.primitive.name == name]
    assert len(eqns) == 1, eqn_names(closed)
    return eqns[0]


# ================================================================ cond
@FEW
@given(pred=st.booleans(), x=arrays(F64, (3,)), y=arrays(F32, (2, 2)))
def test_cond_bool_pred_picks_branch(pred, x, y):
    def f(p, a, b):
        return lax.cond(p, lambda u, v: (jnp.sin(u), v * 2), lambda u, v: (u * u, v - 1), a, b)

    out = eager_and_staged(f, np.bool_(pred), x, y)
    expected = (np.sin(x), y * np.float32(2)) if pred else (x * x, y - np.float32(1))
    assert_close(out[0], expected[0])
    assert_close(out[1], expected[1])


@FEW
@given(pred=st.integers(-3, 3), dtype=st.sampled_from([np.int32, np.int64, np.uint8]))
def test_cond_integer_pred_is_true_when_nonzero(pred, dtype):
    if np.dtype(dtype).kind == "u":
        pred = abs(pred)
    p = np.dtype(dtype).type(pred)
    out = eager_and_staged(lambda q, x: lax.cond(q, lambda v: v + 1.0, lambda v: v - 1.0, x), p,
                           np.float64(10.0))
    assert_close(out, np.float64(11.0 if pred != 0 else 9.0))


@pytest.mark.parametrize("pred", [0.0, -0.0, 0.5, -2.0, 1e-30])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cond_float_pred_is_true_when_nonzero(pred, dtype):
    p = np.dtype(dtype).type(pred)
    out = eager_and_staged(lambda q, x: lax.cond(q, lambda v: v * 3.0, lambda v: -v, x),
                           p, np.float64(2.0))
    assert_close(out, np.float64(6.0 if p != 0 else -2.0))


@pytest.mark.parametrize("pred", [0.0, 0.5])
def test_cond_python_float_pred(pred):
    out = lax.cond(pred, lambda: 1.0, lambda: 2.0)
    assert_close(out, np.float64(1.0 if pred else 2.0), check_dtype=False)


def test_cond_pytree_operands_and_outputs():
    ops = {"w": np.arange(4.0).reshape(2, 2), "b": (np.float32(3.0), np.int32(7))}
    true_fun = lambda t: {"y": t["w"] @ t["w"], "n": t["b"][1] * 2}  # noqa: E731
    false_fun = lambda t: {"y": t["w"].T, "n": t["b"][1] - 1}  # noqa: E731
    w = ops["w"]
    for pred in (True, False):
        out = eager_and_staged(lambda p, t: lax.cond(p, true_fun, false_fun, t), np.bool_(pred),
                               ops)
        assert_close(out["y"], w @ w if pred else w.T)
        assert_close(out["n"], np.int32(14 if pred else 6))


@pytest.mark.parametrize("pred", [True, False])
def test_cond_several_operands_and_no_operands(pred):
    def f(p, a, b, c):
        return lax.cond(p, lambda x, y, z: x * y + z, lambda x, y, z: x - y * z, a, b, c)

    a, b, c = np.array([1.0, 2.0]), np.array([3.0, -1.0]), np.float64(0.5)
    assert_close(eager_and_staged(f, np.bool_(pred), a, b, c), a * b + c if pred else a - b * c)
    out = eager_and_staged(lambda p: lax.cond(p, lambda: (jnp.ones(2), np.int32(1)),
                                              lambda: (jnp.zeros(2), np.int32(0))), np.bool_(pred))
    assert_close(out[0], np.full(2, float(pred)))
    assert_close(out[1], np.int32(pred))


def test_cond_closes_over_outer_arrays():
    w = np.array([[1.0, 2.0], [3.0, 4.0]])

    def f(p, x):
        return lax.cond(p, lambda v: w @ v, lambda v: v + w[0], x)

    x = np.array([0.5, -1.0])
    assert_close(eager_and_staged(f, np.bool_(True), x), w @ x)
    assert_close(eager_and_staged(f, np.bool_(False), x), x + w[0])
    # The closed-over arrays (w in one branch, w[0] in the other) are
    # explicit operands: sub-jaxprs have no consts.
    eqn = only_eqn(funcgrad.make_jaxpr(f)(True, x), "cond")
    assert all(not b.consts for b in eqn.params["branches"])
    assert [v.aval.shape for v in eqn.invars[1:]].count((2, 2)) == 1
    assert len(eqn.invars) == 1 + 2 + 1


def test_cond_runs_only_the_chosen_branch(capsys):
    def f(p, x):
        def yes(v):
            funcgrad.debug.print("true branch {}", v)
            return v + 1.0

        def no(v):
            funcgrad.debug.print("false branch {}", v)
            return v - 1.0
        return lax.cond(p, yes, no, x)

    eager_and_staged(f, np.bool_(True), np.float64(1.0))
    out = capsys.readouterr().out
    assert out.count("true branch") == 2 and "false branch" not in out


def test_cond_branch_errors():
    with pytest.raises(TypeError, match=r"f32\[\].*f64\[\]|f64\[\].*f32\[\]"):
        lax.cond(True, lambda x: x.astype(np.float32), lambda x: x, 1.0)
    with pytest.raises(TypeError, match="structure"):
        lax.cond(True, lambda x: (x, x), lambda x: [x, x], 1.0)
    with pytest.raises(TypeError, match="shape"):
        lax.cond(True, lambda x: jnp.zeros(2), lambda x: jnp.zeros(3), 1.0)
    with pytest.raises(TypeError, match="pred must be a scalar"):
        lax.cond(np.array([True, False]), lambda: 1.0, lambda: 2.0)
    with pytest.raises(TypeError, match="pred must be a scalar"):
        funcgrad.make_jaxpr(lambda p: lax.cond(p, lambda: 1.0, lambda: 2.0))(np.ones(2, bool))


# ================================================================ switch
@FEW
@given(index=st.integers(-20, 20), x=arrays(F64, (2,)))
def test_switch_clamps_the_index(index, x):
    branches = [lambda v: v + 1.0, lambda v: v * 10.0, lambda v: -v, lambda v: jnp.exp(v)]
    refs = [lambda v: v + 1.0, lambda v: v * 10.0, lambda v: -v, np.exp]
    out = eager_and_staged(lambda i, v: lax.switch(i, branches, v), np.int32(index), x)
    assert_close(out, refs[min(max(index, 0), 3)](x))


@pytest.mark.parametrize("index", [np.int64(-(2 ** 40)), np.uint8(255), np.int16(1),
                                   np.int64(-1), np.uint32(7)])
def test_switch_clamps_integer_indices_of_any_dtype(index):
    branches = [lambda: np.int32(0), lambda: np.int32(1), lambda: np.int32(2)]
    out = eager_and_staged(lambda i: lax.switch(i, branches), index)
    assert_close(out, np.int32(min(max(int(index), 0), 2)))


@pytest.mark.parametrize("index", [np.int64(2 ** 40), np.int64(2 ** 32 + 1),
                                   np.uint32(2 ** 32 - 1)])
def test_switch_clamps_indices_beyond_int32(index):
    branches = [lambda: np.int32(0), lambda: np.int32(1), lambda: np.int32(2)]
    out = eager_and_staged(lambda i: lax.switch(i, branches), index)
    assert_close(out, np.int32(min(max(int(index), 0), 2)))


@pytest.mark.parametrize("index", [-4, 0, 9])
def test_switch_with_one_branch_always_runs_it(index):
    f = lambda i, x: lax.switch(i, [lambda v: v * 2.0], x)  # noqa: E731
    assert_close(eager_and_staged(f, np.int32(index), np.float64(1.5)), np.float64(3.0))
    assert "cond" not in eqn_names(funcgrad.make_jaxpr(f)(np.int32(index), 1.5))


def test_switch_errors():
    with pytest.raises(ValueError, match="non-empty"):
        lax.switch(0, [], 1.0)
    with pytest.raises(TypeError, match="index"):
        lax.switch(1.0, [lambda x: x, lambda x: -x], 1.0)
    with pytest.raises(TypeError, match="index must be a scalar"):
        lax.switch(np.zeros(2, np.int32), [lambda x: x, lambda x: -x], 1.0)


# ================================================================ while_loop
def collatz_steps(n: int) -> int:
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def collatz(n):
    def body(c):
        m, k = c
        return lax.select(m % 2 == 0, m // 2, 3 * m + 1), k + 1
    return lax.while_loop(lambda c: c[0] != 1, body, (n, np.int32(0)))


@FEW
@given(n=st.integers(1, 200))
def test_while_loop_integer_counters(n):
    m, k = eager_and_staged(collatz, np.int32(n))
    assert_close(k, np.int32(collatz_steps(n)))
    assert_close(m, np.int32(1))


def test_while_loop_zero_iterations_returns_init():
    init = {"x": np.arange(3.0, dtype=np.float32), "k": np.int32(5)}
    out = eager_and_staged(lambda v: lax.while_loop(lambda c: c["k"] < 0,
                                                    lambda c: {"x": c["x"] * 0, "k": c["k"] + 1},
                                                    v), init)
    assert_close(out["x"], init["x"])
    assert_close(out["k"], init["k"])


@FEW
@given(x=arrays(F64, (3,), min_value=0.5, max_value=4), limit=st.floats(1.0, 100.0))
def test_while_loop_pytree_carry_against_python(x, limit):
    def f(x0, lim):
        def cond_fun(c):
            return jnp.sum(c["x"]) < lim

        def body_fun(c):
            return {"x": c["x"] * 1.5 + 0.25, "n": (c["n"][0] + 1, c["n"][1] + c["x"][0])}
        return lax.while_loop(cond_fun, body_fun, {"x": x0, "n": (np.int32(0), 0.0)})

    out = eager_and_staged(f, x, np.float64(limit))
    rx, rn, racc = x.copy(), 0, 0.0
    while np.sum(rx) < limit:
        rx, rn, racc = rx * 1.5 + 0.25, rn + 1, racc + rx[0]
    assert_close(out["x"], rx)
    assert_close(out["n"][0], np.int32(rn))
    assert_close(out["n"][1], np.float64(racc), check_dtype=False)


def test_while_loop_closes_over_outer_arrays_in_cond_and_body():
    step, bound = np.array([1.0, 2.0]), np.array([9.5, 100.0])

    def f(x):
        return lax.while_loop(lambda c: jnp.all(c < bound), lambda c: c + step, x)

    assert_close(eager_and_staged(f, np.zeros(2)), np.array([10.0, 20.0]))
    eqn = only_eqn(funcgrad.make_jaxpr(f)(np.zeros(2)), "while")
    p = eqn.params
    assert not p["cond_jaxpr"].consts and not p["body_jaxpr"].consts
    assert p["cond_nconsts"] >= 1 and p["body_nconsts"] >= 1


def test_while_loop_carry_type_errors_name_the_leaf():
    init = (np.int32(0), np.float32(1.0))
    with pytest.raises(TypeError, match=r"init_val\[1\].*f32\[\].*f64\[\]"):
        lax.while_loop(lambda c: c[0] < 3,
                       lambda c: (c[0] + 1, c[1].astype(np.float64)), init)
    with pytest.raises(TypeError, match=r"init_val\[0\].*i32\[\].*f32\[\]"):
        lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0].astype(np.float32), c[1]), init)
    with pytest.raises(TypeError, match=r"init_val\['a'\].*f64\[2\].*f64\[3\]"):
        lax.while_loop(lambda c: True, lambda c: {"a": jnp.zeros(3)}, {"a": np.zeros(2)})
    with pytest.raises(TypeError, match="structure"):
        lax.while_loop(lambda c: c[0] < 3, lambda c: [c[0] + 1, c[1]], init)
    with pytest.raises(TypeError, match="structure"):
        lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1], c[1]), init)


def test_while_loop_cond_must_return_a_scalar_bool():
    with pytest.raises(TypeError, match=r"scalar boolean.*i64\[\]"):
        lax.while_loop(lambda c: c, lambda c: c - 1, 3)
    with pytest.raises(TypeError, match=r"scalar boolean.*bool\[2\]"):
        lax.while_loop(lambda c: c < 1.0, lambda c: c + 1, jnp.zeros(2))
    with pytest.raises(TypeError, match="scalar boolean"):
        lax.while_loop(lambda c: (c < 1.0, c < 2.0), lambda c: c + 1, 0.0)


# ================================================================ fori_loop
@FEW
@given(lo=st.integers(-3, 6), hi=st.integers(-3, 6), x=arrays(F64, (2,)), traced=st.booleans())
def test_fori_loop_against_python(lo, hi, x, traced):
    """Concrete bounds give a scan of length hi - lo (at least 0); traced
    bounds (arguments of make_jaxpr) a while loop."""
    def f(a, b, v):
        return lax.fori_loop(a if traced else lo, b if traced else hi,
                             lambda i, c: c * 0.5 + i, v)

    args = (np.int32(lo), np.int32(hi), x)
    out = eager_and_staged(f, *args)
    ref = x.copy()
    for i in range(lo, hi):
        ref = ref * 0.5 + i
    assert_close(out, ref)
    names = eqn_names(funcgrad.make_jaxpr(f)(*args))
    if traced:
        assert "while" in names and "scan" not in names
    else:
        assert names == ["scan"]
        scan_eqn = only_eqn(funcgrad.make_jaxpr(f)(*args), "scan")
        assert scan_eqn.params["length"] == max(hi - lo, 0)


def test_fori_loop_lower_above_upper_gives_init():
    x = np.array([1.0, -2.0], np.float32)
    assert_close(eager_and_staged(lambda v: lax.fori_loop(5, 2, lambda i, c: c + 1, v), x), x)
    assert_close(eager_and_staged(lambda a, b, v: lax.fori_loop(a, b, lambda i, c: c + 1, v),
                                  np.int32(5), np.int32(2), x), x)


@pytest.mark.parametrize("lower, upper, expected", [
    (np.int32(0), 3, I32), (0, np.int32(3), I32), (np.int16(0), np.int16(3), np.dtype(np.int16)),
    (0, 3, I64), (np.int32(1), np.int64(3), I64)])
def test_fori_loop_counter_dtype(lower, upper, expected):
    seen = []

    def body(i, c):
        seen.append(get_aval(i).dtype)
        return c + i.astype(np.float64)

    for staged in (False, True):
        seen.clear()
        if staged:
            out = eager_and_staged(lambda a, b: lax.fori_loop(a, b, body, 0.0), lower, upper)
        else:
            out = eager_and_staged(lambda: lax.fori_loop(lower, upper, body, 0.0))
        assert seen and all(d == expected for d in seen), (staged, seen)
        assert_close(out, np.float64(sum(range(int(lower), int(upper)))), check_dtype=False)


def test_fori_loop_python_scalar_init_takes_the_body_dtype():
    out = eager_and_staged(lambda: lax.fori_loop(0, 3, lambda i, x: x * jnp.float32(2), 1.0))
    assert_close(out, np.float32(8.0))
    out = eager_and_staged(lambda n: lax.fori_loop(0, n, lambda i, x: x * jnp.float32(2), 1.0),
                           np.int32(3))
    assert_close(out, np.float32(8.0))
    carry, ys = eager_and_staged(lambda xs: lax.scan(lambda c, x: (c + x, c), 0.0, xs),
                                 np.arange(3, dtype=np.float32))
    assert_close(carry, np.float32(3.0))
    assert_close(ys, np.array([0, 0, 1], np.float32))
    # A strongly typed start value is not converted.
    with pytest.raises(TypeError, match=r"f64\[\].*f32\[\]"):
        lax.fori_loop(0, 3, lambda i, x: x.astype(np.float32), np.float64(1.0))


def test_fori_loop_bounds_must_be_integer_scalars():
    with pytest.raises(TypeError, match="lower"):
        lax.fori_loop(0.0, 3, lambda i, x: x, 1.0)
    with pytest.raises(TypeError, match="upper"):
        lax.fori_loop(0, np.arange(3), lambda i, x: x, 1.0)


# ================================================================ scan
@FEW
@given(dtype=st.sampled_from([F32, F64, I32]), data=st.data())
def test_scan_cumulative_sum_against_numpy(dtype, data):
    xs = data.draw(arrays(dtype, (data.draw(st.integers(1, 5)), 2)))
    carry, ys = eager_and_staged(
        lambda x: lax.scan(lambda c, r: (c + r, c + r), jnp.zeros(2, dtype), x), xs)
    assert_close(ys, np.cumsum(xs, axis=0).astype(dtype), rtol=1e-5 if dtype == F32 else None)
    assert_close(carry, xs.sum(axis=0).astype(dtype), rtol=1e-5 if dtype == F32 else None)


def python_scan(f, init, xs, length, reverse=False):
    carry, ys = init, [None] * length
    for k in range(length):
        i = length - 1 - k if reverse else k
        carry, ys[i] = f(carry, None if xs is None else xs[i])
    return carry, ys


@FEW
@given(xs=arrays(F64, (5,)), reverse=st.booleans(), c0=st.floats(-2, 2))
def test_scan_reverse_against_python(xs, reverse, c0):
    def body(c, x):
        return 0.5 * c + x, c * x   # y_i depends on the order of the iterations

    carry, ys = eager_and_staged(lambda v, c: lax.scan(body, c, v, reverse=reverse),
                                 xs, np.float64(c0))
    r_carry, r_ys = python_scan(body, c0, xs, 5, reverse)
    assert_close(carry, np.float64(r_carry))
    assert_close(ys, np.array(r_ys))


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_pytree_carry_xs_and_ys(reverse):
    xs = {"a": np.arange(8.0).reshape(4, 2), "b": (np.arange(4, dtype=np.int32),)}
    init = (np.zeros(2), {"count": np.int32(0)})

    def body(c, x):
        acc, d = c
        acc = acc + x["a"] * x["b"][0]
        return (acc, {"count": d["count"] + x["b"][0]}), {"s": jnp.sum(acc), "b": x["b"][0] > 1}

    carry, ys = eager_and_staged(lambda i, x: lax.scan(body, i, x, reverse=reverse), init, xs)
    order = range(3, -1, -1) if reverse else range(4)
    acc, count, s, big = np.zeros(2), 0, np.zeros(4), np.zeros(4, bool)
    for i in order:
        acc = acc + xs["a"][i] * xs["b"][0][i]
        count += xs["b"][0][i]
        s[i], big[i] = acc.sum(), xs["b"][0][i] > 1
    assert_close(carry[0], acc)
    assert_close(carry[1]["count"], np.int32(count))
    assert_close(ys["s"], s)
    assert_close(ys["b"], big)


def test_scan_without_xs_uses_length():
    carry, ys = eager_and_staged(
        lambda c: lax.scan(lambda c, _: (c * 2.0, c), c, None, length=4), np.float64(1.5))
    assert_close(carry, np.float64(24.0))
    assert_close(ys, np.array([1.5, 3.0, 6.0, 12.0]))


def test_scan_of_length_zero():
    def f(c, xs):
        return lax.scan(lambda c, x: (c + x, (c * x, x.astype(np.int32))), c, xs)

    carry, (ys, ints) = eager_and_staged(f, np.ones(3, np.float32), np.zeros((0, 3), np.float32))
    assert_close(carry, np.ones(3, np.float32))
    assert_close(ys, np.zeros((0, 3), np.float32))
    assert_close(ints, np.zeros((0, 3), np.int32))
    carry, ys = eager_and_staged(
        lambda c: lax.scan(lambda c, _: (c + 1, c), c, None, length=0), np.int32(4))
    assert_close(carry, np.int32(4))
    assert_close(ys, np.zeros((0,), np.int32))


@pytest.mark.parametrize("unroll", [1, 2, 3, 7, True])
def test_scan_unroll_is_accepted_and_kept(unroll):
    xs = np.arange(1.0, 6.0)
    f = lambda v: lax.scan(lambda c, x: (c * x, c + x), 1.0, v, unroll=unroll)  # noqa: E731
    carry, ys = eager_and_staged(f, xs)
    r_carry, r_ys = python_scan(lambda c, x: (c * x, c + x), 1.0, xs, 5)
    assert_close(carry, np.float64(r_carry))
    assert_close(ys, np.array(r_ys))
    assert only_eqn(funcgrad.make_jaxpr(f)(xs), "scan").params["unroll"] == (
        5 if unroll is True else unroll)


def test_scan_ys_of_different_dtypes():
    def body(c, x):
        return c + x, (c, (c * 10).astype(np.int32), c > 1.0, x.astype(np.float32))

    carry, ys = eager_and_staged(lambda v: lax.scan(body, 0.0, v), np.array([0.5, 0.75, 1.0]))
    assert_close(carry, np.float64(2.25), check_dtype=False)
    assert_close(ys[0], np.array([0.0, 0.5, 1.25]), check_dtype=False)
    assert_close(ys[1], np.array([0, 5, 12], np.int32))
    assert_close(ys[2], np.array([False, False, True]))
    assert_close(ys[3], np.array([0.5, 0.75, 1.0], np.float32))


@FEW
@given(xs=arrays(F64, (4, 3)))
def test_map_against_numpy(xs):
    out = eager_and_staged(lambda v: lax.map(lambda r: (jnp.sum(r * r), r[::-1]), v), xs)
    assert_close(out[0], np.sum(xs * xs, axis=1))
    assert_close(out[1], xs[:, ::-1])


def test_scan_errors():
    xs = np.arange(3.0)
    with pytest.raises(TypeError, match="pair"):
        lax.scan(lambda c, x: c + x, 0.0, xs)
    with pytest.raises(TypeError, match="pair"):
        lax.scan(lambda c, x: [c + x, c], 0.0, xs)
    with pytest.raises(TypeError, match="pair"):
        lax.scan(lambda c, x: (c, x, x), 0.0, xs)
    with pytest.raises(ValueError, match=r"different leading axes \[3, 4\]"):
        lax.scan(lambda c, x: (c, None), 0.0, (xs, np.arange(4.0)))
    with pytest.raises(ValueError, match="length must be given"):
        lax.scan(lambda c, x: (c, None), 0.0, None)
    with pytest.raises(ValueError, match="length=4"):
        lax.scan(lambda c, x: (c, None), 0.0, xs, length=4)
    with pytest.raises(TypeError, match=r"xs\[1\] is a scalar"):
        lax.scan(lambda c, x: (c, None), 0.0, (xs, 1.0))
    with pytest.raises(TypeError, match=r"init\['n'\].*i32\[\].*f64\[\]"):
        lax.scan(lambda c, x: ({"n": c["n"] + x}, None), {"n": np.int32(0)}, xs)
    with pytest.raises(TypeError, match="structure"):
        lax.scan(lambda c, x: ((c, c), None), 0.0, xs)


# ================================================================ closures
def test_loops_close_over_traced_values_under_grad_and_vmap():
    xs = np.array([1.0, -0.5, 2.0])

    def f(a):
        carry, _ = lax.scan(lambda c, x: (c * a + x, None), 0.0, xs)
        w = lax.fori_loop(0, 2, lambda i, v: v * a, 1.0)
        return carry + lax.cond(a > 0, lambda: a * w, lambda: -w)

    def ref(a):   # the same in closed form: sum_i xs[i] a^(2-i) + a^3 (for a > 0)
        return xs[0] * a ** 2 + xs[1] * a + xs[2] + a ** 3

    a = 1.3
    assert_close(eager_and_staged(f, np.float64(a)), np.float64(ref(a)), check_dtype=False)
    g = eager_and_staged(funcgrad.grad(f), np.float64(a))
    assert_close(g, np.float64(2 * xs[0] * a + xs[1] + 3 * a ** 2), rtol=1e-10)
    avals = np.array([0.5, 1.0, 2.0])
    assert_close(eager_and_staged(funcgrad.vmap(f), avals),
                 np.array([ref(v) for v in avals]), check_dtype=False)


# ================================================================ staged structure
def test_golden_jaxpr_of_cond():
    closed = funcgrad.make_jaxpr(lambda p, x: lax.cond(p, lambda v: v * 2.0, jnp.sin, x))(
        True, np.zeros(2))
    assert str(closed) == (
        "{ lambda ; a:bool[] b:f64[2]. let\n"
        "    c:i32[] = convert_element_type[new_dtype=int32, weak_type=False] a\n"
        "    h:f64[2] = cond[branches=(\n"
        "      { lambda ; d:f64[2]. let\n"
        "            e:f64[2] = sin d\n"
        "          in (e,) }\n"
        "      { lambda ; f:f64[2]. let\n"
        "            g:f64[2] = mul f 2.0\n"
        "          in (g,) }\n"
        "    )] c b\n"
        "  in (h,) }")


def test_golden_jaxpr_structure_of_nested_loops():
    def f(x, n):
        def outer(c, row):
            inner = lax.while_loop(lambda v: v[0] < n, lambda v: (v[0] + 1, v[1] * 0.5),
                                   (np.int32(0), row))[1]
            return c + lax.cond(jnp.sum(inner) > 0, jnp.sum, jnp.max, inner), inner
        return lax.scan(outer, 0.0, x)

    x = np.array([[1.0, 2.0], [-3.0, 0.5], [-1.0, -2.0]])
    carry, ys = eager_and_staged(f, x, np.int32(2))
    inner = x * 0.25
    assert_close(ys, inner)
    ref = sum(r.sum() if r.sum() > 0 else r.max() for r in inner)
    assert_close(carry, np.float64(ref), check_dtype=False)
    closed = funcgrad.make_jaxpr(f)(np.ones((3, 2)), np.int32(2))
    assert eqn_names(closed) == ["scan"]
    p = closed.jaxpr.eqns[0].params
    assert (p["length"], p["num_carry"], p["num_consts"], p["reverse"]) == (3, 1, 1, False)
    body = p["jaxpr"]
    assert not body.consts
    names = eqn_names(body)
    assert names.count("while") == 1 and names.count("cond") == 1
    assert names.index("while") < names.index("cond")
    c = only_eqn(body, "cond")
    assert [eqn_names(b) for b in c.params["branches"]] == [["reduce_max"], ["reduce_sum"]]


def test_unused_scan_ys_and_carries_are_pruned():
    def f(xs):
        def body(c, x):
            a, b, k = c
            return (a + x, b * x, k + 1), (a * 2.0, jnp.sin(x))
        (a, _b, _k), (_y1, y2) = lax.scan(body, (0.0, 1.0, np.int32(0)), xs)
        return a, y2      # b, k and y1 are not used

    eqn = only_eqn(funcgrad.make_jaxpr(f)(np.arange(3.0)), "scan")
    assert eqn.params["num_carry"] == 1
    assert len(eqn.outvars) == 2 and len(eqn.params["jaxpr"].jaxpr.outvars) == 2
    assert "sin" in eqn_names(eqn.params["jaxpr"]) and "mul" not in eqn_names(eqn.params["jaxpr"])
    out = eager_and_staged(f, np.arange(3.0))
    assert_close(out[0], np.float64(3.0), check_dtype=False)
    assert_close(out[1], np.sin(np.arange(3.0)))


def test_a_carry_feeding_a_used_output_is_kept():
    def f(xs):
        def body(c, x):
            a, b = c
            return (a + b, b + x), None   # b is unused after the loop but feeds a
        return lax.scan(body, (0.0, 0.0), xs)[0][0]

    eqn = only_eqn(funcgrad.make_jaxpr(f)(np.arange(4.0)), "scan")
    assert eqn.params["num_carry"] == 2 and len(eqn.outvars) == 2
    assert_close(eager_and_staged(f, np.arange(4.0)), np.float64(0 + 0 + 1 + 3),
                 check_dtype=False)


def test_fully_unused_loops_are_removed():
    def f(x):
        lax.scan(lambda c, v: (c + v, c), 0.0, x)
        lax.while_loop(lambda c: c < 3.0, lambda c: c + 1.0, x[0])
        lax.cond(x[0] > 0, jnp.sin, jnp.cos, x)
        return x * 2.0

    assert eqn_names(funcgrad.make_jaxpr(f)(np.ones(2))) == ["mul"]


def test_unused_cond_outputs_and_operands_are_pruned():
    def f(p, x, y):
        a, _ = lax.cond(p, lambda u, v: (jnp.sin(u), v * 2.0), lambda u, v: (u, v - 1.0), x, y)
        return a

    closed = funcgrad.make_jaxpr(f)(True, np.ones(2), np.ones(3))
    eqn = only_eqn(closed, "cond")
    assert len(eqn.outvars) == 1 and len(eqn.invars) == 2      # index and x
    assert all(len(b.jaxpr.invars) == 1 for b in eqn.params["branches"])
    assert_close(eager_and_staged(f, np.bool_(True), np.ones(2), np.ones(3)), np.sin(np.ones(2)))


def test_debug_print_of_a_carry_keeps_it_alive(capsys):
    def f(x):
        def body(c, v):
            funcgrad.debug.print("c={}", c)
            return c + v, c * 2.0
        lax.scan(body, 0.0, x)
        return x

    eqn = only_eqn(funcgrad.make_jaxpr(f)(np.arange(3.0)), "scan")
    assert eqn.params["num_carry"] == 1 and len(eqn.outvars) == 1   # the ys are pruned
    capsys.readouterr()
    eager_and_staged(f, np.array([1.0, 2.0, 3.0]))
    assert capsys.readouterr().out.split() == ["c=0.0", "c=1.0", "c=3.0"] * 2


def test_debug_print_keeps_unused_loops_alive(capsys):
    def f(x):
        def scan_body(c, v):
            funcgrad.debug.print("scan {}", v)
            return c + v, c
        lax.scan(scan_body, 0.0, x)

        def while_body(c):
            funcgrad.debug.print("while {}", c)
            return c + 1.0
        lax.while_loop(lambda c: c < 2.0, while_body, x[0])

        def yes(v):
            funcgrad.debug.print("cond {}", v)
            return v
        lax.cond(x[0] > -1.0, yes, lambda v: v, x)
        return x * 2.0

    closed = funcgrad.make_jaxpr(f)(np.zeros(3))
    names = eqn_names(closed)
    assert names.count("scan") == 1 and names.count("while") == 1 and names.count("cond") == 1
    assert only_eqn(closed, "scan").params["num_carry"] == 0
    capsys.readouterr()
    eager_and_staged(f, np.zeros(3))
    out = capsys.readouterr().out
    # eagerly and staged: 3 scan iterations, 2 while iterations, 1 cond.
    assert out.count("scan") == 6 and out.count("while") == 4 and out.count("cond") == 2


def test_docstring_examples():
    import doctest
    import importlib

    # The package exports functions named like two of its modules.
    for name in ("cond", "loops", "scan"):
        module = importlib.import_module(f"funcgrad.lax.control_flow.{name}")
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, f"{result.failed} docstring examples of {module.__name__} failed"
        assert result.attempted > 0
