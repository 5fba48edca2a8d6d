"""The same key gives the same numbers everywhere: eagerly, through
``eval_jaxpr(make_jaxpr(f))``, under ``jit``, under ``vmap`` over split keys
(against stacking per-key calls, a Python loop) and inside ``lax`` loops.

Integers, booleans and keys must agree bit for bit.  Floats agree exactly
between eager, staged and vmap (the same NumPy kernels run); compiled code
may differ in the last place where NumPy's and LLVM's ``log1p``/``exp``
differ, so jit is held to a few ulp.  (The compiles dominate this file's
runtime, so jit covers a representative subset of the samplers.)
"""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax, random

KEY = random.key(7)
P = np.array([0.1, 0.0, 0.6, 0.3])

SAMPLERS = {
    "bits": lambda k: random.bits(k, (5,), np.uint32),
    "split": lambda k: random.split(k, 3),
    "fold_in": lambda k: random.fold_in(k, 12),
    "uniform": lambda k: random.uniform(k, (4,), minval=-1.0, maxval=np.arange(1.0, 5.0)),
    "normal": lambda k: random.normal(k, (2, 3)),
    "normal_f32": lambda k: random.normal(k, (5,), np.float32),
    "normal_c128": lambda k: random.normal(k, (3,), np.complex128),
    "exponential": lambda k: random.exponential(k, (4,)),
    "gumbel": lambda k: random.gumbel(k, (4,)),
    "laplace": lambda k: random.laplace(k, (4,)),
    "logistic": lambda k: random.logistic(k, (4,)),
    "cauchy": lambda k: random.cauchy(k, (4,)),
    "bernoulli": lambda k: random.bernoulli(k, np.array([0.2, 0.5, 0.9])),
    "categorical": lambda k: random.categorical(k, jnp.log(jnp.array([[0.2, 0.8], [0.6, 0.4]])),
                                                shape=(3, 2)),
    "randint": lambda k: random.randint(k, (6,), -5, 5, np.int32),
    "randint_wide": lambda k: random.randint(k, (3,), -(2 ** 63), 2 ** 63 - 7),
    "rademacher": lambda k: random.rademacher(k, (5,)),
    "truncated_normal": lambda k: random.truncated_normal(k, np.array([-1.0, 3.0, -50.0]),
                                                          np.array([1.0, 4.0, -40.0])),
    "multivariate_normal": lambda k: random.multivariate_normal(
        k, np.array([1.0, 2.0]), np.array([[2.0, 0.5], [0.5, 1.0]]), (3,)),
    "permutation": lambda k: random.permutation(k, 6),
    "permutation_independent": lambda k: random.permutation(
        k, jnp.arange(12).reshape(3, 4), axis=1, independent=True),
    "choice": lambda k: random.choice(k, jnp.arange(10.0), (4,), replace=False),
    "choice_p": lambda k: random.choice(k, 4, (5,), p=P),
    "choice_p_no_replace": lambda k: random.choice(k, 4, (2,), replace=False, p=P),
}
LOOP_SAMPLERS = {
    "gamma": lambda k: random.gamma(k, np.array([0.1, 0.9, 1.0, 4.0, 0.0, np.nan])),
    "gamma_f32": lambda k: random.gamma(k, np.float32(2.5), (3,), np.float32),
    "loggamma": lambda k: random.loggamma(k, np.array([1e-3, 5.0])),
    "beta": lambda k: random.beta(k, np.array([0.5, 2.0]), 3.0),
    "dirichlet": lambda k: random.dirichlet(k, np.array([[0.5, 1.0, 2.0], [3.0, 1.0, 1.0]])),
}
ALL = {**SAMPLERS, **LOOP_SAMPLERS}
# Samplers with a few bits of output, where two keys may well agree.
LOW_ENTROPY = {"bernoulli", "categorical", "rademacher", "choice_p", "choice_p_no_replace"}
# What jit compiles (one program each); see the module docstring.
JIT = ["uniform", "normal_f32", "randint", "categorical", "truncated_normal", "permutation"]


def assert_same(actual, expected, *, ulps: int = 0, what: str = ""):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, (
        f"{what}: {actual.dtype}{actual.shape} != {expected.dtype}{expected.shape}")
    if ulps and expected.dtype.kind in "fc":
        for part in ((np.real, np.imag) if expected.dtype.kind == "c" else (np.asarray,)):
            a, e = part(actual), part(expected)
            finite = np.isfinite(e)
            np.testing.assert_array_equal(np.isfinite(a), finite, err_msg=what)
            np.testing.assert_array_equal(a[~finite], e[~finite], err_msg=what)
            np.testing.assert_array_max_ulp(a[finite], e[finite], maxulp=ulps)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


@pytest.mark.parametrize("name", sorted(ALL))
def test_staged_equals_eager(name):
    f = ALL[name]
    eager = f(KEY)
    closed = funcgrad.make_jaxpr(f)(KEY)
    funcgrad.check_jaxpr(closed)
    (staged,) = funcgrad.eval_jaxpr(closed.jaxpr, closed.consts, KEY)
    assert_same(staged, eager, what=name)
    # Deterministic, and a different key gives different numbers.
    assert_same(f(KEY), eager, what=name)
    if name not in LOW_ENTROPY:
        other = np.asarray(f(random.key(8)))
        assert not np.array_equal(other, np.asarray(eager), equal_nan=True), name


@pytest.mark.parametrize("name", sorted(ALL))
def test_vmap_over_split_keys_equals_stacked_calls(name):
    f = ALL[name]
    keys = random.split(KEY, 4)
    batched = funcgrad.vmap(f)(keys)
    expected = np.stack([np.asarray(f(k)) for k in keys])
    assert_same(batched, expected, what=name)
    # The members differ from one another (where a coincidence is unlikely).
    if name not in LOW_ENTROPY:
        assert len({row.tobytes() for row in expected.reshape(4, -1)}) == 4, name


def test_vmap_over_keys_with_out_axes_and_nested():
    keys = random.split(KEY, 6).reshape(2, 3, 2)
    nested = funcgrad.vmap(funcgrad.vmap(lambda k: random.normal(k, (3,))))(keys)
    expected = np.stack([[np.asarray(random.normal(k, (3,))) for k in row] for row in keys])
    assert_same(nested, expected)
    moved = funcgrad.vmap(lambda k: random.normal(k, (3,)), out_axes=1)(keys[0])
    assert_same(moved, expected[0].T)


@pytest.mark.parametrize("name", JIT)
def test_jit_equals_eager(name):
    f = SAMPLERS[name]
    assert_same(funcgrad.jit(f)(KEY), f(KEY), ulps=4, what=name)


def test_jit_of_vmap_over_keys():
    f = lambda k: random.normal(k, (3,))
    keys = random.split(KEY, 5)
    expected = np.stack([np.asarray(f(k)) for k in keys])
    assert_same(funcgrad.jit(funcgrad.vmap(f))(keys), expected, ulps=4)


def test_gamma_under_jit():
    f = LOOP_SAMPLERS["gamma"]
    assert_same(funcgrad.jit(f)(KEY), f(KEY), ulps=4, what="gamma")


def test_gamma_vmap_over_parameters_and_keys():
    alphas = np.array([0.05, 0.5, 1.0, 2.5, 30.0, 0.0, -1.0, np.inf])
    by_a = funcgrad.vmap(lambda a: random.gamma(KEY, a))(alphas)
    assert_same(by_a, np.array([np.asarray(random.gamma(KEY, a)) for a in alphas]))
    # The same numbers as one call on the whole array, element by element?
    # No: a scalar call and an array call read different counters.  But
    # vmap over (key, a) equals per-key, per-a calls.
    keys = random.split(KEY, 3)
    both = funcgrad.vmap(lambda k, a: random.gamma(k, a, (2,)))(keys, alphas[:3])
    assert_same(both, np.stack([np.asarray(random.gamma(k, a, (2,)))
                                for k, a in zip(keys, alphas[:3], strict=True)]))
    # vmap over a with the key batched the other way (in_axes=None for a).
    shared = funcgrad.vmap(lambda k: random.beta(k, 0.5, 0.5, (3,)))(keys)
    assert_same(shared, np.stack([np.asarray(random.beta(k, 0.5, 0.5, (3,))) for k in keys]))


def test_element_values_do_not_depend_on_the_loop_length():
    # Element i of a gamma draw depends only on the key, i and its own
    # alpha: a slow-to-accept neighbour (forcing more iterations) changes
    # nothing else.
    base = np.asarray(random.gamma(KEY, np.array([2.0, 3.0, 4.0])))
    for a_last in (4.0, 1e6, 0.01):
        x = np.asarray(random.gamma(KEY, np.array([2.0, 3.0, a_last])))
        assert_same(x[:2], base[:2])


def test_samplers_inside_loops():
    def body(i, acc):
        k = random.fold_in(KEY, i)
        return acc + random.gamma(k, 2.0, (3,)) + random.normal(k, (3,))
    got = lax.fori_loop(0, 3, body, jnp.zeros(3))
    expected = sum(np.asarray(random.gamma(random.fold_in(KEY, i), 2.0, (3,)))
                   + np.asarray(random.normal(random.fold_in(KEY, i), (3,))) for i in range(3))
    np.testing.assert_allclose(got, expected, rtol=1e-15)

    def step(key, a):
        key, sub = random.split(key)
        return key, random.gamma(sub, a)
    _, draws = lax.scan(step, KEY, np.array([0.5, 1.5, 5.0]))
    key, reference = KEY, []
    for a in (0.5, 1.5, 5.0):
        key, sub = random.split(key)
        reference.append(np.asarray(random.gamma(sub, a)))
    assert_same(draws, np.stack(reference))


def test_grad_through_reparameterised_samplers():
    # Location-scale samplers differentiate through their parameters.
    f = lambda mu: jnp.sum(mu + 2.0 * random.normal(KEY, (3,)))
    assert float(funcgrad.grad(f)(1.0)) == 3.0
    g = funcgrad.grad(lambda lo: jnp.sum(random.uniform(KEY, (4,), minval=lo, maxval=5.0)))
    u = np.asarray(random.uniform(KEY, (4,)))
    np.testing.assert_allclose(g(1.0), np.sum(1.0 - u), rtol=1e-12)


def test_gamma_refuses_derivatives_in_its_parameters():
    with pytest.raises(NotImplementedError, match="stop_gradient"):
        funcgrad.grad(lambda a: random.gamma(KEY, a))(2.0)
    with pytest.raises(NotImplementedError, match="random.gamma"):
        funcgrad.jvp(lambda a: jnp.sum(random.dirichlet(KEY, a)), (jnp.ones(3),), (jnp.ones(3),))
    # Constant parameters (or stopped ones) are fine inside differentiated code.
    g = funcgrad.grad(lambda m: m * random.gamma(KEY, lax.stop_gradient(m)))(2.0)
    np.testing.assert_allclose(g, random.gamma(KEY, 2.0), rtol=1e-15)
    h = funcgrad.grad(lambda s: s * random.beta(KEY, 2.0, 3.0))(1.5)
    np.testing.assert_allclose(h, random.beta(KEY, 2.0, 3.0), rtol=1e-15)
