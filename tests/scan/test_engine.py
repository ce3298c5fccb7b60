"""The scan engine's targets: which directories are packages, environments or folders of archives,
and how each is read. All payloads are inert and only ever read as bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.artifacts import UNOWNED_STARTUP, installed
from custody.scan import ScanTask, Verdict, expand_target, scan_tasks
from custody.scan.model import Context
from tests.scan.builders import (
    BENIGN_INIT,
    BENIGN_PYPROJECT,
    BENIGN_SETUP,
    DEFAULT_NAME,
    DEFAULT_VERSION,
    b64,
    write_sdist,
    write_site_packages,
    write_tree,
    write_wheel,
)

INIT = f"{DEFAULT_NAME}/__init__.py"
SETUP = BENIGN_SETUP.format(name=DEFAULT_NAME, version=DEFAULT_VERSION)
INERT_CODE = "print('inert fixture payload')"
DECODE_EXEC = f"import base64\nexec(base64.b64decode('{b64(INERT_CODE)}'))\n"
"""Decode-then-execute of an inert print."""


def _scan(path: Path) -> list[tuple[str, str, str | None]]:
    return [(r.target, r.verdict.value, r.kind) for r in scan_tasks(expand_target(str(path)), jobs=1)]


# ---- which kind of directory ---------------------------------------------------------------------
def test_project_root_is_one_package_plus_its_archives(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "checkout", {"setup.py": SETUP, INIT: BENIGN_INIT})
    (root / "dist").mkdir()
    wheel = write_wheel(root / "dist")
    (root / ".venv").mkdir()
    write_wheel(root / ".venv")  # inside an environment: not part of the project
    assert expand_target(str(root)) == [ScanTask(str(root), tree=True), ScanTask(str(wheel))]


def test_project_root_with_egg_info_and_pth_is_still_a_project(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "checkout",
        {
            "pyproject.toml": BENIGN_PYPROJECT,
            f"{DEFAULT_NAME}.egg-info/PKG-INFO": "Name: x\n",
            "x.pth": "y\n",
        },
    )
    assert expand_target(str(root)) == [ScanTask(str(root), tree=True)]


@pytest.mark.parametrize(
    "files", [{INIT: BENIGN_INIT}, {"tool.py": "print(1)\n"}], ids=["package", "loose-py"]
)
def test_folder_of_python_code_is_a_package(tmp_path: Path, files: dict[str, str]) -> None:
    root = write_tree(tmp_path / "code", files)
    assert expand_target(str(root)) == [ScanTask(str(root), tree=True)]


def test_folder_of_archives_scans_each_archive(tmp_path: Path) -> None:
    """A download folder, or the corpus layout NAME/VERSION/FILE: today's behaviour."""
    (tmp_path / "a" / "1.0").mkdir(parents=True)
    (tmp_path / "b" / "2.0").mkdir(parents=True)
    sdist = write_sdist(tmp_path / "a" / "1.0")
    wheel = write_wheel(tmp_path / "b" / "2.0")
    assert expand_target(str(tmp_path)) == [ScanTask(str(sdist)), ScanTask(str(wheel))]


def test_unpacked_sdist_among_downloads_is_a_package(tmp_path: Path) -> None:
    unpacked = write_tree(tmp_path / f"{DEFAULT_NAME}-{DEFAULT_VERSION}", {"setup.py": SETUP})
    wheel = write_wheel(tmp_path)
    assert expand_target(str(tmp_path)) == [ScanTask(str(wheel)), ScanTask(str(unpacked), tree=True)]


def test_environment_keeps_one_task_per_distribution(tmp_path: Path) -> None:
    site = write_site_packages(tmp_path / "venv", {DEFAULT_NAME: {INIT: BENIGN_INIT}})
    expected = [
        ScanTask(str(site), f"{DEFAULT_NAME}-{DEFAULT_VERSION}.dist-info"),
        ScanTask(str(site), UNOWNED_STARTUP),
    ]
    assert expand_target(str(tmp_path / "venv")) == expected
    assert expand_target(str(site)) == expected
    # a venv made in a project folder (`python -m venv .`) is an environment first
    write_tree(tmp_path / "venv", {"pyvenv.cfg": "home = /usr/bin\n", "pyproject.toml": BENIGN_PYPROJECT})
    assert expand_target(str(tmp_path / "venv")) == expected


# ---- a checkout is judged like the package it is -------------------------------------------------
def test_malicious_setup_py_in_a_checkout_is_malicious(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "checkout", {"setup.py": DECODE_EXEC + SETUP, INIT: BENIGN_INIT})
    [(target, verdict, kind)] = _scan(root)
    assert (target, verdict, kind) == (str(root), "malicious", "source")
    [result] = scan_tasks(expand_target(str(root)), jobs=1)
    assert {f.context for f in result.findings if f.file == "setup.py"} == {Context.INSTALL}


def test_import_time_payload_in_a_checkout_is_malicious(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "checkout", {"pyproject.toml": BENIGN_PYPROJECT, INIT: DECODE_EXEC})
    [result] = scan_tasks(expand_target(str(root)), jobs=1)
    assert result.verdict is Verdict.MALICIOUS
    assert (result.name, result.version) == (DEFAULT_NAME, DEFAULT_VERSION)
    assert any(f.file == INIT and f.context is Context.IMPORT for f in result.findings)


def test_benign_checkout_is_clean_and_test_code_stays_dev(tmp_path: Path) -> None:
    """Payload-like code inside a test function is test code, whether the AST or the cheaper
    indentation estimate places it."""
    fixture = "import base64\n\n\ndef test_decoder():\n    " + DECODE_EXEC.splitlines()[1] + "\n"
    root = write_tree(
        tmp_path / "checkout",
        {"setup.py": SETUP, INIT: BENIGN_INIT, "tests/test_decoder.py": fixture},
    )
    [result] = scan_tasks(expand_target(str(root)), jobs=1)
    assert result.verdict is Verdict.CLEAN, result.findings
    assert all(f.context in (Context.DEV, None) for f in result.findings if f.file.startswith("tests/"))


def test_archives_in_a_checkout_are_their_own_targets(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "checkout", {"setup.py": SETUP, INIT: BENIGN_INIT})
    (root / "vendor").mkdir()
    bad = write_sdist(root / "vendor", setup_py=DECODE_EXEC + SETUP)
    assert _scan(root) == [(str(root), "clean", "source"), (str(bad), "malicious", "sdist")]


# ---- an environment is read once, not once per distribution --------------------------------------
def test_environment_files_are_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dists = {
        f"dist{i}": {f"dist{i}/__init__.py": BENIGN_INIT, f"dist{i}/util.py": "X = 1\n"} for i in range(6)
    }
    site = write_site_packages(tmp_path / "venv", dists, unowned={"extra.pth": "/opt/extra\n"})
    reads: list[str] = []
    real = installed._read_file

    def counting(collector: object, site_dir: str, root: str, rel: str) -> None:
        reads.append(rel)
        real(collector, site_dir, root, rel)  # type: ignore[arg-type]

    monkeypatch.setattr(installed, "_read_file", counting)
    results = list(scan_tasks(expand_target(str(site)), jobs=1))
    assert [r.verdict for r in results] == [Verdict.CLEAN] * 7
    assert sorted(reads) == sorted(set(reads))  # every file once
    assert len(reads) == 6 * 4 + 1  # two modules, METADATA and RECORD per distribution; one .pth
