"""OSV range semantics on the cases that trip implementations up."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody.advisories import affects, lowest_fix, parse_record
from custody.advisories.cvss import cvss3_score, rating
from custody.advisories.versions import parse_semver
from custody.inventory import Ecosystem

PYPI = Ecosystem.PYPI
NPM = Ecosystem.NPM


def record(
    events: list[dict[str, str]], *, versions: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    affected: dict[str, Any] = {
        "package": {"ecosystem": "PyPI", "name": "Demo_Pkg"},
        "ranges": [{"type": "ECOSYSTEM", "events": events}],
    }
    if versions is not None:
        affected["versions"] = versions
    return {"id": "PYSEC-0000-1", "modified": "2024-01-01T00:00:00Z", "affected": [affected], **extra}


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("0.0.0.dev0", True),  # introduced: 0 covers even the lowest dev release
        ("1.0", True),
        ("1.9.9", True),
        ("2.0.0rc1", True),  # pre-release of the fix is still before the fix
        ("2.0.dev5", True),
        ("2.0", False),
        ("2.0.post1", False),
        ("2.0+local.7", False),  # a local build of the fix sorts after it
        ("1.5+ubuntu1", True),
        ("1!0.5", False),  # epoch 1 sorts after every epoch-0 version, hence after the fix
    ],
)
def test_introduced_zero_fixed(version: str, expected: bool) -> None:
    advisory = parse_record(record([{"introduced": "0"}, {"fixed": "2.0"}]))
    assert affects(advisory, PYPI, "demo-pkg", version) is expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.0", False),
        ("1.1", True),
        ("1.4", True),
        ("1.5", False),
        ("2.9", False),
        ("3.0", True),
        ("3.2.1", True),
    ],
)
def test_unsorted_events_and_two_intervals(version: str, expected: bool) -> None:
    # Events listed out of order: the evaluator must sort them by version first.
    events = [{"fixed": "1.5"}, {"introduced": "3.0"}, {"introduced": "1.1"}, {"last_affected": "3.2.1"}]
    advisory = parse_record(record(events))
    assert affects(advisory, PYPI, "Demo.Pkg", version) is expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.0", True),
        ("1.2", True),
        ("1.2.post1", False),
        ("1.2+local", False),
        ("1.2rc1", True),
        ("1.3", False),
    ],
)
def test_last_affected_is_inclusive(version: str, expected: bool) -> None:
    advisory = parse_record(record([{"introduced": "1.0"}, {"last_affected": "1.2"}]))
    assert affects(advisory, PYPI, "demo-pkg", version) is expected


def test_epoch_in_events() -> None:
    advisory = parse_record(record([{"introduced": "1!1.0"}, {"fixed": "1!1.5"}]))
    assert affects(advisory, PYPI, "demo-pkg", "1!1.2")
    assert not affects(advisory, PYPI, "demo-pkg", "9.0")  # epoch 0, below the range
    assert lowest_fix(advisory, PYPI, "demo-pkg", "1!1.2") == "1!1.5"


def test_explicit_versions_match_by_pep440_equality() -> None:
    advisory = parse_record(record([], versions=["1.10", "2.0.0"]))
    assert affects(advisory, PYPI, "demo-pkg", "1.10")
    assert affects(advisory, PYPI, "demo-pkg", "2.0")  # 2.0 == 2.0.0 under PEP 440
    assert not affects(advisory, PYPI, "demo-pkg", "1.1")


def test_withdrawn_never_matches() -> None:
    advisory = parse_record(record([{"introduced": "0"}], withdrawn="2024-02-01T00:00:00Z"))
    assert not affects(advisory, PYPI, "demo-pkg", "1.0")


def test_name_normalisation_and_other_ecosystems() -> None:
    advisory = parse_record(record([{"introduced": "0"}]))
    assert affects(advisory, PYPI, "DEMO__pkg", "1.0")
    assert not affects(advisory, NPM, "demo_pkg", "1.0.0")
    assert not affects(advisory, PYPI, "demo-pkg2", "1.0")


def test_lowest_fix_skips_fixes_still_affected_elsewhere() -> None:
    # 1.5 fixes the first interval, but 1.5-1.6 is affected again by a second range: the hint is 1.7.
    doc = record([{"introduced": "1.0"}, {"fixed": "1.5"}])
    doc["affected"].append(
        {
            "package": {"ecosystem": "PyPI", "name": "demo-pkg"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.5"}, {"fixed": "1.7"}]}],
        }
    )
    advisory = parse_record(doc)
    assert lowest_fix(advisory, PYPI, "demo-pkg", "1.2") == "1.7"
    only_last = parse_record(record([{"introduced": "0"}, {"last_affected": "3.0"}]))
    assert lowest_fix(only_last, PYPI, "demo-pkg", "2.0") is None


def test_git_ranges_never_match_versions() -> None:
    doc = record([])
    doc["affected"][0]["ranges"] = [{"type": "GIT", "repo": "https://x", "events": [{"introduced": "0"}]}]
    assert not affects(parse_record(doc), PYPI, "demo-pkg", "1.0")


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1.0.0-alpha", "1.0.0-alpha.1"),
        ("1.0.0-alpha.1", "1.0.0-alpha.beta"),
        ("1.0.0-alpha.beta", "1.0.0-beta"),
        ("1.0.0-beta.2", "1.0.0-beta.11"),
        ("1.0.0-rc.1", "1.0.0"),
        ("1.9.0", "1.10.0"),
        ("v1.0.0", "1.0.1"),
    ],
)
def test_semver_precedence(lower: str, higher: str) -> None:
    low, high = parse_semver(lower), parse_semver(higher)
    assert low is not None and high is not None and low < high
    assert parse_semver("1.0.0+build.5") == parse_semver("1.0.0")
    assert parse_semver("1.0") is None


def test_npm_semver_range() -> None:
    advisory = parse_record(
        {
            "id": "GHSA-xxxx-yyyy-zzzz",
            "affected": [
                {
                    "package": {"ecosystem": "npm", "name": "lodash"},
                    "ranges": [{"type": "SEMVER", "events": [{"introduced": "4.0.0"}, {"fixed": "4.17.21"}]}],
                }
            ],
        }
    )
    assert affects(advisory, NPM, "lodash", "4.17.20")
    assert affects(advisory, NPM, "lodash", "4.17.21-rc.1")
    assert not affects(advisory, NPM, "lodash", "4.17.21")
    assert not affects(advisory, NPM, "lodash", "3.10.1")
    assert lowest_fix(advisory, NPM, "lodash", "4.17.20") == "4.17.21"


@pytest.mark.parametrize(
    ("vector", "score", "label"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "critical"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, "critical"),
        ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8, "high"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "medium"),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N", 4.3, "medium"),
        ("CVSS:3.0/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6, "low"),
    ],
)
def test_cvss3(vector: str, score: float, label: str) -> None:
    assert cvss3_score(vector) == score
    assert rating(score) == label


def test_cvss_garbage_and_v4_give_none() -> None:
    assert cvss3_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N") is None
    assert cvss3_score("CVSS:3.1/AV:N") is None


@given(
    bounds=st.lists(st.integers(min_value=1, max_value=60), min_size=2, max_size=8, unique=True),
    probe=st.integers(min_value=0, max_value=61),
    order=st.randoms(use_true_random=False),
    zero=st.booleans(),
)
def test_ranges_agree_with_intervals(bounds: list[int], probe: int, order: Any, zero: bool) -> None:
    """Alternating introduced/fixed bounds, listed in any order, match the half-open intervals."""
    ordered = sorted(bounds)
    if len(ordered) % 2:
        ordered = ordered[:-1]
    pairs = list(zip(ordered[::2], ordered[1::2], strict=True))
    events = [{"introduced": f"1.{lo}"} for lo, _ in pairs] + [{"fixed": f"1.{hi}"} for _, hi in pairs]
    if zero:  # `introduced: 0` instead of the first lower bound
        events[0] = {"introduced": "0"}
        pairs[0] = (-1, pairs[0][1])
    order.shuffle(events)
    advisory = parse_record(record(events))
    expected = any(lo <= probe < hi for lo, hi in pairs)
    assert affects(advisory, PYPI, "demo-pkg", f"1.{probe}") is expected
