"""The README's ledger walkthrough runs as written, top to bottom, in a fresh directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def walkthrough() -> str:
    """The first `sh` block of the README's "custody ledger" section, verbatim."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("\n## custody ledger\n") :]
    start = section.index("```sh\n") + len("```sh\n")
    return section[start : section.index("```", start)]


def test_readme_ledger_walkthrough_runs_as_written(tmp_path: Path) -> None:
    script = walkthrough()
    assert "custody key gen reader" in script and "..." not in script and "[" not in script
    custody = Path(sys.executable).with_name("custody")
    assert custody.exists(), "the custody console script is installed beside this Python"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
    env["PATH"] = f"{custody.parent}{os.pathsep}{env.get('PATH', '')}"
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run(
        [bash, "-e", "-o", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "OK: entry 1 (accessed" in out and "is in vendor.example/custody at size 5" in out
    assert "cosigned by: w1+" in out and "entry 2 redacted" in out
    # `log verify` prints the root as checkpoints carry it (base64), so the two can be compared
    checkpoint_root = (tmp_path / "cp-0001.txt").read_text().split("\n")[2]
    assert f"OK: 5 entries, root {checkpoint_root}, " in out
    assert (tmp_path / "evidence" / "clean" / "index.json").exists()
    assert (tmp_path / "public" / "checkpoint").exists()
