"""Structured control flow: ``cond``, ``switch``, ``while_loop``,
``fori_loop``, ``scan`` and ``map``.

Each traces its Python functions once into sub-jaxprs held by a primitive
(``cond_p``, ``while_p``, ``scan_p``), so loops and branches survive
staging: under ``jit`` they compile to native ``if``/``while``/``for``, and
every transform (jvp, reverse mode where it exists, vmap) rewrites the
sub-jaxprs.  Eagerly, they run their bodies op by op.
"""
from funcgrad.lax.control_flow.cond import cond, cond_p, switch  # noqa: F401
from funcgrad.lax.control_flow.loops import fori_loop, while_loop, while_p  # noqa: F401
from funcgrad.lax.control_flow.scan import map, scan, scan_p  # noqa: F401,A004
