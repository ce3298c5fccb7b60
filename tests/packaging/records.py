"""Small inputs the packaging tests check with: an advisory record, a vulnerable pin, a benign project."""

from __future__ import annotations

import json
from pathlib import Path

ADVISORY_ID = "PYSEC-2019-217"
VULNERABLE_PIN = "jinja2==2.10"


def write_advisories(directory: Path) -> Path:
    """A directory with one OSV record (Jinja2 < 2.10.1, sandbox escape), for `db update --from`."""
    directory.mkdir(parents=True, exist_ok=True)
    record = {
        "id": ADVISORY_ID,
        "aliases": ["CVE-2019-10906"],
        "summary": "Jinja2 sandbox escape via str.format_map",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:N"}],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "jinja2"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.10.1"}]}],
            }
        ],
    }
    (directory / f"{ADVISORY_ID}.json").write_text(json.dumps(record), encoding="utf-8")
    return directory


def write_project(directory: Path) -> Path:
    """A small benign Python project (pyproject.toml at the top), scanned as one package."""
    (directory / "src" / "tidy").mkdir(parents=True)
    (directory / "pyproject.toml").write_text('[project]\nname = "tidy"\nversion = "1.0"\n', encoding="utf-8")
    (directory / "src" / "tidy" / "__init__.py").write_text(
        '"""Tidy strings."""\n\n\ndef tidy(text: str) -> str:\n    return " ".join(text.split())\n',
        encoding="utf-8",
    )
    return directory
