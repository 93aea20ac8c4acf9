"""docs/tutorial.ipynb: stored without outputs, and run top to bottom without an error."""

from __future__ import annotations

from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"


def _notebook():
    import nbformat

    return nbformat.read(TUTORIAL, as_version=4)


def test_the_tutorial_is_stored_without_outputs():
    code = [cell for cell in _notebook().cells if cell.cell_type == "code"]
    assert code, "the tutorial has code"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.slow
def test_the_tutorial_runs_top_to_bottom(tmp_path):
    """Every cell runs (a failing cell raises CellExecutionError), in a fresh folder; its
    plots are shown inline and it warns about nothing."""
    from nbclient import NotebookClient

    notebook = _notebook()
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    shown = [o for o in outputs if "image/png" in o.get("data", {})]
    plots = sum(
        "plt.show()" in cell.source or cell.source.rstrip().endswith(".plot()")
        for cell in notebook.cells
    )
    assert len(shown) == plots  # every figure reached the notebook
    streams = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "Warning" not in streams, streams
    assert (tmp_path / "tutorial-runs" / "digits" / "config.toml").is_file()
