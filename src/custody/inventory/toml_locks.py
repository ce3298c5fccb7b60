"""TOML lockfiles: pylock.toml (PEP 751), uv.lock, poetry.lock."""

from __future__ import annotations

from typing import Any

from custody.inventory._toml import load_toml
from custody.inventory.model import Ecosystem, InventoryError, Package, PartialInventory


def _hash_items(hashes: Any) -> list[str]:
    """`{sha256 = "..."}` tables (pylock) as `sha256:hex` strings."""
    if not isinstance(hashes, dict):
        return []
    return [f"{algo}:{digest}" for algo, digest in hashes.items() if isinstance(digest, str)]


def _colon_hash(value: Any) -> list[str]:
    """`hash = "sha256:..."` strings (uv.lock, poetry.lock)."""
    return [value] if isinstance(value, str) and ":" in value else []


def _packages(doc: dict[str, Any], key: str, shown: str, problems: list[str]) -> list[dict[str, Any]]:
    """The `[[key]]` tables that name a package; each other entry is added to `problems` (a
    malformed entry may be the pin an audit exists to find: never dropped without a word)."""
    items = doc.get(key, [])
    if not isinstance(items, list):
        raise InventoryError(f"{shown}: `{key}` is not an array of tables")
    found = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            problems.append(f"{shown}: {key} entry {number} is not a table: not audited")
        elif not isinstance(item.get("name"), str):
            problems.append(f"{shown}: {key} entry {number} has no string `name`: not audited")
        else:
            if "version" in item and not isinstance(item["version"], str):
                problems.append(f"{shown}: {key} entry {number} ({item['name']}): `version` is not a string")
            found.append(item)
    return found


def _finish(out: list[Package], problems: list[str]) -> list[Package]:
    if problems:
        raise PartialInventory(out, problems)
    return out


def _pypi_package(
    pkg: dict[str, Any],
    version: str | None,
    shown: str,
    hashes: list[str],
    unpinned: str | None,
    marker: str | None = None,
) -> Package:
    return Package(
        name=pkg["name"],
        version=version,
        ecosystem=Ecosystem.PYPI,
        source=shown,
        hashes=tuple(hashes),
        unpinned=unpinned,
        marker=marker,
    )


def read_pylock(path: str, shown: str) -> list[Package]:
    """PEP 751: `[[packages]]` with version, marker and vcs/directory/archive/sdist/wheels sources."""
    doc = load_toml(path, shown)
    if "lock-version" not in doc:
        raise InventoryError(f"{shown}: no `lock-version`, not a PEP 751 lock file")
    out: list[Package] = []
    problems: list[str] = []
    for pkg in _packages(doc, "packages", shown, problems):
        hashes: list[str] = []
        for part in ("archive", "sdist"):
            if isinstance(pkg.get(part), dict):
                hashes += _hash_items(pkg[part].get("hashes"))
        for wheel in pkg.get("wheels", []) if isinstance(pkg.get("wheels"), list) else []:
            if isinstance(wheel, dict):
                hashes += _hash_items(wheel.get("hashes"))
        version = pkg.get("version") if isinstance(pkg.get("version"), str) else None
        unpinned = None
        if isinstance(pkg.get("vcs"), dict):
            vcs = pkg["vcs"]
            unpinned = f"VCS reference: {vcs.get('url') or vcs.get('path')}@{vcs.get('commit-id', '?')}"
        elif isinstance(pkg.get("directory"), dict):
            unpinned = f"local directory: {pkg['directory'].get('path')}"
        elif version is None:
            unpinned = "no version in lock"
        marker = pkg.get("marker") if isinstance(pkg.get("marker"), str) else None
        out.append(_pypi_package(pkg, version, shown, hashes, unpinned, marker))
    return _finish(out, problems)


def read_uv_lock(path: str, shown: str) -> list[Package]:
    """uv.lock: `[[package]]` with `source` registry/git/url; own project (editable, virtual) skipped."""
    doc = load_toml(path, shown)
    out: list[Package] = []
    problems: list[str] = []
    for pkg in _packages(doc, "package", shown, problems):
        source = pkg.get("source", {}) if isinstance(pkg.get("source"), dict) else {}
        if any(k in source for k in ("editable", "virtual", "directory", "path")):
            continue  # the workspace's own code, not a third-party pin
        hashes = _colon_hash(pkg.get("sdist", {}).get("hash")) if isinstance(pkg.get("sdist"), dict) else []
        for wheel in pkg.get("wheels", []) if isinstance(pkg.get("wheels"), list) else []:
            if isinstance(wheel, dict):
                hashes += _colon_hash(wheel.get("hash"))
        version = pkg.get("version") if isinstance(pkg.get("version"), str) else None
        unpinned = None
        if "git" in source:
            unpinned = f"VCS reference: {source['git']}"
        elif "url" in source:
            unpinned = f"URL: {source['url']}"
        elif version is None:
            unpinned = "no version in lock"
        out.append(_pypi_package(pkg, version, shown, hashes, unpinned))
    return _finish(out, problems)


def read_poetry_lock(path: str, shown: str) -> list[Package]:
    """poetry.lock: `[[package]]` with `files = [{file, hash}]` and an optional `[package.source]`."""
    doc = load_toml(path, shown)
    out: list[Package] = []
    problems: list[str] = []
    for pkg in _packages(doc, "package", shown, problems):
        hashes: list[str] = []
        for item in pkg.get("files", []) if isinstance(pkg.get("files"), list) else []:
            if isinstance(item, dict):
                hashes += _colon_hash(item.get("hash"))
        source = pkg.get("source", {}) if isinstance(pkg.get("source"), dict) else {}
        kind = source.get("type")
        unpinned = None
        if kind == "git":
            ref = source.get("resolved_reference") or source.get("reference")
            unpinned = f"VCS reference: {source.get('url')}@{ref}"
        elif kind in ("url", "file", "directory"):
            unpinned = f"{kind}: {source.get('url')}"
        version = pkg.get("version") if isinstance(pkg.get("version"), str) else None
        out.append(_pypi_package(pkg, version, shown, hashes, unpinned))
    return _finish(out, problems)
