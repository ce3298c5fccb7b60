"""Token/text fallback for source that does not parse (Python 2, deliberately broken files).

Coarser than the AST analysis: every hit gets the file's base context.
"""

from __future__ import annotations

import bisect
import io
import re
import tokenize
import unicodedata
from dataclasses import dataclass

from custody.scan.facts import Cap, Fact
from custody.scan.model import Context

_PATTERNS: tuple[tuple[Cap, re.Pattern[bytes], str], ...] = (
    (
        Cap.PROCESS,
        re.compile(
            rb"(subprocess\.(Popen|call|run|check_output|check_call)|os\.(system|popen|startfile))\s*\("
        ),
        "starts a process",
    ),
    (
        Cap.NETWORK,
        re.compile(
            rb"(urllib2?\.(request\.)?urlopen|requests\.(get|post|put)|socket\.socket|http\.client|"
            rb"httplib\.HTTPS?Connection|urlretrieve)\s*\("
        ),
        "network request",
    ),
    (
        Cap.RECON,
        re.compile(rb"(socket\.gethostname|getpass\.getuser|os\.getlogin|platform\.node)\s*\("),
        "reads host or user identity",
    ),
    # Two patterns, not one alternation: a top-level `|` keeps `re` from skipping ahead.
    (
        Cap.ENV_DUMP,
        re.compile(rb"(dict|str|json\.dumps)\s*\(\s*os\.environ\s*\)"),
        "takes the whole process environment",
    ),
    (Cap.ENV_DUMP, re.compile(rb"os\.environ\.copy\(\)"), "takes the whole process environment"),
    (Cap.EXEC, re.compile(rb"(exec|eval)\s*\(\s*[A-Za-z_]"), "exec/eval of computed code"),
)


def _starts_word(data: bytes, start: int) -> bool:
    """The `\\b` the patterns above leave out: a leading `\\b` keeps `re` from skipping ahead to
    a pattern's first letters, which made every pattern cost a full step per input byte."""
    return start == 0 or data[start - 1 : start] not in _WORD_BYTES


_WORD_BYTES = frozenset(
    bytes([c]) for c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
)


@dataclass(frozen=True, slots=True)
class _Chain:
    """`head`, then `tail` within `window` characters on the same line.

    Written as one regex (exec, a lazy run of up to 200 characters, then one of the tails) this
    backtracks through the whole window at every head: a 10 MB line of `exec(exec(exec(...` took
    80 s. Matching heads and tails separately (each a linear scan) and pairing them with a binary
    search is linear."""

    cap: Cap
    head: re.Pattern[bytes]
    tail: re.Pattern[bytes]
    window: int
    detail: str

    def starts(self, data: bytes) -> list[int]:
        tails = [m.start() for m in self.tail.finditer(data)]
        if not tails:
            return []
        found: list[int] = []
        for match in self.head.finditer(data):
            if not _starts_word(data, match.start()):
                continue
            end = match.end()
            index = bisect.bisect_left(tails, end)
            if index == len(tails):
                break  # no tail after this head, nor after any later one
            tail = tails[index]
            if tail - end <= self.window and data.find(b"\n", end, tail) < 0:
                found.append(match.start())
                if len(found) > MAX_TEXT_FACTS:
                    break
        return found


_EXEC_HEAD = re.compile(rb"(?:exec|eval)\s*\(\s*")
_CHAINS = (
    _Chain(
        Cap.DECODE_EXEC,
        _EXEC_HEAD,
        re.compile(
            rb"b64decode|b32decode|b85decode|unhexlify|decompress|marshal\.loads|"
            rb"decode\(\s*['\"](?:base64|hex|rot13|zlib)|fromhex|decrypt|\[::-1\]"
        ),
        200,
        "exec/eval of decoded data",
    ),
    _Chain(
        Cap.NETWORK_EXEC,
        _EXEC_HEAD,
        re.compile(rb"urlopen|requests\.get|\.read\(\)|\.text\b|\.content\b"),
        120,
        "exec/eval of downloaded data",
    ),
)
MAX_TEXT_FACTS = 200


STRONG = frozenset({Cap.DECODE_EXEC, Cap.NETWORK_EXEC})


def text_facts(data: bytes, file: str, context: Context, *, only_strong: bool = False) -> list[Fact]:
    """Pattern facts; `only_strong` keeps just the decode/download-and-execute chains.

    Every pattern is a linear scan (see `_Chain`), and line numbers are counted incrementally, so
    the cost stays proportional to the input however hostile it is."""
    facts: list[Fact] = []
    found: list[tuple[Cap, list[int], str]] = [(c.cap, c.starts(data), c.detail) for c in _CHAINS]
    if not only_strong:
        for cap, pattern, detail in _PATTERNS:
            starts: list[int] = []
            for match in pattern.finditer(data):
                if not _starts_word(data, match.start()):
                    continue
                starts.append(match.start())
                if len(starts) > MAX_TEXT_FACTS:
                    break
            found.append((cap, starts, detail))
    for cap, starts, detail in found:
        line, previous = 1, 0
        for start in starts:
            line += data.count(b"\n", previous, start)
            previous = start
            facts.append(Fact(cap, file, line, context, detail))
            if len(facts) > MAX_TEXT_FACTS:
                return facts
    return facts


def folded_identifier(raw: bytes) -> tuple[int, str, str] | None:
    """First identifier written with letters that NFKC folds to ASCII (`𝙚𝙭𝙚𝙘` is `exec` to Python).

    The parser normalises identifiers, so only the text still shows what the file hides from grep
    and from reviewers. Only lines holding such letters are looked at, with their one-line string
    literals and comments removed (tables of fullwidth text in strings are everyday data).
    """
    candidate = False
    for line in raw.split(b"\n"):
        if FOLDING_BYTES.search(line):
            code = _LINE_STRINGS.sub(" ", line.decode("utf-8", "replace"))
            if any(_folds(word) for word in _WORD.findall(code)):
                candidate = True
                break
    if not candidate:
        return None
    # Confirm with the tokenizer (multi-line strings and docstrings fool the line test); it only
    # runs for the rare file that got this far.
    try:
        tokens = list(tokenize.tokenize(io.BytesIO(raw).readline))
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    for token in tokens:
        if token.type == tokenize.NAME and _folds(token.string):
            return token.start[0], token.string, unicodedata.normalize("NFKC", token.string)
    return None


def _folds(word: str) -> bool:
    if word.isascii():
        return False
    folded = unicodedata.normalize("NFKC", word)
    return folded != word and folded.isascii() and folded.isidentifier()


FOLDING_BYTES = re.compile(rb"\xf0\x9d[\x90-\x9f]|\xef\xbc[\xa1-\xba]|\xef\xbd[\x81-\x9a]")
_LINE_STRINGS = re.compile(
    r"""[rbuRBU]{0,2}('[^'\\\n]*(?:\\.[^'\\\n]*)*'|"[^"\\\n]*(?:\\.[^"\\\n]*)*")|#.*$"""
)
_WORD = re.compile(r"[^\W\d]\w*")
