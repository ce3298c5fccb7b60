"""Download `NAME==VERSION` artifacts from a package index into a local cache, sha256 verified.

Speaks the PEP 691 JSON simple API (PyPI and most mirrors); the index URL comes from
`--index-url`, then `CUSTODY_INDEX_URL`, then `PIP_INDEX_URL`, then PyPI. The same project page
carries the PEP 792 project status (`project_status`): active, archived, quarantined, deprecated.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import platformdirs
from packaging.tags import sys_tags
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from custody import __version__
from custody.artifacts.model import ArtifactError
from custody.progress import Progress, report

if TYPE_CHECKING:
    import httpx

DEFAULT_INDEX = "https://pypi.org/simple/"
SPEC = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([A-Za-z0-9.+!_-]+)\s*$")
MAX_DOWNLOAD = 2 * 1024 * 1024 * 1024
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True, slots=True)
class IndexFile:
    """One file of a release on a package index: its name, absolute URL and published sha256 (if any)."""

    filename: str
    url: str
    sha256: str | None


def parse_spec(text: str) -> tuple[str, str] | None:
    """`NAME==VERSION` -> (name, version); None when `text` is not such a pin."""
    match = SPEC.match(text)
    return (match.group(1), match.group(2)) if match else None


def index_url(explicit: str | None = None) -> str:
    """The package index base URL (PEP 691): `explicit`, else `CUSTODY_INDEX_URL`, `PIP_INDEX_URL` or
    PyPI, with a trailing slash."""
    url = explicit or os.environ.get("CUSTODY_INDEX_URL") or os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX
    return url.rstrip("/") + "/"


def cache_dir() -> str:
    """custody's cache directory: `CUSTODY_CACHE_DIR`, else the user cache directory."""
    return os.environ.get("CUSTODY_CACHE_DIR") or platformdirs.user_cache_dir("custody")


def _version_of(filename: str) -> Version | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def new_client() -> httpx.Client:
    """An HTTP client for index requests (timeouts, redirects, custody's User-Agent)."""
    import httpx  # noqa: PLC0415 - on first use: httpx costs ~45 ms of every start

    return httpx.Client(
        timeout=httpx.Timeout(30.0, read=120.0),
        follow_redirects=True,
        headers={"User-Agent": f"custody/{__version__}"},
    )


def get_json(http: httpx.Client, url: str, *, accept: str | None = None) -> Any:
    """The JSON document at `url`, or None when the server answers 404. Raises ArtifactError for
    any other HTTP error, an unreachable server or a body that is not JSON."""
    import httpx  # noqa: PLC0415 - on first use: httpx costs ~45 ms of every start

    try:
        response = http.get(url, headers={"Accept": accept} if accept else None)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ArtifactError(str(exc) or type(exc).__name__) from exc


def project_page(
    name: str, index: str | None = None, client: httpx.Client | None = None
) -> dict[str, Any] | None:
    """The PEP 691 JSON project page of `name`; None when the index does not know the project (404).

    Raises ArtifactError when the index cannot be reached or does not answer with a JSON object.
    """
    url = f"{index_url(index)}{canonicalize_name(name)}/"
    own = client is None
    http = client or new_client()
    try:
        payload = get_json(http, url, accept=SIMPLE_JSON)
    except ArtifactError as exc:
        raise ArtifactError(f"{name}: index unreachable or invalid answer ({exc})") from exc
    finally:
        if own:
            http.close()
    if payload is None:
        return None
    if not isinstance(payload, dict):
        raise ArtifactError(f"{name}: index answered with something other than a PEP 691 JSON object")
    return payload


def release_files(
    name: str, version: str, index: str | None = None, client: httpx.Client | None = None
) -> list[IndexFile]:
    """The files of `name==version` on the index (absolute URLs). Raises ArtifactError when the
    project or the version has no files there, or the index cannot be read."""
    import httpx  # noqa: PLC0415 - on first use: httpx costs ~45 ms of every start

    url = f"{index_url(index)}{canonicalize_name(name)}/"
    payload = project_page(name, index, client)
    if payload is None:
        raise ArtifactError(f"{name}: not found on {index_url(index)}")
    wanted = Version(version)
    files: list[IndexFile] = []
    for entry in payload.get("files", []):
        filename = entry.get("filename", "")
        if _version_of(filename) != wanted:
            continue
        hashes = entry.get("hashes") or {}
        files.append(IndexFile(filename, httpx.URL(url).join(entry["url"]).__str__(), hashes.get("sha256")))
    if not files:
        raise ArtifactError(f"{name}=={version}: no files for that version on {index_url(index)}")
    return files


def release_sha256s(payload: dict[str, Any], version: str) -> set[str] | None:
    """The sha256 digests the project page publishes for the files of `version` (PEP 440 equality);
    None when `version` is not valid PEP 440. An empty set: no file of that version is listed."""
    try:
        wanted = Version(version)
    except InvalidVersion:
        return None
    digests: set[str] = set()
    for entry in payload.get("files") or []:
        if not isinstance(entry, dict) or _version_of(str(entry.get("filename", ""))) != wanted:
            continue
        hashes = entry.get("hashes")
        digest = hashes.get("sha256") if isinstance(hashes, dict) else None
        if isinstance(digest, str):
            digests.add(digest.lower())
    return digests


@dataclass(frozen=True, slots=True)
class ProjectStatus:
    """PEP 792: what the index says about a whole project."""

    name: str
    status: str
    """`active`, `archived`, `quarantined`, `deprecated` (or a later standard's marker)."""
    reason: str | None


def status_of(name: str, payload: dict[str, Any]) -> ProjectStatus:
    """The PEP 792 status in a PEP 691 project page: `project-status.status` (the PEP's example; its
    prose once said `state`, accepted too) and `project-status.reason`; absent means active."""
    raw = payload.get("project-status")
    block: dict[str, Any] = raw if isinstance(raw, dict) else {}
    status = block.get("status", block.get("state"))
    reason = block.get("reason")
    return ProjectStatus(
        name=name,
        status=status.strip().lower() if isinstance(status, str) and status.strip() else "active",
        reason=reason if isinstance(reason, str) and reason.strip() else None,
    )


def project_status(
    name: str, index: str | None = None, client: httpx.Client | None = None
) -> ProjectStatus | None:
    """The PEP 792 status of project `name` on the index; None when the index does not know it.

    Raises ArtifactError when the index cannot be reached.
    """
    payload = project_page(name, index, client)
    return None if payload is None else status_of(name, payload)


def choose_files(files: list[IndexFile]) -> list[IndexFile]:
    """The sdist plus the wheel this interpreter would install (else the first wheel)."""
    chosen = [f for f in files if not f.filename.endswith(".whl")][:1]
    wheels = [f for f in files if f.filename.endswith(".whl")]
    if wheels:
        rank = {str(tag): i for i, tag in enumerate(sys_tags())}

        def best(f: IndexFile) -> int:
            try:
                tags = parse_wheel_filename(f.filename)[3]
            except InvalidWheelFilename:
                return 1 << 30
            return min((rank.get(str(t), 1 << 29) for t in tags), default=1 << 30)

        chosen.append(min(wheels, key=best))
    return chosen


def download(name: str, version: str, index: str | None = None) -> list[str]:
    """Fetch the chosen files of a release into the cache; returns their paths. Raises ArtifactError."""
    import httpx  # noqa: PLC0415 - on first use: httpx costs ~45 ms of every start

    target_dir = os.path.join(cache_dir(), "artifacts", str(canonicalize_name(name)), version)
    os.makedirs(target_dir, exist_ok=True)
    paths: list[str] = []
    with new_client() as client:
        for item in choose_files(release_files(name, version, index, client)):
            if "/" in item.filename or item.filename.startswith("."):
                raise ArtifactError(f"{item.filename}: refusing unsafe file name from index")
            path = os.path.join(target_dir, item.filename)
            if os.path.exists(path) and item.sha256 and _sha256(path) == item.sha256:
                paths.append(path)
                continue
            digest = hashlib.sha256()
            partial = path + ".part"
            try:
                with client.stream("GET", item.url) as response, open(partial, "wb") as out:
                    response.raise_for_status()
                    size = 0
                    for chunk in response.iter_bytes(1 << 20):
                        size += len(chunk)
                        if size > MAX_DOWNLOAD:
                            raise ArtifactError(f"{item.filename}: larger than {MAX_DOWNLOAD} bytes")
                        digest.update(chunk)
                        out.write(chunk)
            except httpx.HTTPError as exc:
                raise ArtifactError(f"{item.filename}: download failed ({exc})") from exc
            if item.sha256 and digest.hexdigest() != item.sha256:
                os.unlink(partial)
                raise ArtifactError(f"{item.filename}: sha256 mismatch (index says {item.sha256})")
            os.replace(partial, path)
            paths.append(path)
    return paths


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


Key = TypeVar("Key")
Answer = TypeVar("Answer")


def fetch_each(
    keys: Sequence[Key],
    fetch: Callable[[Key], Answer | None],
    *,
    expected: tuple[type[Exception], ...],
    describe: Callable[[Exception], str] = str,
    jobs: int = 8,
    progress: Progress | None = None,
    stage: str = "look-ups",
) -> tuple[dict[Key, Answer], list[str]]:
    """`fetch(key)` for every key on a few threads (index and advisory look-ups are I/O bound).

    Answers that are None are left out; `expected` errors become messages (via `describe`) so one
    unreachable project never hides the others; anything else propagates.
    """

    def one(key: Key) -> tuple[Key, Answer | None, str | None]:
        try:
            return key, fetch(key), None
        except expected as exc:
            return key, None, describe(exc)

    found: dict[Key, Answer] = {}
    errors: list[str] = []
    report(progress, stage, 0, len(keys))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for done, (key, answer, error) in enumerate(pool.map(one, keys), 1):
            report(progress, stage, done, len(keys))
            if answer is not None:
                found[key] = answer
            if error is not None:
                errors.append(error)
    return found, errors
