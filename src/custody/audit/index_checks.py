"""`--live` checks against the package index's PEP 691 JSON project pages.

- PEP 792 project status markers (quarantined, archived, deprecated) as `project-status` findings.
  A status belongs to a project, not to a release: every installed or declared PyPI project is
  asked, pinned or not.
- `--hash` / lock-file sha256 digests against the digests the index publishes for that release's
  files, as `integrity` findings (`index-hash-mismatch`).

The page comes from `custody.artifacts.index`, from the same index URL (`--index-url`,
`CUSTODY_INDEX_URL`, `PIP_INDEX_URL`, PyPI) that `custody scan NAME==VERSION` downloads from, and
each project is asked once for both checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

from custody.artifacts.index import (
    fetch_each,
    index_url,
    new_client,
    project_page,
    release_sha256s,
    status_of,
)
from custody.artifacts.model import ArtifactError
from custody.audit.model import MALWARE_REMEDIATION, Finding, FindingKind
from custody.inventory import Ecosystem, Package
from custody.progress import Progress

if TYPE_CHECKING:
    import httpx

SEVERITY = {"quarantined": "critical", "archived": "low", "deprecated": "low"}
"""Severity per status; a marker this version does not know (a later standard's) is `low`."""

_FIX = {
    "quarantined": MALWARE_REMEDIATION,
    "archived": "plan a replacement: the project expects no further releases, security fixes included",
    "deprecated": "move to the project's successor",
}
_MEANING = {
    "quarantined": "the index considers the project unsafe (e.g. malware) and serves none of its files",
    "archived": "the project expects no further releases",
    "deprecated": "the project is obsolete",
}
HASH_FIX = "find out where the pinned file came from before installing it; re-lock against the index"


def fetch_pages(
    names: Sequence[str],
    *,
    index: str | None = None,
    client: httpx.Client | None = None,
    jobs: int = 8,
    progress: Progress | None = None,
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The PEP 691 project page of each project (threads), keyed by the given name; and the errors.
    Projects the index does not know (404) are absent from both."""
    own = client is None
    http = client or new_client()
    try:
        return fetch_each(
            names,
            lambda name: project_page(name, index, http),
            expected=(ArtifactError,),
            describe=lambda exc: f"package index ({index_url(index)}): {exc}",
            jobs=jobs,
            progress=progress,
            stage="package index",
        )
    finally:
        if own:
            http.close()


def _also(sources: list[str]) -> str:
    if len(sources) < 2:
        return ""
    shown = ", ".join(sources[1:6]) + (f" and {len(sources) - 6} more" if len(sources) > 6 else "")
    return f"; also declared in {shown}"


def _status_finding(declared: list[Package], page: dict[str, Any], where: str) -> Finding | None:
    status = status_of(declared[0].name, page)
    if status.status == "active":
        return None
    versions = sorted({p.version for p in declared if p.version is not None})
    meaning = _MEANING.get(status.status, "see the index for what this status means")
    reason = f" ({status.reason})" if status.reason else ""
    also = _also(list(dict.fromkeys(p.source for p in declared)))
    return Finding(
        kind=FindingKind.PROJECT_STATUS,
        id=f"project-{status.status}",
        aliases=(),
        package=declared[0].name,
        version=versions[0] if len(versions) == 1 else None,
        severity=SEVERITY.get(status.status, "low"),
        path=declared[0].source,
        fix=_FIX.get(status.status),
        detail=f"{where} marks the project {status.status}{reason}: {meaning}{also}",
        ecosystem=Ecosystem.PYPI.value,
    )


def _declared_sha256(package: Package) -> set[str]:
    return {h.split(":", 1)[1].lower() for h in package.hashes if h.lower().startswith("sha256:")}


def _hash_finding(package: Package, page: dict[str, Any], where: str) -> Finding | None:
    """A declaration whose sha256 digests are not all published by the index for that release."""
    declared = _declared_sha256(package)
    if not declared or package.installed or package.version is None:
        return None
    try:
        if Version(package.version).local is not None:
            return None  # a local build (`+cpu`) comes from another index by definition
    except InvalidVersion:
        return None
    published = release_sha256s(page, package.version)
    if not published:
        return None  # no files listed for that release: `yanked`/removed or quarantine says why
    unknown = sorted(declared - published)
    if not unknown:
        return None
    some_match = len(unknown) < len(declared)
    shown = ", ".join(f"sha256:{h[:16]}..." for h in unknown[:3]) + (" ..." if len(unknown) > 3 else "")
    why = (
        "the other declared digests match, so the index may have deleted that file"
        if some_match
        else "none of the declared digests matches: the pinned files are not the ones the index serves"
    )
    return Finding(
        kind=FindingKind.INTEGRITY,
        id="index-hash-mismatch",
        aliases=(),
        package=package.name,
        version=package.version,
        severity="medium" if some_match else "high",
        path=package.source,
        fix=HASH_FIX,
        detail=(
            f"{len(unknown)} of {len(declared)} declared sha256 digest(s) match no file of "
            f"{package.name} {package.version} on {where} ({shown}): {why}"
        ),
        ecosystem=Ecosystem.PYPI.value,
    )


def index_findings(
    packages: Sequence[Package],
    *,
    index: str | None = None,
    client: httpx.Client | None = None,
    progress: Progress | None = None,
) -> tuple[list[Finding], list[str]]:
    """Project-status and published-hash findings for the PyPI projects among `packages`; errors."""
    by_project: dict[str, list[Package]] = {}
    for package in packages:
        if package.ecosystem is Ecosystem.PYPI:
            by_project.setdefault(package.key, []).append(package)
    if not by_project:
        return [], []
    pages, errors = fetch_pages(sorted(by_project), index=index, client=client, progress=progress)
    where = index_url(index)
    findings: list[Finding] = []
    for key, page in sorted(pages.items()):
        declared = by_project[key]
        status = _status_finding(declared, page, where)
        if status is not None:
            findings.append(status)
        seen: set[tuple[str, str | None, tuple[str, ...]]] = set()
        for package in declared:
            ident = (package.source, package.version, package.hashes)
            if ident in seen:
                continue
            seen.add(ident)
            mismatch = _hash_finding(package, page, where)
            if mismatch is not None:
                findings.append(mismatch)
    return findings, errors
