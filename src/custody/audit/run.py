"""`custody audit`: wire inventory sources, integrity checks and advisory sources into findings."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from custody.advisories import AdvisoryError, AdvisoryStore, release_statuses
from custody.advisories.model import Advisory
from custody.advisories.pypi import ReleaseStatus
from custody.artifacts.index import cache_dir
from custody.audit.environment import HookScan, hook_findings, integrity_findings
from custody.audit.index_checks import index_findings
from custody.audit.matching import match_package
from custody.audit.model import AuditReport, Finding, FindingKind
from custody.inventory import (
    Ecosystem,
    InventoryError,
    Package,
    PartialInventory,
    find_startup_hooks,
    installed_packages,
    paused_collection,
    read_lockfile,
    verify_records,
)
from custody.inventory.digest_cache import DigestCache
from custody.inventory.environment import distributions
from custody.progress import Progress
from custody.store import StoreError

if TYPE_CHECKING:
    import httpx

_NAMED_UNPINNED = ("range ", "no version given", "no version in lock")
"""`Package.unpinned` reasons of declarations that name an index project (`name>=1`, `name`, ...)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRequest:
    """What to audit and how: environments (`site_dirs`) and lock or requirements files, the advisory
    store, and the optional live, integrity, release-age and start-up-scan checks; `run_audit`
    takes it and returns an `AuditReport`."""

    site_dirs: Sequence[str] = ()
    lockfiles: Sequence[str] = ()
    store_path: str | None = None
    """Advisory store (default: `default_store_path()`)."""
    live: bool = False
    """Also ask PyPI's JSON API (vulnerabilities and yanked status) for every pinned PyPI release, and
    the package index (PEP 691/792) for the status of every PyPI project and the published sha256
    of every pinned file digest."""
    index_url: str | None = None
    """Package index for `--live` index checks (default: `CUSTODY_INDEX_URL`, `PIP_INDEX_URL`, PyPI)."""
    integrity: bool = True
    min_release_age: timedelta | None = None
    """With `live`: report pinned or installed PyPI releases uploaded less than this long ago."""
    now: datetime | None = field(default=None, compare=False)
    """The audit's "now" for release ages (tests); None is the clock."""
    workers: int = 1
    """Processes for RECORD verification of large environments (forked on Linux only, and only from a
    single-threaded process; see `custody.inventory._parallel`)."""
    digest_cache: str | None = None
    """Digest cache for RECORD checks (files unchanged since the last run are not re-read); None
    hashes everything."""
    scan_hook: HookScan | None = None
    """Scans an owned start-up file (the CLI passes the scan engine); None reports them unscanned."""
    http: httpx.Client | None = field(default=None, compare=False)
    progress: Progress | None = field(default=None, compare=False)
    """Told (stage, done, total) as live look-ups finish (the CLI draws a bar on a terminal)."""


def default_digest_cache_path() -> str:
    """`CUSTODY_DIGEST_CACHE`, else `digests.sqlite` in the custody cache dir."""
    return os.environ.get("CUSTODY_DIGEST_CACHE") or os.path.join(cache_dir(), "digests.sqlite")


def _open_digest_cache(request: AuditRequest, report: AuditReport) -> DigestCache | None:
    if request.digest_cache is None or not request.integrity or not request.site_dirs:
        return None
    try:
        return DigestCache(request.digest_cache)
    except StoreError as exc:
        report.notes.append(f"digest cache not used ({exc}); every RECORD entry was hashed")
        return None


def _environment(request: AuditRequest, report: AuditReport) -> list[Package]:
    cache = _open_digest_cache(request, report)
    try:
        with paused_collection():  # RECORD rows and stat results only: no cycles to collect
            return _environment_with(request, report, cache)
    finally:
        if cache is not None:
            cache.close()


def _environment_with(request: AuditRequest, report: AuditReport, cache: DigestCache | None) -> list[Package]:
    packages: list[Package] = []
    for site_dir in request.site_dirs:
        report.targets.append(site_dir)
        try:
            # RECORDs are left as text: the integrity check parses each in the worker that checks
            # its rows (~100k rows in a large environment), the start-up hook check only those
            # that can list a start-up file
            dists = distributions(os.path.abspath(site_dir), parse_records=False)
        except InventoryError as exc:
            report.errors.append(str(exc))
            continue
        packages.extend(installed_packages(os.path.abspath(site_dir), dists))
        if request.integrity:
            issues = verify_records(site_dir, dists, cache, workers=request.workers)
            report.findings.extend(integrity_findings(issues))
        report.findings.extend(hook_findings(find_startup_hooks(site_dir, dists), request.scan_hook))
    return packages


def _lockfiles(request: AuditRequest, report: AuditReport) -> tuple[list[Package], list[Package]]:
    """(pinned packages, unpinned declarations); an `unpinned` finding is added for each of the latter."""
    packages: list[Package] = []
    unpinned: list[Package] = []
    for path in request.lockfiles:
        report.targets.append(path)
        try:
            found = read_lockfile(path)
        except PartialInventory as exc:  # what could be read is audited; each gap is an error
            report.errors.extend(exc.problems)
            found = exc.packages
        except InventoryError as exc:
            report.errors.append(str(exc))
            continue
        if not found:  # an empty or truncated lock audits nothing: say so rather than pass quietly
            report.notes.append(f"{path}: lists no third-party package, so nothing in it was audited")
        for package in found:
            if package.unpinned is not None:
                report.findings.append(
                    _package_finding(
                        FindingKind.UNPINNED,
                        None,
                        package,
                        None,
                        f"cannot be audited: {package.unpinned}",
                        "pin an exact version (with --hash)",
                        severity="low",
                    )
                )
                unpinned.append(package)
            else:
                packages.append(package)
    return packages, unpinned


def _store_lookup(request: AuditRequest, report: AuditReport) -> Callable[[Package], list[Advisory]] | None:
    # Without the store, --live still answers for PyPI packages: then it is a note, not an error.
    problems = report.notes if request.live else report.errors
    try:
        store = AdvisoryStore.open(request.store_path)
        empty = store.count() == 0
    except AdvisoryError as exc:
        problems.append(str(exc))
        return None
    if empty:
        store.close()
        problems.append(
            f"the advisory store at {store.path} is empty: run `custody db update` "
            "(offline: `custody db update --from PATH`), or pass --live to ask PyPI"
        )
        return None

    def lookup(package: Package) -> list[Advisory]:
        return store.lookup(package.ecosystem, package.name)

    return lookup


def _unique(packages: list[Package]) -> dict[tuple[Ecosystem, str, str], list[Package]]:
    grouped: dict[tuple[Ecosystem, str, str], list[Package]] = {}
    for package in packages:
        if package.version is not None:
            grouped.setdefault((package.ecosystem, package.key, package.version), []).append(package)
    return grouped


def _advisory_findings(request: AuditRequest, report: AuditReport, packages: list[Package]) -> None:
    grouped = _unique(packages)
    report.packages = len(grouped)
    report.inventory = [declared[0] for declared in grouped.values()]
    if not grouped:
        return
    lookup = _store_lookup(request, report)
    live: dict[tuple[str, str], list[Advisory]] = {}
    yanked: dict[tuple[str, str], str] = {}
    young: dict[tuple[str, str], str] = {}
    if request.live:
        releases = [(key, version) for eco, key, version in grouped if eco is Ecosystem.PYPI]
        statuses, errors = release_statuses(releases, client=request.http, progress=request.progress)
        report.errors.extend(errors)
        for release, status in statuses.items():
            live[release] = list(status.advisories)
            if status.yanked:
                yanked[release] = f"yanked from PyPI: {status.yanked_reason or 'no reason given'}"
            elif status.removed:
                yanked[release] = "no longer listed on PyPI (the release was deleted)"
            age = _too_young(status, request)
            if age:
                young[release] = age
        unknown = sorted(r for r, s in statuses.items() if not s.advisories_known and not s.removed)
        if unknown:  # pip-audit reports these as skipped dependencies; say so too
            shown = ", ".join(f"{n}=={v}" for n, v in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            covered = "the advisory store still covers them" if lookup else "nothing else covers them"
            report.notes.append(
                f"PyPI JSON API: vulnerabilities of {len(unknown)} release(s) not known live ({shown}): "
                f"the server does not answer /pypi/NAME/VERSION/json for older releases; {covered}"
            )
    if lookup is None and not request.live:
        return
    for (_eco, key, version), declared in grouped.items():
        package = declared[0]
        candidates = (lookup(package) if lookup else []) + live.get((key, version), [])
        others = sorted({p.source for p in declared[1:]})
        for finding in match_package(package, candidates):
            report.findings.append(_also(finding, others) if others else finding)
        if (key, version) in young:
            report.findings.append(
                _package_finding(
                    FindingKind.RELEASE_AGE,
                    "release-too-new",
                    package,
                    version,
                    young[(key, version)],
                    "wait out the cooldown, or pin the previous release",
                )
            )
        if (key, version) in yanked:
            report.findings.append(
                _package_finding(
                    FindingKind.YANKED,
                    None,
                    package,
                    version,
                    yanked[(key, version)],
                    "move to a release that is not yanked",
                )
            )


def _package_finding(
    kind: FindingKind,
    ident: str | None,
    package: Package,
    version: str | None,
    detail: str,
    fix: str,
    *,
    severity: str = "medium",
) -> Finding:
    """A finding about a declared or installed package itself (not an advisory about it)."""
    return Finding(
        kind=kind,
        id=ident,
        aliases=(),
        package=package.name,
        version=version,
        severity=severity,
        path=package.source,
        fix=fix,
        detail=detail,
        ecosystem=package.ecosystem.value,
    )


def _too_young(status: ReleaseStatus, request: AuditRequest) -> str | None:
    """Why a release is inside the cooldown: trojaned releases are usually caught and pulled within
    hours or days (litellm 1.82.8 was live about three hours), so a fresh one has not been looked at."""
    if request.min_release_age is None or status.uploaded is None:
        return None
    now = request.now or datetime.now(timezone.utc)
    age = now - status.uploaded
    if age >= request.min_release_age:
        return None
    hours = max(age.total_seconds() / 3600, 0.0)
    shown = f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.1f} days"
    limit = request.min_release_age.total_seconds() / 86400
    return (
        f"uploaded to PyPI {shown} ago ({status.uploaded.isoformat(timespec='minutes')}), "
        f"inside the {limit:g}-day cooldown: too new to have been looked at"
    )


def _also(finding: Finding, others: list[str]) -> Finding:
    shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
    return dataclasses.replace(finding, detail=f"{finding.detail}; also declared in {shown}")


def audit(request: AuditRequest) -> AuditReport:
    """What `custody audit` reports for these environments and lockfiles. Runs no package code."""
    report = AuditReport()
    pinned, unpinned = _lockfiles(request, report)
    packages = _environment(request, report) + pinned
    _advisory_findings(request, report, packages)
    if request.live:
        # Project status (ranges count too, not URL/VCS/path declarations) and published hashes.
        named = [p for p in unpinned if p.unpinned and p.unpinned.startswith(_NAMED_UNPINNED)]
        findings, errors = index_findings(
            packages + named, index=request.index_url, client=request.http, progress=request.progress
        )
        report.findings.extend(findings)
        report.errors.extend(errors)
    return report
