"""The evaluators' notebooks run top to bottom on the demo corpus (so they never rot), and are
committed without outputs."""
from __future__ import annotations

import json
import os

import pytest

from conftest import DEMO, ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_five_notebooks_without_outputs():
    assert [p.name[:2] for p in NOTEBOOKS] == ["1_", "2_", "3_", "4_", "5_"]
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, path.name


@pytest.fixture(scope="module")
def notebook_study(tmp_path_factory):
    return tmp_path_factory.mktemp("nb") / "studie"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, notebook_study, monkeypatch):
    import nbformat
    from nbclient import NotebookClient
    monkeypatch.setenv("NARRATIV_STUDY", str(notebook_study))
    monkeypatch.setenv("NARRATIV_CORPUS", str(DEMO))
    # the kernel inherits this environment: ROOT first, then the tests' network guard (conftest)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ["PYTHONPATH"]]))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    if path.name.startswith("4_"):
        assert (notebook_study / "out" / "narrativ.docx").exists()
    if path.name.startswith("3_"):
        assert (notebook_study / "out" / "questions.json").exists()
    if path.name.startswith("5_"):
        assert (notebook_study / "out" / "narrativ.qdpx").exists()
        assert (notebook_study / "out" / "overensstammelse.json").exists()
