"""The interpreter stack, staging, eval_jaxpr and the errors of tracing."""
import numpy as np
import pytest

import funcgrad
from funcgrad import lax
from funcgrad.core import (ConcretizationTypeError, TracerArrayConversionError,
                           UnexpectedTracerError, eval_jaxpr, make_jaxpr)


def test_nested_make_jaxpr_closes_over_outer_tracers():
    def outer(x):
        inner = make_jaxpr(lambda y: lax.mul(x, y))(1.0)
        # The outer tracer x becomes a constvar of the inner jaxpr.
        assert len(inner.jaxpr.constvars) == 1
        (out,) = eval_jaxpr(inner.jaxpr, inner.consts, 3.0)
        return lax.add(out, 1.0)

    closed = make_jaxpr(outer)(2.0)
    funcgrad.check_jaxpr(closed)
    (value,) = eval_jaxpr(closed.jaxpr, closed.consts, 2.0)
    assert float(value) == 7.0


def test_omnistaging_records_constant_operations():
    # Operations on constant arrays are recorded, not evaluated at trace time.
    closed = make_jaxpr(lambda x: lax.add(x, lax.sin(np.ones(2))))(np.ones(2))
    assert [e.primitive.name for e in closed.eqns] == ["sin", "add"]


def test_staging_folds_literals_and_drops_identities():
    closed = make_jaxpr(lambda x: lax.mul(lax.add(x, lax.mul(0.0, 3.0)), lax.sin(0.0) + 1.0))(
        np.ones(2))
    assert closed.eqns == []
    (value,) = eval_jaxpr(closed.jaxpr, closed.consts, np.arange(2.0))
    np.testing.assert_array_equal(value, [0.0, 1.0])


def test_make_jaxpr_drops_dead_equations():
    closed = make_jaxpr(lambda x: (lax.sin(x), lax.cos(x))[1])(np.ones(2))
    assert [e.primitive.name for e in closed.eqns] == ["cos"]


def test_make_jaxpr_pytrees_static_argnums_and_return_shape():
    def f(params, n, *, scale):
        return {"y": lax.mul(params["w"], float(n)), "z": lax.mul(params["b"], scale)}

    closed, shape = make_jaxpr(f, static_argnums=1, return_shape=True)(
        {"w": np.ones(2), "b": np.zeros(3)}, 4, scale=2.0)
    assert shape["y"].shape == (2,) and shape["z"].shape == (3,)
    assert len(closed.jaxpr.invars) == 3


def test_bool_of_staged_value_names_the_argument():
    def f(x, params):
        if lax.gt(params["scale"], 0.0):
            return x
        return lax.neg(x)

    with pytest.raises(ConcretizationTypeError,
                       match=r"depends on the argument params\['scale'\] of f.*static_argnums"):
        make_jaxpr(f)(1.0, {"scale": 2.0})
    assert issubclass(ConcretizationTypeError, TypeError)


@pytest.mark.parametrize("convert", [int, float, bool, complex])
def test_python_conversions_of_staged_values_fail(convert):
    with pytest.raises(ConcretizationTypeError, match=rf"{convert.__name__}\(\)"):
        make_jaxpr(lambda x: convert(x))(1.0)


def test_numpy_conversion_of_tracer_fails_clearly():
    with pytest.raises(TracerArrayConversionError, match="use funcgrad.numpy"):
        make_jaxpr(lambda x: np.sin(x))(np.ones(2))


def test_leaked_tracer_is_detected():
    leaked = []

    def f(x):
        leaked.append(x)
        return x

    make_jaxpr(f)(1.0)
    with pytest.raises(UnexpectedTracerError, match="after the transformation that created it"):
        lax.sin(leaked[0])


def test_eval_jaxpr_checks_argument_count():
    closed = make_jaxpr(lax.sin)(1.0)
    with pytest.raises(TypeError, match="takes 1 arguments, got 2"):
        eval_jaxpr(closed.jaxpr, closed.consts, 1.0, 2.0)


def test_outputs_may_be_inputs_or_constants():
    closed = make_jaxpr(lambda x, y: (x, 3.0, np.ones(2)))(1.0, 2.0)
    outs = eval_jaxpr(closed.jaxpr, closed.consts, 5.0, 6.0)
    assert float(outs[0]) == 5.0 and float(outs[1]) == 3.0
    np.testing.assert_array_equal(outs[2], np.ones(2))


def test_staging_reuses_common_subexpressions_and_cancels_reshapes():
    def f(x):
        a = lax.mul(lax.cos(x), lax.cos(x))            # one cos
        b = lax.reshape(lax.expand_dims(a, (0,)), (3,))  # back to a
        ones = lax.broadcast_in_dim(1.0, (3,), ())
        return lax.add(lax.mul(b, ones), lax.sin(x))     # the mul by ones vanishes

    closed = make_jaxpr(f)(np.ones(3))
    assert [e.primitive.name for e in closed.eqns] == ["cos", "mul", "sin", "add"]
    x = np.array([0.1, 0.2, 0.3])
    (value,) = eval_jaxpr(closed.jaxpr, closed.consts, x)
    np.testing.assert_allclose(value, np.cos(x) ** 2 + np.sin(x))
