"""Convergence diagnostics for MCMC draws, in NumPy (post-processing).

Every function takes draws shaped ``(chain, draw, ...)`` and returns one
value per trailing element.  The estimators follow Vehtari, Gelman,
Simpson, Carpenter and Bürkner (2021), "Rank-normalization, folding, and
localization: an improved R-hat for assessing convergence of MCMC",
Bayesian Analysis 16(2):

* chains are split in halves, so a trend within a chain shows up as
  disagreement between its halves;
* ``rhat`` is the larger of the split R-hat of the rank-normalised draws
  (bulk) and of the rank-normalised folded draws ``|x - median|`` (tails);
* ``ess`` combines the chains' FFT autocorrelations into one estimate and
  truncates the sum with Geyer's (1992) initial monotone sequence.

>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(4, 1000))
>>> bool(0.8 < ess(x) / 4000 < 1.2), bool(rhat(x) < 1.01)
(True, True)
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["autocorrelation", "ess", "rhat", "split_rhat"]


def _as_draws(x) -> tuple[np.ndarray, tuple[int, ...]]:
    """(chain, draw, ...) -> float (chain, draw, K) and the trailing shape."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"draws must be shaped (chain, draw, ...), got shape {x.shape}")
    return x.reshape(x.shape[0], x.shape[1], -1), x.shape[2:]


def _split(x: np.ndarray) -> np.ndarray:
    """Split each chain in two halves (dropping the middle draw of an odd count)."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half:]], axis=0)


def _ndtri(p: np.ndarray) -> np.ndarray:
    """The standard normal quantile function, through funcgrad.scipy (NumPy
    has none)."""
    from funcgrad.scipy.special import ndtri
    return np.asarray(ndtri(np.asarray(p, dtype=np.float64)))


def _rank_normalize(x: np.ndarray) -> np.ndarray:
    """Replace draws by normal scores of their pooled ranks (average ranks
    for ties), ``ndtri((r - 3/8) / (S + 1/4))`` (Blom's offset, as in the
    paper), per trailing element."""
    m, n, k = x.shape
    flat = x.reshape(m * n, k)
    order = np.argsort(flat, axis=0, kind="stable")
    ranks = np.empty_like(flat)
    cols = np.arange(k)
    ranks[order, cols] = np.arange(1, m * n + 1, dtype=np.float64)[:, None]
    # Average the ranks of tied values so a discrete quantity is not given
    # spurious order.
    for j in range(k):
        col = flat[:, j]
        uniq, inverse, counts = np.unique(col, return_inverse=True, return_counts=True)
        if len(uniq) < len(col):
            sums = np.bincount(inverse, weights=ranks[:, j])
            ranks[:, j] = (sums / counts)[inverse]
    return _ndtri((ranks - 0.375) / (m * n + 0.25)).reshape(m, n, k)


def autocorrelation(x, axis: int = -1) -> np.ndarray:
    """Autocorrelation of a sequence at all lags, via FFT (biased estimator,
    divided by the length, so the sequence is positive semi-definite).

    >>> rho = autocorrelation(np.random.default_rng(1).normal(size=5000))
    >>> float(rho[0]), bool(abs(rho[1]) < 0.05)
    (1.0, True)
    """
    acov = _autocovariance(np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.moveaxis(acov / acov[..., :1], -1, axis)


def _autocovariance(x: np.ndarray) -> np.ndarray:
    """Autocovariance along the last axis; zero-padding to at least twice
    the length turns the FFT's circular correlation into the linear one."""
    n = x.shape[-1]
    size = 1 << (2 * n - 1).bit_length()
    centered = x - x.mean(axis=-1, keepdims=True)
    spectrum = np.fft.rfft(centered, n=size, axis=-1)
    return np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=-1)[..., :n] / n


def _ess_chains(x: np.ndarray) -> np.ndarray:
    """ESS of each column of (chain, draw, K) draws (chains already split)."""
    m, n, k = x.shape
    out = np.full(k, np.nan)
    if n < 4:
        return out
    acov = _autocovariance(np.moveaxis(x, 1, -1))          # (m, k, n)
    chain_var = acov[..., 0] * n / (n - 1)                 # (m, k)
    within = chain_var.mean(axis=0)
    var_plus = within * (n - 1) / n
    if m > 1:
        var_plus = var_plus + x.mean(axis=1).var(axis=0, ddof=1)
    for j in range(k):
        if not np.isfinite(var_plus[j]) or var_plus[j] <= 0:
            continue
        # Combined autocorrelation (eq. 10 of the paper): the within-chain
        # autocovariance relative to the between+within variance, so
        # disagreement between chains lowers the ESS.
        rho = 1.0 - (within[j] - acov[:, j, :].mean(axis=0)) / var_plus[j]
        rho[0] = 1.0
        # Geyer's initial positive sequence: sums of adjacent pairs are
        # positive for a reversible chain; stop at the first that is not,
        # then make the pair sums monotone (initial monotone sequence).
        pairs = rho[: 2 * (n // 2)].reshape(-1, 2).sum(axis=1)
        nonpos = np.nonzero(pairs <= 0)[0]
        last = nonpos[0] if len(nonpos) else len(pairs)
        pairs = np.minimum.accumulate(pairs[:last])
        tau = -1.0 + 2.0 * pairs.sum()
        # Antithetic chains can make tau < 1 (ESS > draws); the paper caps
        # the estimate at S log10(S) to keep it stable.
        tau = max(tau, 1.0 / math.log10(m * n)) if m * n > 1 else tau
        out[j] = m * n / tau
    return out


def ess(x, kind: str = "bulk") -> np.ndarray | float:
    """Effective sample size of draws shaped ``(chain, draw, ...)``.

    kind : ``"bulk"`` (rank-normalised split chains: efficiency for the
        centre of the distribution, robust to heavy tails), ``"tail"`` (the
        smaller ESS of the indicators ``x <= q05`` and ``x <= q95``), or
        ``"mean"`` (split chains, no rank normalisation: the ESS that sets
        the Monte Carlo standard error of the mean, ``sd / sqrt(ess)``).

    Returns a float for ``(chain, draw)`` input, else an array of the
    trailing shape.

    >>> rng = np.random.default_rng(2)
    >>> e = np.zeros((2, 4000))
    >>> for t in range(1, 4000):          # AR(1), rho = 0.5: ess ~ n / 3
    ...     e[:, t] = 0.5 * e[:, t - 1] + rng.normal(size=2)
    >>> bool(0.25 < ess(e, "mean") / 8000 < 0.42)
    True
    """
    draws, shape = _as_draws(x)
    split = _split(draws)
    if kind == "bulk":
        out = _ess_chains(_rank_normalize(split))
    elif kind == "mean":
        out = _ess_chains(split)
    elif kind == "tail":
        qs = np.quantile(draws.reshape(-1, draws.shape[-1]), [0.05, 0.95], axis=0)
        low = _ess_chains((split <= qs[0]).astype(np.float64))
        high = _ess_chains((split <= qs[1]).astype(np.float64))
        out = np.fmin(low, high)
    else:
        raise ValueError(f"ess kind must be 'bulk', 'tail' or 'mean', got {kind!r}")
    return _shaped(out, shape)


def _shaped(out: np.ndarray, shape: tuple[int, ...]):
    return float(out[0]) if shape == () else out.reshape(shape)


def _split_rhat_raw(x: np.ndarray) -> np.ndarray:
    """Split R-hat (Gelman-Rubin on split chains) of (chain, draw, K) draws."""
    split = _split(x)
    n = split.shape[1]
    within = split.var(axis=1, ddof=1).mean(axis=0)
    between = split.mean(axis=1).var(axis=0, ddof=1)       # B / n
    var_plus = within * (n - 1) / n + between
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(var_plus / within)


def split_rhat(x) -> np.ndarray | float:
    """The classic split R-hat (no rank normalisation), per trailing element.

    >>> x = np.random.default_rng(3).normal(size=(4, 500))
    >>> bool(split_rhat(x) < 1.01), bool(split_rhat(x + np.arange(4)[:, None]) > 1.5)
    (True, True)
    """
    draws, shape = _as_draws(x)
    return _shaped(_split_rhat_raw(draws), shape)


def rhat(x) -> np.ndarray | float:
    """Rank-normalised split R-hat: the larger of the bulk R-hat and the
    folded (tail) R-hat; values above 1.01 suggest the chains have not mixed.

    >>> x = np.random.default_rng(4).normal(size=(4, 500))
    >>> bool(rhat(x) < 1.01), bool(rhat(x + np.arange(4)[:, None]) > 1.5)
    (True, True)
    """
    draws, shape = _as_draws(x)
    bulk = _split_rhat_raw(_rank_normalize(draws))
    folded = np.abs(draws - np.median(draws.reshape(-1, draws.shape[-1]), axis=0))
    tail = _split_rhat_raw(_rank_normalize(folded))
    return _shaped(np.fmax(bulk, tail), shape)
