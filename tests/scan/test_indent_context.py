"""The indentation-based context estimate used for modules that are not parsed."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody.scan.indent_context import IndentContext, in_docstring, sink_may_run_unasked
from custody.scan.model import Context

LONG_SIGNATURE = textwrap.dedent(
    """\
    import subprocess


    class Runner:
        def run(
            self,
            command: list[str],
            timeout: float = 1.0,
        ) -> int:
            return subprocess.call(command)


    def helper(
        value: int,
    ):
        return subprocess.call(["true", str(value)])
    """
)


def _line(source: str, needle: str) -> int:
    return next(i for i, text in enumerate(source.split("\n"), 1) if needle in text)


def _sinks(source: str) -> list[int]:
    data = source.encode()
    return [data.index(b"subprocess.call(", start) for start in (0, data.index(b"def helper"))]


def test_body_under_a_signature_split_over_lines_is_in_the_function() -> None:
    estimate = IndentContext(LONG_SIGNATURE.encode(), Context.IMPORT)
    context, names = estimate.enclosing(_line(LONG_SIGNATURE, "return subprocess.call(command)"))
    assert context is Context.CALL
    assert names == [b"run", b"Runner"]
    context, names = estimate.enclosing(_line(LONG_SIGNATURE, "str(value)"))
    assert (context, names) == (Context.CALL, [b"helper"])


def test_sinks_in_functions_with_long_signatures_do_not_run_unasked() -> None:
    data = LONG_SIGNATURE.encode()
    assert not sink_may_run_unasked(data, _sinks(LONG_SIGNATURE), IndentContext(data, Context.IMPORT))


def test_a_call_of_such_a_function_at_module_level_still_runs_unasked() -> None:
    source = LONG_SIGNATURE + "\n\nhelper(\n    1,\n)\n"
    data = source.encode()
    assert sink_may_run_unasked(data, _sinks(source), IndentContext(data, Context.IMPORT))


def test_module_level_block_after_a_closing_bracket_stays_module_level() -> None:
    # the `)` line is skipped, and the `if` header above it still decides
    source = "import os\nif True:\n    x = dict(\n        a=1,\n)\n    os.system('id')\n"
    estimate = IndentContext(source.encode(), Context.IMPORT)
    assert estimate.at(_line(source, "os.system")) is Context.IMPORT


def test_a_sink_pattern_inside_a_defined_name_is_no_call() -> None:
    source = (
        "import socket\n\n\nclass Cipher:\n    def RC4_decrypt(key, data):\n        return data\n\n"
        "    def _create_connection(self):\n        return None\n"
    )
    data = source.encode()
    sinks = [data.index(b"decrypt("), data.index(b"create_connection(")]
    assert not sink_may_run_unasked(data, sinks, IndentContext(data, Context.IMPORT))


@pytest.mark.parametrize("keyword", ["class", "def", "async def"])
def test_a_class_or_function_named_like_a_sink_is_defined_not_called(keyword: str) -> None:
    # `class HTTPConnection(Base):` at module level defines the name the sink pattern matched
    source = f"import http.client\n\n\n{keyword} HTTPConnection(http.client.HTTPConnection):\n    pass\n"
    if keyword != "class":
        source = source.replace("(http.client.HTTPConnection)", "(self)")
    data = source.encode()
    sink = data.index(b"HTTPConnection(")
    assert not sink_may_run_unasked(data, [sink], IndentContext(data, Context.IMPORT))
    # a sink called among the bases still runs when the class statement runs
    built = b"import os\n\n\nclass Popen(os.popen('id')):\n    pass\n"
    sinks = [built.index(b"Popen("), built.index(b"popen('id')") - 3]
    assert sink_may_run_unasked(built, sinks, IndentContext(built, Context.IMPORT))


@pytest.mark.parametrize("above", ["VERSION = '1.0'  # base class", "# run it", "def_ = 1  # see def"])
def test_a_sink_match_that_starts_on_the_line_above_is_judged_on_its_own_line(above: str) -> None:
    # `[^.\\w]exec\\(` may start with the newline that ends the line above; that line says nothing
    source = f"import codecs\n{above}\nexec(codecs.decode(PAYLOAD, 'rot13'))\n"
    data = source.encode()
    sink = data.index(b"\nexec(")
    assert sink_may_run_unasked(data, [sink], IndentContext(data, Context.IMPORT))


def test_a_file_with_lone_carriage_returns_goes_to_the_full_analysis() -> None:
    # Python takes a lone `\r` for a line end; this estimate would read one long comment line
    data = b"# utilities\rimport os\rdef f():\r    pass\ros.system('true')\r"
    assert sink_may_run_unasked(data, [data.index(b"os.system(")], IndentContext(data, Context.IMPORT))


def test_a_call_in_a_default_argument_still_runs_at_definition() -> None:
    source = "import os\n\n\nclass C:\n    def f(self, x=os.system('id')):\n        return x\n"
    data = source.encode()
    sinks = [data.index(b"os.system(")]
    assert sink_may_run_unasked(data, sinks, IndentContext(data, Context.IMPORT))


def test_a_call_in_a_usage_example_is_no_caller() -> None:
    # the class wraps a sink; its docstring shows how to call it, which runs nothing
    source = (
        "import requests\n\n\nclass Session:\n"
        '    """An authorised session.\n\n    Usage::\n\n        session = Session(token)\n    """\n\n'
        "    def send(self, url):\n        return requests.get(url)\n"
    )
    data = source.encode()
    sinks = [data.index(b"requests.get(")]
    assert not sink_may_run_unasked(data, sinks, IndentContext(data, Context.IMPORT))
    called = source + "\n\nSESSION = Session(None)\n"
    data = called.encode()
    assert sink_may_run_unasked(data, [data.index(b"requests.get(")], IndentContext(data, Context.IMPORT))


def _in_docstring_by_counting(data: bytes, offset: int) -> bool:
    """The definition `in_docstring` memoises: count the triple quotes before `offset`."""
    for quote in (b'"""', b"'''"):
        if data.count(quote, 0, offset) % 2 == 1:
            start = data.rfind(quote, 0, offset)
            line_start = data.rfind(b"\n", 0, start) + 1
            if not data[line_start:start].strip(b" \trRbBuUfF"):
                return True
    return False


@given(st.lists(st.sampled_from([b'"', b"'", b"\n", b" ", b"x", b"r", b'"""', b"'''"]), max_size=40))
def test_in_docstring_from_remembered_quote_positions_agrees_with_counting(parts: list[bytes]) -> None:
    data = b"".join(parts)
    for offset in range(len(data) + 1):
        assert in_docstring(data, offset) == _in_docstring_by_counting(data, offset), (data, offset)


@pytest.mark.parametrize("functions", [1, 3, 12])  # one pass a name, or one for all past 8
@pytest.mark.parametrize(
    ("call", "runs"),
    [
        ("fetch_{last}()\n", True),
        ("value = [fetch_{last} (1)]\n", True),
        ("threading.Thread(target=fetch_{last}).start()\n", True),
        ("client.fetch_{last}()\n", False),  # another object's method
        ("prefetch_{last}()\n", False),  # a longer name
        ("# fetch_{last}()\n", False),
    ],
)
def test_callers_of_the_functions_holding_sinks(functions: int, call: str, runs: bool) -> None:
    defs = "".join(f"def fetch_{i}(u):\n    return urlopen(u)\n\n\n" for i in range(functions))
    source = (
        "import threading\nfrom urllib.request import urlopen\n\n\n" + defs + call.format(last=functions - 1)
    )
    data = source.encode()
    sinks = [i for i in range(len(data)) if data.startswith(b"urlopen(", i)]
    assert sink_may_run_unasked(data, sinks, IndentContext(data, Context.IMPORT)) is runs
