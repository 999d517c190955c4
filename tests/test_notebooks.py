"""The notebooks: committed without outputs, and each runs top to bottom in a real Jupyter kernel
(with its short settings) and shows at least one figure.

They need the ``notebooks`` extra (nbclient, ipykernel), which .ci/run installs, and the real MNIST
files, so they are integration tests: in CI they fail, not skip, when either is missing.
"""
import json
import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
COURSES = {"cs7643", "hw7", "mlds_optimization", "mlds_generalization", "neuromatch"}


def test_there_is_a_notebook_per_course():
    assert {p.stem for p in NOTEBOOKS} >= COURSES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(path):
    notebook = json.loads(path.read_text())
    for i, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, \
                f"{path.name} cell {i} holds outputs: clear them before committing (e.g. nbstripout)"
    assert "widgets" not in notebook["metadata"], f"{path.name} holds widget state"


def _nbclient():
    try:
        import nbclient
        import nbformat
    except ImportError as exc:
        if "CI" in os.environ:
            pytest.fail(f"the notebooks extra is missing ({exc}); CI installs it")
        pytest.skip(f"the notebooks extra is not installed ({exc})")
    return nbclient, nbformat


@pytest.mark.integration
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom_and_shows_a_figure(path, real_mnist_dir, capsys):
    nbclient, nbformat = _nbclient()
    notebook = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}     # the kernel's inline backend shows figures
    env["MINIDL_DATA"] = str(real_mnist_dir)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)                     # the kernel inherits this process's environment
    start = time.perf_counter()
    try:
        nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    seconds = time.perf_counter() - start
    images = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
              if "image/png" in o.get("data", {})]
    assert images, f"{path.name} displayed no figure"
    with capsys.disabled():
        print(f"\n[{path.name}: {seconds:.0f} s, {len(images)} figures]", end="")
