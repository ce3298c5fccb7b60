"""`custody gate ...`: the install-time firewall. Thin: the work is in `custody.gate`."""

from __future__ import annotations

import asyncio
import dataclasses
import getpass
import json
import logging
import os
import re
import sys
from datetime import datetime, timezone
from typing import Any

import click

from custody.cli import exit_codes
from custody.cli.controls import config_option
from custody.errors import OperationError, UsageError
from custody.policy import (
    Entry,
    EntryKind,
    Policy,
    load_policy,
    parse_duration,
    parse_spec,
    parse_time,
)
from custody.policy.duration import DurationError

UPSTREAM = click.option(
    "--upstream",
    envvar="CUSTODY_GATE_UPSTREAM",
    default="https://pypi.org/simple/",
    show_default=True,
    help="Upstream simple index: an http(s) URL, a file:// URL or a directory of distribution files.",
)
POLICY = click.option(
    "--policy",
    "policy_path",
    envvar="CUSTODY_GATE_POLICY",
    help="TOML policy file (see examples/gate-policy.toml).",
)
COOLDOWN = click.option("--cooldown", help="Override the policy's cooldown (e.g. 3d, 12h, 90m, 0).")
STORE = click.option(
    "--store",
    envvar="CUSTODY_GATE_STORE",
    help="Gate store: a path or postgresql:// URL (default: gate.sqlite in the gate data dir).",
)


def _policy(path: str | None, cooldown: str | None) -> Policy:
    policy = load_policy(path) if path else Policy()
    if cooldown is not None:
        policy = dataclasses.replace(policy, cooldown=parse_duration(cooldown))
    return policy


def _open_store(target: str | None) -> Any:
    from custody.gate.store import GateStore  # noqa: PLC0415 - keep `custody --help` fast
    from custody.store import StoreError  # noqa: PLC0415

    try:
        return GateStore.open(target)
    except StoreError as exc:
        raise OperationError(f"gate store unusable: {exc}") from exc


@click.group()
@config_option
def gate() -> None:
    """Install-time firewall: a package index proxy that pip and uv install through."""


@gate.command("serve")
@UPSTREAM
@POLICY
@COOLDOWN
@STORE
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8070, show_default=True)
@click.option(
    "--key", "key_path", help="Signing key for the ledger records (default: generated in the data dir)."
)
@click.option(
    "--ledger", help="Ledger the decisions are signed into (default: gate-ledger.db in the data dir)."
)
@click.option(
    "--advisory-db", help="Advisory store for MAL- checks (default: the one `custody db update` fills)."
)
@click.option(
    "--pypi-json-url",
    help="PyPI JSON API for upload times the pages lack (default: https://pypi.org, asked only for PyPI).",
)
@click.option("--scan-workers", type=int, default=2, show_default=True, help="Scan processes (0: a thread).")
@click.option("--scan-timeout", type=float, default=60.0, show_default=True, help="Seconds per file.")
@click.option(
    "--rules",
    "rule_dirs",
    multiple=True,
    help="Extra YARA rule directory (repeatable; also CUSTODY_RULES). Part of the scanner fingerprint.",
)
@click.option(
    "--replica",
    help="This gate's name among replicas sharing a --store (default: host name, pid and a random suffix).",
)
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="Log every HTTP request (uvicorn's access log). File decisions are always recorded.",
)
def serve(
    upstream: str,
    policy_path: str | None,
    cooldown: str | None,
    store: str | None,
    host: str,
    port: int,
    key_path: str | None,
    ledger: str | None,
    advisory_db: str | None,
    pypi_json_url: str | None,
    scan_workers: int,
    scan_timeout: float,
    rule_dirs: tuple[str, ...],
    replica: str | None,
    access_log: bool,
) -> None:
    """Run the gate; point pip/uv at http://HOST:PORT/simple/ (see `custody gate pip-conf`).

    Several gates may share one --store postgresql://... (replicas behind a load balancer): they
    share verdicts, allow/deny entries and the decision log, and scan each file once between them."""
    # a MissingExtraError ('server' extra) from these reaches the top-level handler: exit 2
    from custody.gate import GateConfig, create_app  # noqa: PLC0415
    from custody.gate.server import serve as run  # noqa: PLC0415
    from custody.scan.yara_rules import default_rule_dirs  # noqa: PLC0415

    config = GateConfig(
        upstream=upstream,
        policy=_policy(policy_path, cooldown),
        store=store,
        key=key_path,
        ledger=ledger,
        advisory_db=advisory_db,
        scan_workers=scan_workers,
        scan_timeout=scan_timeout,
        pypi_json_url=pypi_json_url,
        rule_dirs=tuple(rule_dirs) + default_rule_dirs(),
        replica=replica,
    )
    _preflight(config)
    # The gate's own log (refusals at INFO, suspicious files served and store trouble at WARNING).
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
    click.echo(f"custody gate: http://{host}:{port}/simple/ in front of {upstream}", err=True)
    run(create_app(config), host=host, port=port, access_log=access_log)


def _preflight(config: Any) -> None:
    """Open what the gate needs once before serving, so a corrupt store, an unreadable key or a
    missing upstream directory is one line and exit 3, not a traceback from the server."""
    from custody.gate import Gate  # noqa: PLC0415

    async def run() -> None:
        """Start a gate (opening its stores, keys and upstream) and close it again."""
        the_gate = Gate(config)
        try:
            await the_gate.start()
        finally:
            await the_gate.aclose()

    try:
        asyncio.run(run())
    except Exception as exc:
        raise OperationError(f"cannot start the gate: {exc}") from exc


@gate.command("check")
@click.argument("spec")
@UPSTREAM
@POLICY
@COOLDOWN
@STORE
@click.option("--advisory-db", help="Advisory store for MAL- checks.")
@click.option(
    "--all-files", is_flag=True, help="Every file of the release, not only what this machine installs."
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def check(
    spec: str,
    upstream: str,
    policy_path: str | None,
    cooldown: str | None,
    store: str | None,
    advisory_db: str | None,
    all_files: bool,
    fmt: str,
) -> None:
    """What the gate would decide for NAME==VERSION (no server; downloads and scans).

    Exit 0: every file would be served; 1: something is refused or hidden; 3: not found or error."""
    from custody.gate import Gate, GateConfig  # noqa: PLC0415

    name, version = _spec(spec)
    if version is None:
        raise UsageError("give NAME==VERSION")
    config = GateConfig(
        upstream=upstream,
        policy=_policy(policy_path, cooldown),
        store=store,
        advisory_db=advisory_db,
        scan_workers=0,
        ledger="",
    )

    async def run() -> Any:
        """Start a gate, check the one package, and close the gate again."""
        the_gate = Gate(config)
        await the_gate.start()
        try:
            return await the_gate.check(name, version, all_files=all_files)
        finally:
            await the_gate.aclose()

    try:
        results = asyncio.run(run())
    except Exception as exc:
        raise OperationError(f"{spec}: {exc}") from exc
    if not results:
        raise OperationError(f"{spec}: no such release on {upstream}")
    rows = [
        {
            "filename": r.filename,
            "decision": r.decision.outcome.value,
            "rule": r.decision.rule,
            "verdict": r.decision.verdict,
            "reason": r.decision.reason,
            "sha256": r.sha256,
        }
        for r in results
    ]
    if fmt == "json":
        click.echo(json.dumps({"spec": spec, "files": rows}, indent=2))
    else:
        for row in rows:
            why = f" ({row['rule']}: {row['reason']})" if row["reason"] else ""
            click.echo(f"{row['decision']:8} {row['filename']}{why}")
    sys.exit(exit_codes.OK if all(r["decision"] == "served" for r in rows) else exit_codes.FOUND)


def _spec(text: str) -> tuple[str, str | None]:
    return parse_spec(text)


def _entry_command(kind: EntryKind) -> click.Command:
    @click.command(kind.value)
    @click.argument("spec")
    @click.option("--reason", required=True, help="Why (kept with the entry and shown in decisions).")
    @click.option("--author", default=None, help="Who decided (default: the current user).")
    @click.option("--until", default=None, help="Expiry: a date or ISO time; the entry stops applying then.")
    @STORE
    def command(spec: str, reason: str, author: str | None, until: str | None, store: str | None) -> None:
        name, version = _spec(spec)
        if not reason.strip():
            raise UsageError("--reason must say why")
        expiry = parse_time(until) if until else None
        entry = Entry(
            kind=kind,
            name=name,
            version=version,
            reason=reason.strip(),
            author=author or getpass.getuser(),
            until=expiry,
            added=datetime.now(timezone.utc),
        )
        with _open_store(store) as opened:
            opened.add_entry(entry)
        click.echo(f"{kind.value} {entry.spec}" + (f" until {expiry.isoformat()}" if expiry else ""))

    what = (
        "Let NAME or NAME==VERSION through" if kind is EntryKind.ALLOW else "Keep NAME or NAME==VERSION out"
    )
    command.help = (
        f"{what} (kept in the gate store with the reason, author and expiry; a running gate applies "
        "it to the next request)."
    )
    return command


gate.add_command(_entry_command(EntryKind.ALLOW))
gate.add_command(_entry_command(EntryKind.DENY))


@gate.command("list")
@POLICY
@STORE
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_entries(policy_path: str | None, store: str | None, fmt: str) -> None:
    """Allow and deny entries: the policy file's and the store's (expired ones marked)."""
    policy = _policy(policy_path, None)
    with _open_store(store) as opened:
        stored = opened.entries()
    now = datetime.now(timezone.utc)
    rows = [
        {
            "kind": e.kind.value,
            "spec": e.spec,
            "reason": e.reason,
            "author": e.author,
            "until": e.until.isoformat() if e.until else None,
            "expired": not e.active(now),
            "source": source,
        }
        for source, entries in (("policy", policy.entries), ("store", stored))
        for e in entries
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        until = f" until {row['until']}" + (" (expired)" if row["expired"] else "") if row["until"] else ""
        who = f" by {row['author']}" if row["author"] else ""
        click.echo(f"{row['kind']:5} {row['spec']}{who}{until} [{row['source']}]: {row['reason']}")


@gate.command("pip-conf")
@click.option("--url", default="http://127.0.0.1:8070", show_default=True, help="The gate's base URL.")
def pip_conf(url: str) -> None:
    """Print pip.conf, uv.toml and environment lines that send installs through the gate."""
    index = url.rstrip("/") + "/simple/"
    click.echo(
        f"# pip.conf (~/.config/pip/pip.conf or /etc/pip.conf)\n[global]\nindex-url = {index}\n\n"
        f'# uv.toml (~/.config/uv/uv.toml or /etc/uv/uv.toml)\n[[index]]\nurl = "{index}"\ndefault = true\n\n'
        f"# environment\nexport PIP_INDEX_URL={index}\nexport UV_DEFAULT_INDEX={index}"
    )


@gate.command("log")
@STORE
@click.option("--since", help="Only decisions newer than this (e.g. 1d, 12h).")
@click.option("--decision", type=click.Choice(["served", "refused"]), help="Only this decision.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def log(store: str | None, since: str | None, decision: str | None, fmt: str) -> None:
    """The decisions the gate took (time, client, file, verdict, rule, decision, reason)."""
    try:
        start = datetime.now(timezone.utc) - parse_duration(since) if since else None
    except DurationError as exc:
        raise UsageError(f"--since {exc}") from exc
    with _open_store(store) as opened:
        rows = opened.decisions(since=start, decision=decision)
    if fmt == "json":
        click.echo(json.dumps([r.as_json() for r in rows], indent=2))
        return
    for row in rows:
        item = row.as_json()
        why = f" {row.rule}: {row.reason}" if row.reason else ""
        click.echo(f"{item['at']} {row.decision:8} {row.filename} {row.client or '-'}{why}")


LEDGER = click.option(
    "--ledger", help="The gate's ledger (default: gate-ledger.db in the gate data dir, as `serve` uses)."
)


@gate.command("exposure")
@click.argument("spec", required=False)
@click.option("--sha256", "digest", help="The file's sha256 instead of NAME==VERSION.")
@STORE
@LEDGER
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def exposure(spec: str | None, digest: str | None, store: str | None, ledger: str | None, fmt: str) -> None:
    """Which clients fetched a file (NAME==VERSION, or --sha256) and when, each decision with its
    inclusion proof in the gate's ledger (checked before it is shown).

    Exit 0: answered (even when nobody fetched it); 2: bad arguments; 3: store or ledger unusable,
    or a proof that does not verify."""
    from custody.gate.exposure import file_digests, file_exposure  # noqa: PLC0415
    from custody.gate.store import data_dir  # noqa: PLC0415
    from custody.ledger.store import LedgerStore  # noqa: PLC0415

    if (spec is None) == (digest is None):
        raise UsageError("give NAME==VERSION or --sha256 HEX")
    query: dict[str, str]
    if digest is not None:
        if not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
            raise UsageError("--sha256 takes 64 hex digits")
        digests, query = [digest.lower()], {"sha256": digest.lower()}
    else:
        name, version = _spec(spec or "")
        if version is None:
            raise UsageError("give NAME==VERSION")
        with _open_store(store) as opened:
            digests = file_digests(opened, name, version)
        query = {"project": name, "version": version}
    target = ledger or os.path.join(data_dir(), "gate-ledger.db")
    try:
        with LedgerStore.open(target, create=False) as opened_ledger:
            answer = file_exposure(opened_ledger, digests, query)
    except Exception as exc:
        raise OperationError(f"ledger {target}: {exc}") from exc
    if fmt == "json":
        click.echo(json.dumps(answer.as_json(), indent=2))
        return
    what = query.get("sha256") or f"{query['project']}=={query['version']}"
    click.echo(f"{what}: {len(answer.fetches)} decisions, served to {len(answer.clients)} clients")
    click.echo(f"ledger tree size {answer.tree_size}, root {answer.root}")
    for fetch in answer.fetches:
        click.echo(
            f"  #{fetch.index} {fetch.time or fetch.integrated_at} {fetch.decision or 'redacted':8} "
            f"{fetch.client or '-'} {fetch.filename or '-'} ({fetch.user_agent or '-'}) "
            f"proof: {len(fetch.proof)} hashes"
        )


@gate.command("recheck")
@STORE
@click.option("--advisory-db", help="Advisory store (default: the one `custody db update` fills).")
@click.option(
    "--rescan", is_flag=True, help="Also scan every served file in the gate cache with the current scanner."
)
@click.option("--cache-dir", help="The gate's file cache (default: gate-files in the custody cache dir).")
@click.option(
    "--rules", "rule_dirs", multiple=True, help="Extra YARA rule directory for --rescan (also CUSTODY_RULES)."
)
@click.option(
    "--scan-timeout", type=float, default=60.0, show_default=True, help="Seconds per file for --rescan."
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def recheck(
    store: str | None,
    advisory_db: str | None,
    rescan: bool,
    cache_dir: str | None,
    rule_dirs: tuple[str, ...],
    scan_timeout: float,
    fmt: str,
) -> None:
    """Every file the gate already served that today's MAL- advisories (after `custody db update`)
    condemn, or with --rescan that the current scanner judges malicious, with who fetched it.

    Exit 0: nothing condemned; 1: at least one served file is condemned; 3: nothing condemned but
    something could not be checked (no advisory store, a file --rescan could not scan)."""
    from custody.advisories import AdvisoryStore, default_store_path  # noqa: PLC0415
    from custody.artifacts.index import cache_dir as custody_cache_dir  # noqa: PLC0415
    from custody.gate.exposure import recheck as run_recheck  # noqa: PLC0415
    from custody.gate.scanning import scan_file, scanner_id  # noqa: PLC0415
    from custody.scan.yara_rules import default_rule_dirs  # noqa: PLC0415

    path = advisory_db or default_store_path()
    advisories = None
    if os.path.exists(path):
        try:
            advisories = AdvisoryStore.open(path)
        except Exception as exc:
            raise OperationError(f"advisory store {path}: {exc}") from exc
    elif not rescan:
        raise OperationError(f"no advisory store at {path}: run `custody db update` first")
    rules = tuple(rule_dirs) + default_rule_dirs()
    files_dir = cache_dir or os.path.join(custody_cache_dir(), "gate-files")
    try:
        with _open_store(store) as opened:
            report = run_recheck(
                opened,
                advisories,
                rescan=(lambda file: scan_file(file, scan_timeout, rules)) if rescan else None,
                scanner=scanner_id(scan_timeout, rules) if rescan else None,
                files_dir=files_dir if rescan else None,
            )
    finally:
        if advisories is not None:
            advisories.close()
    if fmt == "json":
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        click.echo(f"{report.files} served files rechecked, {len(report.condemned)} condemned")
        if not report.advisories_checked:
            click.echo(f"  (no advisory store at {path}: MAL- advisories not checked)")
        for item in report.condemned:
            clients = sorted({r.client for r in item.served_to if r.client})
            click.echo(f"CONDEMNED {item.filename} ({item.rule}: {item.reason})")
            click.echo(
                f"  sha256 {item.sha256}; served {len(item.served_to)} times to {', '.join(clients) or '-'}"
            )
            for fetched in item.served_to:
                click.echo(f"    {fetched.at} {fetched.client or '-'} {fetched.user_agent or '-'}")
        for unchecked in report.unchecked:
            click.echo(f"unchecked {unchecked['filename']}: {unchecked['why']}")
    if report.condemned:
        sys.exit(exit_codes.FOUND)
    if report.unchecked or not report.advisories_checked:
        sys.exit(exit_codes.SCAN_ERROR)
