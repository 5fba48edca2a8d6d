"""Abstract values: what a traced value is known to be (shape, dtype)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from funcgrad.core import dtypes


@dataclass(frozen=True, slots=True)
class ShapedArray:
    """The abstract value of an array: its shape, dtype and weak-typedness.

    ``weak_type`` marks values that come from Python scalars; see
    :mod:`funcgrad.core.dtypes`.

    >>> ShapedArray((3,), np.dtype('float64')).str_short()
    'f64[3]'
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    weak_type: bool = False

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def str_short(self) -> str:
        return f"{dtypes.short_name(self.dtype)}[{','.join(map(str, self.shape))}]"

    def update(self, shape=None, dtype=None, weak_type=None) -> "ShapedArray":
        return ShapedArray(self.shape if shape is None else tuple(shape),
                           self.dtype if dtype is None else np.dtype(dtype),
                           self.weak_type if weak_type is None else weak_type)

    def strip_weak_type(self) -> "ShapedArray":
        return self if not self.weak_type else ShapedArray(self.shape, self.dtype)

    def __repr__(self) -> str:
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapedArray({self.dtype.name}[{','.join(map(str, self.shape))}]{weak})"


def same_type(a: ShapedArray, b: ShapedArray) -> bool:
    """Equal shape and dtype; weak-typedness is a promotion hint, not a type."""
    return a.shape == b.shape and a.dtype == b.dtype
