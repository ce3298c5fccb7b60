"""PyPI's JSON API as a live source: `vulnerabilities`, and which releases were yanked or removed.

`/pypi/NAME/json` gives every release's files (with `yanked`) and the vulnerabilities of the
latest release. For an older release, `/pypi/NAME/VERSION/json` is asked too; a server that does
not offer that endpoint (404 for releases it lists, three times) is not asked again in the run.
That per-release endpoint is also where pip-audit's PyPI service gets its data (it asks it for every
release, the latest included); without it neither tool learns anything live about older releases.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

from custody.advisories.model import Advisory, AdvisoryError, Affected, Event, Range
from custody.artifacts.index import fetch_each, get_json
from custody.artifacts.model import ArtifactError
from custody.inventory import canonical_name
from custody.inventory.model import Ecosystem
from custody.progress import Progress

if TYPE_CHECKING:
    import httpx

DEFAULT_PYPI_URL = "https://pypi.org"
_PER_RELEASE_MISSES = 3


def pypi_url() -> str:
    """`CUSTODY_PYPI_URL`, else https://pypi.org."""
    return os.environ.get("CUSTODY_PYPI_URL", DEFAULT_PYPI_URL).rstrip("/")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseStatus:
    """What PyPI says today about one release."""

    name: str
    version: str
    yanked: bool
    yanked_reason: str | None
    removed: bool
    """The project exists but this release is no longer listed (deleted, as malware releases are)."""
    advisories: tuple[Advisory, ...]
    advisories_known: bool
    """False when PyPI could not say (an older release and no per-release endpoint)."""
    uploaded: datetime | None = None
    """When the release's first file was uploaded (UTC); None when PyPI does not say."""


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    return value if isinstance(value, str) else ""


def _advisory(name: str, version: str, item: dict[str, Any]) -> Advisory | None:
    ident = item.get("id")
    if not isinstance(ident, str):
        return None
    fixed = [f for f in item.get("fixed_in") or [] if isinstance(f, str)]
    affected = Affected(
        ecosystem="PyPI",
        name=name,
        versions=(version,),  # PyPI lists it for this release: this release is affected
        ranges=(Range(type="ECOSYSTEM", events=tuple(Event(kind="fixed", version=f) for f in fixed)),),
    )
    return Advisory(
        id=ident,
        aliases=tuple(a for a in item.get("aliases") or [] if isinstance(a, str)),
        summary=_text(item, "summary"),
        details=_text(item, "details")[:2000],
        withdrawn=_text(item, "withdrawn") or None,
        affected=(affected,),
        url=_text(item, "link") or None,
    )


def _upload_time(item: dict[str, Any]) -> datetime | None:
    text = _text(item, "upload_time_iso_8601") or _text(item, "upload_time")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # upload_time is UTC


def _same(a: str, b: str) -> bool:
    """Same release by PEP 440 (`2.2` is `2.2.0`); a local build (`2.1.0+cpu`, from another index)
    counts as its public release."""
    try:
        return a == b or Version(Version(a).public) == Version(Version(b).public)
    except InvalidVersion:
        return False


class PyPIClient:
    """Release lookups against one PyPI JSON API; safe to share across a thread pool."""

    def __init__(self, client: httpx.Client, base_url: str | None = None) -> None:
        self.http = client
        self.base = base_url or pypi_url()
        self.per_release = True
        self._misses = 0
        self._lock = threading.Lock()

    def _get(self, url: str) -> dict[str, Any] | None:
        try:
            doc = get_json(self.http, url)
        except ArtifactError as exc:
            raise AdvisoryError(f"PyPI JSON API: {url}: {exc}") from exc
        return doc if isinstance(doc, dict) else None

    def status(self, name: str, version: str) -> ReleaseStatus | None:
        """PyPI's view of `name==version`; None when PyPI does not know the project."""
        project = canonical_name(name, Ecosystem.PYPI)
        doc = self._get(f"{self.base}/pypi/{project}/json")
        if doc is None:
            return None
        raw_info, raw_releases = doc.get("info"), doc.get("releases")
        info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
        releases: dict[str, Any] = raw_releases if isinstance(raw_releases, dict) else {}
        listed, files = next(((v, f) for v, f in releases.items() if _same(v, version)), (version, None))
        removed = files is None
        dists = [f for f in files or [] if isinstance(f, dict)]
        yanked = bool(dists) and all(f.get("yanked") for f in dists)
        reason = next((_text(f, "yanked_reason") for f in dists if _text(f, "yanked_reason")), None)
        uploads = [t for t in (_upload_time(f) for f in dists) if t is not None]
        vulns: Any = None
        if _same(_text(info, "version"), version):
            vulns = doc.get("vulnerabilities")
        elif self.per_release and not removed:
            # The release as PyPI lists it (`2.2` for a pin `2.2.0`): the endpoint knows only that spelling.
            release_doc = self._get(f"{self.base}/pypi/{project}/{listed}/json")
            if release_doc is None:
                with self._lock:  # the server lists the release yet 404s: after a few, stop asking
                    self._misses += 1
                    self.per_release = self._misses < _PER_RELEASE_MISSES
            else:
                vulns = release_doc.get("vulnerabilities")
        advisories = [
            a
            for a in (_advisory(name, version, v) for v in vulns or [] if isinstance(v, dict))
            if a is not None
        ]
        return ReleaseStatus(
            name=name,
            version=version,
            yanked=yanked,
            yanked_reason=reason,
            removed=removed,
            advisories=tuple(advisories),
            advisories_known=vulns is not None,
            uploaded=min(uploads) if uploads else None,
        )


def release_statuses(
    releases: list[tuple[str, str]],
    *,
    client: httpx.Client | None = None,
    base_url: str | None = None,
    jobs: int = 8,
    progress: Progress | None = None,
) -> tuple[dict[tuple[str, str], ReleaseStatus], list[str]]:
    """PyPI's view of many releases (threads), keyed by the given (name, version); and the errors."""
    import httpx  # noqa: PLC0415 - on first use: httpx costs ~45 ms of every start

    own = client is None
    http = client or httpx.Client(timeout=20.0, follow_redirects=True)
    pypi = PyPIClient(http, base_url)
    try:
        return fetch_each(
            releases,
            lambda release: pypi.status(*release),
            expected=(AdvisoryError,),
            jobs=jobs,
            progress=progress,
            stage="PyPI JSON API",
        )
    finally:
        if own:
            http.close()


def upload_times(client: httpx.Client, name: str, base_url: str | None = None) -> dict[str, datetime]:
    """When each file of project `name` was uploaded, by file name, from `/pypi/NAME/json` (for
    indexes whose simple pages carry no PEP 700 `upload-time`). Empty when PyPI does not know it.
    Raises AdvisoryError when the API cannot be reached."""
    pypi = PyPIClient(client, base_url)
    doc = pypi._get(f"{pypi.base}/pypi/{canonical_name(name, Ecosystem.PYPI)}/json")
    releases = doc.get("releases") if doc else None
    times: dict[str, datetime] = {}
    for files in releases.values() if isinstance(releases, dict) else ():
        for item in files if isinstance(files, list) else ():
            if isinstance(item, dict) and (moment := _upload_time(item)) is not None:
                times[_text(item, "filename")] = moment
    return times
