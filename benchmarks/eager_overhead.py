"""Eager dispatch cost: funcgrad.numpy vs NumPy, one operation at a time.

Eager funcgrad runs every primitive through the interpreter stack (shape rule,
then the NumPy implementation), so small arrays pay a fixed overhead per
operation; large arrays should cost the same as NumPy.  ``jit`` (issue 5)
removes this overhead by compiling whole programs.

Run:  python benchmarks/eager_overhead.py
"""
from __future__ import annotations

import platform
import timeit

import numpy as np

import funcgrad.numpy as jnp


def median_time(fn, number: int, repeat: int = 7) -> float:
    times = timeit.repeat(fn, number=number, repeat=repeat)
    return sorted(times)[len(times) // 2] / number


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, NumPy {np.__version__}")
    print(f"{'operation':<28}{'size':>9}{'NumPy':>12}{'funcgrad':>12}{'ratio':>8}")
    for size in (3, 1000, 1_000_000):
        x = np.linspace(0.1, 1.0, size)
        fx = jnp.asarray(x)
        cases = {
            "sin(x)": (lambda: np.sin(x), lambda: jnp.sin(fx)),
            "x * 2.0 + 1.0": (lambda: x * 2.0 + 1.0, lambda: fx * 2.0 + 1.0),
            "sum(x)": (lambda: np.sum(x), lambda: jnp.sum(fx)),
            "x[1:-1]": (lambda: x[1:-1], lambda: fx[1:-1]),
        }
        number = 20 if size == 1_000_000 else 2000
        for name, (ref, ours) in cases.items():
            t_np, t_fg = median_time(ref, number), median_time(ours, number)
            print(f"{name:<28}{size:>9}{t_np * 1e6:>10.2f}us{t_fg * 1e6:>10.2f}us"
                  f"{t_fg / t_np:>8.1f}")


if __name__ == "__main__":
    main()
