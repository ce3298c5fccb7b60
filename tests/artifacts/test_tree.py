"""The source-tree reader: one artifact per directory, under the archive readers' limits and rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from custody.artifacts import (
    ArtifactError,
    ArtifactKind,
    IssueKind,
    Limits,
    is_project_root,
    looks_like_source_tree,
    read_tree,
)
from custody.artifacts.selection import MAGIC_PREFIX
from tests.artifacts.builders import issues_of, make_zip, member, paths

SETUP_PY = b"from setuptools import setup\nsetup(name='pkg', version='1.0')\n"


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    _write(root / "setup.py", SETUP_PY)
    _write(root / "pyproject.toml", '[project]\nname = "pkg"\nversion = "2.0"\n')
    _write(root / "src" / "pkg" / "__init__.py", "VALUE = 1\n")
    _write(root / "tests" / "test_pkg.py", "def test(): pass\n")
    return root


def test_tree_is_one_artifact_with_relative_paths(checkout: Path) -> None:
    artifact = read_tree(checkout)
    assert artifact.kind is ArtifactKind.SOURCE
    assert artifact.source == str(checkout)
    assert (artifact.name, artifact.version) == ("pkg", "2.0")
    assert paths(artifact) == ["pyproject.toml", "setup.py", "src/pkg/__init__.py", "tests/test_pkg.py"]
    assert member(artifact, "setup.py").data == SETUP_PY
    assert artifact.issues == () and artifact.error is None and artifact.member_count == 4


def test_unpacked_sdist_named_by_pkg_info(tmp_path: Path) -> None:
    root = tmp_path / "pkg-3.1"
    _write(root / "PKG-INFO", "Metadata-Version: 2.1\nName: other\nVersion: 3.1\n")
    _write(root / "setup.py", SETUP_PY)
    assert (read_tree(root).name, read_tree(root).version) == ("other", "3.1")


def test_vcs_data_caches_and_environments_are_skipped(checkout: Path) -> None:
    _write(checkout / ".git" / "hooks" / "pre-commit", "#!/bin/sh\n")
    _write(checkout / "src" / "pkg" / "__pycache__" / "x.cpython-311.pyc", b"\x00" * 8)
    _write(checkout / "node_modules" / "left-pad" / "index.js", "module.exports = 1\n")
    _write(checkout / ".venv" / "lib" / "x.py", "X = 1\n")
    _write(checkout / "venv" / "lib" / "x.py", "X = 1\n")
    _write(checkout / "env311" / "pyvenv.cfg", "home = /usr/bin\n")  # a venv under any name
    _write(checkout / "env311" / "lib" / "x.py", "X = 1\n")
    artifact = read_tree(checkout)
    assert paths(artifact) == ["pyproject.toml", "setup.py", "src/pkg/__init__.py", "tests/test_pkg.py"]
    assert artifact.extra["skipped"] == ".git/, .venv/, env311/, node_modules/, src/pkg/__pycache__/, venv/"


def test_link_out_of_the_tree_is_an_issue_and_not_read(checkout: Path, tmp_path: Path) -> None:
    secret = _write(tmp_path / "outside" / "secret.py", "TOKEN = 'do-not-read'\n")
    (checkout / "src" / "pkg" / "leak.py").symlink_to(secret)
    (checkout / "linked_dir").symlink_to(secret.parent, target_is_directory=True)
    (checkout / "dangling.py").symlink_to(checkout / "nowhere.py")
    artifact = read_tree(checkout)
    assert issues_of(artifact) == {
        (IssueKind.SYMLINK.value, "src/pkg/leak.py"),
        (IssueKind.SYMLINK.value, "linked_dir"),
        (IssueKind.SYMLINK.value, "dangling.py"),
    }
    assert not any(b"do-not-read" in m.data for m in artifact.members)


def test_link_inside_the_tree_is_read_under_its_own_name(checkout: Path) -> None:
    _write(checkout / "tools" / "real_setup.py", SETUP_PY)
    (checkout / "setup.py").unlink()
    (checkout / "setup.py").symlink_to(Path("tools") / "real_setup.py")
    (checkout / "alias").symlink_to(checkout / "src", target_is_directory=True)  # not walked twice
    artifact = read_tree(checkout)
    assert member(artifact, "setup.py").data == SETUP_PY
    assert not any(p.startswith("alias") for p in paths(artifact))
    assert artifact.issues == ()


def test_fifo_is_a_special_file_and_does_not_block(checkout: Path) -> None:
    os.mkfifo(checkout / "src" / "pkg" / "pipe.py")
    artifact = read_tree(checkout)
    assert (IssueKind.SPECIAL_FILE.value, "src/pkg/pipe.py") in issues_of(artifact)


def test_archives_inside_are_only_sniffed(checkout: Path) -> None:
    wheel = make_zip([("pkg/__init__.py", b"X = 1\n" * 200)])
    _write(checkout / "dist" / "pkg-1.0-py3-none-any.whl", wheel)
    found = member(read_tree(checkout), "dist/pkg-1.0-py3-none-any.whl")
    assert found.data == wheel[:MAGIC_PREFIX] and not found.complete


def test_limits_apply_as_in_archives(checkout: Path) -> None:
    few = read_tree(checkout, limits=Limits(max_members=2))
    assert len(few.members) == 2
    assert (IssueKind.TOO_MANY_MEMBERS.value, "") in issues_of(few)
    _write(checkout / "src" / "pkg" / "big.py", b"# x\n" * 1000)
    small = read_tree(checkout, limits=Limits(max_member_bytes=100))
    assert len(member(small, "src/pkg/big.py").data) == 100
    assert (IssueKind.MEMBER_TRUNCATED.value, "src/pkg/big.py") in issues_of(small)


def test_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError):
        read_tree(tmp_path / "nope")
    _write(tmp_path / "file.py", "X = 1\n")
    with pytest.raises(ArtifactError):
        read_tree(tmp_path / "file.py")


@pytest.mark.parametrize(
    ("files", "project", "source"),
    [
        ({"pyproject.toml": "[project]\n"}, True, True),
        ({"setup.cfg": "[metadata]\n"}, True, True),
        ({"setup.py": "pass\n"}, True, True),
        ({"pkg/__init__.py": ""}, False, True),
        ({"script.py": "print(1)\n"}, False, True),
        ({"a/b-1.0.tar.gz": b"\x1f\x8b"}, False, False),
        ({".venv/pkg/__init__.py": ""}, False, False),
    ],
    ids=["pyproject", "setup-cfg", "setup-py", "package", "loose-py", "downloads", "only-a-venv"],
)
def test_what_counts_as_a_source_tree(
    tmp_path: Path, files: dict[str, str], project: bool, source: bool
) -> None:
    for rel, content in files.items():
        _write(tmp_path / rel, content)
    assert is_project_root(str(tmp_path)) is project
    assert looks_like_source_tree(str(tmp_path)) is source
