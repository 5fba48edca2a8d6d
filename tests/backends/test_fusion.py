"""Loop fusion: chains become one loop nest, intermediates stay scalars,
groups stay convex, random DAGs compile to the eager results, and the
parallel setting changes nothing but the loops' kind."""
import random

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.backends import compile_jaxpr
from funcgrad.backends.numba_cpu import fusion, settings
from tests.backends.util import assert_same, check_compiled, loops, nests


def _body(source: str) -> str:
    return source[source.index("def fn_"):]


def test_a_chain_is_one_loop_and_materialises_only_its_result():
    def f(x, y):
        z = jnp.sin(x) * 2.0 + jnp.exp(-y) / (1.0 + x * x)
        return jnp.tanh(z) - 0.5
    x, y = np.linspace(-1, 1, 7), np.linspace(0, 2, 7)
    exe = check_compiled(f, x, y)
    body = _body(exe.source)
    assert loops(exe.source) == 1
    assert body.count("np.empty(") == 1       # only the result is an array


def test_broadcasts_and_a_reduction_fuse_into_the_loop():
    def f(x, v):
        return jnp.sum(jnp.exp(x - v[:, None]) * 3.0, axis=1)
    exe = check_compiled(f, np.arange(12.0).reshape(3, 4), np.arange(3.0))
    assert nests(exe.source) == 1
    assert "np.empty(" in _body(exe.source) and _body(exe.source).count("np.empty(") == 1


def test_full_reduction_of_a_chain_allocates_nothing():
    def f(x, y):
        return jnp.sum(jnp.logaddexp(0.0, x) - y * x)
    exe = check_compiled(f, np.linspace(-3, 3, 11), np.linspace(0, 1, 11))
    assert nests(exe.source) == 1 and "np.empty(" not in _body(exe.source)


def test_use_of_a_reduction_result_starts_a_new_loop():
    # softmax: the sum must be complete before the division reads it.
    def f(x):
        e = jnp.exp(x - jnp.max(x, axis=1, keepdims=True))
        return e / jnp.sum(e, axis=1, keepdims=True)
    exe = check_compiled(f, np.arange(12.0).reshape(3, 4) / 7)
    assert nests(exe.source) == 3


def test_groups_stay_convex_around_non_fusible_operations():
    # a -> sort -> c, and a -> c: c cannot join a's loop (it needs the sort,
    # which needs a's loop to have finished).
    def f(x):
        a = jnp.sin(x)
        b = lax.sort(a)
        return a * b + jnp.cos(a)
    check_compiled(f, np.array([3.0, -1.0, 2.0, 0.5]))
    plan = fusion.plan(funcgrad.make_jaxpr(f)(np.ones(4)).jaxpr)
    names = [[m.primitive.name for m in step.members] if isinstance(step, fusion.Group)
             else step.primitive.name for step in plan]
    assert len(names) == 3 and names[1] == "sort"
    assert "sin" in names[0] and "mul" not in names[0]
    assert "mul" in names[2] and "add" in names[2]


def test_siblings_reading_the_same_input_share_a_loop():
    exe = check_compiled(lambda x: (jnp.sin(x), jnp.cos(x), jnp.sum(x * x)), np.arange(5.0))
    assert nests(exe.source) == 1


def test_fusion_can_be_switched_off(monkeypatch):
    monkeypatch.setattr(settings, "fusion", False)
    exe = check_compiled(lambda x: jnp.tanh(jnp.sin(x) * 2.0), np.arange(5.0))
    assert loops(exe.source) == 3


# ------------------------------------------------------------ random programs
_UNARY = [jnp.sin, jnp.exp, jnp.negative, jnp.tanh, lambda x: x * 0.5, jnp.abs]
_BINARY = [jnp.add, jnp.subtract, jnp.multiply, jnp.maximum,
           lambda x, y: x / (jnp.abs(y) + 1.0)]


def _random_program(seed: int):
    r = random.Random(seed)
    steps = []
    for _ in range(r.randint(4, 14)):
        u = r.random()
        if u < 0.3:
            steps.append(("unary", r.randrange(len(_UNARY)), r.randrange(99)))
        elif u < 0.65:
            steps.append(("binary", r.randrange(len(_BINARY)), r.randrange(99), r.randrange(99)))
        elif u < 0.8:
            steps.append(("reduce", r.randrange(99), r.choice([0, 1, None]), r.random() < 0.5))
        elif u < 0.85:
            steps.append(("broadcast", r.randrange(99)))
        elif u < 0.93:
            steps.append(("view", r.randrange(99), r.randrange(4)))
        else:
            steps.append(("matmul", r.randrange(99)))
    outs = [r.randrange(99) for _ in range(r.randint(1, 3))]

    def f(x, y):
        vals = [x, y]
        for step in steps:
            kind, *a = step
            if kind == "unary":
                vals.append(_UNARY[a[0]](vals[a[1] % len(vals)]))
            elif kind == "binary":
                p, q = vals[a[1] % len(vals)], vals[a[2] % len(vals)]
                if p.shape != q.shape:
                    q = jnp.sum(q) if p.ndim == 0 else jnp.broadcast_to(jnp.sum(q), p.shape)
                vals.append(_BINARY[a[0]](p, q))
            elif kind == "reduce":
                p = vals[a[0] % len(vals)]
                if p.ndim == 2:
                    vals.append(jnp.sum(p, axis=a[1]) if a[2] else jnp.max(p, axis=a[1]))
            elif kind == "broadcast":
                p = vals[a[0] % len(vals)]
                if p.ndim == 1:
                    vals.append(jnp.broadcast_to(p[:, None], (4, 5)) if p.shape[0] == 4
                                else jnp.broadcast_to(p[None, :], (4, 5)))
                elif p.ndim == 0:
                    vals.append(jnp.broadcast_to(p, (4, 5)))
            elif kind == "view":
                p = vals[a[0] % len(vals)]
                if p.ndim == 2:
                    vals.append([p.T, p[::-1], jnp.squeeze(p[None, :, None, :], (0, 2)),
                                 jnp.transpose(p[:, ::-1]).T][a[1]])
            elif vals[a[0] % len(vals)].ndim == 2:
                p = vals[a[0] % len(vals)]
                vals.append(p @ p.T)
        return tuple(vals[o % len(vals)] for o in outs)
    return f


@pytest.mark.parametrize("seed", range(16))
def test_random_elementwise_programs(seed):
    rng = np.random.default_rng(seed)
    check_compiled(_random_program(seed), rng.standard_normal((4, 5)), rng.standard_normal((4, 5)))


# ------------------------------------------------------------ parallel loops
def test_parallel_loops_give_identical_results(monkeypatch):
    def f(x):
        return (jnp.sum(jnp.exp(x), axis=1), jnp.max(jnp.sin(x), axis=0), jnp.sum(jnp.cos(x)),
                jnp.tanh(x) * 2.0)
    x = np.random.default_rng(0).standard_normal((300, 130))
    closed = funcgrad.make_jaxpr(f)(x)
    serial = compile_jaxpr(closed)
    monkeypatch.setattr(settings, "parallel", True)
    parallel = compile_jaxpr(closed)
    assert "in prange(" in parallel.source and "parallel=True" in parallel.source
    assert "in prange(" not in serial.source
    for a, b in zip(serial(x), parallel(x), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(serial(x), funcgrad.eval_jaxpr(closed.jaxpr, closed.consts, x), strict=True):
        assert_same(a, b)


# ------------------------------------------------------------ loads and layout
def test_transposes_reversals_and_unit_reshapes_are_loads():
    def f(x, v):
        y = jnp.sin(x.T) * 2.0 + x.T[:, ::-1]
        return jnp.reshape(y, (1,) + y.shape) * v[None, :, None]
    x, v = np.arange(12.0).reshape(3, 4) / 5, np.arange(4.0)
    exe = check_compiled(f, x, v)
    body = _body(exe.source)
    assert nests(exe.source) == 1 and body.count("np.empty(") == 1


def test_shapes_differing_in_unit_dimensions_share_a_loop():
    def f(x, y):
        e = jnp.exp(x)[:, None, :]
        return jnp.sum(e * y[:, None, :] + 1.0, axis=(1, 2)), e
    exe = check_compiled(f, np.arange(12.0).reshape(3, 4) / 7, np.ones((3, 4)))
    assert nests(exe.source) == 1


def test_inner_loop_runs_along_the_contiguous_dimension():
    from funcgrad.backends.numba_cpu import fusion_emit
    x = np.random.default_rng(1).standard_normal((300, 200))
    closed = funcgrad.make_jaxpr(lambda x, y: jnp.sin(x.T) * y)(x, x.T.copy())
    (group,) = [s for s in fusion.plan(closed.jaxpr) if isinstance(s, fusion.Group)]
    # y and the result are contiguous along dimension 1 (300), x.T along 0.
    assert fusion_emit._loop_order(None, group) == [0, 1]
    closed = funcgrad.make_jaxpr(lambda x: jnp.sin(x.T))(x)
    (group,) = [s for s in fusion.plan(closed.jaxpr) if isinstance(s, fusion.Group)]
    # A strided read over 300 costs more than a strided write over 200.
    assert fusion_emit._loop_order(None, group) == [1, 0]
    check_compiled(lambda x: jnp.sin(x.T), x)


def test_a_large_transpose_on_its_own_is_blocked():
    x = np.arange(70 * 90.0).reshape(70, 90)
    exe = check_compiled(lambda x: (x.T, jnp.reshape(x, (90 * 70,))), x)
    assert "min(" in _body(exe.source)       # tiles
