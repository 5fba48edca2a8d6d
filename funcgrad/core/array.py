"""``funcgrad.Array``: the immutable result of eager computation."""
from __future__ import annotations

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.array_methods import ArrayMethods


class Array(ArrayMethods):
    """An immutable array wrapping a read-only NumPy buffer.

    ``np.asarray(a)`` returns that buffer without copying; it behaves like a
    NumPy array (operators, indexing, methods) but never changes in place:
    use ``a.at[idx].set(v)`` for a functional update.

    >>> import funcgrad.numpy as jnp
    >>> a = jnp.arange(3.0)
    >>> a * 2
    Array([0., 2., 4.], dtype=float64)
    >>> a.at[1].set(10.0)
    Array([ 0., 10.,  2.], dtype=float64)
    """

    __slots__ = ("_value", "weak_type")
    # Make ``numpy_array + funcgrad_array`` call our reflected operators.
    __array_priority__ = 1000

    def __init__(self, value, dtype=None, weak_type: bool = False):
        buffer = np.array(value, dtype=dtype)  # always a private copy
        dtypes.canonicalize(buffer.dtype)
        buffer.flags.writeable = False
        self._value = buffer
        self.weak_type = weak_type

    @classmethod
    def _from_buffer(cls, buffer: np.ndarray, weak_type: bool = False) -> "Array":
        """Wrap a read-only buffer we own, without copying."""
        self = object.__new__(cls)
        self._value = buffer
        self.weak_type = weak_type
        return self

    # ------------------------------------------------------------ metadata
    @property
    def shape(self) -> tuple[int, ...]:
        return self._value.shape

    @property
    def dtype(self) -> np.dtype:
        return self._value.dtype

    @property
    def ndim(self) -> int:
        return self._value.ndim

    @property
    def size(self) -> int:
        return self._value.size

    @property
    def nbytes(self) -> int:
        return self._value.nbytes

    @property
    def itemsize(self) -> int:
        return self._value.itemsize

    @property
    def aval(self):
        from funcgrad.core.avals import ShapedArray
        return ShapedArray(self._value.shape, self._value.dtype, self.weak_type)

    # ------------------------------------------------------ NumPy interop
    def __array__(self, dtype=None, copy=None):
        if copy:
            return np.array(self._value, dtype=dtype, copy=True)
        if dtype is not None and np.dtype(dtype) != self._value.dtype:
            if copy is False:
                raise ValueError("converting the dtype of a funcgrad.Array needs a copy")
            return self._value.astype(dtype)
        return self._value

    def __reduce__(self):
        return (_rebuild, (np.array(self._value), self.weak_type))

    # ------------------------------------------------- Python conversions
    def item(self, *args):
        return self._value.item(*args)

    def tolist(self):
        return self._value.tolist()

    def __bool__(self):
        return bool(self._value)

    def __int__(self):
        return int(self._value)

    def __float__(self):
        return float(self._value)

    def __complex__(self):
        return complex(self._value)

    def __index__(self):
        if not (dtypes.is_integer(self.dtype) or dtypes.is_bool(self.dtype)):
            raise TypeError(f"only integer arrays can be used as an index, got {self.dtype}")
        return self._value.__index__()

    def __len__(self):
        return len(self._value)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (Array._from_buffer(row, self.weak_type) for row in self._value)

    def __format__(self, spec):
        if self.ndim == 0:
            return format(self._value.item(), spec)
        return format(str(self), spec)

    __hash__ = None  # arrays are unhashable, as in NumPy

    # ------------------------------------------------------------- misc
    def block_until_ready(self) -> "Array":
        """Computation is synchronous here; kept for JAX compatibility."""
        return self

    def copy(self) -> "Array":
        return Array._from_buffer(self._value, self.weak_type)  # immutable: sharing is safe

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __repr__(self) -> str:
        body = np.array2string(self._value, separator=", ", prefix="Array(")
        weak = ", weak_type=True" if self.weak_type else ""
        return f"Array({body}, dtype={self.dtype.name}{weak})"

    def __str__(self) -> str:
        return str(self._value)


def _rebuild(value, weak_type):
    return Array(value, weak_type=weak_type)
