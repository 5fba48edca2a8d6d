"""The ``threefry2x32`` primitive against its independent references: the
block function written with ``lax`` uint32 operations
(``prng._threefry_lax``, which is checked against the published answers)
and a pure-Python implementation from the specification.  Eagerly, under
``jit``, under ``vmap``, inside ``scan``/``while_loop`` under ``jit`` and
inside ``grad``; and the random streams did not change: the values below
were drawn before the primitive existed."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
from funcgrad import lax, random
from funcgrad.backends.numba_cpu.lowering_random import threefry2x32 as compiled_helper
from funcgrad.random import prng
from funcgrad.random.threefry import threefry2x32, threefry2x32_p
from tests.random.test_prng import KAT, threefry_reference

U32 = np.uint32
H = float.fromhex
NAMES = ("k0", "k1", "x0", "x1")


def lax_reference(k0, k1, x0, x1):
    """The lax composition, evaluated eagerly, broadcast to the common shape."""
    y0, y1 = prng._threefry_lax(k0, k1, x0, x1, 20)
    shape = np.broadcast_shapes(*(np.shape(a) for a in (k0, k1, x0, x1)))
    return np.broadcast_to(y0, shape), np.broadcast_to(y1, shape)


def assert_words(got, expected):
    for g, e in zip(got, expected, strict=True):
        g, e = np.asarray(g), np.asarray(e)
        assert g.dtype == np.uint32 and g.shape == e.shape, (g.dtype, g.shape, e.shape)
        np.testing.assert_array_equal(g, e)


def words(shape):
    return hnp.arrays(np.uint32, shape, elements=st.integers(0, 2 ** 32 - 1))


_SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)


@st.composite
def operands(draw, shapes=_SHAPES):
    """Four uint32 operands: each of the common shape or 0-d."""
    shape = draw(shapes)
    full = draw(st.lists(st.booleans(), min_size=4, max_size=4))
    return [draw(words(shape if f else ())) for f in full]


def rng_operands(shape, full, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 2 ** 32, shape if f else (), dtype=np.uint64).astype(U32)
            for f in full]


# ------------------------------------------------------------ known answers
@pytest.mark.parametrize("counter,key,expected", [(c, k, e) for r, c, k, e in KAT if r == 20])
def test_known_answers_eager_jit_and_helper(counter, key, expected):
    args = [U32(key[0]), U32(key[1]), U32(counter[0]), U32(counter[1])]
    assert tuple(int(y) for y in threefry2x32(*args)) == expected
    assert tuple(int(y) for y in funcgrad.jit(threefry2x32)(*args)) == expected
    assert tuple(int(y) for y in compiled_helper(*args)) == expected
    # The helper takes the words in any integer type.
    assert tuple(int(y) for y in compiled_helper(*[int(a) for a in args])) == expected


# ------------------------------------------------------------ eager
@given(operands())
def test_eager_equals_lax_composition(args):
    assert_words(threefry2x32(*args), lax_reference(*args))


def test_eager_equals_python_reference():
    k0, k1, x0, x1 = rng_operands((7,), (True, True, True, True), seed=1)
    y0, y1 = threefry2x32(k0, k1, x0, x1)
    for i in range(7):
        ref = threefry_reference((int(k0[i]), int(k1[i])), (int(x0[i]), int(x1[i])))
        assert (int(y0[i]), int(y1[i])) == ref


def test_shape_rule_and_errors():
    y0, y1 = threefry2x32(U32(1), U32(2), np.arange(6, dtype=U32).reshape(2, 3), 5)
    assert y0.shape == y1.shape == (2, 3) and y0.dtype == y1.dtype == np.uint32
    assert not funcgrad.core.trace.get_aval(y0).weak_type
    with pytest.raises(TypeError, match="threefry2x32.*uint32"):
        threefry2x32(U32(1), U32(2), np.arange(3, dtype=np.int32), U32(0))
    with pytest.raises(TypeError, match="threefry2x32.*incompatible shapes"):
        threefry2x32(np.zeros(2, U32), U32(2), np.zeros(3, U32), U32(0))


def test_one_equation_per_random_call():
    closed = funcgrad.make_jaxpr(
        lambda k: random.normal(k, (3,)) + random.uniform(random.fold_in(k, 1), (2,)).sum()
    )(random.key(0))
    names = [e.primitive.name for e in closed.jaxpr.eqns]
    assert names.count("threefry2x32") == 3
    assert len(names) < 60      # the lax composition staged ~130 equations per call
    assert "threefry2x32" in closed.pretty()


def test_rules_declared():
    p = threefry2x32_p
    assert p.multiple_results and callable(p.impl) and callable(p.abstract_eval)
    assert callable(p.jvp) and "transpose" in p.not_applicable and callable(p.batch)


# ------------------------------------------------------------ jit
# Sizes above the backend's static limit (8) are read at run time, so every
# 1-d example of a pattern of 0-d/full operands reuses one compiled program.
_PATTERNS = [(False, False, True, False), (True, True, True, True), (False, True, False, True)]
_JITTED = funcgrad.jit(threefry2x32)


@given(st.sampled_from(_PATTERNS), st.integers(9, 40), st.data())
def test_jit_equals_lax_composition(full, n, data):
    args = [data.draw(words((n,) if f else ()), label=name)
            for f, name in zip(full, NAMES, strict=True)]
    assert_words(_JITTED(*args), lax_reference(*args))


@pytest.mark.parametrize("shape,full", [
    ((), (False,) * 4),
    ((3,), (False, False, True, False)),
    ((2, 3), (True, False, True, True)),
    ((9, 10), (True, True, True, False)),
    ((0,), (False, False, True, False)),
    ((1, 1), (True, True, True, True)),
])
def test_jit_shapes(shape, full):
    args = rng_operands(shape, full, seed=len(shape))
    assert_words(funcgrad.jit(threefry2x32)(*args), lax_reference(*args))


def test_compiled_code_calls_the_helpers():
    text = funcgrad.jit(
        lambda k: (random.normal(k, (3,)), random.fold_in(k, 2))).lower(random.key(0)).as_text()
    code = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    # One call of the array helper (normal), one of the scalar one (fold_in).
    assert sum("_threefry2x32_fill(" in line for line in code) == 1
    assert sum("_threefry2x32(" in line for line in code) == 1
    assert len(code) < 60


# ------------------------------------------------------------ vmap
@given(operands(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=4)),
       st.lists(st.booleans(), min_size=4, max_size=4), st.integers(1, 3))
def test_vmap_equals_loop(args, batched, size):
    """Each operand batched (along a random axis) or not; against a Python
    loop of the lax composition over the batch."""
    if not any(batched):
        batched[2] = True
    rng = np.random.default_rng(size)
    in_axes, vargs = [], []
    for a, b in zip(args, batched, strict=True):
        if b:
            stack = rng.integers(0, 2 ** 32, (size,) + a.shape, dtype=np.uint64).astype(U32)
            stack[0] = a
            axis = int(rng.integers(0, a.ndim + 1))
            vargs.append(np.moveaxis(stack, 0, axis))
            in_axes.append(axis)
        else:
            vargs.append(a)
            in_axes.append(None)
    got = funcgrad.vmap(threefry2x32, in_axes=tuple(in_axes))(*vargs)
    members = [lax_reference(*[np.take(v, i, axis=ax) if ax is not None else v
                               for v, ax in zip(vargs, in_axes, strict=True)])
               for i in range(size)]
    expected = [np.stack([m[j] for m in members]) for j in range(2)]
    assert_words([np.asarray(g) for g in got], expected)


def test_vmap_of_samplers_over_keys_and_counters_under_jit():
    keys = random.split(random.key(3), 4)
    data = np.array([0, 5, 2 ** 31, 7], np.int64)

    def draw(k, d):
        k = random.fold_in(k, d)
        return random.normal(k, (3,)), random.split(k, 2)

    loop = [draw(keys[i], data[i]) for i in range(4)]
    for in_axes, pick in [((0, None), lambda i: (keys[i], data[1])),
                          ((None, 0), lambda i: (keys[1], data[i])),
                          ((0, 0), lambda i: (keys[i], data[i]))]:
        ref = [draw(*pick(i)) for i in range(4)]
        for fn in (funcgrad.vmap(draw, in_axes=in_axes),
                   funcgrad.jit(funcgrad.vmap(draw, in_axes=in_axes))):
            got = fn(keys if in_axes[0] is not None else keys[1],
                     data if in_axes[1] is not None else data[1])
            for j in range(2):
                np.testing.assert_array_equal(np.asarray(got[j]),
                                              np.stack([np.asarray(r[j]) for r in ref]))
    assert loop[0][0].shape == (3,)


# ------------------------------------------------------------ loops under jit
def _reference_words(k0, k1, x0, x1):
    return threefry_reference((int(k0), int(k1)), (int(x0), int(x1)))


def test_scan_under_jit():
    """A scan whose body encrypts a counter built by a fused loop nest (a
    small array the backend may hold as scalars) and uses the outputs in
    another; against Python ints."""
    def body(carry, t):
        k0, k1 = carry
        x0 = lax.add(lax.iota(U32, 3), t)
        y0, y1 = threefry2x32(k0, k1, x0, U32(9))
        z = lax.bitwise_xor(y0, y1)
        return (lax.reduce_max(y0, (0,)), k1), z

    ts = np.arange(5, dtype=U32)
    (c0, c1), zs = funcgrad.jit(lambda ts: lax.scan(body, (U32(11), U32(12)), ts))(ts)
    k0, k1 = 11, 12
    for t in range(5):
        ys = [_reference_words(k0, k1, i + t, 9) for i in range(3)]
        np.testing.assert_array_equal(np.asarray(zs[t]), [a ^ b for a, b in ys])
        k0 = max(a for a, _ in ys)
    assert (int(c0), int(c1)) == (k0, 12)


def test_scan_of_split_and_draw_under_jit_matches_eager_loop():
    def step(key, _):
        key, sub = random.split(key)
        return key, (random.uniform(sub, (2,)), random.bits(random.fold_in(sub, 3), (), U32))

    key = random.key(4)
    final, (us, bs) = funcgrad.jit(lambda k: lax.scan(step, k, None, length=6))(key)
    for t in range(6):
        key, (u, b) = step(key, None)
        np.testing.assert_array_equal(np.asarray(us[t]), np.asarray(u))
        assert int(bs[t]) == int(b)
    np.testing.assert_array_equal(np.asarray(final), np.asarray(key))


def test_while_loop_under_jit():
    """Iterate the 0-d block function until the first word is below a
    threshold (a rejection-style loop); against Python ints."""
    def cond(state):
        return lax.ge(state[1], U32(1 << 30))

    def body(state):
        i = state[0]
        y0, y1 = threefry2x32(U32(5), U32(6), i, U32(1))
        return lax.add(i, U32(1)), y0, y1

    i, y0, y1 = funcgrad.jit(lambda: lax.while_loop(
        cond, body, (U32(0), U32(0xFFFFFFFF), U32(0))))()
    n = 0
    while True:
        ref = _reference_words(5, 6, n, 1)
        n += 1
        if ref[0] < 1 << 30:
            break
    assert (int(i), int(y0), int(y1)) == (n, *ref)


# ------------------------------------------------------------ grad
def test_grad_of_a_function_that_draws():
    key = random.key(2)
    x = np.array([0.5, -1.0, 2.0])

    def f(x):
        k = random.fold_in(key, 3)
        noise = random.normal(k, (3,))
        # The counter depends on x through an integer conversion: the
        # primitive then sees a traced operand with a zero tangent.
        k2 = random.fold_in(k, lax.convert_element_type(lax.reduce_sum(x, (0,)), np.int32))
        return (x * noise).sum() + (x * x * random.uniform(k2, (3,))).sum()

    noise = np.asarray(random.normal(random.fold_in(key, 3), (3,)))
    u = np.asarray(random.uniform(random.fold_in(random.fold_in(key, 3), int(x.sum())), (3,)))
    expected = noise + 2 * x * u
    for g in (funcgrad.grad(f), funcgrad.jit(funcgrad.grad(f)), funcgrad.grad(funcgrad.jit(f))):
        np.testing.assert_allclose(np.asarray(g(x)), expected, rtol=1e-12)
    _, t = funcgrad.jvp(f, (x,), (np.ones(3),))
    np.testing.assert_allclose(float(t), expected.sum(), rtol=1e-12)


def test_jvp_tangents_of_the_primitive_are_zero():
    def f(x):
        y0, _ = threefry2x32(U32(1), U32(2), lax.convert_element_type(x, U32), U32(3))
        return x * lax.convert_element_type(y0, np.float64)

    x = np.array([1.0, 2.0])
    y0 = np.asarray(threefry2x32(U32(1), U32(2), x.astype(U32), U32(3))[0]).astype(float)
    np.testing.assert_array_equal(np.asarray(funcgrad.jacfwd(f)(x)), np.diag(y0))
    np.testing.assert_array_equal(np.asarray(funcgrad.jacrev(f)(x)), np.diag(y0))


# ------------------------------------------------------------ the streams did not change
# Drawn with the lax composition, before the primitive existed.
BEFORE = {
    "normal": ([-H("1.a5909049a1419p-3"), -H("1.ee34b9e740f7bp-2"), -H("1.15990b62abc4cp-2"),
                H("1.2c80a98200034p-1"), H("1.cc87c10463e65p-2")],
               lambda: random.normal(random.key(0), (5,))),
    "normal_f32": ([H("1.02f072p+0"), -H("1.cd3488p-4"), -H("1.7d4072p-3")],
                   lambda: random.normal(random.key(7), (3,), np.float32)),
    "uniform_fold_in": ([H("1.57caa710ea634p-2"), H("1.58c79b3cf90e4p-1"), H("1.e96ae300837cbp-1")],
                        lambda: random.uniform(random.fold_in(random.key(0), 1), (3,))),
    "split": ([[64467757, 2916123636], [1154097635, 473298049], [1519696661, 2637332776]],
              lambda: random.split(random.key(42), 3)),
    "bits32": ([3716834203, 3481239269, 90224275, 3272813720, 4140764773],
               lambda: random.bits(random.key(3), (5,), np.uint32)),
}
_BEFORE_DTYPES = {"normal_f32": np.float32, "split": np.uint32, "bits32": np.uint32}


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_streams_unchanged_eager_and_jit(name):
    values, draw = BEFORE[name]
    expected = np.array(values, _BEFORE_DTYPES.get(name, np.float64))
    np.testing.assert_array_equal(np.asarray(draw()), expected)
    np.testing.assert_array_equal(np.asarray(funcgrad.jit(draw)()), expected)


def test_bits64_and_gamma_streams_unchanged():
    bits = np.array([15963681350020464357, 387510313703124120, 17784449280542960351], np.uint64)
    np.testing.assert_array_equal(np.asarray(random.bits(random.key(3), (3,))), bits)
    # gamma's rejection loop (a while_loop) draws inside its body.
    gamma = np.array([H("1.9414f937ef71ap-1"), H("1.7d21f7a3f2a72p+2"), H("1.d2e80a4d21d17p+0")])
    np.testing.assert_array_equal(np.asarray(random.gamma(random.key(5), 2.0, (3,))), gamma)
    np.testing.assert_allclose(
        np.asarray(funcgrad.jit(lambda k: random.gamma(k, 2.0, (3,)))(random.key(5))), gamma,
        rtol=1e-13)
