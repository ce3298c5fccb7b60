"""The GitHub Action (action.yml) run as the runner would run it, on this machine: each step's
`if:` evaluated, each `run:` step executed by `bash -eo pipefail` with its `env:` and the
runner's variables (GITHUB_ACTION_PATH, RUNNER_TEMP, GITHUB_OUTPUT), step outputs read back from
GITHUB_OUTPUT. A `uses:` step (the SARIF upload) cannot run here: the test checks that it would
run and that the file it would upload is a SARIF report with the findings."""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.packaging.conftest import ROOT, run
from tests.packaging.records import ADVISORY_ID, VULNERABLE_PIN, write_advisories, write_project

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class Outcome:
    """What one run of the action did."""

    failed_step: int | None = None
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    uploads: list[dict[str, str]] = field(default_factory=list)
    log: str = ""


def _evaluate(expression: str, inputs: dict[str, str], outcome: Outcome) -> Any:
    """The subset of GitHub's expression language action.yml uses: inputs.X, steps.ID.outputs.X,
    always(), success(), string literals, ==, !=, &&, ||, !."""

    def value(match: re.Match[str]) -> str:
        path = match.group(0).split(".")
        if path[0] == "inputs":
            return repr(inputs[path[1]])
        if path[0] == "steps":
            return repr(outcome.outputs.get(path[1], {}).get(path[3], ""))
        raise AssertionError(f"unsupported context in {expression!r}")

    python = re.sub(r"\b(inputs|steps)\.[\w.-]+", value, expression)
    python = python.replace("always()", "True").replace("success()", repr(outcome.failed_step is None))
    python = python.replace("&&", " and ").replace("||", " or ")
    python = re.sub(r"!(?!=)", " not ", python)
    return eval(python, {"__builtins__": {}})


def _substitute(text: str, inputs: dict[str, str], outcome: Outcome) -> str:
    return EXPRESSION.sub(lambda m: str(_evaluate(m.group(1), inputs, outcome)), text)


def run_action(given: dict[str, str], *, workspace: Path, runner_temp: Path, action_path: Path) -> Outcome:
    """Run action.yml's steps in order with `given` inputs (defaults for the rest)."""
    inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    unknown = set(given) - set(inputs)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    inputs.update(given)
    outcome = Outcome()
    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CUSTODY_"))
    }
    base_env["PATH"] = os.pathsep.join(
        p for p in base_env["PATH"].split(os.pathsep) if not p.startswith(sys.prefix)
    )
    for number, step in enumerate(ACTION["runs"]["steps"]):
        condition = step.get("if", "success()")
        if not _evaluate(EXPRESSION.sub(r"\1", condition), inputs, outcome):
            continue
        if "uses" in step:
            with_ = {k: _substitute(str(v), inputs, outcome) for k, v in step.get("with", {}).items()}
            outcome.uploads.append({"uses": step["uses"], **with_})
            continue
        assert step["shell"] == "bash"
        output_file = workspace.parent / f"output-{number}"
        output_file.write_text("", encoding="utf-8")
        env = {
            **base_env,
            "GITHUB_ACTION_PATH": str(action_path),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_WORKSPACE": str(workspace),
            "RUNNER_TEMP": str(runner_temp),
            "HOME": str(workspace.parent / "home"),
            **{k: _substitute(str(v), inputs, outcome) for k, v in step.get("env", {}).items()},
        }
        script = workspace.parent / f"step-{number}.sh"
        script.write_text(_substitute(step["run"], inputs, outcome), encoding="utf-8")
        done = run(["bash", "--noprofile", "--norc", "-eo", "pipefail", script], cwd=workspace, env=env)
        outcome.log += done.stdout + done.stderr
        lines = output_file.read_text(encoding="utf-8").splitlines()
        outcome.outputs[step.get("id", str(number))] = dict(line.split("=", 1) for line in lines)
        if done.returncode != 0:
            outcome.failed_step = number
            if not step.get("continue-on-error"):
                break
    return outcome


@pytest.fixture(scope="session")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RUNNER_TEMP, kept for the session like a job's: the action's venv is built once and reused."""
    return tmp_path_factory.mktemp("runner")


@pytest.fixture
def runner(tmp_path: Path, runner_temp: Path, snapshot: tuple[Path, str]) -> dict[str, Path]:
    """A workspace with a clean project and a requirements file, and the runner's temp folder."""
    workspace = write_project(tmp_path / "workspace")
    (workspace / "requirements.txt").write_text(f"{VULNERABLE_PIN}\n", encoding="utf-8")
    return {"workspace": workspace, "runner_temp": runner_temp, "action_path": snapshot[0]}


def _sarif_results(path: Path) -> list[dict[str, Any]]:
    sarif = json.loads(path.read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    return [r for run_ in sarif["runs"] for r in run_.get("results", [])]


def test_audit_uploads_the_findings_then_fails_the_job(runner: dict[str, Path], tmp_path: Path) -> None:
    records = write_advisories(tmp_path / "records")
    outcome = run_action(
        {
            "command": "audit",
            "targets": "requirements.txt",
            "args": "--fail-on high",
            "advisories": str(records),
        },
        **runner,
    )
    assert outcome.outputs["custody"]["exit-code"] == "1", outcome.log
    sarif = runner["workspace"] / outcome.outputs["custody"]["sarif-file"]
    assert ADVISORY_ID in {r["ruleId"] for r in _sarif_results(sarif)}
    assert ADVISORY_ID in outcome.log  # the job log shows the findings too
    (upload,) = outcome.uploads
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["sarif_file"] == "custody.sarif" and upload["category"] == "custody-audit"
    assert outcome.failed_step == len(ACTION["runs"]["steps"]) - 1  # the job fails after the upload


def test_scan_of_a_clean_checkout_passes(runner: dict[str, Path]) -> None:
    outcome = run_action({"command": "scan", "targets": ".", "sarif-file": "scan.sarif"}, **runner)
    assert outcome.failed_step is None, outcome.log
    assert outcome.outputs["custody"] == {"exit-code": "0", "sarif-file": "scan.sarif"}
    assert _sarif_results(runner["workspace"] / "scan.sarif") == []
    assert [u["category"] for u in outcome.uploads] == ["custody-scan"]


def test_fail_false_reports_without_failing(runner: dict[str, Path], tmp_path: Path) -> None:
    records = write_advisories(tmp_path / "records")
    outcome = run_action(
        {"targets": "requirements.txt", "advisories": str(records), "fail": "false", "upload-sarif": "false"},
        **runner,
    )
    assert outcome.failed_step is None, outcome.log
    assert outcome.outputs["custody"]["exit-code"] == "1"
    assert outcome.uploads == []


def test_a_bad_command_fails_at_once(runner: dict[str, Path]) -> None:
    outcome = run_action({"command": "serve"}, **runner)
    assert outcome.failed_step == 0
    assert "command must be audit or scan, not 'serve'" in outcome.log
    assert outcome.uploads == []
