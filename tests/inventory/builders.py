"""Synthetic installed environments: dist-info directories with METADATA and RECORD, nothing executed."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

# A start-up hook that would start a process at every interpreter start. It is only ever written to
# disk and read back; the command is the harmless `true`, and nothing in the tests runs it.
ORPHAN_PTH = "import subprocess; subprocess.Popen(['true'])\n"


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_dist(site: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    """A distribution as pip leaves it: its files, METADATA, INSTALLER and a RECORD with hashes."""
    dist_info = f"{name.replace('-', '_')}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n".encode()
    everything = dict(files)
    everything[f"{dist_info}/METADATA"] = meta
    everything[f"{dist_info}/INSTALLER"] = b"pip\n"
    rows = []
    for rel, data in everything.items():
        full = site / rel
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_bytes(data)
        rows.append(f"{rel},{record_hash(data)},{len(data)}")
    rows.append(f"{dist_info}/RECORD,,")
    (site / dist_info / "RECORD").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return site / dist_info


def make_site(root: Path) -> Path:
    site = root / "venv" / "lib" / "python3.11" / "site-packages"
    os.makedirs(site)
    (root / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    return site
