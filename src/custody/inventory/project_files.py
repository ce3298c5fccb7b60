"""Project declarations as audit inputs: `pyproject.toml` and `setup.cfg`.

`pyproject.toml`: `[project] dependencies` and `optional-dependencies` (PEP 621),
`[dependency-groups]` (PEP 735; `{include-group = ...}` entries are skipped, the included group is
read on its own) and Poetry's `[tool.poetry.dependencies]`, `dev-dependencies` and group tables.
`setup.cfg`: `[options] install_requires` and `[options.extras_require]`
(setuptools' syntax: one per line, or `;`-separated on one line, or `file: a.txt, b.txt`).

Each string is read like a requirements-file line: `==` pins are audited, ranges, URLs and bare
names come back `unpinned`. Declarations are located as `FILE:LINE` when the string can be found
in the file, else as `FILE#table.key`. Dynamic dependencies (`dynamic = ["dependencies"]`) are
computed by a build backend at build time and cannot be read here; nothing runs.
"""

from __future__ import annotations

import configparser
import dataclasses
import json
import os
import re
from typing import Any

from custody.inventory._files import read_declared
from custody.inventory._toml import load_toml
from custody.inventory.model import InventoryError, Package, PartialInventory
from custody.inventory.requirements import parse_requirement, read_requirements


class _Locator:
    """Finds the line a declared string sits on; each occurrence is handed out once, in file order."""

    def __init__(self, text: str, shown: str) -> None:
        self.text = text
        self.shown = shown
        self.taken: set[int] = set()

    def where(self, needles: list[str], section: str) -> str:
        for needle in needles:
            start = 0
            while needle and (at := self.text.find(needle, start)) >= 0:
                start = at + 1
                if at not in self.taken:
                    self.taken.add(at)
                    line = self.text.count("\n", 0, at) + 1
                    return f"{self.shown}:{line}"
        return f"{self.shown}#{section}"


def _read_text(path: str, shown: str) -> str:
    return read_declared(path, shown).decode("utf-8", errors="replace")


def _toml_literals(value: str) -> list[str]:
    """How a TOML string holding `value` can be spelled: basic (JSON-like escapes) or literal."""
    return [json.dumps(value, ensure_ascii=False), f"'{value}'"]


def read_pyproject(path: str, shown: str) -> list[Package]:
    """Dependencies declared in a pyproject.toml (PEP 621 `[project]`, PEP 735 `[dependency-groups]`)."""
    doc = load_toml(path, shown)
    locate = _Locator(_read_text(path, shown), shown)
    declared: list[tuple[str, str]] = []  # (section, requirement string)

    def collect(section: str, items: Any) -> None:
        if items is None:
            return
        if not isinstance(items, list):
            raise InventoryError(f"{shown}: `{section}` is not an array")
        declared.extend((section, item) for item in items if isinstance(item, str))

    project = doc.get("project", {})
    if isinstance(project, dict):
        collect("project.dependencies", project.get("dependencies"))
        optional = project.get("optional-dependencies", {})
        if isinstance(optional, dict):
            for extra, items in optional.items():
                collect(f"project.optional-dependencies.{extra}", items)
    groups = doc.get("dependency-groups", {})
    if isinstance(groups, dict):
        for group, items in groups.items():
            collect(f"dependency-groups.{group}", items)
    found = [
        parse_requirement(text.strip(), locate.where(_toml_literals(text), section))
        for section, text in declared
        if text.strip()
    ]
    return found + _poetry(doc, locate)


def _poetry_tables(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    tool = doc.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    if not isinstance(poetry, dict):
        return []
    tables = [(f"tool.poetry.{key}", poetry.get(key)) for key in ("dependencies", "dev-dependencies")]
    groups = poetry.get("group")
    if isinstance(groups, dict):
        for name, group in groups.items():
            if isinstance(group, dict):
                tables.append((f"tool.poetry.group.{name}.dependencies", group.get("dependencies")))
    return [(section, table) for section, table in tables if isinstance(table, dict)]


def _poetry(doc: dict[str, Any], locate: _Locator) -> list[Package]:
    """Poetry's `[tool.poetry.dependencies]` and group tables. In Poetry a bare version (`"2.19.1"`
    or `"=2.19.1"`) is an exact pin and is audited; `^`/`~` ranges, `*`, and git/path/url sources
    come back unpinned."""
    out: list[Package] = []
    for section, table in _poetry_tables(doc):
        for name, spec in table.items():
            if name.lower() == "python":
                continue  # the interpreter constraint, not a package
            for one in spec if isinstance(spec, list) else [spec]:  # multiple-constraint lists
                text, poetry_range = _poetry_requirement(name, one)
                package = parse_requirement(text, locate.where([f"{name} =", f'"{name}"', name], section))
                if poetry_range:
                    package = dataclasses.replace(package, unpinned=f"Poetry range {poetry_range!r}")
                out.append(package)
    return out


def _poetry_requirement(name: str, spec: Any) -> tuple[str, str | None]:
    """A PEP 508 string for one Poetry dependency entry, and its Poetry-only range (`^1.2`) if any."""
    marker = ""
    if isinstance(spec, dict):
        if isinstance(spec.get("markers"), str):
            marker = f" ; {spec['markers']}"
        for source in ("git", "url", "path"):
            if isinstance(spec.get(source), str):
                prefix = "git+" if source == "git" and not spec[source].startswith("git+") else ""
                return f"{name} @ {prefix}{spec[source]}", None
        spec = spec.get("version")
    if not isinstance(spec, str):
        return name, None
    constraint = spec.strip()
    exact = re.fullmatch(r"(?:==?)?\s*([0-9][0-9A-Za-z.!+_-]*)", constraint)
    if exact:
        return f"{name}=={exact.group(1)}{marker}", None
    if re.fullmatch(r"(?:[<>!]=?|~=|==)\s*[0-9][^,]*(?:,\s*(?:[<>!]=?|~=|==)\s*[0-9][^,]*)*", constraint):
        return f"{name}{constraint}{marker}", None  # already PEP 440
    return f"{name}{marker}", constraint  # ^1.2, ~1.2, *, 1.2.*: a range Poetry resolves, not a pin


_SEMI_LIST = ("install_requires",)


def _setup_items(value: str) -> list[str]:
    """setuptools' list-semi: one per line, else `;`-separated; comment lines dropped."""
    parts = value.splitlines() if "\n" in value else value.split(";")
    items = [re.sub(r"\s+#.*$", "", part).strip() for part in parts]
    return [item for item in items if item and not item.startswith("#")]


def read_setup_cfg(path: str, shown: str) -> list[Package]:
    """`[options] install_requires` and `[options.extras_require]` of a setuptools setup.cfg."""
    text = _read_text(path, shown)
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text, source=shown)
    except configparser.Error as exc:
        raise InventoryError(f"{shown}: not a valid setup.cfg: {exc}") from exc
    declared: list[tuple[str, str]] = []
    if parser.has_option("options", "install_requires"):
        declared.append(("options.install_requires", parser.get("options", "install_requires")))
    if parser.has_section("options.extras_require"):
        for extra, value in parser.items("options.extras_require"):
            declared.append((f"options.extras_require.{extra}", value))
    locate = _Locator(text, shown)
    out: list[Package] = []
    problems: list[str] = []
    for section, value in declared:
        if value.strip().startswith("file:"):
            for name in value.strip()[len("file:") :].split(","):
                included = os.path.join(os.path.dirname(path), name.strip())
                if not os.path.isfile(included):
                    raise InventoryError(f"{shown}: `{section}` names {name.strip()}, which does not exist")
                try:
                    out.extend(read_requirements(included))
                except PartialInventory as exc:  # the rest of setup.cfg is still read
                    out.extend(exc.packages)
                    problems.extend(exc.problems)
            continue
        for item in _setup_items(value):
            out.append(parse_requirement(item, locate.where([item], section)))
    if problems:
        raise PartialInventory(out, problems)
    return out
