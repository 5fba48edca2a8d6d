"""Differentiation rules of dot_general: jvp against central finite
differences, transposes against the dot-product identity and np.einsum,
preferred_element_type, second order (analytic) and reverse mode, for random
dimension numbers with batch, contracting and free axes in any order."""
import string

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
from funcgrad import lax
from funcgrad.transforms.jvp import jvp
from funcgrad.transforms.transpose import linear_transpose
from tests.lax.test_indexing_ad import (
    check_jvp,
    check_reverse,
    check_second_order,
    check_transpose,
)
from tests.util import arrays, assert_close, eager_and_staged


@st.composite
def dot_cases(draw, dtypes=(np.float32, np.float64)):
    """Operands, tangents, an output cotangent, dimension numbers and the
    einsum labels of each operand and of the result (batch first, then lhs
    free, then rhs free)."""
    n_batch, n_contract, n_lfree, n_rfree = (draw(st.integers(0, 2)) for _ in range(4))
    letters = iter(string.ascii_lowercase)
    batch = [next(letters) for _ in range(n_batch)]
    contract = [next(letters) for _ in range(n_contract)]
    lfree = [next(letters) for _ in range(n_lfree)]
    rfree = [next(letters) for _ in range(n_rfree)]
    max_side = draw(st.sampled_from([0, 3, 3, 3, 3]))  # sometimes zero-size axes
    size = {c: draw(st.integers(min(1, max_side), max_side))
            for c in batch + contract + lfree + rfree}
    lhs_labels = "".join(draw(st.permutations(batch + contract + lfree)))
    rhs_labels = "".join(draw(st.permutations(batch + contract + rfree)))
    dtype = np.dtype(draw(st.sampled_from(dtypes)))

    def operand(labels):
        shape = tuple(size[c] for c in labels)
        if dtype.kind == "c":
            return (draw(arrays(np.float64, shape, min_value=-2, max_value=2))
                    + 1j * draw(arrays(np.float64, shape, min_value=-2, max_value=2)))
        return draw(arrays(dtype, shape, min_value=-2, max_value=2))

    def positions(labels, which):
        return tuple(labels.index(c) for c in which)

    dn = ((positions(lhs_labels, contract), positions(rhs_labels, contract)),
          (positions(lhs_labels, batch), positions(rhs_labels, batch)))
    out_labels = ("".join(batch) + "".join(c for c in lhs_labels if c in lfree)
                  + "".join(c for c in rhs_labels if c in rfree))
    return {"lhs": operand(lhs_labels), "rhs": operand(rhs_labels), "tx": operand(lhs_labels),
            "ty": operand(rhs_labels), "ct": operand(out_labels), "dn": dn,
            "lhs_labels": lhs_labels, "rhs_labels": rhs_labels, "out_labels": out_labels}


@given(dot_cases(dtypes=(np.float32, np.float64, np.complex128)))
def test_dot_general_jvp_and_transposes(case):
    x, y, tx, ty, ct, dn = (case[k] for k in ("lhs", "rhs", "tx", "ty", "ct", "dn"))
    lhs_l, rhs_l, out_l = case["lhs_labels"], case["rhs_labels"], case["out_labels"]

    def f(a, b):
        return lax.dot_general(a, b, dn)

    check_jvp(f, (x, y), (tx, ty))
    # Jointly (the tangent map sums both products), then each operand alone
    # against einsum: the cotangent contracts ct with the other operand
    # over the other's free axes.
    check_transpose(f, (x, y), (tx, ty), ct)
    (ct_x,) = check_transpose(lambda a: f(a, y), (x,), (tx,), ct)
    (ct_y,) = check_transpose(lambda b: f(x, b), (y,), (ty,), ct)
    rtol = 1e-5 if x.dtype == np.float32 else 1e-12
    assert_close(ct_x, np.einsum(f"{out_l},{rhs_l}->{lhs_l}", ct, y), rtol=rtol, atol=rtol)
    assert_close(ct_y, np.einsum(f"{lhs_l},{out_l}->{rhs_l}", x, ct), rtol=rtol, atol=rtol)


@given(dot_cases(dtypes=(np.float64,)))
def test_dot_general_second_order_is_twice_the_product_of_tangents(case):
    # d^2/ds^2 dot(x + s tx, y + s ty) = 2 dot(tx, ty): an analytic reference.
    x, y, tx, ty, dn = (case[k] for k in ("lhs", "rhs", "tx", "ty", "dn"))

    def first(a, b):
        return jvp(lambda c, d: lax.dot_general(c, d, dn), (a, b), (tx, ty))[1]

    second = eager_and_staged(lambda a, b: jvp(first, (a, b), (tx, ty))[1], x, y)
    spec = f"{case['lhs_labels']},{case['rhs_labels']}->{case['out_labels']}"
    assert_close(second, 2 * np.einsum(spec, tx, ty), rtol=1e-12, atol=1e-12)


@given(dot_cases(dtypes=(np.float64,)), st.integers(0, 2**16))
def test_dot_general_reverse_mode(case, seed):
    dn = case["dn"]
    check_reverse(lambda a, b: lax.dot_general(a, b, dn), (case["lhs"], case["rhs"]), seed)


def test_dot_general_nonlinear_composition_second_order():
    # x -> sin(x) @ x^T: both operands depend on x (and on each other's axes).
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    dn = (((1,), (1,)), ((), ()))

    def f(a):
        return lax.dot_general(lax.sin(a), a, dn)

    check_second_order(f, (x,), (t,))
    check_reverse(f, (x,), 0)
    hess = funcgrad.hessian(lambda a: funcgrad.numpy.sum(f(a)))(x)
    assert np.shape(hess) == (3, 4, 3, 4)
    # The Hessian is symmetric.
    h = np.asarray(hess).reshape(12, 12)
    assert_close(h, h.T, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("lhs_dtype, rhs_dtype", [(np.float32, np.float32),
                                                  (np.float32, np.float64)])
def test_dot_general_preferred_element_type(lhs_dtype, rhs_dtype):
    # float32 operands accumulated in float64: the tangent has the output's
    # dtype, each cotangent its operand's.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 4)).astype(lhs_dtype)
    y = rng.normal(size=(4, 2, 5)).astype(rhs_dtype)
    tx, ty = (rng.normal(size=a.shape).astype(a.dtype) for a in (x, y))
    dn = (((2,), (0,)), ((0,), (1,)))

    def f(a, b):
        return lax.dot_general(a, b, dn, preferred_element_type=np.float64)

    out, t = jvp(f, (x, y), (tx, ty))
    assert out.dtype == t.dtype == np.float64
    expected = (np.einsum("bij,jbk->bik", tx.astype(np.float64), y.astype(np.float64))
                + np.einsum("bij,jbk->bik", x.astype(np.float64), ty.astype(np.float64)))
    assert_close(t, expected, rtol=1e-6, atol=1e-6)
    ct = rng.normal(size=out.shape)
    ct_x, ct_y = check_transpose(f, (x, y), (tx, ty), ct)
    assert ct_x.dtype == lhs_dtype and ct_y.dtype == rhs_dtype
    assert_close(ct_x, np.einsum("bik,jbk->bij", ct, y).astype(lhs_dtype), rtol=1e-5)


def test_dot_general_transpose_keeps_precision():
    x, y = np.ones((2, 3)), np.ones((3, 4))
    f = lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ())),
                                     precision=("highest", "default"))
    lin_t = linear_transpose(lambda a, b: jvp(f, (x, y), (a, b))[1], x, y)
    closed = funcgrad.make_jaxpr(lin_t)(np.ones((2, 4)))
    precisions = [e.params["precision"] for e in closed.jaxpr.eqns
                  if e.primitive is lax.dot_general_p]
    # The known operand keeps its own setting; the cotangent takes the
    # place of the transposed one.
    assert sorted(precisions) == [("default", "highest"), ("highest", "default")]


def test_dot_and_batch_matmul_grads():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4,))
    ga, gb = funcgrad.grad(lambda p, q: funcgrad.numpy.sum(lax.dot(p, q)), argnums=(0, 1))(a, b)
    assert_close(ga, np.broadcast_to(b, (3, 4)))
    assert_close(gb, a.sum(axis=0))
    p, q = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 5))
    w = rng.normal(size=(2, 3, 5))
    gp, gq = funcgrad.grad(lambda s, r: funcgrad.numpy.sum(lax.mul(lax.batch_matmul(s, r), w)),
                           argnums=(0, 1))(p, q)
    assert_close(gp, w @ np.swapaxes(q, 1, 2), rtol=1e-12, atol=1e-12)
    assert_close(gq, np.swapaxes(p, 1, 2) @ w, rtol=1e-12, atol=1e-12)


def test_check_grads_to_second_order():
    from funcgrad import test_util
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5, 2))
    dn = (((2,), (0,)), ((0,), (2,)))
    test_util.check_grads(lambda a, b: lax.dot_general(lax.sin(a), b, dn), (x, y), order=2)
