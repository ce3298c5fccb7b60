"""Local upstream indexes for the gate tests, built from inert synthetic wheels.

Every payload is INERT: the "malicious" start-up hook execs a base64-encoded `print(...)`, and
nothing here is ever imported by the tests themselves (pip and uv install it into a throwaway
target directory; a `.pth` there is never on a running interpreter's path).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from custody.advisories.sources import RawRecord
from tests.artifacts.builders import make_zip

INERT_CODE = "print('inert fixture payload')"
EXEC_PTH = "import base64; exec(base64.b64decode('" + base64.b64encode(INERT_CODE.encode()).decode() + "'))\n"
"""A start-up hook that decodes and runs an encoded blob: what the scanner calls malicious."""
OLD = time.time() - 30 * 86400
"""An upload time well past any cooldown the tests use."""


def pypi_json_api(directory: Path) -> Starlette:
    """PyPI's `/pypi/NAME/json` over `directory`: every file with its `upload_time_iso_8601` (mtime)."""

    async def project(request: Request) -> Response:
        name = request.path_params["name"]
        releases: dict[str, list[dict[str, Any]]] = {}
        for path in sorted(directory.glob("*.whl")):
            project_name, version = path.name.split("-")[:2]
            if project_name.replace("_", "-") != name:
                continue
            moment = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            releases.setdefault(version, []).append(
                {"filename": path.name, "upload_time_iso_8601": moment.isoformat().replace("+00:00", "Z")}
            )
        if not releases:
            return PlainTextResponse("not found", status_code=404)
        return JSONResponse({"info": {"name": name}, "releases": releases})

    return Starlette(routes=[Route("/pypi/{name}/json", project)])


def mal_record(ident: str, name: str, versions: tuple[str, ...]) -> RawRecord:
    """An OSV MAL- record naming `name` at `versions`."""
    doc = {
        "id": ident,
        "modified": "2026-03-24T00:00:00Z",
        "summary": f"Malicious code in {name} (PyPI)",
        "affected": [{"package": {"ecosystem": "PyPI", "name": name}, "versions": list(versions)}],
    }
    return RawRecord(origin=f"{ident}.json", document=doc)


def metadata_text(name: str, version: str, requires: tuple[str, ...] = ()) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", "Summary: gate test fixture"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    return "\n".join(lines) + "\n"


def wheel(
    name: str, version: str, *, requires: tuple[str, ...] = (), files: Mapping[str, str] | None = None
) -> tuple[str, bytes, bytes]:
    """(file name, wheel bytes, METADATA bytes) of a pure-Python wheel with a harmless module."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    metadata = metadata_text(name, version, requires).encode()
    entries: dict[str, bytes] = {f"{module}/__init__.py": b"def add(a, b):\n    return a + b\n"}
    for path, text in (files or {}).items():
        entries[path] = text.encode()
    entries[f"{dist_info}/METADATA"] = metadata
    entries[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: custody-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for path, data in entries.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([path, f"sha256={digest}", str(len(data))])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    entries[f"{dist_info}/RECORD"] = out.getvalue().encode()
    return f"{module}-{version}-py3-none-any.whl", make_zip(entries.items()), metadata


def add_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    uploaded: float | None = OLD,
    requires: tuple[str, ...] = (),
    files: Mapping[str, str] | None = None,
    with_metadata: bool = True,
) -> Path:
    """Write a wheel (and its PEP 658 `.metadata`) into a directory index; mtime = upload time."""
    directory.mkdir(parents=True, exist_ok=True)
    filename, data, metadata = wheel(name, version, requires=requires, files=files)
    path = directory / filename
    path.write_bytes(data)
    if with_metadata:
        (directory / f"{filename}.metadata").write_bytes(metadata)
    if uploaded is not None:
        os.utime(path, (uploaded, uploaded))
    return path


def json_upstream(
    directory: Path,
    *,
    tamper: Mapping[str, str] | None = None,
    downloads: dict[str, int] | None = None,
    page_body: bytes | None = None,
    html: bool = False,
    status: Mapping[str, Mapping[str, str]] | None = None,
    file_headers: Mapping[str, str] | None = None,
    requests: list[Request] | None = None,
) -> Starlette:
    """A tiny PEP 691 JSON index over `directory` (relative file URLs, PEP 700 upload times from
    mtimes). `tamper` maps a file name to the sha256 the page claims instead of the real one;
    `downloads` counts file requests by name; `page_body` replaces every project page (garbage);
    `html` serves PEP 503 HTML instead (which has no upload times); `status` maps a project to its
    PEP 792 `project-status` object; `file_headers` are added to every file response and
    `requests` collects the file requests."""

    def files_of(project: str) -> Iterator[Path]:
        for path in sorted(directory.glob("*.whl")):
            if path.name.split("-")[0].replace("_", "-") == project:
                yield path

    async def page(request: Request) -> Response:
        project = request.path_params["project"]
        if page_body is not None:
            return Response(page_body, media_type="application/vnd.pypi.simple.v1+json")
        entries: list[dict[str, Any]] = []
        for path in files_of(project):
            data = path.read_bytes()
            digest = (tamper or {}).get(path.name) or hashlib.sha256(data).hexdigest()
            meta = path.with_name(path.name + ".metadata")
            entries.append(
                {
                    "filename": path.name,
                    "url": f"../../files/{path.name}",
                    "hashes": {"sha256": digest},
                    "size": len(data),
                    "upload-time": datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(),
                    "core-metadata": {"sha256": hashlib.sha256(meta.read_bytes()).hexdigest()}
                    if meta.exists()
                    else False,
                }
            )
        if not entries:
            return PlainTextResponse("not found", status_code=404)
        marker = (status or {}).get(project)
        if html:
            links = "".join(
                f'<a href="{e["url"]}#sha256={e["hashes"]["sha256"]}">{e["filename"]}</a><br/>\n'
                for e in entries
            )
            head = "".join(
                f'<meta name="pypi:project-status{"-reason" if key == "reason" else ""}" content="{value}">'
                for key, value in (marker or {}).items()
            )
            return Response(f"<html><head>{head}</head><body>{links}</body></html>", media_type="text/html")
        doc: dict[str, Any] = {
            "meta": {"api-version": "1.1"},
            "name": project,
            "files": entries,
            "versions": [],
        }
        if marker is not None:
            doc["meta"]["api-version"] = "1.4"
            doc["project-status"] = dict(marker)
        return JSONResponse(doc, media_type="application/vnd.pypi.simple.v1+json")

    async def file(request: Request) -> Response:
        path = directory / request.path_params["filename"]
        if downloads is not None:
            downloads[path.name] = downloads.get(path.name, 0) + 1
        if requests is not None:
            requests.append(request)
        if not path.is_file():
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(path, headers=dict(file_headers or {}))

    return Starlette(routes=[Route("/simple/{project}/", page), Route("/files/{filename}", file)])
