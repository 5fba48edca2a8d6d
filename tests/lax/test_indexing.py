"""lax.gather and the scatter family against NumPy loop references."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
from funcgrad import lax
from tests.util import arrays, assert_close, check_against_numpy, eager_and_staged

DTYPES = [np.float32, np.float64, np.int32, np.int64]


def _default_fill(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind in "fc":
        return np.nan
    if dtype.kind == "i":
        return np.iinfo(dtype).min
    if dtype.kind == "u":
        return np.iinfo(dtype).max
    return True


def _positions(shape, axes, row, r):
    """The operand position of gathered element ``r`` (over the rest dims)
    for one row of indices (already made valid)."""
    rest_dims = [d for d in range(len(shape)) if d not in axes]
    full = [0] * len(shape)
    for j, a in enumerate(axes):
        full[a] = int(row[j])
    for d, i in zip(rest_dims, r, strict=True):
        full[d] = i
    return tuple(full)


def gather_ref(x, idx, axes, mode, fill_value=None):
    x, idx = np.asarray(x), np.asarray(idx)
    rest = tuple(s for d, s in enumerate(x.shape) if d not in axes)
    batch = idx.shape[:-1]
    out = np.zeros(batch + rest, x.dtype)
    fill = _default_fill(x.dtype) if fill_value is None else fill_value
    for b in np.ndindex(*batch):
        row = idx[b].astype(np.int64)
        sizes = [x.shape[a] for a in axes]
        oob = any(not 0 <= i < s for i, s in zip(row, sizes, strict=True))
        if mode == "clip":
            row = [min(max(i, 0), s - 1) for i, s in zip(row, sizes, strict=True)]
        for r in np.ndindex(*rest):
            if mode == "fill" and oob:
                out[b + r] = fill
            else:
                out[b + r] = x[_positions(x.shape, axes, row, r)]
    return out


_COMBINE = {"scatter": lambda old, new: new, "scatter_add": lambda old, new: old + new,
            "scatter_mul": lambda old, new: old * new, "scatter_min": min,
            "scatter_max": max}


def scatter_ref(name, x, idx, upd, axes, mode):
    x, idx, upd = np.asarray(x), np.asarray(idx), np.asarray(upd)
    out = x.copy()
    rest = tuple(s for d, s in enumerate(x.shape) if d not in axes)
    sizes = [x.shape[a] for a in axes]
    for b in np.ndindex(*idx.shape[:-1]):  # in order: the last duplicate wins for set
        row = idx[b].astype(np.int64)
        if mode == "clip":
            row = [min(max(i, 0), s - 1) for i, s in zip(row, sizes, strict=True)]
        elif any(not 0 <= i < s for i, s in zip(row, sizes, strict=True)):
            continue
        for r in np.ndindex(*rest):
            pos = _positions(x.shape, axes, row, r)
            out[pos] = _COMBINE[name](out[pos], upd[b + r])
    return out


@st.composite
def layouts(draw, dtypes=DTYPES, max_batch_side=3):
    """(operand, indices, axes-as-passed, normalised axes, batch shape)."""
    shape = draw(st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple))
    ndim = len(shape)
    perm = draw(st.permutations(range(ndim)))
    k = draw(st.integers(0, ndim))
    axes = tuple(perm[:k])
    passed = tuple(draw(st.sampled_from([a, a - ndim])) for a in axes)
    batch = draw(st.lists(st.integers(0, max_batch_side), min_size=0, max_size=2).map(tuple))
    dtype = draw(st.sampled_from(dtypes))
    x = draw(arrays(dtype, shape))
    idx_dtype = draw(st.sampled_from([np.int32, np.int64]))
    cols = [draw(arrays(idx_dtype, batch, min_value=-2, max_value=shape[a] + 1))[..., None]
            for a in axes]
    idx = np.concatenate(cols, axis=-1) if cols else np.zeros(batch + (0,), idx_dtype)
    return x, idx, passed, axes, batch


@given(layouts(), st.sampled_from(["clip", "fill"]))
def test_gather_matches_loop(layout, mode):
    x, idx, passed, axes, _ = layout
    check_against_numpy(lambda a, i: lax.gather(a, i, passed, mode=mode),
                        lambda a, i: gather_ref(a, i, axes, mode), x, idx)


@given(layouts(dtypes=[np.float64, np.int32]), st.integers(-5, 5))
def test_gather_fill_value(layout, fill):
    x, idx, passed, axes, _ = layout
    check_against_numpy(lambda a, i: lax.gather(a, i, passed, mode="fill", fill_value=fill),
                        lambda a, i: gather_ref(a, i, axes, "fill", fill), x, idx)


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.uint16, np.bool_, np.complex64])
def test_gather_default_fill(dtype):
    x = np.ones((3, 2), dtype)
    out = np.asarray(eager_and_staged(lambda a: lax.gather(a, np.array([[5], [1]]), (0,),
                                                           mode="fill"), x))
    assert out.dtype == np.dtype(dtype)
    expected = gather_ref(x, np.array([[5], [1]]), (0,), "fill")
    np.testing.assert_array_equal(out, expected)
    assert np.asarray(lax.default_fill_value(np.dtype(dtype))).item() == \
        np.asarray(_default_fill(dtype)).item() or np.isnan(_default_fill(dtype))


def test_gather_doc_example():
    x = np.arange(35.0).reshape(5, 7)
    idx = np.array([[6], [0], [3]])
    out = lax.gather(x, idx, axes=(1,))
    assert out.shape == (3, 5)
    assert_close(out, x[:, [6, 0, 3]].T)


SCATTERS = ["scatter", "scatter_add", "scatter_mul", "scatter_min", "scatter_max"]


@given(layouts(), st.sampled_from(SCATTERS), st.sampled_from(["drop", "clip"]), st.data())
def test_scatter_matches_loop(layout, name, mode, data):
    x, idx, passed, axes, batch = layout
    rest = tuple(s for d, s in enumerate(x.shape) if d not in axes)
    upd = data.draw(arrays(x.dtype, batch + rest, min_value=-3, max_value=3))
    fn = getattr(lax, name)
    x_before = x.copy()
    check_against_numpy(lambda a, i, u: fn(a, i, u, passed, mode=mode),
                        lambda a, i, u: scatter_ref(name, a, i, u, axes, mode), x, idx, upd)
    np.testing.assert_array_equal(x, x_before)  # the operand is never mutated


@pytest.mark.parametrize("name", SCATTERS)
def test_scatter_duplicates(name):
    x = np.arange(5.0) + 1
    idx = np.array([[1], [3], [1], [1], [7], [-1]])
    upd = np.array([2.0, -4.0, 0.5, 3.0, 100.0, 100.0])
    out = check_against_numpy(lambda a, i, u: getattr(lax, name)(a, i, u, (0,)),
                              lambda a, i, u: scatter_ref(name, a, i, u, (0,), "drop"),
                              x, idx, upd)
    if name == "scatter":
        assert np.asarray(out)[1] == 3.0  # the last duplicate wins


def test_scatter_bool_and_weak_scalar_updates():
    x = np.zeros(3, np.float32)
    out = lax.scatter_add(x, np.array([[0]]), np.ones(1, np.float32), 0)
    assert out.dtype == np.float32
    mask = np.array([False, True, False])
    out = lax.scatter(mask, np.array([[0], [1]]), np.array([True, False]), (0,))
    np.testing.assert_array_equal(out, [True, False, False])
    # A weak (Python) scalar update adapts to the operand's dtype.
    out = lax.scatter(np.zeros((), np.float32), np.zeros((0,), np.int32), 2.0, ())
    assert out.dtype == np.float32 and float(out) == 2.0


def test_jaxpr_params_are_normalised():
    closed = funcgrad.make_jaxpr(lambda a, i: lax.gather(a, i, [-1]))(np.ones((2, 3)),
                                                                     np.zeros((4, 1), np.int32))
    eqn = closed.jaxpr.eqns[-1]
    assert eqn.primitive is lax.gather_p
    assert eqn.params == {"axes": (1,), "mode": "clip", "fill_value": None}
    assert closed.jaxpr.outvars[0].aval.shape == (4, 2)


# ------------------------------------------------------------------ errors
def test_gather_errors():
    x = np.ones((3, 4))
    with pytest.raises(TypeError, match=r"gather requires integer indices.*f64\[2,1\]"):
        lax.gather(x, np.ones((2, 1)), (0,))
    with pytest.raises(TypeError, match=r"gather.*last dimension of indices.*len\(axes\) = 2"):
        lax.gather(x, np.ones((2, 1), np.int32), (0, 1))
    with pytest.raises(ValueError, match=r"gather requires distinct axes.*axes=\(0, 0\)"):
        lax.gather(x, np.ones((2, 2), np.int32), (0, 0))
    with pytest.raises(ValueError, match=r"gather requires distinct axes in \[0, 2\).*axes=\(2,\)"):
        lax.gather(x, np.ones((2, 1), np.int32), (2,))
    with pytest.raises(TypeError, match="at least one dimension"):
        lax.gather(x, np.int32(1), ())
    with pytest.raises(ValueError, match="mode must be one of"):
        lax.gather(x, np.ones((2, 1), np.int32), (0,), mode="wrap")
    with pytest.raises(TypeError, match="fill_value must be a Python scalar"):
        lax.gather(x, np.ones((2, 1), np.int32), (0,), mode="fill", fill_value=[1.0])
    with pytest.raises(TypeError, match="complex fill_value"):
        lax.gather(x, np.ones((2, 1), np.int32), (0,), mode="fill", fill_value=1j)


def test_gather_errors_at_trace_time():
    def f(a):
        return lax.gather(a, np.ones((2, 1), np.float32), (0,))
    with pytest.raises(TypeError, match="gather requires integer indices"):
        funcgrad.make_jaxpr(f)(np.ones(3))


def test_scatter_errors():
    x = np.ones((3, 4))
    idx = np.zeros((2, 1), np.int32)
    with pytest.raises(TypeError, match=r"scatter_add: updates of type f64\[2,3\] must have "
                                        r"shape .*\(2, 4\)"):
        lax.scatter_add(x, idx, np.ones((2, 3)), (0,))
    with pytest.raises(TypeError, match=r"scatter requires updates of the operand's dtype "
                                        r"float64.*i32\[2,4\]"):
        lax.scatter(x, idx, np.ones((2, 4), np.int32), (0,))
    with pytest.raises(ValueError, match="scatter_max: mode must be one of"):
        lax.scatter_max(x, idx, np.ones((2, 4)), (0,), mode="fill")
    with pytest.raises(TypeError, match="scatter_min does not accept dtype complex128"):
        lax.scatter_min(x.astype(complex), idx, np.ones((2, 4), complex), (0,))
    with pytest.raises(ValueError, match=r"scatter_mul requires distinct axes.*axes=\(5,\)"):
        lax.scatter_mul(x, idx, np.ones((2, 4)), (5,))
