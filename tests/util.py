"""Shared test helpers: comparisons against references, eager and staged."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
from funcgrad import tree_util

FLOAT_DTYPES = [np.dtype(np.float32), np.dtype(np.float64)]
INT_DTYPES = [np.dtype(np.int32), np.dtype(np.int64)]

_RTOL = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-12,
         np.dtype(np.complex64): 2e-5, np.dtype(np.complex128): 1e-12}


def assert_close(actual, expected, *, rtol=None, atol=None, check_dtype=True, err_msg=""):
    """Compare a funcgrad result with a reference: same shape, same dtype
    (unless ``check_dtype=False``) and values within a dtype-aware tolerance
    (exact for integers and bools)."""
    actual_np, expected_np = np.asarray(actual), np.asarray(expected)
    assert actual_np.shape == expected_np.shape, (
        f"{err_msg} shape {actual_np.shape} != expected {expected_np.shape}")
    if check_dtype:
        assert actual_np.dtype == expected_np.dtype, (
            f"{err_msg} dtype {actual_np.dtype} != expected {expected_np.dtype}")
    if expected_np.dtype.kind in "fc":
        tol = _RTOL.get(expected_np.dtype, 1e-12)
        rtol = tol if rtol is None else rtol
        atol = tol if atol is None else atol
        np.testing.assert_allclose(actual_np, expected_np, rtol=rtol, atol=atol,
                                   equal_nan=True, err_msg=err_msg)
    else:
        np.testing.assert_array_equal(actual_np, expected_np, err_msg=err_msg)


def eager_and_staged(f, *args, **kwargs):
    """Run ``f`` eagerly and through ``eval_jaxpr(make_jaxpr(f))``, check the
    staged jaxpr with ``check_jaxpr`` and that both agree exactly in shape and
    dtype (and closely in value); return the eager result."""
    eager = f(*args, **kwargs)
    closed, out_shape = funcgrad.make_jaxpr(f, return_shape=True)(*args, **kwargs)
    funcgrad.check_jaxpr(closed)
    flat_args = tree_util.tree_leaves((args, kwargs))
    staged_flat = funcgrad.eval_jaxpr(closed.jaxpr, closed.consts, *flat_args)
    staged = tree_util.tree_unflatten(tree_util.tree_structure(out_shape), staged_flat)
    eager_leaves, staged_leaves = tree_util.tree_leaves(eager), tree_util.tree_leaves(staged)
    assert len(eager_leaves) == len(staged_leaves)
    for e, s, aval in zip(eager_leaves, staged_leaves, tree_util.tree_leaves(out_shape), strict=True):
        assert np.shape(e) == aval.shape, f"eager shape {np.shape(e)} != staged type {aval}"
        assert np.asarray(e).dtype == aval.dtype, f"eager dtype {np.asarray(e).dtype} != staged {aval}"
        assert_close(s, e, err_msg="staged vs eager:")
    return eager


def check_against_numpy(f, reference, *args, **kwargs):
    """``f(*args)`` eagerly and staged equals ``reference(*args)`` (NumPy)."""
    out = eager_and_staged(f, *args, **kwargs)
    expected = reference(*[np.asarray(a) if isinstance(a, funcgrad.Array) else a for a in args],
                         **kwargs)
    tree_util.tree_map(lambda o, e: assert_close(o, e), out, expected)
    return out


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def arrays(dtype, shape, *, min_value=-10, max_value=10, **kwargs):
    """Finite arrays in a modest range (no nan/inf unless asked for)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        # Bounds must be representable at the array's width: round inwards.
        lo = np.asarray(min_value, dtype)
        hi = np.asarray(max_value, dtype)
        lo = lo if lo >= min_value else np.nextafter(lo, hi)
        hi = hi if hi <= max_value else np.nextafter(hi, lo)
        elements = st.floats(float(lo), float(hi), width=dtype.itemsize * 8,
                             allow_nan=False, allow_infinity=False, **kwargs)
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        elements = st.integers(max(min_value, info.min), min(max_value, info.max))
    elif dtype.kind == "b":
        elements = st.booleans()
    else:
        raise NotImplementedError(dtype)
    return hnp.arrays(dtype, shape, elements=elements)


def vmap_reference(f, in_axes, out_axes=0):
    """The reference for ``vmap(f, in_axes, out_axes)``: call ``f`` on each
    batch member in a Python loop and stack the results (NumPy only)."""
    def looped(*args):
        sizes = {np.shape(a)[ax] for a, ax in zip(args, in_axes, strict=True) if ax is not None}
        (n,) = sizes
        outs = [f(*[a if ax is None else np.take(np.asarray(a), j, axis=ax)
                    for a, ax in zip(args, in_axes, strict=True)]) for j in range(n)]
        return tree_util.tree_map(
            lambda *xs: np.stack([np.asarray(x) for x in xs], axis=out_axes), *outs)
    return looped
