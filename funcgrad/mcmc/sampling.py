"""Run several chains with Stan-style warmup, as compiled blocks of draws.

:func:`sample` vmaps one chain over the leading axis of the initial
positions.  A chain is a ``lax.scan`` over its iterations, and one
``funcgrad.jit`` program runs a *block* of iterations of every chain, so
Python runs once per block (to report progress), not once per draw.
Warmup and sampling iterations share the one program: what an iteration
adapts is told by per-iteration flags (see
:mod:`funcgrad.mcmc.adaptation`), so the kernel is staged and compiled
once.  Warmup draws are never returned.

>>> import numpy as np
>>> import funcgrad.numpy as jnp
>>> from funcgrad import random
>>> result = sample(lambda x: -0.5 * jnp.sum(x ** 2), np.zeros((2, 3)), random.key(0),
...                 kernel="mala", num_warmup=200, num_samples=300)
>>> result.samples.shape, result.stats["accept_prob"].shape
((2, 300, 3), (2, 300))
"""
from __future__ import annotations

import functools
import math
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax, random, tree_util
from funcgrad.mcmc.adaptation import (DualAveraging, Welford, find_reasonable_step_size,
                                      warmup_schedule)
from funcgrad.mcmc.kernels import (MCMCState, _flat_logdensity, _Metric, gradient_state,
                                   hmc_step, make_metric, mala_step, ravel_pytree, rwm_step)
from funcgrad.mcmc.nuts import nuts_step
from funcgrad.mcmc.summaries import summary

__all__ = ["SampleResult", "sample"]

_KERNELS = ("nuts", "hmc", "mala", "rwm")
_DEFAULT_TARGET = {"nuts": 0.8, "hmc": 0.8, "mala": 0.574, "rwm": 0.234}
# Iterations per compiled block: progress is reported between blocks, and
# only a block's draws are held in its output.
_BLOCK = 100


class SampleResult(NamedTuple):
    """What :func:`sample` returns.

    samples : the position's structure, every leaf with leading
        ``(chain, draw)`` axes (warmup draws excluded).
    stats : dict of ``(chain, draw)`` arrays: ``accept_prob``,
        ``is_accepted``, ``diverging``, ``num_grad_evals`` and, for NUTS,
        ``tree_depth`` and ``energy``.
    step_size : ``(chain,)`` step sizes used for sampling (after
        adaptation; before jitter).
    inverse_mass_matrix : ``(chain, dim)`` diagonal metrics used for
        sampling (after adaptation), or the dense ``(dim, dim)`` one given.
        Pass both back to :func:`sample` (with ``num_warmup=0``) to draw
        more with the same settings.
    warmup_stats : the ``stats`` of the warmup iterations, ``(chain,
        num_warmup)`` (the gradients of the step-size searches, one per
        search iteration, are not counted).
    timing : seconds spent in ``"warmup"`` and ``"sampling"`` (measured
        between compiled blocks; a block holding both phases is shared by
        its iterations; the first block includes the compilation, reported
        as ``"compile"``: the first block's time minus the average of the
        others', per iteration).
    """
    samples: Any
    stats: dict
    step_size: np.ndarray
    inverse_mass_matrix: np.ndarray
    warmup_stats: dict
    timing: dict

    def summary(self):
        """:func:`funcgrad.mcmc.summary` of the samples."""
        return summary(self.samples)


class _Chain(NamedTuple):
    """What one chain carries from one iteration (and block) to the next."""
    state: MCMCState
    step: DualAveraging
    inverse_mass: Any          # (dim,) adapted diagonal metric, or (0,) if fixed
    window: Welford


class _Flags(NamedTuple):
    """Per-iteration switches, shared by all chains."""
    warming: Any        # use the dual-averaging iterate, not its average
    search: Any         # search a step size before the transition (restart DA)
    adapt_step: Any     # update dual averaging after the transition
    accumulate: Any     # add the draw to the window's variance
    window_end: Any     # after it, the window's variance becomes the metric


def _transition(kernel: str, options: dict) -> Callable:
    """``step(logdensity_fn, key, state, step_size, metric)`` of one kernel."""
    if kernel == "nuts":
        depth = options["max_tree_depth"]
        return lambda f, key, s, eps, metric: nuts_step(f, key, s, eps, metric, depth)
    if kernel == "hmc":
        steps = options["num_steps"]
        return lambda f, key, s, eps, metric: hmc_step(f, key, s, eps, metric, steps)
    if kernel == "mala":
        return lambda f, key, s, eps, metric: mala_step(f, key, s, eps)
    return lambda f, key, s, eps, metric: rwm_step(f, key, s, eps)


def _init_state(kernel, logdensity_fn, position):
    if kernel == "rwm":
        return MCMCState(position, jnp.asarray(logdensity_fn(position)), None)
    return gradient_state(logdensity_fn, position)


@functools.lru_cache(maxsize=32)
def _compiled_block(logdensity_fn, kernel: str, options: tuple, adapt_step: bool,
                    adapt_mass: bool, search: bool, carried_metric: bool):
    """The jitted program that advances every chain by one block (cached:
    a second call with the same target and settings reuses it)."""
    step = _transition(kernel, dict(options))

    def one_chain(chain: _Chain, keys, scales, flags: _Flags, fixed_metric, target):
        def body(chain: _Chain, xs):
            key, scale, flag = xs
            state, da, inverse_mass, window = chain
            if carried_metric:
                metric = _Metric(inverse_mass, 1.0 / jnp.sqrt(inverse_mass))
            else:
                metric = fixed_metric
            if search:
                def restart(da):
                    x, unravel = ravel_pytree(state.position)
                    g, _ = ravel_pytree(state.logdensity_grad)
                    z = random.normal(random.fold_in(key, 0x5EA7C4), x.shape, x.dtype)
                    log_step = find_reasonable_step_size(
                        _flat_logdensity(logdensity_fn, unravel), metric, x,
                        state.logdensity, g, metric.momentum(z), da.log_step)
                    return DualAveraging.start(log_step)
                da = lax.cond(flag.search, restart, lambda da: da, da)
            log_step = jnp.where(flag.warming, da.log_step, da.log_step_avg)
            state, info = step(logdensity_fn, key, state, jnp.exp(log_step) * scale, metric)
            if adapt_step:
                updated = da.update(info.accept_prob, target)
                da = tree_util.tree_map(lambda a, b: jnp.where(flag.adapt_step, a, b),
                                        updated, da)
            if adapt_mass:
                x, _ = ravel_pytree(state.position)
                window = tree_util.tree_map(lambda a, b: jnp.where(flag.accumulate, a, b),
                                            window.update(x), window)
                inverse_mass = jnp.where(flag.window_end, window.regularized_variance(),
                                         inverse_mass)
                window = tree_util.tree_map(lambda a, b: jnp.where(flag.window_end, a, b),
                                            Welford.start(x.shape[0], x.dtype), window)
            return _Chain(state, da, inverse_mass, window), (state.position, info._asdict())

        return lax.scan(body, chain, (keys, scales, flags))

    def run(chains, keys, scales, flags, fixed_metric, target):
        return funcgrad.vmap(one_chain, in_axes=(0, 0, 0, None, None, None))(
            chains, keys, scales, flags, fixed_metric, target)

    return funcgrad.jit(run)


class _Progress:
    """A progress bar over iterations: tqdm if installed, else a line on
    stderr per block (or nothing when disabled)."""

    def __init__(self, enabled: bool, total: int, num_warmup: int, num_chains: int):
        self.enabled, self.total, self.num_warmup = enabled, total, num_warmup
        self.done, self.start, self.bar = 0, time.perf_counter(), None
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total, unit="it", desc=f"compiling ({num_chains} chains)")

    def advance(self, n: int) -> None:
        if not self.enabled:
            return
        self.done = min(self.done + n, self.total)
        phase = "warmup" if self.done <= self.num_warmup else "sampling"
        if self.bar is not None:
            self.bar.set_description(phase)
            self.bar.update(n if self.bar.n + n <= self.total else self.total - self.bar.n)
        else:
            elapsed = time.perf_counter() - self.start
            print(f"{phase}: {self.done}/{self.total} iterations ({elapsed:.1f} s)",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _check_options(kernel, num_steps, max_tree_depth, inverse_mass_matrix, adapt_mass_matrix):
    if kernel not in _KERNELS:
        raise ValueError(f"sample: kernel must be one of {', '.join(map(repr, _KERNELS))}, "
                         f"got {kernel!r}")
    if num_steps is not None and kernel != "hmc":
        raise TypeError(f"sample: num_steps applies to kernel='hmc', not {kernel!r}")
    if max_tree_depth is not None and kernel != "nuts":
        raise TypeError(f"sample: max_tree_depth applies to kernel='nuts', not {kernel!r}")
    if kernel in ("mala", "rwm"):
        if adapt_mass_matrix:
            raise ValueError(f"sample: kernel={kernel!r} has no mass matrix to adapt")
        if inverse_mass_matrix is not None:
            raise TypeError(f"sample: inverse_mass_matrix applies to 'nuts' and 'hmc', "
                            f"not {kernel!r}")


def sample(logdensity_fn: Callable, initial_positions, key, *, kernel: str = "nuts",
           num_warmup: int = 1000, num_samples: int = 1000, progress_bar: bool = False,
           step_size: float | None = None, target_accept: float | None = None,
           max_tree_depth: int | None = None, num_steps: int | None = None,
           inverse_mass_matrix=None, adapt_step_size: bool = True,
           adapt_mass_matrix: bool | None = None, step_size_jitter: float = 0.0,
           num_threads: int = 1) -> SampleResult:
    """Draw from ``exp(logdensity_fn)`` with several chains, compiled.

    Parameters
    ----------
    logdensity_fn : position pytree -> scalar log density (up to a constant).
    initial_positions : pytree whose leaves have a leading chain axis.
    key : a ``funcgrad.random`` key.
    kernel : ``"nuts"`` (default), ``"hmc"``, ``"mala"`` or ``"rwm"``.
    num_warmup, num_samples : iterations per chain; warmup draws adapt
        the step size (and, for nuts/hmc, a diagonal inverse mass matrix
        in Stan's windows) and are discarded.
    progress_bar : report progress between compiled blocks of 100
        iterations (tqdm if installed, else lines on stderr).
    step_size : initial (or, without adaptation, fixed) step size, one
        for all chains or ``(chain,)``; default 1.0 for nuts/hmc (searched
        from, as Stan does), 0.5 for mala and ``2.38 / sqrt(dim)`` for rwm.
    target_accept : mean acceptance statistic the adaptation aims at;
        default 0.8 (nuts, hmc), 0.574 (mala), 0.234 (rwm).
    max_tree_depth : NUTS: at most ``2 ** max_tree_depth - 1`` gradients
        per draw (default 10).
    num_steps : HMC: leapfrog steps per draw (default 10).
    inverse_mass_matrix : nuts/hmc metric over the raveled position:
        ``(dim,)`` (a diagonal; adaptation starts from it), ``(chain, dim)``
        (a diagonal per chain, as :class:`SampleResult` returns it) or,
        with ``adapt_mass_matrix=False``, a dense ``(dim, dim)`` matrix
        (this reading wins when ``chain == dim``); default the identity.
    adapt_step_size : tune the step size by dual averaging during warmup.
    adapt_mass_matrix : estimate the diagonal metric during warmup
        (default True for nuts/hmc; mala and rwm have none).
    step_size_jitter : each transition uses the step size times a factor
        uniform on ``[1 - j, 1 + j)``; for HMC, whose fixed path length can
        be nearly periodic (Neal, 2011, 5.4.2.2).
    num_threads : run the chains in this many equal groups, each on its own
        thread (the compiled code releases the GIL), so on as many cores;
        must divide the number of chains.  The draws are the same as with
        one thread.

    >>> import numpy as np
    >>> import funcgrad.numpy as jnp
    >>> from funcgrad import random
    >>> logp = lambda p: -0.5 * jnp.sum(p["x"] ** 2) - 0.5 * p["y"] ** 2
    >>> init = {"x": np.zeros((4, 2)), "y": np.zeros(4)}
    >>> r = sample(logp, init, random.key(1), num_warmup=100, num_samples=200)
    >>> r.samples["x"].shape, r.samples["y"].shape, r.stats["tree_depth"].shape
    ((4, 200, 2), (4, 200), (4, 200))
    """
    _check_options(kernel, num_steps, max_tree_depth, inverse_mass_matrix, adapt_mass_matrix)
    num_warmup, num_samples = int(num_warmup), int(num_samples)
    if num_warmup < 0 or num_samples < 1:
        raise ValueError(f"sample: need num_warmup >= 0 and num_samples >= 1, got "
                         f"{num_warmup} and {num_samples}")
    if not 0.0 <= step_size_jitter < 1.0:
        raise ValueError(f"sample: step_size_jitter must be in [0, 1), got {step_size_jitter}")
    leaves = tree_util.tree_leaves(initial_positions)
    if not leaves:
        raise ValueError("sample: initial_positions has no arrays")
    num_chains = int(np.shape(leaves[0])[0])
    if any(np.ndim(leaf) < 1 or np.shape(leaf)[0] != num_chains for leaf in leaves):
        raise ValueError("sample: every leaf of initial_positions needs the same leading "
                         f"(chain) axis, got shapes {[np.shape(leaf) for leaf in leaves]}")
    groups = _chain_groups(num_chains, num_threads)
    one = tree_util.tree_map(lambda a: np.asarray(a)[0], initial_positions)
    dim = int(ravel_pytree(one)[0].shape[0])
    dtype = np.result_type(*[np.asarray(leaf).dtype for leaf in leaves], np.float32)

    gradient_kernel = kernel in ("nuts", "hmc")
    if adapt_mass_matrix is None:
        adapt_mass_matrix = gradient_kernel
    if step_size is None:
        step_size = {"rwm": 2.38 / math.sqrt(max(dim, 1)), "mala": 0.5}.get(kernel, 1.0)
    if target_accept is None:
        target_accept = _DEFAULT_TARGET[kernel]
    log_step = _per_chain_log_step(step_size, num_chains, dtype)
    diagonal, dense = _metric_argument(inverse_mass_matrix, num_chains, dim, dtype,
                                       bool(adapt_mass_matrix) and gradient_kernel)
    options = (("max_tree_depth", 10 if max_tree_depth is None else int(max_tree_depth)),
               ("num_steps", 10 if num_steps is None else int(num_steps)))
    if not 0.0 < target_accept < 1.0:
        raise ValueError(f"sample: target_accept must be in (0, 1), got {target_accept}")
    for name, value in options:
        if value < 1:
            raise ValueError(f"sample: {name} must be >= 1, got {value}")
    adapt_step = bool(adapt_step_size) and num_warmup > 0
    adapt_mass = bool(adapt_mass_matrix) and num_warmup > 0
    # A diagonal metric rides in the chains' carry (adapted or per chain); a
    # dense one is fixed and shared.
    carried_metric = dense is None and gradient_kernel
    search = adapt_step and gradient_kernel

    # Per-iteration flags, padded to whole blocks with sampling iterations
    # whose draws are dropped.
    total = num_warmup + num_samples
    num_blocks = -(-total // _BLOCK)
    block = -(-total // num_blocks)
    padded = num_blocks * block
    schedule = warmup_schedule(num_warmup)
    warming = np.arange(padded) < num_warmup
    flags = _Flags(
        warming=warming,
        search=np.zeros(padded, bool),
        adapt_step=warming & adapt_step,
        accumulate=np.pad(schedule.accumulate & adapt_mass, (0, padded - num_warmup)),
        window_end=np.pad(schedule.window_end & adapt_mass, (0, padded - num_warmup)))
    if search:
        flags.search[0] = True
        for end in schedule.window_ends if adapt_mass else ():
            flags.search[end + 1] = True

    # Keys and jitter factors, per chain and iteration.  split is a prefix
    # of itself for larger counts, so padding does not change the draws.
    chain_keys = random.split(key, num_chains)
    keys = np.stack([np.asarray(random.split(k, padded)) for k in chain_keys])
    if step_size_jitter > 0:
        u = np.asarray(random.uniform(random.fold_in(key, 1), (num_chains, padded), dtype))
        scales = (1.0 + step_size_jitter * (2.0 * u - 1.0)).astype(dtype)
    else:
        scales = np.ones((num_chains, padded), dtype)

    init = funcgrad.vmap(functools.partial(_init_state, kernel, logdensity_fn))
    states = init(initial_positions)
    start_logp = np.asarray(states.logdensity)
    if not np.isfinite(start_logp).all():
        bad = np.flatnonzero(~np.isfinite(start_logp)).tolist()
        raise ValueError(f"sample: the log density is not finite at the initial position of "
                         f"chain(s) {bad} (values {start_logp[bad].tolist()}); start the "
                         f"chains inside the support")
    if carried_metric:
        inverse_mass, fixed_metric = diagonal, None
    else:
        inverse_mass = np.zeros((num_chains, 0), dtype)
        fixed_metric = make_metric(dense) if gradient_kernel else None
    chains = _Chain(states, funcgrad.vmap(DualAveraging.start)(log_step), inverse_mass,
                    funcgrad.vmap(lambda _: Welford.start(dim, dtype))(log_step))

    run = _compiled_block(logdensity_fn, kernel, options, adapt_step, adapt_mass, search,
                          carried_metric)
    target = np.asarray(target_accept, dtype)

    def run_group(group_chains, rows, lo, hi):
        return run(group_chains, keys[rows, lo:hi], scales[rows, lo:hi],
                   _Flags(*(f[lo:hi] for f in flags)), fixed_metric, target)

    pool = ThreadPoolExecutor(len(groups)) if len(groups) > 1 else None

    def run_block(chains, lo, hi):
        if pool is None:
            return run_group(chains, slice(None), lo, hi)
        parts = [tree_util.tree_map(lambda a, g=g: np.asarray(a)[g], chains) for g in groups]
        if lo == 0:      # the first call compiles: once, before the threads start
            first = run_group(parts[0], groups[0], lo, hi)
            rest = pool.map(lambda k: run_group(parts[k], groups[k], lo, hi),
                            range(1, len(groups)))
            results = [first, *rest]
        else:
            results = list(pool.map(lambda k: run_group(parts[k], groups[k], lo, hi),
                                    range(len(groups))))
        return tree_util.tree_map(lambda *xs: np.concatenate([np.asarray(x) for x in xs]),
                                  *results)

    progress = _Progress(progress_bar, total, num_warmup, num_chains)
    kept_positions, kept_stats, warmup_stats, seconds = [], [], [], []
    try:
        for b in range(num_blocks):
            lo, hi = b * block, (b + 1) * block
            start = time.perf_counter()
            chains, (positions, stats) = run_block(chains, lo, hi)
            stats = {k: np.asarray(v) for k, v in stats.items()}
            seconds.append(time.perf_counter() - start)
            if lo < num_warmup:
                warmup_stats.append({k: v[:, :min(num_warmup - lo, block)]
                                     for k, v in stats.items()})
            keep = slice(max(num_warmup - lo, 0), min(total - lo, block))
            if keep.start < keep.stop:
                kept_positions.append(tree_util.tree_map(lambda a: np.asarray(a)[:, keep],
                                                         positions))
                kept_stats.append({k: v[:, keep] for k, v in stats.items()})
            progress.advance(hi - lo)
    finally:
        progress.close()
        if pool is not None:
            pool.shutdown()

    samples = tree_util.tree_map(lambda *parts: np.concatenate(parts, axis=1), *kept_positions)
    stats = _concatenate(kept_stats)
    final_step = np.exp(np.asarray(chains.step.log_step_avg))
    if carried_metric:
        final_mass = np.asarray(chains.inverse_mass)
    else:
        final_mass = np.asarray(dense) if gradient_kernel else np.zeros((0,))
    warmup = _concatenate(warmup_stats) if warmup_stats else {
        k: v[:, :0] for k, v in stats.items()}
    return SampleResult(samples, stats, final_step, final_mass, warmup,
                        _timing(seconds, block, num_warmup, total))


def _chain_groups(num_chains: int, num_threads: int) -> list[slice]:
    """The chains of each thread: ``num_threads`` equal consecutive groups
    (equal, so that one compiled program serves them all)."""
    num_threads = int(num_threads)
    if num_threads < 1 or num_chains % num_threads:
        raise ValueError(f"sample: num_threads must be >= 1 and divide the number of chains "
                         f"({num_chains}), got {num_threads}")
    size = num_chains // num_threads
    return [slice(k * size, (k + 1) * size) for k in range(num_threads)]


def _concatenate(parts: list[dict]) -> dict:
    return {k: np.concatenate([p[k] for p in parts], axis=1) for k in parts[0]}


def _timing(seconds: list[float], block: int, num_warmup: int, total: int) -> dict:
    """Warmup and sampling seconds from the blocks' times; the first block's
    excess over the others' mean is the compilation (when there are others)."""
    seconds = list(seconds)
    compile_seconds = 0.0
    if len(seconds) > 1:
        typical = float(np.mean(seconds[1:]))
        compile_seconds = max(seconds[0] - typical, 0.0)
        seconds[0] -= compile_seconds
    warmup = sampling = 0.0
    for b, sec in enumerate(seconds):
        lo, hi = b * block, min((b + 1) * block, total)
        in_warmup = min(max(num_warmup - lo, 0), hi - lo)
        warmup += sec * in_warmup / (hi - lo)
        sampling += sec * (hi - lo - in_warmup) / (hi - lo)
    return {"compile": compile_seconds, "warmup": warmup, "sampling": sampling}


def _per_chain_log_step(step_size, num_chains: int, dtype) -> np.ndarray:
    step = np.asarray(step_size, dtype)
    if step.ndim > 1 or (step.ndim == 1 and step.shape[0] != num_chains):
        raise ValueError(f"sample: step_size must be a scalar or have shape ({num_chains},) "
                         f"(one per chain), got shape {step.shape}")
    if not (np.isfinite(step).all() and (step > 0).all()):
        raise ValueError(f"sample: step_size must be positive and finite, got {step_size}")
    return np.broadcast_to(np.log(step), (num_chains,)).astype(dtype)


def _metric_argument(inverse_mass_matrix, num_chains: int, dim: int, dtype, adapt: bool):
    """``(diagonals (chain, dim), None)`` or ``(None, dense (dim, dim))``."""
    if inverse_mass_matrix is None:
        return np.ones((num_chains, dim), dtype), None
    m = np.asarray(inverse_mass_matrix, dtype)
    if m.shape == (dim, dim) and not adapt:
        return None, m
    if m.shape == (dim,) or m.shape == (num_chains, dim):
        if not (np.isfinite(m).all() and (m > 0).all()):
            raise ValueError("sample: a diagonal inverse_mass_matrix must be positive and "
                             "finite")
        return np.broadcast_to(m, (num_chains, dim)).copy(), None
    hint = (" (a dense matrix cannot be adapted: pass adapt_mass_matrix=False)"
            if m.shape == (dim, dim) else "")
    raise ValueError(f"sample: inverse_mass_matrix must have shape ({dim},), "
                     f"({num_chains}, {dim}) or, not adapted, ({dim}, {dim}); got "
                     f"{m.shape}{hint}")
