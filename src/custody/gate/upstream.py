"""Where the gate gets pages and files: an HTTP(S) simple index, or a local directory.

`HttpUpstream` speaks PEP 691 (JSON preferred, HTML accepted) with an async httpx client; pages
are read with a size bound, files are streamed. `DirectoryUpstream` serves an air-gapped folder
of distribution files (flat, or one folder per project); its upload time is the file's mtime:
the moment the file arrived where the gate reads it is when it became installable, which is what
a cooldown measures. `open_upstream` picks one from a URL or path (`file://` included).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, Protocol
from urllib.parse import unquote, urlsplit

import httpx
from packaging.utils import canonicalize_name

from custody import __version__
from custody.errors import EXIT_ERROR, CustodyError
from custody.gate.simple import (
    UPSTREAM_ACCEPT,
    FileEntry,
    PageError,
    ProjectPage,
    parse_project_list,
    parse_project_page,
    project_of,
)

DEFAULT_UPSTREAM = "https://pypi.org/simple/"
MAX_PAGE_BYTES = 64 * 1024 * 1024
"""The largest project page read (PyPI's biggest JSON pages are a few tens of MiB)."""
MAX_ROOT_BYTES = 256 * 1024 * 1024
CHUNK = 1 << 20
_IDENTITY = {"Accept-Encoding": "identity"}
_DIST_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar")


class UpstreamError(CustodyError):
    """The upstream could not give an answer the gate can trust (unreachable, error status,
    oversized or unreadable page). The message is one line, fit for a client."""

    exit_code: ClassVar[int] = EXIT_ERROR


class Upstream(Protocol):
    """What the gate needs from an index."""

    description: str
    is_pypi: bool

    async def project_page(self, name: str) -> ProjectPage | None:
        """The page of `name`; None when upstream does not know the project."""
        ...

    async def project_names(self) -> list[str]:
        """Every project the upstream lists. Raises UpstreamError when it cannot be read."""
        ...

    def open_file(self, entry: FileEntry, *, metadata: bool = False) -> AsyncIterator[bytes]:
        """The bytes of `entry` (or of its PEP 658 `.metadata` file), in chunks."""
        ...

    def fetch(self, entry: FileEntry, sink: Callable[[bytes], None]) -> None:
        """Blocking, for a worker thread: the bytes of `entry`, as sent, handed to `sink` in
        chunks. Raises UpstreamError (and whatever `sink` raises)."""
        ...

    async def aclose(self) -> None:
        """Release the upstream's connections."""
        ...


class HttpUpstream:
    """A simple index over HTTP(S)."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, max_page_bytes: int = MAX_PAGE_BYTES) -> None:
        self.base = base_url.rstrip("/") + "/"
        self.description = self.base
        self.is_pypi = urlsplit(self.base).hostname in ("pypi.org", "www.pypi.org")
        self.max_page_bytes = max_page_bytes
        # trust_env off: the gate's upstream is what it was configured with, not whatever proxy
        # variables the service account happens to carry.
        settings: dict[str, Any] = {
            "timeout": httpx.Timeout(timeout, read=120.0),
            "follow_redirects": True,
            "headers": {"User-Agent": f"custody-gate/{__version__}"},
            "trust_env": False,
            # one TLS context for both clients: making one costs tens of milliseconds
            "verify": httpx.create_ssl_context(),
        }
        self.http = httpx.AsyncClient(**settings)
        self.files = httpx.Client(**settings)
        """For file downloads (`fetch`, in download threads; httpx clients are thread-safe)."""

    async def _read(self, url: str, limit: int, accept: str) -> tuple[int, bytes, str, str]:
        try:
            async with self.http.stream("GET", url, headers={"Accept": accept}) as response:
                if response.status_code == 404:
                    return 404, b"", "", str(response.url)
                if response.status_code != 200:
                    raise UpstreamError(f"upstream answered {response.status_code} for {url}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise UpstreamError(f"upstream page {url} is larger than {limit} bytes")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise UpstreamError(f"upstream page {url} is larger than {limit} bytes")
                    chunks.append(chunk)
                return 200, b"".join(chunks), response.headers.get("content-type", ""), str(response.url)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"upstream unreachable: {url}: {type(exc).__name__}: {exc}") from exc

    async def project_page(self, name: str) -> ProjectPage | None:
        """The parsed page of `name`; None on 404. Raises UpstreamError when the index is unreachable or
        the page unreadable."""
        url = f"{self.base}{canonicalize_name(name)}/"
        status, body, content_type, final_url = await self._read(url, self.max_page_bytes, UPSTREAM_ACCEPT)
        if status == 404:
            return None
        try:
            return parse_project_page(name, body, content_type, final_url)
        except PageError as exc:
            raise UpstreamError(f"upstream page for {name} unreadable: {exc}") from exc

    async def project_names(self) -> list[str]:
        """The project names on the index's root page ([] on 404). Raises UpstreamError."""
        status, body, content_type, _ = await self._read(self.base, MAX_ROOT_BYTES, UPSTREAM_ACCEPT)
        if status == 404:
            return []
        try:
            return parse_project_list(body, content_type)
        except PageError as exc:
            raise UpstreamError(f"upstream root page unreadable: {exc}") from exc

    async def open_file(self, entry: FileEntry, *, metadata: bool = False) -> AsyncIterator[bytes]:
        """Stream `entry` (or its `.metadata` file) from its URL. Raises UpstreamError for a status other
        than 200 or a transport failure."""
        url = entry.url + (".metadata" if metadata else "")
        try:
            # The bytes as sent (see `fetch`); `aiter_bytes(n)` would also copy every byte two or
            # three times to re-chunk it.
            async with self.http.stream("GET", url, headers=_IDENTITY) as response:
                if response.status_code != 200:
                    raise UpstreamError(f"upstream answered {response.status_code} for {url}")
                async for chunk in response.aiter_raw():
                    yield chunk
        except httpx.HTTPError as exc:
            raise UpstreamError(f"upstream unreachable: {url}: {type(exc).__name__}: {exc}") from exc

    def fetch(self, entry: FileEntry, sink: Callable[[bytes], None]) -> None:
        """Stream the file `entry` names into `sink` as sent (blocking: run in a download
        thread); UpstreamError when upstream answers other than 200 or cannot be reached."""
        # A blocking client in a worker thread: on the event loop the same download used ~45 %
        # more CPU (a loop pass and several awaits per 64 KiB) and competed with the requests the
        # loop serves. The bytes as sent, as pip reads them (identity asked for, nothing decoded):
        # the published sha256 is over the file.
        try:
            with self.files.stream("GET", entry.url, headers=_IDENTITY) as response:
                if response.status_code != 200:
                    raise UpstreamError(f"upstream answered {response.status_code} for {entry.url}")
                for chunk in response.iter_raw():
                    sink(chunk)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"upstream unreachable: {entry.url}: {type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()
        self.files.close()


class DirectoryUpstream:
    """Distribution files in a local folder: `DIR/*.whl|*.tar.gz` or `DIR/PROJECT/*`.

    Hashes are computed here (the folder is trusted storage, not a remote claim); the upload time
    is the mtime. Symbolic links are not followed out of the folder."""

    def __init__(self, root: str) -> None:
        self.root = Path(root).resolve()
        self.description = str(self.root)
        self.is_pypi = False
        self._hashes: dict[tuple[str, int, int], str] = {}
        if not self.root.is_dir():
            raise UpstreamError(f"upstream directory {self.root} does not exist")

    def _files(self) -> list[Path]:
        found: list[Path] = []
        for path in [
            *self.root.iterdir(),
            *(p for d in self.root.iterdir() if d.is_dir() for p in d.iterdir()),
        ]:
            if (
                path.is_file()
                and path.name.endswith(_DIST_SUFFIXES)
                and path.resolve().is_relative_to(self.root)
            ):
                found.append(path)
        return found

    def _sha256(self, path: Path) -> str:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key not in self._hashes:
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(CHUNK), b""):
                    digest.update(chunk)
            self._hashes[key] = digest.hexdigest()
        return self._hashes[key]

    def _page(self, name: str) -> ProjectPage | None:
        canonical = str(canonicalize_name(name))
        files: list[FileEntry] = []
        for path in sorted(self._files()):
            parsed = project_of(path.name)
            if parsed is None or parsed[0] != canonical:
                continue
            stat = path.stat()
            metadata = path.with_name(path.name + ".metadata")
            files.append(
                FileEntry(
                    filename=path.name,
                    url=path.as_uri(),
                    hashes={"sha256": self._sha256(path)},
                    upload_time=datetime.fromtimestamp(stat.st_mtime, timezone.utc),
                    size=stat.st_size,
                    core_metadata={"sha256": self._sha256(metadata)} if metadata.is_file() else False,
                )
            )
        return ProjectPage(name=canonical, files=tuple(files)) if files else None

    async def project_page(self, name: str) -> ProjectPage | None:
        """The page of `name` built from the distribution files found for it; None when there are none."""
        return await asyncio.to_thread(self._page, name)

    async def project_names(self) -> list[str]:
        """The projects the folder's distribution file names belong to, sorted."""

        def names() -> list[str]:
            """Projects of the folder's distribution files (run in a thread: it lists a directory)."""
            return sorted({p[0] for p in (project_of(f.name) for f in self._files()) if p is not None})

        return await asyncio.to_thread(names)

    async def open_file(self, entry: FileEntry, *, metadata: bool = False) -> AsyncIterator[bytes]:
        """Stream `entry` (or its `.metadata` file) from the folder. Raises UpstreamError for a path
        outside the folder or an unreadable file."""
        path = Path(unquote(urlsplit(entry.url).path) + (".metadata" if metadata else ""))
        if not path.resolve().is_relative_to(self.root):
            raise UpstreamError(f"{entry.filename}: outside the upstream directory")
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except OSError as exc:
            raise UpstreamError(f"upstream file {path.name} unreadable: {exc.strerror or exc}") from exc
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    def fetch(self, entry: FileEntry, sink: Callable[[bytes], None]) -> None:
        """Copy the folder's file `entry` names into `sink`; UpstreamError for a path outside the
        folder or a file that cannot be read."""
        path = Path(unquote(urlsplit(entry.url).path))
        if not path.resolve().is_relative_to(self.root):
            raise UpstreamError(f"{entry.filename}: outside the upstream directory")
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise UpstreamError(f"upstream file {path.name} unreadable: {exc.strerror or exc}") from exc
        with handle:
            while chunk := handle.read(CHUNK):
                sink(chunk)

    async def aclose(self) -> None:
        """Nothing to release."""
        return None


def open_upstream(location: str, *, max_page_bytes: int = MAX_PAGE_BYTES) -> Upstream:
    """An upstream for an `http(s)://` index URL, a `file://` URL or a directory path."""
    if location.startswith(("http://", "https://")):
        return HttpUpstream(location, max_page_bytes=max_page_bytes)
    if location.startswith("file://"):
        return DirectoryUpstream(unquote(urlsplit(location).path))
    if "://" in location:
        raise UpstreamError(f"{location}: give an http(s):// index URL, a file:// URL or a directory")
    return DirectoryUpstream(os.path.abspath(location))
