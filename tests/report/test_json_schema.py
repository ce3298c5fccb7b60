"""The JSON report is a stable contract: its keys are exactly the documented ones (README.md,
"JSON output"), with the documented value types and enumerations."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from custody import __version__
from custody.artifacts import LimitKind
from custody.report import SCHEMA_VERSION, result_to_dict, results_to_json
from custody.scan import (
    Context,
    Finding,
    Scanner,
    ScanResult,
    ScanTask,
    Severity,
    Verdict,
    error_result,
    scan_tasks,
)
from tests.report.schema_check import assert_valid
from tests.scan.builders import litellm_pth, write_litellm_wheel, write_site_packages, write_wheel

README = Path(__file__).resolve().parents[2] / "README.md"

DOCUMENT_KEYS = {"custody_version", "schema_version", "targets"}
TARGET_KEYS = {
    "target",
    "name",
    "version",
    "kind",
    "verdict",
    "score",
    "summary",
    "findings",
    "error",
    "seconds",
}
FINDING_KEYS = {"rule", "severity", "file", "line", "snippet", "reason", "context", "limit", "suppression"}
VERDICTS = {"malicious", "suspicious", "clean", "error"}
KINDS = {"wheel", "sdist", "egg", "npm", "installed", "file", None}
SEVERITIES = {"critical", "high", "medium", "low", "info"}
CONTEXTS = {"startup", "install", "import", "call", "dev", None}
LIMITS = {kind.value for kind in LimitKind} | {None}


def check_document(document: dict[str, Any]) -> None:
    assert_valid("scan", document)  # the schema shipped in the package, then the details below
    assert set(document) == DOCUMENT_KEYS
    assert document["custody_version"] == __version__
    assert document["schema_version"] == SCHEMA_VERSION == 1
    assert isinstance(document["targets"], list)
    for target in document["targets"]:
        check_target(target)


def check_target(target: dict[str, Any]) -> None:
    assert set(target) == TARGET_KEYS, sorted(set(target) ^ TARGET_KEYS)
    assert isinstance(target["target"], str) and target["target"]
    assert target["name"] is None or isinstance(target["name"], str)
    assert target["version"] is None or isinstance(target["version"], str)
    assert target["kind"] in KINDS
    assert target["verdict"] in VERDICTS
    assert isinstance(target["score"], (int, float)) and not isinstance(target["score"], bool)
    assert 0 <= target["score"] <= 10
    assert isinstance(target["summary"], str)
    assert target["error"] is None or isinstance(target["error"], str)
    assert isinstance(target["seconds"], (int, float)) and target["seconds"] >= 0
    assert isinstance(target["findings"], list)
    for finding in target["findings"]:
        assert set(finding) == FINDING_KEYS, sorted(set(finding) ^ FINDING_KEYS)
        assert isinstance(finding["rule"], str) and finding["rule"]
        assert finding["severity"] in SEVERITIES
        assert isinstance(finding["file"], str)
        assert finding["line"] is None or (isinstance(finding["line"], int) and finding["line"] >= 1)
        assert isinstance(finding["snippet"], str)
        assert isinstance(finding["reason"], str) and finding["reason"]
        assert finding["context"] in CONTEXTS
        assert finding["limit"] in LIMITS


def _readme_example() -> dict[str, Any]:
    text = README.read_text(encoding="utf-8")
    section = text.split("### JSON output", 1)[1]
    match = re.search(r"```json\n(.*?)```", section, re.S)
    assert match, "README lost its JSON example"
    return json.loads(match.group(1))


def test_readme_example_documents_exactly_these_keys() -> None:
    example = _readme_example()
    assert set(example) == DOCUMENT_KEYS
    [target] = example["targets"]
    assert set(target) == TARGET_KEYS
    [finding] = target["findings"]
    assert set(finding) == FINDING_KEYS
    assert example["schema_version"] == SCHEMA_VERSION


def test_keys_of_a_constructed_result() -> None:
    finding = Finding(
        rule="startup-hook",
        severity=Severity.MEDIUM,
        file="x.pth",
        line=1,
        snippet="import x",
        reason="executable .pth line",
        context=Context.STARTUP,
    )
    package_level = Finding(
        rule="typosquat", severity=Severity.MEDIUM, file="", line=None, snippet="reqeusts", reason="r"
    )
    result = ScanResult(
        target="x-1.0-py3-none-any.whl",
        name="x",
        version="1.0",
        verdict=Verdict.CLEAN,
        score=1.5,
        findings=(finding, package_level),
        error=None,
        seconds=0.01,
        kind="wheel",
        summary="no malicious behaviour found",
    )
    document = json.loads(results_to_json([result]))
    check_document(document)
    target = document["targets"][0]
    assert target == result_to_dict(result)
    assert target["findings"][0] == {
        "rule": "startup-hook",
        "severity": "medium",
        "file": "x.pth",
        "line": 1,
        "snippet": "import x",
        "reason": "executable .pth line",
        "context": "startup",
        "limit": None,
        "suppression": None,
    }
    assert target["findings"][1]["line"] is None and target["findings"][1]["context"] is None


def test_keys_of_an_error_result() -> None:
    document = json.loads(results_to_json([error_result("missing.whl", "missing.whl: no such file")]))
    check_document(document)
    target = document["targets"][0]
    assert target["verdict"] == "error"
    assert target["error"] == "missing.whl: no such file"
    assert (target["name"], target["version"], target["kind"], target["findings"]) == (None, None, None, [])


def test_empty_report() -> None:
    document = json.loads(results_to_json([]))
    check_document(document)
    assert document["targets"] == []


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> list[ScanResult]:
    """Real results of every shape: malicious, clean, error, installed dist and unowned files."""
    root = tmp_path_factory.mktemp("schema")
    home = str(root / "home")
    tasks = [
        ScanTask(str(write_litellm_wheel(root, home=home))),
        ScanTask(str(write_wheel(root))),
    ]
    corrupt = root / "broken-1.0.0.tar.gz"
    corrupt.write_bytes(b"\x1f\x8b" + bytes(40))
    tasks.append(ScanTask(str(corrupt)))
    site = write_site_packages(
        root / "venv",
        {"fixturepkg": {"fixturepkg/__init__.py": "VALUE = 1\n"}},
        {"zz.pth": litellm_pth(home)},
    )
    results = list(scan_tasks(tasks, jobs=1))
    results.extend(Scanner().scan_site_dir(str(site)))
    return results


def test_keys_of_real_scan_results(scanned: list[ScanResult]) -> None:
    document = json.loads(results_to_json(scanned))
    check_document(document)
    verdicts = [t["verdict"] for t in document["targets"]]
    assert verdicts == ["malicious", "clean", "error", "clean", "malicious"]
    assert all(t["findings"] for t in document["targets"] if t["verdict"] == "malicious")


def test_json_is_plain_utf8_and_round_trips(scanned: list[ScanResult]) -> None:
    text = results_to_json(scanned)
    assert json.loads(text) == json.loads(json.dumps(json.loads(text)))
    assert text.lstrip().startswith("{")
