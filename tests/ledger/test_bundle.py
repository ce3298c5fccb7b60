"""Offline tlog-proof bundles: verifiable with the log key alone; clear errors otherwise."""

from __future__ import annotations

import base64
import json

import pytest

from custody.ledger.api import Record, checkpoint, record
from custody.ledger.bundle import HEADER, BundleError, make_bundle, verify_bundle
from custody.ledger.keys import SigningKey
from custody.ledger.store import LedgerStore

ORIGIN = "log.example/custody"


def _rec(i: int) -> Record:
    return Record("exported", [{"name": f"ds{i}", "digest": {"sha256": f"{i:064x}"}}], {"client": "acme"})


@pytest.fixture
def bundled(store: LedgerStore, alice: SigningKey, bob: SigningKey, log_key: SigningKey) -> str:
    record(store, [_rec(i) for i in range(5)], [alice, bob])
    checkpoint(store, ORIGIN, [log_key])
    record(store, [_rec(i) for i in range(5, 7)], [alice])
    return make_bundle(store, 3)


def test_bundle_format_and_verification(bundled: str, alice, bob, log_key) -> None:
    lines = bundled.split("\n")
    assert lines[0] == HEADER and lines[1].startswith("extra ") and lines[2] == "index 3"
    assert bundled.split("\n\n", 1)[1].startswith(f"{ORIGIN}\n5\n")
    got = verify_bundle(bundled, [log_key.verifier], ORIGIN)
    assert (got.index, got.checkpoint.size, got.kind) == (3, 5, "exported")
    assert got.signers == (alice.keyid, bob.keyid)
    assert got.statement is not None and got.statement["subject"][0]["name"] == "ds3"


def test_no_covering_checkpoint_and_redacted(store: LedgerStore, bundled: str) -> None:
    with pytest.raises(BundleError, match="no checkpoint covers entry 5"):
        make_bundle(store, 5)
    store.redact(2, "erasure")
    with pytest.raises(BundleError, match="redacted"):
        make_bundle(store, 2)


def test_wrong_key_and_origin(bundled: str, log_key) -> None:
    with pytest.raises(BundleError, match="not signed by any trusted key"):
        verify_bundle(bundled, [SigningKey.generate("log.example").verifier])
    with pytest.raises(BundleError, match="not 'elsewhere'"):
        verify_bundle(bundled, [log_key.verifier], "elsewhere")


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (lambda b: b[: b.index("\n\n")], "truncated: no checkpoint"),
        (lambda b: b[: b.rindex("\u2014")], "truncated"),
        (lambda b: "\n".join(b.split("\n")[:1] + b.split("\n")[2:]), "no entry"),
        (lambda b: b.replace("c2sp.org/tlog-proof@v1", "something else"), "not a tlog-proof bundle"),
        (lambda b: b.replace("index 3", "index 4"), "not in the signed log"),
        (lambda b: "\n".join(x for i, x in enumerate(b.split("\n")) if i != 3), "not in the signed log"),
        (lambda b: b.replace("index 3", "index three"), "no valid index"),
    ],
)
def test_damaged_bundles_give_clear_errors(bundled: str, log_key, cut, message: str) -> None:
    with pytest.raises(BundleError, match=message):
        verify_bundle(cut(bundled), [log_key.verifier])


def _edit_opening(bundle: str, change) -> str:
    lines = bundle.split("\n")
    opening = json.loads(base64.b64decode(lines[1][6:]))
    change(opening)
    lines[1] = "extra " + base64.b64encode(json.dumps(opening).encode()).decode()
    return "\n".join(lines)


def test_edited_entry_or_substituted_key_is_caught(bundled: str, log_key) -> None:
    edited = _edit_opening(bundled, lambda o: o["refs"].__setitem__("client", ["globex"]))
    with pytest.raises(BundleError, match="not in the signed log"):
        verify_bundle(edited, [log_key.verifier])
    mallory = SigningKey.generate("alice")

    def swap(o: dict) -> None:
        first = next(iter(o["keys"]))
        o["keys"][first] = mallory.verifier.text()

    with pytest.raises(BundleError, match="entry signature: envelope signed by unknown key alice"):
        verify_bundle(_edit_opening(bundled, swap), [log_key.verifier])
