"""vmap's API: in_axes/out_axes (ints, negatives, None, pytree prefixes),
nesting, composition with autodiff, and its errors.  References are Python
loops over the batch."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax, vmap
from tests.util import arrays, assert_close


def loop(f, in_axes, out_axis, *args):
    """Reference: apply ``f`` member by member and stack at ``out_axis``."""
    size = next(np.shape(a)[ax] for a, ax in zip(args, in_axes, strict=True) if ax is not None)
    outs = []
    for i in range(size):
        member = [a if ax is None else np.take(np.asarray(a), i, axis=ax)
                  for a, ax in zip(args, in_axes, strict=True)]
        outs.append(np.asarray(f(*member)))
    return np.stack(outs, axis=out_axis)


def f_elementwise(x, y):
    return lax.add(lax.mul(lax.sin(x), y), lax.exp(lax.neg(x)))


@given(data=st.data())
def test_random_in_and_out_axes_match_a_loop(data):
    shape = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple))
    x = data.draw(arrays(np.float64, shape))
    ax = data.draw(st.integers(-len(shape), len(shape) - 1))
    size = shape[ax]
    example = shape[:ax % len(shape)] + shape[ax % len(shape) + 1:]
    y_batched = data.draw(st.booleans())
    y = data.draw(arrays(np.float64, (size,) + example if y_batched else example))
    out_axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    in_axes = (ax, 0 if y_batched else None)
    got = vmap(f_elementwise, in_axes=in_axes, out_axes=out_axis)(x, y)
    assert_close(got, loop(f_elementwise, in_axes, out_axis, x, y))


def test_nested_vmap_maps_two_axes():
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    # The outer vmap takes axis 0 of x (size 2) and puts it last; the inner
    # one maps axis 1 of each (3, 4) member (size 4) to the front.
    inner = vmap(f_elementwise, in_axes=(1, None), out_axes=0)
    got = vmap(inner, in_axes=(0, None), out_axes=2)(x, 2.0)
    ref = np.empty((4, 3, 2))
    for i in range(2):
        for k in range(4):
            ref[k, :, i] = np.sin(x[i, :, k]) * 2.0 + np.exp(-x[i, :, k])
    assert_close(got, ref)


def test_pytree_prefixes_and_unbatched_outputs():
    params = {"w": np.arange(6.0).reshape(2, 3), "b": np.ones(3)}
    xs = np.arange(8.0).reshape(4, 2)

    def predict(p, x):
        return {"y": jnp.tanh(x @ p["w"] + p["b"]), "n": jnp.sum(p["b"])}

    out = vmap(predict, in_axes=({"w": None, "b": None}, 0), out_axes={"y": 0, "n": None})(
        params, xs)
    assert_close(out["y"], np.tanh(xs @ params["w"] + params["b"]))
    assert_close(out["n"], np.float64(3.0))
    # An unbatched output with an integer out_axes is broadcast.
    out = vmap(predict, in_axes=(None, 0))(params, xs)
    assert_close(out["n"], np.full(4, 3.0))
    # Batching a dict leaf at a negative axis.
    ws = np.stack([params["w"]] * 5, axis=-1)
    out = vmap(lambda w: jnp.sum(w), in_axes=-1)(ws)
    assert_close(out, np.full(5, 15.0))


def test_axis_size_without_mapped_inputs_and_list_in_axes():
    out = vmap(lambda x: x * 2.0, in_axes=None, axis_size=3)(np.ones(2))
    assert_close(out, np.full((3, 2), 2.0))
    out = vmap(lambda x, y: x + y, in_axes=[0, None])(np.arange(3.0), 1.0)
    assert_close(out, np.arange(3.0) + 1.0)


def test_per_example_gradients_and_grad_of_vmap():
    rng = np.random.default_rng(1)
    w, xs, ys = rng.normal(size=3), rng.normal(size=(5, 3)), rng.normal(size=5)

    def loss(w, x, y):
        return (jnp.tanh(jnp.dot(x, w)) - y) ** 2

    per_example = vmap(funcgrad.grad(loss), in_axes=(None, 0, 0))(w, xs, ys)
    ref = np.stack([np.asarray(funcgrad.grad(loss)(w, x, y)) for x, y in zip(xs, ys)])
    assert_close(per_example, ref)
    total = funcgrad.grad(lambda w: jnp.sum(vmap(loss, in_axes=(None, 0, 0))(w, xs, ys)))(w)
    assert_close(total, ref.sum(axis=0))
    hs = vmap(funcgrad.hessian(loss), in_axes=(None, 0, 0))(w, xs, ys)
    ref_h = np.stack([np.asarray(funcgrad.hessian(loss)(w, x, y)) for x, y in zip(xs, ys)])
    assert_close(hs, ref_h, rtol=1e-10, atol=1e-12)


def test_jvp_of_vmap_and_vmap_of_jvp():
    xs = np.linspace(0.1, 1.0, 4)
    _, t = funcgrad.jvp(vmap(jnp.sin), (xs,), (np.ones(4),))
    assert_close(t, np.cos(xs))
    t = vmap(lambda x: funcgrad.jvp(jnp.sin, (x,), (1.0,))[1])(xs)
    assert_close(t, np.cos(xs))


def test_vmap_under_make_jaxpr_and_of_make_jaxpr_style_staging():
    closed = funcgrad.make_jaxpr(vmap(f_elementwise, in_axes=(0, None)))(np.ones((3, 2)),
                                                                        np.ones(2))
    funcgrad.check_jaxpr(closed)
    x = np.arange(6.0).reshape(3, 2)
    (value,) = funcgrad.eval_jaxpr(closed.jaxpr, closed.consts, x, np.full(2, 0.5))
    assert_close(value, np.sin(x) * 0.5 + np.exp(-x))


def test_python_control_flow_on_batched_values_is_refused():
    def f(x):
        return x if x > 0 else -x

    with pytest.raises(funcgrad.ConcretizationTypeError, match="vmap batch"):
        vmap(f)(np.ones(3))
    # On an unbatched value it works.
    assert_close(vmap(lambda x, c: x * (2.0 if c > 0 else 3.0), in_axes=(0, None))(
        np.ones(2), 1.0), np.full(2, 2.0))


def test_errors_name_the_argument_and_the_sizes():
    with pytest.raises(ValueError, match=r"inconsistent sizes.*size 3: args\[0\].*size 4: "
                                         r"args\[1\]\['w'\]"):
        vmap(lambda x, p: x)(np.ones(3), {"w": np.ones(4)})
    with pytest.raises(ValueError, match=r"args\[0\].*axis 2.*rank 1"):
        vmap(lambda x: x, in_axes=2)(np.ones(3))
    with pytest.raises(ValueError, match="out_axes is None.*varies"):
        vmap(lambda x: x, out_axes=None)(np.ones(3))
    with pytest.raises(ValueError, match="in_axes has 1 entries"):
        vmap(lambda x, y: x, in_axes=(0,))(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="tree prefix"):
        vmap(lambda p: p["a"], in_axes=({"b": 0},))({"a": np.ones(3)})
    with pytest.raises(ValueError, match="at least one mapped argument"):
        vmap(lambda x: x, in_axes=None)(np.ones(3))
    with pytest.raises(TypeError, match="ints or None"):
        vmap(lambda x: x, in_axes="0")(np.ones(3))
    with pytest.raises(ValueError, match="out_axes 3 is out of range"):
        vmap(lambda x: x, out_axes=3)(np.ones((2, 2)))
