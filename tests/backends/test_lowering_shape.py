"""Shape, slicing, dynamic slicing, gather and scatter: compiled vs eager."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from funcgrad import lax
from tests.backends.util import check_compiled, float_arrays

DTYPES = [np.float64, np.int32, np.bool_]


def _values(dtype, shape):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.arange(np.prod(shape), dtype=dtype).reshape(shape) * 0.5 - 3
    if dtype.kind == "b":
        return (np.arange(np.prod(shape)) % 3 == 0).reshape(shape)
    return (np.arange(np.prod(shape)) * 7 % 11 - 5).astype(dtype).reshape(shape)


def _shape_program(x, row, s):
    """Every shape primitive on x (2, 3, 4); ``row`` (3,) and scalar ``s``
    for broadcasts of vectors and scalars."""
    return (
        lax.broadcast_in_dim(row, (2, 3, 4), (1,)),
        lax.broadcast_in_dim(s, (2, 3), ()),
        lax.broadcast_in_dim(x[:, :1, :1], (2, 5, 3, 4), (0, 2, 3)),
        lax.reshape(x, (6, 4)),
        lax.reshape(x, (4, 6), dimensions=(2, 0, 1)),
        lax.reshape(x[0, 0, :1], ()),
        lax.reshape(s, (1, 1)),
        lax.transpose(x, (2, 0, 1)),
        lax.transpose(x[:, :1], (1, 0, 2)),
        lax.squeeze(x[:1, :, :1], (0, 2)),
        lax.expand_dims(x, (0, 3)),
        lax.rev(x, (0, 2)),
        lax.iota(np.int32, 5),
        lax.broadcasted_iota(np.float32, (3, 4), 1),
        lax.concatenate([x, x[:, :2], x[:, :0]], 1),
        lax.pad(x, s, [(1, -1, 1), (0, 2, 0), (-2, 1, 2)]),
        lax.pad(x, s, [(0, 0, 0), (-1, -1, 0), (2, 0, 0)]),
        lax.slice(x, (1, 0, 1), (2, 3, 4), (1, 2, 2)),
        lax.slice(x, (0, 1, 0), (2, 3, 4)),
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_shape_primitives(dtype):
    x = _values(dtype, (2, 3, 4))
    check_compiled(_shape_program, x, x[0, :, 0], x[1, 2, 3])


def _dynamic_program(x, i, j, k):
    return (lax.dynamic_slice(x, (i, j, k), (2, 2, 3)),
            lax.dynamic_slice(x, (i, j, k), (1, 3, 0)),
            lax.dynamic_update_slice(x, x[:1, :2, :2] * 2, (i, j, k)),
            lax.dynamic_update_slice(x, x[:, :0], (i, j, k)),
            lax.dynamic_slice(x[0, 0], (k,), (2,)))


@settings(max_examples=15)
@given(st.integers(-6, 6), st.integers(-6, 6), st.integers(-6, 6))
def test_dynamic_slices_clamp_their_starts(i, j, k):
    x = _values(np.float64, (2, 3, 4))
    check_compiled(_dynamic_program, x, np.int64(i), np.int32(j), np.int64(k))


def _gather_program(x, idx2, idx1):
    return (lax.gather(x, idx2, (0, 1)),
            lax.gather(x, idx2, (0, 2), mode="fill"),
            lax.gather(x, idx2, (2, 0), mode="fill", fill_value=7),
            lax.gather(x, idx1, (1,)),
            lax.gather(x, idx1[:, :0], ()),
            lax.gather(x, idx2[0], (1, 2)))


_indices = hnp.arrays(np.int64, (4, 2), elements=st.integers(-3, 5))


@settings(max_examples=12)
@given(idx=_indices, dtype=st.sampled_from(DTYPES))
def test_gather(idx, dtype):
    x = _values(dtype, (3, 4, 2))
    check_compiled(_gather_program, x, idx, idx[:, :1].astype(np.int32))


def _scatter_program(x, idx, upd, upd_rows):
    outs = []
    for name in ("scatter", "scatter_add", "scatter_mul", "scatter_min", "scatter_max"):
        op = getattr(lax, name)
        outs.append(op(x, idx, upd, (0, 2), mode="drop"))
        outs.append(op(x, idx, upd, (2, 0), mode="clip"))
    outs.append(lax.scatter_add(x, idx[:, :1], upd_rows, (1,)))
    return tuple(outs)


@settings(max_examples=12)
@given(idx=_indices, data=st.data())
def test_scatter_family(idx, data):
    # Duplicated rows: scatter keeps the last, the others combine in order.
    x = _values(np.float64, (3, 2, 4))
    upd = data.draw(float_arrays(np.float64, (4, 2), lo=-5, hi=5, specials=False))
    upd_rows = data.draw(float_arrays(np.float64, (4, 3, 4), lo=-5, hi=5, specials=False))
    check_compiled(_scatter_program, x, idx, upd, upd_rows)


def test_scatter_integers_and_bools():
    idx = np.array([[0, 1], [0, 1], [2, 9], [1, 0]])
    xi = _values(np.int32, (3, 2))
    check_compiled(lambda x, i, u: (lax.scatter(x, i, u, (0, 1)), lax.scatter_add(x, i, u, (0, 1)),
                                    lax.scatter_max(x, i, u, (0, 1), mode="clip")),
                   xi, idx, np.array([5, 6, 7, 8], np.int32))
    xb = _values(np.bool_, (3, 2))
    check_compiled(lambda x, i, u: lax.scatter(x, i, u, (0, 1)), xb, idx,
                   np.array([True, False, True, True]))


def test_scatter_of_a_fresh_array_updates_in_place():
    # scatter_add into zeros made by the program reuses their buffer.
    def f(i, u):
        return lax.scatter_add(lax.full((5,), 0.0), i, u, (0,))
    exe = check_compiled(f, np.array([[1], [3], [1]]), np.array([1.0, 2.0, 3.0]))
    body = exe.source[exe.source.index("def fn_"):]
    assert "np.copy" not in body
