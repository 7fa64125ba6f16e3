"""The comparison notebook runs top to bottom on the committed metrics."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "training" / "notebooks" / "compare_models.ipynb"


@pytest.mark.skipif(
    not (ROOT / "training" / "reports" / "metrics.json").is_file(), reason="no committed evaluation yet"
)
def test_compare_models_notebook_runs(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = "".join(
        o.get("text", "") for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
    )
    assert "per_patient_dice_mean" in outputs and "parameters" in outputs
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
