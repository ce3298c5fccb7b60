"""What every judging section shares: the facts by capability, the context sets, and the one
place findings are added (deduplicated, at most a few per rule and file)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from custody.artifacts import Artifact, LimitKind
from custody.scan.collect import Collected
from custody.scan.facts import Cap, Fact
from custody.scan.model import Context, Finding, Severity

RUN_EARLY = frozenset({Context.STARTUP, Context.INSTALL})
UNASKED = frozenset({Context.STARTUP, Context.INSTALL, Context.IMPORT})
LIVE = frozenset({Context.STARTUP, Context.INSTALL, Context.IMPORT, Context.CALL})
SENDS = frozenset({Cap.NETWORK, Cap.EXFIL_SINK, Cap.DNS_EXFIL, Cap.DOWNLOAD_TOOL})
SECRETS = frozenset({Cap.SECRET, Cap.ENV_DUMP, Cap.CLOUD_METADATA})
MAX_PER_RULE_FILE = 3


def _first(item: tuple[int, Fact]) -> int:
    return item[0]


class Facts:
    """An artifact's facts, looked up by capability and the contexts they run in."""

    def __init__(self, facts: Iterable[Fact]) -> None:
        self.by_cap: dict[Cap, list[tuple[int, Fact]]] = defaultdict(list)
        for index, fact in enumerate(facts):
            self.by_cap[fact.cap].append((index, fact))

    def get(self, caps: Cap | Iterable[Cap], contexts: frozenset[Context] = LIVE) -> list[Fact]:
        """Facts of these capabilities in these contexts, in collection order (whatever order a
        set of capabilities iterates in: enum members hash by name, which differs from process to
        process, and the first fact is often the one a finding quotes)."""
        if isinstance(caps, Cap):
            return [f for _, f in self.by_cap.get(caps, ()) if f.context in contexts]
        found = [item for cap in caps for item in self.by_cap.get(cap, ()) if item[1].context in contexts]
        found.sort(key=_first)
        return [f for _, f in found]

    def files(self, caps: Cap | Iterable[Cap], contexts: frozenset[Context] = LIVE) -> set[str]:
        """Files holding such facts."""
        return {f.file for f in self.get(caps, contexts)}


class Judgement:
    """One artifact being judged: its facts in, findings out. Sections call `add`."""

    def __init__(self, artifact: Artifact, collected: Collected) -> None:
        self.artifact = artifact
        self.collected = collected
        self.facts = Facts(collected.facts)
        self.findings: list[Finding] = []
        self._count: dict[tuple[str, str], int] = defaultdict(int)
        self._seen: set[tuple[str, str, int | None, str]] = set()

    def add(
        self,
        rule: str,
        severity: Severity,
        fact: Fact | None,
        reason: str,
        *,
        file: str = "",
        line: int | None = None,
        snippet: str = "",
        context: Context | None = None,
        limit: LimitKind | None = None,
    ) -> None:
        """A finding at `fact` (or at `file`:`line`); the same finding twice, or more than
        `MAX_PER_RULE_FILE` of one rule in one file, is dropped."""
        if fact is not None:
            file, line = fact.file, fact.line
            info = self.collected.files.get(fact.file)
            snippet = info.line_text(fact.line) if info else snippet
        if (rule, file, line, reason) in self._seen:
            return
        self._seen.add((rule, file, line, reason))
        key = (rule, file)
        self._count[key] += 1
        if self._count[key] > MAX_PER_RULE_FILE:
            return
        if len(snippet) > 200:
            snippet = snippet[:197] + "..."
        self.findings.append(
            Finding(
                rule=rule,
                severity=severity,
                file=file,
                line=line,
                snippet=snippet,
                reason=reason,
                context=fact.context if fact else context,
                limit=limit,
            )
        )

    def same_file(
        self, a: Iterable[Cap] | Cap, b: Iterable[Cap] | Cap, contexts: frozenset[Context]
    ) -> set[str]:
        """Files holding facts of both `a` and `b` in `contexts`."""
        return self.facts.files(a, contexts) & self.facts.files(b, contexts)

    def snippet(self, file: str, line: int | None) -> str:
        """The text of `file`:`line`, if the file was read."""
        info = self.collected.files.get(file)
        return info.line_text(line) if info else ""
