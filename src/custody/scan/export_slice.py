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

from custody.scan.syntax import parse_python, walk


def exported_tree(source: bytes, names: frozenset[str]) -> ast.Module | None:
    """`exported_slice` of the parsed `source`; None when it does not parse or defines none of
    `names` at top level."""
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
