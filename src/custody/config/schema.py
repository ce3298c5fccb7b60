"""Every configuration key and every `CUSTODY_*` environment variable, in one table.

The README's tables are rendered from these (`markdown_tables`) and a test keeps them equal, so
the documentation cannot fall behind the code. A key maps to the click parameter of each command
it sets, so the CLI can use it as that option's default (command line and environment still win).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from custody.config.fail_on import FAIL_LEVELS
from custody.errors import ConfigError


class Kind(str, enum.Enum):
    """The TOML type a key takes."""

    STRING = "string"
    PATH = "path"
    """A string; relative paths are taken from the config file's directory."""
    PATHS = "list of paths"
    STRINGS = "list of strings"
    BOOL = "boolean"
    INT = "integer"
    NUMBER = "number"


@dataclass(frozen=True, slots=True, kw_only=True)
class Option:
    """One key of the configuration."""

    section: str
    """'' for the top level of [tool.custody] / custody.toml, else the sub-table (scan, audit...)."""
    key: str
    kind: Kind
    help: str
    params: tuple[tuple[str, str], ...]
    """(command, click parameter name) pairs this key sets the default of."""
    choices: tuple[str, ...] = ()
    default: str = ""
    """The default as documented (the command's own default applies when the key is absent)."""

    @property
    def name(self) -> str:
        """The key as users write it: `section.key`, or `key` at the top level."""
        return f"{self.section}.{self.key}" if self.section else self.key

    @property
    def flags(self) -> str:
        """The command-line option(s) this key is the default of, for the documentation."""
        return ", ".join(
            sorted({f"{command} --{_FLAG.get(param, self.key)}" for command, param in self.params})
        )


_FLAG = {"db_path": "db"}
"""Parameters whose option is not named like the key."""

SECTIONS = ("", "scan", "audit", "gate", "guard")
GATE_SERVE = "gate serve"
_COLOR = ("auto", "always", "never")
_SCAN_FORMATS = ("text", "json", "sarif")
_AUDIT_FORMATS = ("text", "json", "sarif", "cyclonedx")


def _controls(section: str, formats: tuple[str, ...], fail_default: str) -> tuple[Option, ...]:
    """The keys scan and audit share: the same names, the same meaning."""
    one = ((section, "fmt"),)
    return (
        Option(
            section=section,
            key="format",
            kind=Kind.STRING,
            choices=formats,
            default="text",
            help="Report format.",
            params=one,
        ),
        Option(
            section=section,
            key="fail-on",
            kind=Kind.STRING,
            choices=FAIL_LEVELS,
            default=fail_default,
            help="Exit 1 from this level (see the --fail-on table).",
            params=((section, "fail_on"),),
        ),
        Option(
            section=section,
            key="exit-zero",
            kind=Kind.BOOL,
            default="false",
            help="Exit 0 even when findings reach --fail-on (errors still exit 2 or 3).",
            params=((section, "exit_zero"),),
        ),
        Option(
            section=section,
            key="quiet",
            kind=Kind.BOOL,
            default="false",
            help="Text report: only what is not clean, and the summary line.",
            params=((section, "quiet"),),
        ),
        Option(
            section=section,
            key="verbose",
            kind=Kind.BOOL,
            default="false",
            help="Text report: also low and info findings.",
            params=((section, "verbose"),),
        ),
        Option(
            section=section,
            key="jobs",
            kind=Kind.INT,
            default="all cores",
            help="Worker processes.",
            params=((section, "jobs"),),
        ),
        Option(
            section=section,
            key="exclude-rule",
            kind=Kind.STRINGS,
            default="[]",
            help="Rules (audit: also finding kinds) whose findings never count.",
            params=((section, "exclude_rules"),),
        ),
        Option(
            section=section,
            key="baseline",
            kind=Kind.PATH,
            default="none",
            help="Earlier JSON report: only findings not in it count.",
            params=((section, "baseline"),),
        ),
    )


# fmt: off
OPTIONS: tuple[Option, ...] = (
    Option(section="", key="color", kind=Kind.STRING, choices=_COLOR, default="auto",
           help="Colour in text reports; auto honours NO_COLOR and a terminal.",
           params=(("scan", "color"), ("audit", "color"))),
    Option(section="", key="index-url", kind=Kind.STRING, default="PyPI",
           help="PEP 691 index for NAME==VERSION targets and audit --live.",
           params=(("scan", "index_url"), ("audit", "index_url"))),
    Option(section="", key="advisory-db", kind=Kind.PATH, default="user cache",
           help="Advisory store (custody db update fills it).",
           params=(("audit", "db_path"), (GATE_SERVE, "advisory_db"), ("gate check", "advisory_db"),
                   ("gate recheck", "advisory_db"))),
    Option(section="", key="rules", kind=Kind.PATHS, default="[]",
           help="Extra YARA rule directories.",
           params=(("scan", "rule_dirs"), (GATE_SERVE, "rule_dirs"), ("gate recheck", "rule_dirs"))),
    Option(section="", key="suppressions", kind=Kind.PATH, default="none",
           help="A separate TOML file of [[scan.ignore]] and [[audit.ignore]] entries.", params=()),
    *_controls("scan", _SCAN_FORMATS, "malicious"),
    Option(section="scan", key="timeout", kind=Kind.NUMBER, default="60",
           help="CPU seconds per target.", params=(("scan", "timeout"),)),
    *_controls("audit", _AUDIT_FORMATS, "medium"),
    Option(section="audit", key="scan", kind=Kind.BOOL, default="false",
           help="Also run the scan engine over every installed distribution.",
           params=(("audit", "run_scan"),)),
    Option(section="audit", key="live", kind=Kind.BOOL, default="false",
           help="Also ask PyPI and the index (vulnerabilities, yanked, status, digests).",
           params=(("audit", "live"),)),
    Option(section="audit", key="min-release-age", kind=Kind.STRING, default="none",
           help="With live: report releases younger than this (7d, 36h).", params=(("audit", "min_age"),)),
    Option(section="gate", key="upstream", kind=Kind.STRING, default="https://pypi.org/simple/",
           help="Upstream simple index, file:// URL or directory.",
           params=((GATE_SERVE, "upstream"), ("gate check", "upstream"))),
    Option(section="gate", key="policy", kind=Kind.PATH, default="none",
           help="Gate policy file.", params=((GATE_SERVE, "policy_path"), ("gate check", "policy_path"),
                                               ("gate list", "policy_path"))),
    Option(section="gate", key="store", kind=Kind.STRING, default="gate data dir",
           help="Gate store: a path or postgresql:// URL.",
           params=tuple((f"gate {c}", "store")
                        for c in ("serve", "check", "allow", "deny", "list", "log", "exposure", "recheck"))),
    Option(section="gate", key="host", kind=Kind.STRING, default="127.0.0.1",
           help="Address to listen on.", params=((GATE_SERVE, "host"),)),
    Option(section="gate", key="port", kind=Kind.INT, default="8070",
           help="Port to listen on.", params=((GATE_SERVE, "port"),)),
    Option(section="gate", key="scan-workers", kind=Kind.INT, default="2",
           help="Scan processes (0: a thread).", params=((GATE_SERVE, "scan_workers"),)),
    Option(section="gate", key="scan-timeout", kind=Kind.NUMBER, default="60",
           help="Seconds per file.", params=((GATE_SERVE, "scan_timeout"), ("gate recheck", "scan_timeout"))),
    Option(section="guard", key="mode", kind=Kind.STRING, choices=("monitor", "enforce"),
           default="the policy's, else monitor", help="Guard mode for guard install.",
           params=(("guard install", "mode"),)),
    Option(section="guard", key="policy", kind=Kind.PATH, default="none",
           help="Guard policy file ([guard] table).", params=(("guard install", "policy_path"),)),
    Option(section="guard", key="log", kind=Kind.PATH, default="PREFIX/custody-guard.jsonl",
           help="JSON-lines log of guard install.", params=(("guard install", "log"),)),
)
# fmt: on

IGNORE_TABLES = {"scan": "ignore", "audit": "ignore"}
"""Sections that also take an array of `ignore` tables (suppressions)."""


@dataclass(frozen=True, slots=True)
class EnvVar:
    """One environment variable custody reads."""

    name: str
    help: str


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("CUSTODY_CONFIG", "Config file, as --config (scan, audit, gate, guard)."),
    EnvVar("CUSTODY_RULES", "Extra YARA rule directories, separated by the path separator."),
    EnvVar("CUSTODY_CACHE_DIR", "Cache for downloaded distributions (scan NAME==VERSION)."),
    EnvVar("CUSTODY_INDEX_URL", "Index for audit --live (then PIP_INDEX_URL)."),
    EnvVar("CUSTODY_PYPI_URL", "PyPI JSON API base (audit --live)."),
    EnvVar("CUSTODY_ADVISORY_DB", "Advisory store path (audit, db, gate)."),
    EnvVar("CUSTODY_OSV_EXPORT_URL", "Base URL of OSV's per-ecosystem exports (db update)."),
    EnvVar("CUSTODY_DIGEST_CACHE", "Cache of RECORD digests of unchanged files (audit)."),
    EnvVar("CUSTODY_GATE_UPSTREAM", "gate --upstream."),
    EnvVar("CUSTODY_GATE_POLICY", "gate --policy."),
    EnvVar("CUSTODY_GATE_STORE", "gate --store."),
    EnvVar("CUSTODY_GATE_DIR", "The gate's data directory (store, key, ledger, file cache)."),
    EnvVar("CUSTODY_LEDGER", "Ledger path or postgresql:// URL (ledger commands)."),
    EnvVar("CUSTODY_LEDGER_TOKEN", "Bearer token of a ledger server."),
    EnvVar("CUSTODY_SIGNING_KEY", "Signing key file for ledger records."),
    EnvVar("NO_COLOR", "Any non-empty value: no colour with --color auto (no-color.org)."),
)


def options_of(section: str) -> dict[str, Option]:
    """The options of one configuration section, by key."""
    return {o.key: o for o in OPTIONS if o.section == section}


def _wrong(option: Option, where: str) -> ConfigError:
    expected = f"one of {', '.join(option.choices)}" if option.choices else f"a {option.kind.value}"
    return ConfigError(f"{where}: {option.key}: give {expected}")


def check_value(option: Option, value: object, where: str, base: Path) -> object:
    """`value` as the option's type, or ConfigError naming the key; paths resolved from `base`."""
    kind = option.kind
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise _wrong(option, where)
        return value
    if kind is Kind.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(option, where)
        return value
    if kind is Kind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _wrong(option, where)
        return float(value)
    if kind in (Kind.PATHS, Kind.STRINGS):
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise _wrong(option, where)
        return [str(base / v) if kind is Kind.PATHS else v for v in value]
    if not isinstance(value, str) or not value or (option.choices and value not in option.choices):
        raise _wrong(option, where)
    if kind is Kind.PATH and "://" not in value:
        return str(base / Path(value).expanduser())
    return value


def check_section(table: Mapping[str, object], section: str, where: str) -> None:
    """Refuse an unknown key, naming it and the keys that section knows (a typo never passes)."""
    known = set(options_of(section)) | set(SECTIONS[1:] if section == "" else ())
    if section in IGNORE_TABLES:
        known.add(IGNORE_TABLES[section])
    for key in table:
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})")


def markdown_tables() -> str:
    """The README's tables of options and environment variables, generated from this module."""
    lines = ["| key | type | default | command-line option | meaning |", "|---|---|---|---|---|"]
    for o in OPTIONS:
        kind = " \\| ".join(f"`{c}`" for c in o.choices) if o.choices else o.kind.value
        flags = o.flags or "—"
        lines.append(f"| `{o.name}` | {kind} | {o.default} | {flags} | {o.help} |")
    lines += ["", "| variable | meaning |", "|---|---|"]
    lines += [f"| `{e.name}` | {e.help} |" for e in ENV_VARS]
    return "\n".join(lines)
