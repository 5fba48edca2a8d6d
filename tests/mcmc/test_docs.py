"""The docstring examples run and print what they say.

``funcgrad.mcmc.sampling`` is left out: its examples compile two full
samplers (~10 s each on two cores); ``test_sampling.py`` covers the same
calls."""
from __future__ import annotations

import doctest
import importlib

import pytest

import funcgrad.mcmc
from funcgrad.mcmc import adaptation, diagnostics, kernels, summaries

# funcgrad.mcmc.nuts is the kernel function; the module is looked up by name.
nuts = importlib.import_module("funcgrad.mcmc.nuts")


@pytest.mark.parametrize("module", [funcgrad.mcmc, kernels, nuts, adaptation, diagnostics,
                                    summaries],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0, result
