"""Property tests: malformed OSV records are counted as failures when loading, never crash the load,
and matching any version against any record answers instead of raising."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.advisories import (
    Advisory,
    AdvisoryStore,
    affects,
    lowest_fix,
    parse_record,
    update_store,
)
from custody.advisories.sources import iter_path
from custody.inventory import Ecosystem

FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)

ODD_TEXT = st.sampled_from(["", " ", "\x00", "\ud800", "\udc00x", "𝔘", "null", "1" * 5000])
VERSIONS = (
    st.sampled_from(
        [
            "0",
            "1.0",
            "1.0.0",
            "1.2.3",
            "2.0.0-rc.1",
            "1.0.0-alpha.1+b",
            "1!2.0",
            "1.0+local",
            "1.0.post1",
            "1.0.dev0",
            "v1.2.3",
            "=1.2.3",
            " 1.2.3 ",
            "01.2.3",
            "1.2",
            "latest",
            "*",
            ">=1.0",
            "1" * 5000,
            "1" * 5000 + ".0.0",
            "1.0.0-" + "1" * 5000,
            "0." + "9" * 5000,
            "١.٢.٣",
            "abc123def",
            "0" * 40,
        ]
    )
    | ODD_TEXT
    | st.text(max_size=12)
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)  # NaN and infinities are not JSON
    | ODD_TEXT
    | st.text(max_size=8)
)
ANY = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)


def _or_any(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the realistic shape, sometimes any JSON value in its place."""
    return st.one_of(strategy, strategy, strategy, ANY)


EVENT = st.dictionaries(
    st.sampled_from(["introduced", "fixed", "last_affected", "limit", "other"]),
    _or_any(VERSIONS),
    max_size=3,
)
RANGE = st.fixed_dictionaries(
    {},
    optional={
        "type": _or_any(st.sampled_from(["ECOSYSTEM", "SEMVER", "GIT", "semver", ""])),
        "events": _or_any(st.lists(_or_any(EVENT), max_size=5)),
        "repo": ANY,
    },
)
PACKAGE = st.fixed_dictionaries(
    {},
    optional={
        "ecosystem": _or_any(st.sampled_from(["PyPI", "npm", "PyPI:Debian", "pypi", "NPM", "Go", ""])),
        "name": _or_any(st.sampled_from(["demo", "Demo_Pkg", "demo.pkg", "@scope/demo", "", " "])),
        "purl": ANY,
    },
)
AFFECTED = st.fixed_dictionaries(
    {},
    optional={
        "package": _or_any(PACKAGE),
        "ranges": _or_any(st.lists(_or_any(RANGE), max_size=3)),
        "versions": _or_any(st.lists(_or_any(VERSIONS), max_size=4)),
        "database_specific": ANY,
        "ecosystem_specific": ANY,
    },
)
SEVERITY = st.fixed_dictionaries(
    {},
    optional={
        "type": _or_any(st.sampled_from(["CVSS_V3", "CVSS_V4"])),
        "score": _or_any(
            st.sampled_from(
                [
                    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
                    "CVSS:3.0/AV:X/S:U",
                    "CVSS:3.1/AV:N/AV:L/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N",
                    "CVSS:3",
                    "CVSS:4.0/AV:N",
                    "",
                ]
            )
        ),
    },
)
RECORD = st.fixed_dictionaries(
    {},
    optional={
        "id": _or_any(st.sampled_from(["PYSEC-2024-1", "GHSA-aaaa-bbbb-cccc", "MAL-2024-1"]) | ODD_TEXT),
        "aliases": _or_any(st.lists(_or_any(st.sampled_from(["CVE-2024-1", "MAL-2024-2"]) | ODD_TEXT))),
        "summary": ANY,
        "details": ANY,
        "modified": _or_any(st.sampled_from(["2024-01-01T00:00:00Z", ""]) | ODD_TEXT),
        "withdrawn": _or_any(st.sampled_from(["2024-01-02T00:00:00Z", ""]) | ODD_TEXT),
        "affected": _or_any(st.lists(_or_any(AFFECTED), max_size=3)),
        "severity": _or_any(st.lists(_or_any(SEVERITY), max_size=2)),
        "database_specific": _or_any(
            st.fixed_dictionaries(
                {}, optional={"severity": _or_any(st.sampled_from(["HIGH", "moderate", "x"]))}
            )
        ),
        "references": _or_any(
            st.lists(
                st.fixed_dictionaries(
                    {}, optional={"type": _or_any(st.just("ADVISORY")), "url": _or_any(st.just("https://x"))}
                ),
                max_size=2,
            )
        ),
    },
)


def _parse(record: Any) -> Advisory | None:
    try:
        advisory = parse_record(record)
    except ValueError as exc:  # the one documented failure
        assert str(exc)
        return None
    assert isinstance(advisory, Advisory)
    return advisory


def _match_everything(advisory: Advisory, versions: list[str]) -> None:
    names = {a.name for a in advisory.affected} | {"demo"}
    for ecosystem in Ecosystem:
        for name in names:
            for version in versions:
                assert isinstance(affects(advisory, ecosystem, name, version), bool)
                fix = lowest_fix(advisory, ecosystem, name, version)
                assert fix is None or isinstance(fix, str)


# The record parser and matching ---------------------------------------------------------------


@FUZZ
@given(record=RECORD, versions=st.lists(VERSIONS, min_size=1, max_size=3))
def test_parse_and_match(record: dict[str, Any], versions: list[str]) -> None:
    # Through JSON, as the store reads them (JSON has no tuples, sets or non-string keys).
    advisory = _parse(json.loads(json.dumps(record)))
    if advisory is not None:
        _match_everything(
            advisory, versions + [e.version for a in advisory.affected for r in a.ranges for e in r.events]
        )


@FUZZ
@given(record=ANY)
def test_parse_any_json_value(record: Any) -> None:
    if isinstance(record, dict):
        _parse(record)


# Loading a directory of records into the store -----------------------------------------------


def _load(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp, "records")
        source.mkdir()
        for name, data in files.items():
            (source / name).write_bytes(data)
        db = os.path.join(tmp, "advisories.sqlite")
        result = update_store(path=db, sources=[str(source)])
        [stats] = result.loaded
        assert stats.loaded + stats.failed == len(files)
        assert len(stats.errors) == min(stats.failed, 10)
        assert result.total <= stats.loaded
        with AdvisoryStore.open(db) as store:
            for ecosystem in Ecosystem:
                for name in ("demo", "Demo_Pkg", "@scope/demo", "\ud800"):
                    for advisory in store.lookup(ecosystem, name):
                        _match_everything(advisory, ["1.0", "1.2.3", "0"])


@FUZZ
@given(records=st.lists(RECORD, min_size=1, max_size=4))
def test_load_records(records: list[dict[str, Any]]) -> None:
    _load({f"r{i}.json": json.dumps(record).encode() for i, record in enumerate(records)})


@settings(FUZZ, max_examples=100)
@given(
    files=st.lists(
        st.tuples(
            st.sampled_from([".json", ".yaml", ".yml", ".JSON"]),
            st.binary(max_size=512) | ANY.map(lambda v: json.dumps(v).encode()),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_load_arbitrary_files(files: list[tuple[str, bytes]]) -> None:
    _load({f"r{i}{suffix}": data for i, (suffix, data) in enumerate(files)})


# Regressions: the minimal examples the properties above found ----------------------------------


def _demo(events: list[dict[str, str]], range_type: str = "ECOSYSTEM") -> Advisory:
    return parse_record(
        {
            "id": "PYSEC-0000-1",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": "demo"},
                    "ranges": [{"type": range_type, "events": events}],
                }
            ],
        }
    )


@pytest.mark.parametrize("version", ["1" * 5000, "1" * 5000 + ".0.0", "1.0.0-" + "1" * 5000])
@pytest.mark.parametrize("range_type", ["ECOSYSTEM", "SEMVER"])
def test_version_with_too_many_digits(version: str, range_type: str) -> None:
    advisory = _demo([{"introduced": "0"}, {"fixed": "2.0.0"}], range_type)
    assert affects(advisory, Ecosystem.PYPI, "demo", version) is False
    # Like any version that does not parse: every fix is above it.
    assert lowest_fix(advisory, Ecosystem.PYPI, "demo", version) == "2.0.0"
    assert affects(advisory, Ecosystem.NPM, "demo", version) is False
    # ...and in the record itself: such a bound never matches (not a version of the scheme).
    assert affects(_demo([{"introduced": version}], range_type), Ecosystem.PYPI, "demo", "1.0.0") is False


def test_lowest_fix_of_a_semver_range_for_pypi() -> None:
    advisory = _demo([{"introduced": "0"}, {"fixed": "1.0.0"}], "SEMVER")
    assert affects(advisory, Ecosystem.PYPI, "demo", "0.5.0") is True
    assert lowest_fix(advisory, Ecosystem.PYPI, "demo", "0.5.0") == "1.0.0"
    assert lowest_fix(advisory, Ecosystem.PYPI, "demo", "0.5") == "1.0.0"


def test_lowest_fix_mixing_semver_and_ecosystem_ranges() -> None:
    record = {
        "id": "PYSEC-0000-1",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "demo"},
                "ranges": [
                    {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]},
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]},
                ],
            }
        ],
    }
    assert lowest_fix(parse_record(record), Ecosystem.PYPI, "demo", "not a version") == "2.0"


@pytest.mark.parametrize("value", [5, 1.5, True])
@pytest.mark.parametrize("field", ["aliases", "affected", "references", "severity"])
def test_record_list_field_of_the_wrong_type(field: str, value: object) -> None:
    advisory = parse_record({"id": "PYSEC-0000-1", field: value})
    assert advisory.id == "PYSEC-0000-1"


@pytest.mark.parametrize("field", ["ranges", "versions"])
def test_affected_list_field_of_the_wrong_type(field: str) -> None:
    advisory = parse_record(
        {"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "a"}, field: 7}]}
    )
    assert advisory.affected[0].name == "a"
    advisory = parse_record(
        {
            "id": "X-1",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "a"}, "ranges": [{"events": 7}]}],
        }
    )
    assert advisory.affected[0].ranges[0].events == ()


@pytest.mark.parametrize(
    "record",
    [
        {"id": "\ud800"},
        {"id": "X-1", "modified": "\udc00"},
        {"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "\ud800"}}]},
        {"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI\ud800", "name": "a"}}]},
    ],
)
def test_record_with_lone_surrogates_is_counted_not_loaded(record: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps(record), encoding="ascii")
    (tmp_path / "good.json").write_text(json.dumps({"id": "X-2"}), encoding="ascii")
    [stats] = update_store(path=str(tmp_path / "db.sqlite"), sources=[str(tmp_path)]).loaded
    assert (stats.loaded, stats.failed) == (1, 1)
    assert "not valid Unicode" in stats.errors[0]


@pytest.mark.parametrize(("name", "data"), [("a.json", b"[" * 100_000), ("a.json", b'{"a":' * 100_000)])
def test_deeply_nested_record(name: str, data: bytes, tmp_path: Path) -> None:
    (tmp_path / name).write_bytes(data)
    [raw] = iter_path(str(tmp_path))
    assert raw.document is None
    assert raw.error is not None and "nested too deeply" in raw.error


def test_lookup_of_a_name_with_lone_surrogates(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text(json.dumps({"id": "X-2"}), encoding="ascii")
    update_store(path=str(tmp_path / "db.sqlite"), sources=[str(tmp_path)])
    with AdvisoryStore.open(str(tmp_path / "db.sqlite")) as store:
        assert store.lookup(Ecosystem.NPM, "\ud800") == []
        assert store.lookup(Ecosystem.PYPI, "a\udc00") == []


def test_yaml_record_with_lone_surrogates(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text('id: "X-\\ud800"\n', encoding="ascii")
    [stats] = update_store(path=str(tmp_path / "db.sqlite"), sources=[str(tmp_path)]).loaded
    assert (stats.loaded, stats.failed) == (0, 1)
