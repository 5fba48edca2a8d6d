"""The IR, the pretty-printer and the type checker."""
import numpy as np
import pytest

import funcgrad
from funcgrad import lax
from funcgrad.core import (ClosedJaxpr, Jaxpr, JaxprEqn, JaxprTypeError, Literal, ShapedArray,
                           Var, check_jaxpr)
from funcgrad.core.ir import _var_name

f64 = np.dtype(np.float64)


def test_golden_print_of_a_small_function():
    closed = funcgrad.make_jaxpr(lambda x: lax.mul(lax.sin(x), 2.0))(np.ones(3))
    assert str(closed) == (
        "{ lambda ; a:f64[3]. let\n"
        "    b:f64[3] = sin a\n"
        "    c:f64[3] = mul b 2.0\n"
        "  in (c,) }")


def test_print_constvars_and_params():
    c = np.arange(3.0)
    closed = funcgrad.make_jaxpr(
        lambda x: lax.convert_element_type(lax.add(x, c), np.float32))(np.ones(3))
    assert str(closed) == (
        "{ lambda a:f64[3]; b:f64[3]. let\n"
        "    c:f64[3] = add b a\n"
        "    d:f32[3] = convert_element_type[new_dtype=float32, weak_type=False] c\n"
        "  in (d,) }")
    np.testing.assert_array_equal(closed.consts[0], c)


def test_variable_names_continue_past_z():
    assert [_var_name(i) for i in (0, 25, 26, 27, 675, 676)] == ["a", "z", "ba", "bb", "zz", "baa"]


def test_consts_are_frozen_copies():
    c = np.ones(2)
    closed = funcgrad.make_jaxpr(lambda x: lax.add(x, c))(np.ones(2))
    c[0] = 100.0
    assert closed.consts[0][0] == 1.0


def _eqn(prim, ins, outs, **params):
    return JaxprEqn(prim, ins, outs, params)


def test_check_jaxpr_catches_unbound_variables():
    a, b, c = Var(ShapedArray((3,), f64)), Var(ShapedArray((3,), f64)), Var(ShapedArray((3,), f64))
    jaxpr = Jaxpr([], [a], [c], [_eqn(lax.add_p, [a, b], [c])])
    with pytest.raises(JaxprTypeError, match="used before it is defined"):
        check_jaxpr(jaxpr)


def test_check_jaxpr_catches_wrong_output_types():
    a, c = Var(ShapedArray((3,), f64)), Var(ShapedArray((4,), f64))
    jaxpr = Jaxpr([], [a], [c], [_eqn(lax.sin_p, [a], [c])])
    with pytest.raises(JaxprTypeError, match="output typed f64\\[4\\] but the rule gives f64\\[3\\]"):
        check_jaxpr(jaxpr)


def test_check_jaxpr_catches_double_binding_and_bad_inputs():
    a = Var(ShapedArray((3,), f64))
    with pytest.raises(JaxprTypeError, match="bound twice"):
        check_jaxpr(Jaxpr([], [a], [a], [_eqn(lax.sin_p, [a], [a])]))
    b, c = Var(ShapedArray((3,), np.dtype(np.int32))), Var(ShapedArray((3,), f64))
    with pytest.raises(JaxprTypeError, match="rejected by its shape rule"):
        check_jaxpr(Jaxpr([], [b], [c], [_eqn(lax.sin_p, [b], [c])]))


def test_check_jaxpr_rejects_non_scalar_literals_and_const_count():
    a, c = Var(ShapedArray((3,), f64)), Var(ShapedArray((3,), f64))
    lit = Literal(np.ones(3), ShapedArray((3,), f64))
    with pytest.raises(JaxprTypeError, match="not a scalar"):
        check_jaxpr(Jaxpr([], [a], [c], [_eqn(lax.add_p, [a, lit], [c])]))
    k = Var(ShapedArray((3,), f64))
    with pytest.raises(JaxprTypeError, match="0 constants for 1 constvars"):
        check_jaxpr(ClosedJaxpr(Jaxpr([k], [], [k], []), []))


def test_shaped_array_basics():
    aval = ShapedArray((2, 3), np.dtype(np.float32), weak_type=True)
    assert aval.ndim == 2 and aval.size == 6 and aval.str_short() == "f32[2,3]"
    assert repr(aval) == "ShapedArray(float32[2,3], weak_type=True)"
    assert aval.strip_weak_type() == ShapedArray((2, 3), np.dtype(np.float32))
