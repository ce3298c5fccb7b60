"""The log on both backends (the store contract suite): batched appends, proofs from stored
nodes, redaction, crashes, two writers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from custody.ledger import merkle
from custody.ledger.store import LedgerStore, NewEntry, commitment_of
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


def test_redaction_keeps_every_proof_valid(store: LedgerStore) -> None:
    store.append(_entries(20))
    root = store.root()
    proof = store.inclusion_proof(7)
    store.redact(7, "GDPR erasure request 42")
    e = store.entry(7)
    assert e.body is None and e.salt is None and e.refs == {}
    assert e.redaction_reason == "GDPR erasure request 42"
    assert store.root() == root
    assert store.inclusion_proof(7) == proof
    merkle.verify_inclusion(7, 20, merkle.leaf_hash(e.commitment), proof, root)
    report = verify_log(store)
    assert report.ok, report.problems
    assert report.redacted == 1


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
