"""Where a file of a package runs by default (`custody.scan.roles.classify`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.artifacts import ArtifactKind
from custody.scan import Scanner, ScanTask
from custody.scan.model import Context
from custody.scan.roles import classify, package_dirs
from tests.scan.builders import DEFAULT_NAME, write_sdist

PKG = DEFAULT_NAME


@pytest.mark.parametrize(
    ("files", "rel", "context"),
    [
        # a plain folder next to setup.py may be a namespace package: imported
        ([f"{PKG}/__init__.py", "ns/mod.py"], "ns/mod.py", Context.IMPORT),
        # in a src layout, what the build installs is under src/; a folder beside it is not
        ([f"src/{PKG}/__init__.py", "action/main.py"], "action/main.py", Context.CALL),
        ([f"src/{PKG}/__init__.py", "src/ns/mod.py"], "src/ns/mod.py", Context.IMPORT),
        ([f"src/{PKG}/__init__.py", "other/__init__.py", "other/x.py"], "other/x.py", Context.IMPORT),
        ([f"src/{PKG}/__init__.py", f"src/{PKG}/core.py"], f"src/{PKG}/core.py", Context.IMPORT),
    ],
)
def test_context_of_sdist_modules(files: list[str], rel: str, context: Context) -> None:
    assert classify(rel, ArtifactKind.SDIST, package_dirs(files), PKG)[1] is context


SELF_INSTALL = (
    "import sys\nfrom subprocess import run\n\n"
    "run([sys.executable, '-m', 'pip', 'install', 'fixture-extra==1.0'])\n"
)


def test_script_beside_a_src_layout_is_not_import_time_code(tmp_path: Path) -> None:
    beside = write_sdist(tmp_path, {f"src/{PKG}/__init__.py": "", "action/main.py": SELF_INSTALL})
    (result,) = Scanner().scan_task(ScanTask(str(beside)))
    assert not [f for f in result.findings if f.context == Context.IMPORT.value], result.findings


def test_the_same_script_inside_the_package_runs_at_import(tmp_path: Path) -> None:
    inside = write_sdist(
        tmp_path,
        {f"src/{PKG}/__init__.py": "from . import setup_extra\n", f"src/{PKG}/setup_extra.py": SELF_INSTALL},
    )
    (result,) = Scanner().scan_task(ScanTask(str(inside)))
    assert any(f.rule == "pip-install-runtime" for f in result.findings), result.findings
