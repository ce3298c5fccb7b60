"""Distributions and start-up hooks the OS package manager installed (Debian-style), outside venvs."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from custody.audit.environment import integrity_findings
from custody.inventory import IssueType, check_site_dir, os_packages
from tests.inventory.builders import write_dist


def _system_site(tmp_path: Path) -> Path:
    """A site dir like /usr/lib/python3/dist-packages: no pyvenv.cfg above it."""
    site = tmp_path / "usr" / "lib" / "python3" / "dist-packages"
    site.mkdir(parents=True)
    return site


def _debianize(dist_info: Path) -> None:
    """What Debian's packages look like: no INSTALLER, RECORD digests in hex."""
    (dist_info / "INSTALLER").unlink()
    rows = []
    for line in (dist_info / "RECORD").read_text(encoding="utf-8").splitlines():
        path, digest, size = line.split(",")
        if path.endswith("/INSTALLER"):
            continue
        if digest:
            data = (dist_info.parent / path).read_bytes()  # RECORD paths are relative to the site dir
            digest = "sha256=" + hashlib.sha256(data).hexdigest()
        rows.append(f"{path},{digest},{size}")
    (dist_info / "RECORD").write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_hex_digests_are_read_and_os_managed_changes_are_low(tmp_path: Path) -> None:
    site = _system_site(tmp_path)
    files = {"blinker/__init__.py": b"X = 1\n", "blinker/b.py": b"Y = 2\n"}
    _debianize(write_dist(site, "blinker", "1.5", files))
    _, issues, _ = check_site_dir(str(site))
    assert issues == []  # hex digests that match are not "modified"
    (site / "blinker" / "b.py").write_bytes(b"Y = 3\n")  # what a distro's patching looks like to RECORD
    _, issues, _ = check_site_dir(str(site))
    (finding,) = integrity_findings(issues)
    assert issues[0].kind is IssueType.MODIFIED and issues[0].os_managed
    assert finding.severity == "low" and "dpkg --verify" in finding.detail


def test_the_same_change_in_a_pip_installed_distribution_stays_high(tmp_path: Path) -> None:
    site = _system_site(tmp_path)
    write_dist(site, "blinker", "1.5", {"blinker/__init__.py": b"X = 1\n"})  # INSTALLER: pip
    (site / "blinker" / "__init__.py").write_bytes(b"X = 2\n")
    _, issues, _ = check_site_dir(str(site))
    (finding,) = integrity_findings(issues)
    assert finding.severity == "high" and not issues[0].os_managed


def test_a_hook_dpkg_installed_is_owned_and_a_changed_one_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _system_site(tmp_path)
    hook = site / "distutils-precedence.pth"
    hook.write_text("import os; os.environ.get('X')\n", encoding="utf-8")
    planted = site / "zz_planted.pth"
    planted.write_text("import os; os.system('true')\n", encoding="utf-8")  # inert: never run
    info = tmp_path / "dpkg-info"
    info.mkdir()
    (info / "python3-setuptools.list").write_text(f"{site}\n{hook}\n", encoding="utf-8")
    digest = hashlib.md5(hook.read_bytes(), usedforsecurity=False).hexdigest()
    relative = os.path.relpath(hook, "/")
    (info / "python3-setuptools.md5sums").write_text(f"{digest}  {relative}\n", encoding="utf-8")
    monkeypatch.setattr(os_packages, "DPKG_INFO", str(info))

    _, _, hooks = check_site_dir(str(site))
    by_name = {Path(h.path).name: h for h in hooks}
    assert by_name["distutils-precedence.pth"].owner == "dpkg:python3-setuptools"
    assert by_name["zz_planted.pth"].owner is None and by_name["zz_planted.pth"].note is None

    hook.write_text("import os; os.system('true')\n", encoding="utf-8")  # content dpkg did not install
    _, _, hooks = check_site_dir(str(site))
    changed = {Path(h.path).name: h for h in hooks}["distutils-precedence.pth"]
    assert changed.owner is None and "python3-setuptools" in (changed.note or "")


def test_another_interpreters_site_dirs_include_every_dist_packages() -> None:
    import json
    import subprocess
    import sys

    from custody.inventory import python_site_dirs

    # a distribution's interpreter (Debian's adds /usr/lib/python3/dist-packages) when there is one
    base = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else getattr(sys, "_base_executable", "")
    if os.path.isfile(os.path.join(os.path.dirname(os.path.dirname(base)), "pyvenv.cfg")):
        pytest.skip("no interpreter outside a virtual environment here")
    asked = subprocess.run(  # what that interpreter itself puts on sys.path (it runs its site here)
        [base, "-c", "import json, site; print(json.dumps(site.getsitepackages()))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    expected = {os.path.realpath(d) for d in json.loads(asked.stdout) if os.path.isdir(d)}
    found = {os.path.realpath(d) for d in python_site_dirs(base)}
    assert expected <= found
