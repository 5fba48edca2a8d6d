"""``funcgrad.scipy``: SciPy's API on funcgrad arrays (``jax.scipy``).

>>> from funcgrad.scipy import special
>>> special.logsumexp([1000.0, 1000.0])
Array(1000.69314718, dtype=float64)
"""
from funcgrad.scipy import special  # noqa: F401

__all__ = ["special"]
