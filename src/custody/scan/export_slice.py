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
import re

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
    wanted = {name for name in names if name in defs}
    todo = list(wanted)
    while todo:
        for definition in defs[todo.pop()]:
            for node in walk(definition):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in defs
                    and node.func.id not in wanted
                ):
                    wanted.add(node.func.id)
                    todo.append(node.func.id)
    if not wanted:
        return None
    body = [
        statement
        for statement in tree.body
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        or (not isinstance(statement, ast.ClassDef) and statement.name in wanted)
    ]
    return ast.Module(body=body, type_ignores=[])
