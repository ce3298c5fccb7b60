"""JSON lockfiles: Pipfile.lock and npm's package-lock.json (lockfileVersion 2 and 3)."""

from __future__ import annotations

import json
import re
from typing import Any

from custody.inventory._files import read_declared
from custody.inventory.model import Ecosystem, InventoryError, Package, PartialInventory

_REGISTRY_PREFIXES = ("https://registry.npmjs.org/", "https://registry.yarnpkg.com/")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _clean(value: Any) -> Any:
    return value.encode("utf-8", "replace").decode("utf-8") if isinstance(value, str) else value


def _without_surrogates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {_clean(key): _clean(value) for key, value in pairs}


def _load_json(path: str, shown: str) -> dict[str, Any]:
    data = read_declared(path, shown)
    try:
        text = data.decode("utf-8")
        # `\ud800` escapes decode to lone surrogates, which no report format can encode: replaced
        hook = _without_surrogates if _SURROGATE_ESCAPE.search(text) else None
        doc = json.loads(text, object_pairs_hook=hook)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{shown}: not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InventoryError(f"{shown}: not valid JSON: arrays or objects nested too deeply") from exc
    if not isinstance(doc, dict):
        raise InventoryError(f"{shown}: expected a JSON object")
    return doc


def read_pipfile_lock(path: str, shown: str) -> list[Package]:
    """Pipfile.lock: `default` and `develop` maps of name -> {version: "==X", hashes, markers}."""
    doc = _load_json(path, shown)
    out: list[Package] = []
    problems: list[str] = []
    for section in ("default", "develop"):
        entries = doc.get(section, {})
        if not isinstance(entries, dict):
            problems.append(f"{shown}: `{section}` is not an object: none of it audited")
            continue
        for name, entry in entries.items():
            if not isinstance(entry, dict):
                problems.append(f"{shown}: {section}.{name} is not an object: not audited")
                continue
            raw = entry.get("version")
            version = raw[2:] if isinstance(raw, str) and raw.startswith("==") else None
            unpinned = None
            if "git" in entry:
                unpinned = f"VCS reference: {entry['git']}@{entry.get('ref', '?')}"
            elif "path" in entry or "file" in entry:
                unpinned = f"local path or URL: {entry.get('path') or entry.get('file')}"
            elif version is None:
                unpinned = f"not an exact pin: {raw!r}"
            listed = entry.get("hashes")
            hashes = tuple(h for h in listed if isinstance(h, str)) if isinstance(listed, list) else ()
            marker = entry.get("markers") if isinstance(entry.get("markers"), str) else None
            out.append(
                Package(
                    name=name,
                    version=version,
                    ecosystem=Ecosystem.PYPI,
                    source=f"{shown}#{section}",
                    hashes=hashes,
                    unpinned=unpinned,
                    marker=marker,
                )
            )
    if problems:
        raise PartialInventory(out, problems)
    return out


def read_package_lock(path: str, shown: str) -> list[Package]:
    """package-lock.json / npm-shrinkwrap.json v2 and v3: the `packages` map keyed by node_modules path."""
    doc = _load_json(path, shown)
    packages = doc.get("packages")
    if not isinstance(packages, dict):
        version = doc.get("lockfileVersion")
        raise InventoryError(f"{shown}: lockfileVersion {version} has no `packages` map (v2/v3 supported)")
    out: list[Package] = []
    problems: list[str] = []
    for key, entry in packages.items():
        if not isinstance(entry, dict):
            problems.append(f"{shown}: packages[{key!r}] is not an object: not audited")
            continue
        if not key or entry.get("link"):
            continue  # "" is the project itself; links point at workspace folders
        if "node_modules/" not in key:
            continue  # workspace member folder
        given = entry.get("name")
        name = given if isinstance(given, str) else key.rsplit("node_modules/", 1)[-1]
        version = entry.get("version") if isinstance(entry.get("version"), str) else None
        resolved = entry.get("resolved") if isinstance(entry.get("resolved"), str) else None
        unpinned = None
        if resolved and not resolved.startswith(_REGISTRY_PREFIXES) and "/-/" not in resolved:
            unpinned = f"not from a registry: {resolved}"
        elif version is None:
            unpinned = "no version in lock"
        integrity = entry.get("integrity")
        hashes = tuple(integrity.split()) if isinstance(integrity, str) else ()
        out.append(
            Package(
                name=name,
                version=version,
                ecosystem=Ecosystem.NPM,
                source=f"{shown}#{key}",
                hashes=hashes,
                unpinned=unpinned,
            )
        )
    if problems:
        raise PartialInventory(out, problems)
    return out
