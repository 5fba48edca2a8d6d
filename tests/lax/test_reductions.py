"""lax reductions, arg-reductions, cumulative reductions and sorting vs NumPy."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
from funcgrad import lax
from tests.util import FLOAT_DTYPES, INT_DTYPES, arrays, assert_close, check_against_numpy, shapes

NUMBER_DTYPES = FLOAT_DTYPES + INT_DTYPES
ORDERED_DTYPES = NUMBER_DTYPES + [np.dtype(np.bool_)]



def tied_arrays(dtype, shape, nan=False):
    """Few distinct values, so ties (and NaNs if asked) are common."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        values = [False, True]
    elif dtype.kind == "f":
        values = [-2.0, -0.5, 0.0, 1.0, 3.0] + ([np.nan] if nan else [])
    else:
        values = [-2, 0, 1, 3] if dtype.kind == "i" else [0, 1, 3]
    return hnp.arrays(dtype, shape, elements=st.sampled_from(values).map(dtype.type))


@st.composite
def array_and_axes(draw, dtypes, min_side=1, max_value=10, elements=None):
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(shapes(min_dims=0, max_dims=3, min_side=min_side))
    x = draw(elements(dtype, shape) if elements else
             arrays(dtype, shape, min_value=-max_value, max_value=max_value))
    axes = draw(st.lists(st.integers(0, max(x.ndim - 1, 0)), unique=True, max_size=x.ndim)
                if x.ndim else st.just([]))
    # Mix negative spellings of the axes in.
    axes = tuple(draw(st.sampled_from([a, a - x.ndim])) for a in axes)
    return x, axes


# ------------------------------------------------------------- reductions
@given(array_and_axes(NUMBER_DTYPES, min_side=0))
def test_reduce_sum(args):
    x, axes = args
    check_against_numpy(lambda a: lax.reduce_sum(a, axes),
                        lambda a: np.sum(a, axis=axes, dtype=a.dtype), x)


@given(array_and_axes(NUMBER_DTYPES, min_side=0, max_value=2))
def test_reduce_prod(args):
    x, axes = args
    check_against_numpy(lambda a: lax.reduce_prod(a, axes),
                        lambda a: np.prod(a, axis=axes, dtype=a.dtype), x)


@pytest.mark.parametrize("op, ref", [(lax.reduce_max, np.max), (lax.reduce_min, np.min)])
@given(args=array_and_axes(ORDERED_DTYPES, elements=lambda d, s: tied_arrays(d, s, nan=True)))
def test_reduce_max_min(op, ref, args):
    x, axes = args
    check_against_numpy(lambda a: op(a, axes), lambda a: ref(a, axis=axes), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_])
def test_empty_reductions_give_identities(dtype):
    x = np.zeros((2, 0, 3), dtype)
    dt = np.dtype(dtype)
    lowest = {"f": -np.inf, "b": False}.get(dt.kind, np.iinfo(dt).min if dt.kind in "iu" else 0)
    highest = {"f": np.inf, "b": True}.get(dt.kind, np.iinfo(dt).max if dt.kind in "iu" else 0)
    expected = {lax.reduce_max: lowest, lax.reduce_min: highest}
    if dt.kind != "b":
        expected.update({lax.reduce_sum: 0, lax.reduce_prod: 1})
    if dt.kind not in "f":
        expected.update({lax.reduce_and: -1 if dt.kind == "i" else highest,
                         lax.reduce_or: 0 if dt.kind != "b" else False})
    for op, value in expected.items():
        for axes in [(1,), (0, 1), (-2, 2)]:
            ref_shape = tuple(s for i, s in enumerate(x.shape) if i not in {a % 3 for a in axes})
            check_against_numpy(lambda a: op(a, axes),
                                lambda a: np.full(ref_shape, value, dtype), x)


@given(array_and_axes([np.dtype(np.bool_)]))
def test_reduce_and_or_bool(args):
    x, axes = args
    check_against_numpy(lambda a: lax.reduce_and(a, axes), lambda a: np.all(a, axis=axes), x)
    check_against_numpy(lambda a: lax.reduce_or(a, axes), lambda a: np.any(a, axis=axes), x)


@given(array_and_axes(INT_DTYPES + [np.dtype(np.uint8)], max_value=1000))
def test_reduce_and_or_bitwise(args):
    x, axes = args

    def reference(ufunc):
        # A loop over the reduced elements, independent of ufunc.reduce(axis=tuple).
        def ref(a):
            moved = np.moveaxis(a, [ax % a.ndim for ax in axes] if a.ndim else [],
                                list(range(len(axes))))
            flat = moved.reshape((-1,) + moved.shape[len(axes):])
            out = flat[0].copy()
            for row in flat[1:]:
                out = ufunc(out, row)
            return out
        return ref

    check_against_numpy(lambda a: lax.reduce_and(a, axes), reference(np.bitwise_and), x)
    check_against_numpy(lambda a: lax.reduce_or(a, axes), reference(np.bitwise_or), x)


def test_reduce_scalar_inputs_and_weak_type():
    out = check_against_numpy(lambda a: lax.reduce_sum(a, ()), lambda a: np.asarray(a), 2.5)
    assert out.weak_type
    x = np.float32([1, 2])
    assert check_against_numpy(lambda a: lax.reduce_max(a, 0), np.max, x).dtype == np.float32


def test_reduce_errors():
    x = np.ones((2, 3))
    with pytest.raises(TypeError, match=r"reduce_sum does not accept dtype bool"):
        lax.reduce_sum(np.ones(3, bool), (0,))
    with pytest.raises(TypeError, match=r"reduce_prod does not accept dtype bool"):
        funcgrad.make_jaxpr(lambda a: lax.reduce_prod(a, (0,)))(np.ones(3, bool))
    with pytest.raises(TypeError, match=r"reduce_and does not accept dtype float64"):
        lax.reduce_and(x, (0,))
    with pytest.raises(ValueError, match=r"reduce_max: axis 2 is out of bounds .* rank 2"):
        lax.reduce_max(x, (2,))
    with pytest.raises(ValueError, match=r"reduce_min: axis -3 is out of bounds"):
        lax.reduce_min(x, (-3,))
    with pytest.raises(ValueError, match=r"reduce_sum: repeated axis"):
        lax.reduce_sum(x, (1, -1))
    with pytest.raises(TypeError, match=r"reduce_sum: axis must be an int, got float"):
        lax.reduce_sum(x, (1.0,))
    # Non-canonical parameters bound directly are caught by the shape rule.
    with pytest.raises(TypeError, match=r"reduce_sum: axes must be a sorted tuple"):
        funcgrad.make_jaxpr(lambda a: lax.reduce_sum_p.bind(a, axes=(1, 0)))(x)
    with pytest.raises(ValueError, match=r"reduce_sum: axes \(2,\) out of range .*f64\[2,3\]"):
        funcgrad.make_jaxpr(lambda a: lax.reduce_sum_p.bind(a, axes=(2,)))(x)


# ---------------------------------------------------------- arg-reductions
@st.composite
def array_and_axis(draw, dtypes, min_dims=1, min_side=1, elements=None):
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(shapes(min_dims=min_dims, max_dims=3, min_side=min_side))
    x = draw(elements(dtype, shape) if elements else arrays(dtype, shape))
    axis = draw(st.integers(-x.ndim, x.ndim - 1)) if x.ndim else 0
    return x, axis


@pytest.mark.parametrize("op, ref", [(lax.argmax, np.argmax), (lax.argmin, np.argmin)])
@given(args=array_and_axis(ORDERED_DTYPES, elements=lambda d, s: tied_arrays(d, s, nan=True)),
       index_dtype=st.sampled_from([np.int32, np.int64]))
def test_argmax_argmin(op, ref, args, index_dtype):
    x, axis = args
    check_against_numpy(lambda a: op(a, axis, index_dtype),
                        lambda a: ref(a, axis=axis).astype(index_dtype), x)


def test_argmax_nan_and_ties_by_hand():
    x = np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 5.0, 5.0, 0.0]])
    assert_close(lax.argmax(x, 1), np.array([1, 1]))
    assert_close(lax.argmin(x, 1), np.array([1, 3]))
    assert_close(lax.argmin(x, 0, np.int32), np.array([0, 0, 0, 0], np.int32))


def test_argmax_errors():
    with pytest.raises(ValueError, match=r"argmax: cannot reduce over axis 1 of size zero"):
        funcgrad.make_jaxpr(lambda a: lax.argmax(a, 1))(np.ones((2, 0)))
    with pytest.raises(ValueError, match=r"argmin: cannot reduce .* size zero"):
        lax.argmin(np.ones((0,)), 0)
    with pytest.raises(TypeError, match=r"argmax: index_dtype must be an integer dtype"):
        lax.argmax(np.ones(3), 0, np.float32)
    with pytest.raises(ValueError, match=r"argmax: axis 1 is out of bounds .* rank 1"):
        lax.argmax(np.ones(3), 1)
    with pytest.raises(TypeError, match=r"argmax: axes must be a 1-tuple"):
        lax.argmax_p.bind(np.ones((2, 2)), axes=(0, 1), index_dtype=np.dtype(np.int64))
    with pytest.raises(TypeError, match=r"argmin does not accept dtype complex128"):
        lax.argmin(np.ones(3, complex), 0)


# ------------------------------------------------------ cumulative reductions
def _with_reverse(ref, axis, reverse):
    def f(a):
        if not reverse:
            return ref(a, axis=axis)
        return np.flip(ref(np.flip(a, axis), axis=axis), axis)
    return f


CUMULATIVE = [
    (lax.cumsum, lambda a, axis: np.cumsum(a, axis=axis, dtype=a.dtype), NUMBER_DTYPES, 10),
    (lax.cumprod, lambda a, axis: np.cumprod(a, axis=axis, dtype=a.dtype), NUMBER_DTYPES, 2),
    (lax.cummax, lambda a, axis: np.maximum.accumulate(a, axis=axis), ORDERED_DTYPES, 10),
    (lax.cummin, lambda a, axis: np.minimum.accumulate(a, axis=axis), ORDERED_DTYPES, 10),
    (lax.cumlogsumexp, lambda a, axis: np.logaddexp.accumulate(a, axis=axis), FLOAT_DTYPES, 50),
]


@pytest.mark.parametrize("op, ref, dtypes, bound", CUMULATIVE,
                         ids=[c[0].__name__ for c in CUMULATIVE])
@given(data=st.data())
def test_cumulative(op, ref, dtypes, bound, data):
    dtype = data.draw(st.sampled_from(dtypes))
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=0))
    x = data.draw(arrays(dtype, shape, min_value=-bound, max_value=bound))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    reverse = data.draw(st.booleans())
    check_against_numpy(lambda a: op(a, axis, reverse), _with_reverse(ref, axis, reverse), x)


@pytest.mark.parametrize("op, ref", [(lax.cummax, np.maximum.accumulate),
                                     (lax.cummin, np.minimum.accumulate)])
def test_cummax_cummin_propagate_nan(op, ref):
    x = np.array([1.0, np.nan, 3.0, -1.0])
    check_against_numpy(lambda a: op(a), ref, x)
    assert np.isnan(np.asarray(op(x))[1:]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cumlogsumexp_is_stable(dtype):
    big = 80.0 if dtype == np.float32 else 700.0  # exp(big) overflows
    x = np.full((3, 5), big, dtype)
    expected = (big + np.log(np.arange(1, 6))).astype(dtype)
    out = check_against_numpy(lambda a: lax.cumlogsumexp(a, axis=1),
                              lambda a: np.broadcast_to(expected, a.shape), x)
    assert np.isfinite(np.asarray(out)).all()
    out = lax.cumlogsumexp(np.array([-np.inf, -np.inf, 0.0], dtype), reverse=True)
    assert_close(out, np.array([0.0, 0.0, 0.0], dtype))


def test_cumulative_errors():
    with pytest.raises(ValueError, match=r"cumsum: axis 1 is out of bounds .* rank 1"):
        lax.cumsum(np.ones(3), axis=1)
    with pytest.raises(ValueError, match=r"cummax: axis 0 is out of bounds .* rank 0"):
        lax.cummax(1.0)
    with pytest.raises(TypeError, match=r"cumlogsumexp does not accept dtype int64"):
        lax.cumlogsumexp(np.arange(3))
    with pytest.raises(TypeError, match=r"cumsum does not accept dtype bool"):
        lax.cumsum(np.ones(3, bool))
    with pytest.raises(ValueError, match=r"cumprod: axis 2 .* f64\[3\]"):
        funcgrad.make_jaxpr(lambda a: lax.cumprod_p.bind(a, axis=2, reverse=False))(np.ones(3))


# ----------------------------------------------------------------- sorting
@given(args=array_and_axis(ORDERED_DTYPES, min_side=0,
                           elements=lambda d, s: tied_arrays(d, s, nan=True)))
def test_sort_single(args):
    x, axis = args
    check_against_numpy(lambda a: lax.sort(a, dimension=axis), lambda a: np.sort(a, axis=axis), x)


@given(data=st.data())
def test_sort_multiple_operands(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=0))
    n = data.draw(st.integers(1, 3))
    operands = tuple(data.draw(tied_arrays(data.draw(st.sampled_from(ORDERED_DTYPES)), shape,
                                           nan=True)) for _ in range(n))
    num_keys = data.draw(st.integers(1, n))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))

    def reference(*ops):
        # np.lexsort: primary key last; it is stable and sorts NaN last.
        perm = np.lexsort(ops[:num_keys][::-1], axis=axis)
        return tuple(np.take_along_axis(o, perm, axis=axis) for o in ops)

    out = check_against_numpy(lambda *ops: lax.sort(ops, dimension=axis, num_keys=num_keys),
                              reference, *operands)
    assert isinstance(out, tuple) and len(out) == n


@given(data=st.data())
def test_sort_key_val(data):
    shape = data.draw(shapes(min_dims=1, max_dims=2))
    keys = data.draw(tied_arrays(np.float64, shape, nan=True))
    values = data.draw(arrays(np.int32, shape))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))

    def reference(k, v):
        perm = np.argsort(k, axis=axis, kind="stable")
        return np.take_along_axis(k, perm, axis), np.take_along_axis(v, perm, axis)

    check_against_numpy(lambda k, v: lax.sort_key_val(k, v, dimension=axis), reference,
                        keys, values)


def test_sort_list_input_returns_tuple_and_complex():
    k = np.array([1 + 1j, 1 - 1j, 0j])
    out = lax.sort([k, np.arange(3)])
    assert isinstance(out, tuple)
    assert_close(out[1], np.array([2, 1, 0]))


def test_sort_errors():
    with pytest.raises(TypeError, match=r"sort operands must all have the same shape, got "
                                        r"f64\[3\], f64\[4\]"):
        lax.sort((np.ones(3), np.ones(4)))
    with pytest.raises(ValueError, match=r"sort: num_keys=3 must be between 1 and .* \(2\)"):
        lax.sort((np.ones(3), np.ones(3)), num_keys=3)
    with pytest.raises(ValueError, match=r"sort: dimension -1 is out of bounds .* rank 0"):
        lax.sort(np.float64(1.0))
    with pytest.raises(ValueError, match=r"sort: dimension 1 is out of range .* \(3,\)"):
        funcgrad.make_jaxpr(lambda a: lax.sort_p.bind(a, dimension=1, is_stable=True,
                                                      num_keys=1))(np.ones(3))
    with pytest.raises(TypeError, match=r"sort requires at least one operand"):
        lax.sort(())


@given(args=array_and_axis(ORDERED_DTYPES, min_side=0,
                           elements=lambda d, s: tied_arrays(d, s, nan=True)))
def test_argsort(args):
    x, axis = args
    check_against_numpy(lambda a: lax.argsort(a, dimension=axis),
                        lambda a: np.argsort(a, axis=axis, kind="stable"), x)


def _top_k_reference(k):
    def ref(a):
        rows = a.reshape(-1, a.shape[-1]) if a.shape[-1] else np.zeros((a.size, 0), a.dtype)
        idx = []
        for row in rows.reshape(-1, a.shape[-1]):
            # Descending, NaN first (largest), ties by increasing index.
            order = sorted(range(len(row)), key=lambda i: (
                0 if np.isnan(float(row[i])) else 1,
                0 if np.isnan(float(row[i])) else -float(row[i]), i))
            idx.append(order[:k])
        idx = np.array(idx, np.int32).reshape(a.shape[:-1] + (k,))
        return np.take_along_axis(a, idx.astype(np.int64), axis=-1), idx
    return ref


@given(data=st.data())
def test_top_k(data):
    dtype = data.draw(st.sampled_from(ORDERED_DTYPES))
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    x = data.draw(tied_arrays(dtype, shape, nan=True))
    k = data.draw(st.integers(0, shape[-1]))
    check_against_numpy(lambda a: lax.top_k(a, k), _top_k_reference(k), x)


def test_top_k_errors():
    with pytest.raises(ValueError, match=r"top_k: k=4 must be between 0 and .* f64\[2,3\]"):
        lax.top_k(np.ones((2, 3)), 4)
    with pytest.raises(TypeError, match=r"top_k requires an operand of rank >= 1"):
        lax.top_k(1.0, 1)
