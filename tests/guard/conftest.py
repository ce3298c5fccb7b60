"""A real venv per test module, with the fixture packages installed by pip from local wheels."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.guard.builders import benign_wheel, evil_wheel


def pip_install(venv: Path, *wheels: Path) -> None:
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps"]
        + [str(w) for w in wheels],
        check=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )


def make_venv(root: Path, python: str = sys.executable) -> Path:
    venv = root / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    return venv


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("wheels")
    return {"evil": evil_wheel(directory), "benign": benign_wheel(directory)}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheels: dict[str, Path]) -> Iterator[Path]:
    """A venv with evilpkg installed (benignnet is installed by tests after arming)."""
    path = make_venv(tmp_path_factory.mktemp("env"))
    pip_install(path, wheels["evil"])
    yield path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A temporary HOME with a fake SSH key and no .bashrc."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("-----BEGIN FAKE KEY-----\nnot a key\n")
    return home
