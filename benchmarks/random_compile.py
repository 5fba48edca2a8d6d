"""Cost of random-number programs: compile time (first call with an empty
program cache), size of the generated source, and eager time of a draw.

Each random call binds one ``threefry2x32`` equation (see
``funcgrad.random.threefry``); before that primitive existed it staged the
~130 uint32 ``lax`` operations of the block function, one generated line
each.

Run:  python benchmarks/random_compile.py
(each compile measurement runs in a fresh process with a fresh
``FUNCGRAD_CACHE_DIR``; Numba's own cache of the backend's helpers is left
as it is, as on an installed system after the first use.)
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import timeit

_CHILD = r"""
import json, time
import numpy as np
t0 = time.perf_counter()
import funcgrad
from funcgrad import random
t_import = time.perf_counter() - t0
f = funcgrad.jit(lambda k: random.normal(k, (3,)) + random.uniform(random.fold_in(k, 1), (2,)).sum())
key = random.key(0)
t0 = time.perf_counter()
out = f(key)
t_first = time.perf_counter() - t0
t0 = time.perf_counter()
f(key)
t_second = time.perf_counter() - t0
source = f.lower(key).as_text()
lines = source.splitlines()
code = [l for l in lines if l.strip() and not l.lstrip().startswith("#")]
print(json.dumps({"first_call_s": t_first, "second_call_s": t_second, "import_s": t_import,
                  "source_lines": len(lines), "code_lines": len(code),
                  "value": np.asarray(out).tolist()}))
"""


def compile_once() -> dict:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, FUNCGRAD_CACHE_DIR=cache)
        res = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                             text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    import numpy as np

    import funcgrad  # noqa: F401
    from funcgrad import random

    print(f"machine: {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, NumPy {np.__version__}, "
          f"{os.cpu_count()} CPUs")
    runs = [compile_once() for _ in range(3)]
    firsts = sorted(r["first_call_s"] for r in runs)
    print("jit(lambda k: normal(k, (3,)) + uniform(fold_in(k, 1), (2,)).sum())")
    print(f"  first call (trace + codegen + Numba), median of 3: {firsts[1]:.2f} s "
          f"(all: {', '.join(f'{t:.2f}' for t in firsts)})")
    print(f"  generated source: {runs[0]['source_lines']} lines, "
          f"{runs[0]['code_lines']} of code (no comments/blank)")
    print(f"  value: {runs[0]['value']}")
    key = random.key(0)
    random.normal(key, (1000,))
    times = timeit.repeat(lambda: random.normal(key, (1000,)), number=20, repeat=7)
    print(f"eager random.normal(key, (1000,)): {sorted(times)[3] / 20 * 1e3:.3f} ms (median)")


if __name__ == "__main__":
    main()
