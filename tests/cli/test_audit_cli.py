"""End to end through `custody audit` and `custody db` (in process, via click's CliRunner).

Environments are synthetic site-packages written by the tests; nothing in them is executed. The
litellm replica's start-up hook is inert (temporary HOME, posts to the discard port) and is only read.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from custody.cli.main import cli
from tests.inventory.builders import ORPHAN_PTH, make_site, write_dist
from tests.report.schema_check import assert_valid
from tests.scan.builders import LITELLM_INIT, LITELLM_PTH, litellm_pth, write_site_packages

SHARED = Path(__file__).resolve().parents[3] / "shared" / "advisories"
FINDING_KEYS = {
    "kind",
    "id",
    "aliases",
    "package",
    "version",
    "severity",
    "path",
    "fix",
    "detail",
    "ecosystem",
    "suppression",
}
KINDS = {
    "malware",
    "vulnerability",
    "integrity",
    "startup-hook",
    "yanked",
    "project-status",
    "unpinned",
    "scan",
    "release-age",
}
SEVERITIES = {"critical", "high", "medium", "low", "info"}


def run(args: list[str], env: dict[str, str]) -> Result:
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "CUSTODY_ADVISORY_DB": str(tmp_path / "cache" / "advisories.sqlite"),
        "CUSTODY_OSV_EXPORT_URL": "http://127.0.0.1:9/{ecosystem}/all.zip",  # discard port: refused
        "CUSTODY_RULES": "",
    }


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared PyPA database plus MAL-2026-2144, loaded once through `custody db update --from`."""
    if not (SHARED / "pypa-osv").is_dir():
        pytest.skip("../shared/advisories not present")
    path = tmp_path_factory.mktemp("store") / "advisories.sqlite"
    args = [
        "db",
        "update",
        "--db",
        str(path),
        "--from",
        str(SHARED / "pypa-osv"),
        "--from",
        str(SHARED / "mal-osv"),
    ]
    result = run(args, {"CUSTODY_ADVISORY_DB": "/nonexistent/never-used.sqlite"})
    assert result.exit_code == 0, result.output
    assert "2661 record(s) loaded" in result.output and "2662 advisories" in result.output
    return path


@pytest.fixture
def loaded(env: dict[str, str], shared_store: Path) -> dict[str, str]:
    target = Path(env["CUSTODY_ADVISORY_DB"])
    target.parent.mkdir(parents=True)
    shutil.copyfile(shared_store, target)  # a private copy per test (the store is closed, WAL checkpointed)
    return env


def check_schema(doc: dict[str, Any]) -> list[dict[str, Any]]:
    assert_valid("audit", doc)  # the schema shipped in the package, then the details below
    assert doc["schema_version"] == 1
    for finding in doc["findings"]:
        assert set(finding) == FINDING_KEYS
        assert finding["kind"] in KINDS and finding["severity"] in SEVERITIES
        assert isinstance(finding["aliases"], list) and isinstance(finding["detail"], str)
        assert finding["ecosystem"] in (None, "PyPI", "npm")
    findings: list[dict[str, Any]] = doc["findings"]
    return findings


def test_synthetic_env_and_lockfile(tmp_path: Path, loaded: dict[str, str]) -> None:
    site = make_site(tmp_path)
    write_dist(site, "goodpkg", "1.0", {"goodpkg/__init__.py": b"VALUE = 1\n"})
    write_dist(site, "jinja2", "2.10", {"jinja2/__init__.py": b""})
    (site / "goodpkg" / "__init__.py").write_bytes(b"VALUE = 9\n")
    (site / "zz_orphan.pth").write_text(ORPHAN_PTH, encoding="utf-8")
    lock = tmp_path / "requirements.txt"
    lock.write_text("litellm==1.82.7\nnumpy>=1\n", encoding="utf-8")
    result = run(["audit", str(tmp_path / "venv"), str(lock), "--format", "json"], loaded)
    assert result.exit_code == 1, result.output
    findings = check_schema(json.loads(result.stdout))
    kinds = {(f["kind"], f["package"]) for f in findings}
    assert ("malware", "litellm") in kinds
    assert ("integrity", "goodpkg") in kinds
    assert ("startup-hook", None) in kinds
    assert ("unpinned", "numpy") in kinds
    jinja = [f for f in findings if f["package"] == "jinja2"]
    assert {f["id"] for f in jinja} == {"PYSEC-2019-217", "PYSEC-2021-66"}
    assert {f["fix"] for f in jinja} == {"2.10.1", "2.11.3"}

    text = run(["audit", str(tmp_path / "venv"), str(lock)], loaded)
    assert text.exit_code == 1 and "MAL-2026-2144" in text.output and "rotate every credential" in text.output
    sarif = json.loads(run(["audit", str(lock), "--format", "sarif"], loaded).stdout)
    assert sarif["version"] == "2.1.0"
    first = sarif["runs"][0]["results"][0]
    assert first["ruleId"] == "MAL-2026-2144" and first["level"] == "error"
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": str(lock)},
        "region": {"startLine": 1},
    }


def test_fail_on_thresholds(tmp_path: Path, loaded: dict[str, str]) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("jinja2==2.10\nflask\n", encoding="utf-8")  # unrated vulns (medium) + unpinned (low)
    assert run(["audit", str(lock)], loaded).exit_code == 1
    assert run(["audit", str(lock), "--fail-on", "high"], loaded).exit_code == 0
    lock.write_text("jinja2==3.1.4\n", encoding="utf-8")
    assert run(["audit", str(lock), "--fail-on", "low"], loaded).exit_code == 0


def test_owned_hook_is_scanned_and_scan_flag(tmp_path: Path, loaded: dict[str, str]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    site = write_site_packages(
        tmp_path / "env",
        {
            "litellm": {
                "litellm/__init__.py": LITELLM_INIT.format(version="1.82.6"),
                LITELLM_PTH: litellm_pth(str(home)),
            }
        },
        version="1.82.6",
    )
    result = run(["audit", str(site), "--format", "json"], loaded)
    findings = check_schema(json.loads(result.stdout))
    (hook,) = [f for f in findings if f["kind"] == "startup-hook"]
    assert hook["package"] == "litellm" and "owned by litellm-1.82.6.dist-info" in hook["detail"]
    assert hook["severity"] == "critical" and "malicious" in hook["detail"]
    assert result.exit_code == 1
    scanned = check_schema(
        json.loads(run(["audit", str(site), "--scan", "-j", "1", "--format", "json"], loaded).stdout)
    )
    assert any(
        f["kind"] == "scan" and f["package"] == "litellm" and f["severity"] == "critical" for f in scanned
    )


def test_clean_env_exits_zero(tmp_path: Path, loaded: dict[str, str]) -> None:
    site = make_site(tmp_path)
    write_dist(site, "goodpkg", "1.0", {"goodpkg/__init__.py": b"VALUE = 1\n"})
    result = run(["audit", str(tmp_path / "venv")], loaded)
    assert result.exit_code == 0, result.output
    assert "audited 1 package(s) in 1 target(s)" in result.output
    # a project directory: its venv and its lock files
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n", encoding="utf-8")
    project = run(["audit", str(tmp_path)], loaded)
    assert project.exit_code == 0 and "audited 2 package(s) in 2 target(s)" in project.output


def test_empty_store_offline(tmp_path: Path, env: dict[str, str]) -> None:
    update = run(["db", "update"], env)
    assert update.exit_code == 3
    assert (
        "cannot download http://127.0.0.1:9/PyPI/all.zip" in update.output and "--from PATH" in update.output
    )
    lock = tmp_path / "requirements.txt"
    lock.write_text("jinja2==2.10\n", encoding="utf-8")
    result = run(["audit", str(lock)], env)
    assert result.exit_code == 3
    assert "is empty: run `custody db update`" in result.output
    status = run(["db", "status"], env)
    assert status.exit_code == 0 and ": 0 advisories" in status.output


def test_corrupt_store_is_rebuilt_by_db_update(tmp_path: Path, env: dict[str, str]) -> None:
    store = Path(env["CUSTODY_ADVISORY_DB"])
    store.parent.mkdir(parents=True)
    store.write_bytes(b"SQLite format 3\x00" + b"\xff" * 3000)
    lock = tmp_path / "requirements.txt"
    lock.write_text("litellm==1.82.8\n", encoding="utf-8")
    broken = run(["audit", str(lock)], env)
    assert broken.exit_code == 3 and "custody db update" in broken.output
    if not (SHARED / "mal-osv").is_dir():
        pytest.skip("../shared/advisories not present")
    rebuilt = run(["db", "update", "--from", str(SHARED / "mal-osv")], env)
    assert rebuilt.exit_code == 0 and "rebuilt the advisory store" in rebuilt.output
    assert run(["audit", str(lock)], env).exit_code == 1


def test_usage_and_unreadable_targets(tmp_path: Path, loaded: dict[str, str]) -> None:
    assert run(["audit", str(tmp_path / "nope")], loaded).exit_code == 2
    assert run(["audit", "--fail-on", "bogus"], loaded).exit_code == 2
    (tmp_path / "notes.md").write_text("hello", encoding="utf-8")
    assert run(["audit", str(tmp_path / "notes.md")], loaded).exit_code == 2
    bad = tmp_path / "uv.lock"
    bad.write_text("version = [", encoding="utf-8")
    result = run(["audit", str(bad)], loaded)
    assert result.exit_code == 3 and "not valid TOML" in result.output


@pytest.mark.parametrize("kind", ["fifo", "device", "dangling"])
def test_a_target_that_is_neither_file_nor_directory_says_what_it_is(
    tmp_path: Path, loaded: dict[str, str], kind: str
) -> None:
    target = tmp_path / "requirements.txt"
    if kind == "fifo":
        os.mkfifo(target)  # nobody writes to it: reading it would wait forever
    elif kind == "device":
        target = Path("/dev/null")
    else:
        target.symlink_to(tmp_path / "gone.txt")
    result = run(["audit", str(target)], loaded)
    assert result.exit_code == 2
    expected = {"fifo": "a FIFO, not a regular file", "device": "a device, not a regular file"}
    assert expected.get(kind, "broken symbolic link") in result.output
    assert "no such file" not in result.output


def test_malformed_lock_entries_are_errors_and_an_empty_lock_a_note(
    tmp_path: Path, loaded: dict[str, str]
) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(
        'version = 1\n[[package]]\nname = "jinja2"\nversion = "2.10"\n[[package]]\nversion = "1.23"\n',
        encoding="utf-8",
    )
    result = run(["audit", "--format", "json", str(lock)], loaded)
    doc = json.loads(result.output)
    assert {f["package"] for f in doc["findings"]} == {"jinja2"}  # the good entry is still audited
    assert doc["errors"] == [f"{lock}: package entry 2 has no string `name`: not audited"]
    assert result.exit_code == 1
    lock.write_text("version = 1\n", encoding="utf-8")
    empty = run(["audit", "--format", "json", str(lock)], loaded)
    assert json.loads(empty.output)["notes"] == [
        f"{lock}: lists no third-party package, so nothing in it was audited"
    ]


def test_python_option_reads_a_venv_without_running_it(tmp_path: Path, loaded: dict[str, str]) -> None:
    site = make_site(tmp_path)
    write_dist(site, "jinja2", "2.10", {"jinja2/__init__.py": b""})
    (tmp_path / "venv" / "bin").mkdir()
    (tmp_path / "venv" / "bin" / "python").write_text("never executed\n", encoding="utf-8")
    result = run(["audit", "--python", str(tmp_path / "venv" / "bin" / "python"), "--format", "json"], loaded)
    findings = check_schema(json.loads(result.stdout))
    assert {f["id"] for f in findings} == {"PYSEC-2019-217", "PYSEC-2021-66"}


def test_cyclonedx_output(tmp_path: Path, loaded: dict[str, str]) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text(
        f"litellm==1.82.8\njinja2==2.10 --hash=sha256:{'ab' * 32}\nsix==1.16.0\n", encoding="utf-8"
    )
    npm = tmp_path / "package-lock.json"
    npm.write_text(
        json.dumps(
            {
                "lockfileVersion": 3,
                "packages": {
                    "": {"name": "app"},
                    "node_modules/@babel/core": {
                        "version": "7.26.0",
                        "resolved": "https://registry.npmjs.org/@babel/core/-/core-7.26.0.tgz",
                        "integrity": "sha512-" + "A" * 86 + "==",
                    },
                },
            }
        ),
        encoding="utf-8",
    )
    result = run(["audit", str(lock), str(npm), "--format", "cyclonedx"], loaded)
    assert result.exit_code == 1
    bom = json.loads(result.stdout)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    refs = {c["bom-ref"]: c for c in bom["components"]}
    assert set(refs) == {
        "pkg:pypi/litellm@1.82.8",
        "pkg:pypi/jinja2@2.10",
        "pkg:pypi/six@1.16.0",
        "pkg:npm/%40babel/core@7.26.0",
    }
    assert refs["pkg:pypi/jinja2@2.10"]["hashes"] == [{"alg": "SHA-256", "content": "ab" * 32}]
    assert refs["pkg:npm/%40babel/core@7.26.0"]["hashes"][0]["alg"] == "SHA-512"
    vulns = {v["id"]: v for v in bom["vulnerabilities"]}
    assert set(vulns) == {"MAL-2026-2144", "PYSEC-2019-217", "PYSEC-2021-66"}
    mal = vulns["MAL-2026-2144"]
    assert mal["affects"] == [{"ref": "pkg:pypi/litellm@1.82.8"}]
    assert {"name": "custody:kind", "value": "malware"} in mal["properties"]
    assert mal["ratings"][0]["severity"] == "critical"
    assert vulns["PYSEC-2019-217"]["recommendation"] == "upgrade to 2.10.1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min-release-age", "7d"], "needs --live"),
        (["--live", "--min-release-age", "a week"], "give a number of days"),
    ],
)
def test_min_release_age_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("requests==2.32.3\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["audit", str(requirements), *args], catch_exceptions=False)
    assert result.exit_code == 2 and message in result.output
