"""The HTTP service: token roles per tenant, signed appends only, proofs, bundles and tiles."""

from __future__ import annotations

import base64
import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from custody.ledger import merkle
from custody.ledger.attest import compromise_statement, statement, statement_bytes
from custody.ledger.bundle import BundleError, verify_bundle
from custody.ledger.keys import SigningKey
from custody.ledger.server import ConfigError, Tenant, create_app, load_tenants, token_hash
from custody.ledger.signing import open_checkpoint, sign_envelope
from custody.ledger.store import LedgerStore
from custody.ledger.verify import verify_log
from tests.servers import ServerError, free_port, wait_http

W, A, W2 = "writer-token", "auditor-token", "other-tenant-writer"


@pytest.fixture
def client(tmp_path, log_key, asgi_server) -> Iterator[httpx.Client]:
    """An HTTP client on the real service: `create_app(...)` served by uvicorn on 127.0.0.1."""
    prefix, tenants = load_tenants(
        {
            "origin_prefix": "ledger.example",
            "tenants": {
                "acme": {
                    "ledger": str(tmp_path / "acme.db"),
                    "writers": [token_hash(W)],
                    "auditors": [token_hash(A)],
                },
                "globex": {"ledger": str(tmp_path / "globex.db"), "writers": [token_hash(W2)]},
            },
        }
    )
    base_url = asgi_server(create_app(tenants, log_key, prefix))
    with httpx.Client(base_url=base_url, timeout=10.0, trust_env=False) as http:
        yield http
    for tenant in tenants.values():  # the server has stopped: close the logs it opened
        tenant.close()


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _envelope(signer, dataset: str = "ds", principal: str = "ann") -> dict:
    stmt = statement(
        "accessed",
        [{"name": dataset, "digest": {"sha256": "ef" * 32}}],
        {"principal": principal, "purpose": "eval"},
    )
    return sign_envelope(statement_bytes(stmt), [signer])


def test_append_read_prove_and_roles(client: httpx.Client, alice, log_key) -> None:
    assert client.post("/t/acme/keys", json={"key": alice.verifier.text()}, headers=_h(W)).json() == {
        "keyid": alice.keyid
    }
    r = client.post(
        "/t/acme/entries", json={"envelopes": [_envelope(alice), _envelope(alice, "ds2")]}, headers=_h(W)
    )
    assert r.status_code == 200, r.text
    assert r.json()["indexes"] == [0, 1]
    cp = open_checkpoint(r.json()["checkpoint"], [log_key.verifier], "ledger.example/acme")
    assert cp.size == 2
    entry = client.get("/t/acme/entries/1", headers=_h(A)).json()
    assert entry["kind"] == "accessed" and entry["refs"]["dataset"] == ["ds2"]
    assert entry["refs"]["key"] == [alice.keyid]
    proof = [
        bytes.fromhex(h) for h in client.get("/t/acme/proof/inclusion?index=1", headers=_h(A)).json()["proof"]
    ]
    merkle.verify_inclusion(1, 2, merkle.leaf_hash(bytes.fromhex(entry["commitment"])), proof, cp.root)
    assert client.get("/t/acme/checkpoint", headers=_h(A)).text == r.json()["checkpoint"]
    bundle = client.get("/t/acme/bundle/0", headers=_h(A)).text
    assert verify_bundle(bundle, [log_key.verifier], "ledger.example/acme").index == 0
    tile = client.get("/t/acme/tile/0/000.p/2", headers=_h(A))
    assert tile.status_code == 200 and len(tile.content) == 64
    entries_tile = client.get("/t/acme/tile/entries/000.p/2", headers=_h(A)).content
    assert len(entries_tile) == 2 * 34 and entries_tile[34:36] == b"\x00\x20"
    assert entries_tile[36:] == bytes.fromhex(entry["commitment"])
    assert client.get("/t/acme/tile/0/000.p/3", headers=_h(A)).status_code == 404
    r = client.post("/t/acme/entries", json={"envelopes": [_envelope(alice)]}, headers=_h(W))
    cp2 = open_checkpoint(r.json()["checkpoint"], [log_key.verifier])
    consistency = client.get("/t/acme/proof/consistency?first=2", headers=_h(A)).json()["proof"]
    merkle.verify_consistency(2, 3, [bytes.fromhex(h) for h in consistency], cp.root, cp2.root)


def test_auth_errors(client: httpx.Client, alice) -> None:
    assert client.get("/t/acme/checkpoint").status_code == 401
    assert client.get("/t/acme/checkpoint", headers=_h("wrong")).status_code == 401
    assert client.get("/t/acme/checkpoint", headers=_h(W2)).status_code == 401  # other tenant's token
    # an unknown tenant answers as an unknown token does: tenant names cannot be enumerated
    assert client.get("/t/nobody/checkpoint", headers=_h(W)).status_code == 401
    assert client.get("/t/nobody/checkpoint").json() == client.get("/t/acme/checkpoint").json()
    r = client.post("/t/acme/keys", json={"key": alice.verifier.text()}, headers=_h(A))
    assert r.status_code == 403 and "read-only" in r.json()["error"]
    r = client.post("/t/acme/entries", json={"envelopes": [_envelope(alice)]}, headers=_h(A))
    assert r.status_code == 403


def test_refuses_unsigned_unknown_or_foreign_payloads(client: httpx.Client, alice, bob) -> None:
    client.post("/t/acme/keys", json={"key": alice.verifier.text()}, headers=_h(W))
    r = client.post("/t/acme/entries", json={"envelopes": [_envelope(bob)]}, headers=_h(W))
    assert r.status_code == 400 and f"unknown key {bob.keyid}" in r.json()["error"]
    forged = _envelope(alice)
    forged["payload"] = base64.b64encode(b'{"predicateType": "x"}').decode()
    r = client.post("/t/acme/entries", json={"envelopes": [forged]}, headers=_h(W))
    assert r.status_code == 400 and "altered or forged" in r.json()["error"]
    other = sign_envelope(b'{"predicateType": "https://example.com/other"}', [alice])
    r = client.post("/t/acme/entries", json={"envelopes": [other]}, headers=_h(W))
    assert r.status_code == 400 and "not a custody in-toto statement" in r.json()["error"]
    assert client.post("/t/acme/entries", json={"envelopes": []}, headers=_h(W)).status_code == 400
    assert client.post("/t/acme/keys", json={"key": "nonsense"}, headers=_h(W)).status_code == 400
    assert client.get("/t/acme/checkpoint", headers=_h(A)).status_code == 404  # nothing was appended
    assert client.get("/t/acme/entries/0", headers=_h(A)).status_code == 404
    assert client.get("/t/acme/proof/inclusion?index=0", headers=_h(A)).status_code == 400


def test_tokens_in_clear_are_refused() -> None:
    with pytest.raises(ConfigError, match="not in clear"):
        load_tenants({"tenants": {"a": {"ledger": "a.db", "writers": ["hunter2"]}}})
    with pytest.raises(ConfigError):
        load_tenants({"nothing": 1})


def test_cli_serve_end_to_end(tmp_path, alice, log_key) -> None:
    """`custody ledger serve` as its own process on a free port: append, read, prove, then stop."""
    key_file = tmp_path / "log.key"
    key_file.write_text(log_key.text())
    key_file.chmod(0o600)
    tenants_file = tmp_path / "tenants.json"
    tenants_file.write_text(
        json.dumps(
            {
                "origin_prefix": "ledger.example",
                "tenants": {
                    "acme": {
                        "ledger": str(tmp_path / "acme.db"),
                        "writers": [token_hash(W)],
                        "auditors": [token_hash(A)],
                    }
                },
            }
        )
    )
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "custody.cli.main", "ledger", "serve", "--tenants", str(tenants_file)]
    command += ["--key", str(key_file), "--bind", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        try:
            wait_http(f"{base_url}/t/acme/checkpoint", timeout=60.0, process=process)
        except ServerError as exc:
            process.kill()
            pytest.fail(f"{exc}\n{process.communicate(timeout=10)[0]}")
        with httpx.Client(base_url=base_url, timeout=10.0, trust_env=False) as http:
            assert http.post("/t/acme/keys", json={"key": alice.verifier.text()}, headers=_h(W)).json() == {
                "keyid": alice.keyid
            }
            r = http.post("/t/acme/entries", json={"envelopes": [_envelope(alice, "ds-cli")]}, headers=_h(W))
            assert r.status_code == 200, r.text
            assert r.json()["indexes"] == [0]
            cp = open_checkpoint(r.json()["checkpoint"], [log_key.verifier], "ledger.example/acme")
            assert cp.size == 1
            entry = http.get("/t/acme/entries/0", headers=_h(A)).json()
            assert entry["kind"] == "accessed" and entry["refs"]["dataset"] == ["ds-cli"]
            assert http.get("/t/acme/checkpoint", headers=_h(A)).text == r.json()["checkpoint"]
            assert (
                verify_bundle(
                    http.get("/t/acme/bundle/0", headers=_h(A)).text,
                    [log_key.verifier],
                    "ledger.example/acme",
                ).index
                == 0
            )
            assert http.get("/t/acme/checkpoint").status_code == 401
    finally:
        process.terminate()
        try:
            output = process.communicate(timeout=10)[0]
        except subprocess.TimeoutExpired:
            process.kill()
            output = process.communicate(timeout=10)[0]
    assert process.returncode in (0, -signal.SIGTERM), output  # stopped cleanly by SIGTERM


def test_concurrent_reads_and_writes_stay_consistent(client: httpx.Client, alice, log_key) -> None:
    """Reads run on a pool of connections beside the writer: every proof served while appends
    go on verifies against a checkpoint the server signed."""
    from concurrent.futures import ThreadPoolExecutor

    client.post("/t/acme/keys", json={"key": alice.verifier.text()}, headers=_h(W))
    first = client.post(
        "/t/acme/entries", json={"envelopes": [_envelope(alice, f"d{i}") for i in range(20)]}, headers=_h(W)
    )
    assert first.status_code == 200, first.text

    def append(n: int) -> int:
        r = client.post("/t/acme/entries", json={"envelopes": [_envelope(alice, f"late{n}")]}, headers=_h(W))
        assert r.status_code == 200, r.text
        return int(r.json()["indexes"][0])

    def prove(n: int) -> int:
        cp = open_checkpoint(client.get("/t/acme/checkpoint", headers=_h(A)).text, [log_key.verifier])
        index = n % cp.size
        entry = client.get(f"/t/acme/entries/{index}", headers=_h(A)).json()
        answer = client.get(f"/t/acme/proof/inclusion?index={index}&size={cp.size}", headers=_h(A))
        assert answer.status_code == 200, answer.text
        proof = [bytes.fromhex(h) for h in answer.json()["proof"]]
        leaf = merkle.leaf_hash(bytes.fromhex(entry["commitment"]))
        merkle.verify_inclusion(index, cp.size, leaf, proof, cp.root)
        return index

    with ThreadPoolExecutor(max_workers=12) as pool:
        writes = [pool.submit(append, n) for n in range(10)]
        reads = [pool.submit(prove, n) for n in range(60)]
        indexes = sorted(f.result() for f in writes)
        assert all(f.result() >= 0 for f in reads)
    assert indexes == list(range(20, 30))
    final = open_checkpoint(client.get("/t/acme/checkpoint", headers=_h(A)).text, [log_key.verifier])
    assert final.size == 30


@pytest.mark.parametrize(
    ("prefix", "name"), [("ledger.example\n9", "a"), ("ledger.example", "a b"), ("x", "a+b")]
)
def test_tenants_file_with_a_bad_origin_is_refused(prefix: str, name: str) -> None:
    # Regression (issue 11): the tenant's origin `PREFIX/NAME` went unchecked into every checkpoint.
    tenant = {"ledger": "a.db", "writers": [token_hash("t")]}
    with pytest.raises(ConfigError, match="bad origin"):
        load_tenants({"origin_prefix": prefix, "tenants": {name: tenant}})
    with pytest.raises(ConfigError, match="bad origin"):  # the library entry point checks too
        create_app({name: Tenant(name=name, ledger="a.db")}, SigningKey.generate("log.example"), prefix)


def test_a_retried_batch_with_an_idempotency_key_lands_once(client: httpx.Client, alice, log_key) -> None:
    # Regression (issue 11): a client retrying a POST whose answer it lost appended the batch twice.
    client.post("/t/acme/keys", json={"key": alice.verifier.text()}, headers=_h(W))
    batch = {"envelopes": [_envelope(alice), _envelope(alice, "ds2")]}
    first = client.post("/t/acme/entries", json=batch, headers={**_h(W), "Idempotency-Key": "job-7/1"})
    again = client.post("/t/acme/entries", json=batch, headers={**_h(W), "Idempotency-Key": "job-7/1"})
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["indexes"] == again.json()["indexes"] == [0, 1]
    assert open_checkpoint(again.json()["checkpoint"], [log_key.verifier]).size == 2
    other = {"envelopes": [_envelope(alice, "ds3")]}
    r = client.post("/t/acme/entries", json=other, headers={**_h(W), "Idempotency-Key": "job-7/1"})
    assert r.status_code == 422 and "different batch" in r.json()["error"]
    r = client.post("/t/acme/entries", json=other, headers={**_h(W), "Idempotency-Key": "bad key"})
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["error"]
    r = client.post("/t/acme/entries", json=other, headers={**_h(W), "Idempotency-Key": "job-7/2"})
    assert r.json()["indexes"] == [2]
    assert client.post("/t/acme/entries", json=other, headers=_h(W)).json()["indexes"] == [3]


def test_huge_indexes_deep_json_and_malformed_statements_are_client_errors(
    client: httpx.Client, alice
) -> None:
    # Regression (issue 11): these answered 500, or (the statements) were appended.
    client.post("/t/acme/keys", json={"key": alice.verifier.text()}, headers=_h(W))
    huge = str(1 << 63)
    assert client.get(f"/t/acme/entries/{huge}", headers=_h(A)).status_code == 404
    assert client.get(f"/t/acme/bundle/{huge}", headers=_h(A)).status_code == 404
    r = client.get(f"/t/acme/proof/inclusion?index={huge}", headers=_h(A))
    assert r.status_code == 400 and "not an index" in r.json()["error"]
    deep = b'{"envelopes": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    r = client.post("/t/acme/entries", content=deep, headers={**_h(W), "Content-Type": "application/json"})
    assert r.status_code == 400 and "nested too deeply" in r.json()["error"]
    good = json.loads(statement_bytes(statement("accessed", [{"name": "d", "digest": {"sha256": "ab"}}], {})))
    bad_statements = [
        {**good, "_type": "https://in-toto.io/Statement/v0.1"},
        {**good, "subject": []},
        {**good, "subject": [{"name": "d"}]},
        {**good, "subject": [{"name": "d", "digest": {"sha256": 5}}]},
        {**good, "subject": [{"name": 7, "digest": {"sha256": "ab"}}]},
        {**good, "predicate": ["not", "an", "object"]},
        [good],
    ]
    for stmt in bad_statements:
        env = sign_envelope(json.dumps(stmt).encode(), [alice])
        r = client.post("/t/acme/entries", json={"envelopes": [env]}, headers=_h(W))
        assert r.status_code == 400 and "not a custody in-toto statement" in r.json()["error"], stmt
    other_type = sign_envelope(json.dumps(good).encode(), [alice], payload_type="text/plain")
    r = client.post("/t/acme/entries", json={"envelopes": [other_type]}, headers=_h(W))
    assert r.status_code == 400 and "payloadType" in r.json()["error"]
    assert client.get("/t/acme/checkpoint", headers=_h(A)).status_code == 404  # nothing appended


@pytest.fixture
def small_server(tmp_path, log_key, asgi_server) -> Iterator[str]:
    """The service with a 4 KiB body limit and a 1 s body timeout."""
    prefix, tenants = load_tenants(
        {"tenants": {"acme": {"ledger": str(tmp_path / "acme.db"), "writers": [token_hash(W)]}}}
    )
    yield asgi_server(create_app(tenants, log_key, prefix, max_body=4096, body_timeout=1.0))
    for tenant in tenants.values():
        tenant.close()


def test_writer_bodies_are_bounded_in_size_and_time(small_server: str) -> None:
    # Regression (issue 11): an authenticated writer could send any amount of body, as slowly as it
    # liked (a 200 MB body grew the server by 340 MB).
    with httpx.Client(base_url=small_server, timeout=10.0, trust_env=False) as http:
        r = http.post("/t/acme/entries", content=b"x" * 5000, headers=_h(W))
        assert r.status_code == 413 and "over 4096 bytes" in r.json()["error"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
            for _ in range(10):
                yield b"x" * 1000

        r = http.post("/t/acme/entries", content=chunks(), headers=_h(W))
        assert r.status_code == 413
        assert http.post("/t/acme/keys", content=b"x" * 5000, headers=_h(W)).status_code == 413
    host, port = small_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        head = f"POST /t/acme/entries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {W}\r\n"
        sock.sendall((head + "Content-Length: 100\r\n\r\n").encode() + b'{"envelopes": ')
        answer = sock.recv(4096).decode()  # the server gives up on the rest of the body
    assert answer.startswith("HTTP/1.1 408"), answer


def test_one_tenants_bundle_does_not_verify_as_anothers_by_default(
    client: httpx.Client, alice, log_key
) -> None:
    # Design gap (issue 11): one server key signs every tenant's checkpoints, so a bundle from
    # tenant acme verified as globex's unless the reader named the origin.
    client.post("/t/acme/keys", json={"key": alice.verifier.text()}, headers=_h(W))
    client.post("/t/acme/entries", json={"envelopes": [_envelope(alice)]}, headers=_h(W))
    bundle = client.get("/t/acme/bundle/0", headers=_h(A)).text
    with pytest.raises(BundleError, match=r"checkpoint is for log 'ledger\.example/acme'"):
        verify_bundle(bundle, [log_key.verifier])
    with pytest.raises(BundleError, match=r"not 'ledger\.example/globex'"):
        verify_bundle(bundle, [log_key.verifier], "ledger.example/globex")
    assert verify_bundle(bundle, [log_key.verifier], "ledger.example/acme").checkpoint.origin == (
        "ledger.example/acme"
    )


def test_a_third_party_witness_takes_its_proof_from_the_service_or_a_file(
    client: httpx.Client, alice, log_key, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Design gap (issue 11): a witness needed the log's database for the consistency proof.
    from click.testing import CliRunner

    from custody.cli.main import cli
    from custody.ledger.keys import write_key_pair

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUSTODY_LEDGER", str(tmp_path / "no-such-ledger.db"))  # never opened
    write_key_pair(log_key, "keys")
    witness_key = SigningKey.generate("witness.example/w1")
    write_key_pair(witness_key, "keys")
    client.post("/t/acme/keys", json={"key": alice.verifier.text()}, headers=_h(W))

    def post_and_save(name: str) -> None:
        r = client.post("/t/acme/entries", json={"envelopes": [_envelope(alice)]}, headers=_h(W))
        (tmp_path / name).write_text(r.json()["checkpoint"])

    base = ["log", "witness", "--log-key", "keys/log.example.pub", "--key", "keys/witness.example_w1.key"]
    base += ["--state", "w.json"]
    post_and_save("cp1")
    assert CliRunner().invoke(cli, [*base, "cp1"]).exit_code == 0  # first sight: nothing to prove
    post_and_save("cp2")
    url = str(client.base_url.join("/t/acme"))
    monkeypatch.setenv("CUSTODY_LEDGER_TOKEN", A)  # an auditor's token is enough to read proofs
    result = CliRunner().invoke(cli, [*base, "cp2", "--log-url", url])
    assert result.exit_code == 0, result.output
    assert result.output.count("\u2014 ") == 2
    post_and_save("cp3")
    (tmp_path / "p.json").write_text(
        client.get("/t/acme/proof/consistency?first=2&second=3", headers=_h(A)).text
    )
    result = CliRunner().invoke(cli, [*base, "cp3", "--proof", "p.json"])
    assert result.exit_code == 0, result.output
    post_and_save("cp4")
    result = CliRunner().invoke(cli, [*base, "cp4", "--proof", "p.json"])  # a proof for other sizes
    assert result.exit_code == 1 and "not cosigned" in result.output
    monkeypatch.setenv("CUSTODY_LEDGER_TOKEN", "wrong")
    result = CliRunner().invoke(cli, [*base, "cp4", "--log-url", url])
    assert result.exit_code == 1 and "HTTP 401" in result.output
    assert not (tmp_path / "no-such-ledger.db").exists()


def test_a_compromise_mark_sent_over_http_is_logged_and_noted(
    client: httpx.Client, alice, bob, tmp_path
) -> None:
    # A writer may declare a key compromised over HTTP: the key table is updated with the batch, so
    # `log verify` finds table and log in agreement (and a malformed mark is a client error).
    for key in (alice, bob):
        client.post("/t/acme/keys", json={"key": key.verifier.text()}, headers=_h(W))
    client.post("/t/acme/entries", json={"envelopes": [_envelope(alice)]}, headers=_h(W))
    subjects, predicate = compromise_statement(alice.keyid, "2000-01-01T00:00:00.000000Z", "leaked")
    mark = sign_envelope(statement_bytes(statement("key-compromised", subjects, predicate)), [bob])
    r = client.post("/t/acme/entries", json={"envelopes": [mark]}, headers=_h(W))
    assert r.status_code == 200 and r.json()["indexes"] == [1], r.text
    bad = statement("key-compromised", subjects, {**predicate, "since": "2000-01-01"})
    r = client.post(
        "/t/acme/entries", json={"envelopes": [sign_envelope(statement_bytes(bad), [bob])]}, headers=_h(W)
    )
    assert r.status_code == 400 and "log's format" in r.json()["error"]
    with LedgerStore.open(str(tmp_path / "acme.db"), create=False) as store:
        report = verify_log(store)
    assert report.ok, report.problems
    assert [f.split(":")[0] for f in report.flagged] == ["entry 0"]
