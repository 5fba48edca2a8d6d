"""NUTS, side by side: ``funcgrad.mcmc.sample`` vs BlackJAX (when installed:
``pip install -e ".[bench]"``), same models, same settings.

    python benchmarks/mcmc_benchmarks.py              # 4 chains, 1000 warmup + 1000 draws
    python benchmarks/mcmc_benchmarks.py --quick      # smoke run: 2 chains, 100 + 100
    python benchmarks/mcmc_benchmarks.py --repeats 3  # medians of 3 runs of everything
    python benchmarks/mcmc_benchmarks.py --only gauss100,logreg --chains 8

Models (float64, data from fixed seeds, every chain starting from the same
uniform(-2, 2) point in both libraries):
  gauss100  a 100-d correlated Gaussian: Sigma_ij = 0.9**|i-j| s_i s_j with
            scales s log-spaced over 0.1..10, log density
            -0.5 (x - m)^T P (x - m) with the precision P precomputed;
  logreg    Bayesian logistic regression, N=1000 rows, D=25 coefficients,
            prior N(0, 1), log-likelihood sum(y z - logaddexp(0, z));
  gauss2    the same Gaussian in 2-d: the gradient is trivial, so the time
            per gradient evaluation is the sampler's per-step overhead.

Each library runs its warmup (Stan-style: dual-averaging step size and a
windowed diagonal inverse mass matrix, target acceptance 0.8) and then its
sampling phase, max tree depth 10, chains vectorised with ``vmap``:
  * funcgrad: ``funcgrad.mcmc.sample(logdensity, init, key, kernel="nuts")``;
  * BlackJAX: ``blackjax.window_adaptation(blackjax.nuts, ...)`` run per
    chain *inside* ``jax.jit(jax.vmap(...))`` (each chain adapts its own
    step size and metric, as funcgrad's do), then ``blackjax.nuts`` with the
    adapted parameters, a ``jax.lax.scan`` over draws, ``jax.vmap`` over
    chains, in a second ``jax.jit``.

Every measurement runs in a fresh subprocess (this script re-invoked with
``--worker``), which times calls of the whole sampler (warmup + sampling,
from NumPy inputs to NumPy outputs; imports and data set-up are not timed):
  (a) funcgrad's first call with an empty ``FUNCGRAD_CACHE_DIR`` (a new
      temporary directory): trace + generate + Numba compile + run;
  (b) funcgrad's first call in another process with that cache now warm:
      disk-cache load + run;
  (c) the second call in the process of (a), with a new key: run only.
      BlackJAX's (a) is its first call (trace + XLA compile + run) and its
      (c) a second call of the same jitted functions with new keys (JAX's
      persistent compilation cache is off by default, so it has no (b)).
  compile time ~= (a) - (c); cached start-up ~= (b) - (c).

Reported per model and library: the run time (c) and its CPU time (all
threads: funcgrad may run chains on several Numba threads, see
NUMBA_NUM_THREADS in the machine line; XLA runs the vmapped chains in
lockstep, so BlackJAX pays for the deepest tree among the chains at every
draw), the sampling phase's share of it, gradient evaluations (the
leapfrog steps NUTS reports), microseconds per gradient evaluation, min
bulk ESS over coordinates (``funcgrad.mcmc.ess`` for both libraries' draws:
one estimator), ESS per second of the run (c), compile and cached start-up
time, mean acceptance statistic, divergences, max R-hat and a posterior
check (exact mean for the Gaussians; for the regression the two libraries'
posterior means against each other).

Gradient evaluations are counted for both phases (funcgrad's
``result.warmup_stats``, BlackJAX's warmup info).  The main "us / grad eval"
row is sampling-phase time / sampling-phase gradient evaluations;
funcgrad's sampling-phase time is ``result.timing["sampling"]`` (measured
between compiled blocks of draws).  Neither count includes the gradients of
funcgrad's step-size searches (a few per warmup window).

The ratio column is funcgrad / BlackJAX: below 1 means funcgrad's number is
smaller (better for times, worse for ESS and ESS/s).  With ``--repeats N``
every run is repeated in new processes and the table shows medians.
Nothing here is a test; on a shared machine the times mean little.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

LIBRARIES = ("funcgrad", "BlackJAX")
MODELS = ("gauss100", "logreg", "gauss2")


# ------------------------------------------------------------ models
def gaussian(dim: int, rho: float = 0.9, seed: int = 0) -> dict:
    """AR(1)-correlated Gaussian with log-spaced scales over 0.1..10."""
    rng = np.random.default_rng(seed)
    scales = np.logspace(-1.0, 1.0, dim)
    lags = np.abs(np.subtract.outer(np.arange(dim), np.arange(dim)))
    cov = rho ** lags * np.outer(scales, scales)
    mean = rng.normal(size=dim)
    precision = np.linalg.inv(cov)
    precision = 0.5 * (precision + precision.T)

    def make(np_):
        m = np_.asarray(mean)
        p = np_.asarray(precision)

        def logdensity(x):
            d = x - m
            return -0.5 * np_.dot(d, np_.dot(p, d))
        return logdensity

    return {"title": f"{dim}-d Gaussian, AR(1) rho={rho}, scales 0.1..10", "dim": dim,
            "make": make, "mean": mean, "sd": scales}


def logistic_regression(n: int = 1000, d: int = 25, seed: int = 1) -> dict:
    """Synthetic logistic regression with a N(0, 1) prior on the coefficients."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    beta = rng.normal(scale=0.4, size=d)
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-x @ beta))).astype(np.float64)

    def make(np_):
        xs = np_.asarray(x)
        ys = np_.asarray(y)

        def logdensity(b):
            z = np_.dot(xs, b)
            # log sigmoid(z) = z - logaddexp(0, z); no overflow either way
            loglik = np_.sum(ys * z - np_.logaddexp(0.0, z))
            return loglik - 0.5 * np_.sum(b * b)
        return logdensity

    return {"title": f"logistic regression, N={n}, D={d}, prior N(0, 1)", "dim": d,
            "make": make, "mean": None, "sd": None}


def get_model(name: str) -> dict:
    if name == "gauss100":
        return gaussian(100)
    if name == "gauss2":
        return gaussian(2)
    if name == "logreg":
        return logistic_regression()
    raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")


def initial_positions(model: dict, chains: int) -> np.ndarray:
    return np.random.default_rng(1234).uniform(-2.0, 2.0, size=(chains, model["dim"]))


# ------------------------------------------------------------ workers (subprocesses)
def worker_funcgrad(args, model, init) -> dict:
    import funcgrad.mcmc
    import funcgrad.numpy as fnp
    from funcgrad import random

    logdensity = model["make"](fnp)
    out: dict = {"wall": [], "cpu": [], "sampling": []}
    for call in range(args.calls):
        key = random.key(args.seed + 1000 * call)
        t0, c0 = time.perf_counter(), time.process_time()
        result = funcgrad.mcmc.sample(logdensity, init, key, kernel="nuts",
                                      num_warmup=args.warmup, num_samples=args.samples)
        out["wall"].append(time.perf_counter() - t0)
        out["cpu"].append(time.process_time() - c0)
        out["sampling"].append(result.timing["sampling"])
    stats = result.stats
    out.update(samples=np.asarray(result.samples), grad_evals=stats["num_grad_evals"],
               accept=stats["accept_prob"], diverging=stats["diverging"],
               tree_depth=stats["tree_depth"],
               warmup_grad_evals=result.warmup_stats["num_grad_evals"])
    return out


def blackjax_sampler(logdensity, num_warmup: int, num_samples: int):
    """Two jitted functions, (keys, positions) -> adapted states and
    parameters, and (keys, states, parameters) -> draws and info."""
    import blackjax
    from blackjax.adaptation.base import get_filter_adapt_info_fn
    from harness import jax

    adaptation = blackjax.window_adaptation(
        blackjax.nuts, logdensity, target_acceptance_rate=0.8,
        adaptation_info_fn=get_filter_adapt_info_fn(info_keys={"num_integration_steps"}))

    def warmup_one(key, position):
        (state, parameters), info = adaptation.run(key, position, num_steps=num_warmup)
        return state, parameters, info.info.num_integration_steps

    def sample_one(key, state, parameters):
        kernel = blackjax.nuts(logdensity, parameters["step_size"],
                               parameters["inverse_mass_matrix"])

        def body(state, key):
            state, info = kernel.step(key, state)
            return state, (state.position, info.num_integration_steps,
                           info.acceptance_rate, info.is_divergent,
                           info.num_trajectory_expansions)
        _, draws = jax.lax.scan(body, state, jax.random.split(key, num_samples))
        return draws

    return jax.jit(jax.vmap(warmup_one)), jax.jit(jax.vmap(sample_one))


def worker_blackjax(args, model, init) -> dict:
    from harness import jax, jjnp

    logdensity = model["make"](jjnp)
    warmup, sample = blackjax_sampler(logdensity, args.warmup, args.samples)
    positions = jjnp.asarray(init)
    out: dict = {"wall": [], "cpu": [], "sampling": []}
    for call in range(args.calls):
        keys = jax.random.split(jax.random.PRNGKey(args.seed + 1000 * call), 2 * args.chains)
        t0, c0 = time.perf_counter(), time.process_time()
        states, parameters, warmup_evals = jax.block_until_ready(
            warmup(keys[:args.chains], positions))
        t1 = time.perf_counter()
        draws = jax.block_until_ready(sample(keys[args.chains:], states, parameters))
        t2 = time.perf_counter()
        out["wall"].append(t2 - t0)
        out["cpu"].append(time.process_time() - c0)
        out["sampling"].append(t2 - t1)
    samples, evals, accept, diverging, depth = (np.asarray(a) for a in draws)
    out.update(samples=samples, grad_evals=evals, accept=accept, diverging=diverging,
               tree_depth=depth, warmup_grad_evals=np.asarray(warmup_evals))
    return out


def run_worker(args) -> None:
    model = get_model(args.model)
    init = initial_positions(model, args.chains)
    run = worker_funcgrad if args.worker == "funcgrad" else worker_blackjax
    out = run(args, model, init)
    arrays = {k: v for k, v in out.items() if isinstance(v, np.ndarray)}
    np.savez(args.out, **arrays)
    print(json.dumps({k: out[k] for k in ("wall", "cpu", "sampling")}))


def spawn(library: str, model: str, settings: dict, calls: int, seed: int,
          cache_dir: str | None) -> dict:
    """Run one worker; its timings and arrays (those of its last call)."""
    env = dict(os.environ)
    if cache_dir is not None:
        env["FUNCGRAD_CACHE_DIR"] = cache_dir
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.npz")
        command = [sys.executable, os.path.abspath(__file__), "--worker", library,
                   "--model", model, "--calls", str(calls), "--seed", str(seed),
                   "--out", path] + [f"--{k}={v}" for k, v in settings.items()]
        res = subprocess.run(command, env=env, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"{library} worker for {model} failed:\n{res.stderr[-4000:]}")
        timings = json.loads(res.stdout.strip().splitlines()[-1])
        with np.load(path) as data:
            timings.update({k: data[k] for k in data.files})
    return timings


# ------------------------------------------------------------ metrics
def posterior_metrics(samples: np.ndarray, model: dict) -> dict:
    from funcgrad import mcmc

    flat = samples.reshape(-1, samples.shape[-1])
    out = {"min_ess": float(np.min(mcmc.ess(samples, "bulk"))),
           "max_rhat": float(np.max(mcmc.rhat(samples))),
           "mean": flat.mean(axis=0), "sd": flat.std(axis=0)}
    if model["mean"] is not None:
        error = np.abs(out["mean"] - model["mean"])
        mcse = model["sd"] / np.sqrt(mcmc.ess(samples, "mean"))
        out["err_sd"] = float(np.max(error / model["sd"]))
        out["err_mcse"] = float(np.max(error / mcse))
    return out


def one_repeat(library: str, name: str, model: dict, settings: dict, seed: int) -> dict:
    """Every measurement of one library on one model, once."""
    if library == "funcgrad":
        with tempfile.TemporaryDirectory(prefix="funcgrad-cache-") as cache:
            cold = spawn(library, name, settings, 2, seed, cache)
            warm = spawn(library, name, settings, 1, seed, cache)
        first_cached = warm["wall"][0]
    else:
        cold = spawn(library, name, settings, 2, seed, None)
        first_cached = float("nan")
    run, sampling = cold["wall"][1], cold["sampling"][1]
    evals = float(np.sum(cold["grad_evals"]))
    draws = cold["grad_evals"].size
    warmup_evals = (float(np.sum(cold["warmup_grad_evals"]))
                    if "warmup_grad_evals" in cold else float("nan"))
    post = posterior_metrics(cold["samples"], model)
    row = {"run": run, "cpu": cold["cpu"][1], "sampling": sampling,
           "first": cold["wall"][0], "first_cached": first_cached,
           "compile": cold["wall"][0] - run, "startup": first_cached - run,
           "evals": evals, "warmup_evals": warmup_evals,
           "us_per_eval": sampling / evals * 1e6,
           "us_per_eval_all": run / (evals + warmup_evals) * 1e6,
           "evals_per_draw": evals / draws,
           "tree_depth": float(np.mean(cold["tree_depth"])),
           "accept": float(np.mean(cold["accept"])),
           "divergences": float(np.sum(cold["diverging"])),
           "min_ess": post["min_ess"], "ess_per_s": post["min_ess"] / run,
           "max_rhat": post["max_rhat"],
           "err_sd": post.get("err_sd", float("nan")),
           "err_mcse": post.get("err_mcse", float("nan"))}
    return {"row": row, "mean": post["mean"], "sd": post["sd"]}


def median_rows(rows: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


# ------------------------------------------------------------ table
ROWS = [  # key, label, format
    ("run", "run time (c), warmup + sampling [s]", "{:.3f}"),
    ("cpu", "  CPU time of (c), all threads [s]", "{:.3f}"),
    ("sampling", "  sampling phase of (c) [s]", "{:.3f}"),
    ("first", "first call, empty cache (a) [s]", "{:.2f}"),
    ("first_cached", "first call, warm cache (b) [s]", "{:.2f}"),
    ("compile", "compile time (a) - (c) [s]", "{:.2f}"),
    ("startup", "cached start-up (b) - (c) [s]", "{:.2f}"),
    ("evals", "grad evals, sampling phase", "{:.0f}"),
    ("warmup_evals", "grad evals, warmup", "{:.0f}"),
    ("us_per_eval", "us / grad eval (sampling phase)", "{:.2f}"),
    ("us_per_eval_all", "us / grad eval (c)/(warmup+sampling)", "{:.2f}"),
    ("evals_per_draw", "grad evals / draw (sampling)", "{:.1f}"),
    ("tree_depth", "mean tree depth (BlackJAX: expansions)", "{:.2f}"),
    ("accept", "mean accept_prob (sampling)", "{:.3f}"),
    ("divergences", "divergences (sampling)", "{:.0f}"),
    ("min_ess", "min bulk ESS over coordinates", "{:.0f}"),
    ("ess_per_s", "min bulk ESS / s of run (c)", "{:.1f}"),
    ("max_rhat", "max R-hat", "{:.3f}"),
    ("err_sd", "max |mean - exact| / sd", "{:.3f}"),
    ("err_mcse", "max |mean - exact| / MCSE", "{:.2f}"),
]


def cell(fmt: str, value: float) -> str:
    return "n/a" if value is None or not np.isfinite(value) else fmt.format(value)


def print_model(name: str, model: dict, settings: dict, results: dict, repeats: int):
    print(f"\n{name}: {model['title']}; {settings['chains']} chains x "
          f"({settings['warmup']} warmup + {settings['samples']} draws), float64"
          + (f", medians of {repeats}" if repeats > 1 else ""))
    libs = [lib for lib in LIBRARIES if lib in results]
    header = f"{'':42s}" + "".join(f"{lib:>14s}" for lib in libs)
    if len(libs) == 2:
        header += f"{'funcgrad/BlackJAX':>20s}"
    print(header)
    print("-" * len(header))
    for key, label, fmt in ROWS:
        values = [results[lib]["row"][key] for lib in libs]
        if all(not np.isfinite(v) for v in values):
            continue
        line = f"{label:42s}" + "".join(f"{cell(fmt, v):>14s}" for v in values)
        if len(libs) == 2:
            a, b = values
            ratio = a / b if np.isfinite(a) and np.isfinite(b) and b != 0 else float("nan")
            line += f"{cell('{:.2f}', ratio):>20s}"
        print(line)
    if len(libs) == 2 and model["mean"] is None:
        fg, bj = results["funcgrad"], results["BlackJAX"]
        sd = 0.5 * (fg["sd"] + bj["sd"])
        gap = float(np.max(np.abs(fg["mean"] - bj["mean"]) / sd))
        print(f"{'posterior: max |mean_fg - mean_bj| / sd':42s}{gap:>14.3f}")


# ------------------------------------------------------------ main
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 chains, 100 warmup + 100 draws (unless given)")
    parser.add_argument("--chains", type=int, default=None, help="default 4 (2 with --quick)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="default 1000 (100 with --quick)")
    parser.add_argument("--samples", type=int, default=None,
                        help="default 1000 (100 with --quick)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="repeat every measurement in new processes; report medians")
    parser.add_argument("--only", default=",".join(MODELS),
                        help=f"comma-separated models among {', '.join(MODELS)}")
    parser.add_argument("--no-blackjax", action="store_true", help="funcgrad columns only")
    # internal: one measurement in a subprocess
    parser.add_argument("--worker", choices=("funcgrad", "BlackJAX"), help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    small = args.quick
    args.chains = args.chains or (2 if small else 4)
    args.warmup = args.warmup if args.warmup is not None else (100 if small else 1000)
    args.samples = args.samples or (100 if small else 1000)
    return args


def blackjax_available() -> bool:
    try:
        import blackjax  # noqa: F401
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        run_worker(args)
        return
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    for name in names:
        get_model(name)  # fail early on a typo
    libraries = ["funcgrad"]
    if not args.no_blackjax and blackjax_available():
        libraries.append("BlackJAX")
    else:
        print("BlackJAX/JAX not measured (not installed or --no-blackjax)")
    settings = {"chains": args.chains, "warmup": args.warmup, "samples": args.samples}
    tables = {}
    for name in names:
        model = get_model(name)
        results = {}
        for library in libraries:
            print(f"{name}: {library} ...", file=sys.stderr, flush=True)
            runs = [one_repeat(library, name, model, settings, seed=r)
                    for r in range(args.repeats)]
            results[library] = {"row": median_rows([r["row"] for r in runs]),
                                "mean": runs[0]["mean"], "sd": runs[0]["sd"]}
        tables[name] = (model, results)
    for name, (model, results) in tables.items():
        print_model(name, model, settings, results, args.repeats)
    from harness import machine_line
    print("\n" + machine_line())


if __name__ == "__main__":
    main()
