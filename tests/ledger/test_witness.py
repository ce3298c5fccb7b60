"""Witness cosignatures (c2sp.org/tlog-cosignature, Ed25519 cosignature/v1) and the witness's checks."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from custody.ledger.api import checkpoint
from custody.ledger.keys import BadKey, SigningKey
from custody.ledger.proof_source import parse_proof
from custody.ledger.signing import SignatureError, open_checkpoint
from custody.ledger.store import LedgerStore, NewEntry
from custody.ledger.witness import (
    WitnessError,
    cosign,
    cosignature_key_id,
    cosignatures,
    last_seen,
    load_witness_key,
    parse_witness_key,
    require_witnesses,
    witness,
)

ORIGIN = "ledger.example/acme"


@pytest.fixture(scope="module")
def w1() -> SigningKey:
    return SigningKey.generate("witness.example/w1")


@pytest.fixture(scope="module")
def w2() -> SigningKey:
    return SigningKey.generate("witness.example/w2")


def _grow(store: LedgerStore, n: int) -> None:
    store.append([NewEntry("accessed", f"entry {store.size() + i}".encode(), {}) for i in range(n)])


def test_cosignature_line_follows_the_spec(tmp_path: Path, log_key: SigningKey, w1: SigningKey) -> None:
    store = LedgerStore.open(str(tmp_path / "l.db"))
    _grow(store, 3)
    note = checkpoint(store, ORIGIN, [log_key])
    cosigned = cosign(note, w1, timestamp=1679315147)
    line = cosigned.rstrip("\n").split("\n")[-1]
    assert line.startswith("\u2014 witness.example/w1 ")
    raw = base64.b64decode(line.split(" ")[-1])
    public = w1.verifier.public
    assert raw[:4] == hashlib.sha256(b"witness.example/w1\n\x04" + public).digest()[:4]
    assert int.from_bytes(raw[4:12], "big") == 1679315147
    body = note.split("\n\n")[0] + "\n"
    # the signed message, built here independently from the spec's text
    message = b"cosignature/v1\ntime 1679315147\n" + body.encode()
    Ed25519PublicKey.from_public_bytes(public).verify(raw[12:], message)
    # the log's own signature still opens the note; the cosignature is an unknown line to it
    assert open_checkpoint(cosigned, [log_key.verifier], ORIGIN).size == 3
    assert cosignature_key_id(w1.verifier) != w1.verifier.hash  # 0x04, not the note key id (0x01)
    store.close()


def test_quorum_forgery_and_foreign_lines(
    tmp_path: Path, log_key: SigningKey, w1: SigningKey, w2: SigningKey
) -> None:
    store = LedgerStore.open(str(tmp_path / "l.db"))
    _grow(store, 2)
    note = cosign(cosign(checkpoint(store, ORIGIN, [log_key]), w1, timestamp=100), w2, timestamp=101)
    witnesses = [w1.verifier, w2.verifier]
    assert {c.witness for c in require_witnesses(note, witnesses, 2, now=200)} == {w1.keyid, w2.keyid}
    assert len(cosignatures(note, [w1.verifier], now=200)) == 1  # w2's line is someone else's: ignored
    with pytest.raises(SignatureError, match="1 of the trusted witnesses, 2 required"):
        require_witnesses(cosign(checkpoint(store, ORIGIN, [log_key]), w1), witnesses, 2)
    forged = note.replace("\n2\n", "\n3\n", 1)  # another size under the same signatures
    with pytest.raises(SignatureError, match="does not verify"):
        cosignatures(forged, witnesses, now=200)
    with pytest.raises(SignatureError, match="future"):
        cosignatures(cosign(note, w1, timestamp=10_000), [w1.verifier], now=200)
    store.close()


def test_witness_cosigns_only_consistent_growth(tmp_path: Path, log_key: SigningKey, w1: SigningKey) -> None:
    state = str(tmp_path / "witness" / "state.json")
    store = LedgerStore.open(str(tmp_path / "l.db"))
    _grow(store, 5)
    first = checkpoint(store, ORIGIN, [log_key])
    assert cosignatures(witness(first, [log_key.verifier], w1, state), [w1.verifier])  # first sight
    seen = last_seen(state, ORIGIN)
    assert seen is not None and seen.size == 5

    _grow(store, 7)
    second = checkpoint(store, ORIGIN, [log_key])
    with pytest.raises(WitnessError, match="not consistent"):
        witness(second, [log_key.verifier], w1, state)  # no proof given
    proof = store.consistency_proof(5, 12)
    assert cosignatures(witness(second, [log_key.verifier], w1, state, proof), [w1.verifier])
    with pytest.raises(WitnessError, match="rollback"):
        witness(first, [log_key.verifier], w1, state)

    # a second log under the same origin, same size, other entries: a split view
    other = LedgerStore.open(str(tmp_path / "other.db"))
    _grow(other, 11)
    other.append([NewEntry("accessed", b"something else", {})])
    fork = checkpoint(other, ORIGIN, [log_key])
    with pytest.raises(WitnessError, match="fork"):
        witness(fork, [log_key.verifier], w1, state)
    with pytest.raises(WitnessError, match="trusted log"):
        witness(second, [w1.verifier], w1, state)  # not signed by a log key the witness trusts
    seen = last_seen(state, ORIGIN)
    assert seen is not None and seen.size == 12  # refusals leave the memory as it was

    Path(state).write_text("{not json", encoding="utf-8")
    with pytest.raises(WitnessError, match="unreadable witness state"):
        witness(second, [log_key.verifier], w1, state)
    store.close()
    other.close()


def test_the_newest_note_of_the_largest_size_is_served(
    tmp_path: Path, log_key: SigningKey, w1: SigningKey
) -> None:
    store = LedgerStore.open(str(tmp_path / "l.db"))
    _grow(store, 4)
    note = checkpoint(store, ORIGIN, [log_key])
    cp = open_checkpoint(note, [log_key.verifier])
    store.save_checkpoint(cp.size, cp.root, cosign(note, w1))
    latest = store.latest_checkpoint()
    assert latest is not None and cosignatures(latest[2], [w1.verifier])  # bundles, tiles, the server
    assert store.latest_checkpoint(below=4) is None  # nothing covers entry 4 yet
    store.close()


def test_a_witness_key_in_the_tlog_cosignature_form_is_accepted(w1: SigningKey, tmp_path: Path) -> None:
    # Regression (issue 11): `custody verify --witness` refused a vkey with type byte 0x04, the form
    # c2sp.org/tlog-cosignature gives witness keys (its hash is the cosignature key ID).
    pub = w1.verifier
    blob = base64.b64encode(bytes([0x04]) + pub.public).decode()
    vkey = f"{pub.name}+{cosignature_key_id(pub).hex()}+{blob}"
    assert parse_witness_key(vkey) == pub
    (tmp_path / "w1.vkey").write_text(vkey + "\n")
    assert load_witness_key(str(tmp_path / "w1.vkey")) == pub
    assert load_witness_key(pub.text()) == pub  # the custody form (0x01) still works
    wrong_hash = f"{pub.name}+{pub.hash.hex()}+{blob}"
    with pytest.raises(BadKey, match="does not match"):
        parse_witness_key(wrong_hash)
    with pytest.raises(BadKey):
        parse_witness_key(f"bad name+{cosignature_key_id(pub).hex()}+{blob}")


@pytest.mark.parametrize(
    "doc",
    [
        [],
        {"proof": "ab"},
        {"proof": ["zz" * 32]},
        {"proof": ["ab"]},
        {"proof": [1]},
        {"proof": ["00" * 32] * 129},
    ],
)
def test_a_proof_document_that_is_not_a_consistency_proof_is_refused(doc: object) -> None:
    with pytest.raises(WitnessError):
        parse_proof(doc, "p.json")
    assert parse_proof({"proof": ["00" * 32]}, "p.json") == [bytes(32)]
