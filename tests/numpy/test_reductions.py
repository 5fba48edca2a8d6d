"""funcgrad.numpy reductions against NumPy's functions of the same name:
axes (None, ints, negative, tuples), keepdims, dtypes and nan handling,
eagerly and staged through make_jaxpr/eval_jaxpr."""
import functools
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
import funcgrad.numpy as jnp
from funcgrad.numpy import reductions
from tests.util import assert_close, check_against_numpy, eager_and_staged

TABLE = settings(max_examples=max(4, settings.default.max_examples // 3))

F = [np.dtype(np.float32), np.dtype(np.float64)]
I = [np.dtype(np.int32), np.dtype(np.int64)]  # noqa: E741
B = [np.dtype(np.bool_)]
U = [np.dtype(np.uint8), np.dtype(np.int8)]
GROUPS = {"f": F, "i": I, "b": B, "u": U}


def quiet(fn):
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    return wrapped


def elements(dtype, nan=False):
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind in "iu":
        return st.integers(-9 if dtype.kind == "i" else 0, 9)
    finite = st.floats(-10, 10, width=dtype.itemsize * 8)
    return st.one_of(finite, st.just(np.nan)) if nan else finite


@st.composite
def reduction_args(draw, groups, axis_kind, min_side=1, nan=False, min_dims=0):
    dtype = draw(st.sampled_from([d for g in groups for d in GROUPS[g]]))
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=min_side, max_side=4))
    x = draw(hnp.arrays(dtype, shape, elements=elements(dtype, nan)))
    nd = x.ndim
    choices = [None]
    if nd and axis_kind in ("int", "tuple"):
        choices.append(draw(st.integers(-nd, nd - 1)))
    if nd and axis_kind == "tuple":
        axes = draw(st.lists(st.integers(0, nd - 1), unique=True, max_size=nd))
        choices.append(tuple(a - nd if draw(st.booleans()) else a for a in axes))
    axis = draw(st.sampled_from(choices))
    return x, axis


# name, axis kind, dtype groups, extra kwargs to try, allows empty, nan values
TABLE_CASES = [
    ("sum", "tuple", "fibu", [{}, {"dtype": np.float32}, {"initial": 5}], True, False),
    ("prod", "tuple", "fibu", [{}, {"dtype": np.int64}], True, False),
    ("mean", "tuple", "fib", [{}, {"dtype": np.float32}], True, False),
    ("var", "tuple", "fib", [{}, {"ddof": 1}], False, False),
    ("std", "tuple", "fib", [{}, {"ddof": 1}, {"correction": 1}], False, False),
    ("max", "tuple", "fib", [{}, {"initial": 3}], False, True),
    ("min", "tuple", "fib", [{}], False, True),
    ("amax", "tuple", "fi", [{}], False, False), ("amin", "tuple", "fi", [{}], False, False),
    ("ptp", "tuple", "fi", [{}], False, False),
    ("argmax", "int", "fib", [{}], False, True), ("argmin", "int", "fib", [{}], False, True),
    ("all", "tuple", "fib", [{}], True, False), ("any", "tuple", "fib", [{}], True, False),
    ("count_nonzero", "tuple", "fib", [{}], True, False),
    ("cumsum", "cum", "fibu", [{}, {"dtype": np.float64}], True, False),
    ("cumprod", "cum", "fib", [{}], True, False),
    ("nansum", "tuple", "fi", [{}], True, True), ("nanprod", "tuple", "fi", [{}], True, True),
    ("nanmean", "tuple", "fi", [{}], False, True),
    ("nanvar", "tuple", "fi", [{}, {"ddof": 1}], False, True),
    ("nanstd", "tuple", "fi", [{}], False, True),
    ("nanmax", "tuple", "fi", [{}], False, True), ("nanmin", "tuple", "fi", [{}], False, True),
    ("nancumsum", "cum", "fi", [{}], True, True), ("nancumprod", "cum", "fi", [{}], True, True),
    ("median", "tuple", "fib", [{}], False, True), ("nanmedian", "tuple", "fi", [{}], False, True),
]


@pytest.mark.parametrize("name,axis_kind,groups,variants,empty,nan", TABLE_CASES,
                         ids=[c[0] for c in TABLE_CASES])
@TABLE
@given(data=st.data())
def test_reduction_matches_numpy(name, axis_kind, groups, variants, empty, nan, data):
    x, axis = data.draw(reduction_args(groups, "int" if axis_kind == "cum" else axis_kind,
                                       min_side=0 if empty else 1, nan=nan))
    kwargs = dict(data.draw(st.sampled_from(variants)))
    if axis_kind != "cum":
        kwargs["keepdims"] = data.draw(st.booleans())
    if x.dtype == np.bool_ and name in ("var", "std", "sum", "prod") and "dtype" in kwargs:
        kwargs.pop("dtype")
    ours, ref = getattr(jnp, name), quiet(getattr(np, name))
    check_against_numpy(lambda x: ours(x, axis=axis, **kwargs),
                        lambda x: ref(x, axis=axis, **kwargs), x)


@TABLE
@given(data=st.data())
def test_nanargmax_nanargmin(data):
    x, axis = data.draw(reduction_args("f", "int", nan=True))
    nan_slices = np.all(np.isnan(x), axis=axis)
    assume(not np.any(nan_slices))
    for name in ["nanargmax", "nanargmin"]:
        check_against_numpy(lambda x: getattr(jnp, name)(x, axis=axis),
                            lambda x: getattr(np, name)(x, axis=axis), x)
    assert_close(jnp.nanargmax(np.array([[np.nan, np.nan], [1.0, np.nan]]), axis=1),
                 np.array([-1, 0]))


@pytest.mark.parametrize("name", ["cumulative_sum", "cumulative_prod"])
@pytest.mark.parametrize("include_initial", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.bool_])
def test_cumulative_array_api(name, include_initial, dtype):
    x = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    for axis in [0, 1, -1]:
        kw = {"axis": axis, "include_initial": include_initial}
        check_against_numpy(lambda x: getattr(jnp, name)(x, **kw),
                            lambda x: getattr(np, name)(x, **kw), x)
    v = x[0]
    check_against_numpy(lambda v: getattr(jnp, name)(v, include_initial=include_initial),
                        lambda v: getattr(np, name)(v, include_initial=include_initial), v)
    with pytest.raises(ValueError):
        getattr(jnp, name)(x)


# ---------------------------------------------------------- where masks
@pytest.mark.parametrize("name", ["sum", "prod", "mean", "var", "std", "all", "any", "max", "min",
                                  "nansum", "nanmean"])
def test_where_mask(name):
    x = np.array([[1.0, 2.0, np.nan if name.startswith("nan") else 3.0], [4.0, -5.0, 6.0]])
    mask = np.array([[True, False, True], [True, True, False]])
    kwargs = {"initial": 0.0} if name in ("max", "min") else {}
    for axis in [None, 0, -1]:
        check_against_numpy(lambda x, m: getattr(jnp, name)(x, axis=axis, where=m, **kwargs),
                            quiet(lambda x, m: getattr(np, name)(x, axis=axis, where=m, **kwargs)),
                            x, mask)
    row = np.array([True, False, True])  # broadcast against x
    check_against_numpy(lambda x: getattr(jnp, name)(x, axis=0, where=row, **kwargs),
                        quiet(lambda x: getattr(np, name)(x, axis=0, where=row, **kwargs)), x)


def test_reduction_errors():
    with pytest.raises(ValueError, match="zero-size"):
        jnp.max(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="initial"):
        jnp.max(np.ones(3), where=np.array([True, False, True]))
    with pytest.raises(ValueError, match="empty"):
        jnp.argmax(np.zeros(0))
    with pytest.raises(np.exceptions.AxisError):
        jnp.sum(np.ones((2, 3)), axis=2)
    with pytest.raises(ValueError, match="repeated"):
        jnp.sum(np.ones((2, 3)), axis=(1, -1))
    with pytest.raises(TypeError, match="immutable"):
        jnp.sum(np.ones(3), out=np.ones(()))
    with pytest.raises(TypeError):
        jnp.max(np.ones(3, np.complex128))
    with pytest.raises(ValueError):
        jnp.var(np.ones(3), ddof=1, correction=1)
    assert_close(jnp.max(np.zeros((0, 3)), axis=0, initial=-1.0), np.max(np.zeros((0, 3)), axis=0,
                                                                       initial=-1.0))


def test_dtype_rules():
    assert jnp.sum(np.ones(3, np.bool_)).dtype == np.int64
    assert jnp.sum(np.ones(3, np.int8)).dtype == np.int64
    assert jnp.sum(np.ones(3, np.uint16)).dtype == np.uint64
    assert jnp.sum(np.ones(3, np.float32)).dtype == np.float32
    assert jnp.mean(np.ones(3, np.int32)).dtype == np.float64
    assert jnp.mean(np.ones(3, np.float16)).dtype == np.float16
    assert jnp.var(np.ones(3, np.complex64)).dtype == np.float32
    assert jnp.cumsum(np.ones(3, np.int16)).dtype == np.int64
    z = np.array([[1 + 2j, 3 - 1j], [0.5j, 2]])
    check_against_numpy(lambda z: jnp.var(z, axis=0), lambda z: np.var(z, axis=0), z)
    check_against_numpy(lambda z: jnp.mean(z, axis=1), lambda z: np.mean(z, axis=1), z)
    check_against_numpy(lambda z: jnp.sum(z), np.sum, z)
    check_against_numpy(jnp.mean, np.mean, np.linspace(0, 1, 7).astype(np.float16))


def test_var_is_centred():
    x = 1e9 + np.array([1.0, 2.0, 3.0, 4.0])
    assert_close(jnp.var(x), 1.25, rtol=1e-9)
    assert_close(jnp.std(x, ddof=1), np.std(x, ddof=1), rtol=1e-9)
    mean = np.mean(x, keepdims=True)
    assert_close(jnp.var(x, mean=mean), np.var(x, mean=mean))


def test_methods_on_arrays_and_tracers():
    x = np.arange(12.0).reshape(3, 4) - 5
    a = jnp.asarray(x)
    for name in ["sum", "mean", "prod", "max", "min", "argmax", "argmin", "all", "any", "std",
                 "var", "cumsum", "cumprod", "ptp"]:
        assert_close(getattr(a, name)(), getattr(x, name)() if name != "ptp" else np.ptp(x))
        assert_close(getattr(a, name)(axis=-1), getattr(np, name)(x, axis=-1))
    out = eager_and_staged(lambda t: t.sum(axis=0) + t.mean(axis=1).max(), x)
    assert_close(out, x.sum(axis=0) + x.mean(axis=1).max())


# ------------------------------------------------------------ average
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_average(dtype, axis, keepdims):
    x = (np.arange(12).reshape(3, 4) - 4).astype(dtype)
    w_full = (np.arange(12).reshape(3, 4) % 5 + 1).astype(dtype)
    check_against_numpy(lambda x: jnp.average(x, axis=axis, keepdims=keepdims),
                        lambda x: np.average(x, axis=axis, keepdims=keepdims), x)
    check_against_numpy(lambda x, w: jnp.average(x, axis=axis, weights=w, keepdims=keepdims),
                        lambda x, w: np.average(x, axis=axis, weights=w, keepdims=keepdims),
                        x, w_full)
    out = eager_and_staged(lambda x, w: jnp.average(x, axis, w, returned=True, keepdims=keepdims),
                           x, w_full)
    expected = np.average(x, axis, w_full, returned=True, keepdims=keepdims)
    assert_close(out[0], expected[0])
    assert_close(out[1], expected[1])
    if isinstance(axis, int):
        w1 = np.arange(1, x.shape[axis] + 1).astype(np.float32)
        check_against_numpy(lambda x, w: jnp.average(x, axis=axis, weights=w),
                            lambda x, w: np.average(x, axis=axis, weights=w), x, w1)


def test_average_errors():
    with pytest.raises(ZeroDivisionError):
        jnp.average(np.ones(3), weights=np.zeros(3))
    with pytest.raises(TypeError):
        jnp.average(np.ones((2, 3)), weights=np.ones(3))
    with pytest.raises(ValueError):
        jnp.average(np.ones((2, 3)), axis=0, weights=np.ones(3))
    out = jnp.average(np.ones(3), returned=True)
    assert_close(out[1], np.average(np.ones(3), returned=True)[1])


# ------------------------------------------------------------ quantiles
@pytest.mark.parametrize("method", ["linear", "lower", "higher", "midpoint", "nearest"])
@TABLE
@given(data=st.data())
def test_quantile_percentile(method, data):
    x, axis = data.draw(reduction_args("fi", "tuple", nan=data.draw(st.booleans())))
    q_kind = data.draw(st.sampled_from(["scalar", "array", "int"]))
    if q_kind == "scalar":
        q = data.draw(st.floats(0, 1))
    elif q_kind == "int":
        q = data.draw(st.sampled_from([0, 1]))
    else:
        q = data.draw(hnp.arrays(np.float64, data.draw(st.sampled_from([(1,), (3,), (2, 2)])),
                                 elements=st.floats(0, 1)))
    keepdims = data.draw(st.booleans())
    # NumPy's nan-ignoring forms special-case all-nan slices (result in the
    # input's dtype) and misplace the axes of a 2-d q (or with axis=()).
    nan_forms_comparable = axis != () and np.ndim(q) < 2 and not (
        x.dtype.kind == "f" and np.any(np.all(np.isnan(x), axis=axis)))
    for ours, ref, scale in [(jnp.quantile, np.quantile, 1), (jnp.percentile, np.percentile, 100),
                             (jnp.nanquantile, np.nanquantile, 1),
                             (jnp.nanpercentile, np.nanpercentile, 100)]:
        if ours.__name__.startswith("nan") and not nan_forms_comparable:
            continue
        qq = q * scale
        check_against_numpy(
            lambda x: ours(x, qq, axis=axis, method=method, keepdims=keepdims),
            quiet(lambda x: ref(x, qq, axis=axis, method=method, keepdims=keepdims)), x)


def test_quantile_traced_q_and_errors():
    x = np.array([[3.0, 1.0, 4.0, 1.5], [9.0, 2.0, 6.0, 5.0]])
    check_against_numpy(lambda x, q: jnp.quantile(x, q, axis=1),
                        lambda x, q: np.quantile(x, q, axis=1), x, np.array([0.1, 0.5, 1.0]))
    check_against_numpy(lambda x, q: jnp.nanpercentile(x, q, axis=0),
                        lambda x, q: np.nanpercentile(x, q, axis=0), x, 30.0)
    with pytest.raises(ValueError, match="Quantiles"):
        jnp.quantile(x, 1.5)
    with pytest.raises(ValueError, match="Percentiles"):
        jnp.percentile(x, -1)
    with pytest.raises(TypeError):
        jnp.quantile(x.astype(complex), 0.5)
    with pytest.raises(NotImplementedError):
        jnp.quantile(x, 0.5, method="inverted_cdf")
    all_nan = np.array([[np.nan, np.nan], [1.0, np.nan]])
    assert_close(jnp.nanmedian(all_nan, axis=1), quiet(np.nanmedian)(all_nan, axis=1))
    assert_close(jnp.nanquantile(all_nan, 0.3, axis=1), quiet(np.nanquantile)(all_nan, 0.3, axis=1))
    assert_close(jnp.median(np.zeros((2, 0)), axis=1), quiet(np.median)(np.zeros((2, 0)), axis=1))


def test_reductions_stage_without_constants():
    closed = funcgrad.make_jaxpr(lambda x: jnp.mean(x, axis=0) + jnp.var(x))(np.ones((3, 4)))
    assert not closed.consts


def test_docstring_examples():
    import doctest
    for module in (reductions,):
        result = doctest.testmod(module, extraglobs={"jnp": jnp, "np": np},
                                 optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, f"{result.failed} docstring examples of {module.__name__} failed"
        assert result.attempted > 0
