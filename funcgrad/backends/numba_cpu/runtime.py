"""Small compiled helpers that generated code calls (as ``_rt.<name>``).

Everything here is nopython Numba code, compiled on first use and cached on
disk by Numba.  Each helper reproduces the eager implementation's semantics
where NumPy's and Numba's scalar behaviour differ: NaN-propagating
``maximum``/``minimum``, C-style integer division with ``x / 0 == 0``,
saturating float-to-int conversion, NumPy's ``logaddexp``, a stable
NaN-last sort, and the factorisations of :mod:`funcgrad.lax.linalg_factor`.

All helpers use ``error_model="numpy"``: a float division by zero gives
inf/nan instead of raising inside compiled code.
"""
from __future__ import annotations

import math

import numba
import numpy as np
from numba.core import types
from numba.extending import overload

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")

# ---------------------------------------------------------------- arithmetic


@_jit
def maximum(x, y):
    """``np.maximum`` on scalars: NaN propagates (the first NaN wins)."""
    return x if (x >= y or x != x) else y


@_jit
def minimum(x, y):
    """``np.minimum`` on scalars: NaN propagates."""
    return x if (x <= y or x != x) else y


@_jit
def sdiv(x, y):
    """Signed integer division rounding toward zero; ``x / 0 == 0`` and
    ``MIN / -1 == MIN`` (after the caller's cast), as ``lax.div`` eagerly."""
    if y == 0:
        return x - x
    if y == -1:
        return -x
    q = x // y
    if q * y != x and ((x < 0) != (y < 0)):
        q += 1
    return q


@_jit
def udiv(x, y):
    """Unsigned integer division with ``x / 0 == 0``."""
    if y == 0:
        return x - x
    return x // y


@_jit
def srem(x, y):
    """C ``fmod`` on signed integers (the sign of ``x``); ``x % 0 == 0``."""
    if y == 0 or y == -1:
        return x - x
    r = x % y
    if r != 0 and ((r < 0) != (x < 0)):
        r -= y
    return r


@_jit
def urem(x, y):
    if y == 0:
        return x - x
    return x % y


@_jit
def saturate(x, lo, hi):
    """Float ``x`` to the integer type of ``lo``/``hi``: NaN gives 0, values
    beyond the range saturate, the rest truncate toward zero."""
    if x != x:
        return lo - lo
    if x >= float(hi):
        return hi
    if x <= float(lo):
        return lo
    return type(lo)(x)


@_jit
def logaddexp(x, y):
    """``np.logaddexp``: no overflow, equal infinities give themselves."""
    if x == y:
        return x + 0.6931471805599453
    d = x - y
    if d > 0:
        return x + np.log1p(np.exp(-d))
    if d <= 0:
        return y + np.log1p(np.exp(d))
    return d  # nan


@_jit
def logaddexp32(x, y):
    """``np.logaddexp`` in float32 arithmetic."""
    if x == y:
        return x + np.float32(0.6931471805599453)
    d = x - y
    if d > 0:
        return x + np.log1p(np.exp(-d))
    if d <= 0:
        return y + np.log1p(np.exp(d))
    return d


@_jit
def ipow(x, n):
    """``x ** n`` for a non-negative integer ``n`` by repeated squaring
    (integers wrap like NumPy's; the caller casts the result)."""
    result = x - x + 1
    base = x
    while n > 0:
        if n & 1:
            result = result * base
        n >>= 1
        if n:
            base = base * base
    return result


@_jit
def cpow_int(z, n):
    """Complex ``z ** n`` for an integer ``n`` (NumPy multiplies for small
    integer exponents rather than calling ``cpow``)."""
    if n == 0:
        return z - z + 1
    r = ipow(z, abs(n))
    if n < 0:
        return 1 / r
    return r


# ---------------------------------------------------------------- sorting
def _lt(a, b):
    """NumPy's sort order (plain Python, for ``NUMBA_DISABLE_JIT=1``; the
    compiled version is the overload below, with the same logic)."""
    if isinstance(a, (complex, np.complexfloating)):
        return _complex_lt(a.real, a.imag, b.real, b.imag)
    return a < b or (b != b and a == a)


def _complex_lt(ar, ai, br, bi):
    # NumPy's NaN-aware complex order (npysort's CFLOAT_LT).
    if ar < br:
        return ai == ai or bi != bi
    if ar > br:
        return bi != bi and ai == ai
    if ar == br or (ar != ar and br != br):
        return ai < bi or (bi != bi and ai == ai)
    return br != br


@overload(_lt, jit_options={"error_model": "numpy"})
def _lt_impl(a, b):
    """NumPy's sort order: NaN last; complex lexicographic (real, imag)."""
    if isinstance(a, types.Complex):
        complex_lt = numba.njit(_complex_lt)
        return lambda a, b: complex_lt(a.real, a.imag, b.real, b.imag)
    if isinstance(a, types.Float):
        return lambda a, b: a < b or (b != b and a == a)
    return lambda a, b: a < b


@_jit
def _merge_pass(keys, src, dst, width):
    n = src.shape[0]
    lo = 0
    while lo < n:
        mid = min(lo + width, n)
        hi = min(lo + 2 * width, n)
        i, j, k = lo, mid, lo
        while i < mid and j < hi:
            # Take from the right only if strictly smaller: stable.
            if _lt(keys[src[j]], keys[src[i]]):
                dst[k] = src[j]
                j += 1
            else:
                dst[k] = src[i]
                i += 1
            k += 1
        while i < mid:
            dst[k] = src[i]
            i += 1
            k += 1
        while j < hi:
            dst[k] = src[j]
            j += 1
            k += 1
        lo += 2 * width


@_jit
def argsort_lane(keys, perm, buf):
    """Sort the positions in ``perm`` (in place) stably by
    ``keys[perm[i]]``: a merge sort, NaN last.  ``buf`` is scratch space of
    ``perm``'s length."""
    n = perm.shape[0]
    width = 1
    in_buf = False
    while width < n:
        if in_buf:
            _merge_pass(keys, buf, perm, width)
        else:
            _merge_pass(keys, perm, buf, width)
        in_buf = not in_buf
        width *= 2
    if in_buf:
        perm[:] = buf


# ---------------------------------------------------------------- linalg
# BLAS through np.dot, behind helpers: Numba's np.dot is slow to compile,
# and a helper is compiled once per type signature and cached on disk,
# while generated programs only link it.
@_jit
def dot(a, b):
    """``np.dot`` of 1-d/2-d float or complex arrays (BLAS)."""
    return np.dot(a, b)


@_jit
def batched_dot(a, b, out):
    """``out[i] = a[i] @ b[i]`` for C-contiguous stacks of matrices."""
    for i in range(a.shape[0]):
        out[i] = np.dot(a[i], b[i])


@_jit
def cholesky_stack(a, out):
    """Lower Cholesky factors of the matrices ``a[s]`` (reading their lower
    triangle, the upper triangle of ``out`` zero); a matrix that is not
    positive definite gives NaNs, as the eager implementation does."""
    count, n = a.shape[0], a.shape[1]
    for s in range(count):
        ok = True
        for i in range(n):
            for j in range(n):
                out[s, i, j] = 0
        for j in range(n):
            d = a[s, j, j].real
            for k in range(j):
                v = out[s, j, k]
                d -= (v * np.conj(v)).real
            if not d > 0:
                ok = False
                break
            ljj = math.sqrt(d)
            out[s, j, j] = ljj
            for i in range(j + 1, n):
                acc = a[s, i, j]
                for k in range(j):
                    acc -= out[s, i, k] * np.conj(out[s, j, k])
                out[s, i, j] = acc / ljj
        if not ok:
            for i in range(n):
                for j in range(n):
                    out[s, i, j] = np.nan


@_jit
def triangular_solve_stack(a, b, out, left_side, lower, transpose_a, conjugate_a,
                           unit_diagonal):
    """``lax.linalg.triangular_solve`` on stacks ``a`` (count, m, m) and
    ``b`` (count, rows, cols), into ``out`` (b's shape)."""
    count, m = a.shape[0], a.shape[1]
    t = np.zeros((m, m), a.dtype)
    for s in range(count):
        # The effective triangular matrix t with t @ x = rhs.
        for i in range(m):
            for j in range(m):
                keep = (j <= i) if lower else (j >= i)
                v = a[s, i, j] if keep else a[s, i, j] * 0
                if unit_diagonal and i == j:
                    v = v * 0 + 1
                if conjugate_a:
                    v = np.conj(v)
                if transpose_a:
                    t[j, i] = v
                else:
                    t[i, j] = v
        low = lower != transpose_a
        if not left_side:
            # x @ t = b  <=>  t^T @ x^T = b^T
            t = t.T.copy()
            low = not low
        nrhs = b.shape[2] if left_side else b.shape[1]
        for c in range(nrhs):
            for step in range(m):
                i = step if low else m - 1 - step
                acc = b[s, i, c] if left_side else b[s, c, i]
                if low:
                    for k in range(i):
                        acc -= t[i, k] * (out[s, k, c] if left_side else out[s, c, k])
                else:
                    for k in range(i + 1, m):
                        acc -= t[i, k] * (out[s, k, c] if left_side else out[s, c, k])
                if left_side:
                    out[s, i, c] = acc / t[i, i]
                else:
                    out[s, c, i] = acc / t[i, i]


@_jit
def lu_stack(a, lu, pivots, perm):
    """Gaussian elimination with partial pivoting on stacks (count, m, n),
    with the eager implementation's choices (the first entry of largest
    magnitude, ``|re| + |im|`` for complex; a zero pivot column is left
    unscaled)."""
    count, m, n = a.shape[0], a.shape[1], a.shape[2]
    k = min(m, n)
    for s in range(count):
        for i in range(m):
            perm[s, i] = i
            for j in range(n):
                lu[s, i, j] = a[s, i, j]
        for j in range(k):
            p = j
            best = -1.0
            for i in range(j, m):
                v = lu[s, i, j]
                size = abs(v.real) + abs(v.imag)
                if size > best or (size != size and best == best):
                    best = size
                    p = i
                    if size != size:
                        break
            pivots[s, j] = p
            if p != j:
                for c in range(n):
                    tmp = lu[s, j, c]
                    lu[s, j, c] = lu[s, p, c]
                    lu[s, p, c] = tmp
                tp = perm[s, j]
                perm[s, j] = perm[s, p]
                perm[s, p] = tp
            piv = lu[s, j, j]
            if piv != 0:
                for i in range(j + 1, m):
                    lu[s, i, j] = lu[s, i, j] / piv
            for i in range(j + 1, m):
                f = lu[s, i, j]
                for c in range(j + 1, n):
                    lu[s, i, c] -= f * lu[s, j, c]


@_jit
def qr_stack(a, q, r, full_matrices):
    """Householder QR with LAPACK's reflector conventions (geqrf/orgqr), so
    signs agree with ``numpy.linalg.qr``.  ``q`` is (count, m, m or k) and
    ``r`` (count, m or k, n)."""
    count, m, n = a.shape[0], a.shape[1], a.shape[2]
    k = min(m, n)
    w = a[0].copy()
    vs = np.zeros((k, m), a.dtype)
    taus = np.zeros(k, a.dtype)
    ncols = q.shape[2]
    for s in range(count):
        for i in range(m):
            for j in range(n):
                w[i, j] = a[s, i, j]
        for j in range(k):
            alpha = w[j, j]
            xnorm = 0.0
            for i in range(j + 1, m):
                xnorm = math.hypot(xnorm, abs(w[i, j]))
            alphr = alpha.real
            alphi = alpha.imag
            vs[j, :] = 0
            vs[j, j] = 1
            if xnorm == 0.0 and alphi == 0.0:
                taus[j] = 0
                continue
            beta = -math.copysign(math.hypot(math.hypot(alphr, alphi), xnorm), alphr)
            # tau = ((beta - alphr) + i (-alphi)) / beta, as zlarfg.
            taus[j] = (beta - alphr) / beta + _imag_unit(alpha) * (-alphi / beta)
            tau = taus[j]
            scale = 1 / (alpha - beta)
            for i in range(j + 1, m):
                vs[j, i] = w[i, j] * scale
            w[j, j] = beta
            for i in range(j + 1, m):
                w[i, j] = 0
            # Apply H^H = I - conj(tau) v v^H to the columns right of j.
            ctau = np.conj(tau)
            for c in range(j + 1, n):
                acc = w[j, c] * 0
                for i in range(j, m):
                    acc += np.conj(vs[j, i]) * w[i, c]
                acc = acc * ctau
                for i in range(j, m):
                    w[i, c] -= vs[j, i] * acc
        for i in range(r.shape[1]):
            for j in range(n):
                r[s, i, j] = w[i, j] if j >= i else w[i, j] * 0
        # Q = H_1 ... H_k applied to the first ncols columns of I.
        for i in range(m):
            for j in range(ncols):
                q[s, i, j] = 1 if i == j else 0
        for jj in range(k - 1, -1, -1):
            tau = taus[jj]
            for c in range(ncols):
                acc = q[s, 0, c] * 0
                for i in range(jj, m):
                    acc += np.conj(vs[jj, i]) * q[s, i, c]
                acc = acc * tau
                for i in range(jj, m):
                    q[s, i, c] -= vs[jj, i] * acc


def _imag_unit(x):
    """1j for complex ``x``, 0 for real (plain Python; compiled below)."""
    return 1j if isinstance(x, (complex, np.complexfloating)) else 0.0


@overload(_imag_unit, jit_options={"error_model": "numpy"})
def _imag_unit_impl(x):
    """1j for complex ``x`` (its type), 0 for real ``x``."""
    if isinstance(x, types.Complex):
        return lambda x: x - x + 1j
    return lambda x: x - x


@_jit
def eigh_stack(a, v, w, lower):
    """Eigen-decomposition of the Hermitian matrices whose ``lower`` (or
    upper) triangle ``a`` holds, with LAPACK's ``syevd`` (through Numba);
    a failing matrix gives NaNs."""
    count, n = a.shape[0], a.shape[1]
    h = np.empty((n, n), a.dtype)
    for s in range(count):
        for i in range(n):
            for j in range(n):
                src = (j <= i) if lower else (j >= i)
                if i == j:
                    h[i, j] = a[s, i, i].real + a[s, i, i] * 0
                elif src:
                    h[i, j] = a[s, i, j]
                else:
                    h[i, j] = np.conj(a[s, j, i])
        try:
            ws, vs = np.linalg.eigh(h)
            for i in range(n):
                w[s, i] = ws[i]
                for j in range(n):
                    v[s, i, j] = vs[i, j]
        except Exception:  # noqa: BLE001 (no convergence: NaN, as eagerly)
            for i in range(n):
                w[s, i] = np.nan
                for j in range(n):
                    v[s, i, j] = np.nan


# ---------------------------------------------------------------- compiler
from numba.core import typed_passes, untyped_passes  # noqa: E402
from numba.core.compiler import CompilerBase, DefaultPassBuilder  # noqa: E402
from numba.core.compiler_machinery import PassManager  # noqa: E402


class NoSSACompiler(CompilerBase):
    """Numba's nopython pipeline cut to what generated code needs.

    The generated functions are plain loops and arithmetic on arrays and
    scalars: no closures, ``with`` blocks, literal_unroll, array
    expressions to fuse or constants to fold.  Numba's passes for those
    (and its SSA reconstruction, which is quadratic in variables x
    statements) are skipped: they were about half of the compile time of a
    sampler's program.
    """

    def define_pipelines(self):
        state = self.state
        state.flags.enable_ssa = False
        if state.flags.auto_parallel.enabled:     # parfors need the full pipeline
            return [DefaultPassBuilder.define_nopython_pipeline(state)]
        pm = PassManager("funcgrad")
        if state.func_ir is None:
            pm.add_pass(untyped_passes.TranslateByteCode, "analyzing bytecode")
            pm.add_pass(untyped_passes.FixupArgs, "fix up args")
        pm.add_pass(untyped_passes.IRProcessing, "processing IR")
        pm.add_pass(untyped_passes.RewriteDynamicRaises, "rewrite dynamic raises")
        pm.add_pass(untyped_passes.LiteralPropagationSubPipelinePass, "literal propagation")
        pm.add_pass(typed_passes.NopythonTypeInference, "nopython frontend")
        pm.add_pass(typed_passes.PreLowerStripPhis, "remove phis nodes")
        lowering = DefaultPassBuilder.define_nopython_lowering_pipeline(state)
        pm.passes.extend(lowering.passes)
        pm.finalize()
        return [pm]
