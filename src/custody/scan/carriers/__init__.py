"""Payload carriers: non-Python files that package code loads, read into the same typed facts.

Malware keeps its payload where source review does not look: a pickle or model file whose
loading calls `os.system`, a YAML document with `!!python/object/apply:` tags, a `.pyc` shipped
without its source, a zip or ELF named like a picture. Everything here reads bytes the archive
reader already loaded (the scan selector asks for a bounded prefix of such files); nothing is
unpickled, unmarshalled, imported or extracted to disk.

A carrier's context is that of the code that names it (a module that loads `model.pkl` at top
level makes the pickle run at import); with no such code it is CALL (or DEV inside tests and
docs): a booby-trapped model attacks whoever loads it, whether or not the package does.
"""

from __future__ import annotations

import bz2
import lzma
import re
import zlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from custody.artifacts import ArtifactError, ArtifactKind, Member, read_artifact_bytes
from custody.scan.carriers.callables import Danger, classify_callable
from custody.scan.carriers.pickles import MAX_PICKLE_BYTES, PickleReport, scan_pickle
from custody.scan.facts import Cap, Fact
from custody.scan.indent_context import IndentContext
from custody.scan.model import Context
from custody.scan.roles import FileType, classify, executable_kind, is_dev_dir

if TYPE_CHECKING:
    from custody.scan.collect import FileInfo
    from custody.scan.yara_rules import YaraRules

CARRIER_BYTES = 1024 * 1024
"""Prefix of a pickle, model, YAML or bytecode file the scan loads: payloads sit in the object
graph at the start of a model file (tensor bytes follow it), and the artifact-wide memory budget
must still leave room for every source file."""

PICKLE_SUFFIXES = (
    ".pkl",
    ".pickle",
    ".pt",
    ".pth",
    ".bin",
    ".ckpt",
    ".joblib",
    ".npy",
    ".npz",
    ".sav",
    ".dill",
    ".p",
    ".pkl.gz",
    ".pkl.z",
    ".pkl.xz",
    ".pkl.bz2",
    ".joblib.gz",
    ".joblib.z",
    ".joblib.xz",
    ".joblib.bz2",
)
YAML_SUFFIXES = (".yaml", ".yml")
BYTECODE_SUFFIX = ".pyc"
# Names that promise inert data: an archive or a program behind one is hiding what it is.
DATA_SUFFIXES = (
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".bmp",
    ".ico",
    ".webp",
    ".svg",
    ".tif",
    ".tiff",
    ".txt",
    ".md",
    ".rst",
    ".csv",
    ".tsv",
    ".json",
    ".xml",
    ".html",
    ".htm",
    ".css",
    ".dat",
    ".log",
    ".ini",
    ".cfg",
    ".yaml",
    ".yml",
    ".toml",
    ".mp3",
    ".mp4",
    ".wav",
    ".ttf",
    ".woff",
    ".woff2",
)
_ARCHIVE_MAGIC = (
    (b"PK\x03\x04", "zip archive"),
    (b"\x1f\x8b", "gzip stream"),
    (b"BZh", "bzip2 stream"),
    (b"\xfd7zXZ\x00", "xz stream"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
)
# Names that say "archive": a zip under one of these is what it claims to be (python wheels and
# eggs, zip apps, Java archives, numpy and torch saves, office documents, ebooks, browser add-ons).
ARCHIVE_SUFFIXES = (
    ".zip",
    ".whl",
    ".egg",
    ".pyz",
    ".pyzw",
    ".jar",
    ".war",
    ".ear",
    ".aar",
    ".apk",
    ".npz",
    ".pt",
    ".pth",
    ".ckpt",
    ".bin",
    ".keras",
    ".nemo",
    ".mar",
    ".xlsx",
    ".xlsm",
    ".docx",
    ".pptx",
    ".odt",
    ".ods",
    ".odp",
    ".epub",
    ".xpi",
    ".crx",
    ".vsix",
    ".nupkg",
    ".kmz",
    ".gz",
    ".tgz",
    ".bz2",
    ".xz",
    ".7z",
    ".rar",
    ".tar",
)
MAX_IMPORTED_ARCHIVE_CHECKS = 64
"""Archives under other names whose loaders are looked for, per artifact (each look is a search
of every Python file for the name)."""
_NPY_MAGIC = b"\x93NUMPY"
MAX_INFLATED = 4 * 1024 * 1024
MAX_LOADER_HITS = 20
LOADER_WINDOW = 15
"""Lines around a reference to a disguised file in which a code-loading call completes the chain."""
# Calls that make a file's bytes run as code: import paths, native libraries, processes.
_CODE_LOADING = re.compile(
    rb"sys\.path\.(insert|append|extend)|zipimport|\bCDLL\b|cdll\.|WinDLL|windll\.|LoadLibrary|dlopen"
    rb"|spec_from_file_location|subprocess|os\.system|Popen|startfile|os\.exec|os\.spawn"
)
# Calls that put an archive's modules on the import path: whatever the file is named, what
# they load is code.
_IMPORT_LOADING = re.compile(
    rb"zipimport|sys\.path\.(insert|append|extend)|spec_from_file_location|spec_from_loader|load_module"
)
_YAML_TAG = re.compile(
    rb"(?:!!|tag:yaml\.org,2002:)python/(object/apply|object/new|object|name|module)\s*:\s*([A-Za-z_][\w.]*)"
)
_PRIVATE_IP = re.compile(rb"://(127\.|0\.|10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|255\.|169\.254\.)")
_RANK = {Context.STARTUP: 0, Context.INSTALL: 1, Context.IMPORT: 2, Context.CALL: 3, Context.DEV: 4}


def carrier_bytes(path: str, size: int) -> int | None:
    """How much of a member the scan should load to read it as a carrier; None if it is not one."""
    lower = path.rsplit("/", 1)[-1].lower()
    if lower.endswith(BYTECODE_SUFFIX) and "__pycache__/" in path:
        # Cached bytecode never imports without its source and environments hold thousands:
        # its magic-number prefix (enough to tell a blob from bytecode) is all that is needed.
        return None
    if lower.endswith(PICKLE_SUFFIXES + YAML_SUFFIXES + (BYTECODE_SUFFIX,)):
        return min(size, CARRIER_BYTES)
    return None


def _base_context(path: str, rel: str, strip: str) -> Context:
    """DEV for files under test/docs folders, including inside a nested archive kept in one
    (test eggs and wheels in an sdist); CALL otherwise: nobody is known to load the file."""
    folders = rel.split("/")[:-1]
    if "!/" in path:
        outer = path.rsplit("!/", 1)[0]
        folders += (outer[len(strip) :] if strip and outer.startswith(strip) else outer).split("/")[:-1]
    return Context.DEV if any(is_dev_dir(p) for p in folders) else Context.CALL


def _more_exposed(a: Context, b: Context) -> Context:
    return a if _RANK[a] <= _RANK[b] else b


class _Loaders:
    """The Python files of the artifact that name a carrier, and when that code runs."""

    def __init__(self, pythons: Sequence[FileInfo]) -> None:
        self.pythons = [p for p in pythons if p.data]
        self._indent: dict[str, IndentContext] = {}

    def references(self, name: str) -> Iterator[tuple[FileInfo, int, Context]]:
        """(file, line, context) of each place library code names the file `name` (dev code is
        not a loader: a test that opens a fixture does not make it run at import)."""
        needle = name.encode("utf-8", "replace")
        for info in self.pythons:
            if info.context is Context.DEV or needle not in info.data:
                continue
            indent = self._indent.get(info.path)
            if indent is None:
                indent = self._indent[info.path] = IndentContext(info.data, info.context)
            start, found = 0, 0
            while found < MAX_LOADER_HITS:
                offset = info.data.find(needle, start)
                if offset < 0:
                    break
                line = info.data.count(b"\n", 0, offset) + 1
                yield info, line, indent.at(line)
                start, found = offset + len(needle), found + 1

    def context(self, name: str, base: Context) -> tuple[Context, str]:
        """The most exposed context among the loaders of `name` (else `base`), and where."""
        best, where = base, ""
        for info, line, context in self.references(name):
            if not where or _RANK[context] < _RANK[best]:
                best, where = _more_exposed(context, best), f"{info.path}:{line}"
        return best, where


# ---- pickles -------------------------------------------------------------------------------------
def _inflate(data: bytes) -> bytes | None:
    """Bounded decompression of a gzip/zlib/bz2/xz stream (joblib's compressed dumps)."""
    try:
        if data.startswith(b"\x1f\x8b") or (
            len(data) > 1 and data[0] == 0x78 and (data[0] << 8 | data[1]) % 31 == 0
        ):
            return zlib.decompressobj(zlib.MAX_WBITS | 32).decompress(data, MAX_INFLATED)
        if data.startswith(b"BZh"):
            return bz2.BZ2Decompressor().decompress(data, MAX_INFLATED)
        if data.startswith(b"\xfd7zXZ\x00"):
            return lzma.LZMADecompressor().decompress(data, MAX_INFLATED)
    except (zlib.error, lzma.LZMAError, OSError, ValueError, EOFError):
        return None
    return None


def _npy_pickle(data: bytes) -> bytes | None:
    """The pickle behind a NumPy `.npy` header, present only for object arrays (dtype `|O`)."""
    if not data.startswith(_NPY_MAGIC) or len(data) < 12:
        return None
    major = data[6]
    if major == 1:
        size, start = int.from_bytes(data[8:10], "little"), 10
    else:
        size, start = int.from_bytes(data[8:12], "little"), 12
    header = data[start : start + size]
    if b"'|O'" not in header:
        return None
    return data[start + size :]


_NPY_HEADER_BYTES = 4096
"""Enough of a `.npy` member for its header (NumPy caps headers far below this in practice)."""


def _may_hold_objects(prefix: bytes) -> bool:
    """A `.npy` prefix whose header declares an object array, or is cut before it ends."""
    if len(prefix) < 12:
        return True
    if prefix[6] == 1:
        end = 10 + int.from_bytes(prefix[8:10], "little")
    else:
        end = 12 + int.from_bytes(prefix[8:12], "little")
    return end > len(prefix) or b"'|O'" in prefix[:end]


def _zip_pickles(data: bytes) -> list[tuple[str, bytes]]:
    """Pickles inside a zip-wrapped model (torch `archive/data.pkl`, `.npz` arrays), read through
    the artifact reader; a prefix of the zip still yields its leading members (local headers).

    `.npy` members hold a pickle only when their array is of objects: their headers are read
    first, and only object arrays in full (numeric `.npz` files are mostly megabytes of floats)."""

    def wanted(path: str, size: int) -> int:
        lower = path.lower()
        if lower.endswith((".pkl", ".pickle")):
            return min(size, MAX_PICKLE_BYTES)
        return min(size, _NPY_HEADER_BYTES) if lower.endswith(".npy") else 0

    try:
        inner = read_artifact_bytes(data, "model.zip", selector=wanted)
    except ArtifactError:
        return []
    objects = {m.path for m in inner.members if m.data.startswith(_NPY_MAGIC) and _may_hold_objects(m.data)}
    if objects:
        # Headers longer than the prefix count as object arrays: read them whole, not skipped.
        try:
            again = read_artifact_bytes(
                data,
                "model.zip",
                selector=lambda path, size: min(size, MAX_PICKLE_BYTES) if path in objects else 0,
            )
        except ArtifactError:
            again = inner
        full = {m.path: m for m in again.members if m.data}
    else:
        full = {}
    found: list[tuple[str, bytes]] = []
    for member in inner.members:
        if not member.data:
            continue
        body = full.get(member.path, member).data
        payload = _npy_pickle(body) if body.startswith(_NPY_MAGIC) else body
        if payload is not None:
            found.append((member.path, payload))
    return found


def pickle_payloads(data: bytes) -> list[tuple[str, bytes]]:
    """(inner name or "", pickle bytes) held by a model/pickle file, whatever its wrapping."""
    if data.startswith(b"PK\x03\x04"):
        return _zip_pickles(data)
    if data.startswith(_NPY_MAGIC):
        payload = _npy_pickle(data)
        return [] if payload is None else [("", payload)]
    inflated = _inflate(data)
    if inflated is not None:
        return [("", inflated)]
    return [("", data)]


def _pickle_facts(member: Member, info: FileInfo, base: Context, loaders: _Loaders, out: list[Fact]) -> None:
    reports: list[tuple[str, PickleReport]] = [
        (inner, scan_pickle(payload)) for inner, payload in pickle_payloads(member.data)
    ]
    if not any(report.calls for _, report in reports):
        return
    name = info.rel.rsplit("/", 1)[-1]
    context, where = loaders.context(name, base)
    loaded = f", loaded by {where}" if where else ""
    for inner, report in reports:
        label = f"pickle {inner} in {name}" if inner else f"pickle {name}"
        computed = report.calls_computed
        for call in report.calls:
            if call.danger is Danger.EXEC and call.called:
                cap = Cap.SERIALIZED_EXEC
                what = f"calls {call.text} when loaded"
            elif call.danger is Danger.EXEC or (call.danger is Danger.RISKY and call.called):
                cap = Cap.SERIALIZED_CALL
                what = f"{'calls' if call.called else 'names'} {call.text} when loaded"
            elif call.danger is Danger.INDIRECT and call.called and computed:
                cap = Cap.SERIALIZED_CALL
                what = f"looks up a callable with {call.text} and calls it when loaded"
            else:
                continue
            out.append(Fact(cap, member.path, None, context, f"{label} {what}{loaded}"))


# ---- YAML ----------------------------------------------------------------------------------------
def _yaml_facts(member: Member, info: FileInfo, base: Context, loaders: _Loaders, out: list[Fact]) -> None:
    data = member.data
    if b"python/" not in data:
        return  # one C pass rules out nearly every YAML file
    context: Context | None = None
    where = ""
    for match in _YAML_TAG.finditer(data):
        kind = match.group(1).decode()
        path = match.group(2).decode()
        module, _, attr = path.rpartition(".") if kind != "module" else (path, "", "")
        danger = classify_callable(module or path, attr)
        called = kind in ("object/apply", "object/new")
        if danger is Danger.EXEC and called:
            cap = Cap.SERIALIZED_EXEC
        elif danger in (Danger.EXEC, Danger.INDIRECT) or (danger is Danger.RISKY and called):
            cap = Cap.SERIALIZED_CALL
        else:
            continue
        if context is None:
            context, where = loaders.context(info.rel.rsplit("/", 1)[-1], base)
        line = data.count(b"\n", 0, match.start()) + 1
        loaded = f", loaded by {where}" if where else ""
        verb = "calls" if called else "names"
        detail = f"YAML tag python/{kind} {verb} {path} when loaded unsafely{loaded}"
        out.append(Fact(cap, member.path, line, context, detail))


# ---- bytecode without source ---------------------------------------------------------------------
def _stem(rel: str) -> str:
    folder, _, base = rel.rpartition("/")
    return f"{folder}/{base.split('.', 1)[0]}" if folder else base.split(".", 1)[0]


def _bytecode_facts(
    member: Member,
    info: FileInfo,
    base: Context,
    kind: ArtifactKind,
    sources: frozenset[str],
    packages: frozenset[str] | None,
    yara: YaraRules,
    out: list[Fact],
) -> None:
    parts = info.rel.split("/")
    data = member.data
    if len(data) < 16:
        return
    if data[2:4] != b"\r\n":
        # Every .pyc starts with a 2-byte magic number and CR LF: anything else is a blob kept
        # where reviewers (and most tools) never look, for code of its own to read.
        detail = f"{info.rel} is named like compiled bytecode but is not bytecode"
        out.append(Fact(Cap.FAKE_BYTECODE, member.path, None, base, detail))
        return
    # Only a legacy-location .pyc imports without its source (PEP 3147); one in __pycache__ is
    # a stale cache. A .py, .pyx or extension module of the same name takes precedence.
    if "__pycache__" in parts or _stem(info.rel) in sources:
        return
    _, context = classify(info.rel[:-1], kind, packages)
    if base is Context.DEV or "!/" in member.path:
        context = base  # installers never unpack an archive inside the artifact
    out.append(
        Fact(
            Cap.SOURCELESS_BYTECODE,
            member.path,
            None,
            context,
            f"{info.rel} is compiled bytecode shipped without its source: importable, not reviewable",
        )
    )
    # Names and string constants sit in the marshalled code as plain bytes: the byte rules see
    # URLs, commands and credential paths there without unmarshalling anything.
    for hit in yara.scan(data):
        if hit.cap is None:
            continue
        if hit.cap is Cap.RAW_IP_URL and _PRIVATE_IP.search(data, hit.offset, hit.offset + hit.length + 8):
            continue
        detail = f"in sourceless bytecode: {hit.detail} [{hit.rule}]"
        out.append(Fact(hit.cap, member.path, None, context, detail))


# ---- archives and programs named like data -------------------------------------------------------
def _disguised_facts(
    member: Member, info: FileInfo, base: Context, loaders: _Loaders, out: list[Fact]
) -> None:
    head = member.data[:64]
    label = next((text for magic, text in _ARCHIVE_MAGIC if head.startswith(magic)), None)
    cap = Cap.DISGUISED_ARCHIVE
    if label is None:
        binary = executable_kind(head)
        label = binary.value if binary else None
        cap = Cap.DISGUISED_BINARY
    if label is None:
        return
    name = info.rel.rsplit("/", 1)[-1]
    out.append(Fact(cap, member.path, None, base, f"{name} is named like data but holds a {label}"))
    _load_fact(name, f"a {label} named like data", "is loaded as code", _CODE_LOADING, loaders, out)


def _imported_archive_facts(member: Member, info: FileInfo, loaders: _Loaders, out: list[Fact]) -> None:
    """A zip under a name that is neither data nor an archive name (a `.crt`, a `.so`, no suffix)
    is only worth a word once code imports from it: zipimport, or a place on `sys.path`."""
    if not member.data.startswith(b"PK\x03\x04"):
        return
    name = info.rel.rsplit("/", 1)[-1]
    what = "a zip archive under a name that does not say so"
    _load_fact(name, what, "is imported from", _IMPORT_LOADING, loaders, out)


def _load_fact(
    name: str, what: str, verb: str, loading: re.Pattern[bytes], loaders: _Loaders, out: list[Fact]
) -> None:
    """A DISGUISED_LOAD fact at the first place library code names `name` within `LOADER_WINDOW`
    lines of a call `loading` matches."""
    for loader, line, context in loaders.references(name):
        lines = loader.data.split(b"\n")
        window = b"\n".join(lines[max(0, line - 1 - LOADER_WINDOW) : line + LOADER_WINDOW])
        match = loading.search(window)
        if match is not None:
            detail = f"{name} ({what}) {verb} ({match.group(0).decode('latin-1')}) by {loader.rel}"
            out.append(Fact(Cap.DISGUISED_LOAD, loader.path, line, context, detail))
            return


def _is_binary_model(data: bytes) -> bool:
    # A torch `.pth` is a zip or a pickle; a start-up `.pth` is text (and stays with the
    # start-up analysis either way).
    return data.startswith(b"PK\x03\x04") or (len(data) > 1 and data[0] == 0x80 and data[1] <= 5)


def carrier_facts(
    kind: ArtifactKind, files: Sequence[tuple[Member, FileInfo]], yara: YaraRules
) -> list[Fact]:
    """Facts from every carrier in the artifact; contexts must already be final."""
    out: list[Fact] = []
    loaders = _Loaders([info for _, info in files if info.type is FileType.PYTHON])
    rels = [info.rel for _, info in files]
    sources = frozenset(_stem(r) for r in rels if r.lower().endswith((".py", ".pyw", ".pyx", ".so", ".pyd")))
    packages = (
        frozenset(r.rsplit("/", 1)[0] for r in rels if r.endswith(("/__init__.py", "/__init__.pyc")))
        if kind is ArtifactKind.SDIST
        else None
    )
    # the wrapper folder of an sdist (`name-1.0/`): a member's path is that plus its rel
    strip = next(
        (m.path[: len(m.path) - len(i.rel)] for m, i in files if "!/" not in m.path and i.rel),
        "",
    )
    imported_checks = 0
    for member, info in files:
        lower = info.rel.rsplit("/", 1)[-1].lower()
        if not member.data:
            continue
        base = _base_context(member.path, info.rel, strip)
        if lower.endswith(PICKLE_SUFFIXES) and (not lower.endswith(".pth") or _is_binary_model(member.data)):
            _pickle_facts(member, info, base, loaders, out)
        elif lower.endswith(BYTECODE_SUFFIX):
            _bytecode_facts(member, info, base, kind, sources, packages, yara, out)
        if lower.endswith(YAML_SUFFIXES):
            _yaml_facts(member, info, base, loaders, out)
        if lower.endswith(DATA_SUFFIXES):
            _disguised_facts(member, info, base, loaders, out)
        elif (
            info.type is not FileType.PYTHON
            and not lower.endswith(ARCHIVE_SUFFIXES)
            and member.data.startswith(b"PK\x03\x04")
            and imported_checks < MAX_IMPORTED_ARCHIVE_CHECKS
        ):
            imported_checks += 1
            _imported_archive_facts(member, info, loaders, out)
    return out


__all__ = ["CARRIER_BYTES", "carrier_bytes", "carrier_facts", "pickle_payloads"]
