"""Static evaluation of constant decoding chains, e.g. `zlib.decompress(base64.b64decode('...'))`.

This only transforms literal data already in the file (base64, hex, zlib, rot13, reversal...) so
the payload can be scanned like any other source; it never runs package code. Output is bounded
so a decompression bomb inside a literal cannot exhaust memory.
"""

from __future__ import annotations

import ast
import base64
import binascii
import bz2
import codecs
import lzma
import zlib
from collections.abc import Callable

MAX_DECODED = 4 * 1024 * 1024
MAX_EVAL_TEXT = 10_000
MAX_STEPS = 10_000
"""Expressions one evaluation may visit, all nested ones included."""
MAX_CODE_NODES = 64
"""Nodes of the per-item expression of a comprehension the decoder follows (`chr(c ^ 7)`: 4)."""
MAX_CODE_WORK = 1_000_000
"""Items times nodes: the per-item expression is evaluated once per item, in Python."""
MAX_LOOPED = 256 * 1024
"""Items a comprehension is followed over, one Python step each: a larger payload is left to the
rules that see an encoded literal run, unread."""
Value = bytes | str

_B64_FUNCS = {
    "b64decode": base64.b64decode,
    "standard_b64decode": base64.standard_b64decode,
    "urlsafe_b64decode": base64.urlsafe_b64decode,
    "decodebytes": base64.decodebytes,
    "decodestring": base64.decodebytes,
    "b32decode": base64.b32decode,
    "b16decode": base64.b16decode,
    "b85decode": base64.b85decode,
    "a85decode": base64.a85decode,
    "a2b_base64": binascii.a2b_base64,
    "unhexlify": binascii.unhexlify,
    "a2b_hex": binascii.a2b_hex,
}


def _to_bytes(value: Value) -> bytes:
    return value.encode("latin-1", "replace") if isinstance(value, str) else value


def _bounded_inflate(data: bytes, module: str) -> bytes | None:
    try:
        if module == "zlib":
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # zlib or gzip headers
            out = inflater.decompress(data, MAX_DECODED)
            return out
        if module == "gzip":
            return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(data, MAX_DECODED)
        if module == "lzma":
            return lzma.LZMADecompressor().decompress(data, MAX_DECODED)
        if module == "bz2":
            return bz2.BZ2Decompressor().decompress(data, MAX_DECODED)
    except (zlib.error, lzma.LZMAError, OSError, ValueError, EOFError):
        return None
    return None


class StaticDecoder:
    """Evaluates a small, side-effect-free subset of expressions over literals."""

    def __init__(
        self,
        constants: dict[str, ast.expr],
        wrappers: set[str] | None = None,
        helpers: dict[str, tuple[str, ast.expr]] | None = None,
    ) -> None:
        self.constants = constants
        self.wrappers = wrappers or set()
        """Local helper functions known to decode: tried as base64, the commonest wrapper."""
        self.helpers = helpers or {}
        """Of those, the ones that only return an expression of their one parameter (see
        `one_return`): evaluated with the argument in its place first."""
        self.depth = 0
        self.steps = 0
        """Expressions evaluated since the outermost `evaluate` began (see MAX_STEPS)."""
        self.inlining: set[str] = set()
        """Helpers being inlined now: one that calls itself is not inlined again."""

    def evaluate(self, node: ast.expr) -> Value | None:
        """The value of `node` when it can be computed statically (literals, decoders, joins, known
        helpers), or None; never runs any code. Bounded in depth and in total work: constants
        that repeat each other (`A1 = f"{A0}{A0}"`, ...) would otherwise double it at each step."""
        if self.depth == 0:
            self.steps = 0
        self.depth += 1
        self.steps += 1
        try:
            if self.depth > 24 or self.steps > MAX_STEPS:
                return None
            return self._evaluate(node)
        finally:
            self.depth -= 1

    def _evaluate(self, node: ast.expr) -> Value | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            return node.value
        if isinstance(node, ast.Name) and node.id in self.constants:
            target = self.constants.pop(node.id)  # pop: guards against self-reference cycles
            try:
                return self.evaluate(target)
            finally:
                self.constants[node.id] = target
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.evaluate(node.left), self.evaluate(node.right)
            if isinstance(left, str) and isinstance(right, str):
                return left + right if len(left) + len(right) <= MAX_DECODED else None
            if isinstance(left, bytes) and isinstance(right, bytes):
                return left + right if len(left) + len(right) <= MAX_DECODED else None
            return None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            s = node.slice
            if s.lower is None and s.upper is None and isinstance(s.step, ast.UnaryOp):
                inner = self.evaluate(node.value)
                if inner is not None:
                    return inner[::-1]
            return None
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.JoinedStr):
            parts: list[str] = []
            for value in node.values:
                inner = (
                    self.evaluate(value.value)
                    if isinstance(value, ast.FormattedValue)
                    else self.evaluate(value)
                )
                if not isinstance(inner, str):
                    return None
                parts.append(inner)
            return "".join(parts) if sum(map(len, parts)) <= MAX_DECODED else None
        return None

    def _join_chars(self, separator: ast.expr, arg: ast.expr) -> Value | None:
        """`"".join(...)` of pieces this decoder can compute: characters from code points
        (`map(chr, [...])`, `chr(c ^ 7) for c in [...]`, `chr(ord(ch) - 1) for ch in "..."`), the
        pieces of a split string (`"".join(BLOB.split())`: base64 padded with whitespace), or a
        literal list of strings."""
        sep = self.evaluate(separator)
        if not isinstance(sep, str):
            return None
        if isinstance(arg, (ast.List, ast.Tuple)) and len(arg.elts) <= MAX_DECODED:
            pieces = [self.evaluate(elt) for elt in arg.elts]
            texts = [piece for piece in pieces if isinstance(piece, str)]
            if len(texts) != len(pieces) or _joined_size(sep, texts) > MAX_DECODED:
                return None
            return sep.join(texts)
        if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr == "split":
            return self._join_split(sep, arg)
        codes: list[int] | None = None
        if (
            isinstance(arg, ast.Call)
            and isinstance(arg.func, ast.Name)
            and arg.func.id == "map"
            and len(arg.args) == 2
        ):
            function, items = arg.args
            if isinstance(function, ast.Name) and function.id == "chr":
                codes = self._codes(items)
                if codes is None and isinstance(items, (ast.GeneratorExp, ast.ListComp)):
                    codes = self._comprehension_codes(items.elt, items)
            elif (spelled := chr_lambda(function)) is not None:
                # `map(lambda c: chr(c - 3), CODES)`: the loop of a comprehension, spelled apart
                codes = self._loop_codes(spelled[1], spelled[0], items)
        elif isinstance(arg, (ast.GeneratorExp, ast.ListComp)) and len(arg.generators) == 1:
            elt = arg.elt
            if (
                isinstance(elt, ast.Call)
                and isinstance(elt.func, ast.Name)
                and elt.func.id == "chr"
                and len(elt.args) == 1
            ):
                codes = self._comprehension_codes(elt.args[0], arg)
                if codes is None:
                    # arithmetic or a filter not followed: the listed numbers as they are, as this
                    # always read them (`chr(int(c)) for c in CODES` is the payload all the same)
                    codes = self._codes(arg.generators[0].iter)
        if codes is None:
            return None
        if _joined_size(sep, codes) > MAX_DECODED:
            return None
        try:
            return sep.join(chr(c) for c in codes)
        except (ValueError, OverflowError):
            return None

    def _join_split(self, sep: str, call: ast.Call) -> Value | None:
        """`sep.join(TEXT.split())` or `.split("x")` of a string this decoder can compute."""
        assert isinstance(call.func, ast.Attribute)
        text = self.evaluate(call.func.value)
        if not isinstance(text, str) or call.keywords or len(call.args) > 1:
            return None
        by = _const_str(call.args[0]) if call.args else None
        if call.args and not by:
            return None  # a separator only known at run time, or an empty one (an error)
        pieces = text.split(by)
        return sep.join(pieces) if _joined_size(sep, pieces) <= MAX_DECODED else None

    def _comprehension_codes(
        self, code: ast.expr, comprehension: ast.GeneratorExp | ast.ListComp
    ) -> list[int] | None:
        """The code points `code` gives for each item of a one-loop comprehension over a literal
        list of integers or a string (`c ^ 7 for c in CODES`, `ord(ch) - 1 for ch in TEXT`)."""
        if len(comprehension.generators) != 1:
            return None
        loop = comprehension.generators[0]
        if loop.ifs or loop.is_async or not isinstance(loop.target, ast.Name):
            return None
        return self._loop_codes(code, loop.target.id, loop.iter)

    def _loop_codes(self, code: ast.expr, variable: str, iterated: ast.expr) -> list[int] | None:
        """The code points `code` gives for each item of `iterated` (a literal list of integers
        or a string) bound to `variable`; module constants may name integers (`c ^ KEY`)."""
        items: list[int] | str | None = self._codes(iterated)
        if items is None:
            text = self.evaluate(iterated)
            items = text if isinstance(text, str) else None
        if items is None or len(items) > MAX_LOOPED:
            return None
        size = _size_up_to(code, MAX_CODE_NODES + 1)
        if size > MAX_CODE_NODES or size * len(items) > MAX_CODE_WORK:
            return None  # the expression is read again for every item: bound the product
        codes: list[int] = []
        for item in items:
            value = _code_of(code, variable, item, self._integer)
            if value is None:
                return None
            codes.append(value)
        return codes

    def _integer(self, name: str) -> int | None:
        """The integer a module constant holds (`KEY = 0x5A`), if that is what it holds."""
        value = self.constants.get(name)
        return value.value if isinstance(value, ast.Constant) and type(value.value) is int else None

    def _inline(self, helper: tuple[str, ast.expr], argument: ast.expr) -> Value | None:
        """A helper's returned expression with the call's argument bound to its parameter (the
        binding shadows a module constant of that name while it is read, never after)."""
        parameter, returned = helper
        shadowed = self.constants.get(parameter)
        self.constants[parameter] = argument
        try:
            return self.evaluate(returned)
        finally:
            if shadowed is None:
                self.constants.pop(parameter, None)
            else:
                self.constants[parameter] = shadowed

    def _replace(self, text: ast.expr, old: ast.expr, new: ast.expr) -> Value | None:
        """`TEXT.replace("\\n", "")`: the blob without what was put in to break it up."""
        value, before, after = self.evaluate(text), self.evaluate(old), self.evaluate(new)
        if isinstance(value, str) and isinstance(before, str) and isinstance(after, str) and before:
            grown = value.count(before) * max(0, len(after) - len(before))
            return value.replace(before, after) if len(value) + grown <= MAX_DECODED else None
        if isinstance(value, bytes) and isinstance(before, bytes) and isinstance(after, bytes) and before:
            grown = value.count(before) * max(0, len(after) - len(before))
            return value.replace(before, after) if len(value) + grown <= MAX_DECODED else None
        return None

    def _codes(self, node: ast.expr) -> list[int] | None:
        """A literal list of integers, given in place or through a module constant."""
        if isinstance(node, ast.Name) and node.id in self.constants:
            node = self.constants[node.id]
        return _ints(node)

    def _eval_literal(self, text: str) -> Value | None:
        """`eval('\\x6d\\x61...')`: the escaped text is an expression over names and calls this
        decoder already understands, so read it as one (it is parsed, never run)."""
        if len(text) > MAX_EVAL_TEXT:
            return None
        expression = _parse_expression(text)
        return self.evaluate(expression) if expression is not None else None

    def _call(self, node: ast.Call) -> Value | None:
        func = node.func
        attr = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        owner = ""
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            owner = func.value.id
        if attr == "join" and isinstance(func, ast.Attribute) and node.args:
            return self._join_chars(func.value, node.args[0])
        if attr in ("decode", "encode") and isinstance(func, ast.Attribute) and owner != "codecs":
            inner = self.evaluate(func.value)
            if inner is None:
                return None
            codec = _const_str(node.args[0]) if node.args else "utf-8"
            return _apply_codec(inner, codec or "utf-8", decode=attr == "decode")
        if not node.args:
            return None
        if attr == "replace" and isinstance(func, ast.Attribute) and len(node.args) == 2:
            return self._replace(func.value, node.args[0], node.args[1])
        if attr in ("bytes", "bytearray") and isinstance(func, ast.Name):
            codes = self._codes(node.args[0])
            if codes is None and isinstance(node.args[0], (ast.GeneratorExp, ast.ListComp)):
                # `bytes(c ^ 90 for c in CODES)`
                codes = self._comprehension_codes(node.args[0].elt, node.args[0])
            if codes is not None:
                # `bytes([105, 109, ...])`: a byte string spelled as numbers
                return bytes(codes) if all(0 <= c < 256 for c in codes) else None
        if (
            isinstance(func, ast.Name)
            and func.id in self.helpers
            and func.id not in self.inlining
            and len(node.args) == 1
        ):
            self.inlining.add(func.id)
            try:
                inlined = self._inline(self.helpers[func.id], node.args[0])
            finally:
                self.inlining.discard(func.id)
            if inlined is not None:
                return inlined
        arg = self.evaluate(node.args[0])
        if arg is None:
            return None
        if attr == "eval" and isinstance(func, ast.Name) and isinstance(arg, str):
            return self._eval_literal(arg)
        try:
            if isinstance(func, ast.Name) and func.id in self.wrappers:
                decoded = base64.b64decode(_to_bytes(arg), validate=False)
                return decoded.decode("utf-8") if decoded.isascii() else decoded
            if attr in _B64_FUNCS:
                return _B64_FUNCS[attr](_to_bytes(arg))
            if attr == "fromhex":
                return bytes.fromhex(arg if isinstance(arg, str) else arg.decode("latin-1"))
            if attr == "decompress":
                module = owner if owner in ("zlib", "gzip", "lzma", "bz2") else "zlib"
                return _bounded_inflate(_to_bytes(arg), module)
            if attr == "decode" and owner == "codecs":
                named = self.evaluate(node.args[1]) if len(node.args) > 1 else "utf-8"
                codec = named if isinstance(named, str) else None
                return _apply_codec(arg, codec or "utf-8", decode=True)
            if attr in ("bytes", "str") and isinstance(func, ast.Name):
                return arg
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            return None
        return None


def one_return(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ast.expr] | None:
    """(parameter, expression) of a function of one plain parameter whose body only returns an
    expression (after a docstring, if any): `def _d(t): return "".join(chr(ord(c) - 1) for c in t)`."""
    parameters = function.args
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if (
        isinstance(function, ast.FunctionDef)
        and len(parameters.args) == 1
        and not (parameters.posonlyargs or parameters.kwonlyargs or parameters.vararg or parameters.kwarg)
        and not function.decorator_list
        and len(body) == 1
        and isinstance(body[0], ast.Return)
        and body[0].value is not None
    ):
        return parameters.args[0].arg, body[0].value
    return None


def _size_up_to(node: ast.AST, limit: int) -> int:
    """Nodes under `node`, counted up to `limit`."""
    count, pending = 0, [node]
    while pending and count < limit:
        count += 1
        pending.extend(ast.iter_child_nodes(pending.pop()))
    return count


def _joined_size(sep: str, pieces: list[str] | list[int]) -> int:
    """Characters `sep.join(pieces)` makes (an int stands for one character), before making it."""
    return len(sep) * max(0, len(pieces) - 1) + sum(len(p) if isinstance(p, str) else 1 for p in pieces)


def _parse_expression(text: str) -> ast.expr | None:
    try:
        return ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _ints(node: ast.expr) -> list[int] | None:
    if isinstance(node, (ast.List, ast.Tuple)) and len(node.elts) <= MAX_DECODED:
        values = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, int)]
        return values if len(values) == len(node.elts) else None
    return None


_CODE_OPERATORS: dict[type[ast.operator], Callable[[int, int], int | None]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.BitXor: lambda a, b: a ^ b,
    ast.Mod: lambda a, b: a % b if b else None,
}
"""The arithmetic obfuscators apply to code points (a shift, an XOR key, a wrap-around)."""


def chr_lambda(function: ast.expr) -> tuple[str, ast.expr] | None:
    """(parameter, code) of `lambda c: chr(code)`."""
    if not isinstance(function, ast.Lambda):
        return None
    parameters = function.args
    body = function.body
    if (
        len(parameters.args) == 1
        and not (parameters.vararg or parameters.kwarg or parameters.posonlyargs or parameters.kwonlyargs)
        and isinstance(body, ast.Call)
        and isinstance(body.func, ast.Name)
        and body.func.id == "chr"
        and len(body.args) == 1
        and not body.keywords
    ):
        return parameters.args[0].arg, body.args[0]
    return None


def _code_of(
    node: ast.expr,
    variable: str,
    item: int | str,
    integer: Callable[[str], int | None] = lambda _n: None,
    depth: int = 0,
) -> int | None:
    """The integer `node` computes for one item of a loop over `variable` (the item itself,
    `ord(item)` of a character, constants and the integers `integer` names, and
    `_CODE_OPERATORS` over those); None otherwise."""
    if isinstance(node, ast.Name):
        if node.id == variable:
            return item if isinstance(item, int) else None
        return integer(node.id)
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "ord"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id == variable
    ):
        return ord(item) if isinstance(item, str) else None
    if isinstance(node, ast.BinOp) and depth < 16:
        operator = _CODE_OPERATORS.get(type(node.op))
        if operator is None:
            return None
        left = _code_of(node.left, variable, item, integer, depth + 1)
        right = _code_of(node.right, variable, item, integer, depth + 1) if left is not None else None
        if left is None or right is None or abs(left) > 1 << 32 or abs(right) > 1 << 32:
            return None
        return operator(left, right)
    return None


def _const_str(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _apply_codec(value: Value, codec: str, *, decode: bool) -> Value | None:
    name = codec.lower().replace("-", "_")
    try:
        if name in ("rot13", "rot_13"):
            text = value if isinstance(value, str) else value.decode("latin-1")
            return codecs.decode(text, "rot13")
        if name in ("base64", "base_64", "hex", "zlib", "bz2"):
            data = _to_bytes(value)
            if name == "zlib":
                return _bounded_inflate(data, "zlib")
            if name == "bz2":
                return _bounded_inflate(data, "bz2")
            return codecs.decode(data, "base64" if name.startswith("base") else "hex")
        if decode and isinstance(value, bytes):
            return value.decode(codec, "replace")
        if not decode and isinstance(value, str):
            return value.encode(codec, "replace")
        return value
    except (LookupError, ValueError, TypeError, binascii.Error):
        return None
