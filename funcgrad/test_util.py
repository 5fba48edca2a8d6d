"""Testing derivatives: ``check_grads``, ``check_jvp``, ``check_vjp``.

These check funcgrad's automatic derivatives of a function against central
finite differences, as ``jax.test_util`` does, and ship to users so they can
test their own functions (and custom derivative rules) the same way::

    import funcgrad.numpy as jnp
    from funcgrad.test_util import check_grads
    check_grads(lambda x: jnp.sum(jnp.sin(x) * x), (jnp.arange(3.0),), order=2)

What is checked, for random directions drawn from a fixed seed:

* forward mode: ``jvp(f, args, t)`` against the central difference
  ``(f(args + eps*t) - f(args - eps*t)) / (2*eps)``;
* reverse mode: the dot-product identity ``<vjp(ct), t> == <ct, J t>``
  with ``J t`` the same central difference, so reverse mode is tested
  against an independent reference, not against forward mode;
* with ``order=2`` (or more), the derivative functions themselves
  (``jvp(f)`` and ``args -> vjp(f, *args)[1](f(*args))``) are checked the
  same way, in every mode, recursively.

Tolerances and the finite-difference step default to values suited to the
lowest floating-point precision among the arguments and outputs (float32
needs a larger step and looser tolerances than float64).  A failure raises
``AssertionError`` naming the mode, the order, the output and the argument
responsible, and the size of the error.
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from funcgrad import tree_util
from funcgrad.core import dtypes
from funcgrad.core.array import Array
from funcgrad.core.trace import get_aval

__all__ = [
    "check_grads",
    "check_jvp",
    "check_vjp",
    "default_gradient_step",
    "default_gradient_tolerance",
    "numerical_jvp",
]

# Tolerances (used both as atol and rtol) per dtype, as in JAX: a central
# difference in float32 is only good to a few parts in 1e4.
default_gradient_tolerance: dict[np.dtype, float] = {
    np.dtype(np.float16): 1e-2,
    np.dtype(np.float32): 2e-3,
    np.dtype(np.float64): 1e-5,
    np.dtype(np.complex64): 2e-3,
    np.dtype(np.complex128): 1e-5,
}

# Finite-difference steps per dtype.  The truncation error of a central
# difference grows like eps**2 and the rounding error like ulp/eps; these
# steps sit near the cube root of each dtype's machine epsilon (the optimum),
# a little larger so the rounding of the perturbed inputs stays negligible.
default_gradient_step: dict[np.dtype, float] = {
    np.dtype(np.float16): 3e-2,
    np.dtype(np.float32): 1e-3,
    np.dtype(np.float64): 1e-5,
    np.dtype(np.complex64): 1e-3,
    np.dtype(np.complex128): 1e-5,
}

# A tolerance: one value, or one per dtype (missing dtypes keep their default).
Tol = float | Mapping[Any, float] | None


# ------------------------------------------------------------ leaves
def _dtype(leaf) -> np.dtype:
    return get_aval(leaf).dtype


def _is_inexact(leaf) -> bool:
    return _dtype(leaf).kind in "fc"


def _float_dtypes(*trees) -> list[np.dtype]:
    return [_dtype(leaf) for tree in trees for leaf in tree_util.tree_leaves(tree)
            if _is_inexact(leaf)]


def _rand_like(rng: np.random.Generator, leaf):
    """A standard-normal direction of ``leaf``'s shape and dtype; zeros for
    integer and bool leaves, which are not differentiated."""
    aval = get_aval(leaf)
    if aval.dtype.kind == "f":
        return rng.standard_normal(aval.shape).astype(aval.dtype)
    if aval.dtype.kind == "c":
        return (rng.standard_normal(aval.shape)
                + 1j * rng.standard_normal(aval.shape)).astype(aval.dtype)
    return np.zeros(aval.shape, aval.dtype)


def _like_input(value: np.ndarray, original):
    """``value`` (a NumPy array) in the kind of container ``original`` was:
    a Python scalar stays a Python scalar (weakly typed), a funcgrad Array an
    Array (so ``.at[]`` keeps working), a NumPy scalar a NumPy scalar."""
    if dtypes.is_python_scalar(original):
        return type(original)(value.item())
    if isinstance(original, Array):
        return Array(value, weak_type=original.weak_type)
    if isinstance(original, np.generic):
        return value.astype(original.dtype)[()]
    return value


def _shift(leaf, direction, step: float):
    """``leaf + step * direction`` in ``leaf``'s dtype (integer leaves are
    left as they are)."""
    if not _is_inexact(leaf):
        return leaf
    x = np.asarray(leaf)
    return _like_input((x + step * np.asarray(direction)).astype(_dtype(leaf)), leaf)


def _wide(leaf) -> np.ndarray:
    """A leaf as float64/complex128, for accurate comparisons."""
    x = np.asarray(leaf)
    return x.astype(np.complex128 if x.dtype.kind == "c" else np.float64)


def _inner(xs: Sequence, ys: Sequence) -> tuple[float, float]:
    """``sum Re<x, y>`` over the inexact leaves, and the sum of the absolute
    values of its terms (the scale against which its rounding is judged)."""
    total, scale = 0.0, 0.0
    for x, y in zip(xs, ys, strict=True):
        if not (_is_inexact(x) and _is_inexact(y)):
            continue
        terms = np.real(np.conj(_wide(x)) * _wide(y))
        total += float(np.sum(terms))
        scale += float(np.sum(np.abs(terms)))
    return total, scale


# ------------------------------------------------------------ tolerances
def _pick(user, dtypes_: Sequence[np.dtype], defaults: Mapping[np.dtype, float]) -> float:
    """The loosest applicable value: ``user`` may be a float (used as is), a
    dict from dtype to value (overriding the defaults), or None."""
    if user is not None and not isinstance(user, Mapping):
        return float(user)
    table = dict(defaults)
    if user is not None:
        table.update({np.dtype(k): float(v) for k, v in user.items()})
    values = [table.get(np.dtype(d), table[np.dtype(np.float64)]) for d in dtypes_]
    return max(values) if values else table[np.dtype(np.float64)]


# ------------------------------------------------------------ naming
def _arg_labels(f: Callable, args: tuple) -> list[str]:
    """A label per flat leaf of ``args``: ``args[1]['w'] (parameter 'p')``."""
    try:
        params = [p.name for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    labels = []
    for path, _ in tree_util.tree_flatten_with_path(args)[0]:
        label = "args" + tree_util.keystr(path)
        i = getattr(path[0], "idx", None) if path else None
        if i is not None and i < len(params):
            label += f" (parameter '{params[i]}')"
        labels.append(label)
    return labels


def _out_labels(out) -> list[str]:
    return ["output" + tree_util.keystr(path) for path, _ in tree_util.tree_flatten_with_path(out)[0]]


def _fun_name(f: Callable) -> str:
    if isinstance(f, functools.partial):
        return _fun_name(f.func)
    return getattr(f, "__name__", type(f).__name__)


def _describe_mismatch(actual: np.ndarray, expected: np.ndarray, atol: float, rtol: float) -> str:
    err = np.abs(actual - expected)
    allowed = atol + rtol * np.abs(expected)
    excess = np.where(np.isnan(err), np.inf, err - allowed)
    k = np.unravel_index(int(np.argmax(excess)), err.shape) if err.ndim else ()
    rel = err / np.maximum(np.abs(expected), np.finfo(np.float64).tiny)
    bad = int(np.sum(~(err <= allowed)))
    where = f" at index {tuple(int(i) for i in k)}" if k else ""
    # np.max, not nanmax: a nan derivative must show as nan, not as 0.
    return (f"max abs error {np.max(err) if err.size else 0.0:.3g}, max rel error "
            f"{np.max(rel) if rel.size else 0.0:.3g} ({bad} of {err.size} elements beyond "
            f"atol={atol:.3g} + rtol={rtol:.3g}*|expected|); worst{where}: got "
            f"{actual[k]!r}, expected {expected[k]!r}")


def _close(actual, expected, atol: float, rtol: float) -> bool:
    a, e = _wide(actual), _wide(expected)
    if a.shape != e.shape:
        return False
    err = np.abs(a - e)
    ok = err <= atol + rtol * np.abs(e)
    # Infinities and nans must agree exactly.
    ok |= (a == e) | (np.isnan(a) & np.isnan(e))
    return bool(np.all(ok))


def _header(err_msg: str, mode: str, order: int, fun_name: str) -> str:
    what = err_msg or ("JVP" if mode == "fwd" else "VJP")
    mode_text = "forward mode (fwd)" if mode == "fwd" else "reverse mode (rev)"
    return f"check_grads: {mode_text}, derivative order {order}, {what} of {fun_name}"


# ------------------------------------------------------------ finite differences
def numerical_jvp(f: Callable, args: Sequence, tangents: Sequence, eps: float) -> tuple[list, Any]:
    """Central difference of ``f`` at ``args`` along ``tangents`` (both
    tuples of pytrees of the same structure): a list of float64/complex128
    arrays, one per output leaf (zeros for integer outputs), and the output
    tree structure.

    >>> import numpy as np
    >>> out, _ = numerical_jvp(lambda x: x ** 2, (3.0,), (np.float64(1.0),), 1e-5)
    >>> round(float(out[0]), 6)
    6.0
    """
    flat_args, in_tree = tree_util.tree_flatten(tuple(args))
    flat_t = tree_util.tree_leaves(tuple(tangents))
    plus = [_shift(x, t, eps) for x, t in zip(flat_args, flat_t, strict=True)]
    minus = [_shift(x, t, -eps) for x, t in zip(flat_args, flat_t, strict=True)]
    out_plus, out_tree = tree_util.tree_flatten(f(*tree_util.tree_unflatten(in_tree, plus)))
    out_minus = tree_util.tree_leaves(f(*tree_util.tree_unflatten(in_tree, minus)))
    result = []
    for p, m in zip(out_plus, out_minus, strict=True):
        if _is_inexact(p):
            result.append((_wide(p) - _wide(m)) / (2 * eps))
        else:
            result.append(np.zeros(np.shape(p)))
    return result, out_tree


def _only(flat_t: list, i: int) -> list:
    """Directions that are zero except at leaf ``i``."""
    return [t if j == i else np.zeros_like(t) for j, t in enumerate(flat_t)]


# ------------------------------------------------------------ check_jvp / check_vjp
def check_jvp(f: Callable, f_jvp: Callable, args: Sequence, atol: Tol = None,
              rtol: Tol = None, eps: float | None = None, err_msg: str = "", *,
              _labels: list[str] | None = None, _order: int = 1,
              _name: str | None = None) -> None:
    """Check a forward-mode derivative ``f_jvp`` of ``f`` at ``args`` against
    central finite differences, along a random direction (fixed seed).

    ``f_jvp(primals, tangents) -> (f(*primals), tangent_out)`` with
    ``primals`` and ``tangents`` tuples, like ``functools.partial(jvp, f)``.
    Also checks that ``f_jvp``'s primal output equals ``f(*args)`` and that
    every tangent has its output's shape and dtype.

    >>> import funcgrad
    >>> import funcgrad.numpy as jnp
    >>> check_jvp(jnp.sin, lambda p, t: (jnp.sin(p[0]), jnp.cos(p[0]) * t[0]), (0.5,))
    >>> check_jvp(jnp.sin, lambda p, t: (jnp.sin(p[0]), t[0]), (0.5,))
    Traceback (most recent call last):
    ...
    AssertionError: check_grads: forward mode (fwd), derivative order 1, JVP of sin: ...
    """
    args = tuple(args)
    rng = np.random.default_rng(0)
    flat_args, in_tree = tree_util.tree_flatten(args)
    labels = _labels if _labels is not None else _arg_labels(f, args)
    flat_t = [_rand_like(rng, x) for x in flat_args]
    tangents = tree_util.tree_unflatten(in_tree, flat_t)
    out_expected = f(*args)
    float_dtypes = _float_dtypes(args, out_expected)
    atol_ = _pick(atol, float_dtypes, default_gradient_tolerance)
    rtol_ = _pick(rtol, float_dtypes, default_gradient_tolerance)
    eps_ = eps if eps is not None else _pick(None, float_dtypes, default_gradient_step)
    head = _header(err_msg, "fwd", _order, _name or _fun_name(f))

    out, t_out = f_jvp(args, tangents)
    flat_out, out_tree = tree_util.tree_flatten(out)
    flat_exp, exp_tree = tree_util.tree_flatten(out_expected)
    flat_tout, tout_tree = tree_util.tree_flatten(t_out)
    if out_tree != exp_tree or tout_tree != exp_tree:
        raise AssertionError(f"{head}: output structures differ: f returns {exp_tree}, the "
                             f"jvp returns primals {out_tree} and tangents {tout_tree}")
    out_labels = _out_labels(out_expected)
    for label, o, e, t in zip(out_labels, flat_out, flat_exp, flat_tout, strict=True):
        if not _close(o, e, atol_, rtol_):
            raise AssertionError(f"{head}: the primal {label} differs from f(*args): "
                                 + _describe_mismatch(_wide(o), _wide(e), atol_, rtol_))
        if np.shape(t) != np.shape(e):
            raise AssertionError(f"{head}: the tangent of {label} has shape {np.shape(t)}, "
                                 f"the output has shape {np.shape(e)}")
        if _is_inexact(e) and _dtype(t) != _dtype(e):
            raise AssertionError(f"{head}: the tangent of {label} has dtype "
                                 f"{_dtype(t).name}, the output has dtype {_dtype(e).name}")

    expected, _ = numerical_jvp(f, args, tangents, eps_)
    failures = [(label, t, n) for label, t, n, e in
                zip(out_labels, flat_tout, expected, flat_exp, strict=True)
                if _is_inexact(e) and not _close(t, n, atol_, rtol_)]
    if not failures:
        return
    label, t, n = failures[0]
    message = (f"{head}: the tangent of {label} differs from central finite differences "
               f"(step {eps_:g}): " + _describe_mismatch(_wide(t), n, atol_, rtol_))
    # Name the culprit(s): redo the comparison one input leaf at a time.
    culprits = []
    for i, x in enumerate(flat_args):
        if not _is_inexact(x):
            continue
        t_i = tree_util.tree_unflatten(in_tree, _only(flat_t, i))
        _, t_out_i = f_jvp(args, t_i)
        n_i, _ = numerical_jvp(f, args, t_i, eps_)
        errs = [float(np.max(np.abs(_wide(a) - b), initial=0.0))
                for a, b, e in zip(tree_util.tree_leaves(t_out_i), n_i, flat_exp, strict=True)
                if _is_inexact(e) and not _close(a, b, atol_, rtol_)]
        if errs:
            culprits.append(f"{labels[i]} (max abs error {max(errs):.3g})")
    if culprits:
        message += "; wrong derivative with respect to " + ", ".join(culprits)
    if len(failures) > 1:
        message += f"; {len(failures)} output leaves fail: " + ", ".join(l for l, _, _ in failures)
    raise AssertionError(message)


def check_vjp(f: Callable, f_vjp: Callable, args: Sequence, atol: Tol = None,
              rtol: Tol = None, eps: float | None = None, err_msg: str = "", *,
              _labels: list[str] | None = None, _order: int = 1,
              _name: str | None = None) -> None:
    """Check a reverse-mode derivative ``f_vjp`` of ``f`` at ``args`` with
    the dot-product identity ``<vjp(ct), t> == <ct, J t>``, where ``J t`` is
    a central finite difference and ``t``, ``ct`` are random (fixed seed).

    ``f_vjp(*args) -> (f(*args), vjp_fun)``, like
    ``functools.partial(vjp, f)``.  Also checks the primal output and that
    each cotangent has its argument's structure, shape and (for inexact
    arguments) dtype.

    >>> import funcgrad
    >>> import funcgrad.numpy as jnp
    >>> check_vjp(jnp.sin, lambda x: (jnp.sin(x), lambda ct: (jnp.cos(x) * ct,)), (0.5,))
    >>> check_vjp(jnp.sin, lambda x: (jnp.sin(x), lambda ct: (ct,)), (0.5,))
    Traceback (most recent call last):
    ...
    AssertionError: check_grads: reverse mode (rev), derivative order 1, VJP of sin: ...
    """
    args = tuple(args)
    rng = np.random.default_rng(0)
    flat_args, in_tree = tree_util.tree_flatten(args)
    labels = _labels if _labels is not None else _arg_labels(f, args)
    out_expected = f(*args)
    float_dtypes = _float_dtypes(args, out_expected)
    atol_ = _pick(atol, float_dtypes, default_gradient_tolerance)
    rtol_ = _pick(rtol, float_dtypes, default_gradient_tolerance)
    eps_ = eps if eps is not None else _pick(None, float_dtypes, default_gradient_step)
    head = _header(err_msg, "rev", _order, _name or _fun_name(f))

    out, vjp_fun = f_vjp(*args)
    flat_out, out_tree = tree_util.tree_flatten(out)
    flat_exp, exp_tree = tree_util.tree_flatten(out_expected)
    if out_tree != exp_tree:
        raise AssertionError(f"{head}: f returns {exp_tree} but the vjp's primal output is "
                             f"{out_tree}")
    for label, o, e in zip(_out_labels(out_expected), flat_out, flat_exp, strict=True):
        if not _close(o, e, atol_, rtol_):
            raise AssertionError(f"{head}: the primal {label} differs from f(*args): "
                                 + _describe_mismatch(_wide(o), _wide(e), atol_, rtol_))

    flat_t = [_rand_like(rng, x) for x in flat_args]
    flat_ct = [_rand_like(rng, o) for o in flat_out]
    # JAX's convention for complex values: vjp transposes (it does not take
    # the adjoint), so the identity pairs conj(vjp(conj(ct))) with t.
    ct = tree_util.tree_unflatten(out_tree, [np.conj(c) for c in flat_ct])
    flat_cts_in, ct_tree = tree_util.tree_flatten(vjp_fun(ct))
    if ct_tree != in_tree:
        raise AssertionError(f"{head}: the cotangents returned have structure {ct_tree}, the "
                             f"arguments {in_tree}")
    for label, c, x in zip(labels, flat_cts_in, flat_args, strict=True):
        if np.shape(c) != np.shape(x):
            raise AssertionError(f"{head}: the cotangent of {label} has shape {np.shape(c)}, "
                                 f"the argument has shape {np.shape(x)}")
        if _is_inexact(x) and _dtype(c) != _dtype(x):
            raise AssertionError(f"{head}: the cotangent of {label} has dtype "
                                 f"{_dtype(c).name}, the argument has dtype {_dtype(x).name}")

    def compare(directions):
        t = tree_util.tree_unflatten(in_tree, directions)
        jt, _ = numerical_jvp(f, args, t, eps_)
        ip, _ = _inner(directions, [np.conj(c) if _is_inexact(c) else c for c in flat_cts_in])
        ip_expected, scale = _inner(jt, [c if _is_inexact(o) else np.zeros(np.shape(o))
                                         for c, o in zip(flat_ct, flat_exp, strict=True)])
        # Judge the error against the size of the terms of the sum (robust
        # to cancellation), as the finite difference is accurate per term.
        allowed = atol_ + rtol_ * scale
        return abs(ip - ip_expected) <= allowed, ip, ip_expected, allowed

    ok, ip, ip_expected, allowed = compare(flat_t)
    if ok:
        return
    message = (f"{head}: the cotangent projection <vjp(ct), t> = {ip:.6g} differs from "
               f"<ct, J t> = {ip_expected:.6g} (central finite differences, step {eps_:g}) by "
               f"{abs(ip - ip_expected):.3g}, more than the allowed {allowed:.3g} "
               f"(atol={atol_:.3g}, rtol={rtol_:.3g})")
    culprits = []
    for i, x in enumerate(flat_args):
        if _is_inexact(x):
            ok_i, ip_i, ipe_i, _ = compare(_only(flat_t, i))
            if not ok_i:
                culprits.append(f"{labels[i]} (error {abs(ip_i - ipe_i):.3g})")
    if culprits:
        message += "; wrong cotangent for " + ", ".join(culprits)
    raise AssertionError(message)


# ------------------------------------------------------------ check_grads
def check_grads(f: Callable, args: Sequence, order: int, modes: Sequence[str] = ("fwd", "rev"),
                atol: Tol = None, rtol: Tol = None, eps: float | None = None) -> None:
    """Check funcgrad's derivatives of ``f`` at ``args`` up to ``order``
    against finite differences, in forward (``"fwd"``) and/or reverse
    (``"rev"``) mode.

    Parameters
    ----------
    f : callable
        Takes ``*args`` (pytrees of arrays or scalars) and returns a pytree.
    args : tuple
        The point of evaluation.  Integer leaves are held fixed.
    order : int
        1 checks ``jvp``/``vjp`` of ``f``; 2 also checks the derivative
        functions ``jvp(f)`` and ``vjp(f)`` themselves (in every mode of
        ``modes``), and so on.
    modes : sequence of ``"fwd"``, ``"rev"``
    atol, rtol : float or dict from dtype to float, optional
        Default: :data:`default_gradient_tolerance` for the lowest precision
        among the inexact arguments and outputs.
    eps : float, optional
        Finite-difference step; default :data:`default_gradient_step` for
        that precision.

    Raises
    ------
    AssertionError
        Naming the mode, the order, the derivative checked (``"JVP of VJP"``
        is the forward derivative of the reverse one), the output and the
        argument responsible, and the error.

    Examples
    --------
    >>> import funcgrad.numpy as jnp
    >>> check_grads(lambda x, y: jnp.sum(jnp.sin(x) * y), (jnp.arange(3.0), 2.0), order=2)
    >>> import numpy as np
    >>> check_grads(jnp.tanh, (np.float32(0.3),), order=1, modes=("rev",))
    """
    from funcgrad.transforms.autodiff import vjp
    from funcgrad.transforms.jvp import jvp

    unknown = set(modes) - {"fwd", "rev"}
    if unknown:
        raise ValueError(f"check_grads: unknown modes {sorted(unknown)}; use 'fwd' and/or 'rev'")
    if order < 1:
        raise ValueError(f"check_grads: order must be at least 1, got {order}")
    args = tuple(args)
    tol = {"atol": atol, "rtol": rtol, "eps": eps, "_name": _fun_name(f)}

    def recurse(fun: Callable, fun_args: tuple, labels: list[str], depth: int, below: str):
        if "fwd" in modes:
            msg = f"JVP of {below}" if below else "JVP"
            check_jvp(fun, functools.partial(jvp, fun), fun_args, err_msg=msg,
                      _labels=labels, _order=depth, **tol)
            if depth < order:
                # The derivative function (primals, tangents) -> (out, J t),
                # checked at tangents equal to the primals, as JAX does.
                fwd_labels = ([f"primals:{lb}" for lb in labels]
                              + [f"tangents:{lb}" for lb in labels])
                recurse(functools.partial(jvp, fun), (fun_args, fun_args), fwd_labels,
                        depth + 1, msg)
        if "rev" in modes:
            msg = f"VJP of {below}" if below else "VJP"
            check_vjp(fun, functools.partial(vjp, fun), fun_args, err_msg=msg,
                      _labels=labels, _order=depth, **tol)
            if depth < order:
                def pullback_of_value(*xs):
                    # The cotangent is f's own output, as in JAX: a smooth
                    # function of the arguments.
                    value, pullback = vjp(fun, *xs)
                    return pullback(value)

                recurse(pullback_of_value, fun_args, labels, depth + 1, msg)

    recurse(f, args, _arg_labels(f, args), 1, "")
