"""cond / while / scan compiled by the Numba backend: jit vs the eager
implementation (which interprets the sub-jaxprs op by op) and vs plain
Python loops, through the transforms (grad, vmap, jvp), and the properties
the lowering promises: one function, no allocation inside loop bodies,
carries updated correctly when they swap or are updated in place.

Compiled functions are shared across examples (fixed shapes and dtypes),
so the file compiles a few dozen programs."""
import re

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax, tree_util
from funcgrad.backends.numba_cpu import settings
from funcgrad.core.ir import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var
from funcgrad.passes.inline import inline_calls
from tests.backends.util import assert_same

rng = np.random.default_rng(11)


def check(fun, *args, rtol=None, atol=None, expected=None):
    """jit(fun)(*args) equals fun(*args) run eagerly (and ``expected``, a
    reference computed without funcgrad, when given); returns the jitted
    function."""
    jitted = funcgrad.jit(fun)
    got = tree_util.tree_leaves(jitted(*args))
    eager = tree_util.tree_leaves(fun(*args))
    assert len(got) == len(eager)
    for k, (g, e) in enumerate(zip(got, eager, strict=True)):
        assert_same(g, e, rtol=rtol, atol=atol, err_msg=f"output {k} (jit vs eager)")
    if expected is not None:
        for k, (g, e) in enumerate(zip(got, tree_util.tree_leaves(expected), strict=True)):
            np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-10, atol=1e-12,
                                       err_msg=f"output {k} (jit vs reference)")
    return jitted


def source(jitted, *args) -> str:
    return jitted.lower(*args).as_text()


def loop_body_lines(src: str) -> list[str]:
    """The lines of the entry function inside a control-flow loop (a
    ``for k…_`` or ``while`` statement)."""
    lines = src[src.index("def fn_"):].splitlines()
    out, depth = [], None
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if depth is not None and line.strip() and indent <= depth:
            depth = None
        if depth is not None:
            out.append(line)
        elif re.match(r"\s*(for k\d+_ in (p)?range|while )", line):
            depth = indent
    return out


def allocations_in_loops(src: str) -> list[str]:
    return [line for line in loop_body_lines(src)
            if not line.lstrip().startswith("#")
            and re.search(r"np\.(empty|full|zeros|copy|ascontiguousarray\(np\.trans)|_rt\.dot",
                          line)]


# ------------------------------------------------------------ cond / switch
BRANCHES = [lambda x, s: (x + s, s * 2.0),
            lambda x, s: (x * s, s - 1.0),
            lambda x, s: (-x, s)]          # returns an operand as it is


@hsettings(max_examples=12)
@given(st.integers(-5, 8), st.floats(-3, 3))
def test_switch_clamps_index_and_matches_python(index, s):
    # (Every example generates the same code: Numba compiles it once.)
    x = np.array([1.0, -2.0, 3.5])
    k = min(max(index, 0), 2)
    ref = BRANCHES[k](x, s)
    check(lambda i, x, s: lax.switch(i, BRANCHES, x, s), np.int64(index), x, np.float64(s),
          expected=ref)


def test_cond_pytrees_passthrough_and_repeated_outputs():
    def fun(p, x):
        def yes(t):
            y = t["a"] * 2.0
            return y, y, t["b"]            # one array returned twice
        def no(t):
            return t["a"], t["a"] + 1.0, t["b"] + 1   # an operand as it is
        return lax.cond(p > 0, yes, no, {"a": x, "b": np.int32(3)})

    x = np.arange(4.0)
    jitted = check(fun, 1.0, x)
    check(jitted, -1.0, x)
    a, b, _ = jitted(1.0, x)
    assert not np.shares_memory(np.asarray(a), np.asarray(b))


def test_switch_with_constant_index_emits_one_branch():
    jitted = check(lambda x: lax.switch(2, [jnp.sin, jnp.cos, jnp.tanh], x), np.ones(3))
    src = source(jitted, np.ones(3))
    assert "if " not in src[src.index("def fn_"):]


def test_cond_on_vmapped_predicate():
    f = funcgrad.vmap(lambda x: lax.cond(x > 0.5, lambda v: v * 2.0, jnp.sin, x))
    x = np.array([0.2, 1.0, 0.7, -3.0])
    check(f, x, expected=np.where(x > 0.5, x * 2.0, np.sin(x)))


# ------------------------------------------------------------ while / fori
def collatz(n):
    return lax.while_loop(lambda c: c[0] != 1,
                          lambda c: (lax.select(c[0] % 2 == 0, c[0] // 2, 3 * c[0] + 1),
                                     c[1] + 1), (n, 0))


def _collatz_steps(n):
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def test_while_integer_carries():
    jitted = check(collatz, np.int64(27), expected=(1, 111))
    for n in (1, 6, 97):    # 1: zero iterations
        assert int(jitted(np.int64(n))[1]) == _collatz_steps(n)
    assert "while (" in source(jitted, np.int64(27))


def test_while_general_predicate_and_zero_iterations():
    def fun(x, limit):
        return lax.while_loop(lambda c: jnp.sum(c[0] ** 2) < limit,
                              lambda c: (c[0] * 1.5 + 0.1, c[1] + 1), (x, 0))

    x = np.array([0.1, -0.2, 0.3])
    jitted = check(fun, x, 50.0)
    check(jitted, x, 0.0)   # the predicate is false at once
    out, n = jitted(x, 0.0)
    assert int(n) == 0 and np.array_equal(np.asarray(out), x)
    assert "while True:" in source(jitted, x, 50.0)


@hsettings(max_examples=8)
@given(st.integers(-3, 12), st.integers(-3, 12))
def test_fori_loop_traced_bounds(lo, hi):
    x = np.array([1.0, 2.0])
    ref = x.copy()
    for i in range(lo, hi):
        ref = ref * 0.5 + i
    check(lambda lo, hi, x: lax.fori_loop(lo, hi, lambda i, v: v * 0.5 + i, x),
          np.int64(lo), np.int64(hi), x, expected=ref)


def test_fori_loop_concrete_bounds_is_a_for_loop():
    fun = lambda x: lax.fori_loop(2, 9, lambda i, v: v * 0.5 + i, x)
    ref = 1.25
    for i in range(2, 9):
        ref = ref * 0.5 + i
    jitted = check(fun, 1.25, expected=ref)
    assert re.search(r"for k\d+_ in range\(7\):", source(jitted, 1.25))


def test_while_jvp():
    def fun(x, t):
        loop = lambda x: lax.while_loop(lambda c: c[0] < 5,
                                        lambda c: (c[0] + 1, jnp.sin(c[1]) * 1.5), (0, x))[1]
        return funcgrad.jvp(loop, (x,), (t,))

    x, t = np.array([0.3, 1.0, -0.4]), np.array([1.0, 0.5, 2.0])
    v, dv = x.copy(), t.copy()
    for _ in range(5):
        v, dv = np.sin(v) * 1.5, np.cos(v) * 1.5 * dv
    check(fun, x, t, expected=(v, dv))


def test_vmap_of_while_with_batched_predicate():
    def member(x, v):
        return lax.while_loop(lambda c: c[1] < x * 10,
                              lambda c: (c[0] * 0.9 + v, c[1] + 1.0), (v, 0.0))[0]

    f = funcgrad.vmap(member, in_axes=(0, None))
    x, v = np.array([0.0, 0.25, 1.0, 0.05]), np.array([1.0, -2.0])
    ref = []
    for xi in x:
        c, k = v.copy(), 0.0
        while k < xi * 10:
            c, k = c * 0.9 + v, k + 1.0
        ref.append(c)
    check(f, x, v, expected=np.stack(ref))


# ------------------------------------------------------------ scan
def _scan_fun(reverse):
    def fun(init, xs):
        def body(c, x):
            a, n = c
            a = a * x["w"] + x["b"][0]
            return (a, n + 1), {"s": a.sum(), "v": a * 2.0}
        return lax.scan(body, init, xs, reverse=reverse)
    return fun


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_pytrees_reverse_and_lengths(reverse):
    fun = _scan_fun(reverse)
    for length in (5, 0, 1):     # one compiled function: sizes are read at run time
        xs = {"w": rng.standard_normal((length, 3)), "b": rng.standard_normal((length, 2))}
        init = (np.ones(3), np.int32(0))
        a, refs = np.ones(3), []
        order = range(length - 1, -1, -1) if reverse else range(length)
        for i in order:
            a = a * xs["w"][i] + xs["b"][i][0]
            refs.append((i, a.sum(), a * 2.0))
        refs.sort(key=lambda r: r[0])
        ref_ys = {"s": np.array([r[1] for r in refs]),
                  "v": np.array([r[2] for r in refs]).reshape(length, 3)}
        check(fun, init, xs, expected=((a, np.int32(length)), ref_ys))


def test_scan_without_xs_int_carry_and_float32():
    def fun(c, h):
        return lax.scan(lambda c, _: ((c[0] * 3 % 7, c[1] * h + 1), c[1]), c, None, length=6)

    c = (np.int64(2), np.ones(2, np.float32))
    (_, y), ys = check(fun, c, np.float32(0.5))(c, np.float32(0.5))
    assert np.asarray(y).dtype == np.float32 and np.asarray(ys).shape == (6, 2)


def test_scan_of_length_zero_returns_init():
    fun = lambda c, xs: lax.scan(lambda c, x: (c + x, c * x), c, xs)
    (c, ys) = check(fun, np.ones(2), np.zeros((0, 2)))(np.ones(2), np.zeros((0, 2)))
    assert np.asarray(ys).shape == (0, 2) and np.array_equal(np.asarray(c), np.ones(2))


def test_grad_of_scan():
    def loss(w, xs):
        def body(c, x):
            c = jnp.tanh(c * w + x)
            return c, jnp.sum(c ** 2)
        c, ys = lax.scan(body, jnp.zeros(3), xs)
        return jnp.sum(ys) + jnp.sum(c)

    w, xs = np.array([0.5, -0.3, 0.9]), rng.standard_normal((7, 3))
    g = funcgrad.grad(loss)
    check(g, w, xs, rtol=1e-10, atol=1e-12)
    eps, fd = 1e-6, []
    for k in range(3):
        e = np.zeros(3)
        e[k] = eps
        fd.append((float(loss(w + e, xs)) - float(loss(w - e, xs))) / (2 * eps))
    np.testing.assert_allclose(np.asarray(funcgrad.jit(g)(w, xs)), fd, rtol=1e-6)


# ------------------------------------------------------------ nesting
@pytest.mark.parametrize("fusion", [True, False])
def test_nested_loops_and_cond_inside_scan(fusion):
    def fun(x0, xs):
        def outer(c, x):
            inner = lax.fori_loop(0, 3, lambda j, v: v * 0.5 + x, c)
            r = lax.cond(x > 1.0, lambda v: v + 100.0, lambda v: v - 1.0, inner)
            k = lax.while_loop(lambda s: s[1] < 2.0 * x,
                               lambda s: (s[0] + jnp.sum(r), s[1] + 1.0), (0.0, 0.0))[0]
            return r, k
        return lax.scan(outer, x0, xs)

    x0, xs = np.ones(2), np.array([0.5, 1.5, 2.0, 0.0])
    c, ref = x0.copy(), []
    for x in xs:
        for _ in range(3):
            c = c * 0.5 + x
        c = c + 100.0 if x > 1.0 else c - 1.0
        k, s = 0.0, 0.0
        while s < 2.0 * x:
            k, s = k + c.sum(), s + 1.0
        ref.append(k)
    saved, settings.fusion = settings.fusion, fusion
    try:
        check(fun, x0, xs, expected=(c, np.array(ref)))
    finally:
        settings.fusion = saved


# ------------------------------------------------------------ carries
def test_carry_swaps_and_rotations():
    def fun(a, b, c, s, t):
        def body(i, st):
            a, b, c, s, t = st
            return c, a, b + 1.0, t, s     # arrays rotate, scalars swap
        return lax.fori_loop(0, 5, body, (a, b, c, s, t))

    a, b, c = np.zeros(3), np.ones(3), np.full(3, 2.0)
    st = [a, b, c, 1.0, 3.0]
    for _ in range(5):
        st = [st[2], st[0], st[1] + 1.0, st[4], st[3]]
    check(fun, a, b, c, 1.0, 3.0, expected=tuple(st))


def test_in_place_carry_update_is_not_copied():
    def fun(x):
        return lax.fori_loop(0, 6, lambda i, v: v.at[i].set(v[i - 1] + i), x)

    ref = np.zeros(6)
    for i in range(6):
        ref[i] = ref[i - 1] + i
    jitted = check(fun, np.zeros(6), expected=ref)
    src = source(jitted, np.zeros(6))
    # One copy of the argument into the carry, none per iteration.
    assert src.count("np.copy") == 1 and not allocations_in_loops(src)
    assert not [line for line in loop_body_lines(src) if line.lstrip().startswith("for ")]


def test_in_place_updates_wait_for_every_reader():
    def fun(x):
        y = jnp.asarray(x) * 2.0
        first = y.at[0].set(y[1] + 1.0)         # y read first: in place
        z = first * 1.0
        view = z[1:3]
        late = z.at[1].set(-1.0)                # the view is read afterwards: a copy
        return first.sum(), late, view * 3.0

    x = np.arange(4.0)
    y = x * 2.0
    y[0] = y[1] + 1.0
    late = y.copy()
    late[1] = -1.0
    jitted = check(fun, x, expected=(y.sum(), late, y[1:3] * 3.0))
    src = source(jitted, x)
    assert src.count("np.copy") == 1


def test_carry_updated_in_place_and_read_through_a_view():
    def fun(a, b):
        def body(i, st):
            a, _ = st
            a2 = a.at[0].set(a[0] + 1.0)      # in place, in a's buffer
            return a2 * 2.0, a2[:2]           # b's new value is a view of a's buffer
        return lax.fori_loop(0, 3, body, (a, b))

    a, b = np.arange(4.0), np.zeros(2)
    for _ in range(3):
        a2 = a.copy()
        a2[0] += 1.0
        a, b = a2 * 2.0, a2[:2]
    check(fun, np.arange(4.0), np.zeros(2), expected=(a, b))


def test_in_place_update_of_an_outer_carry_by_an_inner_loop():
    def fun(x):
        def outer(i, v):
            v = v.at[0].add(1.0)
            return lax.fori_loop(0, 3, lambda j, w: w.at[j + 1].add(w[0]), v)
        return lax.fori_loop(0, 2, outer, x)

    ref = np.zeros(4)
    for _ in range(2):
        ref[0] += 1.0
        for j in range(3):
            ref[j + 1] += ref[0]
    check(fun, np.zeros(4), expected=ref)


def test_leapfrog_body_allocates_nothing():
    a = rng.standard_normal((10, 10))

    def fun(a, q, p):
        def step(i, s):
            q, p = s
            ph = p - 0.005 * (a @ q)
            qn = q + 0.01 * ph
            f = a @ qn
            pn = ph - 0.005 * f
            e = 0.5 * (pn @ pn) + 0.5 * (qn @ f)
            return lax.cond(e > 50.0, lambda s: (s[0] * 0.5, s[1] * 0.5), lambda s: s, (qn, pn))
        return lax.fori_loop(0, 20, step, (q, p))

    q, p = rng.standard_normal(10), rng.standard_normal(10)
    jitted = check(fun, a, q, p, rtol=1e-12, atol=1e-12)
    assert not allocations_in_loops(source(jitted, a, q, p))


def test_scan_code_does_not_depend_on_the_length():
    # Lengths above ``settings.static_dim_max`` (smaller ones are literals).
    fun = funcgrad.jit(lambda xs: lax.scan(lambda c, x: (c + x, c * x), 0.0, xs))
    code = [re.sub(r"(?m)^\s*#.*\n", "", source(fun, np.ones(n))) for n in (14, 19)]
    assert code[0] == code[1]


# ------------------------------------------------------------ effects, inlining
def test_debug_print_inside_a_loop(capsys):
    def fun(x):
        def body(i, v):
            funcgrad.debug.print("i={i} v={v}", i=i, v=v)
            return v * 2.0
        return lax.fori_loop(0, 3, body, x)

    funcgrad.jit(fun)(np.ones(2))
    assert capsys.readouterr().out.splitlines() == ["i=0 v=[1. 1.]", "i=1 v=[2. 2.]",
                                                    "i=2 v=[4. 4.]"]


def test_prints_in_a_loop_then_in_a_branch(capsys):
    # (Numba cannot compile an objmode block in an if/else after another
    # objmode block: the prints are calls of helper functions.)
    def fun(x):
        lax.scan(lambda c, v: (funcgrad.debug.print("scan {}", v), (c, None))[1], 0.0, x)
        lax.cond(x[0] > -1.0, lambda v: funcgrad.debug.print("cond {}", v), lambda v: None, x)
        return x * 2.0

    funcgrad.jit(fun)(np.zeros(2))
    assert capsys.readouterr().out.splitlines() == ["scan 0.0", "scan 0.0", "cond [0. 0.]"]


def test_calls_inside_bodies_are_inlined_with_their_constants():
    weights = np.array([1.0, 2.0, 3.0])
    inner = funcgrad.jit(lambda v: jnp.sin(v) * weights)   # closes over a constant

    @funcgrad.custom_jvp
    def relu(x):
        return jnp.maximum(x, 0.0)
    relu.defjvp(lambda p, t: (relu(p[0]), t[0] * (p[0] > 0)))

    def fun(x):
        def body(c, xi):
            c = inner(c) + xi
            c = lax.cond(xi > 0.5, lambda v: inner(v) * 2.0, relu, c)
            n = lax.while_loop(lambda s: s[0] < 3, lambda s: (s[0] + 1, inner(s[1])), (0, c))[1]
            return n, relu(n).sum()
        return lax.scan(body, x, jnp.linspace(0, 1, 4))

    x = np.array([0.5, -1.0, 2.0])
    closed = funcgrad.make_jaxpr(fun)(x)
    inlined = inline_calls(closed)
    names = set()

    def walk(jaxpr):
        for e in jaxpr.eqns:
            names.add(e.primitive.name)
            for v in e.params.values():
                for s in (v if isinstance(v, tuple) else (v,)):
                    if isinstance(s, ClosedJaxpr):
                        assert not s.consts
                        walk(s.jaxpr)
    walk(inlined.jaxpr)
    assert not names & {"jit", "custom_jvp_call", "custom_vjp_call"}
    # The inlined jaxpr is an ordinary one: the interpreter runs it.
    for g, e in zip(funcgrad.eval_jaxpr(inlined.jaxpr, inlined.consts, x),
                    funcgrad.eval_jaxpr(closed.jaxpr, closed.consts, x), strict=True):
        assert_same(g, e)
    check(fun, x)
    check(lambda x: funcgrad.jvp(lambda x: fun(x)[1].sum(), (x,), (np.ones(3),)), x)


# ------------------------------------------------------------ code generation corners
def _scan_eqn_twice():
    """A program whose two scan equations share one body object (the
    second runs on a value the program computed, the first on an
    argument), with an array literal inside the body."""
    closed = funcgrad.make_jaxpr(
        lambda c, xs: lax.scan(lambda c, x: (c * x + 1.0, c[0]), c, xs))(np.ones(2),
                                                                        np.ones((3, 2)))
    (eqn,) = closed.jaxpr.eqns
    body = eqn.params["jaxpr"]
    c, xs = closed.jaxpr.invars
    # The body's "+ 1.0" becomes "+ [1.0, 2.0]" (an array literal).
    b = body.jaxpr
    (add,) = [e for e in b.eqns if e.primitive.name == "add"]
    lit = Literal(np.array([1.0, 2.0]), add.outvars[0].aval)
    new_add = JaxprEqn(add.primitive, [add.invars[0], lit], add.outvars, add.params)
    body = ClosedJaxpr(Jaxpr([], b.invars, b.outvars,
                             [new_add if e is add else e for e in b.eqns]), [])
    params = dict(eqn.params, jaxpr=body)
    c1, y1 = Var(eqn.outvars[0].aval), Var(eqn.outvars[1].aval)
    c2, y2 = Var(eqn.outvars[0].aval), Var(eqn.outvars[1].aval)
    eqns = [JaxprEqn(eqn.primitive, [c, xs], [c1, y1], params),
            JaxprEqn(eqn.primitive, [c1, xs], [c2, y2], params)]
    return ClosedJaxpr(Jaxpr([], [c, xs], [c2, y1, y2], eqns), [])


def test_shared_bodies_and_array_literals_in_bodies():
    from funcgrad.backends import compile_jaxpr
    closed = _scan_eqn_twice()
    c, xs = np.array([0.5, -1.0]), rng.standard_normal((3, 2))
    got = compile_jaxpr(closed)(c, xs)
    expected = funcgrad.eval_jaxpr(closed.jaxpr, closed.consts, c, xs)
    for g, e in zip(got, expected, strict=True):
        assert_same(g, e)


def test_parallel_scan_over_members_is_deterministic():
    def member(x):
        return lax.while_loop(lambda c: jnp.sum(c[0]) < x,
                              lambda c: (c[0] * 1.5 + 0.1, c[1] + 1.0), (jnp.ones(2), 0.0))

    f = funcgrad.vmap(member)
    x = rng.uniform(0, 30, 64)
    serial = funcgrad.jit(f)(x)
    saved = settings.parallel, settings.parallel_threshold
    settings.parallel, settings.parallel_threshold = True, 16
    try:
        jitted = funcgrad.jit(f)
        assert "prange" in source(jitted, x)
        for got, want in zip(jitted(x), serial, strict=True):
            assert np.array_equal(np.asarray(got), np.asarray(want))
    finally:
        settings.parallel, settings.parallel_threshold = saved
    check(f, x)


def test_members_with_nested_while_loops_are_not_parallelised():
    """A member map whose body nests while loops stays a serial loop under
    FUNCGRAD_PARALLEL (see ``_want_prange``), and still computes what the
    serial program computes."""
    def member(x):
        def outer_body(c):
            n, total = c
            # Member-dependent trip counts: the vmap maps over members.
            inner = lax.while_loop(lambda k: k[1] < x * n, lambda k: (k[0] + 1, k[1] + 1.0),
                                   (0, 0.0))
            return n + 1, total + inner[1]
        return lax.while_loop(lambda c: c[1] < 20 * x, outer_body, (0, 0.0))[1]

    def reference(x):
        n = total = 0.0
        while total < 20 * x:
            count = 0.0
            while count < x * n:
                count += 1.0
            n, total = n + 1, total + count
        return total

    f = funcgrad.vmap(member)
    x = rng.uniform(0.5, 3, 64)
    saved = settings.parallel, settings.parallel_threshold
    settings.parallel, settings.parallel_threshold = True, 16
    try:
        jitted = funcgrad.jit(f)
        text = source(jitted, x)
        assert "while True" in text and "prange(" not in text
        np.testing.assert_array_equal(np.asarray(jitted(x)), [reference(v) for v in x])
    finally:
        settings.parallel, settings.parallel_threshold = saved
