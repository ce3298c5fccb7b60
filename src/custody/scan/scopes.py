"""Which function a name belongs to, for the analyses that track values by a name's spelling.

Python binds a name per function: `data` in one function and `data` in another are different
variables. An analysis keyed on spelling alone, file-wide, links them: in a module of thousands of
lines, a `code` that holds decoded text somewhere taints every other `code`. `ScopeMap` qualifies a
name with the function it is local to, so each is its own variable, as the interpreter sees it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from custody.scan.syntax import children

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


class ScopeMap:
    """Qualifies a name read or bound at a line with the function it is local to.

    A module-level name keeps its spelling; a name local to a function becomes `name:N` (N numbers
    the function in the module). A name a function reads but never binds resolves outwards, to the
    enclosing function that binds it or to the module, as Python's closure and global lookup do.
    Simplified on purpose: class bodies, lambdas and comprehensions count as part of the function
    (or module) around them, and a line is owned by the innermost function that spans it.
    """

    def __init__(self, nodes: Iterable[ast.AST]) -> None:
        functions = sorted(
            (node for node in nodes if isinstance(node, _FUNCTIONS)),
            key=lambda fn: (fn.lineno, -(fn.end_lineno or fn.lineno)),
        )
        last = max((fn.end_lineno or fn.lineno for fn in functions), default=0)
        self._owner: list[int] = [0] * (last + 2)
        self._parent: list[int] = [0]
        self._functions = [None, *functions]
        # a function's names are read the first time a line of it is asked about: most modules
        # are asked about a few functions only
        self._locals: list[frozenset[str] | None] = [frozenset()] + [None] * len(functions)
        for index, fn in enumerate(functions, 1):
            start, end = fn.lineno, fn.end_lineno or fn.lineno
            # sorted outer-first, so the owner of the first line is the enclosing function
            self._parent.append(self._owner[start])
            self._owner[start : end + 1] = [index] * (end - start + 1)

    def qualify(self, name: str, line: int | None) -> str:
        """The variable `name` denotes at `line`: `name` itself at module level, else `name:N`."""
        owner = self._owner
        if line is None or line >= len(owner):
            return name
        scope = owner[line]
        while scope:
            names = self._locals[scope]
            if names is None:
                fn = self._functions[scope]
                assert fn is not None
                names = self._locals[scope] = bound_names(fn)
            if name in names:
                return f"{name}:{scope}"
            scope = self._parent[scope]
        return name

    def qualify_node(self, node: ast.Name) -> str:
        """`qualify` for a Name node, at its own line."""
        return self.qualify(node.id, node.lineno)


def bound_names(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """The names local to a function: its parameters and every name its own body binds (not in
    nested functions or classes, whose names are theirs), less those declared global or nonlocal."""
    args = fn.args
    bound = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    if args.vararg is not None:
        bound.add(args.vararg.arg)
    if args.kwarg is not None:
        bound.add(args.kwarg.arg)
    declared: set[str] = set()
    pending: list[ast.AST] = list(fn.body)
    while pending:
        node = pending.pop()
        if isinstance(node, _NESTED):
            if not isinstance(node, ast.Lambda):
                bound.add(node.name)
            # what a nested definition evaluates here: decorators, defaults, bases
            pending.extend(getattr(node, "decorator_list", ()))
            if isinstance(node, ast.ClassDef):
                pending.extend(node.bases)
            continue
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Load):
                bound.add(node.id)
            continue
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".", 1)[0] for alias in node.names)
            continue
        if isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        pending.extend(children(node))  # no context or operator leaves: they bind nothing
    return frozenset(bound - declared)
