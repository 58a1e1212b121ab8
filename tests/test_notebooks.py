"""The notebooks: committed without outputs, calling only the public API, and run end to end.

The executing tests start a real ``python3`` kernel with the working directory ``notebooks/``
(as a person would run them) and the parameters set through environment variables: the data
folder, and a temporary output folder so a run never writes into the checkout. The kernel is a
separate process, so it gets ``PYTHONPATH`` pointing at this checkout: it imports the same
akarclf as the tests, whether or not (and however) the package is installed.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import nbformat
import pytest

from tests.conftest import REPO_ROOT

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = ("01_retrain.ipynb", "02_policy_what_if.ipynb")
#: Seconds one cell may run (training with the gold out-of-fold fits is the longest).
CELL_TIMEOUT = 900
#: The public namespaces: the service API and the two workbench namespaces.
PUBLIC_MODULES = frozenset({"akarclf", "akarclf.training", "akarclf.evaluation"})


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


def _code(notebook: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def test_every_notebook_is_listed() -> None:
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_has_no_outputs(name: str) -> None:
    notebook = _read(name)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], f"{name} cell {index} has outputs: clear them before committing"
        assert cell.execution_count is None, f"{name} cell {index} has an execution count"
    assert notebook.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_imports_only_the_public_api(name: str) -> None:
    """A notebook calls the public namespaces only (``akarclf``, ``akarclf.training``,
    ``akarclf.evaluation``): no internal module, no logic of its own that the library lacks."""
    for index, source in enumerate(_code(_read(name))):
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        tree = ast.parse("\n".join(lines))
        for node in ast.walk(tree):
            modules: list[str] = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            for module in modules:
                internal = module.startswith("akarclf.") and module not in PUBLIC_MODULES
                assert not internal, f"{name} cell {index} imports internal module {module}"
        attributes = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "akarclf"
        }
        private = sorted(a for a in attributes if a.startswith("_") and a != "__version__")
        assert not private, f"{name} cell {index} uses private names {private}"


def _execute(name: str, env: dict[str, str]) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    notebook = _read(name)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    # Keyword arguments of execute() go to the kernel manager's start_kernel(): the kernel
    # process gets exactly this environment. A failing cell raises CellExecutionError with
    # the cell's source and traceback.
    client.execute(env=env)
    return notebook


def _kernel_env(shared_data: Path, out: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    env["AKARCLF_DATA"] = str(shared_data)
    env["AKARCLF_NOTEBOOK_OUT"] = str(out)
    env["AKARCLF_JOBS"] = "2"
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    return env


def _errors(notebook: nbformat.NotebookNode) -> list[str]:
    return [
        f"{output.get('ename')}: {output.get('evalue')}"
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]


def _images(notebook: nbformat.NotebookNode) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


@pytest.mark.slow
@pytest.mark.shared_data
def test_retrain_notebook_runs_end_to_end(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    notebook = _execute("01_retrain.ipynb", _kernel_env(shared_data, out))
    assert _errors(notebook) == []
    # Class balance, two evaluation PNGs (confusion matrix + reliability) shown inline.
    assert _images(notebook) >= 3
    model_files = sorted(p.name for p in out.glob("*.akarclf"))
    assert model_files == ["akarclf-retrained.akarclf"]
    assert (out / "akarclf-retrained.policy.toml").is_file()
    cards = sorted(p.name for p in out.iterdir() if p.suffix in {".json", ".md"})
    assert len(cards) == 2, cards

    import akarclf

    model = akarclf.load_model(out / "akarclf-retrained.akarclf")
    policy = akarclf.load_policy(out / "akarclf-retrained.policy.toml")
    record = akarclf.decide("Kaos polos katun pria lengan pendek", True, model=model, policy=policy)
    assert record.cluster == "textile_fashion"


@pytest.mark.slow
@pytest.mark.shared_data
def test_policy_what_if_notebook_runs_end_to_end(shared_data: Path, tmp_path: Path) -> None:
    notebook = _execute("02_policy_what_if.ipynb", _kernel_env(shared_data, tmp_path))
    assert _errors(notebook) == []
    # Threshold heat maps, the trade-off curves and the closure bars.
    assert _images(notebook) >= 3
    assert list(tmp_path.iterdir()) == []  # it reads only: nothing written
