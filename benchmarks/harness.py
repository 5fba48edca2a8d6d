"""What the benchmark scripts share: timing, optional JAX, the table."""
from __future__ import annotations

import os
import platform
import statistics
import time

import numba
import numpy as np

try:
    import jax
    import jax.numpy as jjnp
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platforms", "cpu")
except ImportError:  # the bench extra is optional
    jax = None
    jjnp = None


def timeit(fn, *args, repeats: int = 7, min_time: float = 0.05) -> float:
    """Median seconds per call over ``repeats`` rounds of enough calls to
    last ``min_time``."""
    fn(*args)  # warm up (compile)
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn(*args)
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time or n >= 1 << 20:
            break
        n *= 2
    rounds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn(*args)
        rounds.append((time.perf_counter() - t0) / n)
    return statistics.median(rounds)


def block(x):
    """Wait for JAX's asynchronous dispatch."""
    return jax.block_until_ready(x) if jax is not None else x


def machine_line() -> str:
    return (f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, numpy {np.__version__}, numba "
            f"{numba.__version__}, jax {jax.__version__ if jax else 'not installed'}; "
            f"NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}")


class Table:
    """Rows of (case, implementation, seconds, funcgrad/this ratio)."""

    def __init__(self, reference: str = "funcgrad.jit"):
        self.reference = reference
        self.rows: list[tuple] = []

    def row(self, case: str, impl: str, seconds: float, ratio: str = "", per: str = ""):
        self.rows.append((case, impl, seconds, ratio, per))

    def compare(self, case: str, timings: dict[str, float], per: tuple[int, str] | None = None):
        """One row per implementation, with funcgrad's time relative to it;
        ``per=(count, unit)`` also shows the time per step."""
        fg = timings[self.reference]
        for impl, seconds in timings.items():
            ratio = "" if impl == self.reference else f"{fg / seconds:6.2f}"
            per_text = ""
            if per is not None:
                per_text = f"{seconds / per[0] * 1e9:9.1f} ns/{per[1]}"
            self.row(case, impl, seconds, ratio, per_text)

    def print(self):
        print(f"\n{'case':52s} {'implementation':18s} {'median':>12s} {'funcgrad/this':>14s}")
        print("-" * 120)
        for case, impl, seconds, ratio, per in self.rows:
            if seconds >= 1:
                unit = f"{seconds:9.2f} s "
            elif seconds >= 1e-3:
                unit = f"{seconds * 1e3:9.2f} ms"
            else:
                unit = f"{seconds * 1e6:9.2f} us"
            print(f"{case:52s} {impl:18s} {unit:>12s} {ratio:>14s}  {per}")
