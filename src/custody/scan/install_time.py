"""Install time outside setup.py: requirements that pip fetches from a direct URL.

A PEP 440 direct reference (`name @ https://...`, `git+https://...`, `file:...`) bypasses the
index: nobody reviewed what sits at that address, and it can change after release. A build
requirement is imported by the build backend, so one from a direct URL runs arbitrary code at
install time. A runtime requirement from a bare IP address, a paste site or a file-drop service is
how droppers ship their second stage, and so is a single raw file or gist on a code host; one
from a repository on a code host is usually a fork.
"""

from __future__ import annotations

import enum
import re
from urllib.parse import urlsplit

from custody.scan.declared import Declarations, DependencyKind, Requirement
from custody.scan.hosts import HostClass, classify_host
from custody.scan.model import Basis, Context, Finding, Severity

RULE = "direct-url-dependency"
_URL = re.compile(r"(?:[a-z][a-z0-9+.-]*\+)?(?:https?|ftp|file|git|ssh)://\S+|\bfile:\S+", re.IGNORECASE)
# Single files served from a code host (gists, raw blobs): a script drop, not a project release.
RAW_FILE_HOSTS = frozenset({"raw.githubusercontent.com", "gist.github.com", "gist.githubusercontent.com"})
# Repository hosts: a requirement from one of them is normally a fork or an unreleased fix.
CODE_HOSTS = frozenset({"github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "git.sr.ht"})
# The domains of the index and the code hosts: a host that spells one of them and goes on past
# it (`files.pythonhosted.org.cdn-mirror.top`, `pypi.org-simple.download`,
# `github.com.release-cdn.io`), or wears the name of the index's file host
# (`files-pythonhosted.net`), dresses up as a place it is not. A company's own forge or index
# (`gitlab.corp.example`, `pypi.vendor.example`) names the brand as a word, not a domain.
OFFICIAL_DOMAINS = frozenset(
    {"pythonhosted.org", "pypi.org", "python.org", "githubusercontent.com", "github.io", *CODE_HOSTS}
)
_DRESSED_UP = re.compile(
    r"(?:^|[.-])(?:pythonhosted\.org|pypi\.org|python\.org|githubusercontent\.com|github\.com|gitlab\.com|"
    r"bitbucket\.org)[.-]|pythonhosted|githubusercontent"
)


class UrlRisk(enum.Enum):
    """How much a direct-URL source says about the requirement."""

    REPOSITORY = "a repository on a code host"
    LOCAL = "a local path"
    UNKNOWN = "an address outside the index"
    DROP = "a paste or file-drop service"
    RAW_FILE = "a single raw file or gist on a code host"
    RAW_IP = "a bare IP address"
    LOOKALIKE = "a host dressed up as the package index or a code host"


def direct_url(requirement: str) -> str | None:
    """The direct URL a requirement string names (PEP 440 `@` reference or a bare URL), if any."""
    spec = requirement.split(";", 1)[0]
    match = _URL.search(spec)
    return match.group(0).rstrip("'\",)") if match else None


def url_risk(url: str) -> UrlRisk:
    """Classify the host a direct URL points to."""
    lower = url.lower()
    if lower.startswith("file:"):
        return UrlRisk.LOCAL
    scheme_free = lower.split("+", 1)[1] if "+" in lower.split("://", 1)[0] else lower
    try:
        host = urlsplit(scheme_free).hostname or ""
    except ValueError:
        return UrlRisk.UNKNOWN
    if host in RAW_FILE_HOSTS:
        return UrlRisk.RAW_FILE
    host_class = classify_host(host) if host else HostClass.OTHER
    if host_class is HostClass.RAW_IP:
        return UrlRisk.RAW_IP
    if host_class.throwaway or host_class is HostClass.CODE_HOST:
        return UrlRisk.DROP  # paste sites, file drops, tunnels, catchers: one host table for all rules
    if host in CODE_HOSTS or host.endswith(".github.com"):
        return UrlRisk.REPOSITORY
    if _DRESSED_UP.search(host) and not any(host == d or host.endswith("." + d) for d in OFFICIAL_DOMAINS):
        return UrlRisk.LOOKALIKE
    return UrlRisk.UNKNOWN


_THROWAWAY = (UrlRisk.RAW_IP, UrlRisk.DROP, UrlRisk.RAW_FILE, UrlRisk.LOOKALIKE)


def _severity(requirement: Requirement, risk: UrlRisk) -> Severity:
    if requirement.kind is DependencyKind.BUILD and risk in _THROWAWAY:
        # The build backend imports it, so code from a bare IP, a paste, tunnel or dynamic-DNS
        # host, or a single raw file runs on install: a complete chain on its own (a project's
        # real build helpers come from the index or its own repository).
        return Severity.CRITICAL
    if requirement.kind is DependencyKind.BUILD and risk is not UrlRisk.LOCAL:
        return Severity.HIGH  # the build backend imports it: its code runs on install
    if risk in _THROWAWAY:
        return Severity.HIGH
    if risk is UrlRisk.UNKNOWN:
        return Severity.MEDIUM
    return Severity.LOW


def direct_url_findings(declared: Declarations) -> list[Finding]:
    """One finding per declared requirement that pip would fetch from a direct URL."""
    findings: list[Finding] = []
    for requirement in declared.requirements:
        url = direct_url(requirement.text)
        if url is None:
            continue
        risk = url_risk(url)
        severity = _severity(requirement, risk)
        what = "build requirement" if requirement.kind is DependencyKind.BUILD else "dependency"
        consequence = (
            ": the build imports it, so its code runs at install time"
            if requirement.kind is DependencyKind.BUILD
            else ": pip installs whatever is there, unreviewed"
        )
        findings.append(
            Finding(
                rule=RULE,
                severity=severity,
                file=requirement.file,
                line=requirement.line,
                snippet=requirement.text[:200],
                reason=f"{what} fetched from {risk.value} ({url[:120]}){consequence}",
                context=Context.INSTALL,
                basis=Basis.METADATA,
            )
        )
    return findings


__all__ = ["RULE", "UrlRisk", "direct_url", "direct_url_findings", "url_risk"]
