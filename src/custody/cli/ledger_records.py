"""`custody data transform|label|export|oms`: the other statements about a dataset version.

Each names dataset versions by their manifest roots (`PATH.custody.json`, written by
`custody data add` or `transform`), and refuses to attest a tree that no longer matches its
manifest: a statement about data that changed on disk would vouch for the wrong bytes.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import click

from custody.cli import exit_codes
from custody.cli.ledger_common import LEDGER_OPTION, open_ledger, signers_from
from custody.cli.output import check_output_file, write_output
from custody.errors import UsageError
from custody.ledger import dataset
from custody.ledger.api import Record, record
from custody.ledger.attest import MERKLE_DIGEST, statement_bytes
from custody.ledger.oms import oms_statement
from custody.ledger.signing import sign_envelope

KEY_OPTION = click.option(
    "--key", "key_paths", multiple=True, help="Private key file (repeatable; default $CUSTODY_SIGNING_KEY)."
)
PRINCIPAL_OPTION = click.option("--principal", default=None, help="Who does it (default: the login name).")
HOST_OPTION = click.option("--host", default=None, help="Where (default: this host name).")


def _name(path: str) -> str:
    return os.path.basename(os.path.normpath(os.path.abspath(path)))


def _checked_manifest(path: str) -> dataset.Manifest:
    """The manifest beside PATH, after checking the tree still matches it."""
    try:
        manifest = dataset.Manifest.load(dataset.default_manifest_path(path))
        diff = dataset.verify_tree(path, manifest)
    except dataset.DatasetError as exc:
        raise UsageError(f"{exc} (run `custody data add` first)") from exc
    if not diff.ok:
        changed = ", ".join(diff.changed + diff.added + diff.removed)
        click.echo(f"REFUSED: {path} no longer matches its manifest ({changed})", err=True)
        sys.exit(exit_codes.FOUND)
    return manifest


def _subject(path: str, manifest: dataset.Manifest) -> dict[str, Any]:
    return {"name": _name(path), "digest": {MERKLE_DIGEST: manifest.root}}


def _record(
    kind: str,
    subjects: Sequence[Mapping[str, Any]],
    predicate: dict[str, Any],
    principal: str | None,
    host: str | None,
    key_paths: Sequence[str],
    ledger_path: str,
) -> int:
    signers = signers_from(key_paths)
    predicate = {
        **predicate,
        "principal": principal or getpass.getuser(),
        "host": host or socket.gethostname(),
    }
    with open_ledger(ledger_path, create=True) as store:
        return record(store, [Record(kind, subjects, predicate)], signers)[0]


@click.command("transform")
@click.argument("output", type=click.Path(exists=True))
@click.option(
    "--from", "inputs", multiple=True, required=True, type=click.Path(exists=True), help="Input dataset."
)
@click.option("--tool", required=True, help="What transformed it (name and version, or a commit).")
@click.option("--project", default=None)
@click.option("--client", default=None)
@click.option("--records", is_flag=True, help="One Merkle leaf per line of the output's shards.")
@PRINCIPAL_OPTION
@HOST_OPTION
@KEY_OPTION
@LEDGER_OPTION
def transform(
    output: str,
    inputs: Sequence[str],
    tool: str,
    project: str | None,
    client: str | None,
    records: bool,
    principal: str | None,
    host: str | None,
    key_paths: Sequence[str],
    ledger_path: str,
) -> None:
    """Record that OUTPUT was made from the --from datasets by --tool (writes OUTPUT's manifest)."""
    sources = [_subject(p, _checked_manifest(p)) for p in inputs]
    meta = {k: v for k, v in (("project", project), ("client", client)) if v}
    manifest = dataset.build_manifest(output, meta=meta, records=records)
    manifest.save(dataset.default_manifest_path(output))
    predicate: dict[str, Any] = {"inputs": sources, "tool": tool, **meta}
    index = _record(
        "transformed", [_subject(output, manifest)], predicate, principal, host, key_paths, ledger_path
    )
    click.echo(f"{_name(output)}: root {manifest.root}, from {len(sources)} input(s); ledger entry {index}")


@click.command("label")
@click.argument("path", type=click.Path(exists=True))
@click.option("--contractor", required=True, help="The labeler's pseudonym (never a real name).")
@click.option("--protocol", required=True, help="Labeling protocol and version.")
@PRINCIPAL_OPTION
@HOST_OPTION
@KEY_OPTION
@LEDGER_OPTION
def label(
    path: str,
    contractor: str,
    protocol: str,
    principal: str | None,
    host: str | None,
    key_paths: Sequence[str],
    ledger_path: str,
) -> None:
    """Record that PATH (as its manifest says) was labeled by --contractor under --protocol."""
    manifest = _checked_manifest(path)
    predicate = {"contractor": contractor, "protocol": protocol, **_meta(manifest)}
    index = _record("labeled", [_subject(path, manifest)], predicate, principal, host, key_paths, ledger_path)
    click.echo(f"{_name(path)}: labeled by {contractor} under {protocol}; ledger entry {index}")


@click.command("export")
@click.argument("path", type=click.Path(exists=True))
@click.option("--client", required=True, help="Who receives it.")
@click.option("--purpose", default=None, help="Why (recorded).")
@PRINCIPAL_OPTION
@HOST_OPTION
@KEY_OPTION
@LEDGER_OPTION
def export(
    path: str,
    client: str,
    purpose: str | None,
    principal: str | None,
    host: str | None,
    key_paths: Sequence[str],
    ledger_path: str,
) -> None:
    """Record that PATH (as its manifest says) was shipped to --client."""
    manifest = _checked_manifest(path)
    predicate: dict[str, Any] = {**_meta(manifest), "client": client}
    if purpose:
        predicate["purpose"] = purpose
    index = _record(
        "exported", [_subject(path, manifest)], predicate, principal, host, key_paths, ledger_path
    )
    click.echo(f"{_name(path)}: exported to {client}; ledger entry {index}")


@click.command("oms")
@click.argument("path", type=click.Path(exists=True))
@click.option("--name", default=None, help="Dataset name (default: the file or directory name).")
@click.option("--sign", "key_paths", multiple=True, help="Wrap in a DSSE envelope signed with this key.")
@click.option(
    "--output", "-o", default=None, callback=check_output_file, help="Write here instead of stdout."
)
def oms(path: str, name: str | None, key_paths: Sequence[str], output: str | None) -> None:
    """Export PATH's manifest as an OpenSSF model-signing (OMS v1.0) in-toto statement."""
    manifest = _checked_manifest(path)
    stmt = oms_statement(manifest, name or _name(path))
    out: dict[str, Any] = stmt
    if key_paths:
        out = sign_envelope(statement_bytes(stmt), signers_from(key_paths))
    text = json.dumps(out, indent=1, sort_keys=True) + "\n"
    if output:
        write_output(output, text)
    else:
        click.echo(text, nl=False)


def _meta(manifest: dataset.Manifest) -> dict[str, str]:
    return {k: v for k, v in manifest.meta.items() if k in ("project", "client", "producer")}


DATA_COMMANDS = (transform, label, export, oms)
