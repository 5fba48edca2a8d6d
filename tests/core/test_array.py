"""funcgrad.Array: immutability, NumPy interop, Python protocol methods."""
import copy
import pickle

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import Array, lax


def test_asarray_is_free_and_read_only():
    a = lax.add(np.arange(3.0), 1.0)
    view = np.asarray(a)
    assert np.asarray(a) is view  # no copy
    assert not view.flags.writeable
    with pytest.raises(ValueError):
        view[0] = 5.0


def test_inputs_are_never_mutated_or_aliased():
    x = np.arange(6.0)
    y = lax.reshape(x, (2, 3))
    x[0] = 100.0  # the caller changes their array afterwards
    assert float(np.asarray(y)[0, 0]) == 0.0
    a = Array(x)
    x[1] = -1.0
    assert float(np.asarray(a)[1]) == 1.0


def test_numpy_on_the_left_uses_our_operators():
    a = jnp.ones(3)
    out = np.ones(3) * a
    assert isinstance(out, Array)
    out = np.arange(3.0) + a
    assert isinstance(out, Array)
    np.testing.assert_array_equal(out, [1.0, 2.0, 3.0])
    assert isinstance(np.float64(2.0) * a, Array)


def test_numpy_functions_accept_arrays():
    a = jnp.arange(4.0)
    np.testing.assert_array_equal(np.sin(a), np.sin(np.arange(4.0)))
    assert np.sum(a) == 6.0
    np.testing.assert_array_equal(np.asarray(a, dtype=np.float32), np.arange(4, dtype=np.float32))


def test_python_protocols():
    a = jnp.arange(3.0)
    assert len(a) == 3
    assert [float(v) for v in a] == [0.0, 1.0, 2.0]
    assert a.tolist() == [0.0, 1.0, 2.0]
    assert jnp.asarray(2.5).item() == 2.5
    assert int(jnp.asarray(3)) == 3 and float(jnp.asarray(2.0)) == 2.0
    assert bool(jnp.asarray(True))
    assert f"{jnp.asarray(1.23456):.2f}" == "1.23"
    assert [10, 20, 30][jnp.asarray(1)] == 20
    with pytest.raises(TypeError, match="unhashable"):
        hash(a)
    with pytest.raises(TypeError):
        [1, 2][jnp.asarray(1.0)]
    assert a.block_until_ready() is a


def test_repr_and_str():
    assert repr(jnp.arange(3.0)) == "Array([0., 1., 2.], dtype=float64)"
    assert repr(jnp.ones(2, dtype=jnp.float32)) == "Array([1., 1.], dtype=float32)"
    assert str(jnp.arange(3)) == "[0 1 2]"
    assert "weak_type=True" in repr(lax.add(1.0, 2.0))


def test_metadata():
    a = jnp.zeros((2, 3), dtype=jnp.float32)
    assert a.shape == (2, 3) and a.ndim == 2 and a.size == 6 and a.dtype == np.float32
    assert a.nbytes == 24 and a.itemsize == 4
    assert a.aval == funcgrad.ShapedArray((2, 3), np.dtype(np.float32))


def test_pickle_and_copy_round_trip():
    a = jnp.arange(4.0)
    b = pickle.loads(pickle.dumps(a))
    assert isinstance(b, Array)
    np.testing.assert_array_equal(b, a)
    np.testing.assert_array_equal(copy.deepcopy(a), a)
    np.testing.assert_array_equal(a.copy(), a)


def test_unsupported_dtype_is_rejected():
    with pytest.raises(TypeError, match="does not support dtype"):
        Array(np.array(["a", "b"]))


def test_methods_forward_to_funcgrad_numpy():
    a = jnp.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(a.sum(axis=0), [3.0, 5.0, 7.0])
    np.testing.assert_array_equal(a.T, np.arange(6.0).reshape(2, 3).T)
    np.testing.assert_array_equal(a.reshape((3, 2)), np.arange(6.0).reshape(3, 2))
    assert a.astype(jnp.int32).dtype == np.int32
    np.testing.assert_array_equal(a[1], [3.0, 4.0, 5.0])
    np.testing.assert_array_equal(a.at[0, 0].set(9.0)[0], [9.0, 1.0, 2.0])
    np.testing.assert_array_equal(a[0], [0.0, 1.0, 2.0])  # unchanged
