"""The notebooks run from top to bottom without error."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_the_four_notebooks_are_stored_without_outputs():
    assert [p.stem for p in NOTEBOOKS] == ["01-quickstart", "02-joint-reachability",
                                           "03-sensitivity-for-briefings", "04-frontier"]
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    # The kernel's channels are Unix sockets in tmp_path, not localhost TCP ports, so
    # kernels started at the same moment by other test sessions cannot meet.  (The
    # pinned ipykernel is 6.31: ipykernel 7 now and then leaves a cell's reply unsent,
    # ipython/ipykernel#1554, and the test sat idle until its timeout.)
    # (nbclient makes the kernel manager, so it also shuts the kernel down.)
    ipc = Config({"KernelManager": {"transport": "ipc", "ip": str(tmp_path / "kernel")}})
    transports = []
    client = NotebookClient(nb, timeout=600, kernel_name="python3", config=ipc,
                            resources={"metadata": {"path": str(tmp_path)}},
                            on_notebook_start=lambda **_: transports.append(client.km.transport))
    client.execute()
    assert transports == ["ipc"] and client.km is None  # ran on Unix sockets, shut down
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
