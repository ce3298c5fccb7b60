"""Whole-log verification: recompute the tree from the commitments and name every disagreement.

Checks, each reported with where it happened:
- leaves are numbered 0..n-1 without gaps;
- every stored node equals the one recomputed from the commitments (an edited or reordered
  commitment shows up as the lowest stored node over it, and as its entry's metadata no longer
  matching); nodes below level 5 are not stored, the commitments determine them;
- every unredacted record still matches its commitment (an edited body, time or ref);
- every checkpoint (stored in the log, or saved elsewhere and passed in) is signed by the log
  key, is not beyond the log's end (truncation), and its root is the recomputed root at its size
  (rewritten history); two checkpoints of one size with different roots are a fork;
- every signed record verifies against the registered keys; signatures by a key after its
  compromise time (judged by the log's integration time, which the signer cannot backdate)
  are flagged, earlier ones are not. Compromise marks come from the signed `key-compromised`
  statements in the log; the key table's copy must agree (a mark added or cleared in SQL is
  named), and a redacted key-compromise statement is a problem.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from custody.ledger import merkle
from custody.ledger.attest import compromise_of
from custody.ledger.keys import BadKey, VerifierKey
from custody.ledger.proof_nodes import BLOCK_LEVELS, node_key
from custody.ledger.signing import Checkpoint, SignatureError, open_checkpoint, open_envelope
from custody.ledger.store import LedgerStore, StoredEntry, commitment_of

_CHUNK = 5000


@dataclass(frozen=True, slots=True, kw_only=True)
class LogReport:
    """What `verify_log` found: the log's size and recomputed root, problems (anything wrong makes the
    log not ok), entries flagged as signed by a key compromised by then, and counts of redacted
    entries and checkpoints checked."""

    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    problems: tuple[str, ...] = ()
    flagged: tuple[str, ...] = ()  # valid signatures by keys compromised by then
    redacted: int = 0
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


@dataclass(slots=True)
class _Findings:
    """An accumulator: the checks of one `verify_log` run add to it as they go (a check reports
    every disagreement, it does not stop at the first); the run then freezes it into a LogReport."""

    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    problems: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    redacted: int = 0
    checkpoints: int = 0

    def frozen(self) -> LogReport:
        """The findings as the report `verify_log` returns."""
        return LogReport(
            size=self.size,
            root=self.root,
            problems=tuple(self.problems),
            flagged=tuple(self.flagged),
            redacted=self.redacted,
            checkpoints=self.checkpoints,
        )


def verify_log(
    store: LedgerStore,
    *,
    log_keys: Sequence[VerifierKey] = (),
    saved_checkpoints: Sequence[str] = (),
    origin: str | None = None,
) -> LogReport:
    """Recompute the whole log: every entry's commitment and signatures, the tree from the leaves up,
    and every stored or `saved_checkpoints` checkpoint (signed by `log_keys`, for `origin` when
    given) against it. Problems are collected in the report, not raised."""
    report = _Findings()
    notes = [("stored", n) for _, _, n in store.checkpoints()] + [("saved", n) for n in saved_checkpoints]
    cps = _open_checkpoints(notes, log_keys, origin, report)
    wanted_sizes = {cp.size for _, cp in cps}
    roots = _check_tree(store, wanted_sizes, report)
    for where, cp in cps:
        if cp.size > report.size:
            report.problems.append(
                f"{where} of size {cp.size}: the log holds only {report.size} entries (truncated)"
            )
        elif roots.get(cp.size) != cp.root:
            report.problems.append(
                f"{where} of size {cp.size}: its root differs from the log's (history rewritten)"
            )
    by_size: dict[int, set[bytes]] = {}
    for _, cp in cps:
        by_size.setdefault(cp.size, set()).add(cp.root)
    for size, found in sorted(by_size.items()):
        if len(found) > 1:
            report.problems.append(f"fork: {len(found)} different signed roots for size {size}")
    report.checkpoints = len(cps)
    _check_records(store, report)
    _check_ref_index(store, report)
    return report.frozen()


def _open_checkpoints(
    notes: Sequence[tuple[str, str]], log_keys: Sequence[VerifierKey], origin: str | None, report: _Findings
) -> list[tuple[str, Checkpoint]]:
    out: list[tuple[str, Checkpoint]] = []
    for number, (where, note) in enumerate(notes):
        label = f"{where} checkpoint #{number}"
        try:
            cp = (
                open_checkpoint(note, log_keys, origin)
                if log_keys
                else Checkpoint.parse(note.split("\n\n")[0] + "\n")
            )
        except SignatureError as exc:
            report.problems.append(f"{label}: {exc}")
            continue
        out.append((label, cp))
    return out


def _check_tree(store: LedgerStore, sizes: set[int], report: _Findings) -> dict[int, bytes]:
    """Recompute leaf and node hashes chunk by chunk and compare with the stored ones."""
    rng = merkle.CompactRange()
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT} if 0 in sizes else {}
    expected_nodes = 0
    stream = store.conn.stream("SELECT idx, commitment FROM leaf ORDER BY idx", size=_CHUNK)
    while True:
        rows = list(itertools.islice(stream, _CHUNK))
        if not rows:
            break
        made: list[tuple[merkle.NodeId, bytes]] = []
        for idx, commitment in rows:
            if idx != rng.size:
                report.problems.append(f"leaf {rng.size}: missing (next stored leaf is {idx})")
                report.size, report.root = rng.size, rng.root()
                return roots
            made.extend(rng.append(merkle.leaf_hash(bytes(commitment))))
            if rng.size in sizes:
                roots[rng.size] = rng.root()
        # nodes below BLOCK_LEVELS are not stored (the commitments just read determine them):
        # the stored nodes above them are what can disagree
        made = [(node, h) for node, h in made if node[0] >= BLOCK_LEVELS]
        stored = store.get([n for n, _ in made])
        expected_nodes += len(made)
        for node, h in made:
            got = stored.get(node)
            if got != h:
                level, index = node
                first, last = index << level, ((index + 1) << level) - 1
                what = f"leaf {first}" if level == 0 else f"node level {level} over leaves {first}..{last}"
                state = "missing" if got is None else "differs from its recomputed hash"
                report.problems.append(f"{what}: stored hash {state}")
    # rows below BLOCK_LEVELS (stores made before they were derived) are not read by anything
    count = store.conn.execute(
        "SELECT count(*) FROM node WHERE id >= ?", (node_key((BLOCK_LEVELS, 0)),)
    ).fetchone()[0]
    if count != expected_nodes:
        report.problems.append(
            f"node table holds {count} hashes, a log of {rng.size} entries has {expected_nodes}"
        )
    report.size = rng.size
    report.root = rng.root()
    max_row = store.conn.execute("SELECT max(idx) FROM leaf").fetchone()[0]
    if max_row is not None and max_row + 1 != rng.size:
        report.problems.append(
            f"leaf numbering has gaps: highest index {max_row}, contiguous up to {rng.size}"
        )
    return roots


def _check_records(store: LedgerStore, report: _Findings) -> None:
    keys = store.keys()
    keyring: dict[str, VerifierKey] = {}
    for keyid, (text, _) in keys.items():
        if text:
            try:
                keyring[keyid] = VerifierKey.parse(text)
            except BadKey as exc:
                report.problems.append(f"registered key {keyid}: {exc}")
    compromised = _compromise_marks(store, keyring, report)
    _check_key_table(keys, compromised, report)
    erased: dict[int, bytes] = {}  # redacted entry -> its commitment
    vouched: set[tuple[int, bytes]] = set()  # (entry, commitment) named by a signed redaction
    for entry in store.entries():
        if entry.body is None or entry.salt is None:
            if entry.redacted_at is None:
                report.problems.append(f"entry {entry.index}: metadata missing without a redaction record")
            else:
                report.redacted += 1
                erased[entry.index] = entry.commitment
                if entry.kind == "key-compromised":
                    report.problems.append(
                        f"entry {entry.index}: a key-compromise statement was redacted (its mark is lost)"
                    )
            continue
        expected = commitment_of(entry.kind, entry.integrated_at, entry.salt, entry.body, entry.refs)
        if expected != entry.commitment:
            report.problems.append(f"entry {entry.index}: metadata does not match its commitment (edited)")
            continue
        _check_signatures(entry, keyring, compromised, report)
        if entry.kind == "redacted":
            vouched.update(_redaction_named(entry, keyring))
    for index, commitment in sorted(erased.items()):
        if (index, commitment) not in vouched:
            report.problems.append(
                f"entry {index}: redacted without a signed redaction statement in the log"
                " (erased behind the log's back)"
            )


def _compromise_marks(
    store: LedgerStore, keyring: dict[str, VerifierKey], report: _Findings
) -> dict[str, tuple[str, int]]:
    """Key id -> (earliest compromise time, the statement's index), from the validly signed
    `key-compromised` statements in the log whose metadata matches its commitment: the only
    source of compromise flags (the key table is checked against it, not trusted). Read before
    the other records because a mark covers signatures logged before it (a backdated `since`).
    Statements that fail are reported by the record checks."""
    marks: dict[str, tuple[str, int]] = {}
    for entry in store.entries(kind="key-compromised"):
        if entry.body is None or entry.salt is None:
            continue
        expected = commitment_of(entry.kind, entry.integrated_at, entry.salt, entry.body, entry.refs)
        if expected != entry.commitment:
            continue
        try:
            opened = open_envelope(json.loads(entry.body), keyring)
            keyid, since = compromise_of(json.loads(opened.payload))
        except (SignatureError, ValueError, TypeError):
            continue
        if keyid not in marks or since < marks[keyid][0]:
            marks[keyid] = (since, entry.index)
    return marks


def _check_key_table(
    keys: dict[str, tuple[str, str | None]], marks: dict[str, tuple[str, int]], report: _Findings
) -> None:
    """The key table's compromise column must say what the log's statements say: a mark added,
    moved or cleared there behind the log's back is named (flags follow the log either way)."""
    for keyid in sorted(set(marks) | {k for k, (_, since) in keys.items() if since}):
        table = keys.get(keyid, ("", None))[1]
        logged = marks.get(keyid)
        if logged is None:
            report.problems.append(
                f"key {keyid}: the key table marks it compromised since {table}, but no signed"
                " statement in the log does (added behind the log's back, or marked by an older"
                " custody: mark it again with `custody key compromised --key`)"
            )
        elif table != logged[0]:
            said = "no mark" if table is None else f"since {table}"
            report.problems.append(
                f"key {keyid}: the log marks it compromised since {logged[0]} (entry {logged[1]}),"
                f" the key table says {said} (edited behind the log's back; flags follow the log)"
            )


def _redaction_named(entry: StoredEntry, keyring: dict[str, VerifierKey]) -> list[tuple[int, bytes]]:
    """(entry, commitment) a validly signed `redacted` statement names; none if it does not verify
    (that is reported by the signature check)."""
    try:
        opened = open_envelope(json.loads(entry.body or b""), keyring)
        stmt = json.loads(opened.payload)
        target = int(stmt["predicate"]["entry"])
        digests = [bytes.fromhex(s["digest"]["sha256"]) for s in stmt["subject"]]
    except (SignatureError, ValueError, KeyError, TypeError):
        return []
    return [(target, d) for d in digests]


def _check_ref_index(store: LedgerStore, report: _Findings) -> None:
    """The exposure index (entry_ref) must say exactly what each record's committed refs say:
    a row added or removed there would make an exposure query lie while proofs still pass.
    Both sides are read in index order and merged, so memory stays flat on a big log."""
    rows = store.conn.stream("SELECT idx, field, value FROM entry_ref ORDER BY idx, field, value")
    groups = itertools.groupby(rows, key=lambda r: int(r[0]))
    pending = next(groups, None)
    for entry in store.entries():
        while pending is not None and pending[0] < entry.index:
            report.problems.append(f"exposure index names entry {pending[0]}, which does not exist")
            pending = next(groups, None)
        indexed: list[tuple[str, str]] = []
        if pending is not None and pending[0] == entry.index:
            # as a set: a store made before entry_ref was keyed by (field, value, idx) may hold
            # a repeated value twice, which answers every query alike
            indexed = sorted({(str(f), str(v)) for _, f, v in pending[1]})
            pending = next(groups, None)
        expected = sorted({(k, v) for k, values in entry.refs.items() for v in values})
        if indexed != expected:
            report.problems.append(
                f"entry {entry.index}: exposure index differs from its record (index edited)"
            )
    while pending is not None:
        report.problems.append(f"exposure index names entry {pending[0]}, which does not exist")
        pending = next(groups, None)


def _check_signatures(
    entry: StoredEntry,
    keyring: dict[str, VerifierKey],
    compromised: dict[str, tuple[str, int]],
    report: _Findings,
) -> None:
    if entry.body is None or not entry.body.startswith(b"{"):
        return
    try:
        envelope = json.loads(entry.body)
    except ValueError:
        return
    if not isinstance(envelope, dict) or "signatures" not in envelope:
        return
    try:
        opened = open_envelope(envelope, keyring)
    except SignatureError as exc:
        report.problems.append(f"entry {entry.index}: {exc}")
        return
    for keyid in opened.signers:
        mark = compromised.get(keyid)
        if mark is not None and entry.integrated_at >= mark[0]:
            report.flagged.append(
                f"entry {entry.index}: signed by {keyid} at {entry.integrated_at},"
                f" after its compromise at {mark[0]} (marked in entry {mark[1]})"
            )


def verify_extension(store: LedgerStore, start: int, start_root: bytes, size: int) -> bytes:
    """Recompute what was added to the log between sizes `start` (whose signed root is
    `start_root`) and `size` from the stored commitments, and return the root at `size`.

    Raises merkle.ProofError naming the first fault: the stored border at `start` does not give
    `start_root`, a leaf is missing, or a stored leaf or node hash differs from its recomputed
    one. Cost is O(size - start), so a checkpoint after each batch checks only that batch.
    """
    plan = merkle.range_nodes(0, start)
    border = store.get(plan)
    if len(border) != len(plan):
        raise merkle.ProofError(f"tree nodes at size {start} are missing")
    rng = merkle.CompactRange(start, [border[n] for n in plan])
    if rng.root() != start_root:
        raise merkle.ProofError(f"the stored tree at size {start} no longer has the root signed then")
    rows = store.conn.stream(
        "SELECT idx, commitment FROM leaf WHERE idx >= ? AND idx < ? ORDER BY idx", (start, size), _CHUNK
    )
    while batch := list(itertools.islice(rows, _CHUNK)):
        made: list[tuple[merkle.NodeId, bytes]] = []
        for idx, commitment in batch:
            if idx != rng.size:
                raise merkle.ProofError(f"leaf {rng.size} is missing")
            made.extend(rng.append(merkle.leaf_hash(bytes(commitment))))
        made = [(node, h) for node, h in made if node[0] >= BLOCK_LEVELS]  # the stored ones
        stored = store.get([n for n, _ in made])
        for node, h in made:
            if stored.get(node) != h:
                raise merkle.ProofError(f"stored hash of node {node} differs from its recomputed hash")
    if rng.size != size:
        raise merkle.ProofError(f"leaf {rng.size} is missing")
    return rng.root()
