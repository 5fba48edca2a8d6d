"""NumPy indexing (``x[idx]``, ``x.at[idx]``, take, take_along_axis) against
NumPy, eagerly and staged."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
from funcgrad import Array, lax
from funcgrad.numpy.indexing import (
    IndexUpdateHelper,
    NonConcreteBooleanIndexError,
    getitem,
    take,
    take_along_axis,
)
from tests.util import arrays, assert_close, eager_and_staged


# ------------------------------------------------------------ strategies
def _item(draw, size, adv_shape, allow_arrays, allow_mask):
    kinds = ["int", "slice", "slice"] + (["array", "list"] if allow_arrays else []) + (
        ["mask"] if allow_mask else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "int":
        return kind, draw(st.integers(-size, size - 1))
    if kind == "slice":
        bound = st.none() | st.integers(-size - 2, size + 2)
        step = draw(st.sampled_from([None, 1, 2, 3, -1, -2, -3]))
        return kind, slice(draw(bound), draw(bound), step)
    if kind == "mask":
        return kind, draw(arrays(np.bool_, (size,)))
    shape = adv_shape[draw(st.integers(0, len(adv_shape))):]  # broadcastable suffix
    dtype = draw(st.sampled_from([np.int32, np.int64]))
    value = draw(arrays(dtype, shape, min_value=-size, max_value=size - 1))
    if kind == "list" and value.ndim:
        return kind, value.tolist()
    return "array", value


@st.composite
def index_exprs(draw, allow_arrays=True, allow_masks=True):
    """(x, index tuple): ints, slices with any step, None, Ellipsis, integer
    arrays and lists (broadcastable, negative values), concrete masks."""
    shape = draw(st.lists(st.integers(1, 4), min_size=0, max_size=4).map(tuple))
    ndim = len(shape)
    use_ellipsis = draw(st.booleans())
    n_front = draw(st.integers(0, ndim))
    n_back = draw(st.integers(0, ndim - n_front)) if use_ellipsis else 0
    dims = list(range(n_front)) + list(range(ndim - n_back, ndim))
    adv_shape = draw(st.sampled_from([(), (2,), (3,), (2, 3), (1, 2)]))
    use_mask = allow_masks and draw(st.integers(0, 3)) == 0
    items, mask_used = [], False
    for d in dims:
        kind, value = _item(draw, shape[d], adv_shape, allow_arrays and not use_mask,
                            use_mask and not mask_used)
        mask_used |= kind == "mask"
        items.append(value)
    if use_ellipsis:
        items.insert(n_front, Ellipsis)
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int32]))
    x = np.asarray(np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape) - 3)
    return x, tuple(items)


def _split_arrays(index):
    """Pull the integer arrays out of an index tuple so they can be passed
    as (traced) arguments; returns the arrays and a function rebuilding it."""
    arrs = [i for i in index if isinstance(i, np.ndarray) and i.dtype.kind in "iu"]
    slots = [k for k, i in enumerate(index) if isinstance(i, np.ndarray) and i.dtype.kind in "iu"]

    def rebuild(values):
        out = list(index)
        for k, v in zip(slots, values, strict=True):
            out[k] = v
        return tuple(out)
    return arrs, rebuild


# ------------------------------------------------------------- getitem
@given(index_exprs(), st.booleans())
def test_getitem_matches_numpy(case, traced_indices):
    x, index = case
    expected = x[index]
    if traced_indices:
        arrs, rebuild = _split_arrays(index)
        out = eager_and_staged(lambda a, *ix: getitem(a, rebuild(ix)), x, *arrs)
    else:
        out = eager_and_staged(lambda a: getitem(a, index), x)
    assert_close(out, expected, err_msg=f"index {index!r}")


@given(index_exprs(allow_arrays=False, allow_masks=False))
def test_basic_indexing_uses_no_gather(case):
    x, index = case
    closed = funcgrad.make_jaxpr(lambda a: getitem(a, index))(x)
    names = {e.primitive.name for e in closed.jaxpr.eqns}
    assert names <= {"slice", "rev", "reshape"}, names
    assert_close(funcgrad.eval_jaxpr(closed.jaxpr, closed.consts, x)[0], x[index])


def test_getitem_method_and_special_cases():
    xn = np.arange(24.0).reshape(2, 3, 4)
    x = Array(xn)
    cases = [(), Ellipsis, True, False, (0, True), (None, Ellipsis, None),
             (xn > 5,), (slice(None), xn[0] > 3), (0, xn[0] > 3), ([], slice(None)),
             (slice(None), [0, 2], None, [1, -1]), ([[0], [1]], slice(None), [0, 3]),
             (1, slice(None), [0, 1]), (slice(None), 1, slice(None, None, -1), )]
    for index in cases:
        assert_close(x[index], xn[index], err_msg=f"index {index!r}")
    assert_close(x[np.int32(1), np.array(-1)], xn[1, -1])
    assert_close(x[Array(np.array([1, 0])), Array(np.array(2))], xn[[1, 0], 2])


def test_zero_size_dimensions():
    xn = np.zeros((0, 3))
    x = Array(xn)
    for index in [(slice(None), 1), (slice(None), [0, 2]), (np.zeros(0, np.int64),), (Ellipsis, -1)]:
        assert_close(x[index], xn[index], err_msg=f"index {index!r}")


def test_traced_scalar_and_out_of_bounds_indices_clamp():
    xn = np.arange(10.0) * 2
    for i in [3, -1, -10, 10, 12, -13]:
        out = eager_and_staged(getitem, xn, Array(np.int32(i)))
        assert float(out) == xn[min(max(i + 10 if i < 0 else i, 0), 9)]
    # Integer arrays (concrete or traced) clamp as well (JAX's gather rule).
    idx = np.array([-12, -1, 0, 9, 10, 100])
    expected = xn[np.clip(np.where(idx < 0, idx + 10, idx), 0, 9)]
    assert_close(Array(xn)[idx], expected)
    assert_close(eager_and_staged(getitem, xn, idx.astype(np.int32)), expected)


def test_traced_index_under_make_jaxpr_uses_gather():
    closed = funcgrad.make_jaxpr(lambda a, i: a[i])(np.ones((3, 4)), np.int32(1))
    assert closed.jaxpr.eqns[-1].primitive is lax.gather_p
    assert closed.jaxpr.outvars[0].aval.shape == (4,)


# ---------------------------------------------------------------- errors
def test_getitem_errors():
    x = Array(np.arange(6.0).reshape(2, 3))
    with pytest.raises(IndexError, match=r"too many indices for array: array is "
                                         r"2-dimensional, but 3 were indexed"):
        x[0, 1, 2]
    with pytest.raises(IndexError, match="only integers, slices"):
        x[1.5]
    with pytest.raises(IndexError, match=r"integer or boolean arrays are valid indices.*float64"):
        x[np.array([0.0, 1.0])]
    with pytest.raises(IndexError, match="index 2 is out of bounds for axis 0 with size 2"):
        x[2]
    with pytest.raises(IndexError, match="index -4 is out of bounds for axis 1 with size 3"):
        x[:, -4]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]
    with pytest.raises(IndexError, match=r"boolean index did not match indexed array along "
                                         r"axis 1; size of axis is 3 but size of corresponding "
                                         r"boolean axis is 2"):
        x[:, np.array([True, False])]
    with pytest.raises(IndexError, match=r"shape mismatch: indexing arrays could not be "
                                         r"broadcast together with shapes \(2,\) \(3,\)"):
        x[[0, 1], [0, 1, 2]]
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        x[::0]


def test_traced_mask_is_an_error():
    def f(a):
        return getitem(a, lax.gt(a, 0.0))
    with pytest.raises(NonConcreteBooleanIndexError, match=r"boolean indices must be "
                                                         r"concrete.*funcgrad.numpy.where"):
        funcgrad.make_jaxpr(f)(np.ones(3))
    with pytest.raises(IndexError):  # it is an IndexError, as in JAX
        funcgrad.make_jaxpr(f)(np.ones(3))
    with pytest.raises(funcgrad.ConcretizationTypeError):
        funcgrad.make_jaxpr(lambda a: IndexUpdateHelper(a)[lax.gt(a, 0.0)].set(0.0))(np.ones(3))


def test_traced_slice_bound_is_an_error():
    with pytest.raises(funcgrad.ConcretizationTypeError, match="dynamic_slice"):
        funcgrad.make_jaxpr(lambda a, i: a[i:])(np.ones(3), np.int32(1))


# ------------------------------------------------------------------ .at
_UFUNC = {"add": np.add, "multiply": np.multiply, "mul": np.multiply, "min": np.minimum,
          "max": np.maximum, "subtract": np.subtract, "divide": np.divide}


def _at_reference(method, x, index, values):
    out = x.copy()
    if method == "set":
        out[index] = values
    else:
        _UFUNC[method].at(out, index, np.asarray(values, x.dtype))
    return out


def _unique_rows(index, shape):
    """True if the index selects every element at most once (NumPy's
    assignment order with duplicates is not specified for every layout)."""
    pos = np.arange(int(np.prod(shape))).reshape(shape)[index]
    return len(np.unique(pos)) == np.size(pos)


@given(index_exprs(), st.sampled_from(["set", "add", "subtract", "multiply", "mul", "min",
                                       "max", "divide"]), st.booleans(), st.data())
def test_at_matches_numpy(case, method, traced_indices, data):
    x, index = case
    if method == "divide" and x.dtype.kind != "f":
        x = x.astype(np.float64)
    indexed_shape = x[index].shape
    values = data.draw(arrays(x.dtype, indexed_shape, min_value=-3, max_value=3).map(
        # divide multiplies by the reciprocal: keep divisors away from 0 (1/tiny = inf)
        lambda v: np.where(abs(v) < 0.5, 2, v).astype(v.dtype) if method == "divide" else v))
    if data.draw(st.booleans()) and values.size:  # broadcast a trailing slice of values
        values = values[(0,) * (len(indexed_shape) - 1)]
    if method == "set" and not _unique_rows(index, x.shape):
        return _check_set_with_duplicates(x, index, values)
    expected = _at_reference(method, x, index, np.broadcast_to(values, indexed_shape))
    arrs, rebuild = _split_arrays(index) if traced_indices else ([], lambda ix: index)

    def f(a, v, *ix):
        return getattr(IndexUpdateHelper(a)[rebuild(ix)], method)(v)
    out = eager_and_staged(f, x, values, *arrs)
    assert_close(out, expected, err_msg=f"{method} at {index!r}")


def _check_set_with_duplicates(x, index, values):
    # Reference: NumPy assignment in index order, one element at a time.
    pos = np.arange(x.size).reshape(x.shape)[index]
    vals = np.broadcast_to(values, pos.shape)
    expected = x.copy().reshape(-1)
    for p, v in zip(pos.reshape(-1), vals.reshape(-1), strict=True):
        expected[p] = v
    out = eager_and_staged(lambda a, v: IndexUpdateHelper(a)[index].set(v), x, values)
    assert_close(out, expected.reshape(x.shape))


def test_at_duplicates_and_dtypes():
    x = Array(np.zeros(5, np.int32))
    idx = np.array([1, 3, 1, -1, 1])
    assert_close(x.at[idx].add(2), np.array([0, 6, 0, 2, 2], np.int32))
    assert_close(x.at[idx].set(np.arange(5)), np.array([0, 4, 0, 1, 3], np.int32))
    assert_close(x.at[0].set(2.7), np.array([2, 0, 0, 0, 0], np.int32))  # cast to x.dtype
    f32 = Array(np.ones(3, np.float32))
    out = f32.at[1].mul(np.float64(3.0))
    assert out.dtype == np.float32 and float(out[1]) == 3.0
    mask = np.array([True, False, True])
    assert_close(f32.at[mask].set(0.0), np.array([0, 1, 0], np.float32))
    assert_close(f32.at[1].divide(4.0), np.array([1, 0.25, 1], np.float32))
    # Unsigned and huge static indices.
    x4 = Array(np.arange(4.0))
    assert_close(x4[np.array([3, 1], np.uint64)], [3.0, 1.0])
    assert_close(x4.at[np.array([1, 9], np.uint32)].add(1.0), [0.0, 2.0, 2.0, 3.0])
    assert_close(x4.at[2 ** 70].set(1.0), np.arange(4.0))
    assert_close(x4.at[-2 ** 70].set(1.0), np.arange(4.0))


def test_at_out_of_bounds_updates_are_dropped():
    xn = np.arange(4.0)
    x = Array(xn)
    assert_close(x.at[10].set(9.0), xn)
    assert_close(x.at[-5].add(9.0), xn)
    assert_close(x.at[np.array([0, 7, -9])].add(1.0), xn + [1, 0, 0, 0])
    assert_close(x.at[np.array([0, 7, -9])].add(1.0, mode="clip"), xn + [2, 0, 0, 1])
    out = eager_and_staged(lambda a, i: IndexUpdateHelper(a)[i].set(-1.0), xn,
                           np.array([1, 4, -1], np.int32))
    assert_close(out, [0.0, -1.0, 2.0, -1.0])


def test_at_get_modes():
    xn = np.arange(4.0)
    x = Array(xn)
    idx = np.array([0, -1, 4, -5])
    assert_close(x.at[idx].get(), x[idx])
    assert_close(x.at[idx].get(mode="fill"), [0.0, 3.0, np.nan, np.nan])
    assert_close(x.at[idx].get(mode="fill", fill_value=-1.0), [0.0, 3.0, -1.0, -1.0])
    assert_close(x.at[idx].get(mode="clip"), [0.0, 3.0, 3.0, 0.0])
    assert_close(x.at[7].get(mode="fill"), np.nan)
    with pytest.raises(ValueError, match="mode must be one of"):
        x.at[0].get(mode="wrap")
    with pytest.raises(ValueError, match="mode must be one of"):
        x.at[0].set(1.0, mode="wrap")


def test_at_errors():
    x = Array(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"cannot broadcast updates of shape \(4,\) to the "
                                         r"indexed shape \(3,\)"):
        x.at[0].set(np.ones(4))
    with pytest.raises(TypeError, match="divide needs an inexact"):
        Array(np.zeros(3, np.int32)).at[0].divide(2)
    with pytest.raises(IndexError, match="too many indices"):
        x.at[0, 0, 0].set(1.0)


def test_at_leaves_input_unchanged():
    xn = np.arange(6.0)
    before = xn.copy()
    out = Array(xn).at[1:4].set(0.0)
    np.testing.assert_array_equal(xn, before)
    assert_close(out, [0.0, 0.0, 0.0, 0.0, 4.0, 5.0])


# ------------------------------------------------------- take & co
@st.composite
def take_cases(draw):
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple))
    axis = draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    n = int(np.prod(shape)) if axis is None else shape[axis]
    idx_shape = draw(st.lists(st.integers(0, 3), min_size=0, max_size=2).map(tuple))
    idx = draw(arrays(np.int64, idx_shape, min_value=-n - 2, max_value=n + 2))
    x = draw(arrays(draw(st.sampled_from([np.float64, np.int32])), shape))
    return x, idx, axis, n


@given(take_cases(), st.sampled_from(["clip", "wrap"]))
def test_take_numpy_modes(case, mode):
    x, idx, axis, _ = case
    out = eager_and_staged(lambda a, i: take(a, i, axis=axis, mode=mode), x, idx)
    assert_close(out, np.take(x, idx, axis=axis, mode=mode))


@given(take_cases())
def test_take_fill_mode(case):
    x, idx, axis, n = case
    out = eager_and_staged(lambda a, i: take(a, i, axis=axis, fill_value=-7), x, idx)
    valid = (idx >= -n) & (idx < n)
    expected = np.take(x, np.where(valid, idx, 0), axis=axis)
    ax = 0 if axis is None else axis % x.ndim
    mask = valid.reshape((1,) * ax + idx.shape + (1,) * (expected.ndim - ax - idx.ndim))
    assert_close(out, np.where(mask, expected, np.asarray(-7, x.dtype)))


def test_take_misc():
    x = np.arange(6.0).reshape(2, 3)
    assert_close(take(x, [1, -1]), [1.0, 5.0])
    assert_close(take(x, np.array([0, 5]), axis=1), [[0.0, np.nan], [3.0, np.nan]])
    assert_close(take(x, np.array([0, 2]), axis=1, mode="raise"), np.take(x, [0, 2], axis=1))
    with pytest.raises(IndexError, match="out of bounds"):
        take(x, np.array([3]), axis=1, mode="raise")
    with pytest.raises(TypeError, match="indices must be integers"):
        take(x, np.array([1.0]))
    with pytest.raises(ValueError, match="mode must be one of"):
        take(x, [0], mode="bogus")


@st.composite
def take_along_cases(draw):
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple))
    ndim = len(shape)
    axis = draw(st.integers(-ndim, ndim - 1))
    ax = axis % ndim
    # Indices broadcast against x on the other axes (either may be 1).
    idx_shape = tuple(draw(st.integers(0, 3)) if d == ax else draw(st.sampled_from([1, s]))
                      for d, s in enumerate(shape))
    x_shape = tuple(s if d == ax or idx_shape[d] == 1 else draw(st.sampled_from([1, s]))
                    for d, s in enumerate(shape))
    n = x_shape[ax]
    idx = draw(arrays(np.int64, idx_shape, min_value=-n, max_value=n - 1))
    x = draw(arrays(draw(st.sampled_from([np.float32, np.int64])), x_shape))
    return x, idx, axis


@given(take_along_cases(), st.booleans())
def test_take_along_axis_matches_numpy(case, traced):
    x, idx, axis = case
    if traced:
        out = eager_and_staged(lambda a, i: take_along_axis(a, i, axis), x, idx)
    else:
        out = eager_and_staged(lambda a: take_along_axis(a, idx, axis), x)
    assert_close(out, np.take_along_axis(x, idx, axis))


def test_take_along_axis_misc():
    x = np.array([[10.0, 30.0, 20.0], [60.0, 40.0, 50.0]])
    assert_close(take_along_axis(x, np.argsort(x, axis=1), 1), np.sort(x, axis=1))
    assert_close(take_along_axis(x, np.array([5, -1]), None), [50.0, 50.0])
    assert_close(take_along_axis(x, np.array([[3], [0]]), 1), [[np.nan], [60.0]])
    assert_close(take_along_axis(x, np.array([[3], [0]]), 1, mode="clip"), [[20.0], [60.0]])
    with pytest.raises(ValueError, match="same number of dimensions"):
        take_along_axis(x, np.array([0]), 1)
    with pytest.raises(ValueError, match="single dimension"):
        take_along_axis(x, np.zeros((1, 1), np.int64), None)
