"""The simple repository API in one place: parse upstream project pages, render the gate's own.

Reads PEP 503 HTML and PEP 691 JSON project pages (and the root project list), and renders both,
negotiated by `Accept` (`application/vnd.pypi.simple.v1+json`, `application/vnd.pypi.simple.v1+html`,
`text/html`). What clients rely on survives the round trip: hashes, `requires-python`, yanked
(with its reason), PEP 700 `upload-time`, `size` and `versions`, and PEP 658/714 core-metadata
(`data-core-metadata` plus the older `data-dist-info-metadata`; `core-metadata` and
`dist-info-metadata` in JSON), and PEP 792 project status (`project-status` in JSON, the
`pypi:project-status` and `pypi:project-status-reason` meta tags in HTML).

Hostile pages: the caller bounds the page size before parsing; garbage raises `PageError`; links
are resolved against the page URL (and an HTML `<base>`), may point at other hosts (PEP 503
allows it, PyPI serves files from another host) but only with an allowed scheme, and a link whose
last path segment is not a plain file name (`..`, empty, a slash after decoding, a leading dot,
control characters) is dropped and counted in `ProjectPage.dropped` rather than trusted.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any, ClassVar
from urllib.parse import unquote, urljoin, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from custody.errors import EXIT_ERROR, CustodyError

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"
UPSTREAM_ACCEPT = f"{JSON_V1}, {HTML_V1};q=0.2, {TEXT_HTML};q=0.01"
"""What the gate asks upstream for: JSON first (it carries upload times), HTML as a fallback."""
_HASH_NAME = re.compile(r"^[a-z0-9_]{2,32}$")
_HEX = re.compile(r"^[0-9a-fA-F]{16,256}$")
_BAD_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f/\\]")
_STATUS = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
STATUSES = frozenset({"active", "archived", "quarantined", "deprecated"})
"""PEP 792 statuses. Others are kept on the page if well-formed (a future marker), served as active."""
QUARANTINED = "quarantined"


class PageError(CustodyError, ValueError):
    """An upstream page that is not a simple-API page the gate can read."""

    exit_code: ClassVar[int] = EXIT_ERROR


@dataclass(frozen=True, slots=True, kw_only=True)
class FileEntry:
    """One distribution file listed on a project page."""

    filename: str
    url: str
    """Absolute URL (resolved against the page)."""
    hashes: Mapping[str, str] = field(default_factory=dict)
    """Lower-case algorithm name -> lower-case hex digest."""
    requires_python: str | None = None
    yanked: bool | str = False
    """False, True (no reason given) or the reason."""
    upload_time: datetime | None = None
    size: int | None = None
    core_metadata: bool | Mapping[str, str] = False
    """PEP 658/714: False (none), True (available, no hash) or the metadata file's hashes."""

    @property
    def sha256(self) -> str | None:
        """The file's sha256 from the index page, when it gives one."""
        return self.hashes.get("sha256")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectPage:
    """A project's page: its files, and the PEP 700 `versions` list when upstream gave one."""

    name: str
    files: tuple[FileEntry, ...]
    versions: tuple[str, ...] = ()
    dropped: int = 0
    """Links left out because their file name or scheme could not be trusted."""
    status: str | None = None
    """PEP 792 project status as upstream gave it (`active`, `archived`, `quarantined`,
    `deprecated`); None when the page has none (active)."""
    status_reason: str | None = None


def project_of(filename: str) -> tuple[str, str] | None:
    """(canonical project name, version) from a wheel or sdist file name; None when it is neither."""
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
        return None
    return str(name), str(version)


def safe_filename(url: str) -> str | None:
    """The file name a link points at (its last path segment, percent-decoded), or None when that
    is not a plain file name."""
    path = urlsplit(url).path
    name = unquote(path.rsplit("/", 1)[-1])
    if not name or name in (".", "..") or name.startswith(".") or _BAD_NAME_CHARS.search(name):
        return None
    return name


def _hashes(raw: object) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    return {
        str(k).lower(): str(v).lower()
        for k, v in raw.items()
        if isinstance(k, str) and isinstance(v, str) and _HASH_NAME.match(k.lower()) and _HEX.match(v)
    }


def _metadata_attr(value: str | None) -> bool | dict[str, str]:
    """`data-core-metadata` values: absent/`false` -> False, `true` -> True, `ALG=HEX` -> hashes."""
    if value is None or value.strip().lower() == "false":
        return False
    alg, sep, digest = value.strip().partition("=")
    if sep and _HASH_NAME.match(alg.lower()) and _HEX.match(digest):
        return {alg.lower(): digest.lower()}
    return True


def _metadata_json(raw: object) -> bool | dict[str, str]:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, Mapping):
        return _hashes(raw) or True
    return False


def parse_time(text: object) -> datetime | None:
    """A PEP 700 `upload-time` (ISO 8601, `Z` or an offset; naive means UTC); None when unusable."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _accept_link(url: str, schemes: frozenset[str]) -> str | None:
    if urlsplit(url).scheme.lower() not in schemes:
        return None
    return safe_filename(url)


class _Links(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.links: list[tuple[str, dict[str, str | None]]] = []
        self.meta: dict[str, str] = {}
        self._open: tuple[str, dict[str, str | None]] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta" and values.get("name") and values.get("content") is not None:
            self.meta.setdefault(str(values["name"]).strip().lower(), str(values["content"]))
        elif tag == "base" and values.get("href"):
            self.base = urljoin(self.base, values["href"] or "")
        elif tag == "a" and values.get("href"):
            self._open = (urljoin(self.base, (values["href"] or "").strip()), values)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            url, values = self._open
            values["_text"] = "".join(self._text).strip()
            self.links.append((url, values))
            self._open = None


def parse_html_page(
    name: str, body: bytes, page_url: str, *, schemes: frozenset[str] = frozenset({"http", "https"})
) -> ProjectPage:
    """A PEP 503 HTML project page. Relative links are resolved against `page_url`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PageError(f"{name}: project page is not UTF-8") from exc
    parser = _Links(page_url)
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError) as exc:  # html.parser gives up on some broken markup
        raise PageError(f"{name}: unreadable HTML project page ({exc})") from exc
    files: list[FileEntry] = []
    dropped = 0
    for url, attrs in parser.links:
        filename = _accept_link(url, schemes)
        if filename is None:
            dropped += 1
            continue
        base_url, _, fragment = url.partition("#")
        alg, sep, digest = fragment.partition("=")
        hashes = _hashes({alg: digest}) if sep else {}
        yanked: bool | str = False
        if "data-yanked" in attrs:
            reason = (attrs["data-yanked"] or "").strip()
            yanked = reason or True
        metadata = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        has_metadata = "data-core-metadata" in attrs or "data-dist-info-metadata" in attrs
        files.append(
            FileEntry(
                filename=filename,
                url=base_url,
                hashes=hashes,
                requires_python=(attrs.get("data-requires-python") or None),
                yanked=yanked,
                core_metadata=_metadata_attr(metadata if metadata is not None else "true")
                if has_metadata
                else False,
            )
        )
    page = _own_files(name, files, (), dropped)
    return _with_status(
        page, parser.meta.get("pypi:project-status"), parser.meta.get("pypi:project-status-reason")
    )


def parse_json_page(
    name: str, body: bytes, page_url: str, *, schemes: frozenset[str] = frozenset({"http", "https"})
) -> ProjectPage:
    """A PEP 691 JSON project page (api-version 1.x). Relative URLs are resolved against `page_url`."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PageError(f"{name}: project page is not valid JSON") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
        raise PageError(f"{name}: JSON project page without a files list")
    meta = doc.get("meta")
    version = meta.get("api-version") if isinstance(meta, dict) else None
    if isinstance(version, str) and not version.startswith("1."):
        raise PageError(f"{name}: simple API version {version} is not supported (1.x is)")
    files: list[FileEntry] = []
    dropped = 0
    for raw in doc["files"]:
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
            dropped += 1
            continue
        url = urljoin(page_url, raw["url"])
        filename = _accept_link(url, schemes)
        declared = raw.get("filename")
        if filename is None or (isinstance(declared, str) and declared != filename):
            dropped += 1  # the name a client installs must be the name of the file it fetches
            continue
        yanked_raw = raw.get("yanked", False)
        yanked: bool | str = (yanked_raw.strip() or True) if isinstance(yanked_raw, str) else bool(yanked_raw)
        size = raw.get("size")
        requires = raw.get("requires-python")
        files.append(
            FileEntry(
                filename=filename,
                url=url.partition("#")[0],
                hashes=_hashes(raw.get("hashes")),
                requires_python=requires if isinstance(requires, str) and requires else None,
                yanked=yanked,
                upload_time=parse_time(raw.get("upload-time")),
                size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
                core_metadata=_metadata_json(raw.get("core-metadata", raw.get("dist-info-metadata"))),
            )
        )
    versions = doc.get("versions")
    listed = tuple(v for v in versions if isinstance(v, str)) if isinstance(versions, list) else ()
    page = _own_files(name, files, listed, dropped)
    status = doc.get("project-status")
    if isinstance(status, dict):
        return _with_status(page, status.get("status"), status.get("reason"))
    return page


def _with_status(page: ProjectPage, status: object, reason: object) -> ProjectPage:
    """PEP 792 status on a parsed page: a well-formed status token (lower-cased) and a one-line
    reason; anything else is left off (the page counts as active)."""
    if not isinstance(status, str) or not _STATUS.match(status.strip().lower()):
        return page
    text = " ".join(reason.split())[:500] if isinstance(reason, str) and reason.strip() else None
    return replace(page, status=status.strip().lower(), status_reason=text)


def _own_files(name: str, files: list[FileEntry], versions: tuple[str, ...], dropped: int) -> ProjectPage:
    """Keep the files of this project: a file named for another project is not what a client asked
    for (and would let a page smuggle a verdict across projects). Unparseable legacy names stay."""
    canonical = str(canonicalize_name(name))
    kept: list[FileEntry] = []
    seen: set[str] = set()
    for entry in files:
        parsed = project_of(entry.filename)
        if (parsed is not None and parsed[0] != canonical) or entry.filename in seen:
            dropped += 1
            continue
        seen.add(entry.filename)
        kept.append(entry)
    return ProjectPage(name=canonical, files=tuple(kept), versions=versions, dropped=dropped)


def parse_project_page(
    name: str,
    body: bytes,
    content_type: str,
    page_url: str,
    *,
    schemes: frozenset[str] = frozenset({"http", "https"}),
) -> ProjectPage:
    """Dispatch on the upstream's Content-Type (JSON for PEP 691, anything else read as HTML)."""
    if content_type.split(";", maxsplit=1)[0].strip().lower() in (JSON_V1, "application/json"):
        return parse_json_page(name, body, page_url, schemes=schemes)
    return parse_html_page(name, body, page_url, schemes=schemes)


def parse_project_list(body: bytes, content_type: str) -> list[str]:
    """Project names from a root `/simple/` page (JSON or HTML)."""
    if content_type.split(";", maxsplit=1)[0].strip().lower() in (JSON_V1, "application/json"):
        try:
            doc = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise PageError("root page is not valid JSON") from exc
        projects = doc.get("projects") if isinstance(doc, dict) else None
        if not isinstance(projects, list):
            raise PageError("JSON root page without a projects list")
        return [p["name"] for p in projects if isinstance(p, dict) and isinstance(p.get("name"), str)]
    parser = _Links("http://upstream.invalid/")
    try:
        parser.feed(body.decode("utf-8", errors="replace"))
        parser.close()
    except (AssertionError, ValueError) as exc:
        raise PageError(f"unreadable HTML root page ({exc})") from exc
    return [str(values["_text"]) for _, values in parser.links if values.get("_text")]


# ---- rendering ---------------------------------------------------------------------------------


def negotiate(accept: str | None) -> str:
    """The media type to answer with (PEP 691): the best-quality one of JSON v1, HTML v1 and
    text/html that `accept` names; HTML v1 for no header or `*/*` (what pip sent before PEP 691)."""
    if not accept:
        return TEXT_HTML
    best, best_q = "", -1.0
    for part in accept.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        candidate = {JSON_V1: JSON_V1, HTML_V1: HTML_V1, TEXT_HTML: TEXT_HTML, "*/*": TEXT_HTML}.get(media)
        if candidate is not None and q > 0 and q > best_q:
            best, best_q = candidate, q
    return best or ""


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def render_json_page(page: ProjectPage) -> bytes:
    """PEP 691 JSON (api-version 1.1 when every file has a size, as PEP 700 requires; else 1.0)."""
    full = all(f.size is not None for f in page.files)
    files: list[dict[str, Any]] = []
    for f in page.files:
        item: dict[str, Any] = {"filename": f.filename, "url": f.url, "hashes": dict(f.hashes)}
        if f.requires_python:
            item["requires-python"] = f.requires_python
        if f.yanked:
            item["yanked"] = f.yanked
        if f.core_metadata:
            meta = f.core_metadata if isinstance(f.core_metadata, bool) else dict(f.core_metadata)
            item["core-metadata"] = meta
            item["dist-info-metadata"] = meta  # PEP 714: old clients read this key
        if f.size is not None:
            item["size"] = f.size
        if f.upload_time is not None:
            item["upload-time"] = _iso(f.upload_time)
        files.append(item)
    # 1.4 (PEP 792) builds on 1.1, so it is claimed only when 1.1's sizes are all there; the
    # `project-status` key is kept either way (older clients ignore keys they do not know).
    version = ("1.4" if page.status else "1.1") if full else "1.0"
    doc: dict[str, Any] = {"meta": {"api-version": version}, "name": page.name, "files": files}
    if full:
        doc["versions"] = list(page.versions)
    if page.status:
        doc["project-status"] = {"status": page.status}
        if page.status_reason:
            doc["project-status"]["reason"] = page.status_reason
    return json.dumps(doc, separators=(",", ":")).encode()


def render_html_page(page: ProjectPage) -> bytes:
    """PEP 503 HTML with the PEP 592/658/714 attributes and the repository-version meta tag."""
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "<head>",
        f'<meta name="pypi:repository-version" content="{"1.4" if page.status else "1.1"}">',
    ]
    if page.status:
        lines.append(f'<meta name="pypi:project-status" content="{html.escape(page.status, quote=True)}">')
        if page.status_reason:
            reason = html.escape(page.status_reason, quote=True)
            lines.append(f'<meta name="pypi:project-status-reason" content="{reason}">')
    lines += [
        f"<title>Links for {html.escape(page.name)}</title>",
        "</head>",
        "<body>",
        f"<h1>Links for {html.escape(page.name)}</h1>",
    ]
    for f in page.files:
        href = f.url + (f"#sha256={f.sha256}" if f.sha256 else "")
        attrs = [f'href="{html.escape(href, quote=True)}"']
        if f.requires_python:
            attrs.append(f'data-requires-python="{html.escape(f.requires_python, quote=True)}"')
        if f.yanked:
            reason = f.yanked if isinstance(f.yanked, str) else ""
            attrs.append(f'data-yanked="{html.escape(reason, quote=True)}"')
        if f.core_metadata:
            value = (
                "true"
                if isinstance(f.core_metadata, bool)
                else "{}={}".format(*next(iter(sorted(f.core_metadata.items()))))
            )
            attrs.append(f'data-dist-info-metadata="{value}"')
            attrs.append(f'data-core-metadata="{value}"')
        lines.append(f"<a {' '.join(attrs)}>{html.escape(f.filename)}</a><br/>")
    lines.extend(["</body>", "</html>", ""])
    return "\n".join(lines).encode()


def render_project_list(names: Iterable[str], media_type: str) -> bytes:
    """The root page listing `names` (canonical, sorted, unique) as JSON or HTML."""
    unique = sorted({str(canonicalize_name(n)) for n in names})
    if media_type == JSON_V1:
        doc = {"meta": {"api-version": "1.0"}, "projects": [{"name": n} for n in unique]}
        return json.dumps(doc, separators=(",", ":")).encode()
    links = "\n".join(f'<a href="{html.escape(n)}/">{html.escape(n)}</a><br/>' for n in unique)
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n"
        '<meta name="pypi:repository-version" content="1.0">\n<title>Simple index</title>\n'
        f"</head>\n<body>\n{links}\n</body>\n</html>\n"
    ).encode()


def render_page(page: ProjectPage, media_type: str) -> bytes:
    """The page as PEP 691 JSON when `media_type` is the JSON v1 type, else as PEP 503 HTML."""
    return render_json_page(page) if media_type == JSON_V1 else render_html_page(page)


def with_urls(page: ProjectPage, files: Sequence[FileEntry], url_for: Mapping[str, str]) -> ProjectPage:
    """`page` keeping only `files`, each pointed at `url_for[filename]` (the gate's own URL)."""
    return replace(page, files=tuple(replace(f, url=url_for[f.filename]) for f in files))
