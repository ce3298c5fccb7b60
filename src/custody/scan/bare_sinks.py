"""Calls of sink functions under a name the pattern pass does not know: imported by their bare
name (`from requests import post` or `from requests import *`, then `post(url, data=key)`), or
through the module imported under another name (`import requests as rq`, then `rq.post(...)`).
The pattern pass cannot see these as calls: its sink patterns need the module's own name in
front (`requests.post(`), and `post(` alone is every other `post` method.

The pattern pass marks modules that import such a module (`bare-sink`, sinks.yar); here their
import statements are read for the names that reach a sink, and each call through such a name
becomes a sink offset, as `requests.post(` would be. The full analysis resolves the same names
through its import table; this only decides which modules it reads.
"""

from __future__ import annotations

import re
from functools import lru_cache

from custody.scan.yara_rules import SINK_OFFSETS, PatternScan

BARE_SINK_MARK = "bare-sink"
"""The internal mark of sinks.yar for modules that from-import a module below."""

SINK_MEMBERS: dict[bytes, frozenset[bytes]] = {
    b"requests": frozenset({b"get", b"post", b"put", b"patch", b"delete", b"request", b"head"}),
    b"httpx": frozenset({b"get", b"post", b"put", b"patch", b"delete", b"request", b"stream"}),
    b"subprocess": frozenset({b"run", b"call", b"getoutput", b"getstatusoutput"}),
    b"socket": frozenset({b"socket"}),
}
"""Functions of these modules that send or run what they are given, by module. The other sinks
these modules hold (`Popen`, `check_output`, `create_connection`) are sink patterns by their bare
name already."""

# `from requests import get, post as p` and `from subprocess import (\n run,\n call as c,\n)`.
# Both patterns start at a newline (the text is given one in front), not at a MULTILINE `^`,
# which the engine tries at every byte: four times slower over a module.
_FROM_SINK_MODULE = re.compile(
    rb"\n[ \t]*from[ \t]+(requests|httpx|subprocess|socket)[ \t]+import[ \t]+(\([^)]*\)|[^\n;#]*)"
)
_IMPORTED = re.compile(rb"([A-Za-z_]\w*|\*)(?:\s+as\s+([A-Za-z_]\w*))?")
# `import requests as rq`, `import socket as s, os`
_MODULE_AS = re.compile(
    rb"\n[ \t]*import[ \t]+[^\n;#]*?\b(requests|httpx|subprocess|socket)[ \t]+as[ \t]+([A-Za-z_]\w*)"
)


def bare_sink_names(data: bytes) -> frozenset[bytes]:
    """Names through which this source calls a sink function: bound to one by a from-import of
    its module (every sink of the module for a star import), or `ALIAS.member` for a module
    imported under another name."""
    names: set[bytes] = set()
    text = b"\n" + data
    for module, imported in _FROM_SINK_MODULE.findall(text):
        members = SINK_MEMBERS[module]
        for name, local in _IMPORTED.findall(imported.strip(b"()")):
            if name == b"*":
                names.update(members)
            elif name in members:
                names.add(local or name)
    for module, alias in _MODULE_AS.findall(text):
        if alias != module:
            names.update(alias + b"." + member for member in SINK_MEMBERS[module])
    return frozenset(names)


@lru_cache(maxsize=256)
def _calls_pattern(names: frozenset[bytes]) -> re.Pattern[bytes]:
    """One pattern for calls of these names, compiled once per set: most modules that import
    from these modules import the same few names (`run`, `get`, `post`)."""
    alternatives = b"|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rb"(?<![\w.])(?:" + alternatives + rb")\s*\(")


def bare_sink_calls(data: bytes, names: frozenset[bytes]) -> list[int]:
    """Offsets of calls of these names (`post(`, `rq.post(`), not `x.post(`, `repost(` or
    `def post(`."""
    if not names:
        return []
    found: list[int] = []
    for match in _calls_pattern(names).finditer(data):
        start = match.start()
        line_start = data.rfind(b"\n", 0, start) + 1
        if data[line_start:start].strip() in (b"def", b"async def", b"class"):
            continue  # a definition of that name, not a call
        found.append(start)
        if len(found) >= SINK_OFFSETS:
            break
    return found


def with_bare_sinks(scanned: PatternScan, data: bytes) -> PatternScan:
    """`scanned` with the calls of bare-imported sink functions added to its sinks (and chain
    ends), when the pattern pass marked the module as importing them."""
    if BARE_SINK_MARK not in scanned.marks:
        return scanned
    calls = bare_sink_calls(data, bare_sink_names(data))
    if not calls:
        return scanned
    ends = tuple(sorted({*scanned.ends, *calls})) if scanned.ends is not None else None
    return PatternScan(
        hits=scanned.hits, sinks=sorted({*scanned.sinks, *calls}), marks=scanned.marks, ends=ends
    )


__all__ = ["BARE_SINK_MARK", "SINK_MEMBERS", "bare_sink_calls", "bare_sink_names", "with_bare_sinks"]
