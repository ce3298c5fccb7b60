"""Byte-pattern rules in YARA (via yara-x): the built-in set plus any user directories.

A rule's `cap` meta names the capability its match shows (see `custody.scan.facts.Cap`); the engine
weighs it by where the code runs. A user rule without `cap` becomes a finding of its own, with
the `severity` meta (default `high`) and the `description` meta as its reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yara_x

from custody.scan.facts import Cap

YARA_TIMEOUT_SECONDS = 20
"""Per-member scan budget: a hostile member must not stall the scan (yara-x aborts past it)."""


class RuleLoadError(Exception):
    """A rules directory or file could not be compiled."""


MATCHES_PER_PATTERN = 4


@dataclass(frozen=True, slots=True)
class YaraHit:
    rule: str
    cap: Cap | None
    detail: str
    severity: str
    offset: int
    length: int


def _builtin_sources() -> list[tuple[str, str]]:
    folder = resources.files("custody.scan") / "yara"
    return sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".yar")
    )


def _user_sources(directory: str) -> list[tuple[str, str]]:
    path = Path(directory)
    if not path.is_dir():
        raise RuleLoadError(f"rules directory not found: {directory}")
    found = sorted(p for p in path.rglob("*") if p.suffix in (".yar", ".yara") and p.is_file())
    return [(str(p), p.read_text(encoding="utf-8", errors="replace")) for p in found]


class YaraRules:
    """Compiled rules; build once per process (compilation is the expensive part)."""

    def __init__(self, user_dirs: tuple[str, ...] = ()) -> None:
        compiler = yara_x.Compiler()
        try:
            for origin, source in _builtin_sources():
                compiler.add_source(source, origin=origin)
            for index, directory in enumerate(user_dirs):
                compiler.new_namespace(f"user{index}")
                for origin, source in _user_sources(directory):
                    compiler.add_source(source, origin=origin)
        except yara_x.CompileError as exc:
            raise RuleLoadError(str(exc)) from exc
        self.rules = compiler.build()
        self.scanner = yara_x.Scanner(self.rules)
        self.scanner.set_timeout(YARA_TIMEOUT_SECONDS)

    def scan(self, data: bytes) -> list[YaraHit]:
        return self.scan_with_sinks(data)[0]

    def scan_with_sinks(self, data: bytes) -> tuple[list[YaraHit], list[int], frozenset[str]]:
        """Rule hits, the offsets of dangerous calls (internal sink rules), and the names of the
        other internal marks that matched (e.g. `dev-import`)."""
        try:
            results = self.scanner.scan(data)
        except (yara_x.TimeoutError, yara_x.ScanError):
            return [], [], frozenset()
        hits: list[YaraHit] = []
        sinks: list[int] = []
        marks: set[str] = set()
        for rule in results.matching_rules:
            meta = dict(rule.metadata)
            internal = meta.get("internal")
            if internal == "sink":
                sinks.extend(m.offset for p in rule.patterns for m in p.matches)
                continue
            if isinstance(internal, str):
                marks.add(internal)
                continue
            cap_name = meta.get("cap")
            try:
                cap = Cap(cap_name) if isinstance(cap_name, str) else None
            except ValueError:
                cap = None
            detail = str(meta.get("detail") or meta.get("description") or rule.identifier)
            severity = str(meta.get("severity", "high"))
            first: tuple[int, int] | None = None
            for pattern in rule.patterns:
                # A few matches per pattern, not one: the first may sit in a comment the engine
                # discards while a live copy follows (`# exec(...)` above `exec(...)`).
                for index, match in enumerate(pattern.matches):
                    if first is None or match.offset < first[0]:
                        first = (match.offset, match.length)
                    if cap is not None:
                        hits.append(
                            YaraHit(rule.identifier, cap, detail, severity, match.offset, match.length)
                        )
                    if index + 1 >= MATCHES_PER_PATTERN:
                        break
            if cap is None:
                offset, length = first or (0, 0)
                hits.append(YaraHit(rule.identifier, None, detail, severity, offset, length))
        sinks.sort()
        return hits, sinks, frozenset(marks)


def default_rule_dirs() -> tuple[str, ...]:
    """Extra rule directories from CUSTODY_RULES (os.pathsep-separated), if set."""
    value = os.environ.get("CUSTODY_RULES", "")
    return tuple(p for p in value.split(os.pathsep) if p)
