"""The advisory store: the shared PyPA database and the real MAL-2026-2144 record, loaded offline."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from custody.advisories import (
    AdvisoryError,
    AdvisoryStore,
    affects,
    download_export,
    lowest_fix,
    update_store,
)
from custody.advisories.sources import export_url
from custody.audit import group_by_alias
from custody.inventory import Ecosystem
from tests.gate.builders import mal_record
from tests.servers import free_port

SHARED = Path(__file__).resolve().parents[3] / "shared" / "advisories"
PYPA = SHARED / "pypa-osv"
MAL = SHARED / "mal-osv"
needs_shared = pytest.mark.skipif(
    not PYPA.is_dir() or not MAL.is_dir(), reason="../shared/advisories not present"
)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not PYPA.is_dir() or not MAL.is_dir():
        pytest.skip("../shared/advisories not present")
    path = tmp_path_factory.mktemp("store") / "advisories.sqlite"
    result = update_store(path=str(path), sources=[str(PYPA), str(MAL)])
    assert [s.failed for s in result.loaded] == [0, 0]
    assert result.total == 2662
    return path


@needs_shared
def test_pypa_database_lookups(shared_store: Path) -> None:
    with AdvisoryStore.open(str(shared_store)) as store:
        advisories = store.lookup(Ecosystem.PYPI, "Jinja2")
        hits = [a for a in advisories if affects(a, Ecosystem.PYPI, "Jinja2", "2.10")]
        assert {a.id for a in hits} == {"PYSEC-2019-217", "PYSEC-2021-66"}
        fixes = {a.id: lowest_fix(a, Ecosystem.PYPI, "jinja2", "2.10") for a in hits}
        assert fixes == {"PYSEC-2019-217": "2.10.1", "PYSEC-2021-66": "2.11.3"}
        assert not [a for a in advisories if affects(a, Ecosystem.PYPI, "jinja2", "3.1.4")]
        assert store.lookup(Ecosystem.PYPI, "no-such-project-anywhere") == []


@needs_shared
def test_mal_record_is_malware_for_the_trojaned_releases_only(shared_store: Path) -> None:
    with AdvisoryStore.open(str(shared_store)) as store:
        records = store.lookup(Ecosystem.PYPI, "LiteLLM")
        mal = next(a for a in records if a.id == "MAL-2026-2144")
        assert mal.malware and mal.aliases == ("PYSEC-2026-2",)
        assert affects(mal, Ecosystem.PYPI, "litellm", "1.82.8")
        assert affects(mal, Ecosystem.PYPI, "litellm", "1.82.7")
        assert not affects(mal, Ecosystem.PYPI, "litellm", "1.82.6")


def test_aliases_merge_into_one_group() -> None:
    from custody.advisories import parse_record

    a = parse_record({"id": "PYSEC-1", "aliases": ["CVE-1", "GHSA-1"]})
    b = parse_record({"id": "GHSA-1", "aliases": ["CVE-1"]})
    c = parse_record({"id": "MAL-9", "aliases": ["PYSEC-1"]})
    d = parse_record({"id": "PYSEC-2"})
    groups = group_by_alias([a, b, c, d])
    assert sorted(sorted(x.id for x in g) for g in groups) == [["GHSA-1", "MAL-9", "PYSEC-1"], ["PYSEC-2"]]


def test_zip_source_yaml_scalars_stay_strings_and_bad_records_are_counted(tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr(
            "PYSEC-1.yaml",
            "id: PYSEC-1\nmodified: 2024-01-01T00:00:00Z\naffected:\n"
            "- package: {ecosystem: PyPI, name: demo}\n  versions:\n  - 1.10\n",
        )
        out.writestr("GHSA-1.json", json.dumps({"id": "GHSA-1", "affected": []}))
        out.writestr("broken.json", "{not json")
        out.writestr("noid.json", json.dumps({"affected": []}))
    result = update_store(path=str(tmp_path / "s.sqlite"), sources=[str(archive)])
    assert (result.loaded[0].loaded, result.loaded[0].failed, result.total) == (2, 2, 2)
    with AdvisoryStore.open(str(tmp_path / "s.sqlite")) as store:
        (demo,) = store.lookup(Ecosystem.PYPI, "demo")
        assert demo.affected[0].versions == ("1.10",)  # not the float 1.1
        assert affects(demo, Ecosystem.PYPI, "demo", "1.10")
        assert not affects(demo, Ecosystem.PYPI, "demo", "1.1")


def test_corrupt_store_is_detected_and_rebuilt_by_update(tmp_path: Path) -> None:
    path = tmp_path / "advisories.sqlite"
    (tmp_path / "one.json").write_text(json.dumps({"id": "PYSEC-7", "affected": []}), encoding="utf-8")
    update_store(path=str(path), sources=[str(tmp_path / "one.json")])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] + b"\x00garbage" * 64)  # truncated and scribbled on
    with pytest.raises(AdvisoryError, match="custody db update"), AdvisoryStore.open(str(path)) as store:
        store.count()
    result = update_store(path=str(path), sources=[str(tmp_path / "one.json")])
    assert result.rebuilt is not None
    assert result.total == 1
    with AdvisoryStore.open(str(path)) as store:
        assert store.count() == 1


def test_missing_store_gives_the_command_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(AdvisoryError, match="custody db update"):
        AdvisoryStore.open(str(tmp_path / "absent.sqlite"))


def test_unreachable_export_fails_with_a_clear_message(tmp_path: Path, monkeypatch) -> None:
    # Nothing listens on that port: a real refused connection.
    monkeypatch.setenv("CUSTODY_OSV_EXPORT_URL", f"http://127.0.0.1:{free_port()}/{{ecosystem}}/all.zip")
    with httpx.Client(timeout=10.0) as client:
        with pytest.raises(AdvisoryError, match=r"all\.zip.*--from PATH"):
            download_export("PyPI", client=client)
        with pytest.raises(AdvisoryError, match="--from PATH"):
            update_store(path=str(tmp_path / "s.sqlite"), client=client)
    with AdvisoryStore.open(str(tmp_path / "s.sqlite")) as store:
        assert store.count() == 0  # the store exists, empty; nothing half-loaded


def test_export_download_over_http(tmp_path: Path, asgi_server, monkeypatch) -> None:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        out.writestr(
            "MAL-1.json",
            json.dumps(
                {
                    "id": "MAL-1",
                    "affected": [
                        {"package": {"ecosystem": "npm", "name": "Evil-Pkg"}, "versions": ["1.0.0"]}
                    ],
                }
            ),
        )
    seen: list[str] = []

    async def serve(request: Request) -> Response:
        seen.append(request.url.path)
        return Response(buf.getvalue(), media_type="application/zip")

    monkeypatch.delenv("CUSTODY_OSV_EXPORT_URL", raising=False)
    assert export_url("npm") == "https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip"
    base_url = asgi_server(Starlette(routes=[Route("/{ecosystem}/all.zip", serve)]))
    monkeypatch.setenv("CUSTODY_OSV_EXPORT_URL", base_url + "/{ecosystem}/all.zip")  # a mirror
    with httpx.Client(timeout=10.0) as client:
        result = update_store(path=str(tmp_path / "s.sqlite"), ecosystems=["npm"], client=client)
    assert seen == ["/npm/all.zip"]
    with AdvisoryStore.open(result.path) as store:
        (mal,) = store.lookup(Ecosystem.NPM, "evil-pkg")
        assert mal.malware and affects(mal, Ecosystem.NPM, "evil-pkg", "1.0.0")


def test_update_never_deletes_what_is_not_a_broken_advisory_store(tmp_path: Path) -> None:
    from custody.store import open_store

    other = tmp_path / "ledger.db"
    open_store(str(other), kind="ledger", schema_version=1, schema="CREATE TABLE IF NOT EXISTS x (a)").close()
    app = tmp_path / "app.db"
    conn = sqlite3.connect(app)
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.commit()
    conn.close()
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes, not a database\n", encoding="utf-8")
    for path in (other, app, notes):
        before = path.read_bytes()
        with pytest.raises(AdvisoryError, match="not replacing it"):
            update_store(path=str(path), sources=[str(tmp_path)])
        assert path.read_bytes() == before


def test_data_version_moves_when_another_connection_loads(tmp_path: Path) -> None:
    path = str(tmp_path / "advisories.sqlite")
    with AdvisoryStore.open(path, create=True) as reader:
        before = reader.data_version()
        assert reader.data_version() == before  # stable while nothing changes
        with AdvisoryStore.open(path) as writer:  # `custody db update` in another process
            writer.load([mal_record("MAL-2026-0001", "pkg", ("1.0",))], origin="test")
        assert reader.data_version() != before
