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

    The parser normalises identifiers, so only the tokens still show what the file hides from grep
    and from reviewers; strings and comments may hold such letters harmlessly and are skipped.
    """
    try:
        tokens = list(tokenize.tokenize(io.BytesIO(raw).readline))
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    for token in tokens:
        if token.type != tokenize.NAME or token.string.isascii():
            continue
        folded = unicodedata.normalize("NFKC", token.string)
        if folded != token.string and folded.isascii():
            return token.start[0], token.string, folded
    return None
