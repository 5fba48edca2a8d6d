"""Shape lax primitives against NumPy references, eagerly and staged through
make_jaxpr/eval_jaxpr, plus their error messages."""
import itertools

import numpy as np
import pytest
from hypothesis import given, strategies as st

from funcgrad import lax, make_jaxpr
from funcgrad.core.array import Array
from tests.util import arrays, assert_close, check_against_numpy, eager_and_staged, shapes

DTYPES = [np.float32, np.float64, np.int32, np.bool_]


@st.composite
def operands(draw, min_dims=0, max_dims=3, min_side=1, max_side=4):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(shapes(min_dims, max_dims, min_side, max_side))
    return draw(arrays(dtype, shape))


@st.composite
def axes_subset(draw, ndim, negative=True):
    """A subset of the axes of an ``ndim``-array, some spelled negatively."""
    axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)) if ndim else []
    if negative:
        axes = [a - ndim if draw(st.booleans()) else a for a in axes]
    return tuple(axes)


def both_raise(f, *args, exc=(TypeError, ValueError, IndexError), match=None):
    """``f(*args)`` raises eagerly and while staging, with the same message."""
    with pytest.raises(exc, match=match):
        f(*args)
    with pytest.raises(exc, match=match):
        make_jaxpr(f)(*args)


# ------------------------------------------------------ broadcast_in_dim
@given(data=st.data())
def test_broadcast_in_dim(data):
    x = data.draw(operands())
    extra = data.draw(st.integers(0, 2))
    out_ndim = x.ndim + extra
    bd = tuple(sorted(data.draw(st.permutations(range(out_ndim)))[:x.ndim]))
    out_shape = [data.draw(st.integers(1, 3)) for _ in range(out_ndim)]
    for i, d in enumerate(bd):
        # A size-1 operand dimension may grow; others keep their size.
        out_shape[d] = data.draw(st.integers(1, 3)) if x.shape[i] == 1 else x.shape[i]
    out_shape = tuple(out_shape)
    new_axes = tuple(d for d in range(out_ndim) if d not in bd)
    check_against_numpy(lambda x: lax.broadcast_in_dim(x, out_shape, bd),
                        lambda x: np.broadcast_to(np.expand_dims(x, new_axes), out_shape), x)


@given(x=operands(max_dims=2), sizes=shapes(0, 2))
def test_broadcast(x, sizes):
    check_against_numpy(lambda x: lax.broadcast(x, sizes),
                        lambda x: np.broadcast_to(x, sizes + x.shape), x)


@given(shape=shapes(0, 3), dtype=st.sampled_from(DTYPES + [None]),
       fill=st.sampled_from([0, 1, -2.5, True]))
def test_full(shape, dtype, fill):
    out = eager_and_staged(lambda: lax.full(shape, fill, dtype))
    expected = np.full(shape, fill, dtype=dtype if dtype is not None else type(fill))
    if dtype is not None and np.dtype(dtype).kind in "iu":
        expected = np.full(shape, np.trunc(fill), dtype=dtype)  # float -> int truncates
    assert_close(out, expected)
    assert out.weak_type == (dtype is None and not isinstance(fill, bool))


@given(x=operands(), dtype=st.sampled_from(DTYPES + [None]), shape=st.none() | shapes(0, 2))
def test_full_like_and_zeros_like(x, dtype, shape):
    out = eager_and_staged(lambda x: lax.full_like(x, 3, dtype, shape), x)
    assert_close(out, np.full_like(x, 3, dtype=dtype, shape=shape))
    assert not out.weak_type
    assert_close(eager_and_staged(lax.zeros_like_array, x), np.zeros_like(x))


def test_full_weak_types():
    assert lax.full((2,), 1.0).weak_type
    assert not lax.full((2,), 1.0, np.float32).weak_type
    assert lax.full_like(lax.full((2,), 1.0), 2).weak_type
    assert lax.full_like(1.0, 2, shape=(3,)).dtype == np.float64
    assert lax.zeros_like_array(np.ones(3, np.float32)).dtype == np.float32


def test_broadcast_result_is_not_a_view_of_a_writable_input():
    x = np.ones(3)
    outs = [lax.broadcast_in_dim(x, (2, 3), (1,)), lax.reshape(x, (3, 1)), lax.rev(x, (0,)),
            lax.slice(x, (0,), (2,)), lax.expand_dims(x, (0,)), lax.transpose(x, (0,))]
    x[:] = 5.0
    for out in outs:
        assert np.all(np.asarray(out) == 1.0)
    assert x.flags.writeable  # the caller's array was not frozen either


# ------------------------------------------------------------ reshape
@st.composite
def merged_shape(draw, shape):
    """A shape of the same size: a permutation of ``shape`` with random
    neighbours merged."""
    dims = list(draw(st.permutations(shape)))
    out = []
    for d in dims:
        if out and draw(st.booleans()):
            out[-1] *= d
        else:
            out.append(d)
    return tuple(out)


@given(data=st.data())
def test_reshape(data):
    x = data.draw(operands())
    new_sizes = data.draw(merged_shape(x.shape))
    check_against_numpy(lambda x: lax.reshape(x, new_sizes),
                        lambda x: np.reshape(x, new_sizes), x)
    dims = tuple(data.draw(st.permutations(range(x.ndim))))
    check_against_numpy(lambda x: lax.reshape(x, new_sizes, dims),
                        lambda x: np.reshape(np.transpose(x, dims), new_sizes), x)


def test_reshape_identity_and_scalar():
    a = lax.full((2, 3), 1.0)
    assert lax.reshape(a, (2, 3)) is a
    check_against_numpy(lambda x: lax.reshape(x, (1, 1)), lambda x: np.reshape(x, (1, 1)), 2.5)
    check_against_numpy(lambda x: lax.reshape(x, ()), lambda x: x.reshape(()), np.ones((1, 1)))
    check_against_numpy(lambda x: lax.reshape(x, (0, 3)), lambda x: x.reshape(0, 3),
                        np.ones((3, 0)))


# ---------------------------------------------------- transpose, rev
@given(data=st.data())
def test_transpose(data):
    x = data.draw(operands())
    perm = tuple(data.draw(st.permutations(range(x.ndim))))
    check_against_numpy(lambda x: lax.transpose(x, perm), lambda x: np.transpose(x, perm), x)


@given(data=st.data())
def test_rev(data):
    x = data.draw(operands())
    dims = data.draw(axes_subset(x.ndim))
    check_against_numpy(lambda x: lax.rev(x, dims), lambda x: np.flip(x, axis=dims), x)


# -------------------------------------------------- squeeze, expand_dims
@given(data=st.data())
def test_squeeze(data):
    shape = data.draw(shapes(0, 4, 1, 3))
    x = data.draw(arrays(data.draw(st.sampled_from(DTYPES)), shape))
    ones = [i for i, s in enumerate(shape) if s == 1]
    dims = tuple(d - x.ndim if data.draw(st.booleans()) else d
                 for d in data.draw(st.lists(st.sampled_from(ones), unique=True))) if ones else ()
    check_against_numpy(lambda x: lax.squeeze(x, dims), lambda x: np.squeeze(x, axis=dims), x)


@given(data=st.data())
def test_expand_dims(data):
    x = data.draw(operands())
    n_new = data.draw(st.integers(0, 2))
    out_ndim = x.ndim + n_new
    dims = tuple(d - out_ndim if data.draw(st.booleans()) else d
                 for d in data.draw(st.permutations(range(out_ndim)))[:n_new])
    check_against_numpy(lambda x: lax.expand_dims(x, dims),
                        lambda x: np.expand_dims(x, dims), x)


# ------------------------------------------------------------ concatenate
@given(data=st.data())
def test_concatenate(data):
    dtype = data.draw(st.sampled_from(DTYPES))
    shape = data.draw(shapes(1, 3))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    xs = []
    for _ in range(data.draw(st.integers(1, 3))):
        s = list(shape)
        s[dim] = data.draw(st.integers(0, 3))
        xs.append(data.draw(arrays(dtype, tuple(s))))
    check_against_numpy(lambda *xs: lax.concatenate(xs, dim),
                        lambda *xs: np.concatenate(xs, axis=dim), *xs)


# ------------------------------------------------------------ pad
def pad_reference(x, value, config):
    """Element by element: output position ``o`` along a dimension holds
    input element ``(o - low) / (interior + 1)`` when that is a whole index."""
    out_shape = tuple(lo + hi + n + max(n - 1, 0) * it for n, (lo, hi, it) in zip(x.shape, config))
    out = np.empty(out_shape, x.dtype)
    for o in itertools.product(*map(range, out_shape)):
        src = []
        for k, (lo, _, it) in zip(o, config):
            q, r = divmod(k - lo, it + 1)
            src.append(q if r == 0 else -1)
        inside = all(0 <= q < n for q, n in zip(src, x.shape))
        out[o] = x[tuple(src)] if inside else value
    return out


@st.composite
def pad_configs(draw, shape):
    config = []
    for n in shape:
        it = draw(st.integers(0, 2))
        full = n + max(n - 1, 0) * it
        lo = draw(st.integers(-full - 1, 3))
        hi = draw(st.integers(max(-full - lo, -3), 3))  # keep the result size >= 0
        config.append((lo, hi, it))
    return tuple(config)


@given(data=st.data())
def test_pad(data):
    x = data.draw(operands(max_side=3))
    value = data.draw(arrays(x.dtype, ()))
    config = data.draw(pad_configs(x.shape))
    check_against_numpy(lambda x, v: lax.pad(x, v, config),
                        lambda x, v: pad_reference(x, v, config), x, value)


def test_pad_python_scalar_adapts():
    out = eager_and_staged(lambda x: lax.pad(x, 0, [(1, 1, 1)]), np.ones(2, np.float32))
    assert_close(out, np.array([0, 1, 0, 1, 0], np.float32))
    assert_close(lax.pad(np.arange(4), -1, [(-2, -1, 0)]), np.array([2]))


# ------------------------------------------------------------ slice
@st.composite
def slice_params(draw, shape):
    starts, limits, strides = [], [], []
    for n in shape:
        a, b = sorted(draw(st.lists(st.integers(0, n), min_size=2, max_size=2)))
        starts.append(a)
        limits.append(b)
        strides.append(draw(st.integers(1, 3)))
    return tuple(starts), tuple(limits), tuple(strides)


@given(data=st.data())
def test_slice(data):
    x = data.draw(operands())
    starts, limits, strides = data.draw(slice_params(x.shape))
    ref = lambda x: x[tuple(slice(*t) for t in zip(starts, limits, strides))]  # noqa: E731
    check_against_numpy(lambda x: lax.slice(x, starts, limits, strides), ref, x)
    ref1 = lambda x: x[tuple(slice(a, b) for a, b in zip(starts, limits))]  # noqa: E731
    check_against_numpy(lambda x: lax.slice(x, starts, limits), ref1, x)


@given(data=st.data())
def test_slice_in_dim_and_index_in_dim(data):
    x = data.draw(operands(min_dims=1))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    n = x.shape[axis]
    start = data.draw(st.none() | st.integers(-n, n))
    limit = data.draw(st.none() | st.integers(-n, n))
    python_start = 0 if start is None else start % n if start < 0 else start
    python_limit = n if limit is None else limit % n if limit < 0 else limit
    if python_start <= python_limit:
        stride = data.draw(st.integers(1, 2))
        check_against_numpy(lambda x: lax.slice_in_dim(x, start, limit, stride, axis),
                            lambda x: np.moveaxis(np.moveaxis(x, axis, 0)[start:limit:stride],
                                                  0, axis), x)
    index = data.draw(st.integers(-n, n - 1))
    keepdims = data.draw(st.booleans())
    check_against_numpy(lambda x: lax.index_in_dim(x, index, axis, keepdims),
                        lambda x: np.take(x, [index] if keepdims else index, axis=axis), x)


# ------------------------------------------------------- dynamic slicing
def clamp_start(s, n, size, allow_negative=True):
    if allow_negative and s < 0:
        s += n
    return min(max(s, 0), n - size)


def dynamic_slice_reference(x, starts, sizes, allow_negative=True):
    lo = [clamp_start(int(s), n, k, allow_negative) for s, n, k in zip(starts, x.shape, sizes)]
    out = np.empty(sizes, x.dtype)
    for o in itertools.product(*map(range, sizes)):
        out[o] = x[tuple(a + b for a, b in zip(lo, o))]
    return out


def dynamic_update_reference(x, update, starts, allow_negative=True):
    lo = [clamp_start(int(s), n, k, allow_negative) for s, n, k in zip(starts, x.shape, update.shape)]
    out = x.copy()
    for o in itertools.product(*map(range, update.shape)):
        out[tuple(a + b for a, b in zip(lo, o))] = update[o]
    return out


# A start of each kind: a Python int (weak, traced as i64), NumPy int32 and int64.
START_KINDS = [int, np.int32, np.int64]


@st.composite
def dynamic_case(draw):
    x = draw(operands())
    sizes = tuple(draw(st.integers(0, n)) for n in x.shape)
    starts = tuple(draw(st.sampled_from(START_KINDS))(draw(st.integers(-2 * n - 1, 2 * n + 1)))
                   for n in x.shape)
    return x, sizes, starts


@given(case=dynamic_case(), allow_negative=st.booleans())
def test_dynamic_slice(case, allow_negative):
    x, sizes, starts = case
    out = eager_and_staged(lambda x, starts: lax.dynamic_slice(
        x, starts, sizes, allow_negative_indices=allow_negative), x, starts)
    assert_close(out, dynamic_slice_reference(x, starts, sizes, allow_negative))


@given(case=dynamic_case())
def test_dynamic_slice_with_an_array_of_starts(case):
    x, sizes, starts = case
    starts = np.array(starts, np.int32).reshape(len(starts))
    out = eager_and_staged(lambda x, s: lax.dynamic_slice(x, s, sizes), x, starts)
    assert_close(out, dynamic_slice_reference(x, starts, sizes))


@given(case=dynamic_case(), data=st.data())
def test_dynamic_update_slice(case, data):
    x, sizes, starts = case
    update = data.draw(arrays(x.dtype, sizes))
    out = eager_and_staged(lambda x, u, starts: lax.dynamic_update_slice(x, u, starts),
                           x, update, starts)
    assert_close(out, dynamic_update_reference(x, update, starts))


@given(data=st.data())
def test_dynamic_in_dim_wrappers(data):
    x = data.draw(operands(min_dims=1))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    n = x.shape[axis]
    size = data.draw(st.integers(0, n))
    start = data.draw(st.integers(-2 * n, 2 * n))
    starts = [0] * x.ndim
    starts[axis] = start
    sizes = list(x.shape)
    sizes[axis] = size
    out = eager_and_staged(lambda x, i: lax.dynamic_slice_in_dim(x, i, size, axis), x, start)
    assert_close(out, dynamic_slice_reference(x, starts, sizes))

    keepdims = data.draw(st.booleans())
    sizes[axis] = 1
    starts[axis] = index = data.draw(st.integers(-n, n - 1))
    expected = dynamic_slice_reference(x, starts, sizes)
    out = eager_and_staged(lambda x, i: lax.dynamic_index_in_dim(x, i, axis, keepdims), x, index)
    assert_close(out, expected if keepdims else np.squeeze(expected, axis))

    sizes[axis] = size
    update = data.draw(arrays(x.dtype, tuple(sizes)))
    starts[axis] = start
    out = eager_and_staged(lambda x, u, i: lax.dynamic_update_slice_in_dim(x, u, i, axis),
                           x, update, start)
    assert_close(out, dynamic_update_reference(x, update, starts))

    row = data.draw(arrays(x.dtype, tuple(s for i, s in enumerate(x.shape) if i != axis % x.ndim)))
    starts[axis] = index
    expected = dynamic_update_reference(x, np.expand_dims(row, axis), starts)
    out = eager_and_staged(lambda x, u, i: lax.dynamic_update_index_in_dim(x, u, i, axis),
                           x, row, index)
    assert_close(out, expected)


def test_dynamic_update_slice_does_not_mutate_and_adapts_scalars():
    x = np.zeros(4, np.float32)
    out = lax.dynamic_update_slice(x, np.ones(1, np.float32), (1,))
    assert_close(out, np.array([0, 1, 0, 0], np.float32))
    assert np.all(x == 0)
    out = eager_and_staged(lambda x: lax.dynamic_update_index_in_dim(x, 7, -1, 0), x)
    assert_close(out, np.array([0, 0, 0, 7], np.float32))


# ------------------------------------------------------------ iota
@given(dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64]), shape=shapes(1, 3),
       data=st.data())
def test_iota(dtype, shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    out = eager_and_staged(lambda: lax.broadcasted_iota(dtype, shape, dim))
    assert_close(out, np.indices(shape, dtype=dtype)[dim])
    assert not out.weak_type
    assert_close(eager_and_staged(lambda: lax.iota(dtype, shape[0])),
                 np.arange(shape[0], dtype=dtype))


def test_results_are_arrays_and_jaxpr_params():
    assert isinstance(lax.reshape(np.ones(4), (2, 2)), Array)
    text = str(make_jaxpr(lambda x: lax.squeeze(lax.expand_dims(x, (-1,)), (0,)))(np.ones((1, 2))))
    assert "expand_dims[dimensions=(2,)]" in text and "squeeze[dimensions=(0,)]" in text
    # A round trip back to the input's shape is simplified away while staging.
    closed = make_jaxpr(lambda x: lax.squeeze(lax.expand_dims(x, (-1,)), (-1,)))(np.ones(2))
    assert closed.eqns == []


# ------------------------------------------------------------ errors
X = np.zeros((2, 3))


@pytest.mark.parametrize("f, match", [
    (lambda x: lax.broadcast_in_dim(x, (2, 4), (0, 1)), r"broadcast_in_dim.*f64\[2,3\].*size 3"),
    (lambda x: lax.broadcast_in_dim(x, (2, 3, 4), (0,)), r"broadcast_in_dim.*one entry"),
    (lambda x: lax.broadcast_in_dim(x, (3, 2, 3), (2, 0)), r"strictly increasing"),
    (lambda x: lax.broadcast_in_dim(x, (2, 3), (0, 5)), r"out of range"),
    (lambda x: lax.reshape(x, (4,)), r"reshape: cannot reshape f64\[2,3\] \(6 elements\) to \(4,\)"),
    (lambda x: lax.reshape(x, (-1,)), r"reshape.*negative"),
    (lambda x: lax.reshape(x, (6,), (0, 0)), r"reshape.*permutation"),
    (lambda x: lax.transpose(x, (0,)), r"transpose.*\(0,\).*f64\[2,3\]"),
    (lambda x: lax.squeeze(x, (0,)), r"squeeze.*dimension 0 of f64\[2,3\].*size is 2"),
    (lambda x: lax.squeeze(x, (2,)), r"squeeze.*out of range"),
    (lambda x: lax.expand_dims(x, (3,)), r"expand_dims.*out of range"),
    (lambda x: lax.expand_dims(x, (0, -4)), r"expand_dims.*repeated"),
    (lambda x: lax.rev(x, (0, -2)), r"rev.*repeated"),
    (lambda x: lax.concatenate([x, np.zeros((2, 3), np.float32)], 0), r"concatenate.*equal dtypes"),
    (lambda x: lax.concatenate([x, np.zeros((3, 2))], 0), r"concatenate.*except along dimension 0"),
    (lambda x: lax.concatenate([x, 1.0], 0), r"concatenate.*Python scalar"),
    (lambda x: lax.concatenate([lax.reshape(x, (1, 6, 1)), x], 0), r"concatenate.*rank"),
    (lambda x: lax.concatenate([], 0), r"concatenate.*at least one"),
    (lambda x: lax.pad(x, 0.0, [(0, 0, 0)]), r"pad.*one \(low, high, interior\)"),
    (lambda x: lax.pad(x, 0.0, [(0, 0, -1), (0, 0, 0)]), r"pad: interior padding -1"),
    (lambda x: lax.pad(x, 0.0, [(-2, -1, 0), (0, 0, 0)]), r"pad.*negative size -1"),
    (lambda x: lax.pad(x, np.float32(0), [(0, 0, 0)] * 2), r"pad.*float32"),
    (lambda x: lax.pad(x, np.zeros(2), [(0, 0, 0)] * 2), r"pad.*scalar"),
    (lambda x: lax.pad(x, 0.0, [(0, 0), (0, 0)]), r"pad.*triples"),
    (lambda x: lax.slice(x, (0, 0), (3, 3)), r"slice: dimension 0.*<= 2.*f64\[2,3\]"),
    (lambda x: lax.slice(x, (0, 0), (2, 3), (1, 0)), r"slice: stride.*positive"),
    (lambda x: lax.slice(x, (0,), (2,)), r"slice: need one start"),
    (lambda x: lax.index_in_dim(x, 3, 1), r"index_in_dim: index 3 is out of bounds"),
    (lambda x: lax.slice_in_dim(x, 0, 1, axis=2), r"slice_in_dim: axis 2 is out of range"),
    (lambda x: lax.dynamic_slice(x, (0, 0), (3, 1)), r"dynamic_slice: slice_sizes \(3, 1\)"),
    (lambda x: lax.dynamic_slice(x, (0,), (1, 1)), r"dynamic_slice: got 1 start indices"),
    (lambda x: lax.dynamic_slice(x, (0, 1.0), (1, 1)), r"dynamic_slice: start index 1.*f64"),
    (lambda x: lax.dynamic_slice(x, (0, np.zeros(2, int)), (1, 1)), r"start index 1.*i64\[2\]"),
    (lambda x: lax.dynamic_update_slice(x, np.zeros((3, 1)), (0, 0)),
     r"dynamic_update_slice: update f64\[3,1\].*fit"),
    (lambda x: lax.dynamic_update_slice(x, np.zeros((1, 1), np.int32), (0, 0)),
     r"dynamic_update_slice.*dtype"),
    (lambda x: lax.dynamic_update_slice(x, np.zeros((1, 1)), (0,)),
     r"dynamic_update_slice: got 1 start"),
    (lambda x: lax.full((2,), x), r"full must be called with a scalar fill_value"),
    (lambda x: lax.reshape(x, (6.0,)), r"reshape: new_sizes must be a sequence of static int"),
])
def test_errors(f, match):
    both_raise(f, X, match=match)


def test_iota_errors():
    with pytest.raises(TypeError, match="iota: dtype must be numeric, got bool"):
        lax.iota(np.bool_, 3)
    with pytest.raises(ValueError, match="iota: shape .* negative"):
        make_jaxpr(lambda: lax.iota(np.int32, -1))()
    with pytest.raises(ValueError, match="broadcasted_iota: dimension 2 is out of range"):
        lax.broadcasted_iota(np.int32, (2, 3), 2)


def test_direct_bind_is_checked_eagerly():
    with pytest.raises(TypeError, match="reshape: cannot reshape f64\\[2,3\\]"):
        lax.reshape_p.bind(X, new_sizes=(5,), dimensions=None)


def test_traced_static_parameter_is_a_concretization_error():
    from funcgrad.core.errors import ConcretizationTypeError
    with pytest.raises(ConcretizationTypeError):
        make_jaxpr(lambda x, n: lax.reshape(x, (n, 3)))(X, 2)
