"""The differentiation API: ``linearize``, ``vjp``, ``grad``,
``value_and_grad``, ``jacfwd``, ``jacrev``, ``hessian``.

All are built from two mechanisms: the JVP interpreter (forward mode) and
``linearize`` = JVP + partial evaluation, whose linear jaxpr is evaluated
forwards (``linearize``, ``jacfwd``) or transposed (``vjp``, ``grad``,
``jacrev``).  Since every one of them is an interpreter over ordinary
primitives, they nest to any order: ``hessian`` is ``jacfwd(jacrev(f))``.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from funcgrad import tree_util
from funcgrad.core.ad_util import (UndefinedPrimal, Zero, as_result, differentiable_dtype,
                                   instantiate)
from funcgrad.core.staging import eval_jaxpr
from funcgrad.core.trace import get_aval
from funcgrad.transforms.partial_eval import LinearFunction, linearize_flat
from funcgrad.transforms.transpose import backward_pass


# ------------------------------------------------------------ plumbing
def _fun_name(fun: Callable) -> str:
    return getattr(fun, "__name__", type(fun).__name__)


def _flatten_fun(fun: Callable, in_tree, has_aux: bool, who: str):
    """A flat version of ``fun`` whose outputs are the output leaves followed
    by the aux leaves (aux tangents are simply never used).  The returned
    ``store`` dict receives ``out_tree``, ``aux_tree`` and ``num_out``."""
    store: dict[str, Any] = {}

    def flat_fun(*flat_args):
        out = fun(*tree_util.tree_unflatten(in_tree, list(flat_args)))
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(f"{who} with has_aux=True requires {_fun_name(fun)} to return a "
                                f"pair (output, aux), got {_describe(out)}")
            out, aux = out
            aux_leaves, store["aux_tree"] = tree_util.tree_flatten(aux)
        else:
            aux_leaves = []
        out_leaves, store["out_tree"] = tree_util.tree_flatten(out)
        store["num_out"] = len(out_leaves)
        return out_leaves + aux_leaves

    flat_fun.__name__ = _fun_name(fun)
    return flat_fun, store


def _describe(value) -> str:
    """How a returned value looks to its user (never an internal tracer type)."""
    try:
        return f"an array of type {get_aval(value).str_short()}"
    except TypeError:
        if isinstance(value, (tuple, list)):
            return f"a {type(value).__name__} of length {len(value)}"
        return f"a {type(value).__name__}"


def _split_aux(store, outs):
    n = store["num_out"]
    out = tree_util.tree_unflatten(store["out_tree"], outs[:n])
    aux = tree_util.tree_unflatten(store["aux_tree"], outs[n:]) if "aux_tree" in store else None
    return out, aux


def _coerce_cotangent(ct, aval, where: str):
    ct_aval = get_aval(ct)
    if ct_aval.shape != aval.shape:
        raise ValueError(f"{where}: the cotangent has shape {ct_aval.shape} but the output it "
                         f"belongs to has shape {aval.shape}")
    if ct_aval.dtype != aval.dtype and differentiable_dtype(aval.dtype):
        if not ct_aval.weak_type:
            raise TypeError(f"{where}: the cotangent has dtype {ct_aval.dtype.name} but the "
                            f"output it belongs to has dtype {aval.dtype.name}; they must match")
        from funcgrad.lax import convert_element_type
        ct = convert_element_type(ct, aval.dtype)
    return ct


def _transpose(linear: LinearFunction, flat_cts: Sequence) -> list:
    """Input cotangents (materialised) from output cotangents."""
    cts = [ct for ct, zero in zip(flat_cts, linear.zero_outputs, strict=True) if not zero]
    diff_avals = [a for a, d in zip(linear.tangent_avals(), linear.diff_inputs, strict=True) if d]
    cts_in = iter(backward_pass(linear.jaxpr, linear.residuals,
                                [UndefinedPrimal(a) for a in diff_avals], cts))
    return [as_result(instantiate(next(cts_in))) if d else instantiate(Zero(a))
            for a, d in zip(linear.tangent_avals(), linear.diff_inputs, strict=True)]


def _apply_linear(linear: LinearFunction, flat_tangents: Sequence) -> list:
    """Output tangents (materialised) from input tangents."""
    args = [t for t, d in zip(flat_tangents, linear.diff_inputs, strict=True) if d]
    outs = iter(eval_jaxpr(linear.jaxpr, linear.residuals, *args))
    return [instantiate(Zero(a.strip_weak_type())) if zero else as_result(next(outs))
            for a, zero in zip(linear.out_avals, linear.zero_outputs, strict=True)]


# ------------------------------------------------------------ linearize / vjp
def linearize(fun: Callable, *primals, has_aux: bool = False):
    """``fun``'s value at ``primals`` and its derivative there as a function.

    The primal computation runs once; the returned ``f_jvp(*tangents)``
    evaluates only the linear map (a jaxpr of the tangent computation).

    >>> import funcgrad.numpy as jnp
    >>> y, f_jvp = linearize(jnp.sin, 0.0)
    >>> float(y), float(f_jvp(2.0))
    (0.0, 2.0)
    """
    flat_primals, in_tree = tree_util.tree_flatten(primals)
    flat_fun, store = _flatten_fun(fun, in_tree, has_aux, "linearize")
    outs, linear = linearize_flat(flat_fun, flat_primals)
    out, aux = _split_aux(store, [as_result(o) for o in outs])
    n_out = store["num_out"]

    def f_jvp(*tangents):
        flat_t, t_tree = tree_util.tree_flatten(tangents)
        if t_tree != in_tree:
            raise TypeError(f"linearize: the tangents must have the structure of the primals "
                            f"{in_tree}, got {t_tree}")
        for i, (t, a) in enumerate(zip(flat_t, linear.in_avals, strict=True)):
            if get_aval(t).shape != a.shape:
                raise ValueError(f"linearize: tangent {i} has shape {get_aval(t).shape}, its "
                                 f"primal has shape {a.shape}")
        flat_out = _apply_linear(linear, flat_t)[:n_out]
        return tree_util.tree_unflatten(store["out_tree"], flat_out)

    return (out, f_jvp, aux) if has_aux else (out, f_jvp)


def vjp(fun: Callable, *primals, has_aux: bool = False):
    """Reverse mode: ``fun(*primals)`` and a function pulling output
    cotangents back to cotangents of ``primals``.

    The primal computation runs once; every call of ``vjp_fun`` runs only
    the transposed linear map.  Integer inputs get zero cotangents.

    >>> import funcgrad.numpy as jnp
    >>> y, vjp_fun = vjp(lambda x: jnp.sum(x ** 2), jnp.arange(3.0))
    >>> vjp_fun(1.0)
    (Array([0., 2., 4.], dtype=float64),)
    """
    return _vjp(fun, primals, has_aux, "vjp")


def _vjp(fun: Callable, primals: tuple, has_aux: bool, who: str):
    flat_primals, in_tree = tree_util.tree_flatten(primals)
    flat_fun, store = _flatten_fun(fun, in_tree, has_aux, who)
    outs, linear = linearize_flat(flat_fun, flat_primals)
    out, aux = _split_aux(store, [as_result(o) for o in outs])
    n_out, out_tree = store["num_out"], store["out_tree"]
    out_avals = linear.out_avals[:n_out]

    def vjp_fun(ct):
        flat_ct, ct_tree = tree_util.tree_flatten(ct)
        if ct_tree != out_tree:
            raise TypeError(f"vjp: the cotangent must have the structure of "
                            f"{_fun_name(fun)}'s output {out_tree}, got {ct_tree}")
        flat_ct = [_coerce_cotangent(c, a, "vjp") for c, a in zip(flat_ct, out_avals, strict=True)]
        # aux outputs are part of the linear map but receive no cotangent.
        flat_ct += [Zero(a.strip_weak_type()) for a in linear.out_avals[n_out:]]
        return tree_util.tree_unflatten(in_tree, _transpose(linear, flat_ct))

    return (out, vjp_fun, aux) if has_aux else (out, vjp_fun)


# ------------------------------------------------------------ grad
def _check_argnums(who: str, fun: Callable, argnums, nargs: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else argnums
    if not isinstance(nums, (tuple, list)) or not all(
            isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in nums):
        raise TypeError(f"{who}: argnums must be an int or a tuple of ints, got {argnums!r}")
    if not nums:
        raise TypeError(f"{who}: argnums must name at least one argument, got {argnums!r}")
    for i in nums:
        if not -nargs <= i < nargs:
            raise TypeError(f"{who} of {_fun_name(fun)} with argnums={argnums!r} requires at "
                            f"least {(i if i >= 0 else -i - 1) + 1} positional arguments, but "
                            f"it was called with {nargs}")
    return tuple(int(i) % nargs for i in nums)


def _check_inputs(who: str, fun: Callable, argnums: tuple[int, ...], args, names, allow_int):
    if allow_int:
        return
    for i in argnums:
        for path, leaf in tree_util.tree_flatten_with_path(args[i])[0]:
            dt = get_aval(leaf).dtype
            if dt.kind not in "fc":
                raise TypeError(
                    f"{who} requires floating-point inputs, but argument "
                    f"{names[i]}{tree_util.keystr(path)} of {_fun_name(fun)} has dtype "
                    f"{dt.name}. Pass a float array (e.g. x.astype(float)), leave it out of "
                    f"argnums, or use vjp for integer inputs.")


def _positional_names(fun: Callable, nargs: int) -> list[str]:
    import inspect
    try:
        params = [p.name for p in inspect.signature(fun).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"args[{i}]" for i in range(nargs)]


def _partial_in(fun, args, kwargs, argnums):
    """``fun`` as a function of the arguments in ``argnums`` only."""
    def partial_fun(*dyn):
        full = list(args)
        for i, a in zip(argnums, dyn, strict=True):
            full[i] = a
        return fun(*full, **kwargs)
    partial_fun.__name__ = _fun_name(fun)
    return partial_fun


def _value_and_grad(fun: Callable, argnums, has_aux: bool, allow_int: bool, who: str):
    def value_and_grad_fun(*args, **kwargs):
        nums = _check_argnums(who, fun, argnums, len(args))
        _check_inputs(who, fun, nums, args, _positional_names(fun, len(args)), allow_int)
        partial_fun = _partial_in(fun, args, kwargs, nums)
        result = _vjp(partial_fun, tuple(args[i] for i in nums), has_aux, who)
        value, vjp_fun = result[0], result[1]
        leaves, tree = tree_util.tree_flatten(value)
        if not tree_util.treedef_is_leaf(tree) or len(leaves) != 1:
            raise TypeError(f"{who} requires {_fun_name(fun)} to return a scalar, but it "
                            f"returned {type(value).__name__} {tree}; use jacrev or vjp for "
                            f"functions with several outputs")
        aval = get_aval(leaves[0])
        if aval.shape != ():
            raise TypeError(f"{who} requires {_fun_name(fun)} to return a scalar (shape ()), "
                            f"but it returned an array of shape {aval.shape} "
                            f"({aval.str_short()}); reduce it (e.g. .sum()) or use jacrev/vjp")
        if aval.dtype.kind != "f":
            raise TypeError(f"{who} requires {_fun_name(fun)} to return a real floating-point "
                            f"scalar, but it returned {aval.str_short()}"
                            + ("; differentiate the real part or use vjp"
                               if aval.dtype.kind == "c" else ""))
        grads = vjp_fun(np.ones((), aval.dtype))
        g = grads[0] if isinstance(argnums, int) else grads
        return ((value, result[2]), g) if has_aux else (value, g)

    return functools.wraps(fun)(value_and_grad_fun)


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
                   allow_int: bool = False) -> Callable:
    """A function returning ``(fun(*args), gradient)``; see :func:`grad`.

    >>> import funcgrad.numpy as jnp
    >>> value_and_grad(lambda x: jnp.sum(x ** 2))(jnp.arange(3.0))
    (Array(5., dtype=float64), Array([0., 2., 4.], dtype=float64))
    """
    return _value_and_grad(fun, argnums, has_aux, allow_int, "value_and_grad")


def grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
         allow_int: bool = False) -> Callable:
    """The gradient of a scalar-valued ``fun`` with respect to the
    arguments in ``argnums`` (an int, or a tuple for a tuple of gradients),
    each with the structure of its argument.

    ``fun`` must return a real float scalar (with ``has_aux=True``: a pair
    ``(scalar, aux)``, and ``grad`` returns ``(gradient, aux)``).  Python
    control flow on input values works, as it runs on concrete values.

    >>> import funcgrad.numpy as jnp
    >>> grad(lambda x: jnp.sum(jnp.sin(x)))(jnp.zeros(2))
    Array([1., 1.], dtype=float64)
    >>> grad(grad(lambda x: x ** 3))(2.0)
    Array(12., dtype=float64, weak_type=True)
    """
    value_and_grad_fun = _value_and_grad(fun, argnums, has_aux, allow_int, "grad")

    @functools.wraps(fun)
    def grad_fun(*args, **kwargs):
        if has_aux:
            (_, aux), g = value_and_grad_fun(*args, **kwargs)
            return g, aux
        return value_and_grad_fun(*args, **kwargs)[1]

    return grad_fun


# ------------------------------------------------------------ Jacobians
def _stacked_basis(avals) -> tuple[list, list[int]]:
    """The standard basis of the space of all of ``avals`` together, as one
    stacked array per aval (leading axis: the basis index), and the offset
    of each aval's block of the basis.

    While staging (under ``jit``/``make_jaxpr``) each block is built with
    ``jnp.eye`` (``iota == iota + k``), not as a NumPy constant: the
    simplifier then sees an identity and drops products with it (``X @ I``
    is ``X``), which a constant would hide from it.  Eagerly it is
    ``np.eye``, which needs no integer temporaries."""
    from funcgrad.core.staging import StagingTrace
    from funcgrad.core.trace import find_top_trace
    import funcgrad.numpy as jnp
    sizes = [a.size for a in avals]
    offsets = [int(o) for o in np.cumsum([0] + sizes[:-1])]
    total = sum(sizes)
    staging = isinstance(find_top_trace(()), StagingTrace)
    blocks = []
    for a, o in zip(avals, offsets, strict=True):
        shape = (total,) + a.shape
        if not staging:
            block = np.eye(total, a.size, k=-o, dtype=a.dtype).reshape(shape)
        elif total == 1:  # the seed of a scalar: a broadcast 1 simplifies away
            block = jnp.ones(shape, a.dtype)
        else:
            # Row r of the stacked basis is e_r; this block holds columns
            # o .. o + size of it: ones where r == j + o.
            block = jnp.reshape(jnp.eye(total, a.size, k=-o, dtype=a.dtype), shape)
        blocks.append(block)
    return blocks, offsets


def _jacobian(fun: Callable, argnums, has_aux: bool, who: str, forward: bool) -> Callable:
    """``jacfwd`` (``forward``: vmap of the linear map over the input basis)
    or ``jacrev`` (vmap of its transpose over the output basis).  Either way
    the function is linearized once and the basis is pushed through in one
    batched evaluation, not a loop."""
    from funcgrad.transforms.vmap import vmap
    import funcgrad.numpy as jnp

    @functools.wraps(fun)
    def jacfun(*args, **kwargs):
        nums = _check_argnums(who, fun, argnums, len(args))
        _check_inputs(who, fun, nums, args, _positional_names(fun, len(args)), False)
        flat_in, in_tree = tree_util.tree_flatten(tuple(args[i] for i in nums))
        flat_fun, store = _flatten_fun(_partial_in(fun, args, kwargs, nums), in_tree, has_aux, who)
        outs, linear = linearize_flat(flat_fun, flat_in)
        _, aux = _split_aux(store, [as_result(o) for o in outs])
        n_out = store["num_out"]
        in_avals = linear.tangent_avals()
        out_avals = [a.strip_weak_type() for a in linear.out_avals[:n_out]]
        if forward:
            basis, offsets = _stacked_basis(in_avals)
            pushed = vmap(lambda *ts: _apply_linear(linear, ts)[:n_out])(*basis)
        else:
            basis, offsets = _stacked_basis(out_avals)
            zero_aux = [Zero(a.strip_weak_type()) for a in linear.out_avals[n_out:]]
            pushed = vmap(lambda *cts: _transpose(linear, list(cts) + zero_aux))(*basis)
        blocks = [[None] * len(in_avals) for _ in range(n_out)]
        for j, out_aval in enumerate(out_avals):
            for i, in_aval in enumerate(in_avals):
                if forward:  # pushed[j]: (basis over inputs, *out shape)
                    part = pushed[j][offsets[i]:offsets[i] + in_aval.size]
                    part = jnp.moveaxis(part, 0, -1)
                else:        # pushed[i]: (basis over outputs, *in shape)
                    part = pushed[i][offsets[j]:offsets[j] + out_aval.size]
                blocks[j][i] = as_result(jnp.reshape(part, out_aval.shape + in_aval.shape))
        jac = _assemble(blocks, store["out_tree"], in_tree, argnums)
        return (jac, aux) if has_aux else jac

    return jacfun


def jacfwd(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """The Jacobian by forward mode (the linear map applied to every input
    basis vector at once, under vmap; efficient for "tall" Jacobians).  For
    an output leaf of shape ``S`` and an input of shape ``T`` the block has
    shape ``S + T``.

    >>> import funcgrad.numpy as jnp
    >>> jacfwd(lambda x: x ** 2)(jnp.arange(2.0))
    Array([[0., 0.],
           [0., 2.]], dtype=float64)
    """
    return _jacobian(fun, argnums, has_aux, "jacfwd", forward=True)


def jacrev(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """The Jacobian by reverse mode (the transposed linear map applied to
    every output basis vector at once, under vmap; efficient for "wide"
    Jacobians).  Same layout as :func:`jacfwd`.

    >>> import funcgrad.numpy as jnp
    >>> jacrev(lambda x: jnp.sum(x ** 2))(jnp.arange(2.0))
    Array([0., 2.], dtype=float64)
    """
    return _jacobian(fun, argnums, has_aux, "jacrev", forward=False)


def _assemble(blocks, out_tree, in_tree, argnums):
    """Nest the blocks as JAX does: the output's structure, each leaf holding
    the structure of the differentiated argument(s)."""
    per_output = []
    for row in blocks:
        dyn = tree_util.tree_unflatten(in_tree, row)
        per_output.append(dyn[0] if isinstance(argnums, int) else dyn)
    return tree_util.tree_unflatten(out_tree, per_output)


def hessian(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """The Hessian of a scalar function, as ``jacfwd(jacrev(fun))``
    (forward-over-reverse).

    >>> import funcgrad.numpy as jnp
    >>> hessian(lambda x: jnp.sum(x ** 3))(jnp.array([1.0, 2.0]))
    Array([[ 6.,  0.],
           [ 0., 12.]], dtype=float64)
    """
    inner = jacfwd(jacrev(fun, argnums, has_aux=has_aux), argnums, has_aux=has_aux)

    @functools.wraps(fun)
    def hessian_fun(*args, **kwargs):
        _check_argnums("hessian", fun, argnums, len(args))  # errors name hessian
        return inner(*args, **kwargs)

    return hessian_fun
