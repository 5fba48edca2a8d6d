"""funcgrad.numpy manipulation functions against the NumPy function of the
same name, eagerly and staged, over generated shapes, dtypes and arguments.

Each entry of ``CASES`` draws ``(args, call)``: ``call(module, *args)``
applies the function of ``module`` (``numpy`` or ``funcgrad.numpy``) to the
traced ``args`` with the static arguments it closed over.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
import funcgrad.numpy as jnp
from funcgrad.numpy import manipulation
from tests.util import arrays, assert_close, check_against_numpy, eager_and_staged

DTYPES = [np.dtype(t) for t in (np.float64, np.float32, np.int32, np.bool_)]


# -------------------------------------------------------------- strategies
def shape_st(min_dims=0, max_dims=3, min_side=0, max_side=4):
    return st.lists(st.integers(min_side, max_side), min_size=min_dims,
                    max_size=max_dims).map(tuple)


def array_of(draw, shape, dtype=None, dtypes=DTYPES):
    dtype = draw(st.sampled_from(dtypes)) if dtype is None else np.dtype(dtype)
    return draw(arrays(dtype, shape))


def array_st(draw, min_dims=0, max_dims=3, min_side=0, max_side=4, dtypes=DTYPES):
    return array_of(draw, draw(shape_st(min_dims, max_dims, min_side, max_side)), dtypes=dtypes)


def axis_st(ndim, allow_none=False):
    s = st.integers(-ndim, ndim - 1) if ndim else st.nothing()
    return (st.none() | s) if allow_none else s


def axes_subset(draw, ndim, negative=True):
    axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)) if ndim else []
    return tuple(a - ndim if negative and draw(st.booleans()) else a for a in axes)


CASES = {}


class Call:
    """A case's ``call(module, *args)``, shown with the static values it
    closes over so that hypothesis reports them."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args):
        return self.fn(*args)

    def __repr__(self):
        cells = self.fn.__closure__ or ()
        names = self.fn.__code__.co_freevars
        return "Call(" + ", ".join(f"{n}={c.cell_contents!r}" for n, c in zip(names, cells)) + ")"


def case(name):
    def register(fn):
        def wrapped(draw):
            args, call = fn(draw)
            return args, Call(call)
        CASES[name] = st.composite(wrapped)()
        return fn
    return register


def divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0] or [1]


@case("reshape")
def _reshape(draw):
    x = array_st(draw)
    size, dims, rest = x.size, [], x.size
    for _ in range(draw(st.integers(0, 3))):
        d = draw(st.sampled_from(divisors(rest) if rest else [0, 1, 2]))
        dims.append(d)
        rest = rest // d if d else rest
    if size == 0 and 0 not in dims:
        dims.append(0)
    elif size:
        dims.append(rest)
    if size and dims and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    order = draw(st.sampled_from(["C", "F"]))
    return (x,), lambda m, x: m.reshape(x, tuple(dims), order=order)


@case("ravel")
def _ravel(draw):
    order = draw(st.sampled_from(["C", "F"]))
    return (array_st(draw),), lambda m, x: m.ravel(x, order=order)


@case("transpose")
def _transpose(draw):
    x = array_st(draw)
    axes = draw(st.none() | st.permutations(range(x.ndim)).map(tuple))
    if axes and draw(st.booleans()):
        axes = tuple(a - x.ndim for a in axes)
    return (x,), lambda m, x: m.transpose(x, axes)


@case("permute_dims")
def _permute_dims(draw):
    x = array_st(draw)
    axes = tuple(draw(st.permutations(range(x.ndim))))
    return (x,), lambda m, x: m.permute_dims(x, axes)


@case("moveaxis")
def _moveaxis(draw):
    x = array_st(draw, min_dims=1)
    src = axes_subset(draw, x.ndim)
    dst = tuple(draw(st.permutations(range(x.ndim))))[:len(src)]
    return (x,), lambda m, x: m.moveaxis(x, src, dst)


@case("swapaxes")
def _swapaxes(draw):
    x = array_st(draw, min_dims=1)
    a, b = draw(axis_st(x.ndim)), draw(axis_st(x.ndim))
    return (x,), lambda m, x: m.swapaxes(x, a, b)


@case("squeeze")
def _squeeze(draw):
    x = array_st(draw, max_side=2)
    ones = [i for i, s in enumerate(x.shape) if s == 1]
    axis = draw(st.none() | st.lists(st.sampled_from(ones), unique=True).map(tuple)
                if ones else st.none())
    if axis is not None and len(axis) == 1 and draw(st.booleans()):
        axis = axis[0] - x.ndim
    return (x,), lambda m, x: m.squeeze(x, axis)


@case("expand_dims")
def _expand_dims(draw):
    x = array_st(draw)
    n = draw(st.integers(1, 2))
    out = x.ndim + n
    axis = tuple(draw(st.lists(st.integers(-out, out - 1), min_size=n, max_size=n).filter(
        lambda a: len({v % out for v in a}) == len(a))))
    axis = axis[0] if n == 1 else axis
    return (x,), lambda m, x: m.expand_dims(x, axis)


def joined(draw, count, shape, axis=None):
    """``count`` arrays of ``shape`` (differing along ``axis``), dtypes mixed."""
    out = []
    for _ in range(count):
        s = list(shape)
        if axis is not None:
            s[axis] = draw(st.integers(0, 3))
        out.append(array_of(draw, tuple(s)))
    return out


@case("stack")
def _stack(draw):
    shape = draw(shape_st(max_dims=2))
    xs = joined(draw, draw(st.integers(1, 3)), shape)
    axis = draw(axis_st(len(shape) + 1))
    return (xs,), lambda m, xs: m.stack(xs, axis=axis)


@case("concatenate")
def _concatenate(draw):
    shape = draw(shape_st(min_dims=1))
    axis = draw(st.integers(0, len(shape) - 1))
    xs = joined(draw, draw(st.integers(1, 3)), shape, axis)
    ax = draw(st.sampled_from([axis, axis - len(shape), None]))
    return (xs,), lambda m, xs: m.concatenate(xs, axis=ax)


@case("concat")
def _concat(draw):
    shape = draw(shape_st(min_dims=1))
    axis = draw(st.integers(0, len(shape) - 1))
    xs = joined(draw, draw(st.integers(1, 3)), shape, axis)
    return (xs,), lambda m, xs: m.concat(xs, axis=axis)


def stacked_case(name, max_dims):
    @case(name)
    def _draw(draw):
        shape = draw(shape_st(max_dims=max_dims, min_side=1))
        xs = joined(draw, draw(st.integers(1, 3)), shape)
        return (xs,), lambda m, xs: getattr(m, name)(xs)


for _name, _nd in [("hstack", 3), ("vstack", 3), ("dstack", 3), ("column_stack", 2)]:
    stacked_case(_name, _nd)


def split_args(draw, x, axis, equal):
    n = x.shape[axis]
    if draw(st.booleans()):
        return draw(st.sampled_from(divisors(n))) if equal else draw(st.integers(1, n + 2))
    return sorted(draw(st.lists(st.integers(-n - 1, n + 2), max_size=3)))


def split_case(name, axis_of, min_dims):
    @case(name)
    def _draw(draw):
        x = array_st(draw, min_dims=min_dims)
        axis = axis_of(draw, x)
        sections = split_args(draw, x, axis, name != "array_split")
        if name in ("split", "array_split"):
            return (x,), lambda m, x: getattr(m, name)(x, sections, axis=axis)
        return (x,), lambda m, x: getattr(m, name)(x, sections)


split_case("split", lambda d, x: d(axis_st(x.ndim)), 1)
split_case("array_split", lambda d, x: d(axis_st(x.ndim)), 1)
split_case("hsplit", lambda d, x: 1 if x.ndim > 1 else 0, 1)
split_case("vsplit", lambda d, x: 0, 2)
split_case("dsplit", lambda d, x: 2, 3)


@case("tile")
def _tile(draw):
    x = array_st(draw, max_dims=2)
    reps = draw(st.integers(0, 3) | st.lists(st.integers(0, 3), max_size=3).map(tuple))
    return (x,), lambda m, x: m.tile(x, reps)


@case("repeat")
def _repeat(draw):
    x = array_st(draw)
    axis = draw(axis_st(x.ndim, allow_none=True))
    n = x.size if axis is None else x.shape[axis]
    repeats = draw(st.integers(0, 3) | st.lists(st.integers(0, 3), min_size=n, max_size=n).map(
        lambda r: np.array(r, dtype=np.int64)))
    return (x,), lambda m, x: m.repeat(x, repeats, axis=axis)


@case("resize")
def _resize(draw):
    x = array_st(draw, min_side=1)
    shape = draw(shape_st(max_dims=3, max_side=5))
    return (x,), lambda m, x: m.resize(x, shape)


@case("broadcast_to")
def _broadcast_to(draw):
    target = draw(shape_st())
    cut = draw(st.integers(0, len(target)))
    shape = tuple(1 if draw(st.booleans()) else s for s in target[cut:])
    return (array_of(draw, shape),), lambda m, x: m.broadcast_to(x, target)


@case("broadcast_arrays")
def _broadcast_arrays(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_side=0, max_side=3))
    xs = [array_of(draw, s) for s in shapes.input_shapes]
    return xs, lambda m, *xs: m.broadcast_arrays(*xs)


@case("flip")
def _flip(draw):
    x = array_st(draw)
    axis = draw(st.none() | axis_st(x.ndim) | st.just(axes_subset(draw, x.ndim)))
    return (x,), lambda m, x: m.flip(x, axis)


@case("fliplr")
def _fliplr(draw):
    return (array_st(draw, min_dims=2),), lambda m, x: m.fliplr(x)


@case("flipud")
def _flipud(draw):
    return (array_st(draw, min_dims=1),), lambda m, x: m.flipud(x)


@case("roll")
def _roll(draw):
    x = array_st(draw)
    if x.ndim == 0 or draw(st.booleans()):
        axis, shift = None, draw(st.integers(-9, 9))
    elif draw(st.booleans()):
        axis, shift = draw(axis_st(x.ndim)), draw(st.integers(-9, 9))
    else:
        axis = tuple(draw(st.lists(axis_st(x.ndim), min_size=1, max_size=3)))
        shift = tuple(draw(st.lists(st.integers(-9, 9), min_size=len(axis),
                                    max_size=len(axis))))
    return (x,), lambda m, x: m.roll(x, shift, axis)


@case("rot90")
def _rot90(draw):
    x = array_st(draw, min_dims=2)
    a, b = draw(st.lists(st.integers(0, x.ndim - 1), min_size=2, max_size=2, unique=True))
    k = draw(st.integers(-5, 5))
    return (x,), lambda m, x: m.rot90(x, k, (a, b - x.ndim))


def atleast_case(name):
    @case(name)
    def _draw(draw):
        xs = [array_st(draw) for _ in range(draw(st.integers(1, 2)))]
        return xs, lambda m, *xs: getattr(m, name)(*xs)


for _name in ("atleast_1d", "atleast_2d", "atleast_3d"):
    atleast_case(_name)


@case("diag")
def _diag(draw):
    x = array_st(draw, min_dims=1, max_dims=2)
    k = draw(st.integers(-4, 4))
    return (x,), lambda m, x: m.diag(x, k)


@case("diagflat")
def _diagflat(draw):
    x = array_st(draw, max_dims=2)
    k = draw(st.integers(-3, 3))
    return (x,), lambda m, x: m.diagflat(x, k)


@case("diagonal")
def _diagonal(draw):
    x = array_st(draw, min_dims=2, max_dims=4)
    a, b = draw(st.lists(st.integers(0, x.ndim - 1), min_size=2, max_size=2, unique=True))
    k = draw(st.integers(-4, 4))
    return (x,), lambda m, x: m.diagonal(x, k, a - x.ndim * draw(st.booleans()), b)


@case("trace")
def _trace(draw):
    x = array_st(draw, min_dims=2, max_dims=3)
    a, b = draw(st.lists(st.integers(0, x.ndim - 1), min_size=2, max_size=2, unique=True))
    k = draw(st.integers(-3, 3))
    dtype = draw(st.sampled_from([None, np.float64]))
    return (x,), lambda m, x: m.trace(x, k, a, b, dtype=dtype)


def tri_case(name):
    @case(name)
    def _draw(draw):
        x = array_st(draw, min_dims=1)
        k = draw(st.integers(-4, 4))
        return (x,), lambda m, x: getattr(m, name)(x, k)


tri_case("tril")
tri_case("triu")


@case("append")
def _append(draw):
    x = array_st(draw, min_dims=1)
    axis = draw(axis_st(x.ndim, allow_none=True))
    shape = list(x.shape)
    if axis is not None:
        shape[axis] = draw(st.integers(0, 3))
    else:
        shape = draw(shape_st())
    return (x, array_of(draw, tuple(shape))), lambda m, x, v: m.append(x, v, axis=axis)


@case("insert")
def _insert(draw):
    x = array_st(draw, min_dims=1, min_side=1)
    axis = draw(axis_st(x.ndim, allow_none=True))
    n = x.size if axis is None else x.shape[axis]
    if draw(st.booleans()):
        obj = draw(st.integers(-n, n))
    else:
        obj = draw(st.lists(st.integers(-n, n), min_size=1, max_size=3))
    value = array_of(draw, (), dtype=x.dtype)
    return (x, value), lambda m, x, v: m.insert(x, obj, v, axis=axis)


@case("delete")
def _delete(draw):
    x = array_st(draw, min_dims=1, min_side=1)
    axis = draw(axis_st(x.ndim, allow_none=True))
    n = x.size if axis is None else x.shape[axis]
    obj = draw(st.integers(-n, n - 1) | st.lists(st.integers(0, n - 1), min_size=1, max_size=3)
               | st.builds(slice, st.integers(0, n), st.integers(0, n)))
    return (x,), lambda m, x: m.delete(x, obj, axis=axis)


@case("pad")
def _pad(draw):
    mode = draw(st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]))
    x = array_st(draw, min_side=0 if mode == "constant" else 1)
    width = draw(st.integers(0, 3) | st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)),
                                              min_size=x.ndim, max_size=x.ndim)
                 if x.ndim else st.integers(0, 3))
    kwargs = {}
    if mode == "constant" and draw(st.booleans()):
        kwargs["constant_values"] = draw(st.integers(-3, 3) | st.lists(
            st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=x.ndim,
            max_size=x.ndim) if x.ndim else st.integers(-3, 3))
    return (x,), lambda m, x: m.pad(x, width, mode=mode, **kwargs)


@case("select")
def _select(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=5, min_side=1, max_side=3))
    n = draw(st.integers(1, 2))
    conds = [draw(arrays(np.bool_, s)) for s in shapes.input_shapes[:n]]
    choices = [array_of(draw, s, dtypes=DTYPES[:3]) for s in shapes.input_shapes[2:2 + n]]
    default = draw(st.integers(-3, 3) | st.floats(-3, 3))
    return (conds, choices), lambda m, c, v: m.select(c, v, default)


@case("piecewise")
def _piecewise(draw):
    x = array_st(draw, dtypes=DTYPES[:2], max_dims=2)
    n = draw(st.integers(2, 3))

    def call(m, x):
        funcs = [m.sin, lambda v: v * 2, 1.5][:n]
        return m.piecewise(x, [x < 0, x > 5], funcs)
    return (x,), call


@case("ix_")
def _ix(draw):
    count = draw(st.integers(1, 3))
    xs = [draw(arrays(np.int32, (draw(st.integers(0, 3)),))) for _ in range(count)]
    return xs, lambda m, *xs: m.ix_(*xs)


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_against_numpy(name, data):
    args, call = data.draw(CASES[name], label="args")
    check_against_numpy(lambda *a: call(jnp, *a), lambda *a: call(np, *a), *args)


def test_every_public_function_is_tested():
    untested = set(manipulation.__all__) - set(CASES) - {"broadcast_shapes"}
    assert not untested


# ------------------------------------------------------------ other checks
@given(hnp.mutually_broadcastable_shapes(num_shapes=3, min_side=0))
def test_broadcast_shapes(shapes):
    assert jnp.broadcast_shapes(*shapes.input_shapes) == np.broadcast_shapes(*shapes.input_shapes)


def test_methods_and_operators():
    x = jnp.asarray(np.arange(6.0).reshape(2, 3))
    for f, g in [(lambda x: x.T, lambda x: x.T), (lambda x: x.reshape(3, 2), None),
                 (lambda x: x.reshape((3, 2)), None), (lambda x: x.reshape(-1), None),
                 (lambda x: x.transpose(1, 0), None), (lambda x: x.transpose(), None),
                 (lambda x: x.transpose((1, 0)), None), (lambda x: x.ravel(), None),
                 (lambda x: x.flatten(), None), (lambda x: x.mT, None),
                 (lambda x: x.squeeze(), None), (lambda x: x.swapaxes(0, 1), None),
                 (lambda x: x.repeat(2, axis=1), None), (lambda x: x.diagonal(1), None)]:
        check_against_numpy(f, g or f, x)


def test_results_are_immutable_arrays():
    x = np.ones((2, 3))
    out = jnp.reshape(x, (2, 3))
    assert isinstance(out, funcgrad.Array)
    x[0, 0] = 5.0
    assert float(out[0, 0]) == 1.0


def test_roll_traced_shift():
    x = np.arange(10.0).reshape(2, 5)
    for shift in (-7, -1, 0, 3, 12):
        out = eager_and_staged(lambda x, s: jnp.roll(x, s, axis=1), x, np.int64(shift))
        assert_close(out, np.roll(x, shift, axis=1))
    out = eager_and_staged(lambda x, s: jnp.roll(x, s), x, np.int32(4))
    assert_close(out, np.roll(x, 4))


def test_static_index_maps_with_many_runs():
    """Long irregular index maps go through a gather rather than slices."""
    x = np.arange(40.0).reshape(20, 2)
    repeats = np.arange(20) % 3
    check_against_numpy(lambda x: jnp.repeat(x, repeats, axis=0),
                        lambda x: np.repeat(x, repeats, axis=0), x)
    check_against_numpy(lambda x: jnp.delete(x, [1, 3, 5, 7, 9, 11, 13, 15, 17], axis=0),
                        lambda x: np.delete(x, [1, 3, 5, 7, 9, 11, 13, 15, 17], axis=0), x)
    jaxpr = str(funcgrad.make_jaxpr(lambda x: jnp.repeat(x, repeats, axis=0))(x))
    assert "gather" in jaxpr


def test_weak_types_and_dtypes():
    assert jnp.stack([np.float32(1.0), 2.0]).dtype == np.float64  # NumPy: lists are strong
    assert jnp.select([np.array([True])], [np.ones(1, np.float32)], 0.0).dtype == np.float32
    assert jnp.pad(np.ones(2, np.float32), 1, constant_values=2.5).dtype == np.float32
    assert_close(jnp.pad(np.ones(2, np.int32), 1, constant_values=2.5),
                 np.pad(np.ones(2, np.int32), 1, constant_values=2.5))


def test_errors():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="cannot reshape"):
        jnp.reshape(x, (4, 2))
    with pytest.raises(ValueError, match="only one -1"):
        jnp.reshape(x, (-1, -1))
    with pytest.raises(ValueError, match="size not equal to one"):
        jnp.squeeze(x, 0)
    with pytest.raises(np.exceptions.AxisError):
        jnp.moveaxis(x, 2, 0)
    with pytest.raises(ValueError, match="equal division"):
        jnp.split(x, 2, axis=1)
    with pytest.raises(ValueError, match="zero-dimensional"):
        jnp.concatenate([np.float64(1.0), np.float64(2.0)])
    with pytest.raises(ValueError, match="must match exactly"):
        jnp.concatenate([x, np.ones((3, 2))])
    with pytest.raises(NotImplementedError, match="linear_ramp"):
        jnp.pad(x, 1, mode="linear_ramp")
    with pytest.raises(ValueError, match="1- or 2-d"):
        jnp.diag(np.ones((2, 2, 2)))
    with pytest.raises(TypeError, match="boolean"):
        jnp.select([np.ones(2)], [np.ones(2)])
    with pytest.raises(funcgrad.ConcretizationTypeError, match="static"):
        funcgrad.make_jaxpr(lambda x, r: jnp.repeat(x, r))(np.ones(3), np.array([1, 2, 0]))
