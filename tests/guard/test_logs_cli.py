"""report, learn and seal over a guard log, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from custody.cli.main import cli
from custody.ledger.store import LedgerStore
from custody.policy.guard import guard_policy_from_mapping
from custody.policy.load import tomllib


def _line(**fields: object) -> str:
    base = {
        "time": "2026-12-07T04:00:00.000Z",
        "pid": 42,
        "event": "socket.connect",
        "args": [],
        "capability": "network",
        "resource": "pypi.org:443",
        "package": "requests 2.32.3",
        "startup_file": None,
        "where": "/venv/site-packages/requests/api.py:10",
        "decision": "allow",
        "rule": None,
        "mode": "monitor",
    }
    base.update(fields)
    return json.dumps(base) + "\n"


def _log(tmp_path: Path) -> Path:
    log = tmp_path / "guard.jsonl"
    log.write_text(
        _line()
        + _line(
            event="open",
            capability="read",
            resource="/home/u/.ssh/id_rsa",
            package="evilpkg 1.0",
            startup_file="/venv/site-packages/evilpkg_init.pth",
            decision="would-deny",
            rule="protected:ssh-keys",
        )
        + _line(
            event="subprocess.Popen",
            capability="subprocess",
            resource="python -S -c pass",
            package="evilpkg 1.0",
            finding="unguarded-interpreter",
        )
        + "not json\n"
    )
    return log


def test_report_names_packages_refusals_and_findings(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["guard", "report", str(_log(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "evilpkg 1.0: read 1, subprocess 1" in result.output
    assert "would-deny: read /home/u/.ssh/id_rsa (protected:ssh-keys)" in result.output
    assert "finding unguarded-interpreter" in result.output
    assert "start-up file: /venv/site-packages/evilpkg_init.pth" in result.output


def test_learn_drafts_a_policy_that_loads(tmp_path: Path) -> None:
    out = tmp_path / "draft.toml"
    result = CliRunner().invoke(cli, ["guard", "learn", str(_log(tmp_path)), "-o", str(out)])
    assert result.exit_code == 0, result.output
    policy = guard_policy_from_mapping(tomllib.loads(out.read_text()))
    assert policy.for_package("requests").network == ("pypi.org:443",)
    assert policy.for_package("evilpkg").protected == ("ssh-keys",)
    assert policy.for_package("evilpkg").subprocess is True
    assert policy.default.subprocess is False


def test_seal_appends_signed_events_to_the_ledger(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    args = [
        "guard",
        "seal",
        str(_log(tmp_path)),
        "--ledger",
        str(ledger),
        "--data-dir",
        str(tmp_path / "keys"),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "sealed 3 events" in result.output
    store = LedgerStore.open(str(ledger))
    try:
        assert store.size() == 3
    finally:
        store.close()
