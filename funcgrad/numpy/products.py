"""Products: ``dot``, ``matmul``, ``vdot``, ``inner``, ``outer``,
``tensordot``, ``einsum``, ``kron``, ``cross``, ``vecdot`` and
``matrix_transpose``.

Every contraction is one ``lax.dot_general`` (BLAS in compiled code; one
batched contraction for later transforms to see).  Dtypes follow NumPy:
operands are promoted together (Python scalars count as float64/int64
arrays here, as NumPy converts them), and bool products are logical (an
"or" of "and"s), computed as an integer product compared with zero.

>>> import funcgrad.numpy as jnp
>>> jnp.ones((2, 3)) @ jnp.ones(3)
Array([3., 3.], dtype=float64)
"""
from __future__ import annotations

import string

import numpy as np

from funcgrad import lax
from funcgrad.core import dtypes
from funcgrad.core.trace import get_aval
from funcgrad.numpy._util import broadcast_shapes as _broadcast_shapes
from funcgrad.numpy._util import broadcast_to as _broadcast_to
from funcgrad.numpy._util import canonicalize_axes, canonicalize_axis, convert_to
from funcgrad.numpy.manipulation import (_op, _promote_strong, _result, _shape, _slice_axis,
                                         moveaxis, ravel, reshape, stack, swapaxes, transpose)

__all__ = [
    "cross", "dot", "einsum", "inner", "kron", "matmul", "matrix_transpose", "outer", "tensordot",
    "vdot", "vecdot",
]


# ---------------------------------------------------------------- helpers
def _is_bool(x) -> bool:
    return get_aval(x).dtype == dtypes.bool_


def _dot_general(a, b, contract, batch=((), ())):
    """``lax.dot_general`` on promoted operands; bool is computed in int64."""
    dims = ((tuple(contract[0]), tuple(contract[1])), (tuple(batch[0]), tuple(batch[1])))
    if _is_bool(a):
        out = lax.dot_general(convert_to(a, dtypes.int64), convert_to(b, dtypes.int64), dims)
        return lax.ne(out, np.int64(0))
    return lax.dot_general(a, b, dims)


def _mul(a, b):
    """Elementwise product of promoted operands of equal shape (or 0-d)."""
    return lax.bitwise_and(a, b) if _is_bool(a) else lax.mul(a, b)


def _check_sizes(name, a_shape, b_shape, a_axes, b_axes):
    for i, j in zip(a_axes, b_axes, strict=True):
        if a_shape[i] != b_shape[j]:
            raise ValueError(f"{name}: shapes {a_shape} and {b_shape} not aligned: "
                             f"{a_shape[i]} (dim {i}) != {b_shape[j]} (dim {j})")


# ------------------------------------------------------------ the products
def dot(a, b, out=None):
    """NumPy's ``dot``: a scalar product for 0-d operands, the sum over the
    last axis of ``a`` and the second-to-last of ``b`` (its only axis if 1-d).

    >>> dot(jnp.array([1, 2]), jnp.array([3, 4]))
    Array(11, dtype=int64)
    """
    if out is not None:
        raise NotImplementedError("dot: the 'out' argument is not supported")
    a, b = _promote_strong("dot", [a, b])
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return _result(_mul(a, b))
    axis_b = 0 if len(sb) == 1 else len(sb) - 2
    _check_sizes("dot", sa, sb, (len(sa) - 1,), (axis_b,))
    return _result(_dot_general(a, b, ((len(sa) - 1,), (axis_b,))))


def matmul(a, b, /):
    """Matrix product with NumPy's rules: leading (batch) axes broadcast, a
    1-d first operand is a row and a 1-d second operand a column (their
    added axis is removed again).

    >>> matmul(jnp.ones((5, 2, 3)), jnp.ones((3, 4))).shape
    (5, 2, 4)
    """
    a, b = _promote_strong("matmul", [a, b])
    sa, sb = _shape(a), _shape(b)
    for i, s in enumerate((sa, sb)):
        if not s:
            raise ValueError(f"matmul: Input operand {i} does not have enough dimensions "
                             f"(has 0, gufunc core with signature (n?,k),(k,m?)->(n?,m?) "
                             f"requires 1)")
    vec_a, vec_b = len(sa) == 1, len(sb) == 1
    if vec_a:
        a, sa = lax.expand_dims(a, (0,)), (1,) + sa
    if vec_b:
        b, sb = lax.expand_dims(b, (1,)), sb + (1,)
    if sa[-1] != sb[-2]:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, "
                         f"with gufunc signature (n?,k),(k,m?)->(n?,m?) (size {sb[-2]} is "
                         f"different from {sa[-1]})")
    nb = max(len(sa), len(sb)) - 2
    ba, bb = (1,) * (nb - len(sa) + 2) + sa[:-2], (1,) * (nb - len(sb) + 2) + sb[:-2]
    out_batch = _broadcast_shapes("matmul", ba, bb)
    # Batch axes present on both sides with equal sizes become dot_general
    # batch dimensions; an axis of size 1 on one side is dropped there and
    # becomes a free axis of the other side, so nothing is materialised.
    off_a, off_b = nb - len(sa) + 2, nb - len(sb) + 2
    batch_a, batch_b, drop_a, drop_b, kinds = [], [], [], [], []
    for i in range(nb):
        ia, ib = i - off_a, i - off_b
        if ia >= 0 and ib >= 0 and ba[i] == bb[i]:
            batch_a.append(ia), batch_b.append(ib), kinds.append("batch")
        elif ia >= 0 and (ib < 0 or bb[i] == 1) and ba[i] != 1:
            kinds.append("a")
            if ib >= 0:
                drop_b.append(ib)
        elif ib >= 0 and (ia < 0 or ba[i] == 1):
            kinds.append("b")
            if ia >= 0:
                drop_a.append(ia)
        else:  # size 1 on a, absent from b
            drop_a.append(ia)
            kinds.append("one")
    if drop_a:
        a = lax.squeeze(a, tuple(drop_a))
        batch_a = [d - sum(x < d for x in drop_a) for d in batch_a]
    if drop_b:
        b = lax.squeeze(b, tuple(drop_b))
        batch_b = [d - sum(x < d for x in drop_b) for d in batch_b]
    na, nbb = len(_shape(a)), len(_shape(b))
    out = _dot_general(a, b, ((na - 1,), (nbb - 2,)), (batch_a, batch_b))
    # dot_general's result: batch axes, a's free axes, b's free axes.
    n_batch, n_a = len(batch_a), kinds.count("a") + 1
    pos_batch, pos_a, pos_b = iter(range(n_batch)), iter(range(n_batch, n_batch + n_a)), iter(
        range(n_batch + n_a, len(_shape(out))))
    perm = []
    for kind in kinds:
        if kind == "batch":
            perm.append(next(pos_batch))
        elif kind == "a":
            perm.append(next(pos_a))
        elif kind == "b":
            perm.append(next(pos_b))
    perm += [next(pos_a), next(pos_b)]
    out = transpose(out, perm)
    shape = out_batch + (() if vec_a else (sa[-2],)) + (() if vec_b else (sb[-1],))
    return _result(reshape(out, shape))


def vdot(a, b, /):
    """Dot product of the flattened arrays, conjugating the first.

    >>> vdot(jnp.ones((2, 2)), jnp.ones(4))
    Array(4., dtype=float64)
    """
    a, b = _promote_strong("vdot", [ravel(a), ravel(b)])
    if _shape(a) != _shape(b):
        raise ValueError(f"vdot: vectors have different sizes {_shape(a)[0]} and {_shape(b)[0]}")
    if dtypes.is_complex(get_aval(a).dtype):
        a = lax.conj(a)
    return _result(_dot_general(a, b, ((0,), (0,))))


def inner(a, b, /):
    """Sum of products over the last axes (a scalar product for 0-d)."""
    a, b = _promote_strong("inner", [a, b])
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return _result(_mul(a, b))
    _check_sizes("inner", sa, sb, (len(sa) - 1,), (len(sb) - 1,))
    return _result(_dot_general(a, b, ((len(sa) - 1,), (len(sb) - 1,))))


def outer(a, b, out=None):
    """``a[i] * b[j]`` of the flattened inputs.

    >>> outer(jnp.array([1, 2]), jnp.array([1, 10])).tolist()
    [[1, 10], [2, 20]]
    """
    if out is not None:
        raise NotImplementedError("outer: the 'out' argument is not supported")
    a, b = _promote_strong("outer", [ravel(a), ravel(b)])
    shape = (_shape(a)[0], _shape(b)[0])
    return _result(_mul(lax.broadcast_in_dim(a, shape, (0,)), lax.broadcast_in_dim(b, shape, (1,))))


def tensordot(a, b, axes=2):
    """Sum of products over the last ``axes`` axes of ``a`` and the first of
    ``b``, or over the axes listed in the pair ``axes``.

    >>> tensordot(jnp.ones((2, 3, 4)), jnp.ones((3, 4, 5))).shape
    (2, 5)
    """
    a, b = _promote_strong("tensordot", [a, b])
    sa, sb = _shape(a), _shape(b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > len(sa) or n > len(sb):
            raise ValueError(f"tensordot: axes={n} is invalid for shapes {sa} and {sb}")
        axes_a, axes_b = tuple(range(len(sa) - n, len(sa))), tuple(range(n))
    else:
        try:
            xa, xb = axes
        except (TypeError, ValueError):
            raise ValueError("tensordot: axes must be an int or a pair of axis sequences") from None
        axes_a = canonicalize_axes(xa, len(sa), "tensordot")
        axes_b = canonicalize_axes(xb, len(sb), "tensordot")
        if len(axes_a) != len(axes_b):
            raise ValueError("tensordot: shape-mismatch for sum (the axis lists differ in "
                             "length)")
    _check_sizes("tensordot", sa, sb, axes_a, axes_b)
    return _result(_dot_general(a, b, (axes_a, axes_b)))


def kron(a, b):
    """Kronecker product: blocks ``a[i, j] * b``.

    >>> kron(jnp.array([1, 10]), jnp.array([1, 2])).tolist()
    [1, 2, 10, 20]
    """
    a, b = _promote_strong("kron", [a, b])
    sa, sb = _shape(a), _shape(b)
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    big = tuple(v for pair in zip(sa, sb, strict=True) for v in pair)
    a = lax.broadcast_in_dim(reshape(a, sa), big, tuple(range(0, 2 * nd, 2)))
    b = lax.broadcast_in_dim(reshape(b, sb), big, tuple(range(1, 2 * nd, 2)))
    return _result(reshape(_mul(a, b), tuple(x * y for x, y in zip(sa, sb, strict=True))))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors, taken with a zero third
    component; two 2-vectors give the scalar z-component).

    >>> cross(jnp.array([1, 0, 0]), jnp.array([0, 1, 0]))
    Array([0, 0, 1], dtype=int64)
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _promote_strong("cross", [a, b])
    if _is_bool(a):
        raise TypeError("cross: bool inputs are not supported (NumPy refuses boolean "
                        "subtraction)")
    a = moveaxis(a, canonicalize_axis(axisa, get_aval(a).ndim, "cross: axisa"), -1)
    b = moveaxis(b, canonicalize_axis(axisb, get_aval(b).ndim, "cross: axisb"), -1)
    na, nb = _shape(a)[-1], _shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product (dimension must be 2 or 3)")
    batch = _broadcast_shapes("cross", _shape(a)[:-1], _shape(b)[:-1])

    def components(x, n):
        last = len(_shape(x)) - 1
        return [_broadcast_to(lax.squeeze(_slice_axis(x, i, i + 1, last), (last,)), batch,
                              "cross") for i in range(n)] + [None] * (3 - n)

    comps_a, comps_b = components(a, na), components(b, nb)

    def term(i, j, k):  # a_i b_j - a_j b_i, skipping products with a missing zero
        p = None if comps_a[i] is None or comps_b[j] is None else lax.mul(comps_a[i], comps_b[j])
        q = None if comps_a[j] is None or comps_b[i] is None else lax.mul(comps_a[j], comps_b[i])
        if p is None and q is None:
            return lax.full(batch, 0, get_aval(a).dtype)
        return lax.neg(q) if p is None else (p if q is None else lax.sub(p, q))

    if na == nb == 2:
        return _result(term(0, 1, 2))
    out = stack([term(1, 2, 0), term(2, 0, 1), term(0, 1, 2)], axis=-1)
    return moveaxis(out, -1, canonicalize_axis(axisc, len(batch) + 1, "cross: axisc"))


def matrix_transpose(x, /):
    """Swap the last two axes (arrays of at least two dimensions)."""
    x = _op(x, "matrix_transpose")
    if get_aval(x).ndim < 2:
        raise ValueError(f"matrix_transpose: input must have at least 2 dimensions, got shape "
                         f"{_shape(x)}")
    return swapaxes(x, -1, -2)


def vecdot(x1, x2, /, *, axis: int = -1):
    """Vector dot product ``sum(conj(x1) * x2)`` over ``axis``, broadcasting
    the other axes.

    >>> vecdot(jnp.ones((2, 3)), jnp.arange(3.0))
    Array([3., 3.], dtype=float64)
    """
    a, b = _promote_strong("vecdot", [x1, x2])
    a = moveaxis(a, canonicalize_axis(axis, get_aval(a).ndim, "vecdot"), -1)
    b = moveaxis(b, canonicalize_axis(axis, get_aval(b).ndim, "vecdot"), -1)
    if _shape(a)[-1] != _shape(b)[-1]:
        raise ValueError(f"vecdot: the vector axes differ in size: {_shape(a)[-1]} and "
                         f"{_shape(b)[-1]}")
    if dtypes.is_complex(get_aval(a).dtype):
        a = lax.conj(a)
    out = matmul(lax.expand_dims(a, (len(_shape(a)) - 1,)), lax.expand_dims(b, (len(_shape(b)),)))
    return _result(lax.squeeze(out, (len(_shape(out)) - 2, len(_shape(out)) - 1)))


# ------------------------------------------------------------------ einsum
_LETTERS = string.ascii_letters


def _parse_sublists(args):
    """``einsum(op0, sub0, op1, sub1, ..., [subout])`` to a subscripts string."""
    def term(sub):
        return "".join("..." if s is Ellipsis else _LETTERS[int(s)] for s in sub)
    operands, terms = list(args[0::2]), [term(s) for s in args[1::2]]
    if len(args) % 2:  # an explicit output sublist ends the arguments
        operands = operands[:-1]
        return ",".join(terms) + "->" + term(args[-1]), operands
    return ",".join(terms), operands


def _parse(subscripts: str, shapes):
    """Labels per operand (ellipsis axes get labels '.0', '.1', ...) and the
    output labels."""
    subscripts = subscripts.replace(" ", "")
    lhs, arrow, rhs = subscripts.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {len(terms)} operand subscripts for {len(shapes)} operands")
    n_ell = 0
    for term, shape in zip(terms, shapes, strict=True):
        if "..." in term:
            n_ell = max(n_ell, len(shape) - len(term.replace("...", "")))
    labels = []
    for term, shape in zip(terms, shapes, strict=True):
        letters = term.replace("...", "")
        bad = [c for c in letters if c not in _LETTERS]
        if bad or term.count("...") > 1:
            raise ValueError(f"einsum: invalid subscript {bad[0] if bad else '...'!r} in "
                             f"{subscripts!r}")
        k = len(shape) - len(letters)
        if k < 0 or (k > 0 and "..." not in term):
            raise ValueError(f"einsum: operand subscripts {term!r} do not match an operand of "
                             f"shape {shape}")
        head, _, tail = term.partition("...")
        ell = [f".{i}" for i in range(n_ell - k, n_ell)] if "..." in term else []
        labels.append(list(head) + ell + list(tail))
    ell_all = [f".{i}" for i in range(n_ell)]
    if arrow:
        if any(c not in _LETTERS for c in rhs.replace("...", "")):
            raise ValueError(f"einsum: invalid output subscripts {rhs!r}")
        head, dots, tail = rhs.partition("...")
        out = list(head) + (ell_all if dots else []) + list(tail)
        if len(set(out)) != len(out):
            raise ValueError(f"einsum: output subscripts {rhs!r} repeat a label")
        used = {lab for labs in labels for lab in labs}
        missing = [c for c in out if c not in used]
        if missing:
            raise ValueError(f"einsum: output label {missing[0]!r} does not appear in the inputs")
    else:
        counts = {}
        for labs in labels:
            for lab in labs:
                counts[lab] = counts.get(lab, 0) + 1
        out = ell_all + sorted(c for c, n in counts.items() if n == 1 and not c.startswith("."))
    return labels, out


def _take_diagonal(x, labels):
    """Merge the axes of labels repeated within one operand into their
    diagonal (a strided slice of the flattened axes: exact, gather-free)."""
    while True:
        repeated = next((lab for lab in labels if labels.count(lab) > 1), None)
        if repeated is None:
            return x, labels
        axes = [i for i, lab in enumerate(labels) if lab == repeated]
        shape = _shape(x)
        n = shape[axes[0]]
        if any(shape[i] != n for i in axes):
            raise ValueError(f"einsum: repeated label {repeated!r} has differing sizes "
                             f"{[shape[i] for i in axes]} within one operand")
        rest = [i for i in range(len(shape)) if i not in axes]
        x = transpose(x, rest + axes)
        r = len(axes)
        x = reshape(x, tuple(shape[i] for i in rest) + (n ** r,))
        stride = sum(n ** j for j in range(r))
        x = _slice_axis(x, 0, (n - 1) * stride + 1 if n else 0, len(rest), stride)
        labels = [labels[i] for i in rest] + [repeated]


def einsum(subscripts, *operands, out=None, optimize=None, dtype=None, precision=None,
           preferred_element_type=None, **kwargs):
    """Einstein summation, like ``np.einsum``: explicit (``'ij,jk->ik'``) or
    implicit output, ``...`` broadcasting, repeated labels within an operand
    (diagonals) and labels summed away.  Operands are contracted left to
    right, each step one ``dot_general``; ``optimize`` is accepted and
    ignored.  The interleaved form ``einsum(a, [0, 1], b, [1, 2])`` works too.

    >>> einsum("ij,j->i", jnp.ones((2, 3)), jnp.arange(3.0))
    Array([3., 3.], dtype=float64)
    >>> einsum("ii", jnp.eye(3))
    Array(3., dtype=float64)
    """
    if out is not None:
        raise NotImplementedError("einsum: the 'out' argument is not supported")
    if not isinstance(subscripts, str):
        subscripts, operands = _parse_sublists((subscripts, *operands))
    if not operands:
        raise ValueError("einsum: at least one operand is required")
    ops = _promote_strong("einsum", [*operands])
    if dtype is not None:
        ops = [convert_to(o, dtypes.canonicalize(dtype)) for o in ops]
    is_bool = _is_bool(ops[0])
    if is_bool:
        ops = [convert_to(o, dtypes.int64) for o in ops]
    labels, out_labels = _parse(subscripts, [_shape(o) for o in ops])
    sizes = {}  # size-1 axes broadcast, as in NumPy
    for o, labs in zip(ops, labels, strict=True):
        for lab, n in zip(labs, _shape(o), strict=True):
            prev = sizes.get(lab, 1)
            if n != 1 and prev not in (1, n):
                raise ValueError(f"einsum: size of label {lab.replace('.', '...')!r} differs "
                                 f"between operands: {prev} and {n}")
            sizes[lab] = n if prev == 1 else prev
    ops, labels = map(list, zip(*[_take_diagonal(o, list(l))
                                  for o, l in zip(ops, labels, strict=True)], strict=True))

    def needed_after(i):
        return set(out_labels).union(*[set(l) for l in labels[i + 1:]])

    def sum_unneeded(x, labs, keep):
        axes = tuple(i for i, lab in enumerate(labs) if lab not in keep)
        if not axes:
            return x, labs
        return lax.reduce_sum(x, axes), [lab for lab in labs if lab in set(keep)]

    def grow(x, labs, wanted):  # broadcast size-1 axes to the label's size
        shape = tuple(sizes[lab] if lab in wanted else n for lab, n in zip(labs, _shape(x)))
        return _broadcast_to(x, shape, "einsum")

    cur, cur_labs = sum_unneeded(ops[0], labels[0], needed_after(0))
    for i in range(1, len(ops)):
        later = needed_after(i)
        other, other_labs = sum_unneeded(ops[i], labels[i], later | set(cur_labs))
        shared = [lab for lab in cur_labs if lab in other_labs]
        cur, other = grow(cur, cur_labs, shared), grow(other, other_labs, shared)
        batch = [lab for lab in shared if lab in later]
        contract = [lab for lab in shared if lab not in later]
        cur = _dot_general(
            cur, other,
            ([cur_labs.index(l) for l in contract], [other_labs.index(l) for l in contract]),
            ([cur_labs.index(l) for l in batch], [other_labs.index(l) for l in batch]))
        cur_labs = (batch + [l for l in cur_labs if l not in shared]
                    + [l for l in other_labs if l not in shared])
        cur, cur_labs = sum_unneeded(cur, cur_labs, later)
    cur, cur_labs = sum_unneeded(cur, cur_labs, set(out_labels))
    cur = transpose(grow(cur, cur_labs, set(cur_labs)), [cur_labs.index(l) for l in out_labels])
    if is_bool:
        cur = lax.ne(cur, np.int64(0))
    return _result(cur)
