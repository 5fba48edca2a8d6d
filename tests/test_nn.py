"""funcgrad.nn: activations against NumPy/``math`` formulas (eager and
staged), derivatives against finite differences (``check_grads``) and
analytic formulas, JAX's conventions at kinks, and finite derivatives at
extreme arguments."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import funcgrad
import funcgrad.nn as nn
import funcgrad.numpy as jnp
from funcgrad.test_util import check_grads
from tests.transforms.test_jvp import fd_atol, numerical_jvp
from tests.util import arrays, assert_close, eager_and_staged, shapes

F64 = np.float64
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|), in float64.
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _erfc(x):
    return np.vectorize(math.erfc, otypes=[F64])(x)


def _elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


REFERENCES = {
    "relu": (nn.relu, lambda x: np.maximum(x, 0.0)),
    "relu6": (nn.relu6, lambda x: np.clip(x, 0.0, 6.0)),
    "leaky_relu": (nn.leaky_relu, lambda x: np.where(x >= 0, x, 0.01 * x)),
    "leaky_relu(0.2)": (lambda x: nn.leaky_relu(x, 0.2), lambda x: np.where(x >= 0, x, 0.2 * x)),
    "hard_tanh": (nn.hard_tanh, lambda x: np.clip(x, -1.0, 1.0)),
    "elu": (nn.elu, _elu),
    "elu(0.5)": (lambda x: nn.elu(x, 0.5), lambda x: _elu(x, 0.5)),
    "celu(2)": (lambda x: nn.celu(x, 2.0),
                lambda x: np.where(x > 0, x, 2.0 * np.expm1(np.minimum(x, 0) / 2.0))),
    "selu": (nn.selu, lambda x: SELU_SCALE * _elu(x, SELU_ALPHA)),
    "sigmoid": (nn.sigmoid, _sigmoid),
    "softplus": (nn.softplus, _softplus),
    "log_sigmoid": (nn.log_sigmoid, lambda x: -_softplus(-x)),
    "soft_sign": (nn.soft_sign, lambda x: x / (np.abs(x) + 1)),
    "silu": (nn.silu, lambda x: x * _sigmoid(x)),
    "swish": (nn.swish, lambda x: x * _sigmoid(x)),
    "gelu": (nn.gelu, lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                        * (x + 0.044715 * x ** 3)))),
    "gelu_exact": (lambda x: nn.gelu(x, approximate=False),
                   lambda x: x * 0.5 * _erfc(-x / math.sqrt(2))),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_activation_values(name, data, dtype):
    fn, ref = REFERENCES[name]
    x = data.draw(arrays(dtype, shapes(max_dims=2), min_value=-30, max_value=30))
    out = eager_and_staged(fn, x)
    with np.errstate(over="ignore"):
        expected = ref(x.astype(F64)).astype(dtype)
    assert_close(out, expected, atol=1e-6 if dtype == np.float32 else 1e-14)


# Smooth functions and the intervals on which each is smooth.
SMOOTH = {"sigmoid": (-8, 8),
          "softplus": (-8, 8), "log_sigmoid": (-8, 8), "silu": (-8, 8), "gelu": (-5, 5),
          "gelu_exact": (-5, 5)}
# elu and celu are once, selu not even once continuously differentiable at 0.
KINKED = {"relu": [0.0], "relu6": [0.0, 6.0], "leaky_relu": [0.0], "hard_tanh": [-1.0, 1.0],
          "soft_sign": [0.0], "elu": [0.0], "celu(2)": [0.0], "selu": [0.0]}


@pytest.mark.parametrize("name", sorted(SMOOTH) + sorted(KINKED))
@settings(max_examples=6)
@given(data=st.data())
def test_activation_gradients(name, data):
    fn, _ = REFERENCES[name]
    if name in SMOOTH:
        lo, hi = SMOOTH[name]
        x = data.draw(arrays(F64, (3,), min_value=lo, max_value=hi))
    else:
        # Away from the kinks by more than the finite-difference step.
        x = data.draw(arrays(F64, (3,), min_value=-8, max_value=8))
        for k in KINKED[name]:
            x = np.where(np.abs(x - k) < 0.01, k + 0.5, x)
    check_grads(fn, (x,), order=2)


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_staged_gradients_match_finite_differences(name):
    fn, _ = REFERENCES[name]
    x = np.array([-1.7, 0.3, 2.2])
    total = lambda v: jnp.sum(fn(v) * np.array([1.0, -2.0, 0.5]))  # noqa: E731
    g = eager_and_staged(funcgrad.grad(total), x)
    t = np.random.default_rng(0).normal(size=3)
    assert_close(np.dot(g, t), numerical_jvp(total, x, t), rtol=1e-6,
                 atol=fd_atol(total, x, t))
    h = eager_and_staged(funcgrad.jacrev(funcgrad.grad(total)), x)
    assert_close(h @ t, numerical_jvp(funcgrad.grad(total), x, t), rtol=1e-6,
                 atol=fd_atol(funcgrad.grad(total), x, t))


def test_analytic_derivatives():
    x = np.linspace(-6, 6, 13)
    s = _sigmoid(x)
    d = funcgrad.jacfwd(nn.softplus)(x)
    assert_close(d, np.diag(s))
    assert_close(funcgrad.jacrev(nn.log_sigmoid)(x), np.diag(1 - s))
    assert_close(funcgrad.jacrev(nn.silu)(x), np.diag(s * (1 + x * (1 - s))))
    phi = np.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * _erfc(-x / math.sqrt(2))
    assert_close(funcgrad.jacrev(lambda v: nn.gelu(v, approximate=False))(x),
                 np.diag(cdf + x * phi))
    # softplus''(0) = sigmoid'(0) = 1/4 (the kink of max inside logaddexp's
    # body is not seen: its derivative rule is smooth).
    assert_close(funcgrad.grad(funcgrad.grad(nn.softplus))(0.0), F64(0.25))


def test_conventions_at_kinks():
    g = funcgrad.grad
    # JAX: relu'(0) = 0; relu6' is 0 at both kinks; the x >= 0 branch of
    # leaky_relu and the identity branch of hard_tanh include the kinks.
    assert g(nn.relu)(0.0) == 0.0 and g(nn.relu)(1e-300) == 1.0
    assert g(nn.relu6)(0.0) == 0.0 and g(nn.relu6)(6.0) == 0.0 and g(nn.relu6)(3.0) == 1.0
    assert g(nn.leaky_relu)(0.0) == 1.0 and float(g(nn.leaky_relu)(-1.0)) == pytest.approx(0.01)
    assert g(nn.hard_tanh)(1.0) == 1.0 and g(nn.hard_tanh)(1.5) == 0.0
    assert g(nn.elu)(0.0) == 1.0
    assert np.isnan(nn.relu(np.nan))  # nan propagates, as through max


@pytest.mark.parametrize("x, expected", [
    (1000.0, {"softplus": 1.0, "log_sigmoid": 0.0, "sigmoid": 0.0, "silu": 1.0, "gelu": 1.0,
              "gelu_exact": 1.0, "elu": 1.0, "selu": SELU_SCALE, "celu(2)": 1.0}),
    (-1000.0, {"softplus": 0.0, "log_sigmoid": 1.0, "sigmoid": 0.0, "silu": 0.0, "gelu": 0.0,
               "gelu_exact": 0.0, "elu": 0.0, "selu": 0.0, "celu(2)": 0.0}),
    (1e300, {"softplus": 1.0, "log_sigmoid": 0.0, "gelu": 1.0, "gelu_exact": 1.0, "elu": 1.0}),
    (-1e300, {"softplus": 0.0, "log_sigmoid": 1.0, "gelu": 0.0, "gelu_exact": 0.0, "elu": 0.0}),
])
def test_derivatives_are_finite_at_extremes(x, expected):
    for name, value in expected.items():
        fn, ref = REFERENCES[name]
        d = eager_and_staged(funcgrad.grad(fn), x)
        assert_close(d, F64(value), err_msg=name, check_dtype=False)
        with np.errstate(over="ignore", invalid="ignore"):
            expected_value = ref(np.float64(x))
        if np.isfinite(expected_value):
            assert_close(fn(x), F64(expected_value), check_dtype=False, err_msg=name)


# ------------------------------------------------------------- softmaxes
@given(data=st.data())
def test_softmax_default_axis_is_last(data):
    x = data.draw(arrays(F64, shapes(min_dims=1, max_dims=3), min_value=-20, max_value=20))
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    assert_close(eager_and_staged(nn.softmax, x), e / e.sum(axis=-1, keepdims=True))
    expected = x - x.max(axis=-1, keepdims=True) - np.log(e.sum(axis=-1, keepdims=True))
    assert_close(eager_and_staged(nn.log_softmax, x), expected)
    assert_close(nn.logsumexp(x, axis=-1), np.log(e.sum(axis=-1)) + x.max(axis=-1))


def test_softmax_where():
    x = np.array([[1.0, 2.0, np.inf], [0.0, 5.0, 1.0]])
    mask = np.array([[True, True, False], [True, False, True]])
    y = eager_and_staged(lambda v: nn.softmax(v, where=mask), x)
    assert_close(y, np.array([[1 / (1 + math.e), 1 / (1 + math.e ** -1), 0.0],
                              [1 / (1 + math.e), 0.0, 1 / (1 + math.e ** -1)]]))
    ly = nn.log_softmax(x, where=mask)
    assert_close(np.exp(np.asarray(ly)), y)
    # Masked entries, even +inf ones, get zero gradient and leak no nan.
    g = funcgrad.grad(lambda v: jnp.sum(nn.softmax(v, where=mask) * np.arange(3.0)))(x)
    assert np.all(np.isfinite(g)) and g[0, 2] == 0.0 and g[1, 1] == 0.0
    g = funcgrad.grad(lambda v: jnp.sum(nn.log_softmax(v, where=mask)[:, 0]))(x)
    assert np.all(np.isfinite(g)) and g[0, 2] == 0.0


@settings(max_examples=8)
@given(data=st.data())
def test_softmax_gradients(data):
    x = data.draw(arrays(F64, (2, 3), min_value=-4, max_value=4))
    check_grads(nn.softmax, (x,), order=2)
    check_grads(lambda v: nn.log_softmax(v, axis=0), (x,), order=2)
    mask = np.array([True, False, True])
    check_grads(lambda v: nn.softmax(v, where=mask), (x,), order=1)


# ---------------------------------------------------------------- helpers
def test_one_hot():
    x = np.array([[0, 2], [1, 7]])
    out = eager_and_staged(lambda v: nn.one_hot(v, 3), x)
    assert_close(out, (x[..., None] == np.arange(3)).astype(F64))
    out = nn.one_hot(x, 3, axis=0, dtype=np.float32)
    assert_close(out, np.moveaxis((x[..., None] == np.arange(3)), -1, 0).astype(np.float32))
    assert_close(nn.one_hot(np.array(-1), 2), np.zeros(2))
    assert_close(nn.one_hot(np.array([1]), 2, dtype=np.int32), np.array([[0, 1]], np.int32))
    with pytest.raises(TypeError, match="static int"):
        nn.one_hot(x, 2.5)


@given(x=arrays(F64, (3, 4), min_value=-10, max_value=10))
def test_standardize(x):
    out = eager_and_staged(nn.standardize, x)
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    assert_close(out, (x - mean) / np.sqrt(var + 1e-5))
    out = nn.standardize(x, axis=0, mean=1.0, variance=4.0, epsilon=0.0)
    assert_close(out, (x - 1.0) / 2.0)


@settings(max_examples=5)
@given(x=arrays(F64, (2, 4), min_value=-3, max_value=3))
def test_standardize_gradients(x):
    x = x + np.arange(4.0)  # keeps the variance away from 0
    check_grads(nn.standardize, (x,), order=2)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_float32_is_kept(name):
    fn, _ = REFERENCES[name]
    x = np.array([-2.0, 0.5, 3.0], np.float32)
    assert np.asarray(fn(x)).dtype == np.float32
    for jac in (funcgrad.jacrev, funcgrad.jacfwd):
        d32 = jac(fn)(x)
        assert np.asarray(d32).dtype == np.float32
        assert_close(d32, np.asarray(jac(fn)(x.astype(F64))).astype(np.float32), atol=1e-6)


def test_float32_softmaxes():
    x = np.array([-2.0, 0.5, 3.0], np.float32)
    for fn in (nn.softmax, nn.log_softmax, nn.standardize):
        assert np.asarray(fn(x)).dtype == np.float32
        assert np.asarray(funcgrad.jacrev(fn)(x)).dtype == np.float32
