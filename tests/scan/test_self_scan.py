"""custody does not flag itself: its own installed distribution scans clean.

The test venv holds custody as an editable install (its RECORD lists a `.pth`, not the code), so
the test lays out what `pip install custody` would: every file of the imported `custody` package
plus the real METADATA and entry points, under a RECORD that owns them all, in a fresh
site-packages directory. It is then scanned the way `custody scan ENV` scans any environment.
Nothing is allowlisted by name: the rule files, word lists and comments naming obfuscators and
stealers must all read as what they are.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from importlib.metadata import distribution
from pathlib import Path

import custody
from custody.scan import Verdict, expand_target, scan_tasks


def _record_row(rel: str, data: bytes) -> list[str]:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [rel, f"sha256={digest}", str(len(data))]


def _install_custody(site: Path) -> int:
    """custody's files as a wheel install would lay them out in `site`; returns the file count."""
    package = Path(custody.__file__).parent
    dist = distribution("custody")
    dist_info = f"custody-{dist.version}.dist-info"
    files: dict[str, bytes] = {}
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[f"custody/{path.relative_to(package).as_posix()}"] = path.read_bytes()
    for name in ("METADATA", "entry_points.txt"):
        text = dist.read_text(name)
        assert text is not None, name
        files[f"{dist_info}/{name}"] = text.encode()
    rows = []
    for rel, data in files.items():
        target = site / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        rows.append(_record_row(rel, data))
    rows.append([f"{dist_info}/RECORD", "", ""])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    (site / dist_info / "RECORD").write_text(out.getvalue(), encoding="utf-8")
    return len(files)


def test_custody_installed_scans_clean(tmp_path: Path) -> None:
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    count = _install_custody(site)
    assert count > 100  # the whole package, YARA rules and data lists included
    results = list(scan_tasks(expand_target(str(tmp_path / "venv")), jobs=1))
    [result] = results
    assert result.name == "custody"
    noisy = [(f.rule, f.severity.value, f.file, f.line) for f in result.findings if f.severity.rank >= 2]
    assert result.verdict is Verdict.CLEAN and not noisy, (result.summary, noisy)
