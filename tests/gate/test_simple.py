"""Simple-index pages: parsing upstream HTML and JSON, rendering both, hostile pages."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from custody.gate.simple import (
    HTML_V1,
    JSON_V1,
    TEXT_HTML,
    FileEntry,
    PageError,
    ProjectPage,
    negotiate,
    parse_html_page,
    parse_json_page,
    parse_project_list,
    render_html_page,
    render_json_page,
    render_project_list,
)

PAGE_URL = "https://index.example/simple/demo/"
SHA = "a" * 64
META_SHA = "b" * 64
WHEN = datetime(2026, 3, 24, 10, 52, 3, tzinfo=timezone.utc)

HTML = f"""<!DOCTYPE html><html><body>
<a href="../../packages/demo-1.0-py3-none-any.whl#sha256={SHA}" data-requires-python="&gt;=3.9"
   data-core-metadata="sha256={META_SHA}">demo-1.0-py3-none-any.whl</a><br/>
<a href="https://files.example/demo-0.9.tar.gz" data-yanked="broken build">demo-0.9.tar.gz</a>
<a href="demo-0.8.tar.gz" data-yanked data-dist-info-metadata="true">demo-0.8.tar.gz</a>
<a href="../../packages/..">up</a>
<a href="javascript:alert(1)/demo-0.1.tar.gz">x</a>
<a href="https://files.example/other-1.0.tar.gz">other-1.0.tar.gz</a>
<a href="https://files.example/%2e%2e%2fetc%2fpasswd">sneaky</a>
</body></html>"""


def test_html_page_keeps_what_clients_need() -> None:
    page = parse_html_page("demo", HTML.encode(), PAGE_URL)
    by_name = {f.filename: f for f in page.files}
    assert set(by_name) == {"demo-1.0-py3-none-any.whl", "demo-0.9.tar.gz", "demo-0.8.tar.gz"}
    wheel = by_name["demo-1.0-py3-none-any.whl"]
    assert wheel.url == "https://index.example/packages/demo-1.0-py3-none-any.whl"  # relative, resolved
    assert wheel.sha256 == SHA
    assert wheel.requires_python == ">=3.9"
    assert wheel.core_metadata == {"sha256": META_SHA}
    assert by_name["demo-0.9.tar.gz"].yanked == "broken build"
    assert by_name["demo-0.8.tar.gz"].yanked is True
    assert by_name["demo-0.8.tar.gz"].core_metadata is True
    assert by_name["demo-0.8.tar.gz"].url == "https://index.example/simple/demo/demo-0.8.tar.gz"
    # `..`, a non-http scheme, another project's file and an encoded traversal are all dropped
    assert page.dropped == 4


def test_html_round_trip() -> None:
    page = parse_html_page("demo", HTML.encode(), PAGE_URL)
    again = parse_html_page("demo", render_html_page(page), PAGE_URL)
    assert again.files == page.files


def test_json_page_and_round_trip() -> None:
    doc = {
        "meta": {"api-version": "1.1"},
        "name": "demo",
        "files": [
            {
                "filename": "demo-1.0-py3-none-any.whl",
                "url": "../../packages/demo-1.0-py3-none-any.whl",
                "hashes": {"sha256": SHA},
                "requires-python": ">=3.9",
                "core-metadata": {"sha256": META_SHA},
                "size": 1234,
                "upload-time": "2026-03-24T10:52:03.000000Z",
                "yanked": "bad",
            },
            {
                "filename": "demo-0.9.tar.gz",
                "url": "x/demo-0.9.tar.gz",
                "hashes": {},
                "size": 10,
                "yanked": False,
            },
            {"filename": "lie.tar.gz", "url": "../demo-0.1.tar.gz", "hashes": {}},  # name and URL disagree
            "garbage",
        ],
        "versions": ["0.9", "1.0"],
    }
    page = parse_json_page("demo", json.dumps(doc).encode(), PAGE_URL)
    wheel = page.files[0]
    assert wheel.upload_time == WHEN
    assert wheel.size == 1234 and wheel.yanked == "bad" and wheel.core_metadata == {"sha256": META_SHA}
    assert page.files[1].url == "https://index.example/simple/demo/x/demo-0.9.tar.gz"
    assert page.dropped == 2
    assert page.versions == ("0.9", "1.0")
    rendered = json.loads(render_json_page(page))
    assert rendered["meta"]["api-version"] == "1.1"
    assert rendered["files"][0]["core-metadata"] == rendered["files"][0]["dist-info-metadata"]
    again = parse_json_page("demo", render_json_page(page), PAGE_URL)
    assert again == page.__class__(name=page.name, files=page.files, versions=page.versions)


def test_json_without_sizes_is_api_1_0() -> None:
    page = ProjectPage(name="demo", files=(FileEntry(filename="demo-1.0.tar.gz", url="u/demo-1.0.tar.gz"),))
    assert json.loads(render_json_page(page))["meta"]["api-version"] == "1.0"


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe not utf-8",
        b"{",
        b"[]",
        b'{"files": "no"}',
        b'{"meta": {"api-version": "2.0"}, "files": []}',
    ],
)
def test_garbage_json_is_a_page_error(body: bytes) -> None:
    with pytest.raises(PageError):
        parse_json_page("demo", body, PAGE_URL)


def test_garbage_html_yields_no_files() -> None:
    page = parse_html_page("demo", b"<html><a href=>>><<<\x00</a", PAGE_URL)
    assert page.files == ()


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, TEXT_HTML),
        ("*/*", TEXT_HTML),
        (f"{JSON_V1}, {HTML_V1};q=0.1, text/html;q=0.01", JSON_V1),
        (f"{HTML_V1}", HTML_V1),
        (f"{JSON_V1};q=0.2, text/html", TEXT_HTML),
        ("application/xml", ""),
    ],
)
def test_content_negotiation(accept: str | None, expected: str) -> None:
    assert negotiate(accept) == expected


def test_project_list_round_trip() -> None:
    for media in (JSON_V1, TEXT_HTML):
        body = render_project_list(["Demo_Pkg", "other", "demo-pkg"], media)
        content_type = JSON_V1 if media == JSON_V1 else "text/html"
        assert parse_project_list(body, content_type) == ["demo-pkg", "other"]


def test_pep_792_status_round_trips() -> None:
    doc = {
        "meta": {"api-version": "1.4"},
        "name": "pkg",
        "files": [],
        "project-status": {"status": "Quarantined", "reason": "malware\nreported"},
    }
    page = parse_json_page("pkg", json.dumps(doc).encode(), "https://up.example/simple/pkg/")
    assert (page.status, page.status_reason) == ("quarantined", "malware reported")
    again = parse_html_page("pkg", render_html_page(page), "https://up.example/simple/pkg/")
    assert (again.status, again.status_reason) == ("quarantined", "malware reported")
    assert json.loads(render_json_page(page))["project-status"] == {
        "status": "quarantined",
        "reason": "malware reported",
    }
    # no status, or a malformed one: the page is active and says nothing
    for raw in (None, {"status": "<script>"}, {"status": 7}, "archived"):
        plain = parse_json_page("pkg", json.dumps({**doc, "project-status": raw}).encode(), "https://x/")
        assert plain.status is None and "project-status" not in json.loads(render_json_page(plain))
