"""The layout's promises: the scoring runtime never loads the workbench, the top level stays a
small service API, and every akarclf error shares one base class."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import akarclf
from akarclf.errors import AkarclfError
from tests.conftest import REPO_ROOT

RUNTIME = ("akarclf.text", "akarclf.model", "akarclf.gate", "akarclf.scoring")
WORKBENCH = ("akarclf.training", "akarclf.evaluation", "akarclf.cli")
TOP_LEVEL_RUNTIME = ("clusters", "errors", "_lazy", "_version", "__init__")


def _runtime_files() -> list[str]:
    files = [f"akarclf/{name}.py" for name in TOP_LEVEL_RUNTIME]
    for package in RUNTIME:
        folder = REPO_ROOT / package.replace(".", "/")
        files += [str(p.relative_to(REPO_ROOT)) for p in sorted(folder.rglob("*.py"))]
    return files


def _imported_modules(path: str) -> set[str]:
    tree = ast.parse((REPO_ROOT / path).read_text(encoding="utf-8"))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            modules.add(node.value)  # lazy-import tables and importlib.import_module strings
    return modules


@pytest.mark.parametrize("path", _runtime_files())
def test_runtime_module_never_names_the_workbench(path: str) -> None:
    workbench = sorted(
        m for m in _imported_modules(path) if m.startswith(WORKBENCH) and m.count(" ") == 0
    )
    assert not workbench, f"{path} imports {workbench}: runtime code must not need the workbench"


def test_service_path_loads_no_workbench_module(tmp_path: object) -> None:
    script = (
        "import sys, akarclf\n"
        "model = akarclf.load_model()\n"
        "akarclf.decide('Kaos polos katun pria', cross_border=True, model=model)\n"
        "list(akarclf.score_records([{'title': 'Keripik pedas 200 gram'}], model=model))\n"
        f"loaded = sorted(m for m in sys.modules if m.startswith({WORKBENCH!r}))\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_top_level_is_a_small_service_api() -> None:
    assert len(akarclf.__all__) <= 16
    for name in akarclf.__all__:
        assert getattr(akarclf, name) is not None
    assert sorted(dir(akarclf)) == sorted(akarclf.__all__)


@pytest.mark.parametrize("namespace", ["akarclf.training", "akarclf.evaluation"])
def test_workbench_namespaces_resolve_every_name(namespace: str) -> None:
    module = importlib.import_module(namespace)
    for name in module.__all__:
        assert callable(getattr(module, name)), f"{namespace}.{name}"
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        module.missing  # noqa: B018


def _akarclf_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(akarclf.__path__, "akarclf."):
        if info.name.endswith((".dask", ".spark", ".__main__")):
            continue  # need their optional engines to import, or run a command
        names.append(info.name)
    return names


def test_every_akarclf_error_derives_from_the_base() -> None:
    outside = []
    for name in _akarclf_modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != name or not issubclass(cls, Exception) or issubclass(cls, Warning):
                continue
            if not issubclass(cls, AkarclfError):
                outside.append(f"{name}.{cls.__qualname__}")
    assert not outside, f"errors without the AkarclfError base: {outside}"
