"""Helpers of the backend tests: compiled vs eager comparison, and shapes
chosen so that hypothesis examples reuse compiled code.

Generated code reads sizes from the arguments, so programs that differ only
in their sizes share one compiled function, *unless* sizes coincide (two
dimensions of 3 read the same size variable, which is a different program).
The shape pools below therefore have distinct sizes > 1 in every shape.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
from funcgrad import tree_util
from funcgrad.backends import compile_jaxpr

SHAPES = {1: [(3,), (5,), (2,)], 2: [(2, 3), (4, 5), (3, 2)], 3: [(2, 3, 4), (4, 3, 2)]}

_TOL = {np.dtype(np.float32): 2e-5, np.dtype(np.complex64): 2e-5,
        np.dtype(np.float64): 1e-12, np.dtype(np.complex128): 1e-12}


def assert_same(got, expected, *, rtol=None, atol=None, err_msg=""):
    """Equal shape and dtype; exact for integers and bools; floats within a
    tight tolerance with NaN (and inf) in the same places."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert isinstance(got, np.ndarray)
    assert got.shape == expected.shape, f"{err_msg}: shape {got.shape} != {expected.shape}"
    assert got.dtype == expected.dtype, f"{err_msg}: dtype {got.dtype} != {expected.dtype}"
    if expected.dtype.kind in "fc":
        tol = _TOL[expected.dtype]
        np.testing.assert_allclose(got, expected, rtol=tol if rtol is None else rtol,
                                   atol=tol if atol is None else atol, equal_nan=True,
                                   err_msg=err_msg)
    else:
        np.testing.assert_array_equal(got, expected, err_msg=err_msg)


def check_compiled(fun, *args, rtol=None, atol=None, exe_out: list | None = None):
    """``fun`` staged with make_jaxpr, compiled, and run on ``args``: equal to
    ``eval_jaxpr`` of the same jaxpr.  Returns the executable."""
    closed = funcgrad.make_jaxpr(fun)(*args)
    flat = tree_util.tree_leaves(args)
    expected = funcgrad.eval_jaxpr(closed.jaxpr, closed.consts, *flat)
    exe = compile_jaxpr(closed)
    got = exe(*flat)
    assert isinstance(got, list) and len(got) == len(expected)
    for k, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert_same(g, e, rtol=rtol, atol=atol, err_msg=f"output {k} of\n{closed}")
    return exe


def shapes_of_rank(rank: int):
    return st.sampled_from(SHAPES[rank])


def float_arrays(dtype, shape, lo=-20.0, hi=20.0, specials=True):
    """Floats in [lo, hi], sometimes NaN, infinities or signed zeros."""
    dtype = np.dtype(dtype)
    width = dtype.itemsize * 8
    finite = st.floats(lo, hi, width=width)
    if specials:
        finite = finite | st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, -2.5])
    return hnp.arrays(dtype, shape, elements=finite)


def int_arrays(dtype, shape):
    return hnp.arrays(np.dtype(dtype), shape)


def loops(source: str) -> int:
    """The number of loops in generated code."""
    return sum(1 for line in source.splitlines()
               if line.lstrip().startswith("for ") and not line.lstrip().startswith("#"))


def nests(source: str) -> int:
    """The number of outermost loops of the entry function."""
    body = source[source.index("def fn_"):].splitlines()[1:]
    return sum(1 for line in body if line.startswith("    for "))
