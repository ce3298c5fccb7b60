"""The guard armed in a real venv, against a litellm-style start-up payload and a benign package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from custody.guard import GuardMode, environment, install, status, uninstall
from tests.guard.builders import sink
from tests.guard.conftest import pip_install
from tests.report.schema_check import assert_valid

ENFORCE_POLICY = """
[guard.default]
network = []
subprocess = false

[guard.packages.benignnet]
network = ["127.0.0.1:*"]
"""


def run(venv: Path, code: str, home: Path, port: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUARD_FIXTURE", "PYTHON"))}
    env["HOME"] = str(home)
    if port is not None:
        env["GUARD_FIXTURE_PORT"] = str(port)
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def events(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    for line in lines:
        assert_valid("guard-log", line)  # every real log line the guard tests read
    return lines


def arm(venv: Path, tmp_path: Path, mode: GuardMode, policy: str | None = None) -> Path:
    policy_path = None
    if policy is not None:
        policy_path = tmp_path / "policy.toml"
        policy_path.write_text(policy)
    log = tmp_path / "guard.jsonl"
    install(
        environment(venv=str(venv)),
        mode=mode,
        policy_path=str(policy_path) if policy_path else None,
        log=str(log),
    )
    return log


@pytest.fixture
def armed(venv: Path) -> Any:
    yield
    uninstall(environment(venv=str(venv)))


def test_monitor_logs_the_payload_attributed_to_its_pth(
    venv: Path, home: Path, tmp_path: Path, armed: None
) -> None:
    log = arm(venv, tmp_path, GuardMode.MONITOR)
    with sink() as server:
        done = run(venv, "pass", home, server.port)
    assert done.returncode == 0, done.stderr
    assert any(b"FAKE KEY" in data for data in server.received)  # monitor mode lets it happen
    seen = events(log)
    mine = [e for e in seen if e["package"] == "evilpkg 1.0"]
    assert mine, seen
    assert all(e["startup_file"].endswith("evilpkg_init.pth") for e in mine)
    by_capability = {(e["capability"], e["decision"]) for e in mine}
    key_reads = [e for e in mine if e["resource"].endswith(".ssh/id_rsa")]
    assert key_reads and key_reads[0]["rule"] == "protected:ssh-keys"
    assert key_reads[0]["decision"] == "would-deny"
    assert ("subprocess", "allow") in by_capability
    assert any(e["capability"] == "network" and e["resource"] == f"127.0.0.1:{server.port}" for e in mine)
    assert any(e["capability"] == "dynamic_code" for e in mine)
    assert any(e.get("finding") == "unguarded-interpreter" for e in mine)  # python -S
    assert any(e.get("finding") == "audit-hook-added" for e in mine)
    assert any(e["capability"] == "write" and e["resource"].endswith(".bashrc") for e in mine)
    assert all(":" in e["where"] for e in mine)


def test_enforce_refuses_the_payload(venv: Path, home: Path, tmp_path: Path, armed: None) -> None:
    log = arm(venv, tmp_path, GuardMode.ENFORCE, ENFORCE_POLICY)
    with sink() as server:
        done = run(venv, "print('main program ran')", home, server.port)
    assert "main program ran" in done.stdout  # the interpreter starts; only the payload is refused
    assert server.received == []
    assert sorted(p.name for p in home.rglob("*")) == [".ssh", "id_rsa"]  # nothing written under HOME
    denied = [e for e in events(log) if e["decision"] == "deny"]
    assert {e["package"] for e in denied} == {"evilpkg 1.0"}
    assert all(e["startup_file"].endswith("evilpkg_init.pth") for e in denied)
    rules = {e["rule"] for e in denied}
    expected = {
        "protected:ssh-keys",
        "subprocess-not-allowed",
        "network-not-allowed",
        "protected:shell-startup",
    }
    assert expected <= rules
    assert done.stderr == ""  # the payload caught every PermissionError (OSError) itself


def test_enforce_allows_a_named_package_its_network(
    venv: Path, home: Path, tmp_path: Path, wheels: dict[str, Path], armed: None
) -> None:
    log = arm(venv, tmp_path, GuardMode.ENFORCE, ENFORCE_POLICY)
    pip_install(venv, wheels["benign"])  # after arming: the guard rebuilds its stale index itself
    with sink() as server:
        done = run(venv, f"import benignnet; benignnet.ping({server.port})", home)
    assert done.returncode == 0, done.stderr
    assert b"hello from benignnet" in server.received
    allowed = [e for e in events(log) if e["package"] == "benignnet 2.0"]
    assert any(e["capability"] == "network" and e["decision"] == "allow" for e in allowed)


def test_arming_is_idempotent_across_lib_and_lib64(
    venv: Path, home: Path, tmp_path: Path, armed: None
) -> None:
    log = arm(venv, tmp_path, GuardMode.MONITOR)
    env = environment(venv=str(venv))
    lib64 = venv / "lib64"
    if not lib64.exists():
        lib64.symlink_to("lib")
    site64 = str(lib64 / Path(env.site_dir).relative_to(venv / "lib"))
    extra = Path(env.site_dir) / "zz-lib64.pth"  # processes the same site dir again, via lib64
    extra.write_text(f"import site; site.addsitedir({site64!r})\n")
    try:
        code = "import sys, _custody_guard; print(sys._custody_guard_armed, _custody_guard.arm())"
        with sink() as server:
            done = run(venv, code, home, server.port)
    finally:
        extra.unlink()
    assert done.stdout.split() == ["True", "False"], done.stderr
    key_reads = [e for e in events(log) if e["resource"].endswith(".ssh/id_rsa")]
    assert len(key_reads) == 1  # one hook: a second would log the read twice


def test_bootstrap_imports_no_heavy_modules(venv: Path, home: Path, tmp_path: Path, armed: None) -> None:
    arm(venv, tmp_path, GuardMode.MONITOR)
    code = "import sys; print(sys._custody_guard_armed); print(' '.join(sorted(sys.modules)))"
    done = run(venv, code, home)
    armed_flag, modules = done.stdout.splitlines()
    loaded = set(modules.split())
    assert armed_flag == "True" and "_custody_guard" in loaded
    assert not {m for m in loaded if m == "custody" or m.startswith("custody.")}
    # json is loaded only once something is logged (evilpkg's .pth execs a string: it is)
    assert not loaded & {"typing", "dataclasses", "inspect", "csv", "cryptography", "click"}


def test_status_lists_start_up_files_that_run_first(venv: Path, tmp_path: Path, armed: None) -> None:
    arm(venv, tmp_path, GuardMode.MONITOR)
    env = environment(venv=str(venv))
    early = Path(env.site_dir) / " early.pth"  # a space sorts before "!"
    early.write_text("# nothing\n")
    try:
        state = status(env)
    finally:
        early.unlink()
    assert state.armed and state.mode == "monitor" and state.bootstrap_intact
    assert state.before == (str(early),)
    boot = Path(env.site_dir) / "_custody_guard.py"
    boot.write_text(boot.read_text() + "\n# replaced\n")
    assert not status(env).bootstrap_intact
    ordinary = ["00-a.pth", "-a.pth", "_a.pth", "A.pth", "0.pth", "#a.pth", "~a.pth"]
    assert sorted([*ordinary, "!custody-guard.pth"])[0] == "!custody-guard.pth"


def test_uninstall_disarms(venv: Path, home: Path, tmp_path: Path) -> None:
    arm(venv, tmp_path, GuardMode.MONITOR)
    env = environment(venv=str(venv))
    assert uninstall(env)
    done = run(venv, "import sys; print(getattr(sys, '_custody_guard_armed', False))", home)
    assert done.stdout.strip() == "False"
    assert not status(env).armed
    assert sys.version_info >= (3, 10)


UNOWNED_PTH = (
    "import os, marshal; os.environ.get('GUARD_FIXTURE_PORT') and "
    "(open(os.path.expanduser('~/.ssh/id_rsa')).close(), "
    "exec(marshal.loads(marshal.dumps(compile('x = 1', '<payload>', 'exec')))))\n"
)


def test_unowned_start_up_file_and_marshalled_code(
    venv: Path, home: Path, tmp_path: Path, armed: None
) -> None:
    log = arm(venv, tmp_path, GuardMode.MONITOR)
    pth = Path(environment(venv=str(venv)).site_dir) / "zz-unowned.pth"
    pth.write_text(UNOWNED_PTH)
    try:
        with sink() as server:
            done = run(venv, "pass", home, server.port)
    finally:
        pth.unlink()
    assert done.returncode == 0, done.stderr
    mine = [e for e in events(log) if e["startup_file"] == str(pth)]
    assert mine and {e["package"] for e in mine} == {"unowned start-up file"}
    assert any(e["resource"].endswith(".ssh/id_rsa") and e["rule"] == "protected:ssh-keys" for e in mine)
    assert any(e["event"] == "exec" and e["resource"] == "<payload>" for e in mine)


def test_a_child_of_the_same_environment_arms_its_own_hook(
    venv: Path, home: Path, tmp_path: Path, armed: None
) -> None:
    arm(venv, tmp_path, GuardMode.MONITOR)
    code = (
        "import subprocess, sys; "
        "print(subprocess.run([sys.executable, '-c', 'import sys; print(sys._custody_guard_armed)'], "
        "capture_output=True, text=True).stdout.strip())"
    )
    assert run(venv, code, home).stdout.strip() == "True"


def test_a_guard_bug_does_not_break_the_program(venv: Path, home: Path, tmp_path: Path, armed: None) -> None:
    log = arm(venv, tmp_path, GuardMode.ENFORCE)
    code = (
        "import _custody_guard as g\n"
        "def broken(event, args, frame): raise KeyError('boom')\n"
        "g._HANDLERS['socket.gethostname'] = broken\n"
        "import socket; print(bool(socket.gethostname()))\n"
    )
    done = run(venv, code, home)
    assert done.stdout.strip() == "True", done.stderr
    errors = [e for e in events(log) if e.get("finding") == "guard-error"]
    assert errors and errors[0]["event"] == "socket.gethostname" and "boom" in errors[0]["resource"]


def test_main_program_starting_an_unguarded_interpreter_is_a_finding(
    venv: Path, home: Path, tmp_path: Path, armed: None
) -> None:
    log = arm(venv, tmp_path, GuardMode.ENFORCE)
    done = run(venv, "import subprocess, sys; subprocess.run([sys.executable, '-I', '-c', 'pass'])", home)
    assert done.returncode == 0, done.stderr  # the main program is not policed, only reported
    found = [e for e in events(log) if e["package"] == "main program"]
    assert [e["finding"] for e in found] == ["unguarded-interpreter"]
    assert found[0]["decision"] == "allow"
