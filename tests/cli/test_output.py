"""`-o/--output` of every command: an unwritable path is one line on stderr and exit 2, checked
before the command does anything (no scan run for nothing, no checkpoint made and then lost)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from custody.cli import exit_codes
from custody.cli.main import cli
from custody.cli.output import output_dir_problem, output_problem, write_output
from custody.errors import OutputError


def _run(args: list[str], tmp_path: Path) -> Result:
    env = {"HOME": str(tmp_path), "CUSTODY_LEDGER": str(tmp_path / "ledger.db"), "CUSTODY_SIGNING_KEY": None}
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def _assert_one_line_refusal(result: Result, out: Path) -> None:
    assert result.exit_code == exit_codes.USAGE, result.output
    assert result.stderr.startswith(f"error: cannot write {out}: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def _file_commands(tmp_path: Path, out: Path) -> dict[str, list[str]]:
    data = tmp_path / "data.txt"
    data.write_text("x\n", encoding="utf-8")
    return {
        "audit-json": ["audit", "--no-integrity", "--format", "json", "-o", str(out), str(tmp_path)],
        "audit-cyclonedx": ["audit", "--format", "cyclonedx", "-o", str(out), str(tmp_path)],
        "log-checkpoint": ["log", "checkpoint", "--origin", "o.example/x", "-o", str(out)],
        "log-prove": ["log", "prove", "0", "-o", str(out)],
        "data-open": ["data", "open", str(data), "--purpose", "test", "-o", str(out)],
        "data-oms": ["data", "oms", str(data), "-o", str(out)],
    }


FILE_COMMANDS = ["audit-json", "audit-cyclonedx", "log-checkpoint", "log-prove", "data-open", "data-oms"]


@pytest.mark.parametrize("command", FILE_COMMANDS)
@pytest.mark.parametrize("where", ["missing-dir", "a-directory"])
def test_file_outputs_refuse_unwritable_paths(tmp_path: Path, command: str, where: str) -> None:
    out = tmp_path / "nope" / "out.txt" if where == "missing-dir" else tmp_path
    result = _run(_file_commands(tmp_path, out)[command], tmp_path)
    _assert_one_line_refusal(result, out)
    assert not (tmp_path / "ledger.db").exists()  # refused before the ledger was even opened


@pytest.mark.parametrize(
    "args", [["log", "tiles"], ["ledger", "evidence", "--dataset", "d"]], ids=["log-tiles", "ledger-evidence"]
)
def test_directory_outputs_refuse_a_file_in_the_way(tmp_path: Path, args: list[str]) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")
    for out in (blocker, blocker / "sub"):
        _assert_one_line_refusal(_run([*args, "-o", str(out)], tmp_path), out)


def test_problems_are_named(tmp_path: Path) -> None:
    assert output_problem(str(tmp_path / "report.json")) is None
    assert output_problem(str(tmp_path)) == "is a directory"
    assert output_problem(str(tmp_path / "a" / "b.json")) == f"no such directory: {tmp_path / 'a'}"
    assert output_dir_problem(str(tmp_path / "new" / "deeper")) is None  # created on write
    (tmp_path / "f").write_text("", encoding="utf-8")
    assert output_dir_problem(str(tmp_path / "f")) == "exists and is not a directory"
    assert output_dir_problem(str(tmp_path / "f" / "x")) == f"{tmp_path / 'f'} is not a directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere: no permission to refuse")
def test_no_permission_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert output_problem(str(locked / "r.json")) == f"permission denied in {locked}"
    readonly = tmp_path / "ro.json"
    readonly.write_text("", encoding="utf-8")
    readonly.chmod(0o400)
    assert output_problem(str(readonly)) == "permission denied"


def test_a_write_that_fails_late_is_the_same_one_line_error(tmp_path: Path) -> None:
    """Between the check and the write the path may go away (or the disk fill up): the same
    OutputError, which the CLI's top-level handler prints as one line with exit code 2."""
    path = str(tmp_path / "gone" / "r.json")
    with pytest.raises(OutputError) as raised:
        write_output(path, "{}")
    assert raised.value.exit_code == exit_codes.USAGE
    assert str(raised.value).startswith(f"cannot write {path}: ") and "\n" not in str(raised.value)
