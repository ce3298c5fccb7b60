"""Static evaluation of decoding chains (`custody.scan.static_decode`): what it computes, and where
it stops."""

from __future__ import annotations

import ast

import pytest

from custody.scan.static_decode import StaticDecoder, one_return


def _evaluate(expression: str, constants: str = "") -> object:
    bound: dict[str, ast.expr] = {}
    for statement in ast.parse(constants).body:
        assert isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name)
        bound[statement.targets[0].id] = statement.value
    return StaticDecoder(bound).evaluate(ast.parse(expression, mode="eval").body)


@pytest.mark.parametrize(
    ("expression", "constants", "value"),
    [
        ('"".join(BLOB.split())', 'BLOB = """aGVs\n   bG8="""', "aGVsbG8="),
        ('"".join(BLOB.split("|"))', 'BLOB = "ex|ec"', "exec"),
        ('"-".join(["a", "b"])', "", "a-b"),
        ('"".join(map(chr, (c ^ 7 for c in CODES)))', f"CODES = {[ord(c) ^ 7 for c in 'import']}", "import"),
        ('"".join(map(chr, [c + 1 for c in CODES]))', f"CODES = {[ord(c) - 1 for c in 'eval']}", "eval"),
        ('"".join(chr(c - 3) for c in [104, 123, 104, 102])', "", "exec"),
        ('"".join(chr(ord(ch) - 1) for ch in "fyfd")', "", "exec"),
        ('"".join(chr((c - 97 + 13) % 26 + 97) for c in [114, 107, 114, 112])', "", "exec"),
        ('"".join(map(lambda c: chr(c - 3), CODES))', "CODES = [104, 123, 104, 102]", "exec"),
        ('"".join(chr(c ^ KEY) for c in CODES)', f"KEY = 7\nCODES = {[ord(c) ^ 7 for c in 'exec']}", "exec"),
        ("bytes(c ^ 90 for c in CODES).decode()", f"CODES = {[ord(c) ^ 90 for c in 'exec']}", "exec"),
        ('BLOB.replace("\\n", "").replace(" ", "")', 'BLOB = "aG Vs\\nbG8="', "aGVsbG8="),
    ],
)
def test_joins_that_decode(expression: str, constants: str, value: str) -> None:
    assert _evaluate(expression, constants) == value


@pytest.mark.parametrize(
    "expression",
    [
        '"".join(x for x in names)',  # unknown items
        '"".join(["a", name])',  # a piece only known at run time
        '"".join(BLOB.split(sep))',  # a separator only known at run time
        '"".join(map(chr, (c % 0 for c in [1])))',  # no division by zero
        '"".join(map(chr, (c ^ 99999999999 for c in [1])))',  # past any code point
        '"".join(map(lambda c: chr(c ^ KEY), [1]))',  # KEY unknown
        '"".join(map(lambda c, d: chr(c), [1]))',  # two parameters
        '"ab".replace("", "x")',  # an empty needle
        'BLOB.replace("a", NEW)',  # a replacement only known at run time
    ],
)
def test_joins_it_does_not_compute(expression: str) -> None:
    assert _evaluate(expression) is None


@pytest.mark.parametrize(
    "expression",
    [
        '"".join(chr(int(c)) for c in [104, 105])',
        '"".join(chr(c) for c in [104, 105] if c)',
        '"".join(chr(c % 0) for c in [104, 105])',
    ],
)
def test_a_generator_it_cannot_follow_reads_the_listed_numbers(expression: str) -> None:
    # what the scanner always did for `chr(...) for c in CODES`: the numbers, as they are
    assert _evaluate(expression) == "hi"


@pytest.mark.parametrize(
    ("function", "followed"),
    [
        ("def d(t):\n    return ''.join(chr(ord(c) - 1) for c in t)\n", True),
        ("def d(t):\n    '''Undo the shift.'''\n    return t[::-1]\n", True),
        ("def d(t, key):\n    return t\n", False),  # two parameters
        ("def d(t):\n    t = t.strip()\n    return t\n", False),  # more than a return
        ("@cache\ndef d(t):\n    return t\n", False),  # a decorator may change what it returns
    ],
)
def test_a_helper_is_inlined_only_when_it_just_returns_an_expression(function: str, followed: bool) -> None:
    definition = ast.parse(function).body[0]
    assert isinstance(definition, ast.FunctionDef)
    assert (one_return(definition) is not None) is followed


def test_an_inlined_helper_leaves_the_module_constants_as_they_were() -> None:
    constants = {"t": ast.parse("'kept'", mode="eval").body, "TEXT": ast.parse("'fyfd'", mode="eval").body}
    helper = one_return(ast.parse("def d(t):\n    return ''.join(chr(ord(c) - 1) for c in t)\n").body[0])  # type: ignore[arg-type]
    assert helper is not None
    decoder = StaticDecoder(constants, {"d"}, {"d": helper})
    assert decoder.evaluate(ast.parse("d(TEXT)", mode="eval").body) == "exec"
    assert decoder.evaluate(ast.parse("t", mode="eval").body) == "kept"


def test_work_is_bounded_for_constants_that_repeat_each_other() -> None:
    # each constant twice the one before: 2**40 characters if followed to the end
    constants = "A0 = 'QUFB'\n" + "".join(f"A{i} = f'{{A{i - 1}}}{{A{i - 1}}}'\n" for i in range(1, 41))
    assert _evaluate("A40", constants) is None


def test_a_helper_that_calls_itself_is_inlined_once() -> None:
    helper = one_return(ast.parse("def d(t):\n    return ''.join([d(t), d(t), d(t)])\n").body[0])  # type: ignore[arg-type]
    assert helper is not None
    decoder = StaticDecoder({}, {"d"}, {"d": helper})
    # the calls inside are not inlined again (read as the base64 wrapper every decoding helper
    # may be): three levels deep, twenty calls each, would otherwise be 8,000 inlinings
    assert decoder.evaluate(ast.parse("d('aGk=')", mode="eval").body) == "hihihi"


@pytest.mark.parametrize(
    "expression",
    [
        '"".join(chr(c' + " + 1" * 3000 + ") for c in [64, 65])",  # arithmetic nested past any key
        'BIG.join(["a"] * 2)',  # not a literal list: not followed
        'BIG.join(["a", "b", "c"])',  # more than MAX_DECODED once joined
        '"".join((BIG + BIG).split())',
    ],
)
def test_deep_or_huge_results_are_not_computed(expression: str) -> None:
    big = "x" * (3 * 1024 * 1024)
    bound = {"BIG": ast.Constant(big)}
    try:
        tree = ast.parse(expression, mode="eval").body
    except RecursionError:  # the parser's own limit: nothing to evaluate
        return
    assert StaticDecoder(bound).evaluate(tree) is None


def test_a_comprehension_over_megabytes_is_not_followed_item_by_item() -> None:
    # one Python step per item: a hostile 4 MB string must not cost seconds per evaluation
    bound = {"BIG": ast.Constant("x" * (4 * 1024 * 1024))}
    expression = ast.parse('"".join(chr(ord(c) ^ 1) for c in BIG)', mode="eval").body
    assert StaticDecoder(bound).evaluate(expression) is None


def test_a_large_expression_per_item_is_not_followed_over_many_items() -> None:
    # the per-item expression is read once per item: 2,000 items of a 16,000-node tree is too much
    leaf = "ord(c)"
    for _ in range(12):
        leaf = f"({leaf} ^ {leaf})"
    bound = {"TEXT": ast.Constant("a" * 2000)}
    expression = ast.parse(f'"".join(chr({leaf}) for c in TEXT)', mode="eval").body
    assert StaticDecoder(bound).evaluate(expression) is None
