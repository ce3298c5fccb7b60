"""`custody gate ...` end to end: the real `custody gate serve` process (scan worker processes
included) with pip installing through it, and the entry, log and check commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from custody.cli.main import cli
from tests.gate.builders import EXEC_PTH, add_wheel
from tests.gate.conftest import pip_install
from tests.servers import free_port, wait_http


@pytest.fixture
def gate_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Everything the gate keeps goes under tmp_path (store, key, ledger, cache, no advisories)."""
    env = {
        "CUSTODY_GATE_DIR": str(tmp_path / "data"),
        "CUSTODY_CACHE_DIR": str(tmp_path / "cache"),
        "CUSTODY_ADVISORY_DB": str(tmp_path / "none.sqlite"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def test_serve_process_with_pip_then_log(tmp_path: Path, gate_env: dict[str, str]) -> None:
    upstream = tmp_path / "up"
    add_wheel(upstream, "gateok", "1.0.0")
    add_wheel(upstream, "gatehook", "1.0.0", files={"gatehook_init.pth": EXEC_PTH})
    port = free_port()
    command = [
        sys.executable, "-m", "custody.cli.main", "gate", "serve", "--upstream", str(upstream),
        "--port", str(port), "--scan-workers", "1", "--cooldown", "1d",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env={**os.environ, **gate_env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", process=process, timeout=30)
        good = pip_install(f"http://127.0.0.1:{port}", "gateok", tmp_path, "good")
        bad = pip_install(f"http://127.0.0.1:{port}", "gatehook", tmp_path, "bad")
    finally:
        process.send_signal(signal.SIGINT)  # uvicorn shuts down gracefully: the recorder flushes
        output, _ = process.communicate(timeout=30)
    assert good.code == 0 and good.has("gateok"), good.output + output
    assert bad.code != 0 and not bad.has("gatehook")
    assert "403 Client Error: custody refused gatehook 1.0.0: malicious (startup-hook-dangerous" in bad.output

    runner = CliRunner()
    refused = runner.invoke(cli, ["gate", "log", "--decision", "refused", "--format", "json"])
    assert refused.exit_code == 0, refused.output
    rows = json.loads(refused.output)
    assert [(r["filename"], r["rule"]) for r in rows] == [
        ("gatehook-1.0.0-py3-none-any.whl", "scan:startup-hook-dangerous")
    ]
    assert rows[0]["client"] == "127.0.0.1" and rows[0]["user_agent"].startswith("pip/")
    everything = runner.invoke(cli, ["gate", "log", "--since", "1h"])
    assert "served   gateok-1.0.0-py3-none-any.whl" in everything.output


def test_allow_list_and_check(tmp_path: Path, gate_env: dict[str, str]) -> None:
    upstream = tmp_path / "up"
    add_wheel(upstream, "gatehook", "1.0.0", files={"gatehook_init.pth": EXEC_PTH})
    runner = CliRunner()
    check = ["gate", "check", "gatehook==1.0.0", "--upstream", str(upstream), "--format", "json"]

    refused = runner.invoke(cli, check)
    assert refused.exit_code == 1, refused.output
    assert json.loads(refused.output)["files"][0]["rule"] == "scan:startup-hook-dangerous"

    added = runner.invoke(
        cli,
        [
            "gate",
            "allow",
            "gatehook==1.0.0",
            "--reason",
            "fixture",
            "--author",
            "ann",
            "--until",
            "2999-01-01",
        ],
    )
    assert added.exit_code == 0, added.output
    expired = runner.invoke(cli, ["gate", "deny", "gatehook", "--reason", "old", "--until", "2000-01-01"])
    assert expired.exit_code == 0, expired.output
    listed = runner.invoke(cli, ["gate", "list"])
    assert "allow gatehook==1.0.0 by ann until 2999-01-01" in listed.output
    assert "(expired)" in listed.output

    allowed = runner.invoke(cli, check)
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.output)["files"][0]["verdict"] == "malicious"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gate", "allow", "pkg>=1", "--reason", "x"], "NAME or NAME==VERSION"),
        (["gate", "allow", "pkg", "--reason", "x", "--until", "soon"], "ISO 8601"),
        (["gate", "check", "pkg"], "NAME==VERSION"),
        (["gate", "log", "--since", "a while"], "--since"),
        (["gate", "serve", "--cooldown", "forever"], "give a number of days"),
    ],
)
def test_usage_errors(gate_env: dict[str, str], args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert message in result.output


def test_pip_conf() -> None:
    result = CliRunner().invoke(cli, ["gate", "pip-conf", "--url", "http://gate.internal:8070"])
    assert "index-url = http://gate.internal:8070/simple/" in result.output
    assert "UV_DEFAULT_INDEX=http://gate.internal:8070/simple/" in result.output


def test_serve_refuses_to_start_on_a_corrupt_advisory_store(tmp_path: Path, gate_env: dict[str, str]) -> None:
    corrupt = tmp_path / "advisories.sqlite"
    corrupt.write_bytes(b"not a database at all")
    upstream = tmp_path / "up"
    upstream.mkdir()
    result = CliRunner().invoke(
        cli,
        ["gate", "serve", "--upstream", str(upstream), "--advisory-db", str(corrupt), "--scan-workers", "0"],
    )
    assert result.exit_code == 3
    assert "cannot start the gate: advisory store unusable" in result.output
