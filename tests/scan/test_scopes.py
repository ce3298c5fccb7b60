"""ScopeMap: a name is qualified with the function it is local to, as Python binds it."""

from __future__ import annotations

import ast

from custody.scan.scopes import ScopeMap

SOURCE = """\
data = 1


def first(arg):
    data = arg
    return data


def second():
    return data


def third():
    global data
    data = 2


def outer():
    token = 3

    def inner():
        return token

    return inner
"""


def _scopes() -> ScopeMap:
    return ScopeMap(ast.walk(ast.parse(SOURCE)))


def test_module_name_keeps_its_spelling() -> None:
    assert _scopes().qualify("data", 1) == "data"


def test_a_local_is_its_functions_own() -> None:
    scopes = _scopes()
    inside_first = scopes.qualify("data", 6)
    assert inside_first != "data"
    assert scopes.qualify("arg", 5) == scopes.qualify("arg", 6)  # the parameter, bound in `first`


def test_a_read_resolves_to_the_module_when_not_bound_locally() -> None:
    assert _scopes().qualify("data", 10) == "data"


def test_global_declaration_binds_the_module_name() -> None:
    assert _scopes().qualify("data", 15) == "data"


def test_closure_reads_the_enclosing_functions_variable() -> None:
    scopes = _scopes()
    assert scopes.qualify("token", 22) == scopes.qualify("token", 19) != "token"


def test_lines_outside_any_function_and_unknown_lines() -> None:
    scopes = _scopes()
    assert scopes.qualify("anything", None) == "anything"
    assert scopes.qualify("anything", 10_000) == "anything"
