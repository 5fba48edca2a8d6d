"""Every notebook in ``notebooks/`` runs top to bottom (its cells check
their own results), so the worked examples cannot rot.

The cells are executed in one namespace, in order, in this process (no
Jupyter kernel needed).  A notebook lists the optional packages it needs in
its metadata (``"funcgrad": {"requires": ["matplotlib"]}``); it is skipped
when one is missing.  Plots go to a non-interactive backend.
``FUNCGRAD_NOTEBOOK_SMALL=1`` asks the notebooks for their small settings
(shorter chains); their checks hold at either size.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found in notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    notebook = json.loads(path.read_text())
    for module in notebook["metadata"].get("funcgrad", {}).get("requires", []):
        pytest.importorskip(module)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # The notebooks read this to run shorter chains: compiling dominates their
    # run time, and the suite must stay fast on two cores.
    monkeypatch.setenv("FUNCGRAD_NOTEBOOK_SMALL", "1")
    monkeypatch.chdir(path.parent)
    namespace: dict = {"__name__": "__notebook__"}
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        code = compile(source, f"{path.name}[cell {index}]", "exec")
        exec(code, namespace)  # noqa: S102 (running the notebook is the test)
