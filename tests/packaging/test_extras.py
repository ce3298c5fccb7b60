"""`pip install custody` without extras, in a real fresh venv: scan, audit, gate check and the
library work; the servers and PostgreSQL stores say which extra to install, in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.packaging.conftest import POSTGRES_MODULES, SERVER_MODULES, run
from tests.packaging.records import ADVISORY_ID, VULNERABLE_PIN, write_advisories, write_project


def _custody(bin_dir: Path, env: dict[str, str], *args: str | Path, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    return run([bin_dir / "custody", *args], env=env, cwd=cwd)


def test_the_extras_are_not_installed_by_default(core_venv: Path) -> None:
    """What the rest of this module relies on: the fresh venv really lacks every extra's module."""
    probe = "import importlib.util as u, sys; print([m for m in sys.argv[1:] if u.find_spec(m)])"
    done = run([core_venv / "python", "-c", probe, *SERVER_MODULES, *POSTGRES_MODULES])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_help_and_every_command_help(core_venv: Path, clean_env: dict[str, str]) -> None:
    done = _custody(core_venv, clean_env, "--help")
    assert done.returncode == 0, done.stderr
    commands = [line.split()[0] for line in done.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert {"scan", "audit", "gate", "ledger"} <= set(commands)
    for command in commands:
        sub = _custody(core_venv, clean_env, command, "--help")
        assert sub.returncode == 0, f"{command} --help: {sub.stderr}"


def test_scan_of_a_project(core_venv: Path, clean_env: dict[str, str], tmp_path: Path) -> None:
    project = write_project(tmp_path / "tidy")
    done = _custody(core_venv, clean_env, "scan", project, "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [t["verdict"] for t in report["targets"]] == ["clean"]


def test_audit_of_a_lock_file(core_venv: Path, clean_env: dict[str, str], tmp_path: Path) -> None:
    records = write_advisories(tmp_path / "records")
    update = _custody(core_venv, clean_env, "db", "update", "--from", records)
    assert update.returncode == 0, update.stderr
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"{VULNERABLE_PIN}\n", encoding="utf-8")
    done = _custody(core_venv, clean_env, "audit", requirements, "--format", "json")
    assert done.returncode == 1, done.stderr  # a high finding, over the default --fail-on medium
    assert ADVISORY_ID in {f["id"] for f in json.loads(done.stdout)["findings"]}


def test_gate_check_against_a_local_index(
    core_venv: Path, clean_env: dict[str, str], wheel: Path, tmp_path: Path
) -> None:
    """`gate check` needs no server: custody's own wheel, in a directory used as the upstream."""
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    (upstream / wheel.name).write_bytes(wheel.read_bytes())
    done = _custody(
        core_venv,
        clean_env,
        "gate",
        "check",
        "custody==0.1.0",
        "--upstream",
        upstream,
        "--store",
        tmp_path / "gate.sqlite",
        "--cooldown",
        "0",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert wheel.name in done.stdout


def test_library_imports(core_venv: Path, clean_env: dict[str, str], tmp_path: Path) -> None:
    project = write_project(tmp_path / "tidy")
    code = (
        "import sys, custody.scan, custody.audit, custody.gate, custody.ledger, custody.store\n"
        "from custody.scan import Scanner, ScanTask\n"
        "print(Scanner().scan_task(ScanTask(sys.argv[1], tree=True))[0].verdict)\n"
    )
    done = run([core_venv / "python", "-c", code, project], env=clean_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().lower().endswith("clean")


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["gate", "serve", "--port", "1"], "server"),
        (["ledger", "serve", "--tenants", "{tenants}", "--port", "1"], "server"),
        (["log", "verify", "--ledger", "postgresql://nobody@127.0.0.1:1/none"], "postgres"),
        (["gate", "check", "pkg==1.0", "--store", "postgresql://nobody@127.0.0.1:1/none"], "postgres"),
    ],
)
def test_a_command_needing_an_extra_names_it(
    core_venv: Path, clean_env: dict[str, str], tmp_path: Path, args: list[str], extra: str
) -> None:
    tenants = tmp_path / "tenants.json"
    tenants.write_text('{"tenants": {}}', encoding="utf-8")
    done = _custody(core_venv, clean_env, *[a.format(tenants=tenants) for a in args])
    assert done.returncode in (2, 3), done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"pip install 'custody[{extra}]'" in lines[0]


def test_a_library_import_needing_an_extra_names_it(core_venv: Path, clean_env: dict[str, str]) -> None:
    code = (
        "from custody.errors import MissingExtraError\n"
        "try:\n    from custody.gate import create_app\n"
        "except MissingExtraError as exc:\n    print(exc.extra, exc.module)\n"
    )
    done = run([core_venv / "python", "-c", code], env=clean_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["server", "starlette"]


def test_ledger_token_needs_no_server(core_venv: Path, clean_env: dict[str, str]) -> None:
    done = _custody(core_venv, clean_env, "ledger", "token")
    assert done.returncode == 0, done.stderr
    assert "tenants file entry: sha256:" in done.stdout
