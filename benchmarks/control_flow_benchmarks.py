"""Control-flow benchmarks, side by side: funcgrad.jit of lax loops vs
hand-written Numba and (when installed: ``pip install -e ".[bench]"``) JAX.

    python benchmarks/control_flow_benchmarks.py            # all cases
    python benchmarks/control_flow_benchmarks.py --quick    # fewer steps
    python benchmarks/control_flow_benchmarks.py --only ad  # some cases (a-e)

Cases (issue 6):
  (a) fori_loop of a scalar recurrence (logistic map), 2e6 iterations;
  (b) RK4 integration of the Lorenz system with scan, 1e5 steps, and the
      gradient of the time-averaged z with respect to the initial state;
  (c) the same, vmapped over 100 initial states (1e4 steps);
  (d) a 10-dimensional leapfrog integrator, 1e5 steps of fori_loop, each
      with two 10x10 matrix-vector products, an energy and a cond on it;
  (e) vmap of a while_loop whose members run very different trip counts
      (JAX runs them in lockstep; funcgrad runs each to its own end).

Prints medians, funcgrad's time relative to each implementation (below 1:
funcgrad is faster) and the time per step.  Nothing here is a test.
"""
from __future__ import annotations

import argparse
import time

import numba
import numpy as np

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax

from harness import Table, block, jax, jjnp, machine_line, timeit

if jax is not None:
    from jax import lax as jlax

TABLE = Table()


def first_call(fn, *args) -> float:
    t0 = time.perf_counter()
    block(fn(*args))
    return time.perf_counter() - t0


def add_jax(timings, compile_times, make, *args, repeats):
    if jax is None:
        return
    fn = jax.jit(make(jjnp, jlax))
    jargs = [jjnp.asarray(a) for a in args]
    compile_times["jax.jit"] = first_call(fn, *jargs)
    timings["jax.jit"] = timeit(lambda *a: block(fn(*a)), *jargs, repeats=repeats)


def report_compile(case, compile_times):
    for impl, seconds in compile_times.items():
        TABLE.row(f"{case}: first call (trace+compile)", impl, seconds)


# ------------------------------------------------------------ (a) scalar recurrence
def logistic_map(np_, lax_, n):
    def run(x):
        return lax_.fori_loop(0, n, lambda i, x: 3.7 * x * (1.0 - x), x)
    return run


@numba.njit(cache=True)
def logistic_map_numba(x, n):
    for _ in range(n):
        x = 3.7 * x * (1.0 - x)
    return x


def bench_recurrence(n, repeats):
    x0 = np.float64(0.3)
    f = funcgrad.jit(logistic_map(jnp, lax, n))
    compile_times = {"funcgrad.jit": first_call(f, x0)}
    expected = logistic_map_numba(x0, n)
    assert np.allclose(float(f(x0)), expected, rtol=1e-6), (float(f(x0)), expected)
    timings = {"funcgrad.jit": timeit(f, x0, repeats=repeats),
               "numba (by hand)": timeit(logistic_map_numba, x0, n, repeats=repeats)}
    add_jax(timings, compile_times, lambda np_, lax_: logistic_map(np_, lax_, n), x0,
            repeats=repeats)
    case = f"(a) fori_loop logistic map, {n:.0e} iterations"
    TABLE.compare(case, timings, per=(n, "iter"))
    report_compile("(a)", compile_times)


# ------------------------------------------------------------ (b, c) Lorenz RK4
SIGMA, RHO, BETA = 10.0, 28.0, 8.0 / 3.0


def lorenz_average_z(np_, lax_, steps, dt=1e-4):
    """The time average of z along an RK4 trajectory from ``s0``."""
    def rhs(s):
        x, y, z = s[0], s[1], s[2]
        return np_.stack([SIGMA * (y - x), x * (RHO - z) - y, x * y - BETA * z])

    def step(carry, _):
        s, acc = carry
        k1 = rhs(s)
        k2 = rhs(s + 0.5 * dt * k1)
        k3 = rhs(s + 0.5 * dt * k2)
        k4 = rhs(s + dt * k3)
        s = s + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        return (s, acc + s[2]), None

    def run(s0):
        (_, acc), _ = lax_.scan(step, (s0, 0.0 * s0[2]), None, length=steps)
        return acc / steps
    return run


@numba.njit(cache=True)
def lorenz_average_z_numba(s0, steps, dt):
    x, y, z = s0[0], s0[1], s0[2]
    acc = 0.0
    for _ in range(steps):
        k1x, k1y, k1z = SIGMA * (y - x), x * (RHO - z) - y, x * y - BETA * z
        ax, ay, az = x + 0.5 * dt * k1x, y + 0.5 * dt * k1y, z + 0.5 * dt * k1z
        k2x, k2y, k2z = SIGMA * (ay - ax), ax * (RHO - az) - ay, ax * ay - BETA * az
        bx, by, bz = x + 0.5 * dt * k2x, y + 0.5 * dt * k2y, z + 0.5 * dt * k2z
        k3x, k3y, k3z = SIGMA * (by - bx), bx * (RHO - bz) - by, bx * by - BETA * bz
        cx, cy, cz = x + dt * k3x, y + dt * k3y, z + dt * k3z
        k4x, k4y, k4z = SIGMA * (cy - cx), cx * (RHO - cz) - cy, cx * cy - BETA * cz
        x += (dt / 6.0) * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
        y += (dt / 6.0) * (k1y + 2.0 * k2y + 2.0 * k3y + k4y)
        z += (dt / 6.0) * (k1z + 2.0 * k2z + 2.0 * k3z + k4z)
        acc += z
    return acc / steps


@numba.njit(cache=True)
def lorenz_batch_numba(s0s, steps, dt):
    out = np.empty(s0s.shape[0])
    for b in range(s0s.shape[0]):
        out[b] = lorenz_average_z_numba(s0s[b], steps, dt)
    return out


def bench_lorenz(steps, repeats):
    s0 = np.array([1.0, 1.0, 20.0])
    forward = funcgrad.jit(lorenz_average_z(jnp, lax, steps))
    gradient = funcgrad.jit(funcgrad.grad(lorenz_average_z(jnp, lax, steps)))
    compile_f = {"funcgrad.jit": first_call(forward, s0)}
    compile_g = {"funcgrad.jit": first_call(gradient, s0)}
    expected = lorenz_average_z_numba(s0, steps, 1e-4)
    assert np.allclose(float(forward(s0)), expected, rtol=1e-9)
    timings = {"funcgrad.jit": timeit(forward, s0, repeats=repeats),
               "numba (by hand)": timeit(lorenz_average_z_numba, s0, steps, 1e-4,
                                         repeats=repeats)}
    add_jax(timings, compile_f, lambda np_, lax_: lorenz_average_z(np_, lax_, steps), s0,
            repeats=repeats)
    TABLE.compare(f"(b) Lorenz RK4 scan, {steps:.0e} steps", timings, per=(steps, "step"))
    timings = {"funcgrad.jit": timeit(gradient, s0, repeats=repeats)}
    if jax is not None:
        jg = jax.jit(jax.grad(lorenz_average_z(jjnp, jlax, steps)))
        compile_g["jax.jit"] = first_call(jg, jjnp.asarray(s0))
        g_fg, g_jax = np.asarray(gradient(s0)), np.asarray(jg(jjnp.asarray(s0)))
        assert np.allclose(g_fg, g_jax, rtol=1e-8), (g_fg, g_jax)
        timings["jax.jit"] = timeit(lambda a: block(jg(a)), jjnp.asarray(s0), repeats=repeats)
    TABLE.compare(f"(b) grad of Lorenz RK4 scan, {steps:.0e} steps", timings,
                  per=(steps, "step"))
    report_compile("(b) forward", compile_f)
    report_compile("(b) grad", compile_g)


def bench_lorenz_vmap(batch, steps, repeats):
    rng = np.random.default_rng(0)
    s0s = np.array([1.0, 1.0, 20.0]) + rng.normal(size=(batch, 3))
    fun = lorenz_average_z(jnp, lax, steps)
    forward = funcgrad.jit(funcgrad.vmap(fun))
    gradient = funcgrad.jit(funcgrad.vmap(funcgrad.grad(fun)))
    assert np.allclose(np.asarray(forward(s0s)), lorenz_batch_numba(s0s, steps, 1e-4),
                       rtol=1e-9)
    timings = {"funcgrad.jit": timeit(forward, s0s, repeats=repeats),
               "numba (by hand)": timeit(lorenz_batch_numba, s0s, steps, 1e-4,
                                         repeats=repeats)}
    compile_times: dict = {}
    add_jax(timings, compile_times,
            lambda np_, lax_: jax.vmap(lorenz_average_z(np_, lax_, steps)), s0s,
            repeats=repeats)
    TABLE.compare(f"(c) vmap Lorenz RK4, {batch} states x {steps:.0e} steps", timings,
                  per=(batch * steps, "step"))
    timings = {"funcgrad.jit": timeit(gradient, s0s, repeats=repeats)}
    add_jax(timings, {}, lambda np_, lax_: jax.vmap(jax.grad(lorenz_average_z(
        np_, lax_, steps))), s0s, repeats=repeats)
    TABLE.compare(f"(c) vmap grad Lorenz RK4, {batch} x {steps:.0e}", timings,
                  per=(batch * steps, "step"))


# ------------------------------------------------------------ (d) leapfrog
def leapfrog(np_, lax_, steps, eps=1e-3):
    """Leapfrog for H = p.M^-1.p/2 + q.A.q/2 (two mat-vecs per step: the
    velocity M^-1 p and the force A q), counting the steps whose energy
    exceeds a threshold with a cond."""
    def run(q, p, a, minv, threshold):
        def step(i, state):
            q, p, force, count = state
            p_half = p - 0.5 * eps * force
            q = q + eps * (minv @ p_half)
            force = a @ q
            p = p_half - 0.5 * eps * force
            energy = 0.5 * np_.dot(p, p) + 0.5 * np_.dot(q, force)
            count = lax_.cond(energy > threshold, lambda c: c + 1, lambda c: c, count)
            return q, p, force, count
        q, p, _, count = lax_.fori_loop(0, steps, step, (q, p, a @ q, 0))
        return q, p, count
    return run


@numba.njit(cache=True)
def leapfrog_numba_arrays(q, p, a, minv, threshold, steps, eps):
    """The same with NumPy array expressions (temporaries every step)."""
    force = a @ q
    count = 0
    for _ in range(steps):
        p_half = p - 0.5 * eps * force
        q = q + eps * (minv @ p_half)
        force = a @ q
        p = p_half - 0.5 * eps * force
        energy = 0.5 * np.dot(p, p) + 0.5 * np.dot(q, force)
        if energy > threshold:
            count += 1
    return q, p, count


@numba.njit(cache=True)
def leapfrog_numba_loops(q, p, a, minv, threshold, steps, eps):
    """The same with explicit loops into buffers allocated once."""
    n = q.shape[0]
    q, p = q.copy(), p.copy()
    force, p_half = np.zeros(n), np.empty(n)
    for i in range(n):
        for j in range(n):
            force[i] += a[i, j] * q[j]
    count = 0
    for _ in range(steps):
        for i in range(n):
            p_half[i] = p[i] - 0.5 * eps * force[i]
        for i in range(n):
            v = 0.0
            for j in range(n):
                v += minv[i, j] * p_half[j]
            q[i] += eps * v
        energy = 0.0
        for i in range(n):
            f = 0.0
            for j in range(n):
                f += a[i, j] * q[j]
            force[i] = f
            p[i] = p_half[i] - 0.5 * eps * f
            energy += 0.5 * p[i] * p[i] + 0.5 * q[i] * f
        if energy > threshold:
            count += 1
    return q, p, count


def bench_leapfrog(steps, repeats, dim=10):
    rng = np.random.default_rng(2)
    b = rng.normal(size=(dim, dim))
    a = b @ b.T / dim + np.eye(dim)
    minv = np.eye(dim) + 0.1 * np.diag(rng.uniform(size=dim))
    q, p = rng.normal(size=dim), rng.normal(size=dim)
    e0 = 0.5 * p @ p + 0.5 * q @ a @ q
    args = (q, p, a, minv, e0)
    f = funcgrad.jit(leapfrog(jnp, lax, steps))
    compile_times = {"funcgrad.jit": first_call(f, *args)}
    q_ref, p_ref, count_ref = leapfrog_numba_loops(*args, steps, 1e-3)
    q_fg, p_fg, count_fg = f(*args)
    assert np.allclose(np.asarray(q_fg), q_ref, rtol=1e-9, atol=1e-12)
    assert int(count_fg) == count_ref
    timings = {"funcgrad.jit": timeit(f, *args, repeats=repeats),
               "numba arrays": timeit(leapfrog_numba_arrays, *args, steps, 1e-3,
                                      repeats=repeats),
               "numba loops": timeit(leapfrog_numba_loops, *args, steps, 1e-3,
                                     repeats=repeats)}
    add_jax(timings, compile_times, lambda np_, lax_: leapfrog(np_, lax_, steps), *args,
            repeats=repeats)
    TABLE.compare(f"(d) {dim}-d leapfrog + cond, {steps:.0e} steps", timings,
                  per=(steps, "step"))
    report_compile("(d)", compile_times)


# ------------------------------------------------------------ (e) uneven while loops
def relax_until(np_, lax_):
    """Iterate a contraction until a member-specific step count."""
    def run(x, n):
        def body(state):
            i, x = state
            return i + 1, 0.999 * x + 1e-3 * np_.sin(x)
        return lax_.while_loop(lambda s: s[0] < n, body, (0, x))[1]
    return run


@numba.njit(cache=True)
def relax_numba(xs, ns):
    out = np.empty_like(xs)
    for b in range(xs.shape[0]):
        x = xs[b]
        for _ in range(ns[b]):
            x = 0.999 * x + 1e-3 * np.sin(x)
        out[b] = x
    return out


def bench_uneven_while(batch, long, short, repeats):
    xs = np.linspace(0.1, 1.0, batch)
    ns = np.full(batch, short, dtype=np.int64)
    ns[0] = long
    f = funcgrad.jit(funcgrad.vmap(relax_until(jnp, lax)))
    assert np.allclose(np.asarray(f(xs, ns)), relax_numba(xs, ns), rtol=1e-12)
    timings = {"funcgrad.jit": timeit(f, xs, ns, repeats=repeats),
               "numba (by hand)": timeit(relax_numba, xs, ns, repeats=repeats)}
    add_jax(timings, {}, lambda np_, lax_: jax.vmap(relax_until(np_, lax_)), xs, ns,
            repeats=repeats)
    useful = int(ns.sum())
    TABLE.compare(f"(e) vmap while, {batch} members, trips {short}..{long}", timings,
                  per=(useful, "trip"))
    print(f"(e) member iterations: {useful} run alone vs {batch * long} in lockstep "
          f"({batch * long / useful:.0f}x more)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    parser.add_argument("--only", default="abcde", metavar="LETTERS",
                        help="run only these cases, e.g. 'ad' (default: all)")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    scale = 10 if args.quick else 1
    print(machine_line())
    if "a" in args.only:
        bench_recurrence(2_000_000 // scale, repeats)
    if "b" in args.only:
        bench_lorenz(100_000 // scale, repeats)
    if "c" in args.only:
        bench_lorenz_vmap(100, 10_000 // scale, repeats)
    if "d" in args.only:
        bench_leapfrog(100_000 // scale, repeats)
    if "e" in args.only:
        bench_uneven_while(64, 100_000 // scale, 100, repeats)
    TABLE.print()


if __name__ == "__main__":
    main()
