"""`custody key|data|log|exposure` end to end through click's CliRunner."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from custody.cli.main import cli
from custody.ledger.keys import load_verifier
from custody.ledger.witness import cosignature_key_id


@pytest.fixture
def env(tmp_path, monkeypatch, ledger_url):
    """Every CLI test runs on both backends: CUSTODY_LEDGER is a path or a postgresql:// URL."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUSTODY_LEDGER", ledger_url)
    monkeypatch.delenv("CUSTODY_SIGNING_KEY", raising=False)
    (tmp_path / "ds" / "sub").mkdir(parents=True)
    (tmp_path / "ds" / "a.txt").write_text("hello\n")
    (tmp_path / "ds" / "sub" / "b.jsonl").write_text('{"x": 1}\n')
    runner = CliRunner()
    for name in ("vendor", "log.example"):
        assert runner.invoke(cli, ["key", "gen", name, "--dir", "keys"]).exit_code == 0
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _keyid(path: str) -> str:
    return "+".join(Path(path).read_text().split("+")[:2])


ADD = (
    "data",
    "add",
    "ds",
    "--producer",
    "vendor",
    "--project",
    "p1",
    "--client",
    "acme",
    "--protocol",
    "v3",
    "--principal",
    "ann",
    "--host",
    "box1",
)


def test_key_gen_is_private_and_refuses_overwrite(env) -> None:
    assert stat.S_IMODE(os.stat("keys/vendor.key").st_mode) == 0o600
    code, out = run("key", "gen", "vendor", "--dir", "keys")
    assert code == 2 and "refusing to overwrite" in out


def test_data_add_needs_a_key(env) -> None:
    code, out = run(*ADD)
    assert code == 2 and "CUSTODY_SIGNING_KEY" in out


def test_add_verify_prove_and_tamper(env) -> None:
    code, out = run(*ADD, "--key", "keys/vendor.key")
    assert code == 0, out
    assert os.path.exists("ds.custody.json")
    assert run("data", "verify", "ds")[0] == 0
    code, out = run("data", "prove", "ds", "ds/sub/b.jsonl")
    assert code == 0
    proof = json.loads(out)
    assert proof["path"] == "sub/b.jsonl" and proof["tree_size"] == 2
    (env / "ds" / "a.txt").write_text("tampered\n")
    (env / "ds" / "c.txt").write_text("new\n")
    code, out = run("data", "verify", "ds")
    assert code == 1
    assert "changed: a.txt" in out and "added: c.txt" in out and "MISMATCH" in out
    code, out = run("data", "prove", "ds", "ds/a.txt")
    assert code == 1 and "content differs" in out


def test_log_checkpoint_verify_compromise_and_exposure(env) -> None:
    assert run(*ADD, "--key", "keys/vendor.key")[0] == 0
    code, note = run(
        "log", "checkpoint", "--origin", "vendor.example/log", "--key", "keys/log.example.key", "-o", "cp.txt"
    )
    assert code == 0 and note.startswith("vendor.example/log\n1\n")
    code, out = run("log", "verify", "--key", "keys/log.example.pub", "--checkpoint", "cp.txt")
    assert code == 0 and out.startswith("OK: 1 entries"), out
    assert run("key", "gen", "other", "--dir", "keys")[0] == 0
    code, out = run("log", "verify", "--key", "keys/other.pub", "--checkpoint", "cp.txt")
    assert code == 1 and "not signed by any trusted key" in out
    (env / "cut.txt").write_text(note[:20])
    code, out = run("log", "verify", "--key", "keys/log.example.pub", "--checkpoint", "cut.txt")
    assert code == 1 and "truncated" in out
    code, out = run("exposure", "--principal", "ann", "--format", "json")
    assert code == 0
    got = json.loads(out)
    assert (got["datasets"], got["clients"], got["projects"]) == (["ds"], ["acme"], ["p1"])
    assert run("exposure", "--host", "box1")[1].startswith("host box1: 1 entries")
    vendor = _keyid("keys/vendor.pub")
    code, out = run("key", "compromised", vendor, "--since", "2000-01-01", "--reason", "leaked")
    assert code == 2 and "no signing key" in out  # who marks it must sign
    assert run("key", "compromised", vendor, "--since", "2000-01-01", "--key", "keys/other.key")[0] == 2
    code, out = run(
        "key", "compromised", vendor, "--since", "soon", "--reason", "x", "--key", "keys/other.key"
    )
    assert code == 2 and "bad time" in out
    code, out = run(
        "key", "compromised", vendor, "--since", "2000-01-01", "--reason", "leaked", "--key", "keys/other.key"
    )
    assert code == 0 and out.endswith("(statement: entry 1)\n"), out
    code, out = run("log", "verify", "--key", "keys/log.example.pub")
    assert code == 1 and f"FLAGGED: entry 0: signed by {vendor}" in out
    assert "PROBLEM" not in out
    assert run("exposure", "--key", vendor, "--since", "2000-01-01")[1].startswith(f"key {vendor}: 1 entries")
    code, out = run("exposure", "--principal", "ann", "--host", "box1")
    assert code == 2 and "exactly one" in out


def test_missing_ledger_is_a_clear_error(env) -> None:
    code, out = run("log", "verify", "--ledger", "nope.db")
    assert code == 2 and "no such store" in out


def test_db_option_names_the_ledger(env, ledger_url, monkeypatch) -> None:
    monkeypatch.delenv("CUSTODY_LEDGER")
    code, out = run(*ADD, "--key", "keys/vendor.key", "--db", ledger_url)
    assert code == 0 and "ledger entry: 0 in " in out
    code, out = run("log", "checkpoint", "--origin", "o", "--key", "keys/log.example.key", "--db", ledger_url)
    assert code == 0
    assert run("log", "verify", "--key", "keys/log.example.pub", "--db", ledger_url)[0] == 0


def test_unreachable_postgres_is_a_clear_error(env) -> None:
    url = "postgresql://custody:s3cret@127.0.0.1:1/custody?connect_timeout=2"
    code, out = run("log", "verify", "--db", url)
    assert code == 2 and "cannot connect to PostgreSQL" in out and "s3cret" not in out


def test_bundle_round_trip_redact_and_errors(env) -> None:
    assert run(*ADD, "--key", "keys/vendor.key")[0] == 0
    code, out = run("log", "prove", "0")
    assert code == 2 and "custody log checkpoint" in out
    assert run("log", "checkpoint", "--origin", "o", "--key", "keys/log.example.key")[0] == 0
    assert run("log", "prove", "0", "-o", "b.txt")[0] == 0
    code, out = run("verify", "b.txt", "--key", "keys/log.example.pub", "--origin", "o")
    assert code == 0, out
    assert out.startswith("OK: entry 0 (produced") and "subjects: ds" in out and "signed by: vendor+" in out
    code, out = run("verify", "b.txt", "--key", "keys/vendor.pub")
    assert code == 1 and out.startswith("FAILED: ") and "not signed by any trusted key" in out
    Path("short.txt").write_text(Path("b.txt").read_text()[:200])
    code, out = run("verify", "short.txt", "--key", "keys/log.example.pub")
    assert code == 1 and "truncated" in out
    assert run("log", "redact", "0", "--reason", "erasure #7")[0] == 2  # who redacts must sign
    assert run("log", "redact", "0", "--reason", "erasure #7", "--key", "keys/vendor.key")[0] == 0
    assert run("log", "verify")[1].startswith("OK: 2 entries")  # the entry and the signed redaction
    code, out = run("log", "prove", "0")
    assert code == 2 and "redacted" in out
    assert run("log", "redact", "5", "--reason", "x", "--key", "keys/vendor.key")[0] == 2


def test_data_open(env) -> None:
    assert run(*ADD, "--key", "keys/vendor.key")[0] == 0
    result = CliRunner().invoke(
        cli,
        [
            "data",
            "open",
            "ds/sub/b.jsonl",
            "--purpose",
            "eval",
            "--principal",
            "ann",
            "--key",
            "keys/vendor.key",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == b'{"x": 1}\n'
    (env / "ds" / "a.txt").write_text("swapped\n")
    result = CliRunner().invoke(
        cli, ["data", "open", "ds/a.txt", "--purpose", "eval", "--key", "keys/vendor.key"]
    )
    assert result.exit_code == 1 and "REFUSED" in result.output
    assert run("exposure", "--principal", "ann", "--format", "json")[1].count('"kind": "accessed"') == 1


def test_records_flag_and_record_proof(env) -> None:
    assert run(*ADD, "--records", "--key", "keys/vendor.key")[0] == 0
    manifest = json.loads(Path("ds.custody.json").read_text())
    assert [f.get("records") for f in manifest["files"]] == [None, 1]
    code, out = run("data", "prove", "ds", "ds/sub/b.jsonl", "--record", "0")
    assert code == 0, out
    assert json.loads(out)["record"]["index"] == 0
    code, out = run("data", "prove", "ds", "ds/sub/b.jsonl", "--record", "3")
    assert code == 1 and "no record 3" in out


def test_transform_label_export_and_lineage_in_exposure(env) -> None:
    assert run(*ADD, "--key", "keys/vendor.key")[0] == 0
    (env / "clean").mkdir()
    (env / "clean" / "c.jsonl").write_text('{"x": 1}\n')
    code, out = run(
        "data",
        "transform",
        "clean",
        "--from",
        "ds",
        "--tool",
        "dedup@1.2",
        "--project",
        "p1",
        "--principal",
        "ann",
        "--host",
        "box1",
        "--key",
        "keys/vendor.key",
    )
    assert code == 0, out
    assert Path("clean.custody.json").exists()
    code, out = run(
        "data",
        "label",
        "clean",
        "--contractor",
        "labeler-7f3a",
        "--protocol",
        "sent-v3",
        "--principal",
        "ann",
        "--key",
        "keys/vendor.key",
    )
    assert code == 0, out
    code, out = run(
        "data", "export", "clean", "--client", "globex", "--principal", "ann", "--key", "keys/vendor.key"
    )
    assert code == 0, out
    got = json.loads(run("exposure", "--principal", "ann", "--format", "json")[1])
    assert got["datasets"] == ["clean", "ds"]
    transformed = json.loads(run("exposure", "--host", "box1", "--format", "json")[1])
    assert transformed["entries"][-1]["refs"]["dataset"] == ["clean", "ds"]
    assert got["clients"] == ["acme", "globex"]
    assert [e["kind"] for e in got["entries"]] == ["produced", "transformed", "labeled", "exported"]
    assert got["entries"][2]["refs"]["contractor"] == ["labeler-7f3a"]
    assert run("log", "verify")[0] == 0
    (env / "clean" / "c.jsonl").write_text("changed\n")
    code, out = run("data", "export", "clean", "--client", "globex", "--key", "keys/vendor.key")
    assert code == 1 and "no longer matches its manifest (c.jsonl)" in out
    Path("nomanifest").mkdir()
    code, out = run(
        "data", "label", "nomanifest", "--contractor", "x", "--protocol", "y", "--key", "keys/vendor.key"
    )
    assert code == 2 and "custody data add" in out


def test_ledger_evidence(env) -> None:
    assert run(*ADD, "--key", "keys/vendor.key")[0] == 0
    assert run("log", "checkpoint", "--origin", "o", "--key", "keys/log.example.key")[0] == 0
    code, out = run("ledger", "evidence", "--dataset", "ds", "-o", "pack")
    assert code == 0 and "1 entries about ds, 1 with proof bundles" in out
    assert run("verify", "pack/entries/0.proof", "--key", "keys/log.example.pub", "--origin", "o")[0] == 0
    code, out = run("ledger", "evidence", "--dataset", "nope", "-o", "pack2")
    assert code == 2 and "no entry about dataset" in out


def test_log_tiles(env) -> None:
    assert run(*ADD, "--key", "keys/vendor.key")[0] == 0
    code, out = run("log", "tiles", "-o", "pub")
    assert code == 2 and "no checkpoint" in out
    assert run("log", "checkpoint", "--origin", "o", "--key", "keys/log.example.key")[0] == 0
    code, out = run("log", "tiles", "-o", "pub")
    assert code == 0 and "tiles for size 1" in out
    assert (env / "pub" / "tile" / "0" / "000.p" / "1").stat().st_size == 32
    assert (env / "pub" / "checkpoint").read_text().startswith("o\n1\n")


def test_ledger_token_and_bad_tenants_file(env, monkeypatch) -> None:
    from custody.ledger.server import token_hash

    code, out = run("ledger", "token")
    token = out.split("token: ")[1].split("\n")[0]
    assert code == 0 and f"tenants file entry: {token_hash(token)}" in out
    Path("tenants.json").write_text('{"tenants": {"a": {"ledger": "a.db", "writers": ["clear-text"]}}}')
    code, out = run("ledger", "serve", "--tenants", "tenants.json", "--key", "keys/log.example.key")
    assert code == 2 and "not in clear" in out


def test_data_oms(env, monkeypatch) -> None:
    from custody.ledger.keys import load_signing_key
    from custody.ledger.signing import open_envelope

    assert run(*ADD, "--key", "keys/vendor.key")[0] == 0
    code, out = run("data", "oms", "ds")
    assert code == 0 and json.loads(out)["predicateType"] == "https://model_signing/signature/v1.0"
    code, out = run("data", "oms", "ds", "--sign", "keys/vendor.key")
    key = load_signing_key("keys/vendor.key")
    opened = open_envelope(json.loads(out), {key.keyid: key.verifier})
    assert json.loads(opened.payload)["subject"][0]["name"] == "ds"


def test_witness_cosigns_and_bundles_need_the_quorum(env) -> None:
    for name in ("w1", "w2"):
        assert run("key", "gen", name, "--dir", "keys")[0] == 0
    assert run(*ADD, "--key", "keys/vendor.key")[0] == 0
    assert run("log", "checkpoint", "--origin", "o", "--key", "keys/log.example.key", "-o", "cp1")[0] == 0
    witness = ("log", "witness", "--log-key", "keys/log.example.pub", "--key", "keys/w1.key")
    witness += ("--state", "w1.json")
    code, out = run(*witness, "cp1", "--record")
    assert code == 0, out
    assert out.count("\u2014 ") == 2  # the log's signature and w1's cosignature

    # the log grows; the witness gets the consistency proof from the ledger and cosigns again
    assert run(*ADD, "--key", "keys/vendor.key")[0] == 0
    assert run("log", "checkpoint", "--origin", "o", "--key", "keys/log.example.key", "-o", "cp2")[0] == 0
    code, out = run(*witness, "cp2", "--record")
    assert code == 0, out
    code, out = run(*witness, "cp1")  # an older checkpoint: the witness will not go back
    assert code == 1 and "rollback" in out

    assert run("log", "prove", "1", "-o", "b.txt")[0] == 0
    base = ("verify", "b.txt", "--key", "keys/log.example.pub", "--origin", "o")
    code, out = run(*base, "--witness", "keys/w1.pub")
    assert code == 0 and "cosigned by: w1+" in out, out
    code, out = run(*base, "--witness", "keys/w1.pub", "--witness", "keys/w2.pub")  # both required
    assert code == 1 and "1 of the trusted witnesses, 2 required" in out
    code, out = run(*base, "--witness", "keys/w1.pub", "--witness", "keys/w2.pub", "--min-witnesses", "1")
    assert code == 0, out
    assert run(*base, "--witness", "keys/w1.pub", "--min-witnesses", "2")[0] == 2
    assert run("log", "verify")[1].startswith("OK: 2 entries")  # cosigned checkpoints are kept too

    # Regression (issue 11): `custody verify --witness` refused w1's key in the tlog-cosignature
    # form (type byte 0x04, its hash the cosignature key ID), which is how witnesses publish keys.
    pub = load_verifier("keys/w1.pub")
    blob = base64.b64encode(bytes([0x04]) + pub.public).decode()
    Path("w1.vkey").write_text(f"{pub.name}+{cosignature_key_id(pub).hex()}+{blob}\n")
    code, out = run(*base, "--witness", "w1.vkey")
    assert code == 0 and "cosigned by: w1+" in out, out


@pytest.mark.parametrize("origin", ["", "log.example\n7", "log\tx", "vendor example"])
def test_log_checkpoint_refuses_a_bad_origin_before_signing(env, origin: str) -> None:
    # Regression (issue 11): these origins were signed into checkpoints.
    assert run(*ADD, "--key", "keys/vendor.key")[0] == 0
    code, out = run("log", "checkpoint", "--origin", origin, "--key", "keys/log.example.key")
    assert code == 2 and "bad origin" in out
    code, out = run("log", "verify")
    assert code == 0 and ", 0 checkpoints" in out


def test_key_gen_takes_url_style_names_and_never_writes_outside_dir(env) -> None:
    # Regression (issue 11): `key gen example.com/w1` was a traceback (no such directory) and
    # `key gen ../x --dir keys` wrote keys/../x.key.
    code, out = run("key", "gen", "example.com/w1", "--dir", "keys")
    assert code == 0, out
    assert "key id:      example.com/w1+" in out
    assert Path("keys/example.com_w1.pub").read_text().startswith("example.com/w1+")
    code, out = run("key", "gen", "../x", "--dir", "keys")
    assert code == 0, out
    assert not Path("x.key").exists() and not Path("x.pub").exists()
    assert sorted(p.name for p in Path("keys").glob("*x.key")) == ["_.._x.key"]
    code, out = run("key", "gen", "example.com/w1", "--dir", "keys")
    assert code == 2 and "refusing to overwrite" in out


def test_log_prove_names_a_missing_entry_and_a_truncated_log(env) -> None:
    # Regression (issue 11): `log prove N` past the end said to make a checkpoint, and on a log
    # truncated below its newest checkpoint it was a traceback.
    assert run(*ADD, "--key", "keys/vendor.key")[0] == 0
    assert run(*ADD, "--key", "keys/vendor.key")[0] == 0
    assert run("log", "checkpoint", "--origin", "o", "--key", "keys/log.example.key")[0] == 0
    code, out = run("log", "prove", "7")
    assert code == 2 and "no entry 7: the log holds 2 entries" in out
    from custody.ledger.store import LedgerStore

    with LedgerStore.open(os.environ["CUSTODY_LEDGER"]) as store, store.conn.transaction():
        store.conn.execute("DELETE FROM leaf WHERE idx = 1")
    code, out = run("log", "prove", "0")
    assert code == 2 and "holds only 1 entries (truncated)" in out


@pytest.mark.parametrize("index", ["00", "01", "\u0660", "\u00b2", "+0", " 0", "18446744073709551616"])
def test_a_bundle_index_in_another_spelling_is_refused(env, index: str) -> None:
    # Regression (issue 11): a zero-padded index was accepted and a non-ASCII digit crashed.
    assert run(*ADD, "--key", "keys/vendor.key")[0] == 0
    assert run("log", "checkpoint", "--origin", "o", "--key", "keys/log.example.key")[0] == 0
    assert run("log", "prove", "0", "-o", "b.txt")[0] == 0
    text = Path("b.txt").read_text(encoding="utf-8")
    assert "\nindex 0\n" in text
    Path("b2.txt").write_text(text.replace("\nindex 0\n", f"\nindex {index}\n"), encoding="utf-8")
    code, out = run("verify", "b2.txt", "--key", "keys/log.example.pub", "--origin", "o")
    assert code == 1 and "no valid index line" in out, out


def test_verify_checks_the_origin_by_default(env) -> None:
    # Design gap (issue 11): without --origin, a bundle of any log signed by the key passed.
    assert run("key", "gen", "vendor.example/custody", "--dir", "keys")[0] == 0
    assert run(*ADD, "--key", "keys/vendor.key")[0] == 0
    assert (
        run("log", "checkpoint", "--origin", "vendor.example/custody", "--key", "keys/log.example.key")[0]
        == 0
    )
    assert run("log", "prove", "0", "-o", "b.txt")[0] == 0
    code, out = run("verify", "b.txt", "--key", "keys/log.example.pub")
    assert code == 1 and "checkpoint is for log 'vendor.example/custody'" in out
    assert "--origin vendor.example/custody" in out
    code, out = run("verify", "b.txt", "--key", "keys/log.example.pub", "--origin", "vendor.example/custody")
    assert code == 0 and "is in vendor.example/custody at size 1" in out
    # a log key named like its origin (as the checkpoint spec recommends) needs no --origin
    assert (
        run(
            "log",
            "checkpoint",
            "--origin",
            "vendor.example/custody",
            "--key",
            "keys/vendor.example_custody.key",
        )[0]
        == 0
    )
    assert run("log", "prove", "0", "-o", "c.txt")[0] == 0
    code, out = run("verify", "c.txt", "--key", "keys/vendor.example_custody.pub")
    assert code == 0, out
