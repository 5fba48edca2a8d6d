"""A table of posterior summaries and convergence diagnostics.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> s = summary({"mu": rng.normal(size=(4, 500)), "beta": rng.normal(size=(4, 500, 2))})
>>> s.names
['mu', 'beta[0]', 'beta[1]']
>>> bool(s["mu"]["rhat"] < 1.01)
True
>>> print(s)                                              # doctest: +SKIP
name       mean     sd      5%     50%    95%  ess_bulk  ess_tail   rhat
mu       -0.028  1.000  -1.636  -0.034  1.599      2008      2056  1.001
beta[0]   0.004  0.993  -1.655  -0.032  1.683      1959      1797  1.000
beta[1]   0.020  0.994  -1.585  -0.001  1.686      1926      2100  1.000
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from funcgrad import tree_util
from funcgrad.mcmc.diagnostics import ess, rhat

__all__ = ["Summary", "summary"]


class Summary:
    """Per-scalar-parameter statistics, one row per component.

    Attributes
    ----------
    names : list of str, e.g. ``"beta[0, 1]"``.
    columns : list of str, the statistic names.
    values : float array ``(len(names), len(columns))``.

    ``s[name]`` is a dict of one row; ``s.column(col)`` one column;
    ``str(s)`` / ``repr(s)`` a fixed-width table.
    """

    def __init__(self, names: list[str], columns: list[str], values: np.ndarray):
        self.names = names
        self.columns = columns
        self.values = values

    def __getitem__(self, name: str) -> dict[str, float]:
        row = self.values[self.names.index(name)]
        return dict(zip(self.columns, (float(v) for v in row), strict=True))

    def column(self, col: str) -> np.ndarray:
        """All rows of one statistic."""
        return self.values[:, self.columns.index(col)]

    def to_dict(self) -> dict[str, dict[str, float]]:
        """``{name: {statistic: value}}``."""
        return {name: self[name] for name in self.names}

    def __str__(self) -> str:
        def fmt(col, v):
            if not np.isfinite(v):
                return "nan"
            if col.startswith("ess"):
                return f"{v:.0f}"
            if col == "rhat":
                return f"{v:.3f}"
            return f"{v:.3g}" if abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3) else f"{v:.3f}"

        cells = [[fmt(c, v) for c, v in zip(self.columns, row, strict=True)]
                 for row in self.values]
        name_w = max([4] + [len(n) for n in self.names])
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(self.columns)]
        lines = ["name".ljust(name_w) + "  " + "  ".join(
            c.rjust(w) for c, w in zip(self.columns, widths, strict=True))]
        for name, row in zip(self.names, cells, strict=True):
            lines.append(name.ljust(name_w) + "  " + "  ".join(
                v.rjust(w) for v, w in zip(row, widths, strict=True)))
        return "\n".join(lines)

    __repr__ = __str__


def _label(path) -> str:
    return tree_util.keystr(path, simple=True, separator=".") if path else "x"


def summary(samples: Mapping[str, Any] | Any, quantiles=(0.05, 0.5, 0.95)) -> Summary:
    """Summarise draws: mean, sd, quantiles, bulk and tail ESS, and R-hat.

    Parameters
    ----------
    samples : a dict (or any pytree) of arrays shaped ``(chain, draw, ...)``,
        one array, or the result of :func:`funcgrad.mcmc.sample` (its
        ``samples`` are summarised).
    quantiles : probabilities of the quantile columns.

    >>> import numpy as np
    >>> x = np.random.default_rng(1).normal(2.0, 3.0, size=(2, 2000))
    >>> row = summary({"x": x})["x"]
    >>> bool(abs(row["mean"] - 2.0) < 0.3), bool(abs(row["sd"] - 3.0) < 0.3)
    (True, True)
    """
    if hasattr(samples, "samples") and hasattr(samples, "stats"):    # a SampleResult
        samples = samples.samples
    # A dict keeps its own order (tree_util would sort the keys).
    if isinstance(samples, Mapping):
        leaves = [((tree_util.DictKey(k),) + path, leaf) for k, v in samples.items()
                  for path, leaf in tree_util.tree_leaves_with_path(v)]
    else:
        leaves = tree_util.tree_leaves_with_path(samples)
    qnames = [f"{100 * q:g}%" for q in quantiles]
    columns = ["mean", "sd", *qnames, "ess_bulk", "ess_tail", "rhat"]
    names, rows = [], []
    for path, leaf in leaves:
        x = np.asarray(leaf, dtype=np.float64)
        if x.ndim < 2:
            raise ValueError(f"{_label(path)}: draws must be shaped (chain, draw, ...), "
                             f"got shape {x.shape}")
        pooled = x.reshape((-1,) + x.shape[2:])
        stats = [pooled.mean(axis=0), pooled.std(axis=0, ddof=1),
                 *np.quantile(pooled, quantiles, axis=0),
                 ess(x, "bulk"), ess(x, "tail"), rhat(x)]
        stats = [np.reshape(s, -1) for s in stats]
        base = _label(path)
        for flat_index, index in enumerate(np.ndindex(*x.shape[2:])):
            names.append(base + (f"[{', '.join(map(str, index))}]" if index else ""))
            rows.append([s[flat_index] for s in stats])
    values = np.array(rows, dtype=np.float64).reshape(len(rows), len(columns))
    return Summary(names, columns, values)
