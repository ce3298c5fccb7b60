"""Dangerous callables reached without their usual call spelling.

`os.system(cmd)` and `requests.post(url, data=x)` are what the rules look for; the same calls can be
made through a name bound to the function (`_sh = os.system`, `fn = getattr(os, "system")`), a
dispatch table (`{"x": os.system}[key](cmd)`), a partial application (`functools.partial(
requests.post, URL)(data=x)`), a method caller (`operator.methodcaller("post", URL)(requests)`)
or a lambda that makes the call (`git = lambda *a: subprocess.run(["git", *a])`, `git("push",
URL)`).
This module turns each of these back into the direct spelling, so every rule and the value flow
judge the chain exactly as they judge the direct call, no more and no less: a build helper's
`run = subprocess.run` is as harmless as its `subprocess.run(...)`.

Python's scoping is not modelled: a name counts only when the module binds it exactly once (one
assignment, and no parameter, import, definition or loop variable of the same name anywhere), so
what the name holds at the call is what that one assignment gave it.
"""

from __future__ import annotations

import ast
import copy
from collections import Counter
from collections.abc import Callable

Resolver = Callable[[ast.expr], str]
SinkTest = Callable[[str], bool]

_PARTIALS = frozenset({"functools.partial", "functools.partialmethod"})
_METHOD_CALLERS = frozenset({"operator.methodcaller"})


def constant_getattr(node: ast.expr) -> str | None:
    """The attribute `getattr(obj, "name")` (or with a default) reads, when its name is a constant
    identifier; None for anything else (`getattr(os, name)` in a compatibility shim)."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and 2 <= len(node.args) <= 3
        and not node.keywords
    ):
        return None
    name = node.args[1]
    if isinstance(name, ast.Constant) and isinstance(name.value, str) and name.value.isidentifier():
        return name.value
    return None


def dispatched(node: ast.Subscript, tables: dict[str, ast.Dict], resolve: Resolver, is_sink: SinkTest) -> str:
    """What a lookup in a dispatch table resolves to: the entry under a constant key; under a key
    chosen at run time, the first entry that is a sink (the table can hand out that one); "" when
    the subscripted value is not a table literal or a name bound once to one."""
    table: ast.expr | None = node.value
    if isinstance(table, ast.Name):
        table = tables.get(table.id)
    if not isinstance(table, ast.Dict):
        return ""
    key = node.slice
    entries = [(k, v) for k, v in zip(table.keys, table.values, strict=False) if k is not None]
    if isinstance(key, ast.Constant):
        for entry_key, value in entries:
            if isinstance(entry_key, ast.Constant) and entry_key.value == key.value:
                return _resolve_entry(value, resolve)
        return ""
    for _, value in entries:
        resolved = _resolve_entry(value, resolve)
        if is_sink(resolved):
            return resolved
    return ""


def _resolve_entry(value: ast.expr, resolve: Resolver) -> str:
    # a table whose entry is a lookup in the same table would recurse without end
    return "" if isinstance(value, ast.Subscript) else resolve(value)


def bind_callables(
    nodes: list[ast.AST],
    assigns: list[ast.Assign],
    calls: list[ast.Call],
    resolve: Resolver,
    is_sink: SinkTest,
    aliases: dict[str, str],
    tables: dict[str, ast.Dict],
) -> None:
    """Record in `tables` the names bound once to a dispatch table holding a sink, in `aliases`
    the names bound once to a sink callable (directly, through `getattr` or a table lookup), then
    rewrite in place the calls of partial applications and method callers of sinks as the direct
    call they make. `nodes` is every node of the module, `assigns` its assignments, `calls` its
    calls; `resolve` must see `aliases` and `tables` as they grow."""
    pairs = _assigned_pairs(assigns)
    if not pairs:
        return
    # tables first: an alias may be a lookup in one (`sender = TABLE["up"]`)
    found_tables = {
        name: value
        for name, value in pairs
        if isinstance(value, ast.Dict)
        and any(v is not None and is_sink(_resolve_entry(v, resolve)) for v in value.values)
    }
    if found_tables:
        once = _bound_once(nodes, set(found_tables))
        tables.update((name, value) for name, value in found_tables.items() if name in once)
    found: dict[str, str] = {}
    wrappers: dict[str, ast.Call | ast.Lambda] = {}
    for name, value in pairs:
        if isinstance(value, ast.Lambda):
            if _calls_a_sink(value, resolve, is_sink):
                wrappers[name] = value
            continue
        if isinstance(value, ast.Call):
            if _may_wrap(value.func):
                if resolve(value.func) in _PARTIALS | _METHOD_CALLERS:
                    wrappers[name] = value
                continue
            if constant_getattr(value) is None:
                continue  # what an ordinary call returns is not followed here
        elif not isinstance(value, (ast.Name, ast.Attribute, ast.Subscript)):
            continue
        resolved = resolve(value)
        if resolved != name and is_sink(resolved):
            found[name] = resolved
    if found or wrappers:
        once = _bound_once(nodes, set(found) | set(wrappers))
        for name, resolved in found.items():
            if name in once:
                aliases.setdefault(name, resolved)
        wrappers = {name: value for name, value in wrappers.items() if name in once}
    for call in calls:
        _desugar(call, wrappers, resolve, is_sink)


MAX_INLINED_NODES = 200
MAX_INLINED_DEPTH = 24
_OWN_SCOPES = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.NamedExpr)
"""Expressions that bind names of their own: a body holding one is not inlined (a parameter's name
may be rebound inside it, and a substitution there would be wrong)."""


def _calls_a_sink(function: ast.Lambda, resolve: Resolver, is_sink: SinkTest) -> bool:
    """A lambda whose body is a call of a sink, with plain positional parameters (and `*args`),
    binding no names of its own."""
    parameters = function.args
    if not (
        isinstance(function.body, ast.Call)
        and not (parameters.posonlyargs or parameters.kwonlyargs or parameters.kwarg or parameters.defaults)
        and is_sink(resolve(function.body.func))
    ):
        return False
    # small and shallow: the body is copied at each call (a deep one would exhaust the recursion
    # a copy takes, and the module would lose its analysis)
    level: list[ast.AST] = [function.body]
    count = 0
    for _ in range(MAX_INLINED_DEPTH):
        count += len(level)
        if count > MAX_INLINED_NODES or any(isinstance(node, _OWN_SCOPES) for node in level):
            return False
        level = [child for node in level for child in ast.iter_child_nodes(node)]
        if not level:
            return True
    return False


def _may_wrap(func: ast.expr) -> bool:
    """Spelled like `partial`, `partialmethod` or `methodcaller` (resolved only then: cheap)."""
    spelled = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return spelled in ("partial", "partialmethod", "methodcaller")


def _assigned_pairs(assigns: list[ast.Assign]) -> list[tuple[str, ast.expr]]:
    """(name, value) of each `name = value`, and of each element of `a, b = x, y`."""
    pairs: list[tuple[str, ast.expr]] = []
    for assign in assigns:
        if len(assign.targets) != 1:
            continue
        target, value = assign.targets[0], assign.value
        if isinstance(target, ast.Name):
            pairs.append((target.id, value))
        elif (
            isinstance(target, (ast.Tuple, ast.List))
            and isinstance(value, (ast.Tuple, ast.List))
            and len(target.elts) == len(value.elts)
        ):
            pairs.extend(
                (t.id, v) for t, v in zip(target.elts, value.elts, strict=True) if isinstance(t, ast.Name)
            )
    return pairs


def _bound_once(nodes: list[ast.AST], names: set[str]) -> set[str]:
    """Those of `names` that the module binds exactly once, counting every way of binding a name."""
    counts: Counter[str] = Counter()
    for node in nodes:
        kind = type(node)
        if kind is ast.Name:
            if type(node.ctx) is not ast.Load and node.id in names:  # type: ignore[attr-defined]
                counts[node.id] += 1  # type: ignore[attr-defined]
        elif kind is ast.arg:
            if node.arg in names:  # type: ignore[attr-defined]
                counts[node.arg] += 2  # type: ignore[attr-defined]
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler):
            name = node.name  # type: ignore[attr-defined]
            if name in names:
                counts[name] += 2
        elif kind is ast.alias:
            bound = node.asname or node.name.split(".")[0]  # type: ignore[attr-defined]
            if bound in names:
                counts[bound] += 2
        elif kind in (ast.Global, ast.Nonlocal):
            for name in node.names:  # type: ignore[attr-defined]
                if name in names:
                    counts[name] += 2  # rebound from elsewhere: no single assignment to trust
    return {name for name in names if counts[name] == 1}


def _desugar(
    call: ast.Call, wrappers: dict[str, ast.Call | ast.Lambda], resolve: Resolver, is_sink: SinkTest
) -> None:
    """Rewrite `call` as the direct call it makes, when it calls a partial application of a sink
    (inline or through a name bound once), a method caller with a constant method name, or a
    lambda bound once whose body calls a sink."""
    wrapper: ast.expr | ast.Lambda = call.func
    if isinstance(wrapper, ast.Name):
        wrapper = wrappers.get(wrapper.id, wrapper)
    if isinstance(wrapper, ast.Lambda):
        if _calls_a_sink(wrapper, resolve, is_sink):  # bound once, or written in place
            _inline(call, wrapper)
        return
    if not isinstance(wrapper, ast.Call) or not wrapper.args or not _may_wrap(wrapper.func):
        return
    maker = resolve(wrapper.func)
    if maker in _PARTIALS:
        target = wrapper.args[0]
        if not is_sink(resolve(target)):
            return
        call.func = target
        call.args = [*wrapper.args[1:], *call.args]
        call.keywords = [*wrapper.keywords, *call.keywords]
    elif maker in _METHOD_CALLERS and len(call.args) == 1 and not call.keywords:
        method = wrapper.args[0]
        if not (isinstance(method, ast.Constant) and isinstance(method.value, str)):
            return
        if not method.value.isidentifier():
            return
        # `methodcaller("post", URL)(requests)` is `requests.post(URL)`
        attribute = ast.Attribute(value=call.args[0], attr=method.value, ctx=ast.Load())
        call.func = ast.copy_location(attribute, call)
        call.args = list(wrapper.args[1:])
        call.keywords = list(wrapper.keywords)


def _inline(call: ast.Call, function: ast.Lambda) -> None:
    """Rewrite a call of `function` (see `_calls_a_sink`) as its body with the call's arguments in
    place of the parameters: `*args` spread where the body spreads it (`["git", *a]`). A call
    with keywords or spread arguments of its own is left alone (which parameter gets what is
    then not known here)."""
    parameters = function.args
    names = [p.arg for p in parameters.args]
    if call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
        return
    if len(call.args) < len(names) or (parameters.vararg is None and len(call.args) > len(names)):
        return
    given = dict(zip(names, call.args, strict=False))
    rest = call.args[len(names) :]
    spread = parameters.vararg.arg if parameters.vararg is not None else None
    body = _Substitute(given, spread, rest).visit(copy.deepcopy(function.body))
    if not isinstance(body, ast.Call):
        return
    call.func = body.func
    call.args = body.args
    call.keywords = body.keywords


class _Substitute(ast.NodeTransformer):
    """The parameters of an inlined lambda replaced by the arguments of its call."""

    def __init__(self, given: dict[str, ast.expr], spread: str | None, rest: list[ast.expr]) -> None:
        self.given = given
        self.spread = spread
        self.rest = rest

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if not isinstance(node.ctx, ast.Load):
            return node
        value = self.given.get(node.id)
        if value is not None:
            return value
        if node.id == self.spread:
            return ast.copy_location(ast.Tuple(elts=list(self.rest), ctx=ast.Load()), node)
        return node

    def generic_visit(self, node: ast.AST) -> ast.AST:
        for field, value in ast.iter_fields(node):
            if isinstance(value, list):
                items: list[object] = []
                for item in value:
                    if (
                        isinstance(item, ast.Starred)
                        and isinstance(item.value, ast.Name)
                        and item.value.id == self.spread
                    ):
                        items.extend(self.rest)  # `["git", *a]` and `f(*a)`: the arguments, spread
                    elif isinstance(item, ast.AST):
                        items.append(self.visit(item))
                    else:
                        items.append(item)
                setattr(node, field, items)
            elif isinstance(value, ast.AST):
                setattr(node, field, self.visit(value))
        return node
