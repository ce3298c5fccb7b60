"""Download `NAME==VERSION` artifacts from a package index into a local cache, sha256 verified.

Speaks the PEP 691 JSON simple API (PyPI and most mirrors); the index URL comes from
`--index-url`, then `CUSTODY_INDEX_URL`, then `PIP_INDEX_URL`, then PyPI.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

import httpx
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

DEFAULT_INDEX = "https://pypi.org/simple/"
SPEC = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([A-Za-z0-9.+!_-]+)\s*$")
TIMEOUT = httpx.Timeout(30.0, read=120.0)
MAX_DOWNLOAD = 2 * 1024 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class IndexFile:
    filename: str
    url: str
    sha256: str | None


def parse_spec(text: str) -> tuple[str, str] | None:
    """`NAME==VERSION` -> (name, version); None when `text` is not such a pin."""
    match = SPEC.match(text)
    return (match.group(1), match.group(2)) if match else None


def index_url(explicit: str | None = None) -> str:
    url = explicit or os.environ.get("CUSTODY_INDEX_URL") or os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX
    return url.rstrip("/") + "/"


def cache_dir() -> str:
    return os.environ.get("CUSTODY_CACHE_DIR") or platformdirs.user_cache_dir("custody")


def _version_of(filename: str) -> Version | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def release_files(
    name: str, version: str, index: str | None = None, client: httpx.Client | None = None
) -> list[IndexFile]:
    url = f"{index_url(index)}{canonicalize_name(name)}/"
    own = client is None
    client = client or httpx.Client(
        timeout=TIMEOUT, follow_redirects=True, headers={"User-Agent": f"custody/{__version__}"}
    )
    try:
        response = client.get(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        if response.status_code == 404:
            raise ArtifactError(f"{name}: not found on {index_url(index)}")
        response.raise_for_status()
        payload = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ArtifactError(f"{name}: index unreachable or invalid answer ({exc})") from exc
    finally:
        if own:
            client.close()
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
    target_dir = os.path.join(cache_dir(), "artifacts", str(canonicalize_name(name)), version)
    os.makedirs(target_dir, exist_ok=True)
    paths: list[str] = []
    with httpx.Client(
        timeout=TIMEOUT, follow_redirects=True, headers={"User-Agent": f"custody/{__version__}"}
    ) as client:
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
