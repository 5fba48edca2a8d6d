"""``funcgrad.lax``: the primitives and thin wrappers around them.

Lax operations are strict where ``funcgrad.numpy`` is forgiving: operands
have equal dtypes (Python scalars adapt) and, for elementwise operations,
equal shapes (0-d operands combine with any shape).

>>> from funcgrad import lax
>>> lax.add(lax.sin(0.5), 1.0)
Array(1.47942554, dtype=float64, weak_type=True)
"""
from funcgrad.lax.elementwise import *  # noqa: F401,F403
from funcgrad.lax.elementwise import (ROUND_AWAY_FROM_ZERO, ROUND_TO_NEAREST_EVEN,  # noqa: F401
                                      clamp, convert_element_type, integer_pow, round,
                                      select, select_n)
from funcgrad.lax.shape import *  # noqa: F401,F403
from funcgrad.lax.slicing import *  # noqa: F401,F403
from funcgrad.lax.indexing import *  # noqa: F401,F403
from funcgrad.lax.reductions import *  # noqa: F401,F403
from funcgrad.lax.cumulative import *  # noqa: F401,F403
from funcgrad.lax.sorting import *  # noqa: F401,F403
from funcgrad.lax.linalg import *  # noqa: F401,F403
from funcgrad.lax.linalg_factor import *  # noqa: F401,F403
from funcgrad.lax.special import *  # noqa: F401,F403
from funcgrad.lax.control_flow import (cond, cond_p, fori_loop, map, scan,  # noqa: F401,A004
                                       scan_p, switch, while_loop, while_p)
