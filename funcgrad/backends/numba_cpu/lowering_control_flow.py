"""Control flow: ``cond``, ``while`` and ``scan`` as real ``if`` / ``while``
/ ``for`` statements in the one generated function.

Sub-jaxprs are emitted inline (:meth:`.Builder.emit_jaxpr`: fused like the
program itself), so loops nest to any depth.  A sub-jaxpr's inputs are
bound to the enclosing code's values by name, without copies.

What a loop costs per iteration is what its body computes, nothing more:

* carries live in buffers of their own, allocated once: the loop
  equation's outputs (a 0-d carry is a plain local).  The body reads them
  in place; at the end of an iteration the new values are copied in,
  element by element, through a staging buffer where a new value may share
  memory with another carry (a body returning ``(b, a)`` for ``(a, b)``);
* a carry whose last reader in the body is an in-place update
  (``x.at[i].set(v)``, see :mod:`.inplace`) is updated in its own buffer,
  without a copy;
* the arrays a body computes are allocated before the outermost loop (see
  :class:`.Builder`), stacked outputs (``ys``) are written into their
  preallocated stack, and small matrix products are loops writing into
  their buffer rather than BLAS calls returning a new array.

A scan without carry whose body is heavy enough (the ``vmap`` of a loop
whose members stop at different iterations is one) runs its iterations
with ``prange`` under ``settings.parallel``: the iterations are
independent, each writes its own slice of the outputs, so results do not
depend on the number of threads.
"""
from __future__ import annotations

import math

import numpy as np

from funcgrad.core.ir import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var
from funcgrad.backends.numba_cpu.codegen import (ELEMENTWISE, LOOP_LOWERINGS, LOWERINGS,
                                                 Builder, cast, register, settings, subjaxprs)


# ------------------------------------------------------------ binding values
def _bind(b: Builder, invars, atoms) -> None:
    """Sub-jaxpr inputs ``invars`` take the values ``atoms`` of the
    enclosing code: a variable by name (no copy), a literal as a local."""
    for v, a in zip(invars, atoms, strict=True):
        if isinstance(a, Literal):
            b.define(v, b.read(a))
        else:
            b.set_name(v, b.name(a))


def _bind_carries(b: Builder, invars, carries) -> None:
    """Body inputs ``invars`` are the carry variables ``carries`` (the loop
    equation's outputs).  An array carry's buffer belongs to the loop: the
    body may update it in place when that update is its last reader
    (``roots`` then tells the carry update that nothing is left to copy)."""
    for v, c in zip(invars, carries, strict=True):
        b.set_name(v, b.name(c))
        if v.aval.ndim:
            b.owned.add(id(v))
            b.roots[id(v)] = id(v)


def _init_carries(b: Builder, eqn: JaxprEqn, carries, init) -> None:
    """The carry variables start as copies of ``init`` (or take the buffer
    of an array nobody else reads)."""
    for out, x in zip(carries, init, strict=True):
        aval = out.aval
        if aval.ndim == 0:
            b.define(out, cast(b.read(x), aval.dtype))
            continue
        if b.reusable(x, eqn):
            b.define(out, b.name(x))
            if id(x) in b.roots:    # the buffer of an enclosing loop's carry
                b.roots[id(out)] = b.roots[id(x)]
        elif b.loop_depth:
            b.alloc(out)    # once, before the enclosing loop nest
            b.copy(b.name(out), b.name(x), aval.shape)
        else:
            b.define(out, f"np.copy({b.name(x)})")
        b.fresh.add(id(out))
        b.owned.add(id(out))


def _independent(b: Builder, atom) -> bool:
    """Whether ``atom`` certainly shares no memory with a loop carry: an
    array this body allocated (or a view of one), not a carry updated in
    place."""
    return isinstance(atom, Var) and id(atom) in b.fresh and id(atom) not in b.roots


def _update_carries(b: Builder, carries, invars, new) -> None:
    """At the end of an iteration, the carry variables ``carries`` (which
    the body read as ``invars``) take the body's results ``new``."""
    arrays, scalars = [], []
    for c, v, x in zip(carries, invars, new, strict=True):
        if isinstance(x, Var) and (x is v or b.roots.get(id(x)) == id(v)):
            continue    # unchanged, or updated in place
        (arrays if c.aval.ndim else scalars).append((c, x))
    # A result that may share memory with a carry is read before any carry
    # is overwritten.
    staged = {}
    if len(arrays) > 1:
        for c, x in arrays:
            if not _independent(b, x):
                buf = b.scratch(c.aval.shape, c.aval.dtype, "stage")
                b.copy(buf, b.name(x), c.aval.shape)
                staged[id(c)] = buf
    for c, x in arrays:
        b.copy(b.name(c), staged.get(id(c), b.name(x)), c.aval.shape)
    if not scalars:
        return
    targets = [b.name(c) for c, _ in scalars]
    values = [cast(b.read(x), c.aval.dtype) for c, x in scalars]
    sources = {b.read(x) for _, x in scalars}
    if len(scalars) > 1 and any(t in sources for t in targets):
        # A swap: assign all at once.
        b.emit(f"{', '.join(targets)} = {', '.join(values)}")
    else:
        for t, value in zip(targets, values, strict=True):
            b.emit(f"{t} = {value}")


def _body(b: Builder, closed: ClosedJaxpr) -> Jaxpr:
    jaxpr = closed.jaxpr
    b.new_instance(jaxpr)
    return jaxpr


# ------------------------------------------------------------ cond
@register("cond")
def _cond(b: Builder, eqn: JaxprEqn) -> None:
    index, *ops = eqn.invars
    branches = eqn.params["branches"]
    outs = eqn.outvars
    bufs: dict[int, str] = {}
    if isinstance(index, Literal):
        k = min(max(int(index.val), 0), len(branches) - 1)
        _branch(b, branches[k], ops, outs, bufs)
    else:
        idx = b.read(index)
        last = len(branches) - 1
        for k, branch in enumerate(branches):
            # (The index is clamped already; <= and else make sure of it.)
            header = (f"if {idx} <= 0:" if k == 0 else "else:" if k == last
                      else f"elif {idx} == {k}:")
            with b.emit.block(header):
                _branch(b, branch, ops, outs, bufs)
    for v in outs:
        if v.aval.ndim:
            b.fresh.add(id(v))
            b.owned.add(id(v))


def _branch(b: Builder, closed: ClosedJaxpr, ops, outs, bufs: dict[int, str]) -> None:
    """One branch: its code, then the cond's outputs assigned.  An array
    output is the branch's own result when the branch allocated it (every
    branch then gives a writable contiguous array: one Numba type), else a
    copy (into a buffer allocated once, inside loops)."""
    jaxpr = _body(b, closed)
    _bind(b, jaxpr.invars, ops)
    b.emit_jaxpr(jaxpr)
    computed = {id(v) for e in jaxpr.eqns for v in e.outvars}
    taken: set[int] = set()
    for k, (out, res) in enumerate(zip(outs, jaxpr.outvars, strict=True)):
        aval = out.aval
        if aval.ndim == 0:
            b.define(out, cast(b.read(res), aval.dtype))
        elif (isinstance(res, Var) and id(res) in computed and id(res) in b.owned
              and id(res) not in b.roots and id(res) not in taken):
            taken.add(id(res))
            b.define(out, b.name(res))
        elif b.loop_depth:
            if k not in bufs:
                bufs[k] = b.scratch(aval.shape, aval.dtype, "out")
            b.copy(bufs[k], b.name(res), aval.shape)
            b.define(out, bufs[k])
        else:
            b.define(out, f"np.copy({b.name(res)})")


# ------------------------------------------------------------ while
@register("while")
def _while(b: Builder, eqn: JaxprEqn) -> None:
    p = eqn.params
    nc, nb = p["cond_nconsts"], p["body_nconsts"]
    cconsts, bconsts, init = eqn.invars[:nc], eqn.invars[nc:nc + nb], eqn.invars[nc + nb:]
    carries = eqn.outvars
    _init_carries(b, eqn, carries, init)
    cond = _body(b, p["cond_jaxpr"])
    _bind(b, cond.invars[:nc], cconsts)
    _bind(b, cond.invars[nc:], carries)
    predicate = _simple_predicate(b, cond)
    prelude = [] if predicate is None or not cond.eqns else b.comment_lines(cond.eqns[0])
    with b.loop(f"while {predicate}:" if predicate else "while True:", prelude=prelude):
        if predicate is None:
            b.emit_jaxpr(cond)
            with b.emit.block(f"if not {b.read(cond.outvars[0])}:"):
                b.emit("break")
        body = _body(b, p["body_jaxpr"])
        _bind(b, body.invars[:nb], bconsts)
        _bind_carries(b, body.invars[nb:], carries)
        b.emit_jaxpr(body)
        _update_carries(b, carries, body.invars[nb:], body.outvars)


def _simple_predicate(b: Builder, cond: Jaxpr) -> str | None:
    """The predicate as one expression when it is one (``i < n``), for a
    plain ``while <predicate>:``; None otherwise."""
    out = cond.outvars[0]
    if not cond.eqns:
        return b.read(out)
    if len(cond.eqns) != 1:
        return None
    eqn = cond.eqns[0]
    name = eqn.primitive.name
    if (name not in ELEMENTWISE or name in LOWERINGS or eqn.outvars[0] is not out
            or any(a.aval.ndim for a in eqn.invars)):
        return None
    expr = ELEMENTWISE[name](b, eqn, [b.read(a) for a in eqn.invars])
    return expr if getattr(expr, "exact", False) else cast(expr, np.bool_)


# ------------------------------------------------------------ scan
@register("scan")
def _scan(b: Builder, eqn: JaxprEqn) -> None:
    p = eqn.params
    length, reverse = p["length"], p["reverse"]
    nc, n = p["num_consts"], p["num_carry"]
    consts, init, xs = eqn.invars[:nc], eqn.invars[nc:nc + n], eqn.invars[nc + n:]
    carries, ys = eqn.outvars[:n], eqn.outvars[n:]
    _init_carries(b, eqn, carries, init)
    for y in ys:
        b.alloc(y)
    parallel = _want_prange(b, eqn)
    k = b.tmp("k")
    size = b.dim(length)
    with b.loop(f"for {k} in {'prange' if parallel else 'range'}({size}):", parallel=parallel):
        i = k
        if reverse:
            i = b.tmp("i")
            b.emit(f"{i} = {size} - 1 - {k}")
        body = _body(b, p["jaxpr"])
        _bind(b, body.invars[:nc], consts)
        _bind_carries(b, body.invars[nc:nc + n], carries)
        for v, x in zip(body.invars[nc + n:], xs, strict=True):
            b.define(v, f"{b.name(x)}[{i}]")
        b.emit_jaxpr(body)
        # The stacked outputs first: a y may be a carry's old value.
        for y, res in zip(ys, body.outvars[n:], strict=True):
            shape = res.aval.shape
            with b.loops(shape) as idx:
                b.emit(f"{b.name(y)}[{', '.join([i] + list(idx))}] = {b.elem(res, idx)}")
        _update_carries(b, carries, body.invars[nc:nc + n], body.outvars[:n])


# A scan whose iterations are independent (no carry) runs them in parallel
# when its length times this estimate of an iteration's work reaches
# ``settings.parallel_threshold``; a loop of unknown trip count counts as
# this many iterations.
_WHILE_TRIPS = 1000


def _work(jaxpr: Jaxpr) -> int:
    """A rough count of the elements an evaluation of ``jaxpr`` computes."""
    total = 0
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if name == "scan":
            total += eqn.params["length"] * _work(eqn.params["jaxpr"].jaxpr)
        elif name == "while":
            total += _WHILE_TRIPS * (_work(eqn.params["body_jaxpr"].jaxpr)
                                     + _work(eqn.params["cond_jaxpr"].jaxpr))
        elif name == "cond":
            total += max(_work(br.jaxpr) for br in eqn.params["branches"])
        else:
            total += sum(max(math.prod(v.aval.shape), 1) for v in eqn.outvars)
    return total


def _effectful(jaxpr: Jaxpr) -> bool:
    return any(e.primitive.effectful or any(_effectful(s) for s in subjaxprs(e))
               for e in jaxpr.eqns)


def _has_while(jaxpr: Jaxpr) -> bool:
    return any(e.primitive.name == "while" or any(_has_while(s) for s in subjaxprs(e))
               for e in jaxpr.eqns)


def _has_nested_while(jaxpr: Jaxpr) -> bool:
    """Whether some while loop in ``jaxpr`` (at any depth) holds another."""
    for e in jaxpr.eqns:
        subs = subjaxprs(e)
        if e.primitive.name == "while" and any(_has_while(s) for s in subs):
            return True
        if any(_has_nested_while(s) for s in subs):
            return True
    return False


def _want_prange(b: Builder, eqn: JaxprEqn) -> bool:
    p = eqn.params
    if (not settings.parallel or b.in_parallel or p["num_carry"] or p["length"] < 2
            or _effectful(p["jaxpr"].jaxpr)):   # (prints keep their order)
        return False
    # A body with nested while loops stays serial: Numba's parfor passes
    # rewrite a prange body (hoisting, array-expression parfors), and on the
    # NUTS sampler's member loop (while loops in while loops, in-place
    # carries) the result was wrong and 45x slower; the cause is not found
    # yet.  Such maps run on threads instead (mcmc.sample(num_threads=...)).
    if _has_nested_while(p["jaxpr"].jaxpr):
        return False
    return p["length"] * _work(p["jaxpr"].jaxpr) >= settings.parallel_threshold


# ------------------------------------------------------------ small products
# Inside loop bodies, matrix products up to this many multiply-adds are
# loops writing into a buffer allocated once (a BLAS call through np.dot
# returns a new array on every iteration, and costs more than the
# arithmetic of a 10x10 matrix-vector product).
SMALL_DOT = 1 << 15


def _loop_dot_general(b: Builder, eqn: JaxprEqn) -> None:
    from funcgrad.backends.numba_cpu.lowering_linalg import _dot_loops
    lhs, rhs = eqn.invars
    (_, rc), (_, rb) = eqn.params["dimension_numbers"]
    rhs_free = [n for d, n in enumerate(rhs.aval.shape) if d not in rc and d not in rb]
    work = math.prod(lhs.aval.shape) * math.prod(rhs_free)
    if work <= SMALL_DOT:
        _dot_loops(b, eqn)
    else:
        LOWERINGS["dot_general"](b, eqn)


LOOP_LOWERINGS["dot_general"] = _loop_dot_general

__all__ = ["SMALL_DOT"]
