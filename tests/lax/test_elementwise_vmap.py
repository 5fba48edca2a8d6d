"""vmap of every elementwise primitive (``funcgrad.lax.elementwise`` and
``funcgrad.lax.special``) against a Python loop over the batch members.

For each primitive hypothesis draws a dtype signature, the members' shapes
(0-d operands mixed with full ones where the primitive allows it), and for
each of one or two nested vmap levels the batch size, every operand's
in_axis (negative, or ``None``: the operand is shared by the members) and
every output's out_axis.  The reference applies the primitive to each batch
member (``np.take`` along the in_axis) and stacks the results at the out_axis
(``np.stack``); nested vmaps are compared with nested loops.  The vmapped
function runs eagerly and staged (``make_jaxpr`` + ``eval_jaxpr``).

``vmap(jvp(f))`` and ``vmap(grad(f))`` of the primitives with float (or
complex) operands are compared with loops of the same derivative: that
batches the primitives the derivative rules emit, tangents and cotangents
batched or not.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
from funcgrad import lax, tree_util, vmap
from funcgrad.core.trace import get_aval
from funcgrad.lax import elementwise as elementwise_module
from funcgrad.lax import special as special_module
from tests.lax.test_elementwise import BINARY, UNARY_FLOAT
from tests.util import arrays, assert_close, eager_and_staged, shapes

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
C64, C128 = np.dtype(np.complex64), np.dtype(np.complex128)
I32, I64, U32 = np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.uint32)
BOOL = np.dtype(np.bool_)
FULL_RANGE = (-2**64, 2**64)   # clipped to each integer dtype's range by ``arrays``


# ------------------------------------------------------------ operands
@dataclass(frozen=True)
class Kind:
    """One operand of a signature: its dtype, the range of its values, and
    whether it may be 0-d while the other operands are not."""
    dtype: np.dtype
    lo: float = -3.0
    hi: float = 3.0
    scalar_ok: bool = True
    integral: bool = False     # float values rounded to integers (polygamma's order)
    nonfinite: bool = False    # floats include nan and +-inf

    def values(self, shape):
        dt = self.dtype
        if dt.kind == "c":
            part = arrays(np.finfo(dt).dtype, shape, min_value=self.lo, max_value=self.hi)
            if self.integral:
                part = part.map(np.round)
            return st.tuples(part, part).map(lambda p: (p[0] + 1j * p[1]).astype(dt))
        if self.nonfinite:
            return hnp.arrays(dt, shape, elements=st.floats(width=dt.itemsize * 8))
        strategy = arrays(dt, shape, min_value=self.lo, max_value=self.hi)
        return strategy.map(np.round) if self.integral else strategy


@dataclass(frozen=True)
class Operand:
    """A member operand: its shape (without batch axes) and its kind."""
    shape: tuple
    kind: Kind

    @property
    def dtype(self):
        return self.kind.dtype


@dataclass(frozen=True)
class Spec:
    """How to test one primitive: the function binding it and the dtype
    signatures of its operands.  Derivatives are taken with respect to the
    inexact operands except those listed in ``no_diff``."""
    primitive: str
    fn: Callable
    signatures: tuple
    no_diff: tuple = ()


# ------------------------------------------------------ staging regression
def test_staged_reshape_chain_keeps_its_transpose():
    """A reshape with ``dimensions`` transposes: a chain of reshapes that
    returns to the input's shape through one is not the identity (vmap's
    reshape rule emits such chains)."""
    x = np.arange(4.0).reshape(2, 2)
    closed = funcgrad.make_jaxpr(
        lambda a: lax.reshape(lax.reshape(a, (2, 2, 1)), (2, 2), dimensions=(1, 0, 2)))(x)
    assert_close(funcgrad.eval_jaxpr(closed.jaxpr, closed.consts, x)[0], x.T)


# ------------------------------------------------------ the loop reference
def member(x, axis, b):
    """Batch member ``b`` of ``x`` along ``axis`` (``x`` itself if None); a
    funcgrad Array stays one (functions may use ``x.at[]``)."""
    if axis is None:
        return x
    m = np.asarray(np.take(np.asarray(x), b, axis=axis))
    return funcgrad.Array(m) if isinstance(x, funcgrad.Array) else m


def looped(f, in_axes, out_axes_flat, size):
    """The reference for ``vmap(f, in_axes, out_axes, axis_size=size)``:
    ``f`` on each batch member, each output leaf stacked at its out_axis."""
    def run(*args):
        outs = [f(*[member(x, a, b) for x, a in zip(args, in_axes, strict=True)])
                for b in range(size)]
        leaves = [tree_util.tree_leaves(o) for o in outs]
        stacked = [np.stack([np.asarray(ls[k]) for ls in leaves], axis=axis)
                   for k, axis in enumerate(out_axes_flat)]
        return tree_util.tree_unflatten(tree_util.tree_structure(outs[0]), stacked)
    return run


def compare_trees(got, expected, **tol):
    assert tree_util.tree_structure(got) == tree_util.tree_structure(expected), (got, expected)
    for g, e in zip(tree_util.tree_leaves(got), tree_util.tree_leaves(expected), strict=True):
        assert_close(g, e, **tol)


def out_ranks(f, example_args):
    """The ranks of ``f``'s output leaves and its output tree (traced on
    ``example_args``, so value-dependent code is not a concern)."""
    _, out_shape = funcgrad.make_jaxpr(f, return_shape=True)(*example_args)
    leaves, tree = tree_util.tree_flatten(out_shape)
    return [a.ndim for a in leaves], tree


def check_vmap(data, f, operands, levels=None, **tol):
    """``f`` vmapped ``levels`` times (1 or 2, drawn if None) with drawn
    in_axes/out_axes, eagerly and staged, against nested loops."""
    levels = data.draw(st.integers(1, 2), label="levels") if levels is None else levels
    ranks, out_tree = out_ranks(f, [np.zeros(o.shape, o.dtype) for o in operands])
    arg_shapes = [tuple(o.shape) for o in operands]
    batched = reference = f
    for level in range(levels):
        size = data.draw(st.integers(1, 3), label=f"size{level}")
        in_axes = []
        for i, s in enumerate(arg_shapes):
            axis = data.draw(st.none() | st.integers(-len(s) - 1, len(s)),
                             label=f"in_axis{level}.{i}")
            if axis is not None:
                grown = list(s)
                grown.insert(axis % (len(s) + 1), size)
                arg_shapes[i] = tuple(grown)
            in_axes.append(axis)
        out_flat = [data.draw(st.integers(-r - level - 1, r + level), label=f"out_axis{level}")
                    for r in ranks]
        out_axes = tree_util.tree_unflatten(out_tree, out_flat)
        mapped = any(a is not None for a in in_axes)
        batched = vmap(batched, tuple(in_axes), out_axes, axis_size=None if mapped else size)
        reference = looped(reference, in_axes, out_flat, size)
    args = [data.draw(o.kind.values(s), label=f"arg{i}")
            for i, (o, s) in enumerate(zip(operands, arg_shapes, strict=True))]
    got = eager_and_staged(batched, *args)
    compare_trees(got, reference(*args), **tol)


def check_vmap_of_derivatives(data, f, operands, wrt, **tol):
    """``vmap(jvp(f))`` and ``vmap(grad(sum(sin(f))))`` with respect to the
    operands ``wrt``, against loops of the same derivative."""
    n = len(operands)

    def partial(args):
        def h(*diff):
            full = list(args)
            for i, d in zip(wrt, diff, strict=True):
                full[i] = d
            return f(*full)
        return h

    def with_jvp(*args):
        ops, tangents = args[:n], args[n:]
        return funcgrad.jvp(partial(ops), tuple(ops[i] for i in wrt), tuple(tangents))

    tangents = [Operand(operands[i].shape, Kind(operands[i].dtype)) for i in wrt]
    check_vmap(data, with_jvp, list(operands) + tangents, **tol)

    def with_grad(*args):
        def loss(*diff):
            y = partial(args)(*diff)
            if get_aval(y).dtype.kind == "c":
                y = lax.add(lax.real(y), lax.mul(lax.imag(y), 0.5))
            y = lax.sin(y)
            return lax.reduce_sum(y, tuple(range(np.ndim(y))))
        return funcgrad.grad(loss, argnums=tuple(range(len(wrt))))(*[args[i] for i in wrt])

    check_vmap(data, with_grad, operands, **tol)


# ------------------------------------------------------------ the table
SPECS: dict[str, Spec] = {}


def spec(name, primitive, fn, *signatures, no_diff=()):
    SPECS[name] = Spec(primitive, fn, tuple(tuple(s) for s in signatures), no_diff)


# Unary float functions, on the domains of test_elementwise's table.
for _name, (_, (_lo, _hi)) in UNARY_FLOAT.items():
    spec(_name, _name, getattr(lax, _name), *[[Kind(dt, _lo, _hi)] for dt in (F32, F64)])
spec("erf_inv", "erf_inv", lax.erf_inv, [Kind(F64, -0.99, 0.99)], [Kind(F32, -0.9, 0.9)])
spec("digamma", "digamma", lax.digamma, [Kind(F64, 0.1, 30)], [Kind(F32, 0.1, 30)])
spec("is_finite (nan, inf)", "is_finite", lax.is_finite, [Kind(F64, nonfinite=True)],
     [Kind(F32, nonfinite=True)])
spec("neg (int, complex)", "neg", lax.neg, [Kind(I32, -50, 50)], [Kind(C128)])
spec("sign (int, complex)", "sign", lax.sign, [Kind(I64, -5, 5)], [Kind(C128)])
spec("abs (int)", "abs", lax.abs, [Kind(I32, -50, 50)], [Kind(I64, -50, 50)])
spec("abs (complex)", "abs", lax.abs, [Kind(C128)], [Kind(C64)])
spec("exp (complex)", "exp", lax.exp, [Kind(C128)])
spec("not", "not", lax.bitwise_not, [Kind(BOOL)], [Kind(I32, *FULL_RANGE)],
     [Kind(U32, *FULL_RANGE)])
for _name in ("real", "imag", "conj"):
    spec(_name, _name, getattr(lax, _name), [Kind(C128)], [Kind(C64)])
spec("stop_gradient", "stop_gradient", lax.stop_gradient, [Kind(F64)], [Kind(F32)],
     [Kind(I32, -5, 5)], [Kind(BOOL)])
for _method, _label in ((lax.ROUND_AWAY_FROM_ZERO, "away"), (lax.ROUND_TO_NEAREST_EVEN, "even")):
    spec(f"round ({_label})", "round", lambda x, m=_method: lax.round(x, m),
         [Kind(F64, -8, 8)], [Kind(F32, -8, 8)])
    # Exact multiples of 1/2, where the two methods differ.
    spec(f"round halves ({_label})", "round",
         lambda x, m=_method: lax.round(lax.mul(lax.round(lax.mul(x, 2.0)), 0.5), m),
         [Kind(F64, -4, 4)])
for _y in (-3, -1, 0, 1, 2, 3, 7):
    spec(f"integer_pow y={_y}", "integer_pow", lambda x, y=_y: lax.integer_pow(x, y),
         [Kind(F64, 0.5, 2.0)], [Kind(F32, 0.5, 2.0)],
         *([[Kind(I32, -5, 5)], [Kind(C128, -1, 1)]] if _y >= 0 else []))
for _src, _dst, _weak in [(F64, I32, False), (F32, F64, False), (F64, F32, False),
                          (I32, F64, False), (BOOL, F32, False), (F64, BOOL, False),
                          (I64, I32, False), (C128, F64, False), (F64, C128, False),
                          (F32, F32, True), (I32, U32, False)]:
    spec(f"convert {_src.name}->{_dst.name}{' weak' if _weak else ''}", "convert_element_type",
         lambda x, d=_dst, w=_weak: lax.convert_element_type_p.bind(x, new_dtype=d, weak_type=w),
         [Kind(_src, -1e3, 1e3)])

# Binary operations; any operand may be 0-d.
_POSITIVE_RHS = {"pow", "rem", "div"}
for _name in BINARY:
    _lo = 0.1 if _name in _POSITIVE_RHS else -10
    spec(_name, _name, getattr(lax, _name),
         *[[Kind(dt, _lo, 10), Kind(dt, _lo, 10)] for dt in (F32, F64)])
spec("add/sub/mul (int)", "add", lambda x, y: lax.sub(lax.add(x, y), lax.mul(x, y)),
     [Kind(I32, -100, 100), Kind(I32, -100, 100)], [Kind(I64, -100, 100), Kind(I64, -100, 100)],
     [Kind(U32, 0, 100), Kind(U32, 0, 100)])
spec("mul (complex)", "mul", lax.mul, [Kind(C128), Kind(C128)])
spec("div (int, toward zero)", "div", lax.div, [Kind(I32, -50, 50), Kind(I32, 1, 9)],
     [Kind(I64, -50, 50), Kind(I64, 1, 9)])
spec("rem (int)", "rem", lax.rem, [Kind(I32, -50, 50), Kind(I32, 1, 9)])
for _name in ("max", "min"):
    spec(f"{_name} (bool, int, ties)", _name, getattr(lax, _name), [Kind(BOOL), Kind(BOOL)],
         [Kind(I32, -3, 3), Kind(I32, -3, 3)], [Kind(F64, -2, 2, integral=True),
                                                 Kind(F64, -2, 2, integral=True)])
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    spec(f"{_name} (bool, int, ties)", _name, getattr(lax, _name), [Kind(BOOL), Kind(BOOL)],
         [Kind(I64, -2, 2), Kind(I64, -2, 2)], [Kind(U32, 0, 3), Kind(U32, 0, 3)],
         [Kind(F32, -2, 2, integral=True), Kind(F32, -2, 2, integral=True)],
         *([[Kind(C128, -1, 1, integral=True), Kind(C128, -1, 1, integral=True)]]
           if _name in ("eq", "ne") else []))
for _name, _fn in [("and", lax.bitwise_and), ("or", lax.bitwise_or), ("xor", lax.bitwise_xor)]:
    spec(_name, _name, _fn, [Kind(BOOL), Kind(BOOL)],
         [Kind(I32, *FULL_RANGE), Kind(I32, *FULL_RANGE)],
         [Kind(U32, *FULL_RANGE), Kind(U32, *FULL_RANGE)],
         [Kind(I64, *FULL_RANGE), Kind(I64, *FULL_RANGE)])
for _name in ("shift_left", "shift_right_logical", "shift_right_arithmetic"):
    # Shifts of the bit width or more, and negative ones, included.
    spec(_name, _name, getattr(lax, _name),
         *[[Kind(dt, *FULL_RANGE), Kind(dt, -2, 70)] for dt in (I32, U32, I64)])
spec("polygamma", "polygamma", lax.polygamma,
     [Kind(F64, 0, 3, integral=True), Kind(F64, 0.1, 10)],
     [Kind(F32, 0, 2, integral=True), Kind(F32, 0.5, 10)], no_diff=(0,))

# select_n: bool predicates pick among 1 or 2 cases, int ones among 1 to 3;
# only the predicate may be 0-d.
_CASE = Kind(F64, scalar_ok=False)
spec("select_n bool", "select_n", lax.select_n, [Kind(BOOL), _CASE, _CASE],
     [Kind(BOOL), Kind(I32, scalar_ok=False), Kind(I32, scalar_ok=False)],
     [Kind(BOOL), Kind(BOOL, scalar_ok=False), Kind(BOOL, scalar_ok=False)],
     [Kind(BOOL), Kind(F32, scalar_ok=False)], no_diff=(0,))
spec("select_n int32", "select_n", lax.select_n, [Kind(I32, 0, 2), _CASE, _CASE, _CASE],
     [Kind(I32, 0, 1), _CASE, _CASE], [Kind(I32, 0, 0), _CASE],
     [Kind(I64, 0, 2), Kind(C128, scalar_ok=False), Kind(C128, scalar_ok=False),
      Kind(C128, scalar_ok=False)], no_diff=(0,))
# clamp: the bounds are 0-d or of x's shape; x is never 0-d alone.
spec("clamp", "clamp", lax.clamp,
     *[[Kind(dt, -4, 1), Kind(dt, -5, 5, scalar_ok=False), Kind(dt, -1, 4)]
       for dt in (F64, F32, I32, I64)])


# ------------------------------------------------------------ the tests
@st.composite
def member_operands(draw, signatures):
    """Operands of one drawn signature: a common member shape, with 0-d
    operands mixed in where allowed (at most one full operand needed)."""
    signature = draw(st.sampled_from(signatures), label="signature")
    shape = draw(shapes(max_dims=2, max_side=3), label="shape")
    full_needed = not all(k.scalar_ok for k in signature)
    out = []
    for kind in signature:
        scalar = kind.scalar_ok and draw(st.booleans())
        out.append(Operand(() if scalar else shape, kind))
    if not full_needed and all(o.shape == () for o in out):
        return [Operand(shape, o.kind) for o in out]
    return out


def _tolerance(operands):
    # Batched and per-member NumPy calls may take different (SIMD) paths.
    return {"rtol": 1e-5, "atol": 1e-6} if any(
        o.dtype in (F32, C64) for o in operands) else {}


# A few examples per case keeps the file fast under the default profile (20
# examples); the nightly profile scales them up.
FORWARD_EXAMPLES = max(1, settings().max_examples * 3 // 10)
DERIVATIVE_EXAMPLES = max(1, settings().max_examples // 5)


@pytest.mark.parametrize("name", sorted(SPECS))
@given(data=st.data())
@settings(max_examples=FORWARD_EXAMPLES)
def test_vmap_matches_loop(name, data):
    s = SPECS[name]
    operands = data.draw(member_operands(s.signatures), label="operands")
    note(f"{name}: {[(o.shape, o.dtype.name) for o in operands]}")
    check_vmap(data, s.fn, operands, **_tolerance(operands))


def _has_inexact_output(s, signature):
    _, out = funcgrad.make_jaxpr(s.fn, return_shape=True)(
        *[np.zeros((2,), k.dtype) for k in signature])
    return np.dtype(out.dtype).kind in "fc"


def _diff_signatures(s):
    """The signatures with an operand to differentiate and an inexact result."""
    return [sig for sig in s.signatures
            if any(k.dtype.kind in "fc" and i not in s.no_diff for i, k in enumerate(sig))
            and _has_inexact_output(s, sig)]


DIFFERENTIABLE = sorted(name for name, s in SPECS.items() if _diff_signatures(s))


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@given(data=st.data())
@settings(max_examples=DERIVATIVE_EXAMPLES)
def test_vmap_of_jvp_and_grad(name, data):
    s = SPECS[name]
    operands = data.draw(member_operands(_diff_signatures(s)), label="operands")
    wrt = tuple(i for i, o in enumerate(operands) if o.dtype.kind in "fc" and i not in s.no_diff)
    note(f"{name}: {[(o.shape, o.dtype.name) for o in operands]}, wrt {wrt}")
    check_vmap_of_derivatives(data, s.fn, operands, wrt, **_tolerance(operands))


# ------------------------------------------------------- specific layouts
def test_table_covers_every_elementwise_primitive():
    names = {getattr(m, n).name for m in (elementwise_module, special_module)
             for n in m.__all__ if n.endswith("_p")}
    assert names - {s.primitive for s in SPECS.values()} == set()
    # Each entry stages the primitive it claims to test.
    for name, s in SPECS.items():
        args = [np.zeros((2,), k.dtype) for k in s.signatures[0]]
        closed = funcgrad.make_jaxpr(s.fn)(*args)
        assert s.primitive in {e.primitive.name for e in closed.jaxpr.eqns}, name


def test_select_n_with_batched_0d_predicate_and_unbatched_cases():
    """Each member picks a whole case: the 0-d predicate is spread out."""
    which = np.array([0, 2, 1, 2], np.int32)
    cases = [np.full((2, 3), float(i)) for i in range(3)]
    f = lax.select_n
    for out_axis in (0, 1, -1):
        got = eager_and_staged(vmap(f, (0, None, None, None), out_axis), which, *cases)
        assert_close(got, looped(f, (0, None, None, None), [out_axis], 4)(which, *cases))
    pred = np.array([True, False])
    got = eager_and_staged(vmap(lax.select, (0, None, 1)), pred, np.ones(3), np.zeros((3, 2)))
    assert_close(got, np.array([np.ones(3), np.zeros(3)]))


def test_clamp_with_batched_0d_bounds_and_unbatched_operand():
    lo, hi = np.array([-1.0, 0.0, 0.5]), np.array([1.0, 0.25, 2.0])
    x = np.linspace(-2, 2, 5)
    got = eager_and_staged(vmap(lax.clamp, (0, None, 0), -1), lo, x, hi)
    assert_close(got, np.stack([np.clip(x, a, b) for a, b in zip(lo, hi, strict=True)], -1))


def test_binary_with_batched_0d_and_unbatched_full_operand():
    """Each member's 0-d operand meets a shared (3, 2) operand; the batch
    axis lands at the requested out_axes wherever the rule put it."""
    s = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.arange(6.0).reshape(3, 2)
    for out_axis in (0, 1, 2, -2):
        got = eager_and_staged(vmap(lax.sub, (0, None), out_axis), s, y)
        assert_close(got, np.stack([a - y for a in s], out_axis))


def test_elementwise_batching_keeps_the_batch_axis_in_place():
    """An operand batched at its last axis is not transposed: one equation."""
    x = np.ones((3, 4, 5))
    closed = funcgrad.make_jaxpr(vmap(lax.sin, in_axes=2, out_axes=2))(x)
    assert [e.primitive.name for e in closed.jaxpr.eqns] == ["sin"]
    closed = funcgrad.make_jaxpr(vmap(lax.mul, in_axes=(1, 1), out_axes=1))(x, x)
    assert [e.primitive.name for e in closed.jaxpr.eqns] == ["mul"]


def test_per_example_gradient_of_a_composite():
    """vmap(grad) of a function mixing many elementwise primitives, with a
    shared (unbatched) parameter."""
    def f(w, x):
        z = lax.mul(w, x)
        z = lax.select(lax.gt(z, 0.0), lax.logistic(z), lax.expm1(z))
        z = lax.clamp(-0.5, lax.add(z, lax.integer_pow(x, 3)), 2.0)
        return lax.reduce_sum(lax.mul(lax.atan2(z, lax.add(lax.abs(x), 1.0)), lax.erf(w)), (0,))

    rng = np.random.default_rng(0)
    w, xs = rng.normal(size=4), rng.normal(size=(5, 4))
    g = funcgrad.grad(f)
    got = eager_and_staged(vmap(g, (None, 0)), w, xs)
    assert_close(got, np.stack([np.asarray(g(w, x)) for x in xs]))
    gx = funcgrad.grad(f, argnums=1)
    # Two levels: member (i, j) is xs[i] + xs[i, j], batched at axes 0 and 2.
    pairs = xs[:, :, None] + xs[:, None, :]
    got = eager_and_staged(vmap(vmap(gx, (None, 1), 1), (None, 0)), w, pairs)
    assert_close(got, np.stack([np.stack([np.asarray(gx(w, xs[i] + xs[i, j])) for j in range(4)],
                                         1) for i in range(5)]))


def test_vmap_of_grad_of_complex_abs():
    z = np.array([1 + 1j, -2 + 0.5j, 3j])
    g = funcgrad.grad(lambda v: lax.sin(lax.abs(v)))
    got = vmap(g)(z)
    # JAX's convention for a real function of z is the conjugate of the
    # Wirtinger gradient (grad of |z|**2 is 2 conj(z)): cos|z| conj(z)/|z|.
    assert_close(got, np.cos(np.abs(z)) * np.conj(z) / np.abs(z))
    assert_close(funcgrad.grad(lambda v: lax.abs(v) ** 2)(3 + 4j), 6 - 8j, check_dtype=False)
