"""The log on both backends (the store contract suite): batched appends, proofs from stored
nodes, redaction, crashes, two writers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.ledger import merkle
from custody.ledger.api import checkpoint, redact
from custody.ledger.proof_nodes import BLOCK_LEVELS
from custody.ledger.store import IdempotencyConflict, LedgerStore, NewEntry, commitment_of, node_key
from custody.ledger.verify import verify_log
from custody.store import StoreError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _entries(n: int, tag: str = "e") -> list[NewEntry]:
    return [NewEntry("produced", f"{tag}{i}".encode(), {"principal": [f"p{i % 3}"]}) for i in range(n)]


def _reference(store: LedgerStore) -> merkle.MemoryTree:
    rows = store.conn.execute("SELECT commitment FROM leaf ORDER BY idx")
    return merkle.MemoryTree(merkle.leaf_hash(bytes(r[0])) for r in rows)


def test_batches_get_consecutive_indexes_and_match_an_in_memory_tree(store: LedgerStore) -> None:
    assert store.size() == 0
    assert store.root() == merkle.EMPTY_ROOT
    assert store.append(_entries(5)) == range(0, 5)
    assert store.append(_entries(1)) == range(5, 6)
    assert store.append(_entries(4500)) == range(6, 4506)  # more than one internal chunk
    ref = _reference(store)
    for size in (1, 2, 5, 6, 7, 1000, 4096, 4506):
        assert store.root(size) == ref.root(size)
    for index, size in ((0, 4506), (5, 6), (4505, 4506), (1234, 3000)):
        assert store.inclusion_proof(index, size) == ref.inclusion_proof(index, size)
    for size1, size2 in ((1, 4506), (6, 4506), (4096, 4506), (5, 6)):
        proof = store.consistency_proof(size1, size2)
        assert proof == ref.consistency_proof(size1, size2)
        merkle.verify_consistency(size1, size2, proof, store.root(size1), store.root(size2))


def test_entry_metadata_round_trips_and_matches_commitment(store: LedgerStore) -> None:
    store.append([NewEntry("accessed", b"body", {"principal": ["ann"], "host": ["h1", "h2"]})])
    e = store.entry(0)
    assert (e.kind, e.body, e.refs) == ("accessed", b"body", {"principal": ["ann"], "host": ["h1", "h2"]})
    assert e.salt is not None
    assert commitment_of(e.kind, e.integrated_at, e.salt, e.body or b"", e.refs) == e.commitment
    assert store.find("host", "h2") == [0]
    store.append([NewEntry("accessed", b"b", {"principal": [], "host": ["h3"]})])
    assert store.entry(1).refs == {"host": ["h3"]}
    assert verify_log(store).ok
    with pytest.raises(StoreError, match="no entry 2"):
        store.entry(2)


def test_redaction_keeps_every_proof_valid(store: LedgerStore, alice) -> None:
    store.append(_entries(20))
    root = store.root(20)
    proof = store.inclusion_proof(7, 20)
    assert redact(store, 7, "GDPR erasure request 42", [alice]) == 20  # the signed statement
    e = store.entry(7)
    assert e.body is None and e.salt is None and e.refs == {}
    assert e.redaction_reason == "GDPR erasure request 42"
    assert store.root(20) == root
    assert store.inclusion_proof(7, 20) == proof
    merkle.verify_inclusion(7, 20, merkle.leaf_hash(e.commitment), proof, root)
    report = verify_log(store)
    assert report.ok, report.problems
    assert report.redacted == 1
    statement = store.entry(20)
    assert statement.kind == "redacted" and statement.refs["key"] == [alice.keyid]
    with pytest.raises(StoreError, match="already redacted"):
        redact(store, 7, "again", [alice])


def test_an_erasure_made_behind_the_logs_back_is_found(store: LedgerStore, alice) -> None:
    # Design gap (issue 11): redactions were not in the log, so an SQL update could erase an
    # entry (or clear the mark) and `log verify` said OK.
    store.append(_entries(5))
    redact(store, 1, "erasure request 7", [alice])
    store.redact(3, "no statement")  # what an SQL update can do: the store alone, no statement
    problems = verify_log(store).problems
    assert problems == (
        "entry 3: redacted without a signed redaction statement in the log (erased behind the log's back)",
    )


def test_failed_batch_leaves_nothing(store: LedgerStore) -> None:
    store.append(_entries(3))

    def broken():
        yield from _entries(2500)
        raise RuntimeError("producer died")

    with pytest.raises(RuntimeError):
        store.append(broken())
    assert store.size() == 3
    assert verify_log(store).ok


CHILD_CRASH = textwrap.dedent(
    """
    import sys, time
    from custody.ledger.store import LedgerStore, NewEntry
    store = LedgerStore.open(sys.argv[1])
    store.append(NewEntry("produced", b"ok%d" % i) for i in range(10))
    def slow():
        for i in range(5000):
            if i == 4500:  # two chunks already written inside the open transaction
                print("mid-batch", flush=True)
                time.sleep(600)
            yield NewEntry("produced", b"lost%d" % i)
    store.append(slow())
    """
)


def test_kill_9_during_a_batch_leaves_no_partial_entry(ledger_url: str) -> None:
    path = ledger_url
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_CRASH, path], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "mid-batch"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    with LedgerStore.open(path) as store:
        assert store.size() == 10
        assert store.conn.execute("SELECT count(*) FROM entry").fetchone()[0] == 10
        report = verify_log(store)
        assert report.ok, report.problems
        assert store.append(_entries(3)) == range(10, 13)  # and the log keeps going
        assert verify_log(store).ok


CHILD_WRITER = textwrap.dedent(
    """
    import sys
    from custody.ledger.store import LedgerStore, NewEntry
    store = LedgerStore.open(sys.argv[1])
    name = sys.argv[2]
    for b in range(40):
        batch = [NewEntry("accessed", f"{name}-{b}-{i}".encode(), {"principal": [name]}) for i in range(25)]
        store.append(batch)
    """
)


def test_two_processes_appending_at_once(ledger_url: str) -> None:
    path = ledger_url
    LedgerStore.open(path).close()
    writers = [
        subprocess.Popen([sys.executable, "-c", CHILD_WRITER, path, name], cwd=ROOT) for name in ("w1", "w2")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    with LedgerStore.open(path) as store:
        assert store.size() == 2000
        assert len(store.find("principal", "w1")) == len(store.find("principal", "w2")) == 1000
        bodies = {e.body for e in store.entries()}
        assert len(bodies) == 2000
        report = verify_log(store)
        assert report.ok, report.problems


def test_proofs_from_the_upper_levels_in_memory_follow_appends(
    store: LedgerStore, ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proofs read the top of the tree from memory (levels >= 5 here); appends extend it."""
    monkeypatch.setattr("custody.ledger.proof_nodes._UPPER_NODES", 1 << 6)
    store.append(_entries(300))
    for round_size in (300, 301, 517, 1024, 1500):
        store.append(_entries(round_size - store.size()))
        ref = _reference(store)
        for size in (1, 7, 64, 299, 300, round_size):
            if size > round_size:
                continue
            for index in (0, size // 3, size - 1):
                assert store.inclusion_proof(index, size) == ref.inclusion_proof(index, size)
            for size1 in (1, size // 2, size):
                assert store.consistency_proof(size1, size) == ref.consistency_proof(size1, size)
        assert store._upper._lowest == max(BLOCK_LEVELS, round_size.bit_length() + 2 - 7)
    with LedgerStore.open(ledger_url) as fresh:
        assert fresh.inclusion_proof(1000, 1500) == store.inclusion_proof(1000, 1500)


def test_roots_and_verification_read_the_store_not_the_proof_cache(
    store: LedgerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("custody.ledger.proof_nodes._UPPER_NODES", 1 << 6)
    store.append(_entries(600))
    ref = _reference(store)
    assert store.inclusion_proof(5, 600) == ref.inclusion_proof(5, 600)  # levels >= 5 now held
    key = node_key((6, 8))  # leaves 512..575: part of the root of size 600
    store.conn.execute("UPDATE node SET hash = ? WHERE id = ?", (bytes(32), key))
    assert store.get([(6, 8)]) == {(6, 8): bytes(32)}
    assert store.root(600) != ref.root(600)
    assert "node level 6 over leaves 512..575: stored hash differs from its recomputed hash" in (
        verify_log(store).problems
    )
    # a proof from memory cannot reach the root computed from the edited store
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(
            300, 600, ref.levels[0][300], store.inclusion_proof(300, 600), store.root(600)
        )
    store.append(_entries(424))  # completes (9, 1) and (10, 0): the tree grew, levels reloaded
    store.conn.execute("DELETE FROM node WHERE id = ?", (node_key((9, 0)),))
    with pytest.raises(merkle.ProofError, match="missing node"):
        store.inclusion_proof(600, 1024)


def test_low_nodes_are_hashed_from_their_block_of_stored_commitments(
    store: LedgerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below level 5 a node comes from its block of 32 stored commitments (one range read), in a
    complete block and on the right border alike; none is stored, and a missing leaf row makes
    the nodes over it missing, not wrong."""
    monkeypatch.setattr("custody.ledger.proof_nodes._UPPER_NODES", 1 << 2)  # only levels >= 6 in memory
    store.append(_entries(100))
    ref = _reference(store)
    below = node_key((BLOCK_LEVELS, 0))
    assert store.conn.execute("SELECT count(*) FROM node WHERE id < ?", (below,)).fetchone()[0] == 0
    assert store.conn.execute("SELECT count(*) FROM node").fetchone()[0] == 4  # (5, 0..2), (6, 0)
    for index in (0, 7, 95, 96, 99):  # complete blocks, then the border block 96..99
        assert store.inclusion_proof(index, 100) == ref.inclusion_proof(index, 100)
    assert store.get([(2, 1), (1, 49), (0, 99)]) == ref.get([(2, 1), (1, 49), (0, 99)])
    store.conn.execute("DELETE FROM leaf WHERE idx = 7")
    assert (0, 7) not in store.get([(0, 7)]) and (2, 1) not in store.get([(2, 1)])
    assert store.get([(2, 0)]) == ref.get([(2, 0)])  # leaves 0..3 are all there
    with pytest.raises(merkle.ProofError, match="missing node"):
        store.inclusion_proof(0, 100)


CHILD_CHECKPOINTER = textwrap.dedent(
    """
    import sys
    from custody.ledger.api import checkpoint, redact
    from custody.ledger.keys import SigningKey
    from custody.ledger.store import LedgerStore, NewEntry
    store = LedgerStore.open(sys.argv[1])
    name, key = sys.argv[2], SigningKey.generate("log.example")
    for b in range(60):
        store.append([NewEntry("accessed", f"{name}-{b}".encode(), {"principal": [name]})])
        checkpoint(store, "log.example/race", [key])
    """
)


def test_two_processes_checkpointing_at_once_never_see_the_log_shrink(ledger_url: str) -> None:
    # Regression (issue 11): the head and the last checkpoint were read outside the writer lock,
    # so a checkpoint by the other process in between made an intact log look as if it shrank.
    path = ledger_url
    LedgerStore.open(path).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD_CHECKPOINTER, path, name],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("c1", "c2")
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    with LedgerStore.open(path) as store:
        assert store.size() == 120
        assert len(store.checkpoints()) == 120
        sizes = [size for size, _, _ in store.checkpoints()]
        assert sizes == sorted(sizes)  # each checkpoint was signed over the head it saw, in order
        assert verify_log(store).ok


def test_an_append_retried_with_its_idempotency_key_is_not_duplicated(store: LedgerStore) -> None:
    assert store.append(_entries(3), idempotency=("req-1", "d1")) == range(0, 3)
    assert store.append(_entries(3), idempotency=("req-1", "d1")) == range(0, 3)
    assert store.size() == 3
    with pytest.raises(IdempotencyConflict, match="req-1"):
        store.append(_entries(2), idempotency=("req-1", "d2"))
    assert store.append(_entries(2), idempotency=("req-2", "d2")) == range(3, 5)
    assert store.append(_entries(1)) == range(5, 6)  # without a key, always appended
    assert store.size() == 6 and verify_log(store).ok


def test_latest_checkpoint_is_the_largest_and_newest(store: LedgerStore) -> None:
    store.append(_entries(4))
    for size, tag in ((2, "a"), (4, "b"), (3, "c"), (4, "d")):
        store.save_checkpoint(size, store.root(size), tag)
    assert store.latest_checkpoint() == (4, store.root(4), "d")
    assert store.latest_checkpoint(below=2) == (4, store.root(4), "d")
    assert store.latest_checkpoint(below=4) is None


def _vm_steps(store: LedgerStore, action: Callable[[], object]) -> int:
    """SQLite virtual-machine steps (in units of 100) an action takes: a measure of rows visited
    that does not depend on how busy the machine is."""
    raw = store.conn._sqlite()
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    raw.set_progress_handler(count, 100)
    try:
        action()
    finally:
        raw.set_progress_handler(None, 100)
    return steps


def test_reading_and_signing_checkpoints_does_not_scan_every_stored_one(tmp_path, log_key) -> None:
    # Regression (issue 11): every POST, checkpoint read and bundle of the HTTP service read all
    # stored checkpoints (one is stored per POST), so each request grew slower without bound.
    with LedgerStore.open(str(tmp_path / "l.db")) as store:
        store.append(_entries(8))
        root = store.root(8)

        def fill(n: int) -> None:
            rows = [(1 + i % 8, root if i % 8 == 7 else store.root(1 + i % 8), "n") for i in range(n)]
            with store.conn.transaction():
                store.conn.executemany(
                    "INSERT INTO checkpoint(size, root, note, created_at) VALUES (?, ?, ?, 't')", rows
                )

        fill(80)
        few = [
            _vm_steps(store, store.latest_checkpoint),
            _vm_steps(store, lambda: store.latest_checkpoint(3)),
        ]
        few.append(_vm_steps(store, lambda: checkpoint(store, "log.example/x", [log_key])))
        fill(20_000)
        many = [
            _vm_steps(store, store.latest_checkpoint),
            _vm_steps(store, lambda: store.latest_checkpoint(3)),
        ]
        many.append(_vm_steps(store, lambda: checkpoint(store, "log.example/x", [log_key])))
        assert all(m <= f + 2 for f, m in zip(few, many, strict=True)), (few, many)


def canonical_json_reference(
    kind: str, integrated_at: str, salt: bytes, body: bytes, refs: dict[str, list[str]]
) -> bytes:
    """The commitment as first specified: SHA-256 of json.dumps(..., sort_keys=True, compact)."""
    import hashlib
    import json

    doc = {
        "v": 1,
        "kind": kind,
        "time": integrated_at,
        "salt": salt.hex(),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "refs": {k: sorted(v) for k, v in sorted(refs.items())},
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).digest()


@pytest.mark.parametrize(
    "refs",
    [
        {},
        {"principal": ["ann"], "dataset": ["ds9", "ds1"]},
        {"key": ['a"b\\c', "\u00e9t\u00e9 \u2014 \U0001f600", "tab\there\nnl\x00\x1f\x7f", "\ud800"]},
        {"z": ["1"], "a": ["2"], "\u00e4": ["3"], "A": []},
    ],
)
def test_commitments_are_the_canonical_json_they_always_were(refs: dict[str, list[str]]) -> None:
    # commitment_of builds its canonical JSON by hand for speed: it must stay byte-identical
    # to json.dumps, or every existing log would stop verifying.
    for kind, when in (("accessed", "2026-01-01T00:00:00.000000Z"), ('we"ird\u2028', "t\\")):
        salt, body = os.urandom(16), os.urandom(40)
        assert commitment_of(kind, when, salt, body, refs) == canonical_json_reference(
            kind, when, salt, body, refs
        )


@given(
    kind=st.text(),
    when=st.text(),
    refs=st.dictionaries(st.text(), st.lists(st.text(), max_size=4), max_size=4),
)
@settings(max_examples=300, deadline=None)
def test_commitment_matches_json_dumps_for_any_strings(
    kind: str, when: str, refs: dict[str, list[str]]
) -> None:
    salt, body = b"\x01" * 16, b"body"
    assert commitment_of(kind, when, salt, body, refs) == canonical_json_reference(
        kind, when, salt, body, refs
    )


_REF_VALUES = st.lists(st.text(max_size=6), max_size=3)


@given(
    batch=st.lists(
        st.tuples(
            st.sampled_from(["accessed", "produced", 'we"ird\u2028']),
            st.binary(max_size=20),
            st.dictionaries(st.text(max_size=6), st.one_of(_REF_VALUES, _REF_VALUES.map(tuple)), max_size=3),
        ),
        min_size=1,
        max_size=12,
    )
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_appended_commitments_are_the_canonical_json(tmp_path, batch) -> None:
    # The append path encodes a chunk at a time (json's C encoder for the refs, one comprehension
    # per hash): every commitment must still be byte for byte the canonical JSON's, the stored
    # refs exactly the non-empty ones given (lists in their order), and the index their rows.
    path = tmp_path / f"{uuid.uuid4().hex}.db"
    with LedgerStore.open(str(path)) as store:
        got = store.append(NewEntry(kind, body, refs) for kind, body, refs in batch)
        for index, (kind, body, refs) in zip(got, batch, strict=True):
            e = store.entry(index)
            kept = {k: list(v) for k, v in refs.items() if v}
            assert e.refs == kept and e.body == body and e.kind == kind
            assert e.commitment == canonical_json_reference(kind, e.integrated_at, e.salt or b"", body, kept)
        rows = store.conn.execute("SELECT idx, field, value FROM entry_ref ORDER BY idx, field, value")
        expected = {
            (i, k, v) for i, (_, _, refs) in zip(got, batch, strict=True) for k in refs for v in refs[k]
        }
        assert [tuple(r) for r in rows] == sorted(expected)  # a repeated value is indexed once
        assert verify_log(store).ok


def test_refs_that_are_not_lists_of_str_are_refused_or_kept_as_lists(store: LedgerStore) -> None:
    with pytest.raises(TypeError):
        store.append([NewEntry("accessed", b"x", {"principal": [7]})])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        store.append([NewEntry("accessed", b"x", {3: ["a"]})])  # type: ignore[dict-item]
    assert store.size() == 0
    # a str is a sequence of str: indexed, stored and committed as the list of its characters,
    # as appends always did
    at = store.append([NewEntry("accessed", b"x", {"principal": "ab"})])
    assert store.entry(at[0]).refs == {"principal": ["a", "b"]}
    assert store.append([NewEntry("accessed", b"y")]) == range(1, 2)  # default refs: none
    assert verify_log(store).ok


def test_a_store_with_the_first_exposure_index_layout_keeps_working(tmp_path) -> None:
    # Stores made before entry_ref was keyed by (field, value, idx) have a rowid table and a
    # separate index, which may hold a repeated value twice: appends, lookups, redaction and
    # verification work on them as they are.
    path = str(tmp_path / "old.db")
    with LedgerStore.open(path) as store:
        store.conn.execute("DROP TABLE entry_ref")
        store.conn.execute(
            "CREATE TABLE entry_ref (idx INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL)"
        )
        store.conn.execute("CREATE INDEX entry_ref_lookup ON entry_ref(field, value, idx)")
    with LedgerStore.open(path) as store:
        store.append([NewEntry("accessed", b"a", {"digest": ["x", "x"], "principal": ["ann"]})])
        store.conn.execute("INSERT INTO entry_ref(idx, field, value) VALUES (0, 'digest', 'x')")  # as before
        store.append([NewEntry("accessed", b"b", {"principal": ["ann"]})])
        assert store.find("principal", "ann") == [0, 1] and store.find("digest", "x") == [0]
        assert verify_log(store).ok
        store.redact(1, "erasure")
        assert store.find("principal", "ann") == [0]


def test_leaf_hashes_come_from_the_commitments_not_from_stored_rows(
    ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Leaf hashes are SHA-256(0x00 || commitment): appends store no level-0 node rows (one row
    # per entry less to write), and the level-0 rows of stores made before are never read.
    with LedgerStore.open(ledger_url) as store:
        store.append(_entries(70))
        ref = _reference(store)
        level_1 = node_key((1, 0))
        assert store.conn.execute("SELECT count(*) FROM node WHERE id < ?", (level_1,)).fetchone()[0] == 0
        store.conn.executemany(  # what an older store holds, here stale: nothing may read it
            "INSERT INTO node(id, hash) VALUES (?, ?)", [(node_key((0, i)), bytes(32)) for i in range(70)]
        )
    for upper in (1 << 16, 1 << 2):  # level 0 held in memory; or proofs from blocks of leaves
        monkeypatch.setattr("custody.ledger.proof_nodes._UPPER_NODES", upper)
        with LedgerStore.open(ledger_url) as store:
            assert store.leaf_hash(69) == ref.levels[0][69] and store.root(69) == ref.root(69)
            for index in (0, 33, 68):
                assert store.inclusion_proof(index, 70) == ref.inclusion_proof(index, 70)
            assert store.consistency_proof(5, 70) == ref.consistency_proof(5, 70)
            assert verify_log(store).ok
            held = store.size()
            assert store.append(_entries(3)) == range(held, held + 3)
            assert verify_log(store).ok
