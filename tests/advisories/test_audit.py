"""The audit as a whole, on a synthetic environment (files written, nothing executed)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from custody.advisories import open_for_update, update_store
from custody.audit import MALWARE_REMEDIATION, AuditRequest, Finding, FindingKind, audit
from tests.inventory.builders import ORPHAN_PTH, make_site, write_dist

MAL_RECORD = Path(__file__).resolve().parents[3] / "shared" / "advisories" / "mal-osv" / "MAL-2026-2144.json"


@pytest.fixture
def store(tmp_path: Path) -> str:
    if not MAL_RECORD.is_file():
        pytest.skip("../shared/advisories/mal-osv not present")
    records = tmp_path / "records"
    records.mkdir()
    (records / "MAL-2026-2144.json").write_bytes(MAL_RECORD.read_bytes())
    (records / "PYSEC-2019-217.json").write_text(
        json.dumps(
            {
                "id": "PYSEC-2019-217",
                "aliases": ["CVE-2019-10906", "GHSA-462w-v97r-4m45"],
                "summary": "Jinja2 sandbox escape via str.format_map",
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:N"}],
                "affected": [
                    {
                        "package": {"ecosystem": "PyPI", "name": "jinja2"},
                        "ranges": [
                            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.10.1"}]}
                        ],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    path = tmp_path / "store.sqlite"
    update_store(path=str(path), sources=[str(records)])
    return str(path)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = make_site(tmp_path)
    write_dist(site, "goodpkg", "1.0", {"goodpkg/__init__.py": b"VALUE = 1\n"})
    write_dist(site, "litellm", "1.82.8", {"litellm/__init__.py": b"# inert stand-in\n"})
    write_dist(site, "Jinja2", "2.10", {"jinja2/__init__.py": b""})
    (site / "goodpkg" / "__init__.py").write_bytes(b"VALUE = 666\n")  # tampered after install
    (site / "zz_orphan.pth").write_text(ORPHAN_PTH, encoding="utf-8")  # no RECORD owns it
    return site


def test_tampered_file_orphan_hook_and_malware_pin_are_all_reported(
    tmp_path: Path, site: Path, store: str
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("litellm==1.82.8\njinja2==2.10\n", encoding="utf-8")
    report = audit(AuditRequest(site_dirs=[str(site)], lockfiles=[str(requirements)], store_path=store))
    assert report.errors == []
    by_kind: dict[FindingKind, list[Finding]] = {}
    for finding in report.findings:
        by_kind.setdefault(finding.kind, []).append(finding)

    (tampered,) = by_kind[FindingKind.INTEGRITY]
    assert tampered.package == "goodpkg" and tampered.severity == "high" and tampered.id == "record-modified"
    assert tampered.path and tampered.path.endswith("goodpkg/__init__.py")

    (hook,) = by_kind[FindingKind.STARTUP_HOOK]
    assert (
        hook.severity == "high" and hook.package is None and hook.path and hook.path.endswith("zz_orphan.pth")
    )
    assert "subprocess.Popen" in hook.detail

    # installed and pinned: one finding, the pin named as a second place
    (malware,) = by_kind[FindingKind.MALWARE]
    assert (malware.id, malware.aliases, malware.package, malware.version) == (
        "MAL-2026-2144",
        ("PYSEC-2026-2",),
        "litellm",
        "1.82.8",
    )
    assert malware.severity == "critical" and malware.fix == MALWARE_REMEDIATION
    assert "requirements.txt:1" in malware.detail

    (vuln,) = by_kind[FindingKind.VULNERABILITY]
    assert vuln.id == "PYSEC-2019-217"  # the record held; its aliases alongside
    assert vuln.aliases == ("GHSA-462w-v97r-4m45", "CVE-2019-10906")
    assert (vuln.fix, vuln.severity) == ("2.10.1", "high")
    assert report.packages == 3


def test_clean_litellm_is_not_malware(tmp_path: Path, store: str) -> None:
    site = make_site(tmp_path)
    write_dist(site, "litellm", "1.82.6", {"litellm/__init__.py": b""})
    report = audit(AuditRequest(site_dirs=[str(site)], store_path=store))
    assert report.findings == [] and report.errors == []


def test_a_bad_include_is_an_error_and_the_pins_beside_it_are_still_audited(
    tmp_path: Path, store: str
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("-r missing.txt\njinja2==2.10\n", encoding="utf-8")
    report = audit(AuditRequest(lockfiles=[str(requirements)], store_path=store))
    assert [f.id for f in report.findings] == ["PYSEC-2019-217"]
    [error] = report.errors
    assert error.startswith(f"{requirements}:1: include not read: ") and "missing.txt" in error


def test_a_tampered_file_with_its_record_deleted_is_high(tmp_path: Path, store: str) -> None:
    site = make_site(tmp_path)
    dist_info = write_dist(site, "goodpkg", "1.0", {"goodpkg/__init__.py": b"VALUE = 1\n"})
    (site / "goodpkg" / "__init__.py").write_bytes(b"VALUE = 666\n")
    (dist_info / "RECORD").unlink()  # what a tamperer does next, so the change cannot be seen
    (site / "old-1.0-py3.11.egg-info").write_text("Name: old\nVersion: 1.0\n", encoding="utf-8")
    report = audit(AuditRequest(site_dirs=[str(site)], store_path=store))
    assert sorted((f.id, f.package, f.severity) for f in report.findings) == [
        ("record-legacy", "old", "low"),  # an old layout never had a RECORD: a note, not an alarm
        ("record-no-record", "goodpkg", "high"),
    ]


def test_empty_store_offline_is_a_clear_error_not_a_crash(tmp_path: Path, site: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    open_for_update(str(empty))[0].close()
    report = audit(AuditRequest(site_dirs=[str(site)], store_path=str(empty)))
    assert len(report.errors) == 1 and "empty" in report.errors[0] and "custody db update" in report.errors[0]
    # the environment checks still ran
    assert {f.kind for f in report.findings} == {FindingKind.INTEGRITY, FindingKind.STARTUP_HOOK}
    missing = audit(AuditRequest(site_dirs=[str(site)], store_path=str(tmp_path / "absent.sqlite")))
    assert "no advisory store" in missing.errors[0]


def _pypi(projects: dict[str, dict[str, Any]]) -> Starlette:
    """PyPI's JSON API for `projects` (404 for anything else), to serve on 127.0.0.1."""

    async def project(request: Request) -> Response:
        doc = projects.get(request.path_params["name"])
        return Response(status_code=404) if doc is None else JSONResponse(doc)

    return Starlette(
        routes=[Route("/pypi/{name}/json", project), Route("/pypi/{name}/{version}/json", project)]
    )


def test_live_source_merges_with_the_store_by_alias(
    tmp_path: Path, site: Path, store: str, asgi_server, monkeypatch
) -> None:
    jinja2 = {
        "info": {"version": "2.10"},
        "releases": {"2.10": [{"yanked": True, "yanked_reason": "broken"}]},
        "vulnerabilities": [
            {
                "id": "GHSA-462w-v97r-4m45",
                "aliases": ["CVE-2019-10906"],
                "fixed_in": ["2.10.1"],
                "summary": "sandbox escape",
            }
        ],
    }
    base_url = asgi_server(_pypi({"jinja2": jinja2}))
    monkeypatch.setenv("CUSTODY_PYPI_URL", base_url)
    monkeypatch.setenv("CUSTODY_INDEX_URL", f"{base_url}/simple/")  # no simple API there: 404, no status
    report = audit(AuditRequest(site_dirs=[str(site)], store_path=store, live=True))
    vulns = [f for f in report.findings if f.kind is FindingKind.VULNERABILITY]
    assert len(vulns) == 1  # PYSEC from the store and GHSA from PyPI are one problem
    assert vulns[0].id == "GHSA-462w-v97r-4m45" and "PYSEC-2019-217" in vulns[0].aliases
    (yanked,) = [f for f in report.findings if f.kind is FindingKind.YANKED]
    assert yanked.package == "Jinja2" and "broken" in yanked.detail


def test_live_without_a_store_is_a_note_and_no_integrity_skips_record_checks(
    tmp_path: Path, site: Path, asgi_server, monkeypatch
) -> None:
    base_url = asgi_server(_pypi({}))  # knows no project: 404 for all
    monkeypatch.setenv("CUSTODY_PYPI_URL", base_url)
    monkeypatch.setenv("CUSTODY_INDEX_URL", f"{base_url}/simple/")
    absent = str(tmp_path / "absent.sqlite")
    with httpx.Client(timeout=10.0) as client:  # the caller's own client
        report = audit(
            AuditRequest(site_dirs=[str(site)], store_path=absent, live=True, http=client, integrity=False)
        )
    assert report.errors == [] and "no advisory store" in report.notes[0]
    assert {f.kind for f in report.findings} == {FindingKind.STARTUP_HOOK}


def test_live_says_which_releases_it_could_not_check(
    tmp_path: Path, site: Path, store: str, asgi_server, monkeypatch
) -> None:
    # A server without /pypi/NAME/VERSION/json: an older jinja2 release gets no live answer.
    jinja2 = {"info": {"version": "3.1.4"}, "releases": {"2.10": [{}], "3.1.4": [{}]}, "vulnerabilities": []}

    async def project(request: Request) -> Response:
        return JSONResponse(jinja2) if request.path_params["name"] == "jinja2" else Response(status_code=404)

    base_url = asgi_server(Starlette(routes=[Route("/pypi/{name}/json", project)]))
    monkeypatch.setenv("CUSTODY_PYPI_URL", base_url)
    monkeypatch.setenv("CUSTODY_INDEX_URL", f"{base_url}/simple/")
    report = audit(AuditRequest(site_dirs=[str(site)], store_path=store, live=True))
    assert report.errors == []
    (note,) = [n for n in report.notes if "not known live" in n]
    assert "jinja2==2.10" in note and "store still covers them" in note
    assert any(f.kind is FindingKind.VULNERABILITY and f.package == "Jinja2" for f in report.findings)


def test_min_release_age_reports_releases_inside_the_cooldown(
    tmp_path: Path, site: Path, store: str, asgi_server, monkeypatch
) -> None:
    from datetime import datetime, timedelta, timezone

    now = datetime(2026, 3, 24, 12, 0, tzinfo=timezone.utc)
    fresh = (now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # live about three hours
    old = (now - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%S")  # `upload_time`: UTC, no zone
    projects = {
        "goodpkg": {
            "info": {"version": "1.0"},
            "releases": {"1.0": [{"upload_time_iso_8601": fresh}, {"upload_time_iso_8601": old}]},
        },
        "litellm": {
            "info": {"version": "1.82.8"},
            "releases": {"1.82.8": [{"upload_time": old}]},
        },
    }
    base_url = asgi_server(_pypi(projects))
    monkeypatch.setenv("CUSTODY_PYPI_URL", base_url)
    monkeypatch.setenv("CUSTODY_INDEX_URL", f"{base_url}/simple/")
    request = AuditRequest(site_dirs=[str(site)], store_path=store, live=True, now=now, integrity=False)
    assert not [f for f in audit(request).findings if f.kind is FindingKind.RELEASE_AGE]  # off by default

    week = AuditRequest(
        site_dirs=[str(site)],
        store_path=store,
        live=True,
        now=now,
        integrity=False,
        min_release_age=timedelta(days=7),
    )
    young = [f for f in audit(week).findings if f.kind is FindingKind.RELEASE_AGE]
    # goodpkg's first file went up 40 days ago: the release is as old as its first upload
    assert young == []

    projects["goodpkg"]["releases"]["1.0"] = [{"upload_time_iso_8601": fresh}]
    (finding,) = [f for f in audit(week).findings if f.kind is FindingKind.RELEASE_AGE]
    assert finding.package == "goodpkg" and finding.severity == "medium"
    assert "3.0 hours" in finding.detail and "7-day cooldown" in finding.detail


def test_a_zipped_egg_on_sys_path_is_audited(tmp_path: Path, store: str) -> None:
    # easy_install's zipped egg, put on sys.path by easy-install.pth: importlib.metadata (hence pip
    # list and pip-audit) lists it, so its known vulnerability must be reported too
    site = make_site(tmp_path)
    with zipfile.ZipFile(site / "Jinja2-2.10-py3.11.egg", "w") as egg:
        egg.writestr("EGG-INFO/PKG-INFO", "Metadata-Version: 1.1\nName: Jinja2\nVersion: 2.10\n")
        egg.writestr("jinja2/__init__.py", "")
    (site / "easy-install.pth").write_text("./Jinja2-2.10-py3.11.egg\n", encoding="utf-8")
    report = audit(AuditRequest(site_dirs=[str(site)], store_path=store))
    assert sorted((f.id, f.package, f.severity) for f in report.findings) == [
        ("PYSEC-2019-217", "Jinja2", "high"),
        ("record-legacy", "Jinja2", "low"),  # an old layout never had a RECORD: a note
    ]
    assert report.errors == []
