"""Byte-pattern rules in YARA (via yara-x): the built-in set plus any user directories.

A rule's `cap` meta names the capability its match shows (see `custody.scan.facts.Cap`); the engine
weighs it by where the code runs. A user rule without `cap` becomes a finding of its own, with
the `severity` meta (default `high`) and the `description` meta as its reason.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yara_x

from custody.artifacts import NO_DEADLINE, Deadline
from custody.errors import CustodyError
from custody.scan.facts import Cap, Trait

YARA_TIMEOUT_SECONDS = 20
"""Per-member scan budget: a hostile member must not stall the scan (yara-x aborts past it). It is
lowered to what is left of the target's own deadline."""
SINK_OFFSETS = 256
"""Sink offsets kept per pattern: the engine looks at the first 200 only (`sink_may_run_unasked`),
and a file of a million `exec(` calls must not cost a million Python objects."""


class RuleLoadError(CustodyError):
    """A rules directory or file could not be compiled."""


class PatternTimeout(Exception):
    """Pattern matching over one input stopped at its time limit: its matches are unknown."""

    def __init__(self, message: str, *, by_deadline: bool) -> None:
        super().__init__(message)
        self.by_deadline = by_deadline
        """The limit was the target's deadline (lowered below YARA_TIMEOUT_SECONDS), not the
        per-input one: the target, not this input, ran out of time."""


MATCHES_PER_PATTERN = 4
SOURCE_HINT = "source-hint"
"""The internal mark of words that name a source a chain could start from (sinks.yar)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class YaraHit:
    """One YARA rule match: the rule, the capability (and trait) its meta names, the matched text,
    the rule's severity, and where it matched."""

    rule: str
    cap: Cap | None
    detail: str
    severity: str
    offset: int
    length: int
    trait: Trait | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PatternScan:
    """What one pattern pass over a source found: rule hits, and the internal marks."""

    hits: list[YaraHit]
    sinks: list[int]
    """Offsets of dangerous calls (internal `sink` rules), sorted; at most SINK_OFFSETS a pattern."""
    marks: frozenset[str]
    """Names of the other internal marks that matched (`dev-import`, `source-hint`...)."""
    ends: tuple[int, ...] | None
    """Offsets of every sink and source-hint match (where either end of a chain across modules
    could sit), sorted; None when a pattern matched more often than SINK_OFFSETS (then anywhere)."""


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


_Sources = tuple[tuple[tuple[str, str], ...], ...]
MAX_COMPILED = 8
_COMPILED: dict[_Sources, yara_x.Rules] = {}
"""Rules compiled in this process, by their sources (the built-in ones, then each user folder's).
Compiling takes about 0.1 s and a scan compiled them to check user rules before its workers
start: the workers, forked after that, find them here and only make their own scanner."""


def _compiled(user_dirs: tuple[str, ...]) -> yara_x.Rules:
    """The built-in rules and those in `user_dirs`, compiled once per process for the same sources
    (a rule file edited since is read and compiled again)."""
    sources: _Sources = (
        tuple(_builtin_sources()),
        *(tuple(_user_sources(directory)) for directory in user_dirs),
    )
    rules = _COMPILED.get(sources)
    if rules is not None:
        return rules
    compiler = yara_x.Compiler()
    try:
        for origin, source in sources[0]:
            compiler.add_source(source, origin=origin)
        for index, folder in enumerate(sources[1:]):
            compiler.new_namespace(f"user{index}")
            for origin, source in folder:
                compiler.add_source(source, origin=origin)
    except yara_x.CompileError as exc:
        raise RuleLoadError(str(exc)) from exc
    if len(_COMPILED) >= MAX_COMPILED:
        _COMPILED.clear()  # a long-lived process whose user rules keep changing
    rules = _COMPILED[sources] = compiler.build()
    return rules


class YaraRules:
    """Compiled rules and a scanner over them (the rules are compiled once per process)."""

    def __init__(self, user_dirs: tuple[str, ...] = ()) -> None:
        self.rules = _compiled(user_dirs)
        self.scanner = yara_x.Scanner(self.rules)
        self.timeout = YARA_TIMEOUT_SECONDS
        self.scanner.set_timeout(self.timeout)

    def scan(self, data: bytes, deadline: Deadline = NO_DEADLINE) -> list[YaraHit]:
        """The rule hits in `data` (`scan_with_sinks` without the internal marks). Raises PatternTimeout
        when matching stops at its time limit."""
        return self.scan_with_sinks(data, deadline).hits

    def _set_timeout(self, deadline: Deadline) -> bool:
        """Set the scan timeout; True when the deadline, not YARA_TIMEOUT_SECONDS, set it."""
        remaining = deadline.remaining()
        # yara-x takes whole seconds (and may stop up to one early); at least one.
        seconds = YARA_TIMEOUT_SECONDS if remaining is None else math.ceil(remaining)
        seconds = max(1, min(YARA_TIMEOUT_SECONDS, seconds))
        if seconds != self.timeout:
            self.scanner.set_timeout(seconds)
            self.timeout = seconds
        return seconds < YARA_TIMEOUT_SECONDS

    def scan_with_sinks(self, data: bytes, deadline: Deadline = NO_DEADLINE) -> PatternScan:
        """Rule hits and internal marks (see `PatternScan`).

        Raises PatternTimeout when matching stops at its time limit (at most YARA_TIMEOUT_SECONDS,
        less when `deadline` is nearer), or fails: the caller must treat the input as unread."""
        by_deadline = self._set_timeout(deadline)
        try:
            results = self.scanner.scan(data)
        except yara_x.TimeoutError as exc:
            raise PatternTimeout(str(exc), by_deadline=by_deadline) from exc
        except yara_x.ScanError as exc:
            raise PatternTimeout(str(exc), by_deadline=False) from exc
        hits: list[YaraHit] = []
        sinks: list[int] = []
        sources: list[int] = []
        complete = True
        marks: set[str] = set()
        for rule in results.matching_rules:
            meta = dict(rule.metadata)
            internal = meta.get("internal")
            if internal in ("sink", SOURCE_HINT):
                kept = sinks if internal == "sink" else sources
                for pattern in rule.patterns:
                    matches = pattern.matches
                    complete = complete and len(matches) <= SINK_OFFSETS
                    kept.extend(m.offset for m in itertools.islice(matches, SINK_OFFSETS))
                if internal == "sink":
                    continue
            if isinstance(internal, str):
                marks.add(internal)
                continue
            hits.extend(_rule_hits(rule, meta))
        sinks.sort()
        ends = tuple(sorted(sinks + sources)) if complete else None
        return PatternScan(hits=hits, sinks=sinks, marks=frozenset(marks), ends=ends)


def _rule_hits(rule: yara_x.Rule, meta: dict[str, object]) -> list[YaraHit]:
    """The hits of a matching rule that is not internal."""
    hits: list[YaraHit] = []
    cap_name = meta.get("cap")
    try:
        cap = Cap(cap_name) if isinstance(cap_name, str) else None
    except ValueError:
        cap = None
    detail = str(meta.get("detail") or meta.get("description") or rule.identifier)
    trait = _trait(meta.get("trait"))
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
                    YaraHit(
                        rule=rule.identifier,
                        cap=cap,
                        detail=detail,
                        severity=severity,
                        offset=match.offset,
                        length=match.length,
                        trait=trait,
                    )
                )
            if index + 1 >= MATCHES_PER_PATTERN:
                break
    if cap is None:
        offset, length = first or (0, 0)
        hits.append(
            YaraHit(
                rule=rule.identifier, cap=None, detail=detail, severity=severity, offset=offset, length=length
            )
        )
    return hits


def _trait(name: object) -> Trait | None:
    """The typed qualifier a rule's `trait` meta names (unknown names are ignored, as `cap`s are)."""
    try:
        return Trait(name) if isinstance(name, str) else None
    except ValueError:
        return None


def default_rule_dirs() -> tuple[str, ...]:
    """Extra rule directories from CUSTODY_RULES (os.pathsep-separated), if set."""
    value = os.environ.get("CUSTODY_RULES", "")
    return tuple(p for p in value.split(os.pathsep) if p)
