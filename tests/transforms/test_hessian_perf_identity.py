"""What ``jacfwd``/``jacrev``/``hessian`` stage once the identity basis they
push through the linear map is simplified away (issue 5: ``jit(hessian)``
of a logistic NLL computed ``X @ I``): golden jaxprs, and values against
analytic formulas, the eager transform and the program staged without the
rewrite."""
import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import hessian, jacfwd, jacrev
from funcgrad.core import staging
from tests.util import assert_close

RNG = np.random.default_rng(5)


def nll(w, x, y):
    z = x @ w
    return jnp.sum(jnp.logaddexp(0.0, z) - y * z)


def nll_hessian(w, x):
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    return (x.T * (p * (1 - p))) @ x


@pytest.fixture
def no_rewrite(monkeypatch):
    """Staging records every equation as it comes (the reference program)."""
    def off():
        monkeypatch.setattr(staging, "rewrite_eqn", lambda *a, **k: None)
    return off


def test_golden_jacobians_of_a_linear_map_are_the_matrix():
    x = np.arange(6.0).reshape(3, 2)
    for transform in (jacfwd, jacrev):
        closed = funcgrad.make_jaxpr(transform(lambda w: x @ w))(np.ones(2))
        assert str(closed) == ("{ lambda a:f64[3,2]; b:f64[2]. let\n"
                               "  in (a,) }"), transform.__name__


GOLDEN_NLL_HESSIAN = """\
{ lambda ; a:f64[2] b:f64[3,2] c:f64[3]. let
    d:f64[2,1] = expand_dims[dimensions=(1,)] a
    e:f64[3,1] = dot_general[dimension_numbers=(((1,), (0,)), ((), ()))] b d
    f:f64[3] = reshape[new_sizes=(3,)] e
    g:f64[3] = sub 0.0 f
    h:bool[3] = eq 0.0 f
    i:bool[3] = and h False
    j:f64[3] = broadcast_in_dim[shape=(3,), broadcast_dimensions=()] 0.0
    k:f64[3] = select_n i g j
    l:f64[3] = neg k
    m:f64[3] = logistic l
    n:f64[3] = sub 1.0 m
    o:f64[3] = mul m n
    p:f64[3,2,1] = reshape[new_sizes=(3, 2, 1)] b
    q:f64[2,3] = reshape[new_sizes=(2, 3), dimensions=(1, 0, 2)] p
    r:f64[2,3] = neg q
    s:bool[2,3] = broadcast_in_dim[shape=(2, 3), broadcast_dimensions=(1,)] i
    t:f64[2,3] = broadcast_in_dim[shape=(2, 3), broadcast_dimensions=(1,)] j
    u:f64[2,3] = select_n s r t
    v:f64[2,3] = neg u
    w:f64[2,3] = broadcast_in_dim[shape=(2, 3), broadcast_dimensions=(1,)] o
    x:f64[2,3] = mul v w
    y:f64[2,1,3] = broadcast_in_dim[shape=(2, 1, 3), broadcast_dimensions=(0, 2)] x
    z:f64[2,1,3,1] = reshape[new_sizes=(2, 1, 3, 1)] y
    ba:f64[2,1,1,2] = dot_general[dimension_numbers=(((2,), (0,)), ((), ()))] z b
    bb:f64[2,1,2,1] = transpose[permutation=(0, 1, 3, 2)] ba
    bc:f64[2,1,2] = squeeze[dimensions=(3,)] bb
    bd:f64[2,2] = reshape[new_sizes=(2, 2)] bc
    be:f64[2,2] = transpose[permutation=(1, 0)] bd
  in (be,) }"""


def test_golden_logistic_hessian_has_no_identity_product():
    # Two products only, X @ w and X^T diag(s) X; no basis (no iota, no
    # constant eye), nothing of size N*D*D.
    closed = funcgrad.make_jaxpr(hessian(nll))(np.ones(2), np.ones((3, 2)), np.ones(3))
    assert str(closed) == GOLDEN_NLL_HESSIAN
    names = [e.primitive.name for e in closed.eqns]
    assert names.count("dot_general") == 2 and "iota" not in names
    big = funcgrad.make_jaxpr(hessian(nll))(np.ones(7), np.ones((50, 7)), np.ones(50))
    assert big.consts == []
    assert max(v.aval.size for e in big.eqns for v in e.outvars) == 50 * 7


def test_logistic_hessian_values(no_rewrite):
    n, d = 60, 6
    x, w = RNG.normal(size=(n, d)), RNG.normal(size=d)
    y = (RNG.uniform(size=n) < 0.5).astype(np.float64)
    expected = nll_hessian(w, x)
    compiled = funcgrad.jit(hessian(nll))(w, x, y)
    assert_close(compiled, expected, rtol=1e-11, atol=1e-12)
    assert_close(hessian(nll)(w, x, y), expected, rtol=1e-11, atol=1e-12)
    no_rewrite()
    assert_close(compiled, funcgrad.jit(hessian(lambda *a: nll(*a)))(w, x, y), rtol=1e-13,
                 atol=1e-14)


def _staged_value(f, *args):
    closed = funcgrad.make_jaxpr(f)(*args)
    return staging.eval_jaxpr(closed.jaxpr, closed.consts, *args)


def test_pytree_and_matrix_inputs(no_rewrite):
    # Several inputs: each block of the basis is a shifted identity, so the
    # products become pads; a matrix input's basis is reshaped (left as is).
    # One compiled program (compiling is the slow part); the others staged.
    x = RNG.normal(size=(8, 3))

    def f(w, b, m):
        h = jnp.tanh(x @ w + b[0])
        return jnp.sum(jnp.sin((x * h[:, None]) @ m) ** 2) + jnp.sum(b ** 3)

    args = (RNG.normal(size=3), RNG.normal(size=2), RNG.normal(size=(3, 2)))
    h = hessian(f, argnums=(0, 1, 2))
    compiled = funcgrad.tree_util.tree_leaves(funcgrad.jit(h)(*args))
    eager = funcgrad.tree_util.tree_leaves(h(*args))
    staged = _staged_value(jacrev(jacfwd(f, argnums=(0, 1, 2)), argnums=(0, 1, 2)), *args)
    no_rewrite()
    reference = _staged_value(h, *args)
    for got in (compiled, staged):
        for a, e, r in zip(got, eager, reference, strict=True):
            assert_close(a, e, rtol=1e-10, atol=1e-12)
            assert_close(a, r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_jacobians_of_vector_functions(dtype):
    x = RNG.normal(size=(5, 4)).astype(dtype)
    w = RNG.normal(size=4).astype(dtype)

    def f(v):
        return jnp.tanh(x @ v) * jnp.sum(v)

    # Analytic: d/dv [tanh(Xv) s] = diag(1 - tanh^2) X s + tanh(Xv) 1^T.
    t = np.tanh(x @ w)
    expected = (1 - t ** 2)[:, None] * x * w.sum() + t[:, None]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for transform in (jacfwd, jacrev):
        out = funcgrad.jit(transform(f))(w)
        assert np.asarray(out).dtype == dtype
        assert_close(out, expected.astype(dtype), rtol=tol, atol=tol, err_msg=transform.__name__)
