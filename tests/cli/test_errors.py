"""One top-level handler: a CustodyError anywhere under `custody` is one line on stderr and its
documented exit code, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from custody.cli import exit_codes, main
from custody.errors import EXIT_ERROR, EXIT_USAGE, CustodyError, StoreUnusableError


def _custody(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The console entry point in a fresh process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "custody.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"HOME": str(cwd), "PATH": "/usr/bin:/bin"},
    )


def _one_line(done: subprocess.CompletedProcess[str], code: int, starts: str) -> None:
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(starts) and done.stderr.count("\n") == 1, done.stderr


def test_codes_agree_with_the_documented_table() -> None:
    assert (EXIT_USAGE, EXIT_ERROR) == (exit_codes.USAGE, exit_codes.SCAN_ERROR)
    assert CustodyError("x").exit_code == EXIT_USAGE and StoreUnusableError("x").exit_code == EXIT_ERROR


def test_zero_targets_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _one_line(_custody("scan", "empty", cwd=tmp_path), EXIT_USAGE, "error: nothing to scan in empty")


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "html"])
def test_unwritable_output_is_refused_before_the_work(tmp_path: Path, fmt: str) -> None:
    done = _custody("scan", "--format", fmt, "-o", "/nonexistent/x", "missing.whl", cwd=tmp_path)
    _one_line(done, EXIT_USAGE, "error: cannot write /nonexistent/x: ")


def test_guard_learn_output_is_checked(tmp_path: Path) -> None:
    log = tmp_path / "guard.log"
    log.write_text("", encoding="utf-8")
    done = _custody("guard", "learn", str(log), "-o", "/nonexistent/policy.toml", cwd=tmp_path)
    _one_line(done, EXIT_USAGE, "error: cannot write /nonexistent/policy.toml: ")


def test_missing_file_and_corrupt_store(tmp_path: Path) -> None:
    _one_line(_custody("scan", "missing.whl", cwd=tmp_path), EXIT_USAGE, "error: missing.whl: no such file")
    store = tmp_path / "bad.sqlite"
    store.write_text("not a database", encoding="utf-8")
    _one_line(_custody("db", "status", "--db", str(store), cwd=tmp_path), EXIT_ERROR, "error: ")


@click.command()
def broken() -> None:
    """A command whose library call fails with a CustodyError."""
    raise StoreUnusableError("store.db: corrupt")


def test_a_custody_error_raised_by_a_command_becomes_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(main._COMMANDS, "broken", "tests.cli.test_errors:broken")
    result = CliRunner().invoke(main.cli, ["broken"], catch_exceptions=False)
    assert result.exit_code == EXIT_ERROR and result.stderr == "error: store.db: corrupt\n"
