"""The controls scan and audit share, end to end through the CLI: configuration precedence,
suppressions (kept and marked in JSON and SARIF), expiry, baselines, --fail-on, --exit-zero,
-q, the summary line and colour. The README's configuration example is run here as written."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from custody.audit.scanning import VERDICT_SEVERITY as AUDIT_VERDICT_SEVERITY
from custody.cli.main import cli
from custody.config import FAIL_LEVELS, VERDICT_SEVERITY, load_config, markdown_tables
from custody.config.fail_on import fail_on_table
from custody.scan import Verdict
from tests.report.schema_check import assert_valid
from tests.scan.builders import BENIGN_INIT, write_litellm_wheel, write_wheel

README = Path(__file__).resolve().parents[2] / "README.md"
SUMMARY = re.compile(
    r"custody scan: (\d+) targets, (\d+) malicious, (\d+) suspicious, (\d+) errors, (\d+) suppressed, "
)
ADVISORY = {
    "id": "GHSA-aaaa-bbbb-cccc",
    "aliases": ["CVE-2099-0001"],
    "modified": "2025-01-01T00:00:00Z",
    "summary": "demo flaw",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "Demo_Pkg"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}],
        }
    ],
    "database_specific": {"severity": "HIGH"},
}


def run(args: list[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, args, env={"CUSTODY_RULES": "", **(env or {})}, catch_exceptions=False)


@pytest.fixture
def bad_wheel(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    out = tmp_path / "bad"
    out.mkdir()
    return write_litellm_wheel(out, home=str(tmp_path / "home"))


@pytest.fixture
def good_wheel(tmp_path: Path) -> Path:
    out = tmp_path / "good"
    out.mkdir()
    return write_wheel(out, {"goodpkg/__init__.py": BENIGN_INIT}, name="goodpkg")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory as the current directory (no config above it in tmp)."""
    path = tmp_path / "project"
    path.mkdir()
    monkeypatch.chdir(path)
    return path


@pytest.fixture
def advisory_env(tmp_path: Path) -> dict[str, str]:
    """An advisory store holding one HIGH advisory for demo-pkg < 2.0, and a lock file pinning 1.0."""
    record = tmp_path / "GHSA-aaaa-bbbb-cccc.json"
    record.write_text(json.dumps(ADVISORY), encoding="utf-8")
    env = {
        "CUSTODY_ADVISORY_DB": str(tmp_path / "advisories.sqlite"),
        "CUSTODY_OSV_EXPORT_URL": "http://127.0.0.1:9/{ecosystem}/all.zip",
    }
    assert run(["db", "update", "--from", str(record)], env).exit_code == 0
    (tmp_path / "requirements.txt").write_text("demo-pkg==1.0\n", encoding="utf-8")
    return env


def readme_between(start: str, end: str) -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index(start) + len(start) : text.index(end)].strip()


def readme_config_example() -> str:
    section = README.read_text(encoding="utf-8").split("## Configuration\n", 1)[1]
    return section.split("```toml\n", 1)[1].split("```", 1)[0]


def findings(result: Result) -> list[dict[str, Any]]:
    doc = json.loads(result.stdout)
    return [f for target in doc["targets"] for f in target["findings"]]


# -- configuration -----------------------------------------------------------------------------


def test_readme_tables_are_the_generated_ones() -> None:
    assert readme_between("<!-- config-table:start -->", "<!-- config-table:end -->") == markdown_tables()
    assert readme_between("<!-- fail-on-table:start -->", "<!-- fail-on-table:end -->") == fail_on_table()


def test_every_custody_variable_in_the_code_is_documented() -> None:
    source = Path(__file__).resolve().parents[2] / "src" / "custody"
    used = {m for p in source.rglob("*.py") for m in re.findall(r"CUSTODY_[A-Z_]+", p.read_text("utf-8"))}
    table = readme_between("<!-- config-table:start -->", "<!-- config-table:end -->")
    assert used and {v for v in used if f"`{v}`" not in table} == set()


def test_readme_config_example_loads_and_runs(
    project: Path, tmp_path: Path, good_wheel: Path, advisory_env: dict[str, str]
) -> None:
    (project / "custody.toml").write_text(readme_config_example(), encoding="utf-8")
    (project / "custody-ignore.toml").write_text("", encoding="utf-8")
    (project / "yara-rules").mkdir()
    config = load_config()
    assert config.defaults_for("scan")["fail_on"] == "suspicious"
    assert [i.package for i in config.audit_ignores] == ["demo-pkg"]
    assert run(["scan", str(good_wheel)]).exit_code == 0
    # the example's [[audit.ignore]] covers the demo advisory by its alias: audit passes
    lock = str(tmp_path / "requirements.txt")
    audited = run(["audit", lock, "--format", "json"], advisory_env)
    assert audited.exit_code == 0, audited.output
    (finding,) = json.loads(audited.stdout)["findings"]
    assert finding["suppression"]["reason"].startswith("the vulnerable function is never called")
    (project / "custody.toml").write_text("", encoding="utf-8")  # without it the advisory counts
    assert run(["audit", lock], advisory_env).exit_code == 1


def test_precedence_cli_then_config_then_custody_toml_then_pyproject(project: Path, good_wheel: Path) -> None:
    def fmt(*args: str) -> str:
        out = run(["scan", str(good_wheel), *args]).stdout
        return "sarif" if '"2.1.0"' in out else "json" if '"schema_version"' in out else "text"

    assert fmt() == "text"
    (project / "pyproject.toml").write_text('[tool.custody.scan]\nformat = "sarif"\n', encoding="utf-8")
    assert fmt() == "sarif"
    (project / "custody.toml").write_text('[scan]\nformat = "json"\n', encoding="utf-8")
    assert fmt() == "json"
    (project / "other.toml").write_text('[scan]\nformat = "text"\n', encoding="utf-8")
    assert fmt("--config", "other.toml") == "text"
    assert fmt("--config", "other.toml", "--format", "sarif") == "sarif"


def test_gate_reads_the_shared_config(project: Path) -> None:
    (project / "custody.toml").write_text('[gate]\nport = 9999\nhost = "127.0.0.2"\n', encoding="utf-8")
    group = cli.get_command(click.Context(cli), "gate")
    assert group is not None
    ctx = group.make_context("gate", ["serve"])
    assert ctx.default_map is not None and ctx.default_map["serve"] == {"port": 9999, "host": "127.0.0.2"}


def test_unknown_key_is_one_line_and_exit_2(project: Path, good_wheel: Path) -> None:
    (project / "custody.toml").write_text('[scan]\nfial-on = "high"\n', encoding="utf-8")
    result = run(["scan", str(good_wheel)])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "unknown key 'fial-on'" in line
    assert "Traceback" not in result.output


# -- suppressions and baselines ----------------------------------------------------------------


def _ignore_all(project: Path, rules: set[str], until: str | None) -> None:
    tables = "".join(
        f'[[scan.ignore]]\nrule = "{r}"\npackage = "LiteLLM"\nreason = "lab replica, reviewed"\n'
        + (f"until = {until}\n" if until else "")
        for r in sorted(rules)
    )
    (project / "custody.toml").write_text(tables, encoding="utf-8")


def test_suppressed_findings_stay_in_json_and_sarif_with_their_reason(project: Path, bad_wheel: Path) -> None:
    before = run(["scan", str(bad_wheel), "--format", "json"])
    assert before.exit_code == 1
    rules = {f["rule"] for f in findings(before)}
    _ignore_all(project, rules, until=None)
    after = run(["scan", str(bad_wheel), "--format", "json"])
    assert after.exit_code == 0, after.output
    assert json.loads(after.stdout)["targets"][0]["verdict"] == "clean"
    assert_valid("scan", json.loads(after.stdout))  # the shipped schema knows `suppression`
    kept = findings(after)
    assert len(kept) == len(findings(before))
    assert {f["suppression"]["reason"] for f in kept} == {"lab replica, reviewed"}
    sarif = json.loads(run(["scan", str(bad_wheel), "--format", "sarif"]).stdout)
    results = sarif["runs"][0]["results"]
    assert results and all(r["suppressions"][0]["justification"] == "lab replica, reviewed" for r in results)
    assert {r["suppressions"][0]["properties"]["kind"] for r in results} == {"ignored"}
    assert results[0]["suppressions"][0]["properties"]["source"].endswith("custody.toml")
    text = run(["scan", str(bad_wheel)])
    match = SUMMARY.search(text.stdout)
    assert match and match.group(2) == "0" and int(match.group(5)) == len(kept)


def test_expired_suppression_is_reported_and_not_applied(project: Path, bad_wheel: Path) -> None:
    rules = {f["rule"] for f in findings(run(["scan", str(bad_wheel), "--format", "json"]))}
    _ignore_all(project, rules, until="2020-01-01")
    result = run(["scan", str(bad_wheel), "--format", "json"])
    assert result.exit_code == 1
    assert all(f["suppression"] is None for f in findings(result))
    assert "suppression expired, no longer applied: rule" in result.stderr and "2020-01-01" in result.stderr


def test_cli_ignore_needs_a_reason_and_a_known_rule(bad_wheel: Path) -> None:
    missing = run(["scan", str(bad_wheel), "--ignore", "startup-hook-dangerous"])
    assert missing.exit_code == 2 and "--ignore needs --reason" in missing.stderr
    typo = run(["scan", str(bad_wheel), "--exclude-rule", "startup-hok"])
    assert typo.exit_code == 2 and "no such rule" in typo.stderr


def test_audit_ignore_by_alias_until_and_expiry(tmp_path: Path, advisory_env: dict[str, str]) -> None:
    lock = str(tmp_path / "requirements.txt")
    assert run(["audit", lock], advisory_env).exit_code == 1
    args = ["audit", lock, "--ignore", "cve-2099-0001", "--reason", "not reachable"]
    assert run([*args, "--until", "2099-12-31"], advisory_env).exit_code == 0
    late = run([*args, "--until", "2020-01-01", "--format", "json"], advisory_env)
    assert late.exit_code == 1 and "suppression expired" in late.stderr
    assert any("suppression expired" in n for n in json.loads(late.stdout)["notes"])
    sarif = json.loads(run([*args, "--format", "sarif"], advisory_env).stdout)
    (result,) = sarif["runs"][0]["results"]
    assert result["suppressions"][0]["justification"] == "not reachable"
    assert result["suppressions"][0]["properties"]["source"] == "--ignore"
    assert sarif["runs"][0]["automationDetails"]["id"] == "custody/audit/"  # the one SARIF writer
    kept = run([*args, "--format", "json"], advisory_env)
    assert_valid("audit", json.loads(kept.stdout))
    assert json.loads(kept.stdout)["findings"][0]["suppression"]["reason"] == "not reachable"


def test_baseline_counts_only_new_findings(tmp_path: Path, bad_wheel: Path, good_wheel: Path) -> None:
    old = tmp_path / "old.json"
    assert run(["scan", str(bad_wheel), "--format", "json", "-o", str(old)]).exit_code == 1
    again = run(["scan", str(bad_wheel), "--baseline", str(old), "--format", "json"])
    assert again.exit_code == 0
    assert {f["suppression"]["kind"] for f in findings(again)} == {"baseline"}
    clean = tmp_path / "clean.json"
    assert run(["scan", str(good_wheel), "--format", "json", "-o", str(clean)]).exit_code == 0
    assert run(["scan", str(bad_wheel), "--baseline", str(clean)]).exit_code == 1  # new: counts
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    broken = run(["scan", str(bad_wheel), "--baseline", str(tmp_path / "broken.json")])
    assert broken.exit_code == 2 and "not a JSON report" in broken.stderr


def test_audit_baseline(tmp_path: Path, advisory_env: dict[str, str]) -> None:
    lock = str(tmp_path / "requirements.txt")
    old = tmp_path / "audit.json"
    assert run(["audit", lock, "--format", "json", "-o", str(old)], advisory_env).exit_code == 1
    assert run(["audit", lock, "--baseline", str(old)], advisory_env).exit_code == 0
    scan_report = tmp_path / "scan.json"
    scan_report.write_text('{"schema_version": 1, "targets": []}', encoding="utf-8")
    wrong = run(["audit", lock, "--baseline", str(scan_report)], advisory_env)
    assert wrong.exit_code == 2 and "custody audit --format json" in wrong.stderr


# -- fail-on, exit-zero, quiet, colour ----------------------------------------------------------


def test_fail_on_is_one_vocabulary() -> None:
    for name in ("scan", "audit"):
        command = cli.get_command(click.Context(cli), name)
        assert command is not None
        (option,) = [p for p in command.params if p.name == "fail_on"]
        assert isinstance(option.type, click.Choice) and tuple(option.type.choices) == FAIL_LEVELS
    for verdict, severity in VERDICT_SEVERITY.items():  # the one table audit --scan uses too
        assert AUDIT_VERDICT_SEVERITY[Verdict(verdict)] == severity


def test_fail_on_levels_in_audit_and_scan(
    tmp_path: Path, advisory_env: dict[str, str], bad_wheel: Path
) -> None:
    lock = str(tmp_path / "requirements.txt")  # one HIGH advisory
    assert run(["audit", lock, "--fail-on", "malicious"], advisory_env).exit_code == 0
    assert run(["audit", lock, "--fail-on", "suspicious"], advisory_env).exit_code == 1
    assert run(["audit", lock, "--fail-on", "high"], advisory_env).exit_code == 1
    assert run(["scan", str(bad_wheel), "--fail-on", "critical"]).exit_code == 1


def test_exit_zero_clears_findings_not_errors(bad_wheel: Path, tmp_path: Path) -> None:
    assert run(["scan", str(bad_wheel), "--exit-zero"]).exit_code == 0
    assert run(["scan", str(tmp_path / "missing.whl"), "--exit-zero"]).exit_code == 2


def test_quiet_shows_only_the_summary_for_clean_targets(good_wheel: Path, bad_wheel: Path) -> None:
    quiet = run(["scan", str(good_wheel), "-q"])
    assert quiet.exit_code == 0
    assert len(quiet.stdout.strip().splitlines()) == 1 and SUMMARY.search(quiet.stdout)
    both = run(["scan", str(good_wheel), str(bad_wheel), "-q"])
    assert "litellm" in both.stdout and "goodpkg" not in both.stdout
    assert SUMMARY.search(both.stdout.strip().splitlines()[-1])


def test_color_flag(good_wheel: Path) -> None:
    assert "\x1b[" in run(["scan", str(good_wheel), "--color", "always"], {"NO_COLOR": "1"}).stdout
    assert "\x1b[" not in run(["scan", str(good_wheel), "--color", "never"]).stdout


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """custody's stdout when it is a real terminal (a pseudo-terminal)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    leader, follower = pty.openpty()
    try:
        subprocess.run(
            [sys.executable, "-m", "custody.cli.main", *args],
            stdout=follower,
            stderr=subprocess.DEVNULL,
            env={**clean, "CUSTODY_RULES": "", "TERM": "xterm", **env},
            check=False,
            timeout=120,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(leader)


def test_no_color_is_honoured_on_a_terminal(good_wheel: Path) -> None:
    coloured = _on_a_terminal(["scan", str(good_wheel)], {})
    assert "\x1b[" in coloured and "custody scan: 1 targets" in coloured
    plain = _on_a_terminal(["scan", str(good_wheel)], {"NO_COLOR": "1"})
    assert "\x1b[" not in plain and "custody scan: 1 targets" in plain


def test_audit_does_not_import_the_scan_engine() -> None:
    """Suppressions and the shared controls must not cost audit the scan engine's start-up."""
    probe = "import sys, custody.cli.audit_cmd; print('custody.scan.engine' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"
