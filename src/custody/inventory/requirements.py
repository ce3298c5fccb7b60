"""pip requirements files: `-r`/`-c` includes, `--hash`, markers; URLs, VCS refs and ranges are unpinned."""

from __future__ import annotations

import codecs
import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement

from custody.inventory._files import read_declared
from custody.inventory.model import Ecosystem, InventoryError, Package, PartialInventory

_INCLUDE = {"-r": False, "--requirement": False, "-c": True, "--constraint": True}
_VCS = re.compile(r"^(git|hg|svn|bzr)\+", re.IGNORECASE)
_URLISH = re.compile(r"^([a-z][a-z0-9+.-]*://|\.{0,2}/|file:)", re.IGNORECASE)
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_MAX_NESTING = 64
"""Deepest chain of `-r`/`-c` includes followed (pip has no limit; a deeper one is reported)."""
_MAX_FILES = 1000
"""Most files one requirements file may pull in; past it the rest is reported unread, not dropped."""
_MAX_OPTION_LINE = 16 * 1024
"""Longest option line (`-r path`, `--index-url ...`) split with shlex, which is quadratic in a
token's length; a longer one is reported rather than split."""
# UTF-32's BOMs first: UTF-32-LE's begins with UTF-16-LE's
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(slots=True)
class _Reading:
    """What one `read_requirements` call has found so far, across all its includes: an accumulator
    the reader and its nested includes add packages, problems and seen files to."""

    out: list[Package] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)


def read_requirements(path: str) -> list[Package]:
    """Every requirement of `path` and the files it includes, in file order.

    InventoryError when `path` itself cannot be read; PartialInventory (with every package that
    could be read) when an include cannot be, or a limit was reached."""
    reading = _Reading()
    _read(os.path.abspath(path), path, reading, 0, constraint=False)
    if reading.problems:
        raise PartialInventory(reading.out, reading.problems)
    return reading.out


def _decode(data: bytes, shown: str) -> str:
    """The text of a requirements file, as pip decodes it (a BOM names the encoding, else UTF-8);
    InventoryError for anything that is not text, rather than a finding per line of noise."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InventoryError(
            f"{shown}: not a text requirements file ({encoding} cannot decode byte {exc.start})"
        ) from exc
    return text


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, line) with backslash continuations joined and comments removed; linear
    in the file's size (continued parts are collected in a list, not by repeated concatenation)."""
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not parts:
            start = number
        if raw.endswith("\\"):
            parts.append(raw[:-1])
            continue
        parts.append(raw)
        buffer = " ".join(parts) if len(parts) > 1 else raw
        parts = []
        line = _COMMENT.sub("", buffer).strip() if "#" in buffer else buffer.strip()
        if line:
            yield start, line
    if parts and (rest := " ".join(parts).strip()):
        yield start, rest


_COMMENT = re.compile(r"(^|\s)#.*$")


def _read(full: str, shown: str, reading: _Reading, depth: int, *, constraint: bool) -> None:
    if full in reading.seen:
        return  # an include cycle, or a file included twice: its pins are already in
    reading.seen.add(full)
    text = _decode(read_declared(full, shown), shown)
    for number, line in _logical_lines(text):
        where = f"{shown}:{number}"
        if not line.startswith("-"):
            reading.out.append(_requirement(line, where))
        else:
            _option(line, where, full, shown, reading, depth, constraint=constraint)


def _option(
    line: str, where: str, full: str, shown: str, reading: _Reading, depth: int, *, constraint: bool
) -> None:
    """An option line: an include is followed, an editable recorded, anything else skipped."""
    if len(line) > _MAX_OPTION_LINE:
        reading.problems.append(f"{where}: option line of {len(line)} characters not read")
        return
    try:
        tokens = shlex.split(line, posix=True)
    except ValueError:
        tokens = line.split()
    if not tokens:
        return
    head = tokens[0]
    option, _, inline = head.partition("=")
    if option in _INCLUDE:
        target = inline or (tokens[1] if len(tokens) > 1 else "")
        _include(target, where, full, shown, reading, depth, constraint=constraint or _INCLUDE[option])
    elif head in ("-e", "--editable") or option == "--editable":
        target = inline or (tokens[1] if len(tokens) > 1 else "")
        reading.out.append(_unpinned_url(target, where, "editable install"))
    # anything else (--index-url, --pre, --require-hashes...) is an option, not a package


def _include(
    target: str, where: str, full: str, shown: str, reading: _Reading, depth: int, *, constraint: bool
) -> None:
    """Follow one `-r`/`-c`; a bad one is a problem of its own, the including file reads on."""
    if not target:
        reading.problems.append(f"{where}: include without a file name")
    elif re.match(r"^[a-z][a-z0-9+.-]*://", target, re.IGNORECASE):
        reading.problems.append(f"{where}: includes {target}, which is not fetched: its pins are not audited")
    elif depth >= _MAX_NESTING:
        reading.problems.append(f"{where}: includes nested deeper than {_MAX_NESTING}: {target} not read")
    elif len(reading.seen) >= _MAX_FILES:
        reading.problems.append(f"{where}: more than {_MAX_FILES} files included: {target} not read")
    else:
        nested = os.path.normpath(os.path.join(os.path.dirname(full), target))
        nested_shown = os.path.normpath(os.path.join(os.path.dirname(shown), target))
        try:
            _read(nested, nested_shown, reading, depth + 1, constraint=constraint)
        except InventoryError as exc:
            reading.problems.append(f"{where}: include not read: {exc}")


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


_PLAIN_PIN = re.compile(
    r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)==(\d+(?:\.\d+)*(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?)"
)
"""`name==version` with a PEP 440 public version in normal form and nothing else on the line: what
packaging's parser makes of it is known (that name and version as written), so the parser (about
10 us a line, most of the time of a large file) is skipped."""


def _requirement(line: str, where: str) -> Package:
    plain = _PLAIN_PIN.fullmatch(line)
    if plain is not None:
        return Package(name=plain.group(1), version=plain.group(2), ecosystem=Ecosystem.PYPI, source=where)
    return _parsed_requirement(line, where)


def _parsed_requirement(line: str, where: str) -> Package:
    """Any requirement line, through packaging's parser."""
    text, hashes = _split_hashes(line)
    if _VCS.match(text) or _URLISH.match(text):
        return _unpinned_url(text, where, "VCS reference" if _VCS.match(text) else "URL or path")
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        return _unparseable(where, exc)
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


def _unparseable(where: str, exc: InvalidRequirement) -> Package:
    """A line that is not a requirement. Its text is never echoed: an include such as
    `-r /proc/self/environ` or `-r ~/.netrc` makes any file a requirements file, and its lines
    would carry secrets into the report (even a leading word: in a key file it is key material).
    Only the place and the parser's reason are kept."""
    # the parser's own message holds no source text when it is a syntax error (packaging >= 26.4
    # keeps the source apart); any other reason may quote the line, so it is not shown
    reason = exc.message if getattr(exc, "source", None) is not None else "not a PEP 508 requirement"
    return Package(
        name="<unparseable line>",
        version=None,
        ecosystem=Ecosystem.PYPI,
        source=where,
        unpinned=f"unparseable requirement ({reason}; the line is not shown)",
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
