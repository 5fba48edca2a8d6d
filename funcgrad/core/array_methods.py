"""Operators and methods shared by :class:`Array` and every tracer.

Each one forwards to the funcgrad.numpy function of the same meaning, so an
expression like ``(x * 2).sum(axis=0)`` behaves identically eagerly and under
any transformation.
"""
from __future__ import annotations

_jnp_module = None


def _jnp():
    # funcgrad.numpy imports the core, so it is looked up lazily here.
    global _jnp_module
    if _jnp_module is None:
        import funcgrad.numpy as jnp
        _jnp_module = jnp
    return _jnp_module


def _binary(name, reflected=False):
    if reflected:
        def method(self, other):
            return getattr(_jnp(), name)(other, self)
    else:
        def method(self, other):
            return getattr(_jnp(), name)(self, other)
    method.__name__ = name
    return method


def _unary(name):
    def method(self):
        return getattr(_jnp(), name)(self)
    method.__name__ = name
    return method


def _forward(name):
    def method(self, *args, **kwargs):
        return getattr(_jnp(), name)(self, *args, **kwargs)
    method.__name__ = name
    method.__doc__ = f"Same as ``funcgrad.numpy.{name}(self, ...)``."
    return method


def _shape_args(args):
    """``x.reshape(2, 3)`` and ``x.reshape((2, 3))`` mean the same."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return args


class ArrayMethods:
    """Mixin: NumPy's operator and method surface, on top of funcgrad.numpy."""

    __slots__ = ()

    __add__, __radd__ = _binary("add"), _binary("add", True)
    __sub__, __rsub__ = _binary("subtract"), _binary("subtract", True)
    __mul__, __rmul__ = _binary("multiply"), _binary("multiply", True)
    __truediv__, __rtruediv__ = _binary("true_divide"), _binary("true_divide", True)
    __floordiv__, __rfloordiv__ = _binary("floor_divide"), _binary("floor_divide", True)
    __mod__, __rmod__ = _binary("remainder"), _binary("remainder", True)
    __pow__, __rpow__ = _binary("power"), _binary("power", True)
    __matmul__, __rmatmul__ = _binary("matmul"), _binary("matmul", True)
    __and__, __rand__ = _binary("bitwise_and"), _binary("bitwise_and", True)
    __or__, __ror__ = _binary("bitwise_or"), _binary("bitwise_or", True)
    __xor__, __rxor__ = _binary("bitwise_xor"), _binary("bitwise_xor", True)
    __lshift__, __rlshift__ = _binary("left_shift"), _binary("left_shift", True)
    __rshift__, __rrshift__ = _binary("right_shift"), _binary("right_shift", True)
    __lt__, __le__ = _binary("less"), _binary("less_equal")
    __gt__, __ge__ = _binary("greater"), _binary("greater_equal")
    __eq__, __ne__ = _binary("equal"), _binary("not_equal")
    __neg__, __pos__ = _unary("negative"), _unary("positive")
    __abs__, __invert__ = _unary("abs"), _unary("invert")

    def __divmod__(self, other):
        return _jnp().divmod(self, other)

    def __rdivmod__(self, other):
        return _jnp().divmod(other, self)

    def __round__(self, ndigits=None):
        return _jnp().round(self, ndigits or 0)

    def __getitem__(self, index):
        from funcgrad.numpy.indexing import getitem
        return getitem(self, index)

    @property
    def at(self):
        """Functional updates: ``x.at[idx].set(v)``, ``.add``, ``.mul``, ``.min``,
        ``.max``, ``.get``; returns a new array, never mutates ``x``."""
        from funcgrad.numpy.indexing import IndexUpdateHelper
        return IndexUpdateHelper(self)

    @property
    def T(self):
        return _jnp().transpose(self)

    @property
    def mT(self):
        return _jnp().swapaxes(self, -1, -2)

    @property
    def real(self):
        return _jnp().real(self)

    @property
    def imag(self):
        return _jnp().imag(self)

    def reshape(self, *shape, order="C"):
        return _jnp().reshape(self, _shape_args(shape), order=order)

    def transpose(self, *axes):
        return _jnp().transpose(self, _shape_args(axes) or None)

    def astype(self, dtype):
        return _jnp().astype(self, dtype)

    def flatten(self):
        return _jnp().ravel(self)

    sum = _forward("sum")
    mean = _forward("mean")
    prod = _forward("prod")
    max = _forward("max")
    min = _forward("min")
    argmax = _forward("argmax")
    argmin = _forward("argmin")
    all = _forward("all")
    any = _forward("any")
    std = _forward("std")
    var = _forward("var")
    cumsum = _forward("cumsum")
    cumprod = _forward("cumprod")
    ravel = _forward("ravel")
    squeeze = _forward("squeeze")
    swapaxes = _forward("swapaxes")
    clip = _forward("clip")
    round = _forward("round")
    conj = _forward("conjugate")
    conjugate = _forward("conjugate")
    dot = _forward("dot")
    repeat = _forward("repeat")
    take = _forward("take")
    sort = _forward("sort")
    argsort = _forward("argsort")
    trace = _forward("trace")
    diagonal = _forward("diagonal")
    ptp = _forward("ptp")
