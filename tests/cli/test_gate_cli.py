"""`custody gate ...` end to end: the real `custody gate serve` process (scan worker processes
included) with pip installing through it, and the entry, log and check commands."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from custody.advisories import AdvisoryStore
from custody.cli.main import cli
from custody.gate import GateConfig
from custody.ledger import merkle
from custody.ledger.store import LedgerStore
from custody.policy import policy_from_mapping
from tests.gate.builders import EXEC_PTH, add_wheel, mal_record
from tests.gate.conftest import pip_install, running_gate
from tests.report.schema_check import assert_valid
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
    assert_valid("gate-decisions", rows)
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
    assert_valid("gate-check", json.loads(refused.output))

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


def test_exposure_and_recheck(tmp_path: Path, gate_env: dict[str, str]) -> None:
    """Files served by a gate (in process, default store, ledger and cache from the environment),
    then `custody gate exposure` and `custody gate recheck` before and after new MAL- data."""
    upstream = tmp_path / "up"
    ok = add_wheel(upstream, "gateok", "1.0.0")
    hook = add_wheel(upstream, "gatehook", "1.0.0", files={"gatehook_init.pth": EXEC_PTH})
    # an exact allow serves the hook file despite its verdict: what a rescan must still flag
    policy = policy_from_mapping({"allow": [{"spec": "gatehook==1.0.0", "reason": "fixture", "author": "t"}]})
    with (
        running_gate(GateConfig(upstream=str(upstream), policy=policy, scan_workers=0)) as gate,
        httpx.Client(trust_env=False, timeout=60) as client,
    ):
        for agent in ("pip/26.3", "uv/0.13"):
            assert (
                client.get(f"{gate}/files/gateok/{ok.name}", headers={"User-Agent": agent}).status_code == 200
            )
        assert client.get(f"{gate}/files/gatehook/{hook.name}").status_code == 200
    ok_sha = hashlib.sha256(ok.read_bytes()).hexdigest()
    runner = CliRunner()

    by_name = runner.invoke(cli, ["gate", "exposure", "gateok==1.0", "--format", "json"])
    assert by_name.exit_code == 0, by_name.output
    answer = json.loads(by_name.output)
    assert answer["sha256"] == [ok_sha] and answer["clients"] == ["127.0.0.1"]
    assert sorted(f["user_agent"] for f in answer["fetches"]) == ["pip/26.3", "uv/0.13"]
    with LedgerStore.open(str(Path(gate_env["CUSTODY_GATE_DIR"]) / "gate-ledger.db")) as ledger:
        root = bytes.fromhex(answer["root"])
        for fetch in answer["fetches"]:  # every proof holds against the reported tree head
            leaf = merkle.leaf_hash(ledger.entry(fetch["index"]).commitment)
            proof = [bytes.fromhex(p) for p in fetch["proof"]]
            merkle.verify_inclusion(fetch["index"], answer["tree_size"], leaf, proof, root)
            assert fetch["decision"] == "served" and fetch["filename"] == ok.name
    by_sha = runner.invoke(cli, ["gate", "exposure", "--sha256", ok_sha.upper()])
    assert by_sha.exit_code == 0 and "2 decisions, served to 1 clients" in by_sha.output
    assert runner.invoke(cli, ["gate", "exposure"]).exit_code == 2

    # no advisory store yet: nothing could be checked
    assert runner.invoke(cli, ["gate", "recheck"]).exit_code == 3
    advisories = gate_env["CUSTODY_ADVISORY_DB"]
    with AdvisoryStore.open(advisories, create=True) as store:
        store.load([mal_record("MAL-2026-0001", "otherpkg", ("1.0.0",))], origin="test")
    clean = runner.invoke(cli, ["gate", "recheck", "--format", "json"])
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.output)["files"] == 2 and json.loads(clean.output)["condemned"] == []

    # `custody db update` brings a MAL- record for a version already served
    with AdvisoryStore.open(advisories) as store:
        store.load([mal_record("MAL-2026-0042", "gateok", ("1.0.0",))], origin="test")
    found = runner.invoke(cli, ["gate", "recheck", "--format", "json"])
    assert found.exit_code == 1, found.output
    [condemned] = json.loads(found.output)["condemned"]
    assert (condemned["filename"], condemned["rule"], condemned["advisories"]) == (
        ok.name,
        "malware-advisory",
        ["MAL-2026-0042"],
    )
    assert condemned["clients"] == ["127.0.0.1"] and len(condemned["served_to"]) == 2
    text = runner.invoke(cli, ["gate", "recheck"])
    assert text.exit_code == 1 and f"CONDEMNED {ok.name}" in text.output

    # --rescan: the current scanner judges the (allowed, served) hook file malicious
    rescanned = runner.invoke(cli, ["gate", "recheck", "--rescan", "--format", "json"])
    assert rescanned.exit_code == 1, rescanned.output
    report = json.loads(rescanned.output)
    assert {(c["filename"], c["rule"]) for c in report["condemned"]} == {
        (ok.name, "malware-advisory"),
        (hook.name, "scan:startup-hook-dangerous"),
    }
    assert report["unchecked"] == []
