"""Token/text fallback for source that does not parse (Python 2, deliberately broken files).

Coarser than the AST analysis: every hit gets the file's base context.
"""

from __future__ import annotations

import io
import re
import tokenize
import unicodedata

from custody.scan.facts import Cap, Fact
from custody.scan.model import Context

_PATTERNS: tuple[tuple[Cap, re.Pattern[bytes], str], ...] = (
    (
        Cap.DECODE_EXEC,
        re.compile(
            rb"\b(exec|eval)\s*\(\s*[^\n]{0,200}?(b64decode|b32decode|b85decode|unhexlify|decompress|"
            rb"marshal\.loads|decode\(\s*['\"](base64|hex|rot13|zlib)|fromhex|decrypt|\[::-1\])"
        ),
        "exec/eval of decoded data",
    ),
    (
        Cap.NETWORK_EXEC,
        re.compile(
            rb"\b(exec|eval)\s*\(\s*[^\n]{0,120}?(urlopen|requests\.get|\.read\(\)|\.text\b|\.content\b)"
        ),
        "exec/eval of downloaded data",
    ),
    (
        Cap.PROCESS,
        re.compile(
            rb"\b(subprocess\.(Popen|call|run|check_output|check_call)|os\.(system|popen|startfile))\s*\("
        ),
        "starts a process",
    ),
    (
        Cap.NETWORK,
        re.compile(
            rb"\b(urllib2?\.(request\.)?urlopen|requests\.(get|post|put)|socket\.socket|http\.client|"
            rb"httplib\.HTTPS?Connection|urlretrieve)\s*\("
        ),
        "network request",
    ),
    (
        Cap.RECON,
        re.compile(rb"\b(socket\.gethostname|getpass\.getuser|os\.getlogin|platform\.node)\s*\("),
        "reads host or user identity",
    ),
    (
        Cap.ENV_DUMP,
        re.compile(rb"\b(dict|str|json\.dumps)\s*\(\s*os\.environ\s*\)|os\.environ\.copy\(\)"),
        "takes the whole process environment",
    ),
    (Cap.EXEC, re.compile(rb"\b(exec|eval)\s*\(\s*[A-Za-z_]"), "exec/eval of computed code"),
)


STRONG = frozenset({Cap.DECODE_EXEC, Cap.NETWORK_EXEC})


def text_facts(data: bytes, file: str, context: Context, *, only_strong: bool = False) -> list[Fact]:
    """Pattern facts; `only_strong` keeps just the decode/download-and-execute chains."""
    facts: list[Fact] = []
    for cap, pattern, detail in _PATTERNS:
        if only_strong and cap not in STRONG:
            continue
        for match in pattern.finditer(data):
            line = data.count(b"\n", 0, match.start()) + 1
            facts.append(Fact(cap, file, line, context, detail))
            if len(facts) > 200:
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
