"""The part of a helper module that summaries of some of its functions depend on.

Value flow across modules (collect.py, `_flows_across_modules`) summarises the functions an
importer calls in the module that defines them. A summary reads those top-level functions, the
top-level functions they call by name (transitively), and the module's other top-level statements
(imports, constants, aliases); nothing else. Helper modules are often large (a parser, a generated
API), so walking and indexing all of one to summarise two functions cost most of the scan of a
big package; the slice is cut from the parsed module, so it only ever leaves out whole top-level
definitions.

Not cut from the source text before parsing, which would save the parse too: a line at column 0
inside a string or a bracket looks like a top-level definition, and a cut there can still parse
while hiding a real definition inside a string (tests/scan/test_export_slice.py holds such a
module); telling the two apart needs the tokenizer, which costs what the parse costs.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Callable, Container, Sequence

from custody.scan.syntax import parse_python, walk

# What separates `async`, `def` and the name: blanks, form feeds, or a backslash line join
_GAP = rb"(?:[ \t\f]|\\\r?\n|\\\r)+"
# The start of a top-level `def`: at column 0 (after form feeds, which reset the column)
_DEF_START = rb"^\f*(?:async" + _GAP + rb")?def" + _GAP


def may_define(source: bytes, names: frozenset[str]) -> bool:
    """False only when `source` certainly defines none of `names` as a top-level function.

    Most helpers a module calls are classes or re-exported names, whose module has no such `def`;
    parsing a large module only to find that out cost most of the cross-module summaries. A
    top-level `def NAME` always starts at column 0 with those bytes, except for a non-ASCII
    spelling of the name that NFKC folds to it (`def ｓend`) or a byte-order mark: a module with
    non-ASCII bytes is parsed. A look-alike inside a string only makes this True (the parse then decides)."""
    if not names:
        return False
    if not source.isascii():
        return True
    alternatives = b"|".join(re.escape(name.encode("ascii", "replace")) for name in sorted(names))
    pattern = re.compile(_DEF_START + rb"(?:" + alternatives + rb")(?![\w])", re.MULTILINE)
    return pattern.search(source) is not None


def exported_tree(source: bytes, names: frozenset[str]) -> ast.Module | None:
    """`exported_slice` of the parsed `source`; None when it does not parse or defines none of
    `names` at top level."""
    if not may_define(source, names):
        return None
    parsed = parse_python(source)
    return exported_slice(parsed, names) if parsed is not None else None


def exported_slice(tree: ast.Module, names: frozenset[str]) -> ast.Module | None:
    """The top-level functions `names`, those they call by name (transitively), and every
    top-level statement that is not a function or class definition. None when the module defines
    none of `names` at top level.

    A call to a class of the module is then an unknown call, followed as one (its result carries
    what it is given), as for any callee that is not summarised."""
    defs: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defs.setdefault(statement.name, []).append(statement)
    wanted = _called_closure([name for name in names if name in defs], defs, defs.__getitem__)
    if not wanted:  # (never None here: every definition is at hand)
        return None
    body = [
        statement
        for statement in tree.body
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        or (not isinstance(statement, ast.ClassDef) and statement.name in wanted)
    ]
    return ast.Module(body=body, type_ignores=[])


# A line that may start a top-level statement: at column 0, not blank, not a comment, and not a
# closing bracket (which ends an expression begun above: `) -> int:` of a long signature)
_TOP_LINE = re.compile(rb"\n(?=[^ \t\f\r\n#)\]}])")
_ANY_DEF = re.compile(_DEF_START + rb"([A-Za-z_]\w*)", re.MULTILINE)
_DEF_OR_CLASS = re.compile(rb"(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)|class[ \t(:]")


def slice_may_hold(source: bytes, names: frozenset[str], offsets: Sequence[int]) -> bool:
    """False only when every offset lies in a top-level function or class that `exported_slice`
    leaves out for `names`: then words found there (a sink, a source) cannot reach the summaries.

    Decided from the text, without parsing the module: most helper modules are large and what
    the summaries need is a few small functions. The functions the slice keeps (the called ones
    and those they call) are found at their column-0 `def` lines and parsed alone; each must parse
    to exactly that function. That check is what makes the text reading safe. A function that
    goes on past a column-0 line inside one of its strings (a docstring with a line at column 0,
    perhaps one that looks like a definition) is cut there, and a cut inside a string or a bracket
    never parses: the answer is then True and the whole module is parsed as before. A look-alike
    definition inside a string elsewhere can only move words of that string, or of code after it
    that is not in a kept function, out of view; no kept function and no sink call of its own.
    A definition whose name is not ASCII (`def ｓend`, which the parser folds to `send`) is not
    read as one: its text counts as module level, whose words are never left out."""
    starts = [match.start() for match in _TOP_LINE.finditer(b"\n" + source)]
    defs: dict[str, list[tuple[int, int]]] = {}
    left_out: list[tuple[int, int]] = []  # classes, then functions the slice does not keep
    decorated: int | None = None  # where the decorators of the next definition begin
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(source)
        if source.startswith(b"@", start):
            decorated = start if decorated is None else decorated
            continue
        match = _DEF_OR_CLASS.match(source, start)
        window = (start if decorated is None else decorated, end)
        decorated = None
        if match is None:
            continue
        if match.group(1) is None:
            left_out.append(window)
        else:
            defs.setdefault(match.group(1).decode(), []).append(window)
    if any(name not in defs for name in names) and not names.isdisjoint(
        name.decode() for name in _ANY_DEF.findall(source) if name.decode() not in defs
    ):
        return True  # a definition this reading does not see (a name joined to `def` by `\`)
    kept = _kept_functions(source, defs, [name for name in names if name in defs])
    if kept is None:
        return True
    left_out.extend(w for name, windows in defs.items() if name not in kept for w in windows)
    left_out.sort()
    window_starts = [start for start, _ in left_out]
    for offset in offsets:
        at = bisect.bisect_right(window_starts, offset) - 1
        if at < 0 or offset >= left_out[at][1]:
            return True
    return False


_Function = ast.FunctionDef | ast.AsyncFunctionDef


def _called_closure(
    names: list[str],
    defined: Container[str],
    definitions: Callable[[str], list[_Function] | None],
) -> set[str] | None:
    """`names` and the top-level functions (`defined`) they call by name, transitively, each read
    through `definitions`; None when that cannot read one."""
    kept = set(names)
    todo = list(names)
    while todo:
        found = definitions(todo.pop())
        if found is None:
            return None
        for definition in found:
            for node in walk(definition):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in defined
                    and node.func.id not in kept
                ):
                    kept.add(node.func.id)
                    todo.append(node.func.id)
    return kept


def _kept_functions(
    source: bytes, defs: dict[str, list[tuple[int, int]]], names: list[str]
) -> set[str] | None:
    """The functions `exported_slice` keeps: `names` and those they call by name, each parsed from
    its own text. None when a text does not parse to exactly that function."""

    def parsed(name: str) -> list[_Function] | None:
        functions: list[_Function] = []
        for start, end in defs[name]:
            tree = parse_python(source[start:end])
            if (
                tree is None
                or len(tree.body) != 1
                or not isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef))
                or tree.body[0].name != name
            ):
                return None
            functions.append(tree.body[0])
        return functions

    return _called_closure(names, defs, parsed)
