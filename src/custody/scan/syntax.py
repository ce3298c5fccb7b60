"""Parsing and walking Python syntax trees, shared by the analyses of `custody.scan`."""

from __future__ import annotations

import ast


def walk(root: ast.AST) -> list[ast.AST]:
    """All nodes under `root` (root included): ast.walk without its per-node generators, ~3x faster."""
    out: list[ast.AST] = [root]
    index = 0
    ast_type = ast.AST
    while index < len(out):
        node = out[index]
        index += 1
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                out.extend(item for item in value if isinstance(item, ast_type))
            elif isinstance(value, ast_type):
                out.append(value)
    return out


def parse_python(source: bytes | str) -> ast.Module | None:
    """The syntax tree of `source`; None when it does not parse (or is too deep or large to)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None
