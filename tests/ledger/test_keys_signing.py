"""Keys in C2SP note formats, signed notes, checkpoints and DSSE envelopes."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat

import pytest

from custody.ledger.attest import PRODUCED, STATEMENT_TYPE, refs_of, statement, statement_bytes
from custody.ledger.keys import (
    ENV_SIGNING_KEY,
    BadKey,
    SigningKey,
    VerifierKey,
    load_signing_key,
    load_verifier,
    write_key_pair,
)
from custody.ledger.signing import (
    Checkpoint,
    SignatureError,
    check_origin,
    open_checkpoint,
    open_envelope,
    open_note,
    pae,
    sign_envelope,
    sign_note,
)


def test_key_texts_round_trip_and_key_hash_follows_signed_note_spec(alice: SigningKey) -> None:
    pub = alice.verifier
    expected = hashlib.sha256(b"alice\n\x01" + pub.public).digest()[:4]
    assert pub.hash == expected
    assert pub.keyid == f"alice+{expected.hex()}"
    assert alice.text().startswith(f"PRIVATE+KEY+alice+{expected.hex()}+")
    assert SigningKey.parse(alice.text()) == alice
    assert VerifierKey.parse(pub.text()) == pub


def test_base64_with_plus_signs_parses() -> None:
    keys = (SigningKey("k", bytes([i]) * 32) for i in range(256))
    key = next(
        k for k in keys if "+" in k.text().split("+", 4)[4] and "+" in k.verifier.text().split("+", 2)[2]
    )
    assert SigningKey.parse(key.text()) == key
    assert VerifierKey.parse(key.verifier.text()) == key.verifier


@pytest.mark.parametrize("text", ["alice+00000000+AQ==", "a b+0+AQ==", "nohash", "alice+12345678+!!!"])
def test_malformed_public_keys_are_refused(text: str) -> None:
    with pytest.raises(BadKey):
        VerifierKey.parse(text)


def test_key_hash_mismatch_is_refused(alice: SigningKey, bob: SigningKey) -> None:
    name, _, blob = alice.verifier.text().split("+", 2)
    with pytest.raises(BadKey, match="does not match"):
        VerifierKey.parse(f"{name}+{bob.verifier.hash.hex()}+{blob}")


def test_key_files_are_private_and_never_overwritten(tmp_path, alice: SigningKey, monkeypatch) -> None:
    private, public = write_key_pair(alice, str(tmp_path))
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert load_signing_key(private) == alice
    assert load_verifier(public) == alice.verifier
    with pytest.raises(FileExistsError):
        write_key_pair(alice, str(tmp_path))
    os.chmod(private, 0o644)
    with pytest.raises(BadKey, match="readable by others"):
        load_signing_key(private)
    monkeypatch.setenv(ENV_SIGNING_KEY, alice.text())
    assert load_signing_key(None) == alice
    monkeypatch.delenv(ENV_SIGNING_KEY)
    with pytest.raises(BadKey, match=ENV_SIGNING_KEY):
        load_signing_key(None)


def test_signed_note_format_and_checks(alice: SigningKey, bob: SigningKey) -> None:
    note = sign_note("hello\nworld\n", [alice, bob])
    text, sigs = note.split("\n\n")
    assert text == "hello\nworld"
    lines = sigs.rstrip("\n").split("\n")
    assert [line.split(" ")[:2] for line in lines] == [["\u2014", "alice"], ["\u2014", "bob"]]
    raw = base64.b64decode(lines[0].split(" ")[2])
    assert raw[:4] == alice.verifier.hash and len(raw) == 68
    opened = open_note(note, [alice.verifier])
    assert opened.text == "hello\nworld\n"
    assert opened.verified_by == (alice.keyid,)
    assert opened.unknown == (f"bob+{bob.verifier.hash.hex()}",)
    with pytest.raises(SignatureError, match="not signed by any trusted key"):
        open_note(note, [SigningKey.generate("carol").verifier])
    with pytest.raises(SignatureError, match="altered or forged"):
        open_note(note.replace("world", "w0rld"), [alice.verifier])
    with pytest.raises(SignatureError, match="truncated"):
        open_note(note[: note.index("\n\n")], [alice.verifier])


def test_checkpoint_text_and_parse(log_key: SigningKey) -> None:
    cp = Checkpoint(origin="log.example/custody", size=12, root=bytes(range(32)))
    assert cp.text() == f"log.example/custody\n12\n{base64.b64encode(bytes(range(32))).decode()}\n"
    note = cp.sign([log_key])
    assert open_checkpoint(note, [log_key.verifier], "log.example/custody") == cp
    with pytest.raises(SignatureError, match="not 'other'"):
        open_checkpoint(note, [log_key.verifier], "other")
    for bad in ["origin\n01\nAAAA\n", "origin\nx\nAAAA\n", "origin\n1\nAAAA\n", "origin\n1\n"]:
        with pytest.raises(SignatureError, match="malformed"):
            Checkpoint.parse(bad)


def test_pae_matches_dsse_spec_example() -> None:
    # The DSSE protocol document's worked example.
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_envelope_multiple_signers_unknown_signer_and_tamper(alice: SigningKey, bob: SigningKey) -> None:
    stmt = statement(
        "produced",
        [{"name": "ds1", "digest": {"sha256": "00" * 32}}],
        {"producer": "vendor", "client": "acme", "project": "p1", "protocol": "v2", "principal": "ann"},
    )
    assert stmt["_type"] == STATEMENT_TYPE and stmt["predicateType"] == PRODUCED
    env = sign_envelope(statement_bytes(stmt), [alice, bob])
    ring = {alice.keyid: alice.verifier, bob.keyid: bob.verifier}
    opened = open_envelope(env, ring)
    assert opened.signers == (alice.keyid, bob.keyid)
    assert json.loads(opened.payload) == stmt
    with pytest.raises(SignatureError, match=re.escape(f"unknown key {bob.keyid}")):
        open_envelope(env, {alice.keyid: alice.verifier})
    forged = dict(env, payload=base64.b64encode(b'{"x":1}').decode())
    with pytest.raises(SignatureError, match="altered or forged"):
        open_envelope(forged, ring)
    retyped = dict(env, payloadType="text/plain")
    with pytest.raises(SignatureError, match="altered or forged"):
        open_envelope(retyped, ring)
    with pytest.raises(SignatureError, match="no signature"):
        open_envelope(dict(env, signatures=[]), ring)
    refs = refs_of(stmt, env)
    assert refs["dataset"] == ["ds1"] and refs["principal"] == ["ann"] and refs["client"] == ["acme"]
    assert refs["key"] == [alice.keyid, bob.keyid]
    with pytest.raises(ValueError, match="unknown custody predicate"):
        statement("stolen", [{"name": "x", "digest": {}}], {})


@pytest.mark.parametrize(
    "origin",
    ["", "log.example\n5\nAAAA", "log.example\r", "log\x00example", "log\x7f", "a b", "a+b", "log\u2028x"],
)
def test_origins_the_checkpoint_spec_forbids_are_never_signed(log_key: SigningKey, origin: str) -> None:
    # Regression (issue 11): an origin with a newline made the log key sign a note that parses
    # as another size and root; empty origins and control characters were signed too.
    with pytest.raises(SignatureError, match="origin"):
        check_origin(origin)
    if origin in ("a b", "a+b", "log\u2028x"):
        return  # a SHOULD of the spec: still parsed in others' checkpoints (Go's sumdb has spaces)
    with pytest.raises(SignatureError):
        Checkpoint(origin=origin, size=1, root=b"\x00" * 32).sign([log_key])


def test_forged_size_through_an_origin_newline_cannot_be_signed(log_key: SigningKey) -> None:
    forged = "log.example\n999\n" + base64.b64encode(b"\x11" * 32).decode()
    with pytest.raises(SignatureError):
        Checkpoint(origin=forged, size=1, root=b"\x00" * 32).sign([log_key])
    with pytest.raises(SignatureError, match="control characters"):
        sign_note("log.example\x1b[2J\n1\n", [log_key])
    assert check_origin("example.com/log42") == "example.com/log42"
    assert (
        Checkpoint(origin="go.sum database tree", size=1, root=b"\x00" * 32).origin == "go.sum database tree"
    )


def test_checkpoint_parse_refuses_control_characters_and_non_ascii_sizes(log_key: SigningKey) -> None:
    root = base64.b64encode(b"\x00" * 32).decode()
    with pytest.raises(SignatureError):
        Checkpoint.parse(f"log\x01x\n1\n{root}\n")
    with pytest.raises(SignatureError, match="size"):
        Checkpoint.parse(f"log.example\n\u0661\n{root}\n")  # ARABIC-INDIC DIGIT ONE
