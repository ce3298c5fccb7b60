"""The guard on other CPython versions found on this machine (audit events differ between them),
and armed through the CLI."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from custody.cli.main import cli
from tests.guard.builders import sink
from tests.guard.conftest import make_venv, pip_install
from tests.guard.test_guard_venv import events, run

CANDIDATES = {
    "3.10": ["/root/.pyenv/versions/3.10.13/bin/python3.10", "python3.10"],
    "3.12": ["/root/.pyenv/versions/3.12.1/bin/python3.12", "python3.12"],
    "3.13": ["/root/.pyenv/versions/3.13.0/bin/python3.13", "python3.13"],
    "3.11-system": ["/usr/bin/python3.11"],
}


def _find(version: str) -> str | None:
    for candidate in CANDIDATES[version]:
        found = candidate if os.path.isabs(candidate) else shutil.which(candidate)
        if found and os.access(found, os.X_OK):
            return found
    return None


@pytest.mark.parametrize("version", sorted(CANDIDATES))
def test_monitor_and_enforce_through_the_cli(
    version: str, tmp_path: Path, home: Path, wheels: dict[str, Path]
) -> None:
    python = _find(version)
    if python is None:
        pytest.skip(f"no Python {version} here")
    try:
        venv = make_venv(tmp_path, python)
    except Exception as exc:  # e.g. Debian's python3.11 without the venv package
        pytest.skip(f"{python}: cannot make a venv: {exc}")
    pip_install(venv, wheels["evil"])
    log = tmp_path / "guard.jsonl"
    runner = CliRunner()
    result = runner.invoke(cli, ["guard", "install", "--venv", str(venv), "--log", str(log)])
    assert result.exit_code == 0, result.output
    status = runner.invoke(cli, ["guard", "status", "--venv", str(venv), "--json"])
    assert status.exit_code == 0, status.output
    doc = json.loads(status.output)
    assert doc["armed"] and doc["mode"] == "monitor" and doc["index_fresh"] and doc["runs_before_guard"] == []
    with sink() as server:
        done = run(venv, "pass", home, server.port)
    assert done.returncode == 0, done.stderr
    mine = [e for e in events(log) if e["package"] == "evilpkg 1.0"]
    capabilities = {e["capability"] for e in mine}
    assert {"read", "subprocess", "network", "write", "dynamic_code"} <= capabilities, mine
    policy = tmp_path / "p.toml"
    policy.write_text('[guard]\nmode = "enforce"\n[guard.default]\nnetwork = []\nsubprocess = false\n')
    result = runner.invoke(
        cli, ["guard", "install", "--venv", str(venv), "--policy", str(policy), "--log", str(log)]
    )
    assert result.exit_code == 0 and "(enforce)" in result.output
    (home / ".bashrc").unlink()  # written by the monitored run
    with sink() as server:
        run(venv, "pass", home, server.port)
    assert server.received == []
    assert not (home / ".bashrc").exists()
    result = runner.invoke(cli, ["guard", "uninstall", "--venv", str(venv)])
    assert result.exit_code == 0 and "disarmed" in result.output
