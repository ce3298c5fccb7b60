"""setup.py declarations (`custody.scan.declared.read_declarations`): read from the syntax tree the
analysis already parsed, and never skipped when a keyword may be spelt with other characters."""

from __future__ import annotations

import ast
from pathlib import Path

from custody.artifacts import read_artifact
from custody.scan import Scanner, ScanTask
from custody.scan.declared import DependencyKind, read_declarations
from tests.artifacts.builders import tar_file
from tests.scan.builders import sdist_bytes, write_sdist

SETUP_WITH_REQUIREMENTS = """\
from setuptools import setup
DEPS = ["requests>=2", "numpy"]
setup(name="fixturepkg", install_requires=DEPS, setup_requires=["wheel"])
"""


def _setup_path(tmp_path: Path, setup: str) -> tuple[str, list[str]]:
    artifact = read_artifact(write_sdist(tmp_path, {"setup.py": setup}))
    path = next(m.path for m in artifact.members if m.path.endswith("/setup.py"))
    return path, [r.text for r in read_declarations(artifact).requirements]


def test_setup_py_requirements_are_read(tmp_path: Path) -> None:
    _, found = _setup_path(tmp_path, SETUP_WITH_REQUIREMENTS)
    assert found == ["requests>=2", "numpy", "wheel"]


def test_a_given_tree_is_read_instead_of_parsing_again(tmp_path: Path) -> None:
    artifact = read_artifact(write_sdist(tmp_path, {"setup.py": SETUP_WITH_REQUIREMENTS}))
    path = next(m.path for m in artifact.members if m.path.endswith("/setup.py"))
    # a tree that differs from the text shows which one was read
    other = ast.parse('setup(install_requires=["from-the-tree"])')
    declared = read_declarations(artifact, trees={path: other})
    assert [(r.text, r.kind) for r in declared.requirements] == [("from-the-tree", DependencyKind.RUNTIME)]


def test_a_keyword_spelt_with_other_characters_is_still_read(tmp_path: Path) -> None:
    # the parser folds the identifier (NFKC) to `install_requires`: a text search for it misses
    folded = "from setuptools import setup\nsetup(name='x', \uff49nstall_requires=['requests'])\n"
    _, found = _setup_path(tmp_path, folded)
    assert found == ["requests"]


def test_a_setup_py_without_such_keywords_declares_nothing(tmp_path: Path) -> None:
    _, found = _setup_path(tmp_path, "from setuptools import setup\nsetup(name='x', version='1')\n")
    assert found == []


def test_two_setup_py_members_of_one_path_are_both_read(tmp_path: Path) -> None:
    # an archive may hold two members of one name: a tree kept by path would stand for both
    first = 'from setuptools import setup\nsetup(name="fixturepkg", install_requires=["reqeusts"])\n'
    second = 'from setuptools import setup\nsetup(name="fixturepkg", install_requires=["requests"])\n'
    path = tmp_path / "fixturepkg-1.0.0.tar.gz"
    path.write_bytes(
        sdist_bytes(
            setup_py=first, extra_tar_entries=[tar_file("fixturepkg-1.0.0/setup.py", second.encode())]
        )
    )
    result = Scanner().scan_task(ScanTask(str(path)))[0]
    squats = [f for f in result.findings if f.rule == "typosquat-dependency"]
    assert squats and "reqeusts" in squats[0].snippet


def test_a_tree_parsed_under_a_declared_encoding_is_not_taken_for_the_text(tmp_path: Path) -> None:
    # the analysis parses the bytes (a coding cookie decodes them); declarations read the UTF-8 text
    setup = "# -*- coding: utf-7 -*-\nfrom setuptools import setup\nsetup(install_requires=['+AGE-bc'])\n"
    artifact = read_artifact(write_sdist(tmp_path, {"setup.py": setup}))
    member = next(m for m in artifact.members if m.path.endswith("/setup.py"))
    tree = ast.parse(member.data)
    alone = [r.text for r in read_declarations(artifact).requirements]
    with_tree = [r.text for r in read_declarations(artifact, trees={member.path: tree}).requirements]
    assert alone == with_tree == ["+AGE-bc"]
