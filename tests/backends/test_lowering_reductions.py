"""Reductions, arg-reductions, cumulative reductions and sort: compiled vs
eager, with NaNs, signed zeros, ties and empty axes."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from funcgrad import lax
from tests.backends.util import check_compiled, float_arrays, int_arrays


def _float_reductions(x):
    return (lax.reduce_sum(x, (0, 2)), lax.reduce_sum(x, (1,)), lax.reduce_sum(x, (0, 1, 2)),
            lax.reduce_sum(x, ()), lax.reduce_prod(x, (2,)), lax.reduce_max(x, (1,)),
            lax.reduce_min(x, (0, 2)), lax.reduce_max(x, (0, 1, 2)),
            lax.argmax(x, 1, np.int32), lax.argmin(x, 0, np.int64), lax.argmax(x, 2, np.int64))


@settings(max_examples=10)
@given(data=st.data(), dtype=st.sampled_from([np.float64, np.float32]))
def test_float_reductions(data, dtype):
    x = data.draw(float_arrays(dtype, (2, 3, 4), lo=-3, hi=3))
    # Summation order differs from NumPy's pairwise sums: compare to the
    # size of the terms.
    check_compiled(_float_reductions, x, atol=1e-5 if dtype == np.float32 else 1e-12)


def _int_reductions(x):
    return (lax.reduce_sum(x, (0,)), lax.reduce_prod(x, (1,)), lax.reduce_max(x, (0, 1)),
            lax.reduce_min(x, (1,)), lax.reduce_and(x, (0,)), lax.reduce_or(x, (1,)),
            lax.argmax(x, 0), lax.argmin(x, 1), lax.reduce_sum(x, (0, 1)))


@settings(max_examples=6)
@given(data=st.data(), dtype=st.sampled_from([np.int32, np.uint8, np.int64]))
def test_integer_reductions_wrap_like_numpy(data, dtype):
    check_compiled(_int_reductions, data.draw(int_arrays(dtype, (3, 4))))


def test_bool_reductions():
    x = np.array([[True, False, True], [True, True, True]])
    check_compiled(lambda x: (lax.reduce_and(x, (1,)), lax.reduce_or(x, (0,)),
                              lax.reduce_max(x, (0,)), lax.reduce_min(x, (1,)),
                              lax.argmax(x, 1), lax.argmin(x, 0)), x)


def test_empty_reductions_give_identities():
    x = np.zeros((0, 3))
    check_compiled(lambda x: (lax.reduce_sum(x, (0,)), lax.reduce_prod(x, (0,)),
                              lax.reduce_max(x, (0,)), lax.reduce_min(x, (0, 1))), x)


def test_nan_propagation_and_first_nan_index():
    x = np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 2.0, -1.0, -1.0], [-0.0, 0.0, np.inf, -np.inf]])
    exe = check_compiled(lambda x: (lax.reduce_max(x, (1,)), lax.reduce_min(x, (1,)),
                                    lax.argmax(x, 1), lax.argmin(x, 1)), x)
    _, _, amax, amin = exe(x)
    np.testing.assert_array_equal(amax, [1, 0, 2])
    np.testing.assert_array_equal(amin, [1, 2, 3])


def _cumulative(x):
    return (lax.cumsum(x, 0), lax.cumsum(x, 1, reverse=True), lax.cumprod(x, 1),
            lax.cummax(x, 0, reverse=True), lax.cummin(x, 1), lax.cumlogsumexp(x, 1),
            lax.cumlogsumexp(x, 0, reverse=True))


@settings(max_examples=8)
@given(data=st.data(), dtype=st.sampled_from([np.float64, np.float32]))
def test_cumulative(data, dtype):
    check_compiled(_cumulative, data.draw(float_arrays(dtype, (3, 4), lo=-5, hi=5)))


def test_cumulative_integers():
    x = np.array([[3, -1, 4], [1, -5, 9]], np.int32)
    check_compiled(lambda x: (lax.cumsum(x, 1), lax.cumprod(x, 0, reverse=True),
                              lax.cummax(x, 1), lax.cummin(x, 0)), x)


def _sorts(x, k):
    return (lax.sort(x, 1), lax.sort(x, 0), lax.sort((k, x), 1, num_keys=1),
            lax.sort((k, x, k), 0, num_keys=2), lax.argsort(x, 1), lax.top_k(x, 2))


@settings(max_examples=10)
@given(data=st.data(), dtype=st.sampled_from([np.float64, np.float32]))
def test_sort(data, dtype):
    # NaNs last, -0.0 and 0.0 tie, stable: the order follows np.sort's.
    x = data.draw(float_arrays(dtype, (3, 5), lo=-2, hi=2))
    k = data.draw(st.lists(st.integers(0, 2), min_size=15, max_size=15))
    check_compiled(_sorts, x, np.array(k, np.int32).reshape(3, 5))


@pytest.mark.parametrize("dtype", [np.uint8, np.bool_, np.complex128])
def test_sort_other_dtypes(dtype):
    x = np.array([[3, 1, 2, 1], [0, 5, 5, 1]]).astype(dtype)
    if dtype == np.complex128:
        x = x + 1j * np.array([[1, np.nan, 0, -1], [2, 0, -1, 0]])
        x[0, 0] = complex(np.nan, 0)
    check_compiled(lambda x: (lax.sort(x, 1), lax.sort((x, x.real if x.dtype.kind == "c" else x), 0)), x)
