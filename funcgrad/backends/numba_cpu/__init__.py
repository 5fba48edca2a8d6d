"""The Numba CPU backend: a closed jaxpr becomes one generated Python module
with one ``numba.njit`` function (nopython only), fused loop nests for
elementwise work, BLAS for matrix products, and an on-disk cache.

Modules, one concern each:

* :mod:`.codegen`: the code generator, the lowering registries and settings;
* :mod:`.fusion`: which equations share a loop nest; :mod:`.fusion_emit`:
  the loop nests;
* ``lowering_*``: the lowering rules, by primitive family
  (:mod:`.lowering_control_flow`: ``cond``/``while``/``scan`` as ``if``/
  ``while``/``for`` in the same function);
* :mod:`.runtime`, :mod:`.special_jit`: compiled helpers the code calls
  (and :mod:`.lowering_random`: the Threefry block function);
* :mod:`.cache`: the on-disk cache; :mod:`.compiler`: ``compile_jaxpr``.

Settings (``settings``, environment variables read at import):

* ``FUNCGRAD_PARALLEL=1`` (``settings.parallel``): loop nests of at least
  ``settings.parallel_threshold`` iterations run their outermost loop with
  ``prange``; results are identical either way (a reduction along that loop
  is split into a fixed number of chunks whatever the setting, and the
  partial results are combined in order), and so do scans without carry
  whose iterations are heavy enough (the ``vmap`` of a ``while_loop``);
* ``FUNCGRAD_FUSION=0`` (``settings.fusion``): one loop nest per
  elementwise equation, for debugging;
* ``FUNCGRAD_STATIC_DIM_MAX=8`` (``settings.static_dim_max``): array sizes
  up to this are literals in the generated code (LLVM unrolls the loops over
  them); larger sizes are read from the arguments at run time, so a new
  large size reuses the machine code while a new tiny size compiles anew;
* ``FUNCGRAD_CACHE_DIR``: the cache directory;
* ``FUNCGRAD_TUNE_MALLOC=1``: :func:`tune_allocator` (glibc keeps freed
  big blocks, so big intermediates do not page-fault in on every call);
* ``NUMBA_DISABLE_JIT=1`` (Numba's own switch) runs the generated code as
  plain Python, for debugging and coverage.
"""
from __future__ import annotations

import os

import funcgrad.lax  # noqa: F401  (the primitives must exist before the rules)
from funcgrad.backends.numba_cpu.codegen import ELEMENTWISE, LOWERINGS, settings
from funcgrad.backends.numba_cpu import (lowering_control_flow,  # noqa: F401
                                         lowering_effects, lowering_elementwise,
                                         lowering_indexing, lowering_linalg,
                                         lowering_random, lowering_reductions,
                                         lowering_shape, lowering_sorting)
from funcgrad.backends.numba_cpu.compiler import (NumbaExecutable, compile_jaxpr,
                                                  compile_stats, tune_allocator)

settings.parallel = os.environ.get("FUNCGRAD_PARALLEL", "0") not in ("", "0")
settings.fusion = os.environ.get("FUNCGRAD_FUSION", "1") not in ("", "0")
settings.static_dim_max = int(os.environ.get("FUNCGRAD_STATIC_DIM_MAX", "8"))
if os.environ.get("FUNCGRAD_TUNE_MALLOC", "0") not in ("", "0"):
    tune_allocator()

__all__ = ["ELEMENTWISE", "LOWERINGS", "NumbaExecutable", "compile_jaxpr", "compile_stats",
           "settings", "tune_allocator"]
