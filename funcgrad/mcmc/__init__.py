"""``funcgrad.mcmc``: Markov chain Monte Carlo written only with funcgrad's
public API (``grad``, ``vmap``, ``jit``, ``lax`` loops, ``random``).

* kernels, BlackJAX-style objects with ``init``/``step``: :func:`rwm`,
  :func:`mala`, :func:`hmc` and :func:`nuts` (positions may be pytrees);
* :func:`sample`: chains vmapped, Stan-style warmup (dual-averaging step
  size, windowed diagonal mass matrix) and sampling, compiled by ``jit``
  and run in blocks of draws with an optional progress bar;
* in NumPy, diagnostics for ``(chain, draw, ...)`` arrays: :func:`ess`
  (bulk, tail), :func:`rhat` (rank-normalised split R-hat) and
  :func:`summary`.

>>> import numpy as np
>>> import funcgrad, funcgrad.numpy as jnp
>>> from funcgrad import random, mcmc
>>> kernel = mcmc.mala(lambda x: -0.5 * jnp.sum(x ** 2), step_size=0.9)
>>> state = kernel.init(np.zeros(3))
>>> state, info = funcgrad.jit(kernel.step)(random.key(0), state)
>>> state.position.shape
(3,)
"""
from funcgrad.mcmc.diagnostics import autocorrelation, ess, rhat, split_rhat
from funcgrad.mcmc.kernels import Kernel, MCMCInfo, MCMCState, hmc, mala, ravel_pytree, rwm
from funcgrad.mcmc.nuts import NUTSInfo, nuts
from funcgrad.mcmc.sampling import SampleResult, sample
from funcgrad.mcmc.summaries import Summary, summary

__all__ = ["Kernel", "MCMCInfo", "MCMCState", "NUTSInfo", "SampleResult", "Summary",
           "autocorrelation", "ess", "hmc", "mala", "nuts", "ravel_pytree", "rhat", "rwm", "sample",
           "split_rhat", "summary"]
