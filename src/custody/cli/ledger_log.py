"""`custody log`, `custody verify`, `custody ledger`: checkpoints, verification, bundles, tiles,
evidence packs and the HTTP service. Thin: the work is in `custody.ledger`."""

from __future__ import annotations

import base64
import json
import os
import secrets
import sys
from collections.abc import Sequence

import click

from custody.cli import exit_codes
from custody.cli.ledger_common import LEDGER_OPTION
from custody.cli.ledger_common import open_ledger as _open
from custody.cli.ledger_common import signers_from as _signers
from custody.cli.ledger_common import verifiers_from as _verifiers
from custody.cli.output import check_output_dir, check_output_file, fail_output, write_output
from custody.errors import CheckFailedError, UsageError
from custody.ledger.api import checkpoint, redact
from custody.ledger.bundle import BundleError, make_bundle, verify_bundle
from custody.ledger.evidence import EvidenceError, write_evidence
from custody.ledger.keys import BadKey
from custody.ledger.merkle import ProofError
from custody.ledger.proof_source import proof_from_file, proof_from_service
from custody.ledger.signing import SignatureError, check_origin, open_checkpoint
from custody.ledger.tiles import export_tiles
from custody.ledger.verify import verify_log
from custody.ledger.witness import WitnessError, last_seen, load_witness_key, require_witnesses, witness
from custody.store import StoreError

# -- log ------------------------------------------------------------------------------------------


@click.group()
def log() -> None:
    """The transparency log: checkpoints and whole-log verification."""


@log.command("checkpoint")
@click.option("--origin", required=True, help="The log's origin line, e.g. 'vendor.example/custody'.")
@click.option("--key", "key_paths", multiple=True, help="Log private key (default $CUSTODY_SIGNING_KEY).")
@click.option(
    "--output",
    "-o",
    default=None,
    callback=check_output_file,
    help="Also write the signed checkpoint to this file.",
)
@LEDGER_OPTION
def log_checkpoint(origin: str, key_paths: Sequence[str], output: str | None, ledger_path: str) -> None:
    """Sign the current tree head as a C2SP checkpoint, keep it in the log and print it."""
    try:
        check_origin(origin)  # before the ledger is touched: a usage error, exit 2
    except SignatureError as exc:
        raise UsageError(str(exc)) from exc
    signers = _signers(key_paths)
    with _open(ledger_path) as store:
        try:
            note = checkpoint(store, origin, signers)
        except ProofError as exc:
            raise CheckFailedError(str(exc)) from exc
    if output:
        write_output(output, note)
    click.echo(note, nl=False)


@log.command("witness")
@click.argument("checkpoint_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--log-key", "log_keys", multiple=True, required=True, help="The log's public key (file or text)."
)
@click.option("--key", "key_paths", multiple=True, help="Witness private key (default $CUSTODY_SIGNING_KEY).")
@click.option(
    "--state", "state_path", required=True, help="The witness's memory of each log (JSON, kept between runs)."
)
@click.option(
    "--output",
    "-o",
    default=None,
    callback=check_output_file,
    help="Write the cosigned checkpoint here (default: stdout).",
)
@click.option(
    "--record",
    is_flag=True,
    help="Also keep the cosigned checkpoint in the ledger, so proof bundles carry the cosignature.",
)
@click.option(
    "--proof",
    "proof_file",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="Consistency proof from the last cosigned size, as the HTTP service answers it (JSON), "
    "instead of reading the ledger.",
)
@click.option(
    "--log-url",
    default=None,
    help="Ask the log's HTTP service for the proof (https://HOST/t/NAME; token in "
    "$CUSTODY_LEDGER_TOKEN), instead of reading the ledger.",
)
@LEDGER_OPTION
def log_witness(
    checkpoint_file: str,
    log_keys: Sequence[str],
    key_paths: Sequence[str],
    state_path: str,
    output: str | None,
    record: bool,
    proof_file: str | None,
    log_url: str | None,
    ledger_path: str,
) -> None:
    """Cosign a checkpoint (c2sp.org/tlog-cosignature) after checking it extends the last one this
    witness cosigned for that log, with a consistency proof from the ledger (or --proof FILE, or
    --log-url: a third-party witness needs no database). Exit 1 on a rollback, a fork or a failed
    proof (nothing is cosigned, the witness state is unchanged)."""
    if proof_file and log_url:
        raise UsageError("give --proof or --log-url, not both")
    if record and (proof_file or log_url):
        raise UsageError(
            "--record writes to the ledger: use it where the ledger is, not with --proof/--log-url"
        )
    signers = _signers(key_paths)
    if len(signers) != 1:
        raise UsageError("give exactly one witness key")
    with open(checkpoint_file, encoding="utf-8") as handle:
        note = handle.read()
    verifiers = _verifiers(log_keys)
    try:
        cp = open_checkpoint(note, verifiers)
        seen = last_seen(state_path, cp.origin)
        proof: list[bytes] = []
        if seen is not None and cp.size > seen.size:
            if proof_file:
                proof = proof_from_file(proof_file)
            elif log_url:
                token = os.environ.get("CUSTODY_LEDGER_TOKEN")
                proof = proof_from_service(log_url, seen.size, cp.size, token)
            else:
                with _open(ledger_path) as store:
                    proof = store.consistency_proof(seen.size, cp.size)
        cosigned = witness(note, verifiers, signers[0], state_path, proof)
        if record:
            with _open(ledger_path) as store:
                store.save_checkpoint(cp.size, cp.root, cosigned)
    except (WitnessError, SignatureError, ProofError, StoreError) as exc:
        raise CheckFailedError(f"not cosigned: {exc}") from exc
    if output:
        write_output(output, cosigned)
    else:
        click.echo(cosigned, nl=False)


@log.command("verify")
@click.option(
    "--key", "keys", multiple=True, help="Log public key (file or text) checkpoints must be signed by."
)
@click.option(
    "--checkpoint", "saved", multiple=True, type=click.Path(exists=True), help="Saved checkpoint file."
)
@click.option("--origin", default=None, help="Require checkpoints of this origin.")
@LEDGER_OPTION
def log_verify(keys: Sequence[str], saved: Sequence[str], origin: str | None, ledger_path: str) -> None:
    """Recompute the whole log; check records, signatures and every checkpoint. Exit 1 on a problem."""
    verifiers = _verifiers(keys)
    notes = []
    for path in saved:
        with open(path, encoding="utf-8") as handle:
            notes.append(handle.read())
    with _open(ledger_path) as store:
        report = verify_log(store, log_keys=verifiers, saved_checkpoints=notes, origin=origin)
    for problem in report.problems:
        click.echo(f"PROBLEM: {problem}")
    for flag in report.flagged:
        click.echo(f"FLAGGED: {flag}")
    root = base64.b64encode(report.root).decode()  # as checkpoints carry it, so the two compare
    summary = f"{report.size} entries, root {root}, {report.checkpoints} checkpoints"
    summary += f", {report.redacted} redacted" if report.redacted else ""
    if not verifiers and report.checkpoints:
        summary += " (checkpoint signatures not checked: no --key)"
    if not report.ok:
        click.echo(f"FAILED: {summary}")
        sys.exit(exit_codes.FOUND)
    click.echo(f"{'OK with flags' if report.flagged else 'OK'}: {summary}")
    if report.flagged:
        sys.exit(exit_codes.FOUND)


@log.command("prove")
@click.argument("index", type=click.IntRange(min=0))
@click.option(
    "--output",
    "-o",
    default=None,
    callback=check_output_file,
    help="Write the bundle here instead of stdout.",
)
@LEDGER_OPTION
def log_prove(index: int, output: str | None, ledger_path: str) -> None:
    """Offline proof bundle (C2SP tlog-proof) for entry INDEX: check it with `custody verify`."""
    with _open(ledger_path) as store:
        try:
            text = make_bundle(store, index)
        except (BundleError, StoreError) as exc:
            raise UsageError(str(exc)) from exc
    if output:
        write_output(output, text)
    else:
        click.echo(text, nl=False)


@log.command("tiles")
@click.option(
    "--output",
    "-o",
    required=True,
    callback=check_output_dir,
    help="Directory to publish (only new tiles are written).",
)
@LEDGER_OPTION
def log_tiles(output: str, ledger_path: str) -> None:
    """Export the read side as C2SP tlog-tiles for the newest stored checkpoint."""
    with _open(ledger_path) as store:
        latest = store.latest_checkpoint()
        if latest is None:
            raise UsageError("no checkpoint yet: run `custody log checkpoint` first")
        size, _root, note = latest
        try:
            written = export_tiles(store, output, note)
        except ProofError as exc:
            raise CheckFailedError(str(exc)) from exc
        except OSError as exc:
            fail_output(output, exc.strerror or str(exc))
    click.echo(f"{output}: tiles for size {size} ({written} files written)")


@log.command("redact")
@click.argument("index", type=click.IntRange(min=0))
@click.option("--reason", required=True, help="Why (kept with the record, e.g. an erasure request id).")
@click.option(
    "--key", "key_paths", multiple=True, help="Who redacts: private key (default $CUSTODY_SIGNING_KEY)."
)
@LEDGER_OPTION
def log_redact(index: int, reason: str, key_paths: Sequence[str], ledger_path: str) -> None:
    """Erase entry INDEX's readable metadata, after logging a signed statement of who did it and
    why (`log verify` requires one per erased entry); its commitment and every proof stay valid."""
    signers = _signers(key_paths)
    with _open(ledger_path) as store:
        try:
            at = redact(store, index, reason, signers)
        except StoreError as exc:
            raise UsageError(str(exc)) from exc
    click.echo(f"entry {index} redacted (statement: entry {at})")


@click.command("verify")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "keys", multiple=True, required=True, help="Log public key (file or text).")
@click.option(
    "--origin",
    default=None,
    help="The log the bundle must come from (default: the name of the --key that signed it).",
)
@click.option("--witness", "witness_keys", multiple=True, help="A trusted witness's public key (repeatable).")
@click.option(
    "--min-witnesses",
    type=click.IntRange(min=0),
    default=None,
    help="Cosignatures required on the checkpoint (default: all --witness keys).",
)
def verify(
    bundle: str,
    keys: Sequence[str],
    origin: str | None,
    witness_keys: Sequence[str],
    min_witnesses: int | None,
) -> None:
    """Check an offline proof bundle with nothing but the log's public key (and, with --witness, a
    quorum of witness cosignatures on its checkpoint). Exit 1 if it fails."""
    verifiers = _verifiers(keys)
    try:
        witnesses = [load_witness_key(w) for w in witness_keys]
    except (BadKey, OSError) as exc:
        raise UsageError(str(exc)) from exc
    quorum = len(witnesses) if min_witnesses is None else min_witnesses
    if quorum > len(witnesses):
        raise UsageError(f"--min-witnesses {quorum} needs at least that many --witness keys")
    with open(bundle, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    try:
        got = verify_bundle(text, verifiers, origin)
        cosigned = require_witnesses(text.partition("\n\n")[2], witnesses, quorum) if quorum else []
    except (BundleError, SignatureError) as exc:
        click.echo(f"FAILED: {exc}")
        sys.exit(exit_codes.FOUND)
    cp = got.checkpoint
    click.echo(f"OK: entry {got.index} ({got.kind}, {got.integrated_at}) is in {cp.origin} at size {cp.size}")
    if cosigned:
        click.echo(f"cosigned by: {', '.join(c.witness for c in cosigned)}")
    if got.signers:
        click.echo(f"signed by: {', '.join(got.signers)}")
    if got.statement is not None:
        names = [s.get("name") for s in got.statement.get("subject", []) if isinstance(s, dict)]
        click.echo(f"subjects: {', '.join(str(n) for n in names)}")
        click.echo(json.dumps(got.statement.get("predicate", {}), sort_keys=True))


@click.group("ledger")
def ledger_group() -> None:
    """The ledger as a whole: evidence packs."""


@ledger_group.command("evidence")
@click.option("--dataset", "dataset_name", required=True, help="Dataset name (as in its statements).")
@click.option(
    "--output", "-o", required=True, callback=check_output_dir, help="Directory for the pack (new or empty)."
)
@LEDGER_OPTION
def ledger_evidence(dataset_name: str, output: str, ledger_path: str) -> None:
    """Write every entry about a dataset with its offline proof bundle into an evidence pack."""
    with _open(ledger_path) as store:
        try:
            summary = write_evidence(store, dataset_name, output)
        except EvidenceError as exc:
            raise UsageError(str(exc)) from exc
        except OSError as exc:
            fail_output(output, exc.strerror or str(exc))
    bundled = sum(1 for e in summary["entries"] if e["bundle"])
    click.echo(
        f"{output}: {len(summary['entries'])} entries about {dataset_name}, {bundled} with proof bundles"
    )
    for e in summary["entries"]:
        if not e["bundle"]:
            click.echo(f"  entry {e['index']}: no bundle: {e['why_no_bundle']}")


@ledger_group.command("token")
def ledger_token() -> None:
    """Print a new random access token and the hash to put in the tenants file."""
    from custody.ledger.tenants import token_hash  # noqa: PLC0415

    token = secrets.token_urlsafe(32)
    click.echo(f"token: {token}\ntenants file entry: {token_hash(token)}")


@ledger_group.command("serve")
@click.option("--tenants", "tenants_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--key", "key_paths", multiple=True, help="Log key signing checkpoints (default $CUSTODY_SIGNING_KEY)."
)
@click.option("--bind", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
def ledger_serve(tenants_path: str, key_paths: Sequence[str], bind: str, port: int) -> None:
    """Serve each tenant's log over HTTP: appends for writers, proofs, bundles and tiles for auditors."""
    from custody.errors import MissingExtraError  # noqa: PLC0415

    try:
        import uvicorn  # noqa: PLC0415 - heavy, only when serving

        from custody.ledger.server import ConfigError, create_app, load_tenants  # noqa: PLC0415
    except MissingExtraError as exc:  # starlette, from custody.ledger.server
        raise UsageError(str(exc)) from exc
    except ModuleNotFoundError as exc:  # uvicorn, the other half of the 'server' extra
        raise UsageError(str(MissingExtraError("server", exc.name or "uvicorn"))) from exc

    signers = _signers(key_paths)
    try:
        with open(tenants_path, encoding="utf-8") as handle:
            prefix, tenants = load_tenants(json.load(handle))
    except (ConfigError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    uvicorn.run(create_app(tenants, signers[0], prefix), host=bind, port=port)
