"""`--live` checks against a PEP 691 JSON simple API served over real HTTP on 127.0.0.1: PEP 792
project status markers as `project-status` findings, declared sha256 digests against the published
ones as `integrity` findings."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from custody.artifacts.index import SIMPLE_JSON, project_status, release_files
from custody.audit import MALWARE_REMEDIATION, AuditRequest, FindingKind, audit
from custody.cli.main import cli
from tests.inventory.builders import make_site, write_dist


def sha(filename: str) -> str:
    """The digest the test index publishes for `filename`."""
    return hashlib.sha256(filename.encode()).hexdigest()


def _page(name: str, status: dict[str, str] | None, versions: tuple[str, ...]) -> dict[str, Any]:
    """A PEP 691 project page as PyPI serves it (api-version 1.4 when it carries a status)."""
    files = [
        {
            "filename": f"{name}-{v}-py3-none-any.whl",
            "url": f"../../files/{name}-{v}-py3-none-any.whl",
            "hashes": {"sha256": sha(f"{name}-{v}-py3-none-any.whl")},
            "requires-python": ">=3.9",
            "yanked": False,
        }
        for v in versions
    ]
    page: dict[str, Any] = {
        "meta": {"api-version": "1.4" if status else "1.1", "_last-serial": "1"},
        "name": name,
        "files": [] if status and status.get("status") == "quarantined" else files,
        "versions": list(versions),
    }
    if status is not None:
        page["project-status"] = status
    return page


PAGES: dict[str, dict[str, Any]] = {
    "litellm": _page(
        "litellm",
        {"status": "quarantined", "reason": "malware in 1.82.7 and 1.82.8 (BerriAI/litellm#24518)"},
        ("1.82.6", "1.82.7", "1.82.8"),
    ),
    "nose": _page("nose", {"status": "archived"}, ("1.3.7",)),
    "pycrypto": _page("pycrypto", {"status": "deprecated", "reason": "use pycryptodome"}, ("2.6.1",)),
    "requests": _page("requests", {"status": "active"}, ("2.32.3",)),
    "six": _page("six", None, ("1.16.0",)),  # no marker at all: active
    "oldstyle": _page("oldstyle", None, ("1.0",)) | {"project-status": {"state": "archived"}},
}


class Index:
    """A PEP 691 index over PAGES that records which projects were asked (and with which Accept)."""

    def __init__(self, *, status: int | None = None) -> None:
        self.asked: list[str] = []
        self.accept: set[str] = set()
        self.status = status

    def app(self) -> Starlette:
        async def project(request: Request) -> Response:
            name = request.path_params["name"]
            self.asked.append(name)
            self.accept.add(request.headers.get("accept", ""))
            if self.status is not None:
                return Response(status_code=self.status)
            page = PAGES.get(name)
            if page is None:
                return Response(status_code=404)
            return JSONResponse(page, media_type=SIMPLE_JSON)

        async def pypi_json(request: Request) -> Response:
            return Response(status_code=404)  # the live PyPI JSON API knows nothing here

        return Starlette(routes=[Route("/simple/{name}/", project), Route("/pypi/{name}/json", pypi_json)])


@pytest.fixture
def index(asgi_server, monkeypatch) -> tuple[Index, str]:
    served = Index()
    base_url = asgi_server(served.app())
    monkeypatch.setenv("CUSTODY_PYPI_URL", base_url)
    monkeypatch.delenv("CUSTODY_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    return served, base_url


def test_each_status_from_the_json_simple_api(index: tuple[Index, str]) -> None:
    served, base_url = index
    simple = f"{base_url}/simple"  # without the trailing slash, as users write it
    with httpx.Client(timeout=10.0) as client:
        got = {name: project_status(name, simple, client) for name in [*PAGES, "Not_There"]}
    assert got["Not_There"] is None  # 404: the index does not know it
    litellm = got["litellm"]
    assert litellm is not None and litellm.status == "quarantined" and "24518" in (litellm.reason or "")
    assert {n: s.status for n, s in got.items() if s is not None} == {
        "litellm": "quarantined",
        "nose": "archived",
        "pycrypto": "deprecated",
        "requests": "active",
        "six": "active",
        "oldstyle": "archived",  # the `state` spelling of PEP 792's prose
    }
    assert served.accept == {SIMPLE_JSON} and "not-there" in served.asked  # PEP 503 name in the URL
    # the download path reads the same page
    (wheel,) = release_files("nose", "1.3.7", simple)
    assert wheel.sha256 == sha(wheel.filename)
    assert wheel.url == f"{base_url}/files/nose-1.3.7-py3-none-any.whl"


def test_audit_reports_quarantined_archived_and_deprecated_projects(
    tmp_path: Path, index: tuple[Index, str], monkeypatch
) -> None:
    served, base_url = index
    monkeypatch.setenv("PIP_INDEX_URL", f"{base_url}/simple/")  # the configured index, as pip uses it
    site = make_site(tmp_path)
    write_dist(site, "LiteLLM", "1.82.6", {"litellm/__init__.py": b"# inert stand-in\n"})
    write_dist(site, "six", "1.16.0", {"six.py": b""})
    lock = tmp_path / "requirements.txt"
    lock.write_text(
        "litellm==1.82.8\nnose>=1.3\npycrypto==2.6.1\nrequests==2.32.3\n"
        "oldstyle @ https://example.invalid/oldstyle-1.0.tar.gz\n",
        encoding="utf-8",
    )
    report = audit(
        AuditRequest(
            site_dirs=[str(site)],
            lockfiles=[str(lock)],
            store_path=str(tmp_path / "absent.sqlite"),
            live=True,
            integrity=False,
        )
    )
    assert report.errors == []
    found = {f.package: f for f in report.findings if f.kind is FindingKind.PROJECT_STATUS}
    assert set(found) == {"LiteLLM", "nose", "pycrypto"}
    litellm = found["LiteLLM"]
    assert litellm.id == "project-quarantined" and litellm.severity == "critical"
    assert litellm.fix == MALWARE_REMEDIATION and litellm.version is None  # 1.82.6 installed, 1.82.8 pinned
    assert "malware in 1.82.7" in litellm.detail and f"{base_url}/simple/" in litellm.detail
    assert "also declared in" in litellm.detail and str(lock) in litellm.detail
    assert litellm.ecosystem == "PyPI"
    nose = found["nose"]  # a range: not auditable for advisories, but the project status is known
    assert (nose.id, nose.severity, nose.path, nose.version) == ("project-archived", "low", f"{lock}:2", None)
    pycrypto = found["pycrypto"]
    assert (pycrypto.id, pycrypto.severity, pycrypto.version) == ("project-deprecated", "low", "2.6.1")
    assert "use pycryptodome" in pycrypto.detail
    assert "oldstyle" not in served.asked  # a URL requirement names no index project
    assert sorted(set(served.asked)) == ["litellm", "nose", "pycrypto", "requests", "six"]
    assert len(served.asked) == 5  # once per project, however often it is declared


def test_live_off_asks_nothing_and_index_errors_are_reported(
    tmp_path: Path, asgi_server, monkeypatch
) -> None:
    broken = Index(status=503)
    base_url = asgi_server(broken.app())
    monkeypatch.setenv("CUSTODY_PYPI_URL", base_url)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/never-asked/")
    monkeypatch.setenv("CUSTODY_INDEX_URL", f"{base_url}/simple/")  # wins over PIP_INDEX_URL
    lock = tmp_path / "requirements.txt"
    lock.write_text("litellm==1.82.8\n", encoding="utf-8")
    absent = str(tmp_path / "absent.sqlite")
    audit(AuditRequest(lockfiles=[str(lock)], store_path=absent))
    assert broken.asked == []
    report = audit(AuditRequest(lockfiles=[str(lock)], store_path=absent, live=True))
    assert not [f for f in report.findings if f.kind is FindingKind.PROJECT_STATUS]
    (error,) = [e for e in report.errors if "package index" in e]
    assert "503" in error and f"{base_url}/simple/" in error and broken.asked == ["litellm"]


def test_cli_live_with_index_url(tmp_path: Path, index: tuple[Index, str]) -> None:
    _served, base_url = index
    lock = tmp_path / "requirements.txt"
    lock.write_text("litellm==1.82.6\nsix==1.16.0\n", encoding="utf-8")
    env = {"CUSTODY_ADVISORY_DB": str(tmp_path / "absent.sqlite"), "CUSTODY_RULES": ""}
    args = ["audit", str(lock), "--live", "--index-url", f"{base_url}/simple/", "--format", "json"]
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)["findings"]
    (finding,) = [f for f in findings if f["kind"] == "project-status"]
    assert finding["id"] == "project-quarantined" and finding["package"] == "litellm"
    assert finding["version"] == "1.82.6" and finding["path"] == f"{lock}:1"
    text = CliRunner().invoke(cli, args[:-2], env=env, catch_exceptions=False)
    assert "[CRITICAL] project-status litellm==1.82.6 project-quarantined" in text.output


def test_declared_hashes_against_the_published_ones(tmp_path: Path, index: tuple[Index, str]) -> None:
    _served, base_url = index
    good, bad = sha("six-1.16.0-py3-none-any.whl"), "0" * 64
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        f"six==1.16.0 --hash=sha256:{good}\n"  # what the index serves
        f"requests==2.32.3 \\\n    --hash=sha256:{bad}\n"  # not a file the index ever served
        f"pycrypto==2.6.1 --hash=sha256:{sha('pycrypto-2.6.1-py3-none-any.whl')} --hash=sha256:{bad}\n"
        f"litellm==1.82.8 --hash=sha256:{bad}\n"  # quarantined: no files listed, nothing to compare
        f"nose==1.3.7+local --hash=sha256:{bad}\n",  # a local build: another index's file
        encoding="utf-8",
    )
    pylock = tmp_path / "pylock.toml"
    pylock.write_text(
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "six"\nversion = "1.16"\n'
        f'wheels = [{{ name = "six-1.16.0-py3-none-any.whl", hashes = {{ sha256 = "{bad}" }} }}]\n',
        encoding="utf-8",
    )
    absent = str(tmp_path / "absent.sqlite")
    locks = [str(requirements), str(pylock)]
    request = AuditRequest(lockfiles=locks, store_path=absent, index_url=f"{base_url}/simple")
    offline = audit(dataclasses.replace(request, live=False))
    assert not [f for f in offline.findings if f.kind is FindingKind.INTEGRITY]
    report = audit(dataclasses.replace(request, live=True))
    assert report.errors == []
    mismatches = {(f.package, f.path): f for f in report.findings if f.kind is FindingKind.INTEGRITY}
    assert set(mismatches) == {
        ("requests", f"{requirements}:2"),
        ("pycrypto", f"{requirements}:4"),
        ("six", str(pylock)),
    }
    requests = mismatches[("requests", f"{requirements}:2")]
    assert (requests.id, requests.severity, requests.version) == ("index-hash-mismatch", "high", "2.32.3")
    assert "1 of 1 declared sha256" in requests.detail and f"{base_url}/simple/" in requests.detail
    assert requests.fix is not None and requests.ecosystem == "PyPI"
    pycrypto = mismatches[("pycrypto", f"{requirements}:4")]  # one of two digests is the index's
    assert pycrypto.severity == "medium" and "1 of 2 declared" in pycrypto.detail
    assert mismatches[("six", str(pylock))].version == "1.16"  # PEP 440: 1.16 is the 1.16.0 release
