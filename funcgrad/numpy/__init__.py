"""``funcgrad.numpy``: NumPy's API on funcgrad arrays, traceable by every
transform.  Import it as ``jnp``, like ``jax.numpy``.

Broadcasting and dtype promotion follow NumPy 2 (float64 by default, Python
scalars are weak); results are immutable :class:`funcgrad.Array` values.

>>> import funcgrad.numpy as jnp
>>> jnp.sum(jnp.arange(4.0) ** 2)
Array(14., dtype=float64)
"""
import numpy as _np

from funcgrad.core.array import Array
from funcgrad.numpy.dtypes_api import *  # noqa: F401,F403
from funcgrad.numpy.creation import *  # noqa: F401,F403
from funcgrad.numpy.ufuncs import *  # noqa: F401,F403
from funcgrad.numpy.reductions import *  # noqa: F401,F403
from funcgrad.numpy.manipulation import *  # noqa: F401,F403
from funcgrad.numpy.editing import *  # noqa: F401,F403
from funcgrad.numpy.products import *  # noqa: F401,F403
from funcgrad.numpy.sorting import *  # noqa: F401,F403
from funcgrad.numpy.indexing import take, take_along_axis  # noqa: F401
from funcgrad.numpy import linalg  # noqa: F401

ndarray = Array
newaxis = None
pi, e, inf, nan, euler_gamma = _np.pi, _np.e, _np.inf, _np.nan, _np.euler_gamma
