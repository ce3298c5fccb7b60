"""Cheap context estimate for a line of Python from indentation alone (no parse).

Used for library modules whose dangerous calls all sit inside functions, and for files too big to
parse quickly: walking up to the enclosing block headers tells whether a line is in a function
body (runs when called) or at module level (runs at import). Wrong guesses only ever send a
file to the full AST analysis, never away from it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from functools import lru_cache

from custody.scan.model import Context

_FUNC_HEADERS = (b"def ", b"async def ", b"if __name__")
_SKIPPED_STARTS = (b"#", b")", b"]", b"}")
"""Lines that can never be the header of the block around a line: comments, and lines that start
with a closing bracket (no statement does; they end a bracketed expression begun above, most often
a long signature formatted one parameter a line, whose `) -> T:` would otherwise be taken for the
header and hide the `def` above it)."""

MAX_WALK = 20_000
"""Lines walked up from one line looking for its enclosing blocks. Past it the line counts as
module level, which only ever sends a file to the full analysis: a hostile file of a million
lines inside one function would otherwise cost a million steps for each of its 200 sinks."""

_DEF_NAME = re.compile(rb"(?:async\s+)?def\s+([A-Za-z_]\w*)|class\s+([A-Za-z_]\w*)")
_DEFINING = re.compile(rb"(?:async[ \t]+)?(?:def|class)")
"""A line's whole text up to a sink match that is the `def` or `class` keyword: the match is the
name being defined."""
_DEFINED_NAME = re.compile(rb"(?:(?:async[ \t]+)?def|class)[ \t]+\w+")
"""A line's text up to a sink match that lies inside the name a `def` or `class` defines."""


class IndentContext:
    """When each line of a Python file runs, estimated from indentation alone (no parse): lines
    in a function body run when called, the rest in the file's `base` context. Wrong guesses only
    ever send a file to the full AST analysis."""

    def __init__(
        self, data: bytes, base: Context, lines: list[bytes] | Callable[[], list[bytes]] | None = None
    ) -> None:
        """`lines`: `data.split(b"\n")` if the caller already has it, or a function that gives it
        (called on first use: most modules are never asked about a line)."""
        self._data = data
        self._lines = lines
        self.base = base
        self._starts: list[int] | None = None

    @property
    def lines(self) -> list[bytes]:
        """The source split into lines, on first use."""
        lines = self._lines
        if lines is None:
            lines = self._lines = self._data.split(b"\n")
        elif callable(lines):
            lines = self._lines = lines()
        return lines

    def line_of(self, offset: int) -> int:
        """The 1-based line of a byte offset (line starts computed once, on first use)."""
        if self._starts is None:
            starts, at = [0], 0
            for text in self.lines[:-1]:
                at += len(text) + 1
                starts.append(at)
            self._starts = starts
        return bisect.bisect_right(self._starts, offset)

    def at(self, line: int | None) -> Context:
        """The context `line` runs in (the file's base context for None or a line out of range)."""
        return self.enclosing(line)[0]

    def enclosing(self, line: int | None) -> tuple[Context, list[bytes]]:
        """Context of `line` and the names of the functions/classes around it, innermost first."""
        if line is None or not 1 <= line <= len(self.lines):
            return self.base, []
        names: list[bytes] = []
        context = self.base
        index = line - 1
        text = self.lines[index]
        stripped = text.lstrip()
        current = len(text) - len(stripped) if stripped else 1 << 30
        stop = max(0, index - MAX_WALK)
        while index > 0 and current > 0:
            if index <= stop:
                return self.base, names
            index -= 1
            text = self.lines[index]
            stripped = text.lstrip()
            if not stripped or stripped.startswith(_SKIPPED_STARTS):
                continue
            indent = len(text) - len(stripped)
            if indent < current:
                if stripped.startswith(_FUNC_HEADERS) and self.base is not Context.DEV:
                    # a function body runs when called, but in test or docs code it stays dev
                    # code (as the AST analysis keeps it): reported, never decisive
                    context = Context.CALL
                match = _DEF_NAME.match(stripped)
                if match is not None:
                    names.append(match.group(1) or match.group(2))
                current = indent
        return context, names

    def __call__(self, line: int | None) -> Context:
        return self.at(line)


_QUOTES = (b'"""', b"'''")
_quote_positions: tuple[bytes, tuple[list[int], list[int]]] | None = None
"""Where each kind of triple quote starts in the last source asked about, as `bytes.count` finds
them (left to right, not overlapping): the same source is asked about for each of its sinks."""


def _positions(data: bytes) -> tuple[list[int], list[int]]:
    global _quote_positions  # noqa: PLW0603 - a one-entry cache, see above
    cached = _quote_positions  # read once: another thread may replace it meanwhile
    if cached is None or cached[0] is not data:
        found: list[list[int]] = []
        for quote in _QUOTES:
            at, positions = data.find(quote), []
            while at >= 0:
                positions.append(at)
                at = data.find(quote, at + 3)
            found.append(positions)
        cached = (data, (found[0], found[1]))
        _quote_positions = cached
    return cached[1]


def in_docstring(data: bytes, offset: int) -> bool:
    """Inside a docstring-like string: an odd number of triple quotes precede and the opening one
    starts its line (a triple-quoted string handed to a call is code, not prose)."""
    for quote, positions in zip(_QUOTES, _positions(data), strict=True):
        # quotes wholly before `offset`, as data.count(quote, 0, offset) counts them
        if bisect.bisect_right(positions, offset - 3) % 2 == 1:
            start = data.rfind(quote, 0, offset)
            line_start = data.rfind(b"\n", 0, start) + 1
            if not data[line_start:start].strip(b" \trRbBuUfF"):
                return True
    return False


_NAME_OR_DOT = frozenset(b"._0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
"""Bytes that, just before a called name, make it part of another name or an attribute."""


@lru_cache(maxsize=4096)
def _calls_of(name: bytes) -> re.Pattern[bytes]:
    """Calls of `name` anywhere in a line: `if _init():`, `print(_init())`, `CONFIG = {"ready":
    _init()}` run it just the same (memoised per name: the same few names, `main`, `run`, `setup`,
    come back in module after module, while a pattern of all of a module's names was compiled
    again for each module, which cost as much as the matching)."""
    # A miss here leaves the module unparsed; a wrong hit only costs a parse. The name first, a
    # literal the engine searches for quickly; `_call_start` checks what precedes it.
    return re.compile(re.escape(name) + rb"\s*\(")


MAX_NAME_PASSES = 8
"""Names searched one pass each; more are searched together, in one pass of one pattern compiled
for them (a file with hundreds of such functions must not cost hundreds of passes)."""
_HAND_OFF = re.compile(rb"(?:target\s*=|atexit\.register\()\s*([A-Za-z_]\w*+)")
"""A function handed to a thread or to atexit, which runs it as if called there."""


def _caller_sites(data: bytes, names: set[bytes]) -> list[int]:
    """Where `names` are called or handed on, in order: not `x.f(` (another object's method), not
    a longer name that ends with one, and not `def f(` or `class f(`."""
    sites = [match.start() for match in _HAND_OFF.finditer(data) if match.group(1) in names]
    patterns = (
        [_calls_of(name) for name in names]
        if len(names) <= MAX_NAME_PASSES
        else [re.compile(rb"(?:" + b"|".join(re.escape(n) for n in sorted(names)) + rb")\s*\(")]
    )
    for pattern in patterns:
        for match in pattern.finditer(data):
            start = match.start()
            if start and (
                data[start - 1] in _NAME_OR_DOT
                or data.endswith(b"def ", 0, start)
                or data.endswith(b"class ", 0, start)
            ):
                continue
            sites.append(start)
    sites.sort()
    return sites


def sink_may_run_unasked(
    data: bytes,
    sinks: list[int],
    context: IndentContext,
    limit: int = 200,
    called: frozenset[str] = frozenset(),
) -> bool:
    """True when a dangerous call sits at module level, or in a function the module itself calls
    (or hands to a thread or atexit) at top level, or in one of `called` (functions and classes
    other modules run when they are imported): then the full AST analysis must decide."""
    if data.count(b"\r") != data.count(b"\r\n"):
        return True  # lines that end in a lone `\r` (Python reads them): this estimate reads none
    run_elsewhere = {name.encode() for name in called}
    owners: set[bytes] = set()
    previous, line = 0, 1
    for count, matched in enumerate(sinks):
        if count >= limit:
            return True  # that many sinks: let the full analysis decide
        # a pattern that starts with the character before the call (`[^.\w]exec\(`) may start with
        # the newline that ends the line above: the call is on the next line, and the line above
        # (a comment, a word like `class`) says nothing about it
        offset = matched
        while offset < matched + 2 and data[offset : offset + 1] in (b"\r", b"\n"):
            offset += 1
        line += data.count(b"\n", previous, offset)
        previous = offset
        before = data[data.rfind(b"\n", 0, offset) + 1 : offset].lstrip()
        if before.startswith(b"#") or in_docstring(data, offset):
            continue  # prose: examples in docstrings and comments do not run
        if _DEFINING.fullmatch(before.rstrip()):
            # `def eval(self, ...)`, `class HTTPConnection(Base):`: a function or class named like
            # a sink is defined here, not called (a call among its bases is a match of its own)
            continue
        if _DEFINED_NAME.fullmatch(before):
            continue  # `def RC4_decrypt(`, `class PopenWrapper(`: the sink pattern matched inside the name
        ctx, names = context.enclosing(line)
        if ctx is not Context.CALL or run_elsewhere.intersection(names):
            return True
        owners.update(names)
    # Follow callers upward a few levels: a sink in download(), called by main(), called at
    # module level, runs at import.
    seen: set[bytes] = set()
    for _ in range(4):
        fresh = owners - seen
        if not fresh:
            return False
        seen |= fresh
        for count, start in enumerate(_caller_sites(data, fresh)):
            if count >= limit:
                return True
            if data[data.rfind(b"\n", 0, start) + 1 : start].lstrip().startswith(b"#") or in_docstring(
                data, start
            ):
                continue  # a usage example in a docstring or comment calls nothing, as above for sinks
            ctx, names = context.enclosing(context.line_of(start))
            if ctx is not Context.CALL or run_elsewhere.intersection(names):
                return True
            if names:
                owners.update(names)  # whoever calls the enclosing def/class reaches the sink
    return False
