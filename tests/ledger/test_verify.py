"""Whole-log verification names what was tampered with and where."""

from __future__ import annotations

import pytest

from custody.ledger import merkle
from custody.ledger.api import Record, checkpoint, mark_compromised, record, redact, statement_of
from custody.ledger.keys import SigningKey
from custody.ledger.signing import Checkpoint
from custody.ledger.store import LedgerStore, node_key
from custody.ledger.verify import verify_log
from custody.store import StoreError

ORIGIN = "log.example/custody"


def _records(n: int, principal: str = "ann") -> list[Record]:
    return [
        Record(
            "produced",
            [{"name": f"ds{i}", "digest": {"sha256": f"{i:064x}"}}],
            {"producer": "vendor", "client": f"client{i % 2}", "project": "p", "principal": principal},
        )
        for i in range(n)
    ]


@pytest.fixture
def log(store: LedgerStore, alice: SigningKey, log_key: SigningKey) -> LedgerStore:
    record(store, _records(10), [alice])
    checkpoint(store, ORIGIN, [log_key])
    record(store, _records(10), [alice])
    checkpoint(store, ORIGIN, [log_key])
    return store


def _problems(store: LedgerStore, log_key: SigningKey, saved: list[str] | None = None) -> list[str]:
    return list(
        verify_log(store, log_keys=[log_key.verifier], saved_checkpoints=saved or [], origin=ORIGIN).problems
    )


def _rebuild_nodes(store: LedgerStore) -> None:
    """What a careful attacker does after editing leaves: make the stored tree consistent again."""
    rows = store.conn.execute("SELECT commitment FROM leaf ORDER BY idx").fetchall()
    rng = merkle.CompactRange()
    store.conn.execute("DELETE FROM node")
    for (commitment,) in rows:
        for n, h in rng.append(merkle.leaf_hash(bytes(commitment))):
            store.conn.execute("INSERT INTO node(id, hash) VALUES (?, ?)", (node_key(n), h))


def test_untouched_log_verifies(log: LedgerStore, log_key: SigningKey) -> None:
    report = verify_log(log, log_keys=[log_key.verifier], origin=ORIGIN)
    assert report.ok, report.problems
    assert (report.size, report.checkpoints, report.flagged) == (20, 2, ())
    assert report.root == log.root()


def test_edited_entry_is_named(log: LedgerStore, log_key: SigningKey) -> None:
    body = log.entry(3).body
    assert body is not None
    log.conn.execute("UPDATE entry SET body = ? WHERE idx = 3", (body.replace(b'"sig":"', b'"sig":"A'),))
    log.conn.execute("UPDATE entry SET kind = 'exported' WHERE idx = 7")
    assert _problems(log, log_key) == [
        "entry 3: metadata does not match its commitment (edited)",
        "entry 7: metadata does not match its commitment (edited)",
    ]


def test_edited_leaf_is_named_even_with_a_consistent_tree(log: LedgerStore, log_key: SigningKey) -> None:
    log.conn.execute("UPDATE leaf SET commitment = ? WHERE idx = 4", (bytes(32),))
    problems = _problems(log, log_key)
    # no stored node covers leaves 0..19 (nodes below level 5 are hashed from the commitments):
    # the entry and both checkpoints over it name the edit
    assert problems == [
        "stored checkpoint #0 of size 10: its root differs from the log's (history rewritten)",
        "stored checkpoint #1 of size 20: its root differs from the log's (history rewritten)",
        "entry 4: metadata does not match its commitment (edited)",
    ]
    _rebuild_nodes(log)
    problems = _problems(log, log_key)
    assert any("checkpoint #0 of size 10" in p and "history rewritten" in p for p in problems)
    assert any("checkpoint #1 of size 20" in p and "history rewritten" in p for p in problems)
    with pytest.raises(merkle.ProofError, match="refusing to sign: not consistent with checkpoint 20"):
        checkpoint(log, ORIGIN, [log_key])


def test_reordered_leaves_are_named(log: LedgerStore, log_key: SigningKey) -> None:
    two, five = (
        log.conn.execute("SELECT commitment FROM leaf WHERE idx = ?", (i,)).fetchone()[0] for i in (2, 5)
    )
    log.conn.execute("UPDATE leaf SET commitment = ? WHERE idx = 2", (five,))
    log.conn.execute("UPDATE leaf SET commitment = ? WHERE idx = 5", (two,))
    problems = _problems(log, log_key)
    assert any("checkpoint #0 of size 10" in p and "history rewritten" in p for p in problems)
    for index in (2, 5):
        assert f"entry {index}: metadata does not match its commitment (edited)" in problems


def test_an_edited_commitment_under_a_stored_node_names_the_node(log: LedgerStore, alice, log_key) -> None:
    record(log, _records(20), [alice])  # size 40: leaves 0..31 under the stored node (5, 0)
    log.conn.execute("UPDATE leaf SET commitment = ? WHERE idx = 4", (bytes(32),))
    problems = _problems(log, log_key)
    assert "node level 5 over leaves 0..31: stored hash differs from its recomputed hash" in problems
    assert "entry 4: metadata does not match its commitment (edited)" in problems


def test_truncated_tail_is_named(log: LedgerStore, log_key: SigningKey) -> None:
    saved = [n for _, _, n in log.checkpoints()]
    for table in ("leaf", "entry", "entry_ref"):
        log.conn.execute(f"DELETE FROM {table} WHERE idx >= 15")
    log.conn.execute("DELETE FROM checkpoint")
    _rebuild_nodes(log)
    problems = _problems(log, log_key, saved)
    assert problems == ["saved checkpoint #1 of size 20: the log holds only 15 entries (truncated)"]


def test_fork_two_roots_for_one_size(log: LedgerStore, log_key: SigningKey, tmp_path, alice) -> None:
    with LedgerStore.open(str(tmp_path / "other.db")) as other:
        record(other, _records(20, principal="mallory"), [alice])
        forked = checkpoint(other, ORIGIN, [log_key])
    problems = _problems(log, log_key, [forked])
    assert "fork: 2 different signed roots for size 20" in problems
    assert any("saved checkpoint #2 of size 20" in p and "history rewritten" in p for p in problems)


def test_checkpoint_chain_wrong_key_and_truncated_note(log: LedgerStore, log_key: SigningKey) -> None:
    good = log.checkpoints()[0][2]
    wrong = Checkpoint(origin=ORIGIN, size=10, root=log.root(10)).sign([SigningKey.generate("log.example")])
    problems = _problems(log, log_key, [good, wrong, good[:-30]])
    assert problems[0].startswith(
        "saved checkpoint #3: note is not signed by any trusted key (signed by log.example+"
    )
    assert problems[1].startswith("saved checkpoint #4: ")
    assert len(problems) == 2


def test_compromised_key_flags_later_signatures_only(store: LedgerStore, alice, bob, log_key) -> None:
    early = record(store, _records(3), [alice])
    late = record(store, _records(3), [alice, bob])
    since = store.entry(late[0]).integrated_at
    assert store.entry(early[-1]).integrated_at < since
    at = mark_compromised(store, alice.keyid, since, "laptop stolen", [bob])
    report = verify_log(store)
    assert report.ok, report.problems
    assert [f.split(":")[0] for f in report.flagged] == [f"entry {i}" for i in late]
    assert all(alice.keyid in f and f"marked in entry {at}" in f for f in report.flagged)
    mark = store.entry(at)  # who (the signer), when (the log's time) and why, in the log
    assert mark.kind == "key-compromised" and mark.refs["key"] == [bob.keyid]
    assert mark.refs["compromised_key"] == [alice.keyid]
    assert statement_of(mark.body or b"")["predicate"]["reason"] == "laptop stolen"


@pytest.fixture
def marked(store: LedgerStore, alice, bob) -> tuple[LedgerStore, list[int], int]:
    """Three entries by alice (one batch, then two), then alice marked compromised by bob from
    the second batch on."""
    signed = [*record(store, _records(1), [alice]), *record(store, _records(2), [alice])]
    since = store.entry(signed[1]).integrated_at
    assert store.entry(signed[0]).integrated_at < since
    return store, signed, mark_compromised(store, alice.keyid, since, "key leaked", [bob])


def test_a_compromise_mark_added_in_sql_is_reported_and_flags_nothing(store: LedgerStore, alice, bob) -> None:
    # Design gap (issue 11): marks lived only in the key table, so an SQL update could add one
    # (or clear one) and `log verify` said OK. Marks now come from signed statements in the log.
    record(store, _records(2), [alice])
    store.conn.execute(
        "UPDATE signer_key SET compromised_since = '2000-01-01T00:00:00.000000Z' WHERE keyid = ?",
        (alice.keyid,),
    )
    report = verify_log(store)
    assert report.problems == (
        f"key {alice.keyid}: the key table marks it compromised since 2000-01-01T00:00:00.000000Z, but no"
        " signed statement in the log does (added behind the log's back, or marked by an older custody:"
        " mark it again with `custody key compromised --key`)",
    )
    assert report.flagged == ()  # flags follow the log
    mark_compromised(store, alice.keyid, "2000-01-01", "the old mark, now signed", [bob])
    report = verify_log(store)
    assert report.ok, report.problems
    assert len(report.flagged) == 2


def test_a_compromise_mark_cleared_or_moved_in_sql_is_reported_and_still_flags(marked) -> None:
    store, signed, at = marked
    assert verify_log(store).ok
    store.conn.execute("UPDATE signer_key SET compromised_since = NULL")
    report = verify_log(store)
    assert len(report.problems) == 1 and "the key table says no mark" in report.problems[0]
    assert f"(entry {at})" in report.problems[0]
    assert [f.split(":")[0] for f in report.flagged] == [f"entry {i}" for i in signed[1:]]
    store.conn.execute("UPDATE signer_key SET compromised_since = '2999-01-01T00:00:00.000000Z'")
    report = verify_log(store)
    assert "the key table says since 2999-01-01T00:00:00.000000Z" in report.problems[0]
    assert len(report.flagged) == 2


def test_a_compromise_statement_erased_or_edited_in_sql_is_reported(marked) -> None:
    store, _, at = marked
    store.conn.execute("UPDATE entry SET body = NULL, salt = NULL, refs = NULL WHERE idx = ?", (at,))
    problems = verify_log(store).problems
    assert f"entry {at}: metadata missing without a redaction record" in problems
    assert any("the key table marks it compromised" in p for p in problems)  # the mark is gone


def test_a_compromise_statement_is_never_redacted(marked, bob) -> None:
    store, _, at = marked
    with pytest.raises(StoreError, match="key-compromise statement: it is never redacted"):
        redact(store, at, "erasure request", [bob])
    store.redact(at, "behind the log's back")  # what SQL can do
    problems = verify_log(store).problems
    assert f"entry {at}: a key-compromise statement was redacted (its mark is lost)" in problems


def test_a_backdated_mark_flags_what_was_logged_before_it_and_the_earliest_holds(marked, alice, bob) -> None:
    store, signed, _ = marked
    mark_compromised(store, alice.keyid, "2999-01-01", "a later, narrower mark", [bob])
    report = verify_log(store)
    assert report.ok, report.problems  # the earliest mark holds, in the log and in the table
    assert [f.split(":")[0] for f in report.flagged] == [f"entry {i}" for i in signed[1:]]


def test_a_mark_needs_a_signer_a_reason_and_a_valid_time(store: LedgerStore, alice, bob) -> None:
    with pytest.raises(ValueError, match="give a key"):
        mark_compromised(store, alice.keyid, "2000-01-01", "why", [])
    with pytest.raises(ValueError, match="reason"):
        mark_compromised(store, alice.keyid, "2000-01-01", "", [bob])
    with pytest.raises(ValueError, match="bad time"):
        mark_compromised(store, alice.keyid, "yesterday", "why", [bob])
    assert store.size() == 0


def test_unknown_signer_is_a_problem(log: LedgerStore, alice, log_key) -> None:
    log.conn.execute("DELETE FROM signer_key")
    problems = _problems(log, log_key)
    assert len(problems) == 20
    assert problems[0] == f"entry 0: envelope signed by unknown key {alice.keyid}"


def test_edited_exposure_index_is_named(log: LedgerStore, log_key: SigningKey) -> None:
    log.conn.execute("DELETE FROM entry_ref WHERE idx = 4 AND field = 'principal'")  # hide a read
    log.conn.execute("INSERT INTO entry_ref(idx, field, value) VALUES (6, 'principal', 'mallory')")
    log.conn.execute("INSERT INTO entry_ref(idx, field, value) VALUES (99, 'principal', 'ghost')")
    assert _problems(log, log_key) == [
        "entry 4: exposure index differs from its record (index edited)",
        "entry 6: exposure index differs from its record (index edited)",
        "exposure index names entry 99, which does not exist",
    ]


def test_checkpoint_refuses_to_sign_over_a_missing_or_edited_leaf_since_the_last_one(
    log: LedgerStore, alice: SigningKey, log_key: SigningKey
) -> None:
    # Design gap (issue 11): `log checkpoint` signed the head of a log that failed verification
    # (a missing leaf), because it only checked consistency of the stored nodes.
    record(log, _records(5), [alice])  # entries 20..24, not yet checkpointed
    log.conn.execute("DELETE FROM leaf WHERE idx = 22")
    assert log.size() == 25  # the highest leaf is still there, so the size looks whole
    with pytest.raises(
        merkle.ProofError, match=r"since the last checkpoint fail verification: leaf 22 is missing"
    ):
        checkpoint(log, ORIGIN, [log_key])
    assert log.latest_checkpoint() is not None and log.latest_checkpoint()[0] == 20  # nothing signed


def test_checkpoint_refuses_to_sign_over_an_edited_commitment(
    log: LedgerStore, alice: SigningKey, log_key: SigningKey
) -> None:
    record(log, _records(45), [alice])  # size 65: leaves 32..63 are under the stored node (5, 1)
    log.conn.execute("UPDATE leaf SET commitment = ? WHERE idx = 40", (bytes(32),))
    with pytest.raises(merkle.ProofError, match=r"node \(5, 1\) differs from its recomputed hash"):
        checkpoint(log, ORIGIN, [log_key])


def test_an_edited_commitment_no_stored_node_covers_is_refused(
    log: LedgerStore, alice: SigningKey, log_key: SigningKey
) -> None:
    # Nodes below level 5 are hashed from the commitments, so the commitments of the last,
    # incomplete block of 32 are covered by no stored node: an edit there must not be signed,
    # nor built into the tree.
    record(log, _records(1), [alice])  # entry 20: size 21
    log.conn.execute("UPDATE leaf SET commitment = ? WHERE idx = 20", (bytes(32),))
    with pytest.raises(merkle.ProofError, match="entry 20: its commitment does not match its metadata"):
        checkpoint(log, ORIGIN, [log_key])
    with pytest.raises(StoreError, match="entry 20: its commitment does not match its metadata"):
        record(log, _records(1), [alice])
    assert log.size() == 21 and log.latest_checkpoint()[0] == 20  # type: ignore[index]
    assert "entry 20: metadata does not match its commitment (edited)" in _problems(log, log_key)
