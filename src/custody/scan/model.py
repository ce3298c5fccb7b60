"""Typed results of the scan engine."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from custody.artifacts import LimitKind
from custody.config.suppression import Suppression


class Severity(str, enum.Enum):
    """How much one finding weighs, from info (context only) to critical (malware on its own)."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 (info) to 4 (critical), for comparisons."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Verdict(str, enum.Enum):
    """A target's verdict: malicious, suspicious, clean, or error (not fully read or analysed: never
    reported clean)."""

    MALICIOUS = "malicious"
    SUSPICIOUS = "suspicious"
    CLEAN = "clean"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """-1 (error), 0 (clean), 1 (suspicious), 2 (malicious), for comparisons."""
        return {"error": -1, "clean": 0, "suspicious": 1, "malicious": 2}[self.value]


class Context(str, enum.Enum):
    """When a piece of code runs, from most to least exposed."""

    STARTUP = "startup"
    """At every interpreter start (.pth import lines, .site.toml/.start entry points, sitecustomize)."""
    INSTALL = "install"
    """While the package is built or installed (setup.py top level, cmdclass, npm install scripts)."""
    IMPORT = "import"
    """When the module is imported (module top level)."""
    CALL = "call"
    """Only when a function is called by the user."""
    DEV = "dev"
    """Tests, docs, examples and benchmarks: shipped but not run by installing or importing."""

    @property
    def unasked(self) -> bool:
        """Code that runs without the user calling it."""
        return self in (Context.STARTUP, Context.INSTALL, Context.IMPORT)


class Basis(str, enum.Enum):
    """What a finding was read from: the verdict weighs declarations differently from behaviour."""

    CODE = "code"
    """Code, byte patterns or archive structure: something the package does or is."""
    METADATA = "metadata"
    """Declarations about the package (name, version, dependencies, descriptions): a signal that
    alone makes a package at most suspicious, and that makes a code finding count for more."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One thing the scan saw: the rule, how severe, where (member path and line), the code snippet,
    a one-line reason, when that code runs, which limit left content unread (if any), and whether it
    was read from code or from metadata."""

    rule: str
    """Stable rule id, e.g. `startup-hook-exec`."""
    severity: Severity
    file: str
    """Member path inside the artifact ('' for the artifact as a whole)."""
    line: int | None
    snippet: str
    reason: str
    """One line: what was seen and why it matters."""
    context: Context | None = None
    limit: LimitKind | None = None
    """For findings about content a limit or timeout left unread: which one (typed, for policy)."""
    basis: Basis = Basis.CODE
    suppression: Suppression | None = None
    """Set when a config/`--ignore` entry, `--exclude-rule` or the baseline covers this finding:
    it is still reported (JSON, SARIF) but counts for nothing (verdict, `--fail-on`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanResult:
    """One scanned target: what was scanned (path, name, version, artifact kind), its verdict and
    score, the findings, the error that made it  (if any), the time it took, and a summary
    of why."""

    target: str
    name: str | None
    version: str | None
    verdict: Verdict
    score: float
    findings: tuple[Finding, ...]
    error: str | None
    seconds: float
    kind: str | None = None
    summary: str = ""
    """Why the verdict: the strongest behaviour chain in words."""
