"""Parsing and walking Python syntax trees, shared by the analyses of `custody.scan`."""

from __future__ import annotations

import ast

_LEAF_FIELDS = frozenset(
    {"ctx", "op", "ops", "id", "attr", "arg", "name", "module", "level", "kind", "type_comment", "conversion"}
    | {"asname", "is_async"}
)
"""Fields that never hold a node any analysis looks for: names, numbers and flags, and the
load/store contexts and operators, which are leaf singletons (read through their parent's `ctx` or
`op`). Leaving them out of `walk` leaves a third fewer nodes for every pass over its list."""
_VALUE_LEAVES = (ast.Constant, ast.MatchSingleton)
"""Nodes whose `value` is a Python constant, not a node."""
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        leaf = issubclass(kind, _VALUE_LEAVES)
        fields = () if leaf else tuple(f for f in kind._fields if f not in _LEAF_FIELDS)  # type: ignore[attr-defined]
        _CHILD_FIELDS[kind] = fields
    return fields


def children(node: ast.AST) -> list[ast.AST]:
    """The child nodes of `node` in `ast.iter_child_nodes` order, without the context and operator
    leaves (see `_LEAF_FIELDS`), as a list: no generator per node."""
    out: list[ast.AST] = []
    ast_type = ast.AST
    for name in _child_fields(type(node)):
        value = getattr(node, name, None)
        if value.__class__ is list:
            out.extend([item for item in value if isinstance(item, ast_type)])
        elif isinstance(value, ast_type):
            out.append(value)
    return out


def walk(root: ast.AST) -> list[ast.AST]:
    """All nodes under `root` (root included) in breadth-first order, as `ast.walk` gives them but
    without its per-node generators, and without the context and operator leaves (see
    `_LEAF_FIELDS`)."""
    out: list[ast.AST] = [root]
    extend = out.extend
    append = out.append
    ast_type = ast.AST
    for node in out:  # the list grows while it is read: breadth first
        for name in _child_fields(type(node)):
            value = getattr(node, name, None)
            if value.__class__ is list:
                extend([item for item in value if isinstance(item, ast_type)])
            elif isinstance(value, ast_type):
                append(value)
    return out


def parse_python(source: bytes | str) -> ast.Module | None:
    """The syntax tree of `source`; None when it does not parse (or is too deep or large to)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None
