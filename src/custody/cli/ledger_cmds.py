"""`custody key`, `custody data`, `custody exposure`, and the registry of every ledger command
(`custody log`, `verify` and `ledger` live in ledger_log.py, the other `data` statements in
ledger_records.py).

Thin on purpose: every decision lives in `custody.ledger`; here are only options, messages and
exit codes (0 fine, 1 verification found a problem, 2 usage error).
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import sys
from collections.abc import Sequence

import click

from custody.cli import exit_codes
from custody.cli.ledger_common import LEDGER_OPTION
from custody.cli.ledger_common import open_ledger as _open
from custody.cli.ledger_common import signers_from as _signers
from custody.cli.ledger_log import ledger_group, log, verify
from custody.cli.ledger_records import DATA_COMMANDS
from custody.cli.output import check_output_file, open_output
from custody.errors import CheckFailedError, UsageError
from custody.ledger import dataset
from custody.ledger.access import AccessRefused, open_verified
from custody.ledger.api import Record, mark_compromised, record
from custody.ledger.attest import MERKLE_DIGEST, compromise_statement
from custody.ledger.exposure import exposure as exposure_query
from custody.ledger.keys import (
    BadKey,
    SigningKey,
    key_file_stem,
    load_verifier,
    write_key_pair,
)
from custody.ledger.merkle import ProofError
from custody.ledger.store import normalize_time

# -- key ------------------------------------------------------------------------------------------


@click.group()
def key() -> None:
    """Ed25519 signing keys (C2SP signed-note formats)."""


@key.command("gen")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    default=".",
    show_default=True,
    help="Where NAME.key and NAME.pub go ('/' in NAME becomes '_').",
)
def key_gen(name: str, directory: str) -> None:
    """Generate a key: NAME.key (private, mode 0600, never overwritten) and NAME.pub."""
    try:
        private, public = write_key_pair(SigningKey.generate(name), directory)
    except BadKey as exc:
        raise UsageError(str(exc)) from exc
    except FileExistsError:
        raise UsageError(
            f"{os.path.join(directory, key_file_stem(name) + '.key')} exists; refusing to overwrite a key"
        ) from None
    except OSError as exc:
        raise UsageError(f"{directory}: cannot write the key: {exc.strerror or exc}") from exc
    click.echo(f"private key: {private}\npublic key:  {public}\nkey id:      {load_verifier(public).keyid}")


@key.command("compromised")
@click.argument("keyid")
@click.option("--since", required=True, help="ISO 8601 time from which the key is no longer trusted.")
@click.option("--reason", required=True, help="Why (kept in the signed statement, e.g. an incident id).")
@click.option(
    "--key", "key_paths", multiple=True, help="Who marks it: private key (default $CUSTODY_SIGNING_KEY)."
)
@LEDGER_OPTION
def key_compromised(keyid: str, since: str, reason: str, key_paths: Sequence[str], ledger_path: str) -> None:
    """Mark KEYID compromised from --since with a signed statement in the log (who, when, why):
    `custody log verify` flags what it signed afterwards, `data open` refuses what it vouched for."""
    try:
        when = normalize_time(since)
        compromise_statement(keyid, when, reason)  # a usage error before anything is signed
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    signers = _signers(key_paths)
    with _open(ledger_path) as store:
        at = mark_compromised(store, keyid, when, reason, signers)
    click.echo(f"{keyid} marked compromised since {when} (statement: entry {at})")


# -- data -----------------------------------------------------------------------------------------


@click.group()
def data() -> None:
    """Dataset manifests: content-address, verify, prove."""


@data.command("add")
@click.argument("path", type=click.Path(exists=True))
@click.option("--producer", required=True, help="Who produced the data (organisation or team).")
@click.option("--project", required=True)
@click.option("--client", required=True)
@click.option("--protocol", required=True, help="Labeling protocol and version, e.g. 'sentiment-v3'.")
@click.option("--name", default=None, help="Dataset name (default: the file or directory name).")
@click.option("--principal", default=None, help="Who runs this (default: the login name).")
@click.option("--host", default=None, help="Where it runs (default: this host name).")
@click.option("--manifest", "manifest_path", default=None, help="Manifest file (default: PATH.custody.json).")
@click.option(
    "--key", "key_paths", multiple=True, help="Private key file (repeatable; default $CUSTODY_SIGNING_KEY)."
)
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Hashing threads.")
@click.option(
    "--records", is_flag=True, help="Also one Merkle leaf per line of .jsonl/.ndjson/.csv/.tsv files."
)
@LEDGER_OPTION
def data_add(
    path: str,
    producer: str,
    project: str,
    client: str,
    protocol: str,
    name: str | None,
    principal: str | None,
    host: str | None,
    manifest_path: str | None,
    key_paths: Sequence[str],
    jobs: int | None,
    records: bool,
    ledger_path: str,
) -> None:
    """Hash PATH into a manifest and record a signed 'produced' attestation in the ledger."""
    signers = _signers(key_paths)
    dataset_name = name or os.path.basename(os.path.normpath(os.path.abspath(path)))
    meta = {"producer": producer, "project": project, "client": client, "protocol": protocol}
    manifest = dataset.build_manifest(path, meta=meta, jobs=jobs, records=records)
    out = manifest_path or dataset.default_manifest_path(path)
    manifest.save(out)
    predicate = {
        **meta,
        "principal": principal or getpass.getuser(),
        "host": host or socket.gethostname(),
        "files": len(manifest.files),
        "bytes": sum(f.size for f in manifest.files),
    }
    rec = Record("produced", [{"name": dataset_name, "digest": {MERKLE_DIGEST: manifest.root}}], predicate)
    with _open(ledger_path, create=True) as store:
        index = record(store, [rec], signers)[0]
    click.echo(f"{dataset_name}: {len(manifest.files)} files, root {manifest.root}")
    click.echo(f"manifest: {out}\nledger entry: {index} in {store.path}")  # a URL without its password
    for skipped in manifest.skipped:
        click.echo(f"skipped (not a regular file): {skipped}", err=True)


@data.command("verify")
@click.argument("path", type=click.Path(exists=False))
@click.option("--manifest", "manifest_path", default=None, help="Manifest file (default: PATH.custody.json).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None)
def data_verify(path: str, manifest_path: str | None, jobs: int | None) -> None:
    """Rehash PATH; exit 1 and name every changed, added or removed file if it differs."""
    manifest = dataset.Manifest.load(manifest_path or dataset.default_manifest_path(path))
    diff = dataset.verify_tree(path, manifest, jobs=jobs)
    for label, items in (("changed", diff.changed), ("added", diff.added), ("removed", diff.removed)):
        for item in items:
            click.echo(f"{label}: {item}")
    if not diff.ok:
        click.echo(f"MISMATCH: root now {diff.root}, manifest {manifest.root}")
        sys.exit(exit_codes.FOUND)
    click.echo(f"OK: {len(manifest.files)} files match root {manifest.root}")


@data.command("prove")
@click.argument("path", type=click.Path(exists=False))
@click.argument("file")
@click.option("--manifest", "manifest_path", default=None, help="Manifest file (default: PATH.custody.json).")
@click.option(
    "--record", type=click.IntRange(min=0), default=None, help="Also prove this record (line, from 0)."
)
def data_prove(path: str, file: str, manifest_path: str | None, record: int | None) -> None:
    """Print FILE's inclusion proof in PATH's manifest root (JSON). FILE is a path inside PATH."""
    try:
        manifest = dataset.Manifest.load(manifest_path or dataset.default_manifest_path(path))
        rel = file
        if os.path.exists(file) and os.path.isdir(path):
            rel = os.path.relpath(os.path.abspath(file), os.path.abspath(path)).replace(os.sep, "/")
        proof = dataset.prove_file(manifest, rel)
        if os.path.isfile(file):
            dataset.check_file_proof(proof, file)  # never hand out a proof for content that changed
        if record is not None:
            proof = dataset.prove_record(manifest, rel, file, record)
    except (dataset.DatasetError, ProofError) as exc:
        raise CheckFailedError(str(exc)) from exc
    click.echo(json.dumps(proof, indent=1))


@data.command("open")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--purpose", required=True, help="Why it is read (recorded), e.g. 'training run 42'.")
@click.option("--principal", default=None, help="Who reads (default: the login name).")
@click.option("--host", default=None, help="Where (default: this host name).")
@click.option(
    "--manifest", "manifest_path", default=None, help="Manifest (default: nearest DIR.custody.json)."
)
@click.option(
    "--key", "key_paths", multiple=True, help="Reader's private key (default $CUSTODY_SIGNING_KEY)."
)
@click.option(
    "--output",
    "-o",
    default=None,
    callback=check_output_file,
    help="Write the content here (default: stdout).",
)
@LEDGER_OPTION
def data_open(
    file: str,
    purpose: str,
    principal: str | None,
    host: str | None,
    manifest_path: str | None,
    key_paths: Sequence[str],
    output: str | None,
    ledger_path: str,
) -> None:
    """Output FILE only if a signed manifest in the ledger vouches for it; log the read. Exit 1 if refused."""
    signers = _signers(key_paths)
    manifest = dataset.Manifest.load(manifest_path) if manifest_path else None
    with _open(ledger_path) as store:
        try:
            handle = open_verified(
                file,
                ledger=store,
                principal=principal or getpass.getuser(),
                purpose=purpose,
                keys=signers,
                host=host,
                manifest=manifest,
            )
        except AccessRefused as exc:
            click.echo(f"REFUSED: {exc}", err=True)
            sys.exit(exit_codes.FOUND)
    with handle:
        if output:
            with open_output(output, binary=True) as out:
                shutil.copyfileobj(handle, out)
        else:
            sys.stdout.flush()
            shutil.copyfileobj(handle, sys.stdout.buffer)
            sys.stdout.buffer.flush()


# -- exposure -------------------------------------------------------------------------------------


@click.command("exposure")
@click.option("--principal", default=None)
@click.option("--host", default=None)
@click.option("--key", "keyid", default=None, help="Key id (NAME+HASH).")
@click.option("--since", default=None, help="ISO 8601 start (inclusive).")
@click.option("--until", default=None, help="ISO 8601 end (exclusive).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@LEDGER_OPTION
def exposure(
    principal: str | None,
    host: str | None,
    keyid: str | None,
    since: str | None,
    until: str | None,
    fmt: str,
    ledger_path: str,
) -> None:
    """Datasets, clients and projects a principal, host or key touched, each with a log proof."""
    given = [(f, v) for f, v in (("principal", principal), ("host", host), ("key", keyid)) if v]
    if len(given) != 1:
        raise UsageError("give exactly one of --principal, --host, --key")
    field_name, value = given[0]
    with _open(ledger_path) as store:
        try:
            result = exposure_query(store, field_name, value, since=since, until=until)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=1))
        return
    click.echo(
        f"{field_name} {value}: {len(result.hits)} entries (tree size {result.tree_size}, root {result.root})"
    )
    for label in ("dataset", "client", "project"):
        click.echo(f"{label}s: {', '.join(result.touched(label)) or '-'}")
    for hit in result.hits:
        click.echo(
            f"  #{hit.index} {hit.kind} at {hit.integrated_at}: {', '.join(hit.refs.get('dataset', []))}"
        )


for _command in DATA_COMMANDS:
    data.add_command(_command)

COMMANDS = (key, data, log, exposure, verify, ledger_group)
