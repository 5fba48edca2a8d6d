"""funcgrad.numpy sorting, searching and counting against NumPy, eagerly and
staged (the value-dependent functions eagerly, and staged with ``size=``)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad.numpy import sorting
from tests.numpy.test_manipulation import DTYPES, array_of, axis_st, shape_st
from tests.util import arrays, assert_close, check_against_numpy, eager_and_staged


def with_nans(draw, x):
    """Sprinkle NaNs (and repeated values) into float arrays."""
    if x.dtype.kind == "f" and x.size and draw(st.booleans()):
        x = x.copy()
        mask = draw(arrays(np.bool_, x.shape))
        x[mask] = np.nan
    return x


@st.composite
def sortable(draw, min_dims=0, max_dims=3, min_side=0):
    x = array_of(draw, draw(shape_st(min_dims, max_dims, min_side)))
    return with_nans(draw, x)


@given(sortable(), st.data())
def test_sort(x, data):
    axis = data.draw(axis_st(x.ndim, allow_none=True) if x.ndim else st.none())
    kind = data.draw(st.sampled_from([None, "stable", "quicksort"]))
    check_against_numpy(lambda x: jnp.sort(x, axis=axis, kind=kind),
                        lambda x: np.sort(x, axis=axis, kind=kind), x)


@given(sortable(), st.data())
def test_argsort(x, data):
    axis = data.draw(axis_st(x.ndim, allow_none=True) if x.ndim else st.none())
    check_against_numpy(lambda x: jnp.argsort(x, axis=axis),
                        lambda x: np.argsort(x, axis=axis, kind="stable"), x)
    check_against_numpy(lambda x: jnp.asarray(x).argsort(axis=axis),
                        lambda x: np.argsort(x, axis=axis, kind="stable"), x)


@given(st.lists(st.integers(-3, 3), max_size=8), st.sampled_from(DTYPES))
def test_descending(values, dtype):
    x = np.array(values, dtype=dtype)
    # Python's sorted is stable, an independent reference for ties.
    expected = sorted(range(len(values)), key=lambda i: -float(x[i]))
    out = eager_and_staged(lambda x: jnp.argsort(x, descending=True), x)
    assert_close(out, np.array(expected, dtype=np.int64))
    assert_close(eager_and_staged(lambda x: jnp.sort(x, descending=True), x), x[expected])


@given(st.data())
def test_lexsort(data):
    shape = data.draw(shape_st(1, 2))
    keys = [data.draw(arrays(np.dtype(d), shape, min_value=-2, max_value=2))
            for d in data.draw(st.lists(st.sampled_from(DTYPES), min_size=1, max_size=3))]
    axis = data.draw(axis_st(len(shape)))
    check_against_numpy(lambda keys: jnp.lexsort(keys, axis=axis),
                        lambda keys: np.lexsort(keys, axis=axis), keys)


@pytest.mark.parametrize("name", ["partition", "argpartition"])
@given(x=sortable(min_dims=1, min_side=1), data=st.data())
def test_partition(name, x, data):
    x = np.where(np.isnan(x), 0, x).astype(x.dtype) if x.dtype.kind == "f" else x
    axis = data.draw(axis_st(x.ndim))
    kth = data.draw(st.integers(-x.shape[axis], x.shape[axis] - 1))
    out = np.asarray(eager_and_staged(lambda x: getattr(jnp, name)(x, kth, axis=axis), x))
    values = np.take_along_axis(x, out, axis) if name == "argpartition" else out
    ref = np.partition(x, kth, axis=axis)
    # The same kth element, smaller ones before, larger after (NumPy's order
    # within the partitions is unspecified).
    k = kth % x.shape[axis]
    pivot = np.take(values, [k], axis)
    assert_close(pivot, np.take(ref, [k], axis))
    assert np.all(np.take(values, range(k), axis) <= pivot)
    assert np.all(np.take(values, range(k + 1, x.shape[axis]), axis) >= pivot)
    assert_close(np.sort(values, axis), np.sort(x, axis))


@given(st.data())
def test_searchsorted(data):
    dtype = data.draw(st.sampled_from(DTYPES))
    a = np.sort(with_nans(data.draw, data.draw(arrays(dtype, (data.draw(st.integers(0, 6)),)))))
    v = with_nans(data.draw, data.draw(arrays(data.draw(st.sampled_from(DTYPES)),
                                              data.draw(shape_st(0, 2)))))
    side = data.draw(st.sampled_from(["left", "right"]))
    method = data.draw(st.sampled_from(["auto", "compare_all", "sort"]))
    check_against_numpy(lambda a, v: jnp.searchsorted(a, v, side=side, method=method),
                        lambda a, v: np.searchsorted(a, v, side=side), a, v)


def test_searchsorted_sorter_and_scalar():
    a = np.array([3.0, 1.0, 2.0])
    sorter = np.argsort(a)
    check_against_numpy(lambda a, s: jnp.searchsorted(a, 2.5, sorter=s),
                        lambda a, s: np.searchsorted(a, 2.5, sorter=s), a, sorter)


# --------------------------------------------- value-dependent result size
@pytest.mark.parametrize("name", ["nonzero", "flatnonzero", "argwhere"])
@given(data=st.data())
def test_nonzero_family(name, data):
    x = data.draw(arrays(data.draw(st.sampled_from(DTYPES)), data.draw(
        shape_st(0 if name != "nonzero" else 1, 3)), min_value=-1, max_value=1))
    expected = getattr(np, name)(x)
    assert_close(getattr(jnp, name)(x), expected) if name != "nonzero" else [
        assert_close(o, e) for o, e in zip(getattr(jnp, name)(x), expected, strict=True)]
    size = data.draw(st.integers(0, x.size + 2))
    fill = data.draw(st.none() | st.integers(-3, -1))
    out = eager_and_staged(lambda x: getattr(jnp, name)(x, size=size, fill_value=fill), x)
    pad = 0 if fill is None else fill

    def sized(e):
        e = np.asarray(e)[:size]
        widths = [(0, size - e.shape[0])] + [(0, 0)] * (e.ndim - 1)
        return np.pad(e, widths, constant_values=pad)
    if name == "nonzero":
        for o, e in zip(out, expected, strict=True):
            assert_close(o, sized(e))
    else:
        assert_close(out, sized(expected))


@given(data=st.data())
def test_unique(data):
    x = with_nans(data.draw, data.draw(arrays(data.draw(st.sampled_from(DTYPES)),
                                              data.draw(shape_st(0, 2)), min_value=-2,
                                              max_value=2)))
    flags = data.draw(st.tuples(st.booleans(), st.booleans(), st.booleans()))
    expected = np.unique(x, *flags)
    out = jnp.unique(x, *flags)
    for o, e in zip(*(((out,), (expected,)) if not any(flags) else (out, expected)), strict=True):
        assert_close(o, e)
    if x.size == 0:
        return
    size = data.draw(st.integers(1, x.size + 2))
    fill = data.draw(st.none() | st.just(-7))
    out = eager_and_staged(lambda x: jnp.unique(x, *flags, size=size, fill_value=fill), x)
    out, expected = (out, expected) if any(flags) else ((out,), (expected,))
    count = expected[0].shape[0]

    def sized(e, pad):
        e = e[:size]
        return np.concatenate([e, np.full(size - e.shape[0], pad, e.dtype)])
    fill_value = np.nanmin(x) if fill is None and x.dtype.kind == "f" and not np.all(
        np.isnan(x)) else (x.min() if fill is None else fill)
    results = iter(out[1:])
    assert_close(out[0], sized(expected[0], fill_value))
    if flags[0]:
        assert_close(next(results), sized(expected[1], 0))
    if flags[1]:
        assert_close(next(results), expected[1 + flags[0]])
    if flags[2]:
        assert_close(next(results), sized(expected[-1], 0))
    assert count <= x.size


def test_unique_is_differentiable_on_concrete_values():
    x, t = np.array([3.0, 1.0, 3.0, 2.0]), np.array([10.0, 20.0, 30.0, 40.0])
    out, tangent = funcgrad.jvp(jnp.unique, (x,), (t,))
    assert_close(out, np.array([1.0, 2.0, 3.0]))
    assert_close(tangent, np.array([20.0, 40.0, 10.0]))


def test_value_dependent_needs_size_under_jit():
    for f in (jnp.nonzero, jnp.flatnonzero, jnp.argwhere, jnp.unique):
        with pytest.raises(funcgrad.ConcretizationTypeError, match="size="):
            funcgrad.make_jaxpr(f)(np.ones(3))


def test_every_public_function_is_tested():
    tested = {"sort", "argsort", "lexsort", "partition", "argpartition", "searchsorted",
              "nonzero", "flatnonzero", "argwhere", "unique"}
    assert set(sorting.__all__) == tested


def test_errors():
    with pytest.raises(NotImplementedError, match="order"):
        jnp.sort(np.ones(3), order="x")
    with pytest.raises(ValueError, match="1-d"):
        jnp.searchsorted(np.ones((2, 2)), 1.0)
    with pytest.raises(ValueError, match="out of bounds"):
        jnp.partition(np.ones(3), 3)
    with pytest.raises(ValueError, match="0d"):
        jnp.nonzero(np.float64(1.0))
