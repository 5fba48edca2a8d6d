"""jit benchmarks, side by side: funcgrad.jit vs NumPy, hand-written Numba and
(when installed: ``pip install -e ".[bench]"``) JAX, in one run.

    python benchmarks/jit_benchmarks.py            # all cases
    python benchmarks/jit_benchmarks.py --quick    # smaller sizes, fewer repeats
    python benchmarks/jit_benchmarks.py --only b   # some cases only (letters a-e)

Prints medians and ratios (funcgrad time / reference time: below 1 means
funcgrad is faster).  Compile times are measured in fresh subprocesses, with
a cold and then a warm on-disk cache.  Nothing here is a test.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap

import numba
import numpy as np

import funcgrad
import funcgrad.numpy as jnp

from harness import Table, block, jax, jjnp, machine_line, timeit

TABLE = Table()


# ------------------------------------------------------------ (a) EOS-80 at p = 0
def eos_numpy(np_, s, t):
    """Density of seawater (UNESCO EOS-80, surface pressure) as a polynomial
    in salinity ``s`` and temperature ``t``; ``np_`` is numpy or a clone."""
    t2, t3, t4, t5 = t * t, t * t * t, t * t * t * t, t * t * t * t * t
    rho_w = (999.842594 + 6.793952e-2 * t - 9.095290e-3 * t2 + 1.001685e-4 * t3
             - 1.120083e-6 * t4 + 6.536332e-9 * t5)
    a = 0.824493 - 4.0899e-3 * t + 7.6438e-5 * t2 - 8.2467e-7 * t3 + 5.3875e-9 * t4
    b = -5.72466e-3 + 1.0227e-4 * t - 1.6546e-6 * t2
    return rho_w + a * s + b * s * np_.sqrt(s) + 4.8314e-4 * s * s


@numba.njit(cache=True, fastmath=False)
def eos_numba(s, t):
    out = np.empty_like(s)
    for i in range(s.shape[0]):
        ti, si = t[i], s[i]
        t2, t3, t4, t5 = ti * ti, ti * ti * ti, ti * ti * ti * ti, ti * ti * ti * ti * ti
        rho_w = (999.842594 + 6.793952e-2 * ti - 9.095290e-3 * t2 + 1.001685e-4 * t3
                 - 1.120083e-6 * t4 + 6.536332e-9 * t5)
        a = 0.824493 - 4.0899e-3 * ti + 7.6438e-5 * t2 - 8.2467e-7 * t3 + 5.3875e-9 * t4
        b = -5.72466e-3 + 1.0227e-4 * ti - 1.6546e-6 * t2
        out[i] = rho_w + a * si + b * si * np.sqrt(si) + 4.8314e-4 * si * si
    return out


# ------------------------------------------------------------ (b), (c) logistic regression
def nll(np_, w, x, y):
    z = x @ w
    # log(1 + exp(z)) - y z, stable for large |z|
    return np_.sum(np_.logaddexp(0.0, z) - y * z)


def nll_grad_numpy(w, x, y):
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    return x.T @ (p - y)


def nll_hessian_numpy(w, x, y):
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    return (x.T * (p * (1 - p))) @ x


def per_example_loss(np_, w, x, y):
    z = np_.dot(x, w)
    return np_.logaddexp(0.0, z) - y * z


def per_example_grads_numpy(w, x, y):
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    return (p - y)[:, None] * x


def bench_eos(sizes, repeats):
    rng = np.random.default_rng(0)
    f = funcgrad.jit(lambda s, t: eos_numpy(jnp, s, t))
    jf = jax.jit(lambda s, t: eos_numpy(jjnp, s, t)) if jax else None
    for n in sizes:
        s, t = rng.uniform(0, 40, n), rng.uniform(-2, 30, n)
        assert np.allclose(np.asarray(f(s, t)), eos_numpy(np, s, t), rtol=1e-13)
        timings = {"funcgrad.jit": timeit(f, s, t, repeats=repeats),
                   "numpy": timeit(lambda a, b: eos_numpy(np, a, b), s, t, repeats=repeats),
                   "numba (by hand)": timeit(eos_numba, s, t, repeats=repeats)}
        if jf is not None:
            js, jt = jjnp.asarray(s), jjnp.asarray(t)
            timings["jax.jit"] = timeit(lambda a, b: block(jf(a, b)), js, jt, repeats=repeats)
        TABLE.compare(f"(a) EOS-80 polynomial, n={n:.0e}", timings)


def bench_logistic(n, d, repeats):
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(n, d)) / np.sqrt(d), rng.normal(size=d)
    y = (rng.uniform(size=n) < 0.5).astype(np.float64)
    g = funcgrad.jit(funcgrad.grad(lambda w_, x_, y_: nll(jnp, w_, x_, y_)))
    h = funcgrad.jit(funcgrad.hessian(lambda w_, x_, y_: nll(jnp, w_, x_, y_)))
    assert np.allclose(np.asarray(g(w, x, y)), nll_grad_numpy(w, x, y), rtol=1e-9, atol=1e-9)
    assert np.allclose(np.asarray(h(w, x, y)), nll_hessian_numpy(w, x, y), rtol=1e-9, atol=1e-9)
    tg = {"funcgrad.jit": timeit(g, w, x, y, repeats=repeats),
          "numpy (by hand)": timeit(nll_grad_numpy, w, x, y, repeats=repeats)}
    th = {"funcgrad.jit": timeit(h, w, x, y, repeats=repeats),
          "numpy (by hand)": timeit(nll_hessian_numpy, w, x, y, repeats=repeats)}
    if jax:
        jg = jax.jit(jax.grad(lambda w_, x_, y_: nll(jjnp, w_, x_, y_)))
        jh = jax.jit(jax.hessian(lambda w_, x_, y_: nll(jjnp, w_, x_, y_)))
        jw, jx, jy = jjnp.asarray(w), jjnp.asarray(x), jjnp.asarray(y)
        tg["jax.jit"] = timeit(lambda *a: block(jg(*a)), jw, jx, jy, repeats=repeats)
        th["jax.jit"] = timeit(lambda *a: block(jh(*a)), jw, jx, jy, repeats=repeats)
    TABLE.compare(f"(b) logistic NLL jit(grad), N={n}, D={d}", tg)
    TABLE.compare(f"(b) logistic NLL jit(hessian), N={n}, D={d}", th)


def bench_per_example(n, d, repeats):
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(n, d)) / np.sqrt(d), rng.normal(size=d)
    y = (rng.uniform(size=n) < 0.5).astype(np.float64)
    pe = funcgrad.jit(funcgrad.vmap(funcgrad.grad(lambda w_, x_, y_: per_example_loss(
        jnp, w_, x_, y_)), in_axes=(None, 0, 0)))
    assert np.allclose(np.asarray(pe(w, x, y)), per_example_grads_numpy(w, x, y), rtol=1e-9,
                       atol=1e-12)
    t = {"funcgrad.jit": timeit(pe, w, x, y, repeats=repeats),
         "numpy (by hand)": timeit(per_example_grads_numpy, w, x, y, repeats=repeats)}
    if jax:
        jpe = jax.jit(jax.vmap(jax.grad(lambda w_, x_, y_: per_example_loss(jjnp, w_, x_, y_)),
                               in_axes=(None, 0, 0)))
        jw, jx, jy = jjnp.asarray(w), jjnp.asarray(x), jjnp.asarray(y)
        t["jax.jit"] = timeit(lambda *a: block(jpe(*a)), jw, jx, jy, repeats=repeats)
    TABLE.compare(f"(c) per-example grads jit(vmap(grad)), N={n}, D={d}", t)


@numba.njit(cache=True)
def _tiny_numba(x):
    return x * 2.0 + 1.0


def bench_overhead(repeats):
    x = np.ones(3)
    f = funcgrad.jit(lambda v: v * 2.0 + 1.0)
    t = {"funcgrad.jit": timeit(f, x, repeats=repeats),
         "numpy": timeit(lambda v: v * 2.0 + 1.0, x, repeats=repeats),
         "numba (by hand)": timeit(_tiny_numba, x, repeats=repeats)}
    if jax:
        jf = jax.jit(lambda v: v * 2.0 + 1.0)
        jx = jjnp.asarray(x)
        t["jax.jit"] = timeit(lambda v: block(jf(v)), jx, repeats=repeats)
    TABLE.compare("(d) call overhead, 3 elements", t)


COMPILE_SCRIPT = textwrap.dedent("""
    import time, numpy as np
    t0 = time.perf_counter()
    import funcgrad, funcgrad.numpy as jnp
    from benchmarks.jit_benchmarks import eos_numpy, nll, per_example_loss
    rng = np.random.default_rng(0)
    s, t = rng.uniform(0, 40, 100), rng.uniform(-2, 30, 100)
    x, w, y = rng.normal(size=(50, 10)), rng.normal(size=10), np.ones(50)
    cases = {
        "a": lambda: funcgrad.jit(lambda s_, t_: eos_numpy(jnp, s_, t_))(s, t),
        "b_grad": lambda: funcgrad.jit(funcgrad.grad(lambda *a: nll(jnp, *a)))(w, x, y),
        "b_hessian": lambda: funcgrad.jit(funcgrad.hessian(lambda *a: nll(jnp, *a)))(w, x, y),
        "c": lambda: funcgrad.jit(funcgrad.vmap(funcgrad.grad(
            lambda *a: per_example_loss(jnp, *a)), in_axes=(None, 0, 0)))(w, x, y),
    }
    for name, fn in cases.items():
        t1 = time.perf_counter()
        fn()
        print(name, time.perf_counter() - t1)
""")


def bench_compile():
    """First-call time of (a)-(c) in a fresh process with an empty cache,
    then in a second fresh process that finds the on-disk cache."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, FUNCGRAD_CACHE_DIR=cache, PYTHONPATH=root)
        results = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", COMPILE_SCRIPT], env=env, cwd=root,
                                 capture_output=True, text=True, check=True).stdout
            results.append(dict(line.split() for line in out.strip().splitlines()))
    for name in results[0]:
        cold, warm = float(results[0][name]), float(results[1][name])
        TABLE.row(f"(e) first call of ({name}), cold cache", "funcgrad.jit", cold)
        TABLE.row(f"(e) first call of ({name}), warm disk cache", "funcgrad.jit", warm)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--only", default="abcde", metavar="LETTERS",
                        help="run only these cases, e.g. 'b' or 'bc' (default: all)")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    print(machine_line())
    if "a" in args.only:
        bench_eos([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000], repeats)
    if "b" in args.only:
        bench_logistic(2_000 if args.quick else 10_000, 100, repeats)
    if "c" in args.only:
        bench_per_example(1_000 if args.quick else 10_000, 100, repeats)
    if "d" in args.only:
        bench_overhead(repeats)
    if "e" in args.only:
        bench_compile()
    TABLE.print()


if __name__ == "__main__":
    main()
