"""Where OSV records come from: the per-ecosystem zip exports, a local zip, a directory, a file."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from custody.advisories.model import AdvisoryError
from custody.progress import Progress, report

if TYPE_CHECKING:
    import httpx

OSV_EXPORT_URL = "https://osv-vulnerabilities.storage.googleapis.com/{ecosystem}/all.zip"
"""OSV's standard per-ecosystem export location."""
ECOSYSTEMS = ("PyPI", "npm")


def export_url(ecosystem: str) -> str:
    """`CUSTODY_OSV_EXPORT_URL` (a template with `{ecosystem}`, for mirrors), else OSV's own location."""
    return os.environ.get("CUSTODY_OSV_EXPORT_URL", OSV_EXPORT_URL).format(ecosystem=ecosystem)


MAX_RECORD_BYTES = 8 << 20
"""One OSV record larger than this is refused (exports hold small documents; this stops a bomb)."""
MAX_EXPORT_BYTES = 2 << 30

_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(frozen=True, slots=True, kw_only=True)
class RawRecord:
    """One record read from an advisory source: where it came from, its parsed document, or the error
    that made it unreadable."""

    origin: str
    """File (or `zip!member`) the record came from, for error messages."""
    document: dict[str, Any] | None
    error: str | None = None


def _decode(name: str, data: bytes) -> dict[str, Any] | None:
    if name.lower().endswith(".json"):
        doc = json.loads(data)
    else:
        import yaml  # noqa: PLC0415 - YAML records are read by `db update` only, not on an audit

        # BaseLoader keeps every scalar a string: versions such as 1.10 must not become floats.
        try:
            doc = yaml.load(data, Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))  # noqa: S506
        except yaml.YAMLError as exc:
            raise ValueError(str(exc)) from exc
    return doc if isinstance(doc, dict) else None


def _record(origin: str, data: bytes) -> RawRecord:
    if len(data) > MAX_RECORD_BYTES:
        return RawRecord(origin=origin, document=None, error="record too large")
    try:
        doc = _decode(origin, data)
    except (ValueError, UnicodeDecodeError) as exc:  # a YAML error arrives as ValueError
        return RawRecord(origin=origin, document=None, error=f"unparseable: {exc}")
    except RecursionError:
        return RawRecord(
            origin=origin, document=None, error="unparseable: arrays or objects nested too deeply"
        )
    if doc is None:
        return RawRecord(origin=origin, document=None, error="not an OSV object")
    return RawRecord(origin=origin, document=doc)


def iter_zip(data: bytes | str, shown: str) -> Iterator[RawRecord]:
    """Records of an OSV zip export (bytes or a path)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)
    except (OSError, zipfile.BadZipFile) as exc:
        raise AdvisoryError(f"{shown}: not a readable zip archive: {exc}") from exc
    with archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.lower().endswith(_SUFFIXES):
                continue
            if info.file_size > MAX_RECORD_BYTES:
                yield RawRecord(origin=f"{shown}!{info.filename}", document=None, error="record too large")
                continue
            try:
                member = archive.read(info)
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                yield RawRecord(origin=f"{shown}!{info.filename}", document=None, error=f"unreadable: {exc}")
                continue
            yield _record(f"{shown}!{info.filename}", member)


def iter_path(path: str) -> Iterator[RawRecord]:
    """Records from a zip file, a single JSON/YAML file, or every JSON/YAML file under a directory."""
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                if name.lower().endswith(_SUFFIXES):
                    full = os.path.join(root, name)
                    try:
                        with open(full, "rb") as handle:
                            data = handle.read(MAX_RECORD_BYTES + 1)
                    except OSError as exc:
                        yield RawRecord(origin=full, document=None, error=f"unreadable: {exc.strerror}")
                        continue
                    yield _record(full, data)
        return
    if not os.path.isfile(path):
        raise AdvisoryError(f"{path}: no such file or directory")
    if zipfile.is_zipfile(path):
        yield from iter_zip(path, path)
    elif path.lower().endswith(_SUFFIXES):
        with open(path, "rb") as handle:
            yield _record(path, handle.read(MAX_RECORD_BYTES + 1))
    else:
        raise AdvisoryError(f"{path}: expected an OSV zip export, a directory, or a .json/.yaml record")


def download_export(
    ecosystem: str,
    *,
    url: str | None = None,
    client: httpx.Client | None = None,
    timeout: float = 60.0,
    progress: Progress | None = None,
) -> bytes:
    """The OSV zip export of `ecosystem`. Raises AdvisoryError with what to do when unreachable."""
    import httpx  # noqa: PLC0415 - on first use: httpx costs ~45 ms of every start

    target = url or export_url(ecosystem)
    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=True)
    try:
        with http.stream("GET", target) as response:
            response.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            length = response.headers.get("content-length", "")
            total = int(length) if length.isdigit() else None
            for chunk in response.iter_bytes():
                size += len(chunk)
                report(progress, f"download {ecosystem}", size, total)
                if size > MAX_EXPORT_BYTES:
                    raise AdvisoryError(f"{target}: export larger than {MAX_EXPORT_BYTES} bytes, refused")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise AdvisoryError(
            f"cannot download {target}: {exc or type(exc).__name__}. "
            "Without network access, load an OSV export or directory with `custody db update --from PATH`."
        ) from exc
    finally:
        if own:
            http.close()
    return b"".join(chunks)
