"""pip requirements files: `-r`/`-c` includes, `--hash`, markers; URLs, VCS refs and ranges are unpinned."""

from __future__ import annotations

import os
import re
import shlex

from packaging.requirements import InvalidRequirement, Requirement

from custody.inventory._files import read_declared
from custody.inventory.model import Ecosystem, Package

_INCLUDE = {"-r": False, "--requirement": False, "-c": True, "--constraint": True}
_VCS = re.compile(r"^(git|hg|svn|bzr)\+", re.IGNORECASE)
_URLISH = re.compile(r"^([a-z][a-z0-9+.-]*://|\.{0,2}/|file:)", re.IGNORECASE)
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_MAX_DEPTH = 20


def read_requirements(path: str) -> list[Package]:
    """Every requirement of `path` and the files it includes, in file order."""
    out: list[Package] = []
    _read(os.path.abspath(path), path, out, set(), constraint=False)
    return out


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, line) with backslash continuations joined and comments removed."""
    lines: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not buffer:
            start = number
        if raw.endswith("\\"):
            buffer += raw[:-1] + " "
            continue
        buffer += raw
        line = re.sub(r"(^|\s)#.*$", "", buffer).strip()
        if line:
            lines.append((start, line))
        buffer = ""
    if buffer.strip():
        lines.append((start, buffer.strip()))
    return lines


def _read(full: str, shown: str, out: list[Package], seen: set[str], *, constraint: bool) -> None:
    if full in seen or len(seen) > _MAX_DEPTH:
        return
    seen.add(full)
    text = read_declared(full, shown).decode("utf-8", errors="replace")
    for number, line in _logical_lines(text):
        where = f"{shown}:{number}"
        try:
            tokens = shlex.split(line, posix=True)
        except ValueError:
            tokens = line.split()
        if not tokens:
            continue
        head = tokens[0]
        option, _, inline = head.partition("=")
        if option in _INCLUDE:
            target = inline or (tokens[1] if len(tokens) > 1 else "")
            if target and not re.match(r"^[a-z][a-z0-9+.-]*://", target, re.IGNORECASE):
                nested = os.path.join(os.path.dirname(full), target)
                nested_shown = os.path.join(os.path.dirname(shown), target)
                _read(
                    os.path.normpath(nested),
                    os.path.normpath(nested_shown),
                    out,
                    seen,
                    constraint=constraint or _INCLUDE[option],
                )
            continue
        if head in ("-e", "--editable") or option == "--editable":
            target = inline or (tokens[1] if len(tokens) > 1 else "")
            out.append(_unpinned_url(target, where, "editable install"))
            continue
        if head.startswith("-"):
            continue  # --index-url, --pre, --require-hashes...: options, not packages
        out.append(_requirement(line, where))


def parse_requirement(text: str, where: str) -> Package:
    """One requirement string (PEP 508, optionally with `--hash` options) declared at `where`."""
    return _requirement(text, where)


def _split_hashes(line: str) -> tuple[str, list[str]]:
    hashes = [
        f"{m.group(1)}:{m.group(2)}" for m in re.finditer(r"--hash[= ]([a-z0-9]+):([0-9a-fA-F]+)", line)
    ]
    rest = re.sub(r"--hash[= ]\S+", "", line)
    rest = re.sub(r"\s--[a-z][a-z-]*(?:[= ]\S+)?", "", rest)  # per-requirement options
    return rest.strip(), hashes


def _requirement(line: str, where: str) -> Package:
    text, hashes = _split_hashes(line)
    if _VCS.match(text) or _URLISH.match(text):
        return _unpinned_url(text, where, "VCS reference" if _VCS.match(text) else "URL or path")
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        words = (text or line).split()  # text is empty when the line held only options
        return Package(
            name=words[0] if words else line,
            version=None,
            ecosystem=Ecosystem.PYPI,
            source=where,
            unpinned=f"unparseable requirement: {exc}",
        )
    marker = str(req.marker) if req.marker else None
    if req.url:
        kind = "VCS reference" if _VCS.match(req.url) else "URL"
        return Package(
            name=req.name,
            version=None,
            ecosystem=Ecosystem.PYPI,
            source=where,
            hashes=tuple(hashes),
            unpinned=f"{kind}: {req.url}",
            marker=marker,
        )
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return Package(
            name=req.name,
            version=specs[0].version,
            ecosystem=Ecosystem.PYPI,
            source=where,
            hashes=tuple(hashes),
            marker=marker,
        )
    try:
        reason = f"range {req.specifier}" if specs else "no version given"
    except ValueError:  # a version part too long for int() (Python's digit limit): still a range
        reason = "range (unprintable)"
    return Package(
        name=req.name,
        version=None,
        ecosystem=Ecosystem.PYPI,
        source=where,
        hashes=tuple(hashes),
        unpinned=reason,
        marker=marker,
    )


def _unpinned_url(target: str, where: str, kind: str) -> Package:
    egg = _EGG.search(target)
    if egg:
        name = egg.group(1)
    else:
        tail = target.split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        name = re.split(r"@|\.git$|\.zip$|\.tar|\.whl$|-\d", tail, maxsplit=1)[0] or target
    return Package(
        name=name, version=None, ecosystem=Ecosystem.PYPI, source=where, unpinned=f"{kind}: {target}"
    )
