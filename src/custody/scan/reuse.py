"""Per-module results kept across the artifacts one scanner reads, keyed by content.

The sdist and the wheels of one release hold the same modules byte for byte (a release of a
library with compiled parts ships a dozen platform wheels around one set of Python files), and
a gate or a mirror scans all of them. The pattern pass over a module and its analysis depend only
on the module's bytes and on a few facts the artifact contributes (its path inside the package,
the context it runs in, the functions other modules call at import); with those in the key, the
second copy of a module is answered from here instead of being read again.

Nothing is shared that depends on anything else: an analysis that read another module of its
artifact (a payload constant kept in a sibling module) is never stored, nor one cut short by a
timeout, nor one whose findings name any file other than the module itself. Results are stored
with the module's path and given back under the new one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar, cast

from custody.artifacts import Unread
from custody.scan.facts import Fact, FlowFact
from custody.scan.model import Context
from custody.scan.yara_rules import PatternScan, YaraHit

T = TypeVar("T")

DEFAULT_BUDGET = 96 << 20
"""Source bytes whose results one scanner keeps (least recently used first out): more than the
Python source of the largest releases among PyPI's most downloaded (google-ads, 71 MB), so a
release's second artifact finds its first one's modules, while the memory stays well inside the
scan's 1 GiB bound with two workers."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleKey:
    """Every input of one module's analysis besides rules and limits, which a scanner fixes."""

    data: bytes
    context: Context
    """When the module runs (its path inside the package, which decides it, matters only through
    it and `as_main`: the analysis of one module reads nothing else of its path)."""
    roots: frozenset[str]
    """Functions of the module other modules run at import or install."""
    as_main: bool
    """The installer runs the module as a program (setup.py, `python -m` by name)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleResult:
    """What the analysis of one module added, with the module's path as `file` in each item."""

    facts: tuple[Fact, ...]
    flows: tuple[FlowFact, ...]
    unread: tuple[Unread, ...]
    user_hits: tuple[tuple[YaraHit, int], ...]
    """User rule hits (rule hit, line); the file is the module."""

    def under(
        self, path: str
    ) -> tuple[list[Fact], list[FlowFact], list[Unread], list[tuple[str, YaraHit, int]]]:
        """The same items, naming the module by `path`."""
        return (
            [replace(fact, file=path) for fact in self.facts],
            [replace(flow, file=path) for flow in self.flows],
            [replace(gap, path=path) for gap in self.unread],
            [(path, hit, line) for hit, line in self.user_hits],
        )


def module_result(
    path: str,
    facts: list[Fact],
    flows: list[FlowFact],
    unread: list[Unread],
    user_hits: list[tuple[str, YaraHit, int]],
) -> ModuleResult | None:
    """The result to keep for the module at `path`; None when an item names another file (such a
    result is not a function of this module alone)."""
    if (
        any(f.file != path for f in facts)
        or any(f.file != path for f in flows)
        or any(g.path != path for g in unread)
        or any(h[0] != path for h in user_hits)
    ):
        return None
    return ModuleResult(
        facts=tuple(facts),
        flows=tuple(flows),
        unread=tuple(unread),
        user_hits=tuple((hit, line) for _, hit, line in user_hits),
    )


@dataclass(slots=True)
class _Entry:
    """What is kept for one module's bytes (an accumulator: filled as the analyses finish)."""

    patterns: PatternScan | None = None
    results: dict[ModuleKey, ModuleResult] = field(default_factory=dict)
    derived: dict[str, object] = field(default_factory=dict)
    """Other functions of the bytes alone, by name (`ModuleMemo.derived`)."""


class ModuleMemo:
    """Pattern passes and module analyses by content, least recently used out past `budget`
    source bytes. One per scanner (per process); not thread-safe, like the scanner."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        """Lookups answered from the memo (for benchmarks and tests)."""

    def patterns(self, data: bytes) -> PatternScan | None:
        """The pattern pass over `data`, if kept."""
        entry = self._get(data)
        found = entry.patterns if entry is not None else None
        self.hits += found is not None
        return found

    def keep_patterns(self, data: bytes, scanned: PatternScan) -> None:
        """Keep a completed pattern pass over `data`."""
        entry = self._entry(data)
        if entry is not None:
            entry.patterns = scanned

    def result(self, key: ModuleKey) -> ModuleResult | None:
        """The analysis of the module `key` describes, if kept."""
        entry = self._get(key.data)
        found = entry.results.get(key) if entry is not None else None
        self.hits += found is not None
        return found

    def keep_result(self, key: ModuleKey, result: ModuleResult) -> None:
        """Keep a completed analysis."""
        entry = self._entry(key.data)
        if entry is not None:
            entry.results[key] = result

    def derived(self, data: bytes, name: str, compute: Callable[[bytes], T]) -> T:
        """`compute(data)`, kept under `name`: for checks that depend on a module's bytes alone."""
        entry = self._get(data)
        if entry is not None and name in entry.derived:
            self.hits += 1
            return cast("T", entry.derived[name])
        value = compute(data)
        entry = self._entry(data)
        if entry is not None:
            entry.derived[name] = value
        return value

    def kept(self, data: bytes, name: str) -> object | None:
        """What `keep` kept under `name` for `data`, if anything."""
        entry = self._get(data)
        found = entry.derived.get(name) if entry is not None else None
        self.hits += found is not None
        return found

    def keep(self, data: bytes, name: str, value: object) -> None:
        """Keep `value` under `name` for `data` (the caller checks what it gets back)."""
        entry = self._entry(data)
        if entry is not None:
            entry.derived[name] = value

    def _get(self, data: bytes) -> _Entry | None:
        entry = self._entries.get(data)
        if entry is not None:
            self._entries.move_to_end(data)
        return entry

    def _entry(self, data: bytes) -> _Entry | None:
        """The entry for `data`, made room for if new; None for data larger than the budget."""
        entry = self._get(data)
        if entry is not None:
            return entry
        if len(data) > self.budget:
            return None
        entry = self._entries[data] = _Entry()
        self._bytes += len(data)
        while self._bytes > self.budget:
            dropped, _ = self._entries.popitem(last=False)
            self._bytes -= len(dropped)
        return entry


__all__ = ["DEFAULT_BUDGET", "ModuleKey", "ModuleMemo", "ModuleResult", "module_result"]
