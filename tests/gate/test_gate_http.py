"""The gate over HTTP (httpx against the real app on uvicorn): pages, files, refusals, integrity."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from custody.advisories import AdvisoryStore
from custody.gate import GateConfig, GateStore, create_app
from custody.gate.scanning import scanner_id
from custody.gate.simple import JSON_V1
from custody.ledger.api import statement_of
from custody.ledger.attest import GATE_DECISION
from custody.ledger.store import LedgerStore
from custody.policy import Action, Entry, EntryKind, Policy, Rule, policy_from_mapping
from tests.gate.builders import EXEC_PTH, add_wheel, json_upstream, mal_record, pypi_json_api
from tests.gate.conftest import gate_config, running_gate
from tests.servers import serve_asgi

GateServer = Callable[[GateConfig], str]
WHEEL = "gateok-1.0.0-py3-none-any.whl"


def _client() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=60, follow_redirects=True)


@pytest.mark.parametrize("as_url", [False, True], ids=["directory", "file-url"])
def test_page_lists_through_the_gate_and_hides_fresh_files(
    tmp_path: Path, gate_server: GateServer, as_url: bool
) -> None:
    upstream = tmp_path / "up"
    add_wheel(upstream, "gateok", "1.0.0")
    add_wheel(upstream, "gateok", "2.0.0", uploaded=time.time() - 60)
    gate = gate_server(gate_config(tmp_path, upstream.as_uri() if as_url else str(upstream)))
    with _client() as client:
        page = client.get(f"{gate}/simple/gateok/", headers={"Accept": JSON_V1})
        html = client.get(f"{gate}/simple/gateok/")
        redirect = client.get(f"{gate}/simple/GateOK/", follow_redirects=False)
        hidden = client.get(f"{gate}/files/gateok/gateok-2.0.0-py3-none-any.whl")
        metadata = client.get(f"{gate}/files/gateok/{WHEEL}.metadata")
    assert page.status_code == 200 and page.headers["content-type"].startswith(JSON_V1)
    files = page.json()["files"]
    assert [f["filename"] for f in files] == [WHEEL]  # 2.0.0 is inside the cooldown: hidden
    assert files[0]["url"] == f"../../files/gateok/{WHEEL}"
    assert files[0]["core-metadata"]["sha256"] == hashlib.sha256(metadata.content).hexdigest()
    assert b"Name: gateok" in metadata.content
    assert html.headers["content-type"].startswith("text/html") and WHEEL in html.text
    assert redirect.status_code == 301 and redirect.headers["location"].endswith("/gateok/")
    assert hidden.status_code == 404  # a hidden file cannot be fetched by guessing its URL


def test_refused_download_carries_the_reason(tmp_path: Path, gate_server: GateServer) -> None:
    upstream = tmp_path / "up"
    add_wheel(upstream, "gatehook", "1.0.0", files={"gatehook_init.pth": EXEC_PTH})
    config = gate_config(tmp_path, str(upstream))
    gate = gate_server(config)
    with _client() as client:
        first = client.get(f"{gate}/files/gatehook/gatehook-1.0.0-py3-none-any.whl", follow_redirects=False)
        final = client.get(f"{gate}/files/gatehook/gatehook-1.0.0-py3-none-any.whl", follow_redirects=True)
    assert first.status_code == 303 and "/refused/" in first.headers["location"]
    assert final.status_code == 403
    assert "startup-hook-dangerous" in final.reason_phrase  # the status line itself
    assert "x-custody-status-reason" not in final.headers
    assert "gatehook_init.pth:1" in final.text
    assert 'custody gate allow gatehook==1.0.0 --reason "..."' in final.text
    assert "startup-hook-dangerous" in str(final.url)


def test_hash_mismatch_is_refused_and_nothing_is_kept(tmp_path: Path, gate_server: GateServer) -> None:
    upstream = tmp_path / "up"
    add_wheel(upstream, "gateok", "1.0.0")
    with serve_asgi(json_upstream(upstream, tamper={WHEEL: "0" * 64})) as upstream_url:
        config = gate_config(tmp_path, f"{upstream_url}/simple/")
        gate = gate_server(config)
        with _client() as client:
            response = client.get(f"{gate}/files/gateok/{WHEEL}")
    assert response.status_code == 502
    assert "sha256 mismatch" in response.text
    assert not list(Path(config.cache_dir or "").rglob(WHEEL))


@pytest.mark.parametrize("over_http", [True, False])
def test_a_file_over_the_size_limit_is_refused_and_not_kept(
    tmp_path: Path, gate_server: GateServer, over_http: bool
) -> None:
    upstream = tmp_path / "up"
    size = add_wheel(upstream, "gateok", "1.0.0").stat().st_size
    with serve_asgi(json_upstream(upstream)) as upstream_url:
        config = gate_config(
            tmp_path, f"{upstream_url}/simple/" if over_http else str(upstream), max_file_bytes=size - 1
        )
        gate = gate_server(config)
        with _client() as client:
            response = client.get(f"{gate}/files/gateok/{WHEEL}")
    assert response.status_code == 502
    assert f"larger than {size - 1} bytes" in response.text
    assert not list(Path(config.cache_dir or "").rglob("*.whl"))
    assert not list(Path(config.cache_dir or "").rglob("*.part"))


def test_an_upstream_error_status_for_the_file_is_refused(tmp_path: Path, gate_server: GateServer) -> None:
    upstream = tmp_path / "up"
    add_wheel(upstream, "gateok", "1.0.0")
    with serve_asgi(json_upstream(upstream)) as upstream_url:
        gate = gate_server(gate_config(tmp_path, f"{upstream_url}/simple/"))
        with _client() as client:
            assert WHEEL in client.get(f"{gate}/simple/gateok/").text  # the page, kept by the gate
            (upstream / WHEEL).unlink()  # listed, then gone: upstream answers 404 for the file
            response = client.get(f"{gate}/files/gateok/{WHEEL}")
    assert response.status_code == 502 and "upstream answered 404" in response.text


def test_a_failed_download_gives_back_the_scan_lease(tmp_path: Path) -> None:
    # The published sha256 is claimed (scan lease) while the file downloads; a download that
    # fails must not leave the lease held, or other replicas would wait on it for nothing.
    upstream = tmp_path / "up"
    add_wheel(upstream, "gateok", "1.0.0")
    claimed = "0" * 64
    with serve_asgi(json_upstream(upstream, tamper={WHEEL: claimed})) as upstream_url:
        config = gate_config(tmp_path, f"{upstream_url}/simple/")
        with running_gate(config) as gate, _client() as client:
            assert client.get(f"{gate}/files/gateok/{WHEEL}").status_code == 502
    scanner = scanner_id(config.scan_timeout, config.rule_dirs)
    with GateStore.open(config.store or "") as store:
        assert store.claim_scan(claimed, scanner, "another-replica", 30).leased


def test_file_bytes_are_taken_as_sent(tmp_path: Path, gate_server: GateServer) -> None:
    # A file server that labels archives `Content-Encoding: gzip` without compressing them (Apache
    # does this for .gz): the gate, like pip, asks for identity and hashes the bytes as sent.
    upstream = tmp_path / "up"
    data = add_wheel(upstream, "gateok", "1.0.0").read_bytes()
    requests: list[Request] = []
    app = json_upstream(upstream, file_headers={"Content-Encoding": "gzip"}, requests=requests)
    with serve_asgi(app) as upstream_url:
        gate = gate_server(gate_config(tmp_path, f"{upstream_url}/simple/"))
        with _client() as client:
            response = client.get(f"{gate}/files/gateok/{WHEEL}")
    assert response.status_code == 200 and response.content == data
    assert [r.headers["accept-encoding"] for r in requests] == ["identity"]


def test_head_and_range_requests(tmp_path: Path, gate_server: GateServer) -> None:
    upstream = tmp_path / "up"
    data = add_wheel(upstream, "gateok", "1.0.0").read_bytes()
    gate = gate_server(gate_config(tmp_path, str(upstream)))
    with _client() as client:
        head = client.head(f"{gate}/files/gateok/{WHEEL}")
        part = client.get(f"{gate}/files/gateok/{WHEEL}", headers={"Range": "bytes=-22"})
        whole = client.get(f"{gate}/files/gateok/{WHEEL}")
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(data) and not head.content
    assert head.headers["accept-ranges"] == "bytes"
    assert part.status_code == 206 and part.content == data[-22:]  # the zip's end record, as uv reads it
    assert whole.content == data and whole.headers["x-custody-verdict"] == "clean"
    # Server-Timing: the first request fetched and scanned, later ones only decided
    first = _server_timing(head.headers["server-timing"])
    assert list(first) == ["page", "judge", "fetch", "claim", "scan", "pool", "gate"]
    assert 0 < first["scan"] < first["gate"] and first["fetch"] < first["gate"]
    later = _server_timing(whole.headers["server-timing"])
    assert list(later) == ["page", "judge", "claim", "gate"]  # the kept verdict: no fetch, no scan


def _server_timing(header: str) -> dict[str, float]:
    return {name: float(duration) for name, duration in (t.split(";dur=") for t in header.split(", "))}


def test_concurrent_requests_download_and_scan_once(tmp_path: Path, gate_server: GateServer) -> None:
    upstream = tmp_path / "up"
    data = add_wheel(upstream, "gateok", "1.0.0").read_bytes()
    downloads: dict[str, int] = {}
    with serve_asgi(json_upstream(upstream, downloads=downloads)) as upstream_url:
        config = gate_config(tmp_path, f"{upstream_url}/simple/")
        gate = gate_server(config)

        async def fetch_all() -> list[httpx.Response]:
            async with httpx.AsyncClient(trust_env=False, timeout=60) as client:
                return await asyncio.gather(*(client.get(f"{gate}/files/gateok/{WHEEL}") for _ in range(6)))

        responses = asyncio.run(fetch_all())
    assert [r.status_code for r in responses] == [200] * 6
    assert all(r.content == data for r in responses)
    assert downloads == {WHEEL: 1}


def test_decisions_are_signed_into_the_ledger(tmp_path: Path, gate_server: GateServer) -> None:
    upstream = tmp_path / "up"
    add_wheel(upstream, "gateok", "1.0.0")
    config = gate_config(tmp_path, str(upstream))
    with serve_asgi(create_app(config), lifespan="on") as gate, _client() as client:
        assert client.get(f"{gate}/files/gateok/{WHEEL}", headers={"User-Agent": "pip/26"}).status_code == 200
    # the server stopped: the recorder flushed on shutdown
    with LedgerStore.open(str(Path(config.data_dir or "") / "gate-ledger.db")) as ledger:
        entries = list(ledger.entries())
    assert len(entries) == 1
    statement = statement_of(entries[0].body)
    assert statement["predicateType"] == GATE_DECISION
    assert statement["predicate"]["decision"] == "served"
    assert statement["predicate"]["user_agent"] == "pip/26"
    assert statement["subject"][0]["name"] == WHEEL
    with GateStore.open(config.store) as store:
        assert [d.decision for d in store.decisions()] == ["served"]
    assert (Path(config.data_dir or "") / "custody-gate.key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("body", "limit", "expected"),
    [
        (b"{not json", None, "not valid JSON"),
        (b'{"files": [' + b'{"filename": "x"},' * 5000 + b"{}]}", 10_000, "larger than"),
    ],
    ids=["garbage", "huge"],
)
def test_hostile_upstream_pages_are_a_clear_502(
    tmp_path: Path, gate_server: GateServer, body: bytes, limit: int | None, expected: str
) -> None:
    upstream = tmp_path / "up"
    add_wheel(upstream, "gateok", "1.0.0")
    with serve_asgi(json_upstream(upstream, page_body=body)) as upstream_url:
        extra = {"max_page_bytes": limit} if limit else {}
        gate = gate_server(gate_config(tmp_path, f"{upstream_url}/simple/", **extra))
        with _client() as client:
            page = client.get(f"{gate}/simple/gateok/")
            file = client.get(f"{gate}/files/gateok/{WHEEL}")
    assert page.status_code == 502 and expected in page.reason_phrase
    assert file.status_code == 502 and expected in file.text


def test_malware_advisory_and_refuse_actions(tmp_path: Path, gate_server: GateServer) -> None:
    upstream = tmp_path / "up"
    add_wheel(upstream, "gateok", "1.0.0")
    add_wheel(upstream, "gateok", "1.1.0")
    add_wheel(upstream, "gatefresh", "1.0.0", uploaded=time.time() - 60)
    advisories = tmp_path / "advisories.sqlite"
    with AdvisoryStore.open(str(advisories), create=True) as store:
        store.load([mal_record("MAL-2026-0042", "gateok", ("1.1.0",))], origin="test")
    policy = Policy(
        actions={Rule.COOLDOWN: Action.REFUSE, Rule.MALWARE_ADVISORY: Action.HIDE, Rule.DENY: Action.REFUSE}
    )
    gate = gate_server(gate_config(tmp_path, str(upstream), policy, advisory_db=str(advisories)))
    with _client() as client:
        listed = client.get(f"{gate}/simple/gateok/", headers={"Accept": JSON_V1}).json()
        fresh_page = client.get(f"{gate}/simple/gatefresh/", headers={"Accept": JSON_V1}).json()
        fresh = client.get(f"{gate}/files/gatefresh/gatefresh-1.0.0-py3-none-any.whl")
    assert [f["filename"] for f in listed["files"]] == [WHEEL]  # 1.1.0 is named by MAL-2026-0042
    assert len(fresh_page["files"]) == 1  # refuse: listed ...
    assert fresh.status_code == 403 and "cooldown" in fresh.reason_phrase  # ... and its download refused
    assert "custody gate allow gatefresh==1.0.0" in fresh.text


def test_exact_allow_overrides_a_malicious_verdict(tmp_path: Path, gate_server: GateServer) -> None:
    upstream = tmp_path / "up"
    add_wheel(upstream, "gatehook", "1.0.0", files={"gatehook_init.pth": EXEC_PTH})
    # An allow entry for the exact version overrides even a malicious verdict (and says so).
    policy = policy_from_mapping({"allow": [{"spec": "gatehook==1.0.0", "reason": "fixture", "author": "t"}]})
    gate = gate_server(gate_config(tmp_path, str(upstream), policy))
    with _client() as client:
        response = client.get(f"{gate}/files/gatehook/gatehook-1.0.0-py3-none-any.whl")
    assert response.status_code == 200
    assert response.headers["x-custody-verdict"] == "malicious"


def test_a_file_that_cannot_be_scanned_is_refused_unless_the_project_opts_in(
    tmp_path: Path, gate_server: GateServer
) -> None:
    upstream = tmp_path / "up"
    upstream.mkdir()
    broken = upstream / "gatebad-1.0.0-py3-none-any.whl"
    broken.write_bytes(b"PK\x03\x04 this is not a zip archive")
    os.utime(broken, (time.time() - 30 * 86400,) * 2)
    strict = gate_server(gate_config(tmp_path / "strict", str(upstream)))
    lenient_policy = policy_from_mapping({"projects": {"gatebad": {"on_error": "allow"}}})
    lenient = gate_server(gate_config(tmp_path / "lenient", str(upstream), lenient_policy))
    with _client() as client:
        refused = client.get(f"{strict}/files/gatebad/{broken.name}")
        served = client.get(f"{lenient}/files/gatebad/{broken.name}")
    assert refused.status_code == 403 and "could not be checked" in refused.reason_phrase
    assert served.status_code == 200 and served.headers["x-custody-verdict"] == "error"


def test_upload_times_missing_from_html_pages(tmp_path: Path, gate_server: GateServer) -> None:
    """PEP 503 HTML carries no upload time: unknown counts as too new, unless a PyPI JSON API
    gives the times (what the gate asks when the upstream is PyPI)."""
    upstream = tmp_path / "up"
    add_wheel(upstream, "gateok", "1.0.0")
    add_wheel(upstream, "gateok", "2.0.0", uploaded=time.time() - 60)
    with serve_asgi(json_upstream(upstream, html=True)) as index, serve_asgi(pypi_json_api(upstream)) as api:
        blind = gate_server(gate_config(tmp_path / "blind", f"{index}/simple/"))
        informed = gate_server(gate_config(tmp_path / "informed", f"{index}/simple/", pypi_json_url=api))
        with _client() as client:
            unknown = client.get(f"{blind}/simple/gateok/", headers={"Accept": JSON_V1}).json()
            known = client.get(f"{informed}/simple/gateok/", headers={"Accept": JSON_V1}).json()
    assert unknown["files"] == []
    assert [f["filename"] for f in known["files"]] == [WHEEL]
    assert known["files"][0]["upload-time"].startswith(
        time.strftime("%Y", time.gmtime(time.time() - 30 * 86400))
    )


@pytest.mark.parametrize("html", [False, True], ids=["json", "html"])
def test_pep_792_project_status(tmp_path: Path, gate_server: GateServer, html: bool) -> None:
    """Quarantined upstream: nothing offered (not even to a guessed URL), status kept on the page;
    archived and deprecated: served as usual, status passed through."""
    upstream = tmp_path / "up"
    add_wheel(upstream, "gateok", "1.0.0")
    add_wheel(upstream, "gatebad", "1.0.0")
    add_wheel(upstream, "gateold", "1.0.0")
    status = {
        "gatebad": {"status": "quarantined", "reason": "malware reported"},
        "gateold": {"status": "archived"},
        "gateok": {"status": "deprecated", "reason": "use gatenew"},
    }
    with serve_asgi(json_upstream(upstream, html=html, status=status)) as index:
        # HTML pages carry no upload times: no cooldown here, the test is about the status
        gate = gate_server(
            gate_config(tmp_path, f"{index}/simple/", policy_from_mapping({"unknown_upload_time": "allow"}))
        )
        with _client() as client:
            bad = client.get(f"{gate}/simple/gatebad/", headers={"Accept": JSON_V1}).json()
            bad_html = client.get(f"{gate}/simple/gatebad/").text
            bad_file = client.get(f"{gate}/files/gatebad/gatebad-1.0.0-py3-none-any.whl")
            bad_meta = client.get(f"{gate}/files/gatebad/gatebad-1.0.0-py3-none-any.whl.metadata")
            old = client.get(f"{gate}/simple/gateold/", headers={"Accept": JSON_V1}).json()
            old_file = client.get(f"{gate}/files/gateold/gateold-1.0.0-py3-none-any.whl")
            deprecated = client.get(f"{gate}/simple/gateok/", headers={"Accept": JSON_V1}).json()
            deprecated_html = client.get(f"{gate}/simple/gateok/").text
    assert bad["files"] == [] and bad["project-status"] == {
        "status": "quarantined",
        "reason": "malware reported",
    }
    assert '<meta name="pypi:project-status" content="quarantined">' in bad_html
    assert "gatebad-1.0.0" not in bad_html
    assert bad_file.status_code == 404 and bad_meta.status_code == 404
    assert old["project-status"] == {"status": "archived"} and len(old["files"]) == 1
    assert old_file.status_code == 200
    assert deprecated["project-status"] == {"status": "deprecated", "reason": "use gatenew"}
    assert '<meta name="pypi:project-status-reason" content="use gatenew">' in deprecated_html
    if not html:  # every file has its size: the page claims the API version that defines the key
        assert deprecated["meta"]["api-version"] == "1.4"


def test_page_follows_store_entries_at_once(tmp_path: Path, gate_server: GateServer) -> None:
    """The rendered page is reused, but never past a change of the store's entries."""
    upstream = tmp_path / "up"
    add_wheel(upstream, "gateok", "1.0.0")
    config = gate_config(tmp_path, str(upstream), Policy(actions={Rule.DENY: Action.HIDE}))
    gate = gate_server(config)
    with _client() as client, GateStore.open(config.store) as store:
        listed = client.get(f"{gate}/simple/gateok/", headers={"Accept": JSON_V1}).json()["files"]
        again = client.get(f"{gate}/simple/gateok/", headers={"Accept": JSON_V1}).json()["files"]
        store.add_entry(Entry(kind=EntryKind.DENY, name="gateok", reason="pulled"))
        denied = client.get(f"{gate}/simple/gateok/", headers={"Accept": JSON_V1}).json()["files"]
        store.remove_entries(EntryKind.DENY, "gateok", None)
        back = client.get(f"{gate}/simple/gateok/").text
    assert [f["filename"] for f in listed] == [WHEEL] and again == listed
    assert denied == []
    assert WHEEL in back
