"""Finding and reading the one configuration: `--config`, else `custody.toml`, else
`[tool.custody]` in `pyproject.toml`, looked for in the current directory and its parents."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custody.config.schema import IGNORE_TABLES, SECTIONS, check_section, check_value, options_of
from custody.config.suppression import AuditIgnore, ScanIgnore, audit_ignore, scan_ignore
from custody.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_NAME = "custody.toml"
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """A validated configuration: option values by (section, key), and the suppressions."""

    source: str | None = None
    """The file read (None: no file, every default)."""
    values: Mapping[tuple[str, str], object] = field(default_factory=dict)
    scan_ignores: tuple[ScanIgnore, ...] = ()
    audit_ignores: tuple[AuditIgnore, ...] = ()

    def get(self, section: str, key: str, default: object = None) -> object:
        """The value of `key` in `section` of the loaded configuration, or `default`."""
        return self.values.get((section, key), default)

    def defaults_for(self, command: str) -> dict[str, object]:
        """{click parameter: value} for `command` ("scan", "gate serve"...): its option defaults."""
        from custody.config.schema import OPTIONS  # noqa: PLC0415 - small; keeps the import order flat

        out: dict[str, object] = {}
        for option in OPTIONS:
            value = self.values.get((option.section, option.key))
            if value is None:
                continue
            for target, param in option.params:
                if target == command:
                    out[param] = value
        return out


def find_config(start: Path) -> Path | None:
    """The nearest custody.toml, or pyproject.toml holding [tool.custody], from `start` upwards;
    in one directory custody.toml wins (ruff's rule for ruff.toml)."""
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
        pyproject = directory / PYPROJECT
        if pyproject.is_file() and _tool_table(_read(pyproject), pyproject) is not None:
            return pyproject
    return None


def load_config(path: str | os.PathLike[str] | None = None, *, cwd: Path | None = None) -> Config:
    """The configuration from `path` (an explicit --config), else the nearest one, else defaults."""
    chosen = Path(path) if path is not None else find_config((cwd or Path.cwd()).resolve())
    if path is not None and not Path(path).is_file():
        raise ConfigError(f"cannot read config {path}: no such file")
    if chosen is None:
        return Config()
    doc = _read(chosen)
    if chosen.name == PYPROJECT:
        table = _tool_table(doc, chosen)
        return config_from_mapping(table or {}, f"{chosen} [tool.custody]", chosen.parent, str(chosen))
    return config_from_mapping(doc, str(chosen), chosen.parent, str(chosen))


def config_from_mapping(doc: Mapping[str, Any], where: str, base: Path, source: str) -> Config:
    """Validate a parsed document: unknown keys and wrong types are errors, paths resolved from `base`."""
    values: dict[tuple[str, str], object] = {}
    scan_ignores: list[ScanIgnore] = []
    audit_ignores: list[AuditIgnore] = []
    check_section(doc, "", where)
    for section in SECTIONS:
        table = doc if section == "" else doc.get(section, {})
        label = where if section == "" else f"{where} [{section}]"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{label}: must be a table")
        if section:
            check_section(table, section, label)
        for key, option in options_of(section).items():
            if key in table:
                values[(section, key)] = check_value(option, table[key], label, base)
    _ignores(doc, where, source, scan_ignores, audit_ignores)
    extra = values.get(("", "suppressions"))
    if isinstance(extra, str):
        more = load_suppressions(Path(extra))
        scan_ignores.extend(more.scan_ignores)
        audit_ignores.extend(more.audit_ignores)
    return Config(
        source=source, values=values, scan_ignores=tuple(scan_ignores), audit_ignores=tuple(audit_ignores)
    )


def load_suppressions(path: Path) -> Config:
    """A separate suppressions file: only [[scan.ignore]] and [[audit.ignore]] tables."""
    if not path.is_file():
        raise ConfigError(f"cannot read suppressions file {path}: no such file")
    doc = _read(path)
    where = str(path)
    scan_ignores: list[ScanIgnore] = []
    audit_ignores: list[AuditIgnore] = []
    for key, table in doc.items():
        if key not in IGNORE_TABLES or not isinstance(table, Mapping) or set(table) - {"ignore"}:
            raise ConfigError(f"{where}: only [[scan.ignore]] and [[audit.ignore]] tables belong here")
    _ignores(doc, where, where, scan_ignores, audit_ignores)
    return Config(source=where, scan_ignores=tuple(scan_ignores), audit_ignores=tuple(audit_ignores))


def _ignores(
    doc: Mapping[str, Any], where: str, source: str, scan: list[ScanIgnore], audit: list[AuditIgnore]
) -> None:
    for section, parse in (("scan", scan_ignore), ("audit", audit_ignore)):
        table = doc.get(section, {})
        entries = table.get("ignore", []) if isinstance(table, Mapping) else []
        if not isinstance(entries, list):
            raise ConfigError(
                f"{where} [{section}]: ignore must be an array of tables ([[{section}.ignore]])"
            )
        for n, raw in enumerate(entries, 1):
            entry = parse(raw, f"{where} [[{section}.ignore]] #{n}", source)
            (scan if section == "scan" else audit).append(entry)  # type: ignore[arg-type]


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            doc: dict[str, Any] = tomllib.load(handle)
            return doc
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _tool_table(doc: Mapping[str, Any], path: Path) -> Mapping[str, Any] | None:
    tool = doc.get("tool")
    table = tool.get("custody") if isinstance(tool, Mapping) else None
    if table is not None and not isinstance(table, Mapping):
        raise ConfigError(f"{path}: [tool.custody] must be a table")
    return table
