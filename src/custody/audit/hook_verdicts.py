"""Scan verdicts of owned start-up files, remembered between audits of the same machine.

Every environment has owned start-up files (setuptools' `distutils-precedence.pth`, editable
installs' `.pth` files), and each audit has the scan engine judge them: importing the engine and
compiling its YARA rules cost about 0.3 s, more than the rest of a warm audit's start-up. The
verdict is a function of the file's name and bytes, the engine's code and the rules, so it is kept
under a key made of all of them: the sha256 of the name and content, and a fingerprint of the
engine (size and mtime of every file of the installed custody package and of yara-x, and of each
user rule directory's files). A changed file, custody upgrade, edited rule or new yara-x is scanned
again. Verdicts that came from an error or an unreadable file are never kept.

The store is a JSON file in the custody cache directory, as trustworthy as the account that owns
it (as the digest cache is); `custody audit --rehash` uses neither.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import stat
import tempfile
from collections.abc import Callable

from custody.audit.environment import HookScan

MAX_VERDICTS = 4096
"""Verdicts kept; past this the file starts afresh (an environment has a handful of hooks)."""
MAX_HOOK_BYTES = 1024 * 1024
"""Larger start-up files are always scanned, never remembered."""
_NOT_KEPT = frozenset({"low"})
"""Severities of verdicts that say the scan did not complete (error, unreadable, timeout)."""


def _tree_stamp(top: str) -> bytes:
    """(relative path, size, mtime) of every file under `top`, one line each."""
    lines: list[str] = []
    for folder, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            full = os.path.join(folder, name)
            try:
                info = os.stat(full)
            except OSError:
                continue
            lines.append(f"{os.path.relpath(full, top)}\0{info.st_size}\0{info.st_mtime_ns}\n")
    return "".join(lines).encode("utf-8", "surrogateescape")


def engine_fingerprint(rule_dirs: tuple[str, ...] = ()) -> str:
    """What a verdict depends on besides the file: custody's code and rules, yara-x, user rules."""
    digest = hashlib.sha256()
    digest.update(_tree_stamp(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    spec = importlib.util.find_spec("yara_x")
    if spec is not None and spec.origin:
        digest.update(b"yara_x\n")
        digest.update(_tree_stamp(os.path.dirname(spec.origin)))
    for index, directory in enumerate(rule_dirs):
        digest.update(f"rules {index} {os.path.abspath(directory)}\n".encode())
        digest.update(_tree_stamp(directory))
    return digest.hexdigest()


def _file_key(path: str) -> str | None:
    """sha256 of the file's name and bytes; None when it cannot be read whole as a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_HOOK_BYTES:
                return None
            data = handle.read(MAX_HOOK_BYTES + 1)
        except OSError:
            return None
    if len(data) > MAX_HOOK_BYTES:
        return None
    name = os.path.basename(path).encode("utf-8", "surrogateescape")
    return hashlib.sha256(name + b"\0" + data).hexdigest()


def remembered(scan: Callable[[], HookScan], store: str, rule_dirs: tuple[str, ...] = ()) -> HookScan:
    """A HookScan that answers from `store` when it judged the same file with the same engine
    before, and otherwise builds the real scanner (`scan()`, only on the first miss) and keeps
    its verdict."""
    state: dict[str, object] = {}

    def verdicts() -> dict[str, list[str]]:
        if "verdicts" not in state:
            state["fingerprint"] = engine_fingerprint(rule_dirs)
            state["verdicts"] = _load(store, str(state["fingerprint"]))
        found = state["verdicts"]
        assert isinstance(found, dict)
        return found

    def judge(path: str) -> tuple[str, str]:
        key = _file_key(path)
        known = verdicts()
        if key is not None and key in known:
            severity, verdict = known[key]
            return severity, verdict
        if "scanner" not in state:
            state["scanner"] = scan()
        scanner = state["scanner"]
        assert callable(scanner)
        severity, verdict = scanner(path)
        if key is not None and severity not in _NOT_KEPT and _file_key(path) == key:
            if len(known) >= MAX_VERDICTS:
                known.clear()
            known[key] = [severity, verdict]
            _save(store, str(state["fingerprint"]), known)
        return severity, verdict

    return judge


def _load(store: str, fingerprint: str) -> dict[str, list[str]]:
    try:
        with open(store, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(doc, dict) or doc.get("fingerprint") != fingerprint:
        return {}
    stored = doc.get("verdicts")
    if not isinstance(stored, dict):
        return {}
    return {
        key: [value[0], value[1]]
        for key, value in stored.items()
        if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)
    }


def _save(store: str, fingerprint: str, verdicts: dict[str, list[str]]) -> None:
    """Write atomically; a store that cannot be written only costs the next audit a scan."""
    directory = os.path.dirname(os.path.abspath(store))
    try:
        os.makedirs(directory, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".hook-verdicts.", dir=directory)
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"fingerprint": fingerprint, "verdicts": verdicts}, handle)
        os.replace(temporary, store)
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(temporary)
