"""Passes over jaxprs that run after the transforms (DCE, simplification)."""
from funcgrad.passes.dce import dce_jaxpr

__all__ = ["dce_jaxpr"]
