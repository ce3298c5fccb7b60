"""`--baseline REPORT.json`: what an earlier JSON report already held, as comparable keys.

Keys are typed fields, never message text: scan (package, rule, file), audit (kind, advisory id,
package, or the path when there is no package). Line numbers and versions are left out on
purpose: a finding that moved by a line, or survived an upgrade, is not new.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from packaging.utils import canonicalize_name

from custody.errors import ConfigError

Key = tuple[str, ...]
ReportKind = Literal["scan", "audit"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Baseline:
    """The findings of an earlier report, by key."""

    source: str
    kind: ReportKind
    keys: frozenset[Key]

    def __contains__(self, key: object) -> bool:
        return key in self.keys


def scan_key(package: str | None, target: str, rule: str, file: str) -> Key:
    """A scan finding's identity across runs: the package (else the target path), rule and file."""
    return ("scan", canonicalize_name(package) if package else target, rule, file)


def audit_key(kind: str, ident: str | None, package: str | None, path: str | None) -> Key:
    """An audit finding's identity across runs: kind, advisory id, package (else the path)."""
    who = canonicalize_name(package) if package else (path or "")
    return ("audit", kind, (ident or "").casefold(), who)


def load_baseline(path: str, kind: ReportKind) -> Baseline:
    """Read a `custody scan|audit --format json` report; the wrong kind or a corrupt file is an error."""
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read baseline {path}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"baseline {path}: not a JSON report ({exc})") from None
    try:
        keys = _scan_keys(doc) if kind == "scan" else _audit_keys(doc)
    except (KeyError, TypeError, AttributeError):
        raise ConfigError(f"baseline {path}: not a `custody {kind} --format json` report") from None
    return Baseline(source=path, kind=kind, keys=frozenset(keys))


def _document(doc: Any) -> Mapping[str, Any]:
    if not isinstance(doc, Mapping) or "schema_version" not in doc:
        raise TypeError("not a custody JSON report")
    return doc


def _scan_keys(doc: Any) -> list[Key]:
    targets = _document(doc)["targets"]
    keys = []
    for target in targets:
        for finding in target["findings"]:
            keys.append(scan_key(target["name"], target["target"], finding["rule"], finding["file"]))
    return keys


def _audit_keys(doc: Any) -> list[Key]:
    findings = _document(doc)["findings"]
    return [audit_key(f["kind"], f["id"], f["package"], f["path"]) for f in findings]
