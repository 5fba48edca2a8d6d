"""lax.dot_general, dot and batch_matmul vs np.einsum / np.dot / np.matmul."""
import string

import numpy as np
import pytest
from hypothesis import given, strategies as st

import funcgrad
from funcgrad import lax
from tests.util import arrays, assert_close, check_against_numpy

DTYPES = [np.dtype(d) for d in (np.float32, np.float64, np.int32, np.int64, np.bool_,
                                np.complex128)]


def draw_array(draw, dtype, shape):
    if dtype.kind == "c":
        re = draw(arrays(np.float64, shape))
        im = draw(arrays(np.float64, shape))
        return re + 1j * im
    return draw(arrays(dtype, shape, min_value=-5, max_value=5))


@st.composite
def dot_general_case(draw):
    """Random operands and dimension numbers, with the einsum spelling of the
    same contraction as the reference."""
    n_batch, n_contract, n_lfree, n_rfree = (draw(st.integers(0, 2)) for _ in range(4))
    letters = iter(string.ascii_letters)
    batch = [next(letters) for _ in range(n_batch)]
    contract = [next(letters) for _ in range(n_contract)]
    lfree = [next(letters) for _ in range(n_lfree)]
    rfree = [next(letters) for _ in range(n_rfree)]
    max_side = draw(st.sampled_from([0, 3, 3, 3]))  # sometimes zero-size axes
    size = {c: draw(st.integers(min(1, max_side), max_side))
            for c in batch + contract + lfree + rfree}
    lhs_labels = draw(st.permutations(batch + contract + lfree))
    rhs_labels = draw(st.permutations(batch + contract + rfree))
    dtype = draw(st.sampled_from(DTYPES))
    lhs = draw_array(draw, dtype, tuple(size[c] for c in lhs_labels))
    rhs = draw_array(draw, dtype, tuple(size[c] for c in rhs_labels))

    def dims(labels, which):
        # Negative spellings are accepted by the wrapper.
        return tuple(draw(st.sampled_from([labels.index(c), labels.index(c) - len(labels)]))
                     for c in which)

    dn = ((dims(lhs_labels, contract), dims(rhs_labels, contract)),
          (dims(lhs_labels, batch), dims(rhs_labels, batch)))
    # Free axes keep their order within each operand.
    out = batch + [c for c in lhs_labels if c in lfree] + [c for c in rhs_labels if c in rfree]
    spec = f"{''.join(lhs_labels)},{''.join(rhs_labels)}->{''.join(out)}"
    return lhs, rhs, dn, spec


@given(dot_general_case())
def test_dot_general_vs_einsum(case):
    lhs, rhs, dn, spec = case
    check_against_numpy(lambda a, b: lax.dot_general(a, b, dn),
                        lambda a, b: np.einsum(spec, a, b).astype(a.dtype), lhs, rhs)


@given(dot_general_case(), st.sampled_from([np.float64, np.complex128]))
def test_dot_general_preferred_element_type(case, preferred):
    lhs, rhs, dn, spec = case
    if lhs.dtype.kind == "c" and preferred == np.float64:
        preferred = np.complex128
    check_against_numpy(
        lambda a, b: lax.dot_general(a, b, dn, preferred_element_type=preferred),
        lambda a, b: np.einsum(spec, a.astype(preferred), b.astype(preferred)), lhs, rhs)


def test_dot_general_mixed_dtypes_with_preferred_type():
    x = np.arange(6, dtype=np.int8).reshape(2, 3) * 40  # int8 products overflow
    y = np.ones((3, 2), np.int32)
    out = check_against_numpy(
        lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ())),
                                     preferred_element_type=np.int32),
        lambda a, b: a.astype(np.int32) @ b, x, y)
    assert out.dtype == np.int32


def test_dot_general_python_scalar_adapts():
    x = np.arange(3, dtype=np.float32)
    out = check_against_numpy(lambda a: lax.dot_general(a, 2.0, (((), ()), ((), ()))),
                              lambda a: a * np.float32(2), x)
    assert out.dtype == np.float32 and not out.weak_type


def test_dot_general_precision_is_kept_in_jaxpr():
    x = np.ones((2, 2))
    jaxpr = funcgrad.make_jaxpr(lambda a: lax.dot_general(a, a, (((1,), (0,)), ((), ())),
                                                          precision="HIGHEST"))(x)
    assert "precision=('highest', 'highest')" in str(jaxpr)
    with pytest.raises(ValueError, match=r"dot_general: precision must be None"):
        lax.dot_general(x, x, (((1,), (0,)), ((), ())), precision="fast")


def test_dot_general_errors():
    x, y = np.ones((2, 3)), np.ones((4, 3))
    with pytest.raises(TypeError, match=r"contracting dimensions to have equal sizes; got "
                                        r"lhs f64\[2,3\], rhs f64\[4,3\] and dimension_numbers"
                                        r"=\(\(\(0,\), \(0,\)\)"):
        lax.dot_general(x, y, (((0,), (0,)), ((), ())))
    with pytest.raises(TypeError, match=r"batch dimensions to have equal sizes"):
        lax.dot_general(x, y, (((1,), (1,)), ((0,), (0,))))
    with pytest.raises(TypeError, match=r"repeated lhs dimension numbers"):
        lax.dot_general(x, x, (((1,), (1,)), ((1,), (0,))))
    with pytest.raises(TypeError, match=r"rhs dimension numbers out of range for rank 2"):
        lax.dot_general(x, y, (((1,), (5,)), ((), ())))
    with pytest.raises(TypeError, match=r"as many lhs as rhs contracting dimensions"):
        lax.dot_general(x, y, (((1,), ()), ((), ())))
    with pytest.raises(TypeError, match=r"requires dimension_numbers of the form"):
        lax.dot_general(x, y, ((1,), (1,)))
    with pytest.raises(TypeError, match=r"same dtype, got lhs f32\[2,3\] and rhs f64\[4,3\]"):
        lax.dot_general(x.astype(np.float32), y, (((1,), (1,)), ((), ())))
    with pytest.raises(TypeError, match=r"preferred_element_type int32 is incompatible with "
                                        r"operand dtype float64"):
        lax.dot_general(x, y, (((1,), (1,)), ((), ())), preferred_element_type=np.int32)
    # The same checks run when staging, and on a raw bind.
    with pytest.raises(TypeError, match=r"contracting dimensions to have equal sizes"):
        funcgrad.make_jaxpr(lambda a, b: lax.dot_general(a, b, (((0,), (0,)), ((), ()))))(x, y)
    with pytest.raises(TypeError, match=r"tuple of ints"):
        lax.dot_general_p.bind(x, y, dimension_numbers=(([1], [1]), ((), ())), precision=None,
                               preferred_element_type=None)


@pytest.mark.parametrize("lhs_shape, rhs_shape", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)),
                                                  ((2, 3), (3, 4)), ((0, 3), (3, 2)),
                                                  ((2, 0), (0, 2))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.bool_])
def test_dot(lhs_shape, rhs_shape, dtype):
    rng = np.random.default_rng(0)
    lhs = rng.integers(-3, 4, lhs_shape).astype(dtype)
    rhs = rng.integers(-3, 4, rhs_shape).astype(dtype)
    check_against_numpy(lax.dot, lambda a, b: np.dot(a, b).astype(dtype), lhs, rhs)


def test_dot_errors():
    with pytest.raises(TypeError, match=r"dot takes operands of rank 1 or 2, got lhs "
                                        r"f64\[2,2,2\] and rhs f64\[2\]"):
        lax.dot(np.ones((2, 2, 2)), np.ones(2))
    with pytest.raises(TypeError, match=r"dot_general requires contracting dimensions"):
        lax.dot(np.ones((2, 3)), np.ones((2, 3)))


@given(st.data())
def test_batch_matmul(data):
    nbatch = data.draw(st.integers(0, 2))
    batch = tuple(data.draw(st.integers(0, 3)) for _ in range(nbatch))
    m, k, n = (data.draw(st.integers(1, 4)) for _ in range(3))
    dtype = data.draw(st.sampled_from(DTYPES[:4]))
    lhs = data.draw(arrays(dtype, batch + (m, k)))
    rhs = data.draw(arrays(dtype, batch + (k, n)))
    check_against_numpy(lax.batch_matmul, np.matmul, lhs, rhs)


def test_batch_matmul_errors():
    with pytest.raises(ValueError, match=r"batch_matmul requires operands of equal rank >= 2"):
        lax.batch_matmul(np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"equal rank"):
        lax.batch_matmul(np.ones((2, 2, 3)), np.ones((3, 2)))
    with pytest.raises(TypeError, match=r"batch dimensions to have equal sizes"):
        lax.batch_matmul(np.ones((2, 2, 3)), np.ones((4, 3, 2)))


def test_dot_general_result_is_exact_for_ints():
    # Large int64 values: a float detour would lose the low bits.
    x = np.array([[2**53 + 1, 1]], np.int64)
    y = np.array([[1], [1]], np.int64)
    assert_close(lax.dot(x, y), np.array([[2**53 + 2]], np.int64))
