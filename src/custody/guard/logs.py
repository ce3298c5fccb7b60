"""Reading a guard log (JSON lines written by the bootstrap): summaries, drafted policies, and
sealing events into the signed ledger after the fact.

Sealing runs as its own command, not in the guarded process: signing needs the ledger, key and
cryptography stacks (far too heavy for interpreter start-up), and a guarded process that could
write to the ledger could be made to forge entries.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from custody.policy.guard import drafted_policy

SEAL_BATCH = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardEvent:
    """One log line."""

    time: str
    pid: int
    event: str
    capability: str
    resource: str
    package: str
    startup_file: str | None
    where: str | None
    decision: str
    rule: str | None
    finding: str | None
    raw: dict[str, Any]

    @property
    def name(self) -> str:
        """The distribution's name without its version."""
        return self.package.split(" ", 1)[0]


def read_log(path: str) -> Iterator[GuardEvent]:
    """Every well-formed event of the log at `path` (a torn or foreign line is skipped)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                raw = json.loads(line)
                yield GuardEvent(
                    time=str(raw["time"]),
                    pid=int(raw["pid"]),
                    event=str(raw["event"]),
                    capability=str(raw["capability"]),
                    resource=str(raw["resource"]),
                    package=str(raw["package"]),
                    startup_file=raw.get("startup_file"),
                    where=raw.get("where"),
                    decision=str(raw["decision"]),
                    rule=raw.get("rule"),
                    finding=raw.get("finding"),
                    raw=raw,
                )
            except (ValueError, KeyError, TypeError):
                continue


@dataclass(slots=True, kw_only=True)
class PackageSummary:
    """What one distribution did, per `custody guard report`.

    An accumulator: the report counts each audit event into its distribution's summary."""

    package: str
    capabilities: Counter[str] = field(default_factory=Counter)
    denied: list[GuardEvent] = field(default_factory=list)
    findings: list[GuardEvent] = field(default_factory=list)
    startup_files: set[str] = field(default_factory=set)
    resources: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def summarise(events: Sequence[GuardEvent]) -> list[PackageSummary]:
    """Per distribution: capability counts, refusals (or would-be refusals), findings, resources."""
    by_package: dict[str, PackageSummary] = {}
    for event in events:
        summary = by_package.setdefault(event.package, PackageSummary(package=event.package))
        summary.capabilities[event.capability] += 1
        summary.resources[event.capability].add(event.resource)
        if event.decision in ("deny", "would-deny"):
            summary.denied.append(event)
        if event.finding:
            summary.findings.append(event)
        if event.startup_file:
            summary.startup_files.add(event.startup_file)
    return [by_package[k] for k in sorted(by_package)]


def learn(events: Sequence[GuardEvent]) -> str:
    """A draft `[guard]` policy granting each distribution what it was seen doing (reads are not
    restricted by the draft; protected groups it touched are granted, so review them)."""
    usage: dict[str, dict[str, set[str]]] = {}
    for event in events:
        if event.package == "unowned start-up file":
            continue
        seen = usage.setdefault(event.name, defaultdict(set))
        if event.rule and event.rule.startswith("protected:"):
            seen["protected"].add(event.rule.split(":", 1)[1])
        if event.capability == "network":
            seen["network"].add(event.resource)
        elif event.capability == "write":
            seen["write"].add(event.resource)
        elif event.capability in ("subprocess", "dynamic_code"):
            seen["flags"].add(event.capability)
    return drafted_policy({name: {k: sorted(v) for k, v in seen.items()} for name, seen in usage.items()})


def seal(path: str, ledger: str, key_path: str | None, data_dir: str) -> range:
    """Append every event of the log at `path` to `ledger` as signed `guard-event` records, in
    batches; returns the log indexes written."""
    from custody.ledger.api import Record, record  # noqa: PLC0415 - heavy; only when sealing
    from custody.ledger.keys import SigningKey, load_signing_key, write_key_pair  # noqa: PLC0415
    from custody.ledger.store import LedgerStore  # noqa: PLC0415

    if "://" not in ledger:
        os.makedirs(os.path.dirname(os.path.abspath(ledger)), exist_ok=True)
    if key_path is None:
        os.makedirs(data_dir, exist_ok=True)
        key_path = os.path.join(data_dir, "custody-guard.key")
        if not os.path.exists(key_path):
            write_key_pair(SigningKey.generate("custody-guard"), data_dir)
    key = load_signing_key(key_path)
    store = LedgerStore.open(ledger)
    written: list[int] = []
    try:
        batch: list[Record] = []
        for event in read_log(path):
            predicate = {k: v for k, v in event.raw.items() if v is not None and k != "args"}
            predicate["args"] = json.dumps(event.raw.get("args"))[:1000]
            batch.append(Record("guard-event", [{"name": event.package, "digest": {}}], predicate))
            if len(batch) >= SEAL_BATCH:
                written.extend(record(store, batch, [key]))
                batch = []
        if batch:
            written.extend(record(store, batch, [key]))
    finally:
        store.close()
    return range(written[0], written[-1] + 1) if written else range(0)
