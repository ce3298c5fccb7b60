"""Core metadata (METADATA / PKG-INFO) headers, read without the cost of `email.parser`."""

from __future__ import annotations

import re

NAME_VERSION = frozenset({"name", "version"})
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_HEADER_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]*")  # printable, no space, no colon (RFC 5322)


def metadata_headers(text: str, wanted: frozenset[str]) -> dict[str, str]:
    """The first value of each header in `wanted` (lower-case names) from core metadata text.

    Reads only the header block, as `email.parser.HeaderParser` does (it stops at the first empty
    line or at the first line that is not a header), at a fraction of its cost: an audit reads the
    METADATA of every installed distribution. Folded (continued) values are joined with a space.
    Lines are taken one at a time, and reading stops once every wanted header is found and its
    value is complete (Name and Version come first; dozens of Classifier and Requires-Dist lines
    follow them).
    """
    found: dict[str, str] = {}
    current: str | None = None
    position, size = 0, len(text)
    while position <= size:
        # the email parser's line ends only (str.splitlines would also split at \f, \v, \x1c...)
        end = _LINE_BREAK.search(text, position)
        line = text[position : end.start()] if end else text[position:]
        position = end.end() if end else size + 1
        if not line:
            break
        if line[0] in " \t":
            if current is not None:
                found[current] = f"{found[current]} {line.strip()}".strip()
            continue
        if len(found) == len(wanted):
            break  # a new header: every wanted value is complete (only first values count)
        name, sep, value = line.partition(":")
        if not sep or not _HEADER_NAME.fullmatch(name):
            break  # not a header: the email parser ends the header block here too
        key = name.lower()
        current = key if key in wanted and key not in found else None
        if current is not None:
            found[current] = value.strip()
    return found
