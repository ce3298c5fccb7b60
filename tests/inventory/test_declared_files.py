"""Declared files are read bounded and non-blocking: devices, FIFOs and odd escapes never hang or crash."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from custody.advisories.versions import parse_semver
from custody.inventory import InventoryError, read_lockfile


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_requirements_include_of_a_device_is_refused(tmp_path: Path, device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"requests==2.19.1\n-r {device}\n", encoding="utf-8")
    with pytest.raises(InventoryError, match="not a regular file"):
        read_lockfile(str(requirements))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_named_like_a_lock_file_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "uv.lock"
    os.mkfifo(fifo)  # nobody writes to it: an open() for reading without O_NONBLOCK would wait forever
    with pytest.raises(InventoryError, match="not a regular file"):
        read_lockfile(str(fifo))


def test_surrogate_escapes_in_a_package_lock_are_replaced(tmp_path: Path) -> None:
    lock = tmp_path / "package-lock.json"
    lock.write_text(
        '{"lockfileVersion": 3, "packages": {"": {"name": "app"},'
        ' "node_modules/ev\\ud800il": {"version": "1.0.0"}}}',
        encoding="utf-8",
    )
    (package,) = read_lockfile(str(lock))
    json.dumps(package.name, ensure_ascii=False).encode("utf-8")  # every output format can hold it
    assert package.name.startswith("ev") and package.version == "1.0.0"


def test_semver_digits_are_ascii() -> None:
    assert parse_semver("1.2.3") is not None
    assert parse_semver("\u0661.\u0662.\u0663") is None  # Arabic-Indic digits are not SemVer
