"""``sort``: several operands sorted together along one dimension by their
first ``num_keys`` operands (lexicographically), stably, NaN last.

Each lane (a line along the sorted dimension) gets the permutation of a
stable merge sort (:func:`.runtime.argsort_lane`), applied key by key from
the last key to the first, as ``np.lexsort`` orders; every operand is then
gathered through that permutation.
"""
from __future__ import annotations

from funcgrad.core.ir import JaxprEqn
from funcgrad.backends.numba_cpu.codegen import Builder, dtype_expr, register


@register("sort")
def _sort(b: Builder, eqn: JaxprEqn) -> None:
    operands = eqn.invars
    dim, num_keys = eqn.params["dimension"], eqn.params["num_keys"]
    shape = operands[0].aval.shape
    n = b.dim(shape[dim])
    others = [d for d in range(len(shape)) if d != dim]
    for out in eqn.outvars:
        b.alloc(out)
    perm, buf = b.tmp("perm"), b.tmp("buf")
    # Scratch space (allocated once before the loop nest inside loops).
    b.hoisted(f"{perm} = np.empty({n}, np.int64)")
    b.hoisted(f"{buf} = np.empty({n}, np.int64)")
    keys = []
    for k in range(num_keys):
        name = b.tmp("key")
        b.hoisted(f"{name} = np.empty({n}, {dtype_expr(operands[k].aval.dtype)})")
        keys.append(name)
    with b.loops([shape[d] for d in others]) as oidx:
        j = b.tmp("j")

        def at(position: str) -> list[str]:
            idx = list(oidx)
            idx.insert(dim, position)
            return idx

        with b.emit.block(f"for {j} in range({n}):"):
            b.emit(f"{perm}[{j}] = {j}")
            for k in range(num_keys):
                b.emit(f"{keys[k]}[{j}] = {b.elem(operands[k], at(j))}")
        for k in reversed(range(num_keys)):
            b.emit(f"_rt.argsort_lane({keys[k]}, {perm}, {buf})")
        with b.emit.block(f"for {j} in range({n}):"):
            for x, out in zip(operands, eqn.outvars, strict=True):
                b.store(out, at(j), b.elem(x, at(f"{perm}[{j}]")))
