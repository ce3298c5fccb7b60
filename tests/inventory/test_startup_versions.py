"""Start-up hooks as each Python version's `site` reads them, checked against real interpreters.

Each `.pth` written here only touches a marker file in the test's temporary folder; the venv's
interpreter is started once, and the markers it left are what `site` actually ran. Audit must
report exactly those files, no fewer (a hook that runs unreported) and no more.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from custody.audit.environment import hook_findings
from custody.inventory import find_startup_hooks
from custody.inventory.integrity import site_python_version
from custody.startup_files import pth_executed_by

INTERPRETERS = {
    (3, 11): ["/root/.pyenv/versions/3.11.7/bin/python3.11", "python3.11"],
    (3, 12): ["/root/.pyenv/versions/3.12.1/bin/python3.12", "python3.12"],
    (3, 13): ["/root/.pyenv/versions/3.13.0/bin/python3.13", "python3.13"],
}


def _interpreter(version: tuple[int, int]) -> str | None:
    for candidate in INTERPRETERS[version]:
        found = candidate if os.path.isabs(candidate) else shutil.which(candidate)
        if found and os.access(found, os.X_OK):
            return found
    return None


def _touch(markers: Path, name: str) -> bytes:
    return f"import pathlib; pathlib.Path({str(markers / name)!r}).touch()".encode()


def _write_hooks(site: Path, markers: Path, elsewhere: Path) -> set[str]:
    """One `.pth` per way of hiding a line from a reader; returns their names."""
    target = elsewhere / "real.pth"
    target.write_bytes(_touch(markers, "linked.pth") + b"\n")
    os.symlink(target, site / "linked.pth")
    (site / "big.pth").write_bytes(b"# padding\n" * 150_000 + _touch(markers, "big.pth") + b"\n")
    (site / "bom.pth").write_bytes(b"\xef\xbb\xbf" + _touch(markers, "bom.pth") + b"\n")
    (site / ".hidden.pth").write_bytes(_touch(markers, ".hidden.pth") + b"\n")
    # str.splitlines() ends a line at a form feed; a text stream's universal newlines do not
    (site / "formfeed.pth").write_bytes(b"/nonexistent\x0c" + _touch(markers, "formfeed.pth") + b"\n")
    (site / "plain.pth").write_bytes(b"/nonexistent/path\n" + _touch(markers, "plain.pth") + b"\r\n")
    return {"linked.pth", "big.pth", "bom.pth", ".hidden.pth", "formfeed.pth", "plain.pth"}


@pytest.mark.parametrize("version", sorted(INTERPRETERS))
def test_reported_hooks_are_the_ones_the_interpreter_runs(version: tuple[int, int], tmp_path: Path) -> None:
    python = _interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} here")
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = venv / "lib" / f"python{version[0]}.{version[1]}" / "site-packages"
    markers, elsewhere = tmp_path / "markers", tmp_path / "elsewhere"
    markers.mkdir()
    elsewhere.mkdir()
    names = _write_hooks(site, markers, elsewhere)
    subprocess.run([str(venv / "bin" / "python"), "-c", "pass"], check=True, timeout=60)
    ran = {p.name for p in markers.iterdir()}
    assert site_python_version(str(site)) == version
    reported = {Path(h.path).name for h in find_startup_hooks(str(site), [])} & names
    assert reported == ran
    # the cases that differ between versions, spelled out
    assert ("bom.pth" in ran) == (version >= (3, 13))
    assert (".hidden.pth" not in ran) == (version >= (3, 13))
    assert ("formfeed.pth" in ran) == (version >= (3, 13))
    assert {"linked.pth", "big.pth", "plain.pth"} <= ran


def test_unknown_version_reports_what_any_version_runs(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"  # no lib/pythonX.Y above it: the version is unknown
    site.mkdir()
    markers, elsewhere = tmp_path / "markers", tmp_path / "elsewhere"
    elsewhere.mkdir()
    names = _write_hooks(site, markers, elsewhere)
    assert site_python_version(str(site)) is None
    assert {Path(h.path).name for h in find_startup_hooks(str(site), [])} == names


def test_executed_lines_follow_each_versions_line_splitting() -> None:
    data = b"\xef\xbb\xbfimport a\nx\x0cimport b\r\nimport c\rimport d"
    assert pth_executed_by(data, (3, 12)) == [(3, "import c"), (4, "import d")]
    assert pth_executed_by(data, (3, 13)) == [
        (1, "import a"),
        (3, "import b"),
        (4, "import c"),
        (5, "import d"),
    ]
    assert pth_executed_by(data, None) == [
        (1, "import a"),
        (3, "import b"),
        (3, "import c"),
        (4, "import c"),
        (4, "import d"),
        (5, "import d"),
    ]


def test_a_fifo_or_unreadable_pth_is_reported_high_without_waiting(tmp_path: Path) -> None:
    site = tmp_path / "lib" / "python3.12" / "site-packages"
    site.mkdir(parents=True)
    os.mkfifo(site / "fifo.pth")  # `site` would block on it until someone writes code into it
    os.symlink(tmp_path / "nowhere.pth", site / "dangling.pth")
    hooks = find_startup_hooks(str(site), [])
    assert {Path(h.path).name: h.unread is not None for h in hooks} == {
        "dangling.pth": True,
        "fifo.pth": True,
    }
    findings = hook_findings(hooks, None)
    assert {(f.id, f.severity) for f in findings} == {("startup-hook-unread", "high")}
