"""After the fact: who got a file from the gate, and which served files are now known bad.

- `file_exposure`: every signed `gate-decision` record in the gate's ledger for a file (found by
  its sha256, or by NAME==VERSION through the gate store's decision log), each with its inclusion
  proof in the ledger's current tree, checked here before it is reported (the answer can be handed
  to someone who trusts only the log's signed checkpoint).
- `recheck`: every file the gate served, judged again against today's advisory data (a MAL-
  record `custody db update` brought after the file was served) and, optionally, by the current
  scanner; each condemned file comes with who fetched it and when.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any

from custody.advisories import AdvisoryStore, affects
from custody.gate.scanning import ScanOutcome
from custody.gate.store import DecisionRow, GateStore, StoredVerdict
from custody.inventory import Ecosystem
from custody.ledger import merkle
from custody.ledger.api import statement_of
from custody.ledger.attest import GATE_DECISION
from custody.ledger.store import LedgerStore
from custody.policy import same_version


@dataclass(frozen=True, slots=True, kw_only=True)
class Fetch:
    """One gate decision about the file, as the ledger holds it."""

    index: int
    """Position in the ledger."""
    integrated_at: str
    time: str | None
    client: str | None
    user_agent: str | None
    decision: str | None
    """`served` or `refused` (None for a redacted record)."""
    filename: str | None
    sha256: str
    project: str | None
    version: str | None
    proof: tuple[str, ...]
    """Inclusion proof (hex hashes) of the record in the tree of `GateExposure.tree_size`."""
    redacted: bool = False

    def as_json(self) -> dict[str, Any]:
        """The fetch as `custody gate exposure --format json` prints it."""
        return {
            "index": self.index,
            "integrated_at": self.integrated_at,
            "time": self.time,
            "client": self.client,
            "user_agent": self.user_agent,
            "decision": self.decision,
            "filename": self.filename,
            "sha256": self.sha256,
            "project": self.project,
            "version": self.version,
            "redacted": self.redacted,
            "proof": list(self.proof),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class GateExposure:
    """Who the gate gave a file to (and refused it to), provably."""

    query: dict[str, str]
    sha256: tuple[str, ...]
    """The file contents asked about."""
    tree_size: int
    root: str
    fetches: tuple[Fetch, ...]

    @property
    def clients(self) -> list[str]:
        """The client addresses the file was served to."""
        return sorted({f.client for f in self.fetches if f.decision == "served" and f.client})

    def as_json(self) -> dict[str, Any]:
        """The exposure answer as `custody gate exposure --format json` prints it."""
        return {
            "query": self.query,
            "sha256": list(self.sha256),
            "tree_size": self.tree_size,
            "root": self.root,
            "clients": self.clients,
            "fetches": [f.as_json() for f in self.fetches],
        }


def file_digests(store: GateStore, project: str, version: str) -> list[str]:
    """The sha256 of every file of `project==version` the gate decided on (its decision log)."""
    found: dict[str, None] = {}
    for row in store.decisions_of(project=project):
        if row.sha256 and row.version is not None and same_version(row.version, version):
            found.setdefault(row.sha256)
    return list(found)


def file_exposure(ledger: LedgerStore, digests: Iterable[str], query: dict[str, str]) -> GateExposure:
    """Every gate-decision record about the files `digests` in `ledger`, each with a checked
    inclusion proof against the current tree head. Raises `merkle.ProofError` if a proof fails
    (a log that does not hold together is not an answer)."""
    wanted = tuple(dict.fromkeys(d.lower() for d in digests))
    size = ledger.size()
    root = ledger.root(size)
    fetches: list[Fetch] = []
    for sha256 in wanted:
        for index in ledger.find("digest", f"sha256:{sha256}"):
            if index >= size:
                continue  # appended after the tree head was fixed: the next query has it
            entry = ledger.entry(index)
            if entry.kind != "gate-decision":
                continue
            proof = ledger.inclusion_proof(index, size)
            merkle.verify_inclusion(index, size, merkle.leaf_hash(entry.commitment), proof, root)
            predicate: dict[str, Any] = {}
            if entry.body is not None:
                statement = statement_of(entry.body)
                if statement.get("predicateType") != GATE_DECISION:
                    continue
                raw = statement.get("predicate")
                predicate = raw if isinstance(raw, dict) else {}
            fetches.append(
                Fetch(
                    index=index,
                    integrated_at=entry.integrated_at,
                    time=_text(predicate.get("time")),
                    client=_text(predicate.get("host")),
                    user_agent=_text(predicate.get("user_agent")),
                    decision=_text(predicate.get("decision")),
                    filename=_text(predicate.get("filename")),
                    sha256=sha256,
                    project=_text(predicate.get("project")),
                    version=_text(predicate.get("version")),
                    proof=tuple(p.hex() for p in proof),
                    redacted=entry.body is None,
                )
            )
    fetches.sort(key=lambda f: f.index)
    return GateExposure(query=query, sha256=wanted, tree_size=size, root=root.hex(), fetches=tuple(fetches))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


# -- recheck -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """One time a condemned file was served."""

    at: str
    client: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Condemned:
    """A file the gate served that is now known bad."""

    project: str
    version: str | None
    filename: str
    sha256: str
    rule: str
    """`malware-advisory` or `scan:RULE`."""
    reason: str
    advisories: tuple[str, ...] = ()
    served_to: tuple[Recipient, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The condemned file as `custody gate recheck --format json` prints it."""
        return {
            "project": self.project,
            "version": self.version,
            "filename": self.filename,
            "sha256": self.sha256,
            "rule": self.rule,
            "reason": self.reason,
            "advisories": list(self.advisories),
            "clients": sorted({r.client for r in self.served_to if r.client}),
            "served_to": [
                {"at": r.at, "client": r.client, "user_agent": r.user_agent} for r in self.served_to
            ],
        }


@dataclass(slots=True, kw_only=True)
class RecheckReport:
    """What `recheck` found.

    An accumulator: `recheck` adds condemned and unchecked files as it goes through the served ones."""

    files: int = 0
    """Distinct served files looked at."""
    condemned: list[Condemned] = field(default_factory=list)
    unchecked: list[dict[str, str]] = field(default_factory=list)
    """Files `--rescan` could not scan again (not in the cache, or the scan erred), with why."""
    advisories_checked: bool = True

    def as_json(self) -> dict[str, Any]:
        """The recheck report as `custody gate recheck --format json` prints it."""
        return {
            "files": self.files,
            "advisories_checked": self.advisories_checked,
            "condemned": [c.as_json() for c in self.condemned],
            "unchecked": self.unchecked,
        }


@dataclass(slots=True)
class _Served:
    """One served file and its decision rows: an accumulator the recheck appends rows to."""

    project: str
    version: str | None
    filename: str
    sha256: str
    rows: list[DecisionRow]


def served_files(store: GateStore) -> list[_Served]:
    """Every distinct file (by sha256 and name) the gate served, with each time it did."""
    found: dict[tuple[str, str], _Served] = {}
    for row in store.decisions_of(decision="served"):
        if not row.sha256:
            continue
        item = found.get((row.sha256, row.filename))
        if item is None:
            item = found[(row.sha256, row.filename)] = _Served(
                row.project, row.version, row.filename, row.sha256, []
            )
        item.rows.append(row)
    return list(found.values())


def recheck(
    store: GateStore,
    advisories: AdvisoryStore | None,
    *,
    rescan: Callable[[str], ScanOutcome] | None = None,
    scanner: str | None = None,
    files_dir: str | None = None,
) -> RecheckReport:
    """Judge every served file again: against the MAL- records in `advisories` (None: skipped,
    and the report says so) and, with `rescan` (a path -> outcome scan) and `files_dir` (the gate's
    file cache), by the current scanner; a new verdict is kept in the store under `scanner`."""
    report = RecheckReport(advisories_checked=advisories is not None)
    served = served_files(store)
    report.files = len(served)
    by_project: dict[str, list[Any]] = {}
    for item in served:
        reasons: list[tuple[str, str, tuple[str, ...]]] = []
        if advisories is not None and item.version is not None:
            if item.project not in by_project:
                by_project[item.project] = advisories.lookup(Ecosystem.PYPI, item.project)
            named = tuple(
                a.id
                for a in by_project[item.project]
                if a.malware and affects(a, Ecosystem.PYPI, item.project, item.version)
            )
            if named:
                reasons.append(("malware-advisory", f"named by {', '.join(named)}", named))
        if rescan is not None and files_dir is not None:
            path = os.path.join(files_dir, item.sha256[:2], item.sha256, item.filename)
            if not os.path.isfile(path):
                report.unchecked.append(
                    {"filename": item.filename, "sha256": item.sha256, "why": "not in the cache"}
                )
            else:
                outcome = rescan(path)
                if outcome.verdict == "error":
                    report.unchecked.append(
                        {"filename": item.filename, "sha256": item.sha256, "why": outcome.summary}
                    )
                else:
                    if scanner is not None:
                        store.save_verdict(
                            StoredVerdict(
                                sha256=item.sha256,
                                scanner=scanner,
                                verdict=outcome.verdict,
                                rule=outcome.rule,
                                location=outcome.location,
                                summary=outcome.summary,
                            ),
                            by="recheck",
                        )
                    if outcome.verdict == "malicious":
                        where = f" at {outcome.location}" if outcome.location else ""
                        reasons.append((f"scan:{outcome.rule}", f"malicious ({outcome.rule}{where})", ()))
        for rule, reason, named in reasons:
            report.condemned.append(
                Condemned(
                    project=item.project,
                    version=item.version,
                    filename=item.filename,
                    sha256=item.sha256,
                    rule=rule,
                    reason=reason,
                    advisories=named,
                    served_to=tuple(
                        Recipient(
                            at=r.at.astimezone(timezone.utc).isoformat(timespec="seconds"),
                            client=r.client,
                            user_agent=r.user_agent,
                        )
                        for r in item.rows
                    ),
                )
            )
    return report


__all__ = [
    "Condemned",
    "Fetch",
    "GateExposure",
    "RecheckReport",
    "Recipient",
    "file_digests",
    "file_exposure",
    "recheck",
    "served_files",
]
