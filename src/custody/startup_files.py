"""The grammar of Python start-up files, in one stdlib-only place (guard's bootstrap may load it).

`site` processes the `*.pth` files of every site dir in `sorted(os.listdir())` order, skipping
names that start with "." (3.13+). In a `.pth`, blank lines and lines starting with `#` are
skipped, lines starting with `import ` or `import\\t` are executed with `exec`, and every other
line is a path appended to `sys.path` when it exists. How the file becomes lines differs by
version (`pth_executed_by`): up to 3.12 a text stream in the locale encoding (universal newlines,
a byte-order mark kept), from 3.13 the whole file decoded as `utf-8-sig` and `str.splitlines()`.
PEP 829 adds `*.site.toml` (an `[entrypoints] init = ["module:function"]` list) and `*.start`
(one `module:function` a line).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Literal

LineKind = Literal["blank", "comment", "import", "path"]
STARTUP_SUFFIXES = (".pth", ".site.toml", ".start")


@dataclass(frozen=True, slots=True)
class StartupLine:
    """One line of a start-up file: 1-based `number`, what `site` does with it, and its text."""

    number: int
    kind: LineKind
    text: str


def classify_pth_line(line: str) -> LineKind:
    """What `site.addpackage` does with one `.pth` line."""
    if not line.strip():
        return "blank"
    if line.startswith("#"):
        return "comment"
    if line.startswith(("import ", "import\t")):
        return "import"
    return "path"


def pth_lines(text: str) -> list[StartupLine]:
    """Every line of a `.pth` file, classified."""
    return [
        StartupLine(n, classify_pth_line(line), line.rstrip()) for n, line in enumerate(text.splitlines(), 1)
    ]


def pth_executed_lines(text: str) -> list[tuple[int, str]]:
    """(1-based line number, text) of the `.pth` lines `site` executes."""
    return [(line.number, line.text) for line in pth_lines(text) if line.kind == "import"]


PythonVersion = tuple[int, int]
"""(major, minor) of the interpreter whose start-up is described."""

_SPLITLINES_FROM = (3, 13)
"""From 3.13 `site` reads a `.pth` whole, strips a byte-order mark and splits with `str.splitlines()`."""


def pth_executed_by(data: bytes, version: PythonVersion | None) -> list[tuple[int, str]]:
    """(1-based line number, text) of the lines of a `.pth` file's bytes that `site` of Python
    `version` executes; with `version` None, every line some supported version executes (an
    interpreter we cannot name is assumed to be the one that runs the most)."""
    if version is not None:
        return _executed(_pth_split(data, version))
    older = _executed(_pth_split(data, (3, 12)))
    return sorted(set(older).union(_executed(_pth_split(data, _SPLITLINES_FROM))))


def _executed(lines: list[str]) -> list[tuple[int, str]]:
    return [(n, line.rstrip()) for n, line in enumerate(lines, 1) if classify_pth_line(line) == "import"]


def _pth_split(data: bytes, version: PythonVersion) -> list[str]:
    """The `.pth` lines as `version`'s `site` sees them. Undecodable bytes become U+FFFD: the
    lines around them still count (3.13 would fall back to the locale encoding, older versions to
    an error part-way; reading on reports at least what either runs)."""
    if version >= _SPLITLINES_FROM:
        return data.decode("utf-8-sig", errors="replace").splitlines()
    # io.TextIOWrapper's universal newlines: only \r, \n and \r\n end a line (not \f, \x1c or
    # U+2028, where str.splitlines() would also split), and a leading BOM stays part of line 1.
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    return lines[:-1] if lines and not lines[-1] else lines


def pth_name_skipped(name: str, version: PythonVersion | None) -> bool:
    """True when `site` of `version` never reads the `.pth` named `name`: 3.13 and later skip names
    starting with "." (an unknown version may read them)."""
    return name.startswith(".") and version is not None and version >= _SPLITLINES_FROM


def start_entries(text: str) -> list[tuple[int, str]]:
    """(line number, `module:function`) of a PEP 829 `.start` file."""
    return [
        (n, ln.strip())
        for n, ln in enumerate(text.splitlines(), 1)
        if ln.strip() and not ln.lstrip().startswith("#")
    ]


def site_toml_entries(text: str) -> list[tuple[int, str]]:
    """(line number, entry point) of a PEP 829 `.site.toml`'s `[entrypoints] init`; line 0 when the
    entry cannot be located. Unparseable TOML yields one `<...>` entry."""
    # imported here: only when a .site.toml exists (tomli is custody's dependency on 3.10)
    if sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415
    else:  # pragma: no cover
        import tomli as tomllib  # noqa: PLC0415

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [(0, f"<unparseable .site.toml: {exc}>")]
    section = doc.get("entrypoints", {})
    init = section.get("init", []) if isinstance(section, dict) else []
    entries = [e for e in init if isinstance(e, str)] if isinstance(init, list) else []
    lines = text.splitlines()
    return [(next((i for i, ln in enumerate(lines, 1) if e in ln), 0), e) for e in entries]


def is_startup_name(name: str) -> bool:
    """A file name `site` would consider (hidden names are skipped by 3.13+; we skip them always)."""
    return name.endswith(STARTUP_SUFFIXES) and not name.startswith(".")


def startup_order(site_dir: str) -> list[str]:
    """Start-up file names of `site_dir` in the order `site` processes them (`sorted(os.listdir())`)."""
    try:
        names = os.listdir(site_dir)
    except OSError:
        return []
    return [n for n in sorted(names) if is_startup_name(n)]


def addpackage_line_number(n: int) -> int:
    """The 1-based line number from `site.addpackage`'s loop counter `n` (0-based before 3.13)."""
    return n if sys.version_info >= (3, 13) else n + 1
