"""Static pickle scanner: which callables a pickle names and calls, without unpickling it.

`pickletools.genops` only decodes opcodes; it never imports or calls anything. On top of it a
small stack machine follows what the unpickler would do with the *names*: GLOBAL/INST carry
`module name` inline, STACK_GLOBAL takes them from the two strings below it (pushed directly or
fetched back from the memo), and REDUCE/OBJ/NEWOBJ/INST call whatever callable sits in their slot.
Every other value is an opaque placeholder. Bytes, opcodes and stack size are bounded, and any
decoding error just ends the scan with what was seen so far (a hostile file can cut its pickle
anywhere). Protocols 0-5 share these opcodes.

Files may hold several pickles back to back (legacy `torch.save` writes a magic number, the
protocol, system info, the object and the storage keys): scanning goes on after STOP while the
next byte opens another pickle.
"""

from __future__ import annotations

import io
import pickletools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from custody.scan.carriers.callables import Danger, classify_callable

MAX_PICKLE_BYTES = 8 * 1024 * 1024
MAX_OPCODES = 500_000
MAX_PICKLES = 16
MAX_STACK = 100_000
MAX_MEMO = 100_000
MAX_CALLS = 32
MAX_RESUMES = 16
# A callable named in protocol 0-3 form (`c` GLOBAL or `i` INST: "module\nname\n"), or as the two
# short strings (optionally memoised) that a protocol 4+ STACK_GLOBAL takes.
_NAMED = re.compile(
    rb"[ci]([A-Za-z_][\w.]{0,99})\n([A-Za-z_][\w.]{0,99})\n"
    rb"|\x8c[\x01-\x64]([A-Za-z_][\w.]{0,99})\x94?\x8c[\x01-\x64]([A-Za-z_][\w.]{0,99})\x94?\x93"
)
_MAX_ARG_TEXT = 80
_PROTO = 0x80


@dataclass(frozen=True, slots=True)
class _Global:
    module: str
    name: str


@dataclass(frozen=True, slots=True)
class _Mark:
    pass


_MARK = _Mark()
# Opaque stack values: None (anything), str (a string constant), _Global, or a tuple of those.
_Value = object


@dataclass(frozen=True, slots=True, kw_only=True)
class PickleCall:
    """A dangerous callable a pickle names; `called` when a call opcode takes it as the callee."""

    module: str
    name: str
    danger: Danger
    called: bool
    offset: int
    args: str = ""
    """The call's literal string arguments, shortened (empty when not literal or not called)."""

    @property
    def text(self) -> str:
        """`module.name(args)` when called, `module.name` when only referenced."""
        target = f"{self.module}.{self.name}"
        return f"{target}({self.args})" if self.called else target


@dataclass(slots=True, kw_only=True)
class PickleReport:
    """What a pickle stream would do when loaded: the callables it imports and calls, opcode and
    pickle counts, whether a call target was computed, and why reading stopped early (if it did).

    An accumulator: the opcode walk adds calls and counts as it reads, so a stream cut short still
    reports what came before the cut."""

    calls: list[PickleCall] = field(default_factory=list)
    opcodes: int = 0
    pickles: int = 0
    calls_computed: bool = False
    """Some call opcode called a computed callable (the result of another call or lookup)."""
    error: str | None = None
    """Why the scan stopped before the data ended (truncated or not a pickle); None when complete."""


def looks_like_pickle(data: bytes) -> bool:
    """A protocol 2+ header (`\\x80` + version), the way model files and joblib dumps begin."""
    return len(data) >= 2 and data[0] == _PROTO and 0 <= data[1] <= 5


def _text(value: _Value) -> str | None:
    return value if isinstance(value, str) else None


def _args_text(value: _Value) -> str:
    items = value if isinstance(value, tuple) else (value,)
    parts = [repr(v[:_MAX_ARG_TEXT]) for v in items if isinstance(v, str)]
    joined = ", ".join(parts)
    return joined if len(joined) <= _MAX_ARG_TEXT else joined[: _MAX_ARG_TEXT - 3] + "..."


class _Machine:
    def __init__(self, report: PickleReport) -> None:
        self.report = report
        self.stack: list[_Value] = []
        self.memo: dict[int, _Value] = {}
        self.named: dict[tuple[str, str], int] = {}
        """Dangerous globals seen (index into report.calls), so a call upgrades the entry."""

    def _pop(self) -> _Value:
        return self.stack.pop() if self.stack else None

    def _pop_mark(self) -> list[_Value]:
        items: list[_Value] = []
        while self.stack:
            value = self.stack.pop()
            if value is _MARK:
                break
            items.append(value)
        items.reverse()
        return items

    def _push(self, value: _Value) -> None:
        if len(self.stack) >= MAX_STACK:
            raise ValueError("pickle stack too deep")
        self.stack.append(value)

    def _named(self, module: str, name: str, offset: int) -> _Value:
        danger = classify_callable(module, name)
        if danger is not None and (module, name) not in self.named and len(self.report.calls) < MAX_CALLS:
            self.named[(module, name)] = len(self.report.calls)
            self.report.calls.append(
                PickleCall(module=module, name=name, danger=danger, called=False, offset=offset)
            )
        return _Global(module, name)

    def _called(self, callee: _Value, args: _Value, offset: int) -> None:
        if not isinstance(callee, _Global):
            self.report.calls_computed = True
            return
        index = self.named.get((callee.module, callee.name))
        if index is None:
            return
        seen = self.report.calls[index]
        if not seen.called:
            self.report.calls[index] = PickleCall(
                module=seen.module,
                name=seen.name,
                danger=seen.danger,
                called=True,
                offset=offset,
                args=_args_text(args),
            )

    def step(self, op: pickletools.OpcodeInfo, arg: object, offset: int) -> None:
        name = op.name
        special = _SPECIAL.get(name)
        if special is not None:
            special(self, name, arg, offset)
            return
        stack = self.stack
        if name in _STRING_PUSHERS:
            value: _Value = arg  # a string constant: it may become a STACK_GLOBAL name
        else:
            # Any other opcode: pop what it consumes (to the mark for slices), push a placeholder.
            to_mark, pops, pushes = _SHAPES[name]
            if to_mark:
                self._pop_mark()
            for _ in range(min(pops, len(stack))):
                stack.pop()
            if not pushes:
                return
            value = None
        if len(stack) >= MAX_STACK:
            raise ValueError("pickle stack too deep")
        stack.append(value)

    def _global(self, name: str, arg: object, offset: int) -> None:
        module, _, attr = str(arg).partition(" ")
        target = self._named(module, attr, offset)
        if name == "INST":
            self._called(target, tuple(self._pop_mark()), offset)
        self._push(target)

    def _stack_global(self, name: str, arg: object, offset: int) -> None:
        top, below = _text(self._pop()), _text(self._pop())
        if below is not None and top is not None:
            self._push(self._named(below, top, offset))
        else:
            self._push(None)

    def _reduce(self, name: str, arg: object, offset: int) -> None:
        if name == "NEWOBJ_EX":
            self._pop()  # kwargs
        args, callee = self._pop(), self._pop()
        self._called(callee, args, offset)
        self._push(None)

    def _obj(self, name: str, arg: object, offset: int) -> None:
        items = self._pop_mark()
        if items:
            self._called(items[0], tuple(items[1:]), offset)
        self._push(None)

    def _put(self, name: str, arg: object, offset: int) -> None:
        index = len(self.memo) if name == "MEMOIZE" else arg
        if isinstance(index, int) and len(self.memo) < MAX_MEMO:
            self.memo[index] = self.stack[-1] if self.stack else None

    def _get(self, name: str, arg: object, offset: int) -> None:
        self._push(self.memo.get(arg, None) if isinstance(arg, int) else None)

    def _dup(self, name: str, arg: object, offset: int) -> None:
        self._push(self.stack[-1] if self.stack else None)

    def _tuple(self, name: str, arg: object, offset: int) -> None:
        if name == "TUPLE":
            self._push(tuple(self._pop_mark()))
            return
        items = [self._pop() for _ in range(int(name[-1]))]
        items.reverse()
        self._push(tuple(items))

    def _mark(self, name: str, arg: object, offset: int) -> None:
        self._push(_MARK)


_Handler = Callable[[_Machine, str, object, int], None]
_SPECIAL: dict[str, _Handler] = {
    "GLOBAL": _Machine._global,
    "INST": _Machine._global,
    "STACK_GLOBAL": _Machine._stack_global,
    "REDUCE": _Machine._reduce,
    "NEWOBJ": _Machine._reduce,
    "NEWOBJ_EX": _Machine._reduce,
    "OBJ": _Machine._obj,
    "MEMOIZE": _Machine._put,
    "PUT": _Machine._put,
    "BINPUT": _Machine._put,
    "LONG_BINPUT": _Machine._put,
    "GET": _Machine._get,
    "BINGET": _Machine._get,
    "LONG_BINGET": _Machine._get,
    "DUP": _Machine._dup,
    "TUPLE": _Machine._tuple,
    "TUPLE1": _Machine._tuple,
    "TUPLE2": _Machine._tuple,
    "TUPLE3": _Machine._tuple,
    "MARK": _Machine._mark,
}
_STRING_PUSHERS = frozenset(
    {"UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "STRING", "BINSTRING", "SHORT_BINSTRING"}
)
# Every other opcode by its stack effect: (pops to a mark, fixed pops, pushes a value)
_SHAPES: dict[str, tuple[bool, int, bool]] = {
    op.name: (
        pickletools.stackslice in op.stack_before,
        sum(1 for s in op.stack_before if s not in (pickletools.stackslice, pickletools.markobject)),
        bool(op.stack_after),
    )
    for op in pickletools.opcodes
}


class _OverBudget(Exception):
    """Control flow: the opcode or memo budget is spent; the walk stops and reports the stream cut."""


def _run_one(stream: io.BytesIO, report: PickleReport) -> None:
    """Decode one pickle from the stream's position to its STOP (or raise on bad bytes)."""
    start = stream.tell()
    machine = _Machine(report)
    for op, arg, pos in pickletools.genops(stream):
        report.opcodes += 1
        if report.opcodes > MAX_OPCODES:
            raise _OverBudget
        machine.step(op, arg, pos if pos is not None else start)


def _sweep(data: bytes, start: int, report: PickleReport) -> None:
    """Resume decoding at each place after `start` where a dangerous callable is named.

    Joblib dumps interleave raw array bytes with opcodes, and a payload can be appended after
    junk: the linear decode stops at the first non-opcode byte, so the bytes left over are
    searched for GLOBAL/INST lines and STACK_GLOBAL string pairs, and decoding restarts there."""
    covered = start
    resumed = 0
    for match in _NAMED.finditer(data, start):
        if match.start() < covered:
            continue
        module = (match.group(1) or match.group(3) or b"").decode("ascii")
        name = (match.group(2) or match.group(4) or b"").decode("ascii")
        if classify_callable(module, name) is None:
            continue
        resumed += 1
        if resumed > MAX_RESUMES:
            break
        stream = io.BytesIO(data)
        stream.seek(match.start())
        try:
            _run_one(stream, report)
        except _OverBudget:
            raise
        except Exception:  # noqa: S110 - a resumed decode ends where the bytes stop making sense
            pass
        covered = max(stream.tell(), match.end())


def _merge(report: PickleReport) -> None:
    """One entry per callable, the called one when several decodes saw it."""
    best: dict[tuple[str, str], PickleCall] = {}
    for call in report.calls:
        key = (call.module, call.name)
        if key not in best or (call.called and not best[key].called):
            best[key] = call
    report.calls = list(best.values())


def scan_pickle(data: bytes) -> PickleReport:
    """Dangerous callables named in the pickle(s) in `data`. Never raises."""
    report = PickleReport()
    data = data[:MAX_PICKLE_BYTES]
    stream = io.BytesIO(data)
    try:
        try:
            while report.pickles < MAX_PICKLES:
                _run_one(stream, report)
                report.pickles += 1
                rest = stream.tell()
                # Another pickle follows only if the next byte opens one (protocol 2+ header).
                if rest >= len(data) or data[rest] != _PROTO:
                    break
        except _OverBudget:
            raise
        except Exception as exc:  # hostile bytes: any decoding error ends the linear scan
            report.error = f"{type(exc).__name__}: {str(exc)[:120]}"
        if stream.tell() < len(data):
            _sweep(data, stream.tell(), report)
    except _OverBudget:
        report.error = f"stopped after {MAX_OPCODES} opcodes"
    _merge(report)
    return report


__all__ = ["MAX_PICKLE_BYTES", "PickleCall", "PickleReport", "looks_like_pickle", "scan_pickle"]
