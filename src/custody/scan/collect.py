"""Turn an artifact's members into facts: Python AST, text fallback, YARA, start-up files, binaries."""

from __future__ import annotations

import ast
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial

from custody.artifacts import NO_DEADLINE, Artifact, Deadline, LimitKind, Member, Unread
from custody.scan.bare_sinks import with_bare_sinks
from custody.scan.carriers import carrier_facts
from custody.scan.export_slice import slice_may_hold
from custody.scan.facts import Cap, Fact, FlowFact, Trait
from custody.scan.flow import Summary, returns_source
from custody.scan.indent_context import IndentContext, in_docstring, sink_may_run_unasked
from custody.scan.install_hooks import install_hooks
from custody.scan.model import Context
from custody.scan.python_ast import (
    ImportedDefinitions,
    PythonAnalysis,
    analyze_python,
    entropy,
    flow_summaries,
    flows_with_imports,
    module_definitions,
    within_prose,
)
from custody.scan.python_text import FOLDING_BYTES, folded_identifier, text_facts
from custody.scan.reuse import ModuleKey, ModuleMemo, ModuleResult, module_result
from custody.scan.roles import (
    SOURCE_KINDS,
    ExecutableFormat,
    FileType,
    classify,
    executable_kind,
    extension_module_path,
    from_imports,
    imported_modules,
    module_file_candidates,
    module_level_calls,
    package_dirs,
    relative_path,
    top_level_imported_modules,
)
from custody.scan.syntax import parse_python
from custody.scan.yara_rules import SOURCE_HINT, PatternScan, PatternTimeout, YaraHit, YaraRules
from custody.startup_files import pth_executed_by, site_toml_entries, start_entries

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover - exercised on 3.10 only
    pass

MAX_NESTED_DEPTH = 3
SMALL_SOURCE = 3 * 1024
MAX_AST_BYTES = 2 * 1024 * 1024
"""Larger sources get the text analysis: parsing them costs seconds and they are data, not code."""
KEPT_TREE_BYTES = 4 << 20
"""Source bytes per artifact whose syntax trees are kept after their analysis for the value flow
across modules, which would otherwise parse them again (a tree takes about 15 times its source)."""
HUGE_LINE = 20_000
LINE_TEXT_BYTES = 8192
"""Bytes of a line decoded for snippets and comment checks."""
STRONG_TEXT_CAPS = frozenset(
    {
        Cap.EXE_URL,
        Cap.EXFIL_SINK,
        Cap.DOWNLOAD_TOOL,
        Cap.HIDDEN_SHELL,
        Cap.XOR_DECRYPT,
        Cap.ENCODED_URL,
        Cap.CHAR_CODES,
        Cap.PERSISTENCE,
        Cap.RAW_UPLOAD,
    }
)
_ANALYSE_ANYWHERE = frozenset({"constant-recipient", "decode-and-exec"})
"""YARA marks (sinks.yar) of code shapes judged by the full analysis wherever in a module they sit."""
_PADDED_CODE = re.compile(rb"\S[ \t]{150,}(?:import |exec\(|eval\(|__import__|base64|;)[^\n]{10,}")
"""Code pushed far right on a line, out of an editor's view. Read here, not by a YARA rule: a pad of
thousands of spaces is longer than a YARA match may be, so the rule missed exactly the widest pads."""
_PAD_RUNS = (b" " * 150, b"\t" * 150)
"""Cheap guards (a substring search is ~300x faster than the regex): a file without such a run of
one kind of blank has nothing to find. A pad that alternates spaces and tabs is not caught."""
_BIDI = re.compile(rb"\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]")
_ZERO_WIDTH = re.compile(rb"\xe2\x80[\x8b-\x8d]")
_PRIVATE_IP = re.compile(rb"://(127\.|0\.|10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|255\.|169\.254\.)")


UNASKED_CONTEXTS = frozenset({Context.STARTUP, Context.INSTALL, Context.IMPORT})
ContextFn = Callable[[int | None], Context]


@dataclass(slots=True, kw_only=True)
class FileInfo:
    """One member read for analysis: where it is, its type and context, its bytes.

    An accumulator: the collector moves `context` when it learns how the file runs (imported or
    run by an install hook), and `lines` is split on first use."""

    path: str
    rel: str
    type: FileType
    context: Context
    lines: list[bytes] | None = None
    data: bytes = b""

    def line_text(self, line: int | None) -> str:
        """Line `line` (1-based) cut to `LINE_TEXT_BYTES` and stripped, for a finding's snippet;
        "" when there is no such line."""
        if line is None or not self.data:
            return ""
        if self.lines is None:
            self.lines = self.data.split(b"\n")
        if 1 <= line <= len(self.lines):
            # Snippets are cut to 200 characters; decoding a 16 MiB line for each finding on it
            # made a hostile one-line file cost seconds per finding.
            return self.lines[line - 1][:LINE_TEXT_BYTES].decode("utf-8", "replace").strip()
        return ""


@dataclass(slots=True, kw_only=True)
class Collected:
    """What the analysis of one artifact collected: an accumulator every analyser adds facts,
    files, hits, flows and gaps to, member by member."""

    facts: list[Fact] = field(default_factory=list)
    files: dict[str, FileInfo] = field(default_factory=dict)
    user_hits: list[tuple[str, YaraHit, int]] = field(default_factory=list)
    executables: list[tuple[str, ExecutableFormat]] = field(default_factory=list)
    startup_lines: list[tuple[str, int, str]] = field(default_factory=list)
    """(file, line, text) of code that runs at interpreter start-up."""
    flows: list[FlowFact] = field(default_factory=list)
    """Source-to-sink value flows found by the Python analysis."""
    unread: list[Unread] = field(default_factory=list)
    """What the analysis left out: members past the deadline, pattern timeouts, sources too large
    for the syntax tree. The reader's own gaps are in `Artifact.unread`."""
    marks: dict[str, frozenset[str]] = field(default_factory=dict)
    """The internal pattern marks (`PatternScan.marks`) of every Python member the pattern pass
    read, by member path: later readers of the same sources skip those without their mark. Only
    for paths one member has (never for two members of one name)."""
    trees: dict[str, ast.Module] = field(default_factory=dict)
    """Syntax trees of the analysed modules by member path (up to KEPT_TREE_BYTES of source, paths
    one member has): the value flow across modules and the reader of setup.py's declarations use
    them instead of parsing the same source again."""


class _OutOfTime(Exception):
    """The target's deadline passed: stop analysing and report the rest as unread."""


MAX_CROSS_MODULE_IMPORTERS = 24
"""Modules per artifact followed again with their imported helpers' summaries (see
`Collector._flows_across_modules`)."""
_CONTEXT_ORDER = {Context.STARTUP: 0, Context.INSTALL: 1, Context.IMPORT: 2, Context.CALL: 3, Context.DEV: 4}
# `f(` or `m.g(` (not `x.m.g(`): the names a module calls, for matching its imports
_CALL_NAMES = re.compile(rb"(?<![\w.])([A-Za-z_]\w*+)(?:\.([A-Za-z_]\w*+))?[ \t]*\(")
# Words that name a source a chain could start from (a pre-check, not a rule: a module without
# any of them and without a sink cannot hold either end of a chain across modules).


_EXEC_LINE = re.compile(rb"(?<![\w.])(?:exec|eval|compile)\s*\(([^\n]*)")
_WORD = re.compile(rb"[A-Za-z_]\w*")
MAX_IMPORTED_DEFINITION_MODULES = 8
"""Sibling modules read for one module's executed names: payloads and decoders sit in one or two."""
_PTH_DYNAMIC_IMPORT = re.compile(
    r"(?:__import__|import_module)\(\s*['\"]([A-Za-z_][\w.]*)['\"]\s*\)(?:\s*\.\s*([A-Za-z_]\w*)\s*\()?"
)
_CALL_AFTER_NAME = re.compile(rb"[ \t]*\(|\.([A-Za-z_]\w*)[ \t]*\(")


def _calls_of(data: bytes, names: frozenset[str]) -> Iterator[tuple[str, str]]:
    """(name, attribute or "") for each `f(` and `m.g(` call of these names in `data`: found by
    a plain byte search for each name, which is cheaper than compiling a pattern for the names
    each module imports (a different set in almost every module)."""
    for name in names:
        encoded = name.encode()
        at = data.find(encoded)
        while at >= 0:
            end = at + len(encoded)
            before = data[at - 1 : at] if at else b""
            if not (before.isalnum() or before in (b"_", b".")):
                after = _CALL_AFTER_NAME.match(data, end)
                if after is not None:
                    attribute = after.group(1)
                    yield name, attribute.decode() if attribute else ""
            at = data.find(encoded, end)


def _from_imports(package: str, source: bytes) -> list[tuple[str, str, str]]:
    return from_imports(source, package)


@dataclass(frozen=True, slots=True)
class _Summaries:
    """Function summaries of a helper module as the memo keeps them (read only once made)."""

    by_name: dict[str, Summary]


@dataclass(frozen=True, slots=True)
class _LevelCalls:
    """A kept `module_level_calls` result with the answers its `keep` gave, in the order asked."""

    asked: tuple[tuple[str, bool], ...]
    calls: dict[str, set[str]]


def _no_twins(rels: list[str]) -> bool:
    """No Python module or compiled extension under `src/` has a twin of the same path outside it."""
    modules = [rel for rel in rels if rel.endswith((".py", ".so", ".pyd"))]
    inside = {rel[4:] for rel in modules if rel.startswith("src/")}
    return inside.isdisjoint(rel for rel in modules if not rel.startswith("src/"))


def _flow_key(fact: FlowFact) -> tuple[str, str, str, int, str | None]:
    flow = fact.flow
    return (fact.file, flow.source.value, flow.sink.value, flow.line, flow.destination.host)


def _may_have_huge_line(raw: bytes) -> bool:
    """Whether a line of `raw` may be longer than HUGE_LINE: a line that long holds a whole aligned
    stretch of HUGE_LINE/2 bytes without a newline. Looking for one costs a few bytes per stretch
    (the search stops at the first newline); splitting every large file into lines cost seconds."""
    half = HUGE_LINE // 2
    find = raw.find
    return any(find(b"\n", start, start + half) < 0 for start in range(0, len(raw) - half + 1, half))


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


class Collector:
    """Runs every analyser over one artifact's members into a `Collected`, within a deadline."""

    def __init__(
        self,
        artifact: Artifact,
        yara: YaraRules,
        deadline: Deadline = NO_DEADLINE,
        memo: ModuleMemo | None = None,
    ) -> None:
        self.artifact = artifact
        self.yara = yara
        self.deadline = deadline
        self.memo = memo
        # set when an analysis read what sibling modules define (`_imported_definitions`): its
        # result depends on more than the module and is not kept in the memo
        self._read_siblings = False
        self.out = Collected()
        # Paths more than one member has (an archive may hold two `pkg/x.py`): what is kept by
        # path for later readers (`Collected.marks`, `Collected.trees`) would stand for both.
        counts = Counter(m.path for m in artifact.members)
        self._shared_paths = {path for path, count in counts.items() if count > 1}
        self.startup_modules: dict[str, set[str]] = {}
        self.roots: dict[str, set[str]] = {}
        self.as_main: set[str] = set()
        # YARA results of top-level Python files, scanned once up front (their internal marks
        # decide contexts before any file is analysed) and used again by `_python`, with the
        # bytes they were scanned from: two members may share a path, and each is judged by its own.
        self.prescanned: dict[str, tuple[bytes, PatternScan]] = {}
        # Value flow across modules: each module's from-imports, the modules the pattern scan saw
        # a sink in, and function summaries computed when an importer needs them.
        self.imported_from: dict[str, list[tuple[str, str, str]]] = {}
        self.sinks_in: set[str] = set()
        self._chain_ends: dict[str, tuple[bool, bool]] = {}
        # where in a module either end of a chain could sit (PatternScan.ends), for summaries
        self._end_offsets: dict[str, tuple[int, ...] | None] = {}
        self.summaries: dict[str, dict[str, Summary]] = {}
        self.by_module: dict[str, FileInfo] = {}
        self._module_files: dict[str, FileInfo | None] = {}
        self._module_dirs: set[str] | None = None
        self._src_layout = False
        self._level_calls: dict[str, dict[str, set[str]]] = {}
        # Syntax trees a pre-check parsed (`_only_in_prose`), handed to the analysis of that file.
        self.parsed: dict[str, ast.Module] = {}
        # Syntax trees of analysed modules, for the value flow across modules (KEPT_TREE_BYTES).
        self._trees = self.out.trees
        self._tree_bytes = 0
        self._split: tuple[bytes, list[bytes]] | None = None  # the last source split, see `_lines`

    def run(self) -> Collected:
        """Analyse the artifact and return what was collected (members past the deadline are
        listed as unread, never dropped)."""
        try:
            self._run()
        except _OutOfTime:
            self.out.unread.append(Unread(path="", limit=LimitKind.SCAN_TIME, rest=True))
        return self.out

    def _tick(self) -> None:
        if self.deadline.expired():
            raise _OutOfTime

    def _guarded(self, member: Member, work: Callable[[], object]) -> None:
        """Run one member's analysis; a pattern timeout leaves that member unread, not harmless."""
        self._tick()
        try:
            work()
        except PatternTimeout as exc:
            self._pattern_timeout(member, exc)

    def _pattern_timeout(self, member: Member, exc: PatternTimeout) -> None:
        if exc.by_deadline or self.deadline.expired():
            raise _OutOfTime from exc  # the target, not this member, ran out of time
        self.out.unread.append(Unread(path=member.path, limit=LimitKind.PATTERN_TIME, size=member.size))

    def _run(self) -> None:
        members = [m for m in self.artifact.members if m.data]
        infos: list[tuple[Member, FileInfo]] = []
        rels = [relative_path(m.path, self.artifact.strip_prefix) for m in members]
        packages = (
            # every member: an empty `__init__.py` makes its folder a package all the same
            package_dirs([relative_path(m.path, self.artifact.strip_prefix) for m in self.artifact.members])
            if self.artifact.kind in SOURCE_KINDS
            else None
        )
        hooks = install_hooks(self.artifact)
        # an sdist's `src/` is a layout folder unless it is a package itself (`src/__init__.py`,
        # which setup.py then maps to the real name): see `_package_of`
        self._src_layout = packages is not None and "src" not in packages and _no_twins(rels)
        for member, rel in zip(members, rels, strict=True):
            ftype, context = classify(rel, self.artifact.kind, packages, self.artifact.name)
            info = FileInfo(path=member.path, rel=rel, type=ftype, context=context, data=member.data)
            if ftype is FileType.PYTHON and rel in hooks:
                # a build backend or build hook of the sdist: the installer runs it, like setup.py
                info.context = Context.INSTALL
                self.roots.setdefault(member.path, set()).update(hooks[rel])
            self.out.files[member.path] = info
            infos.append((member, info))
        # Start-up files first: the modules they import run at start-up too.
        for member, info in infos:
            if info.type in (FileType.PTH, FileType.SITE_TOML, FileType.START):
                self._guarded(member, partial(self._startup_file, member, info))
        by_rel = {info.rel: info for _, info in infos if info.type is FileType.PYTHON}
        # test or docs modules that library code imports first: they are library code, whose
        # from-imports the value flow across modules follows
        self._library_imports_of_dev_files(by_rel)
        self._find_imports(by_rel)
        self._imported_by_packages(by_rel)
        # start-up modules first: what they call at their top level runs at start-up too
        self._promote(self.startup_modules, by_rel, Context.STARTUP)
        self._called_across_modules(by_rel)
        # setup.py next: the package modules it imports run at install time too.
        done: set[str] = set()
        for member, info in infos:
            if (
                info.type is FileType.PYTHON
                and info.context is Context.INSTALL
                and (info.rel == "setup.py" or info.rel in hooks)
            ):
                done.add(member.path)
                self._tick()
                try:
                    analysis = self._python(member.data, info, Context.INSTALL, depth=0, line_base=None)
                except PatternTimeout as exc:
                    self._pattern_timeout(member, exc)
                    continue
                if analysis is not None:
                    local = {m: analysis.imported_names.get(m, set()) for m in analysis.imports}
                    local.update({m: n for m, n in analysis.imported_names.items() if not m.startswith(".")})
                    self._promote(local, by_rel, Context.INSTALL)
                    for module in analysis.run_modules:
                        self._promote({module: set()}, by_rel, Context.INSTALL, even_dev=True)
                        self.as_main.update(c for c in module_file_candidates(module))
        for member, info in infos:
            if member.path in done or info.type in (FileType.PTH, FileType.SITE_TOML, FileType.START):
                continue
            self._guarded(member, partial(self._member, member, info))
        self._flows_across_modules(infos)
        self._compiled_modules_imported(infos, by_rel)
        # Pickles, YAML, sourceless bytecode, disguised archives: after the contexts are final,
        # since a carrier takes the context of the code that loads it.
        self.out.facts.extend(carrier_facts(self.artifact.kind, infos, self.yara))

    def _package_of(self, rel: str) -> str:
        """The folder of the module at `rel` (a slash path) that its relative imports resolve
        against. In a source distribution a leading `src/` is the layout's folder, not part of
        any module name (an installed `src/pkg/a.py` is `pkg.a`): leaving it out names every
        import as the wheel of the same release names it, so the passes keyed by folder
        (`_top_level_calls`, `from_imports`) find the wheel's results in the memo. Every lookup
        of a named module tries it with and without `src/`, so that finds the same file as long
        as no module has a twin outside `src/` (`src/pkg/net.py` and `pkg/net.py`: a decoy copy
        would then answer `from .net import send` in `src/pkg/__init__.py`); with one, or when
        `src/` is itself a package (it has an `__init__.py`; its modules import each other as
        `from . import x`), the folder is taken as it is."""
        package = rel.rsplit("/", 1)[0] if "/" in rel else ""
        if self._src_layout and (package == "src" or package.startswith("src/")):
            return package[4:]
        return package

    def _module_file(self, module: str) -> FileInfo | None:
        """The Python file of this artifact a dotted module name imports, if any (memoised: the
        modules of a package import the same few modules, name by name)."""
        if module in self._module_files:
            return self._module_files[module]
        found: FileInfo | None = None
        for candidate in module_file_candidates(module):
            found = self.by_module.get(candidate) or self.by_module.get(f"src/{candidate}")
            if found is not None:
                break
        self._module_files[module] = found
        return found

    def _names_a_module_here(self, module: str) -> bool:
        """A dotted module name that is, or is inside, a module of this artifact (`from . import m`
        names the package, whose submodule m may be the file)."""
        if self._module_file(module) is not None:
            return True
        if self._module_dirs is None:  # folders holding this artifact's Python files, once
            self._module_dirs = set()
            for rel in self.by_module:
                parts = rel.split("/")[:-1]
                for end in range(1, len(parts) + 1):
                    self._module_dirs.add("/".join(parts[:end]))
                    if parts[0] == "src" and end > 1:
                        self._module_dirs.add("/".join(parts[1:end]))
        return module.replace(".", "/") in self._module_dirs

    def _find_imports(self, by_rel: dict[str, FileInfo]) -> None:
        """Every module's `from M import name` lines, for following values across modules."""
        self.by_module = by_rel
        self._module_files = {}
        self._module_dirs = None
        for rel, info in by_rel.items():
            if info.context is Context.DEV:
                continue
            package = self._package_of(rel)
            imports = (
                self.memo.derived(info.data, f"from-imports:{package}", partial(_from_imports, package))
                if self.memo is not None
                else from_imports(info.data, package)
            )
            if imports:
                self.imported_from[info.path] = imports

    def _ends(self, info: FileInfo) -> tuple[bool, bool]:
        """(a sink the pattern scan saw, a word that names a source) in a module: whether it can
        hold either end of a chain across modules (memoised per file)."""
        known = self._chain_ends.get(info.path)
        if known is None:
            # not pattern-scanned (its analysis stopped early, and is reported unread): it may
            # hold either end, so its helpers are followed rather than assumed harmless
            known = (True, True)
            self._chain_ends[info.path] = known
        return known

    def _called_helpers(self, info: FileInfo) -> list[tuple[str, FileInfo, str]]:
        """(name this module calls, module that defines it, its name there) for every imported
        helper the module calls: `f(` for `from m import f`, `m.g(` for `from . import m`, any
        called name for `from m import *`."""
        # (local name, the module file, True when the local name is that module itself)
        targets: list[tuple[str, FileInfo, bool, str]] = []
        for module, name, local in self.imported_from.get(info.path, ()):
            submodule = self._module_file(f"{module}.{name}") if name != "*" else None
            if submodule is not None:
                if submodule is not info:
                    targets.append((local, submodule, True, name))
                continue
            owner = self._module_file(module)
            if owner is not None and owner is not info:
                targets.append((local, owner, False, name))
        # Only helpers whose module holds a sink or a source can carry a chain; a module with
        # neither itself must call both kinds to wire one. A helper with a source word and no
        # sink can only hand a secret to a sink, so it matters only next to one (in this module
        # or another helper); a helper with a sink may also be the source end (a download).
        sink, source = self._ends(info)
        helper_sink = any(self._ends(t[1])[0] for t in targets)
        targets = [
            t for t in targets if self._ends(t[1])[0] or (self._ends(t[1])[1] and (sink or helper_sink))
        ]
        if not targets or not (
            sink
            or source
            or (any(self._ends(t[1])[0] for t in targets) and any(self._ends(t[1])[1] for t in targets))
        ):
            return []
        by_head: dict[str, set[str]] = {}  # `f` -> {""}, `m` -> {"g"} for every `f(` and `m.g(`
        if any(name == "*" for _, _, _, name in targets):
            # a star import: any name may be one of its helpers
            for found in _CALL_NAMES.finditer(info.data):
                attribute = found.group(2)
                by_head.setdefault(found.group(1).decode(), set()).add(
                    attribute.decode() if attribute else ""
                )
        else:
            for head, attribute_name in _calls_of(info.data, frozenset(t[0] for t in targets)):
                by_head.setdefault(head, set()).add(attribute_name)
        calls: list[tuple[str, FileInfo, str]] = []
        for local, target, is_module, name in targets:
            if is_module:
                calls.extend((f"{local}.{a}", target, a) for a in by_head.get(local, ()) if a)
            elif name == "*":
                calls.extend((head, target, head) for head, attrs in by_head.items() if "" in attrs)
            elif "" in by_head.get(local, ()):
                calls.append((local, target, name))
        return calls

    def _flows_across_modules(self, infos: list[tuple[Member, FileInfo]]) -> None:
        """Follow values into functions of other modules. The helpers each module calls are
        summarised in their own module, only those and what they call (which parameter reaches
        which sink and host, what the result carries); a module whose helpers can complete a
        chain there (one that sends or runs what it is given, next to a source: a source word in
        the module or a helper that returns one; or the other way round) is followed again with
        those summaries. One level: a helper is summarised without the helpers it imports. A
        helper module with neither a sink nor a source word is not summarised, nor one whose sink
        and source words all sit in functions and classes the summaries leave out
        (`custody.scan.export_slice.slice_may_hold`).

        A bound, like the three levels of helpers within a module: at most
        `MAX_CROSS_MODULE_IMPORTERS` importers per artifact, those that run earliest first
        (start-up, install, import, then call), and as many helper modules summarised. Packages
        with more are large libraries; the malware this is for wires a handful of modules."""
        calls: dict[str, list[tuple[str, FileInfo, str]]] = {}
        wanted: dict[str, set[str]] = {}
        owners: dict[str, FileInfo] = {}
        python = [i for _, i in infos if i.type is FileType.PYTHON and i.context is not Context.DEV]
        python.sort(key=lambda i: _CONTEXT_ORDER[i.context])
        for info in python:
            if len(calls) >= MAX_CROSS_MODULE_IMPORTERS:
                break
            found = self._called_helpers(info)
            if found:
                calls[info.path] = found
                for _, owner, name in found:
                    wanted.setdefault(owner.path, set()).add(name)
                    owners[owner.path] = owner
        for path, names in list(wanted.items())[:MAX_CROSS_MODULE_IMPORTERS]:
            self._tick()
            self.summaries[path] = self._summaries_of(owners[path], frozenset(names))
        if not any(self.summaries.values()):
            return
        known = {_flow_key(f) for f in self.out.flows}
        for member, info in infos:
            imported = {
                local: summary
                for local, owner, name in calls.get(info.path, ())
                if (summary := self.summaries.get(owner.path, {}).get(name)) is not None
            }
            if not imported:
                continue
            sinks = any(summary.param_sinks for summary in imported.values())
            sources = any(returns_source(summary) for summary in imported.values())
            hinted = any(self._ends(info))
            if not ((sinks and (hinted or sources)) or (sources and (hinted or sinks))):
                continue
            self._tick()
            roots = frozenset(self.roots.get(info.path, ()))
            tree = self._trees.get(info.path)
            for fact in flows_with_imports(member.data, info.path, info.context, roots, imported, tree=tree):
                key = _flow_key(fact)
                if key not in known:
                    known.add(key)
                    self.out.flows.append(fact)

    def _summaries_of(self, owner: FileInfo, names: frozenset[str]) -> dict[str, Summary]:
        """`flow_summaries` of the functions `names` of the helper module `owner`: none when every
        sink and source word of the module sits in code the summaries leave out. Kept in the memo
        by the module's bytes, its context and the names: summaries name no file, so they are the
        same in every artifact of a release. For that they are always made from a new parse, not
        from the tree an analysis of the module may have left (`_trees`): the analysis rewrites
        calls through wrappers in it with the whole module in view (`custody.scan.callables`),
        and a module replayed from the memo in the next artifact leaves no tree at all."""
        ends = self._end_offsets.get(owner.path)
        key = f"summaries:{owner.context.value}:{ends is not None}:" + ",".join(sorted(names))
        if self.memo is not None:
            kept = self.memo.kept(owner.data, key)
            if isinstance(kept, _Summaries):
                return kept.by_name
        if ends is not None and not slice_may_hold(owner.data, names, ends):
            found: dict[str, Summary] = {}
        else:
            found = flow_summaries(owner.data, owner.path, owner.context, names)
        if self.memo is not None:
            self.memo.keep(owner.data, key, _Summaries(found))
        return found

    def _compiled_modules_imported(
        self, infos: list[tuple[Member, FileInfo]], by_rel: dict[str, FileInfo]
    ) -> None:
        """Importing a compiled extension module runs its native initialisation (a Cython or
        Nuitka module runs its whole module body): a shipped one that unasked code imports at its
        top level is native code run at that time. The fact sits on the compiled file."""
        extensions: dict[str, str] = {}
        for member, info in infos:
            key = extension_module_path(info.rel)
            if key is not None and executable_kind(member.data[:64]) is not None:
                extensions.setdefault(key, member.path)
                extensions.setdefault(key.removeprefix("src/"), member.path)
        if not extensions:
            return
        for info in by_rel.values():
            if info.context not in UNASKED_CONTEXTS:
                continue
            package = self._package_of(info.rel)
            for module, line in top_level_imported_modules(info.data, package).items():
                target = extensions.get(module.replace(".", "/"))
                if target is not None:
                    detail = (
                        f"{info.rel}:{line} imports the compiled module {module} at {info.context.value} time"
                    )
                    self.out.facts.append(
                        Fact(Cap.NATIVE_LOAD, target, None, info.context, detail, trait=Trait.COMPILED_MODULE)
                    )

    def _library_imports_of_dev_files(self, by_rel: dict[str, FileInfo]) -> None:
        """A test or docs module that library code imports is library code: otherwise a package
        could keep its payload in `pkg/tests/x.py` and run it with `from .tests import x`."""
        # every path suffix of every dev file (`a/tests/x.py`, `tests/x.py`, `x.py`) -> the files
        by_suffix: dict[str, list[FileInfo]] = {}
        for rel, info in by_rel.items():
            if info.context is Context.DEV:
                parts = rel.split("/")
                for start in range(len(parts)):
                    by_suffix.setdefault("/".join(parts[start:]), []).append(info)
        if not by_suffix:
            return
        for rel, info in by_rel.items():
            if info.context is Context.DEV:
                continue
            self._tick()
            try:
                scanned = self._patterns(info.data)
            except PatternTimeout:
                continue  # scanned again (and reported if it times out again) by `_python`
            self.prescanned[info.path] = (info.data, scanned)
            if "dev-import" not in scanned.marks:
                continue
            package = self._package_of(rel)
            for module in imported_modules(info.data, package):
                for candidate in module_file_candidates(module):
                    for dev_info in by_suffix.get(candidate, ()):
                        dev_info.context = Context.IMPORT

    def _imported_by_packages(self, by_rel: dict[str, FileInfo]) -> None:
        """A module that a package's `__init__.py` imports runs at import, even from a folder that
        is not a package (no `__init__.py`) and would otherwise count as a script run by hand."""
        pending = [
            info
            for rel, info in by_rel.items()
            if rel.endswith("__init__.py") and info.context is Context.IMPORT
        ]
        while pending:
            importer = pending.pop()
            package = self._package_of(importer.rel)
            for module in imported_modules(importer.data, package):
                for candidate in module_file_candidates(module):
                    for rel in (candidate, f"src/{candidate}"):
                        target = by_rel.get(rel)
                        if target is not None and target.context is Context.CALL:
                            target.context = Context.IMPORT
                            pending.append(target)

    def _called_across_modules(self, by_rel: dict[str, FileInfo]) -> None:
        """`from .utils import f; f()` at the top of an imported module runs `f` at import: give `f`
        the importer's context in the module that defines it, through chains of such modules."""
        pending = [info for info in by_rel.values() if info.context in UNASKED_CONTEXTS]
        seen: set[str] = set()
        while pending:
            self._tick()
            importer = pending.pop()
            if importer.path in seen:
                continue
            seen.add(importer.path)
            package = self._package_of(importer.rel)
            found = self._level_calls.get(importer.path)
            if found is None:  # a module comes back here when its roots grow: read its text once
                found = self._top_level_calls(importer.data, package)
                self._level_calls[importer.path] = found
            calls = {module: set(names) for module, names in found.items()}
            for module, name, local in self.imported_from.get(importer.path, ()):
                # a root of this module that it only imports (`from ._impl import sync as boot`,
                # `boot` run by a .pth line) runs in the module that defines it
                if local in self.roots.get(importer.path, ()):
                    calls.setdefault(module, set()).add(name)
            for module, names in calls.items():
                for candidate in module_file_candidates(module):
                    for rel in (candidate, f"src/{candidate}"):
                        target = by_rel.get(rel)
                        if target is None or target is importer or target.context is Context.DEV:
                            continue
                        if target.context is Context.CALL or (
                            target.context is Context.IMPORT and importer.context is not Context.IMPORT
                        ):
                            target.context = importer.context
                        before = len(self.roots.get(target.path, ()))
                        self.roots.setdefault(target.path, set()).update(names)
                        if len(self.roots[target.path]) != before:
                            seen.discard(target.path)
                            pending.append(target)

    def _top_level_calls(self, data: bytes, package: str) -> dict[str, set[str]]:
        """`module_level_calls` of a module of this artifact, from the memo when the same bytes in
        the same folder were read before and each imported module it asked about is (or is not)
        a module here as it was then: the pass then takes the same steps to the same result."""
        keep = self._names_a_module_here
        if self.memo is None:
            return module_level_calls(data, package, keep=keep)
        name = f"level-calls:{package}"
        kept = self.memo.kept(data, name)
        if isinstance(kept, _LevelCalls) and all(keep(stem) is answer for stem, answer in kept.asked):
            return kept.calls
        asked: list[tuple[str, bool]] = []

        def recording(stem: str) -> bool:
            answer = keep(stem)
            asked.append((stem, answer))
            return answer

        calls = module_level_calls(data, package, keep=recording)
        self.memo.keep(data, name, _LevelCalls(tuple(asked), calls))
        return calls

    def _promote(
        self,
        modules: dict[str, set[str]],
        by_rel: dict[str, FileInfo],
        context: Context,
        *,
        even_dev: bool = False,
    ) -> None:
        """Give imported modules of this artifact the importer's context, with called names as roots.

        Test and docs modules keep their context unless `even_dev`: a module setup.py runs by name
        (`python -m pkg.tests.probe`) runs at install whatever its folder is called."""
        for module, names in modules.items():
            for candidate in module_file_candidates(module):
                for rel, info in by_rel.items():
                    if (rel == candidate or rel.endswith("/" + candidate)) and (
                        even_dev or info.context is not Context.DEV
                    ):
                        if info.context is not Context.STARTUP:
                            info.context = context
                        self.roots.setdefault(info.path, set()).update(names)

    # ---- per type ----------------------------------------------------------------------------
    def _member(self, member: Member, info: FileInfo) -> None:
        data = member.data
        if (
            info.type is FileType.PYTHON
            and info.context is Context.STARTUP
            and info.rel.rsplit("/", 1)[-1] in ("sitecustomize.py", "usercustomize.py", "__init__.py")
            and info.rel.split("/", 1)[0].removesuffix(".py") in ("sitecustomize", "usercustomize")
        ):
            self.out.facts.append(
                Fact(
                    Cap.STARTUP_CODE,
                    member.path,
                    1,
                    Context.STARTUP,
                    f"{info.rel} is imported at every start",
                )
            )
        if info.type is FileType.PYTHON:
            self._module(data, info)
            return
        if info.type in (FileType.OTHER, FileType.METADATA, FileType.BINARY) or not member.complete:
            # Data and metadata files do not run; only their magic number matters.
            kind = executable_kind(data[:64])
            if kind is not None:
                self.out.executables.append((member.path, kind))
            return
        if info.type is FileType.PACKAGE_JSON:
            self._package_json(data, info)
        context = info.context
        self._yara(data, info, lambda _line: context, line_base=None)
        if info.type is FileType.JAVASCRIPT:
            self._javascript(data, info)

    def _python(
        self, data: bytes | str, info: FileInfo, base: Context, depth: int, line_base: int | None
    ) -> PythonAnalysis | None:
        raw = data if isinstance(data, bytes) else data.encode("utf-8", "replace")
        cached = self.prescanned.pop(info.path, None) if depth == 0 else None
        if cached is not None and cached[0] is raw:
            scanned = cached[1]
        else:
            scanned = (
                self._patterns(raw)
                if depth == 0
                else with_bare_sinks(self.yara.scan_with_sinks(raw, self.deadline), raw)
            )
        hits, sinks, marks = scanned.hits, scanned.sinks, scanned.marks
        prefix = "decoded payload: " if depth > 0 else ""
        if depth == 0:
            if info.path not in self._shared_paths:
                self.out.marks[info.path] = marks
            if sinks:
                self.sinks_in.add(info.path)
            self._chain_ends[info.path] = (bool(sinks), SOURCE_HINT in marks)
            self._end_offsets[info.path] = scanned.ends
        if depth == 0 and not self._needs_ast(raw, info, base, sinks, hits, marks):
            self.parsed.pop(info.path, None)
            # Library or dev code whose dangerous calls all sit in function bodies: strings and
            # text patterns with an indentation-based context are enough, and far cheaper.
            estimate = self._estimate(raw, base)
            hits = [h for h in hits if not in_docstring(raw, h.offset)]
            self._yara_hits(raw, hits, info, estimate, None)
            self._text_obfuscation(raw, info, base, None)
            return None
        roots = frozenset(self.roots.get(info.path, ())) if depth == 0 else frozenset()
        as_main = depth == 0 and self._runs_as_main(info, base)
        tree = self.parsed.pop(info.path, None) if depth == 0 else None
        imported = self._imported_definitions(raw, info) if depth == 0 else None
        if tree is None and len(raw) <= MAX_AST_BYTES:
            tree = parse_python(raw)
        analysis = (
            analyze_python(raw, info.path, base, roots, runs_as_main=as_main, tree=tree, imported=imported)
            if tree is not None
            else None
        )
        if (
            depth == 0
            and tree is not None
            and self._tree_bytes + len(raw) <= KEPT_TREE_BYTES
            and info.path not in self._shared_paths
        ):
            # the value flow across modules may summarise or follow this module again
            self._trees[info.path] = tree
            self._tree_bytes += len(raw)
        if depth == 0 and analysis is not None and analysis.flow_skipped:
            self.out.unread.append(
                Unread(path=info.path, limit=LimitKind.FLOW_SIZE, size=len(raw), loaded=len(raw))
            )
        if depth == 0 and len(raw) > MAX_AST_BYTES:
            # Text patterns still see every byte, but encoded payloads are not decoded and
            # contexts are estimated: the coverage check decides whether that matters here.
            self.out.unread.append(
                Unread(path=info.path, limit=LimitKind.AST_SIZE, size=len(raw), loaded=len(raw))
            )
        if analysis is None:
            estimate = self._estimate(raw, base)
            facts = text_facts(raw, info.path, base)
            if line_base is not None:
                facts = [replace(f, line=line_base, detail=prefix + f.detail) for f in facts]
            else:
                facts = [replace(f, context=estimate(f.line)) for f in facts]
            self.out.facts.extend(facts)
            self._yara_hits(
                raw, hits, info, estimate if line_base is None else (lambda _line: base), line_base, prefix
            )
            self._text_obfuscation(raw, info, base, line_base)
            return None
        if line_base is not None:
            self.out.facts.extend(
                replace(f, line=line_base, detail=prefix + f.detail) for f in analysis.facts
            )
            self.out.flows.extend(
                FlowFact(replace(f.flow, line=line_base), f.file, f.context) for f in analysis.flows
            )
        else:
            self.out.facts.extend(analysis.facts)
            self.out.flows.extend(analysis.flows)
        if line_base is None and analysis.text_ranges:
            hits = [h for h in hits if not analysis.in_text(_line_of(raw, h.offset))]
        self._yara_hits(raw, hits, info, analysis.context_at, line_base, prefix)
        self._text_obfuscation(raw, info, base, line_base, analysis)
        if depth < MAX_NESTED_DEPTH:
            self._nested(analysis, info, depth, line_base)
        return analysis

    def _patterns(self, data: bytes) -> PatternScan:
        """The pattern pass over a module's source, from the memo when the same bytes were read
        before (the pass depends on nothing else)."""
        scanned = self.memo.patterns(data) if self.memo is not None else None
        if scanned is None:
            scanned = with_bare_sinks(self.yara.scan_with_sinks(data, self.deadline), data)
            if self.memo is not None:
                self.memo.keep_patterns(data, scanned)
        return scanned

    def _runs_as_main(self, info: FileInfo, base: Context) -> bool:
        """Whether the installer runs this module as a program (setup.py, `python -m` by name)."""
        return base is Context.INSTALL and (
            info.rel == "setup.py" or any(info.rel == m or info.rel.endswith("/" + m) for m in self.as_main)
        )

    def _module(self, data: bytes, info: FileInfo) -> None:
        """Analyse one Python module of the artifact, or replay the analysis of the same module
        (same bytes, context, roots and way of running) from an artifact read before."""
        memo = self.memo
        if memo is None:
            self._python(data, info, info.context, depth=0, line_base=None)
            return
        key = ModuleKey(
            data=data,
            context=info.context,
            roots=frozenset(self.roots.get(info.path, ())),
            as_main=self._runs_as_main(info, info.context),
        )
        kept = memo.result(key)
        if kept is not None:
            self._replay(data, info, kept)
            return
        out = self.out
        marks = (len(out.facts), len(out.flows), len(out.unread), len(out.user_hits))
        self._read_siblings = False
        self._python(data, info, info.context, depth=0, line_base=None)
        if self._read_siblings or self.deadline.expired():
            return
        result = module_result(
            info.path,
            out.facts[marks[0] :],
            out.flows[marks[1] :],
            out.unread[marks[2] :],
            out.user_hits[marks[3] :],
        )
        if result is not None:
            memo.keep_result(key, result)

    def _replay(self, data: bytes, info: FileInfo, kept: ModuleResult) -> None:
        """Add a kept analysis as if `_python` had run: its items under this module's path, and
        the module's chain ends from its pattern pass."""
        self.prescanned.pop(info.path, None)
        self.parsed.pop(info.path, None)
        scanned = self._patterns(data)
        if scanned.sinks:
            self.sinks_in.add(info.path)
        self._chain_ends[info.path] = (bool(scanned.sinks), SOURCE_HINT in scanned.marks)
        self._end_offsets[info.path] = scanned.ends
        facts, flows, unread, user_hits = kept.under(info.path)
        self.out.facts.extend(facts)
        self.out.flows.extend(flows)
        self.out.unread.extend(unread)
        self.out.user_hits.extend(user_hits)

    def _imported_definitions(self, raw: bytes, info: FileInfo) -> ImportedDefinitions | None:
        """What sibling modules define under the names this module hands to exec/eval (a payload
        constant kept in `_data.py`, a decoding helper in `_util.py`): read only for names on a
        line that executes code, from modules of this artifact small enough to parse."""
        imports = self.imported_from.get(info.path)
        if not imports:
            return None
        executed = {name.decode() for line in _EXEC_LINE.findall(raw) for name in _WORD.findall(line)}
        wanted: dict[str, dict[str, str]] = {}  # module file -> {its name: local name}
        owners: dict[str, FileInfo] = {}
        for module, name, local in imports:
            if local not in executed:
                continue
            self._read_siblings = True  # whatever the siblings hold, the result depends on them
            owner = self._module_file(module)
            if owner is None or owner is info or len(owner.data) > MAX_AST_BYTES:
                continue
            wanted.setdefault(owner.path, {})[name] = local
            owners[owner.path] = owner
        constants: dict[str, ast.expr] = {}
        decoders: set[str] = set()
        for path, names in list(wanted.items())[:MAX_IMPORTED_DEFINITION_MODULES]:
            self._tick()
            tree = parse_python(owners[path].data)
            if tree is None:
                continue
            found = module_definitions(tree, names)
            constants.update(found.constants)
            decoders |= found.decoders
        return ImportedDefinitions(constants, frozenset(decoders)) if constants or decoders else None

    def _needs_ast(
        self,
        raw: bytes,
        info: FileInfo,
        base: Context,
        sinks: list[int],
        hits: list[YaraHit],
        marks: frozenset[str] = frozenset(),
    ) -> bool:
        if base is Context.DEV:
            return False
        if sinks and "flow-source" in marks:
            # A value worth following (a key parameter, a stack frame, a throwaway host) next to a
            # sink: the flow analysis decides, wherever the code sits.
            return True
        if base in (Context.STARTUP, Context.INSTALL) or marks & _ANALYSE_ANYWHERE:
            return True
        strong = [(hit.offset, hit.length) for hit in hits if hit.cap in STRONG_TEXT_CAPS]
        if strong and not self._only_in_prose(raw, info, strong):
            # A module naming an exfiltration endpoint or a Windows program to fetch gets the full
            # data-flow analysis even when everything sits in functions: few libraries do either.
            return True
        if not sinks:
            return False
        if len(raw) <= SMALL_SOURCE:
            return True  # parsing a small module costs less than guessing about it
        # functions another module runs at import count as called at the top of this one
        roots = frozenset(self.roots.get(info.path, ()))
        return sink_may_run_unasked(raw, sinks, self._estimate(raw, base), called=roots)

    def _lines(self, raw: bytes) -> list[bytes]:
        """`raw` split into lines, once per source: the pre-check, the text analysis and the long-line
        check all need them, and splitting a large module costs more than any of them."""
        if self._split is None or self._split[0] is not raw:
            self._split = (raw, raw.split(b"\n"))
        return self._split[1]

    def _estimate(self, raw: bytes, base: Context) -> IndentContext:
        return IndentContext(raw, base, partial(self._lines, raw))

    def _only_in_prose(self, raw: bytes, info: FileInfo, spans: list[tuple[int, int]]) -> bool:
        """Whether all these matches sit in docstrings (`curl https://...` in a usage example),
        which the analysis ignores too: then they are no reason to analyse the module. Checked on
        the syntax tree, only when the cheap triple-quote count says docstring for every one; the
        tree is kept for the analysis if it runs after all. The spans come from the pattern pass,
        so the answer depends on the bytes alone and is kept in the memo."""
        if not all(in_docstring(raw, offset) for offset, _ in spans):
            return False
        kept = self.memo.kept(raw, "in-prose") if self.memo is not None else None
        if isinstance(kept, bool):
            return kept
        tree = parse_python(raw) if len(raw) <= MAX_AST_BYTES else None
        if tree is None:
            return False
        self.parsed[info.path] = tree
        answer = within_prose(raw, tree, spans)
        if self.memo is not None:
            self.memo.keep(raw, "in-prose", answer)
        return answer

    def _nested(self, analysis: PythonAnalysis, info: FileInfo, depth: int, line_base: int | None) -> None:
        for line, context, value in analysis.decoded[:20]:
            site = line_base if line_base is not None else line
            self._python(value if isinstance(value, (bytes, str)) else b"", info, context, depth + 1, site)
        for line, context, code in analysis.nested_code[:20]:
            site = line_base if line_base is not None else line
            self._python(code, info, context, depth + 1, site)

    def _text_obfuscation(
        self,
        raw: bytes,
        info: FileInfo,
        base: Context,
        line_base: int | None,
        analysis: PythonAnalysis | None = None,
    ) -> None:
        ascii_only = raw.isascii()  # one C pass; the patterns below all need non-ASCII bytes
        for pattern, label, trait in (
            ()
            if ascii_only
            else (
                (_BIDI, "bidi control character (Trojan Source)", Trait.BIDI),
                (_ZERO_WIDTH, "zero-width character", None),
            )
        ):
            match = pattern.search(raw)
            if match is not None:
                line = line_base or _line_of(raw, match.start())
                if line_base is None and info.line_text(line).startswith("#"):
                    continue
                ctx = analysis.context_at(line) if analysis and line_base is None else base
                self.out.facts.append(Fact(Cap.INVISIBLE_CHAR, info.path, line, ctx, label, trait=trait))
        if not ascii_only and FOLDING_BYTES.search(raw):
            folded = folded_identifier(raw)
            if folded is not None:
                line = line_base or folded[0]
                ctx = analysis.context_at(line) if analysis and line_base is None else base
                detail = (
                    f"identifier {folded[1]!r} spelt with look-alike letters Python reads as {folded[2]!r}"
                )
                fact = Fact(Cap.ODD_IDENTIFIER, info.path, line, ctx, detail, trait=Trait.LOOK_ALIKE)
                self.out.facts.append(fact)
        padded = _PADDED_CODE.search(raw) if any(run in raw for run in _PAD_RUNS) else None
        if padded is not None:
            line = line_base or _line_of(raw, padded.start())
            if line_base is not None:
                ctx = base
            else:
                ctx = analysis.context_at(line) if analysis else self._estimate(raw, base)(line)
            detail = "code pushed far to the right of a line, out of an editor's view"
            self.out.facts.append(Fact(Cap.WHITESPACE_HIDDEN, info.path, line, ctx, detail))
        if len(raw) > HUGE_LINE and _may_have_huge_line(raw):
            lines = self._lines(raw)
            lengths = list(map(len, lines))  # C-level passes: this runs on every large file
            size = max(lengths)
            if size > HUGE_LINE:
                longest = lengths.index(size)
                line = line_base or longest + 1
                ctx = analysis.context_at(line) if analysis and line_base is None else base
                ent = entropy(lines[longest][:4096].decode("latin-1"))
                detail = f"{size}-character line (entropy {ent:.1f})"
                self.out.facts.append(Fact(Cap.HUGE_LINE, info.path, line, ctx, detail))

    def _yara(self, data: bytes, info: FileInfo, context_at: ContextFn, line_base: int | None) -> None:
        self._yara_hits(data, self.yara.scan(data, self.deadline), info, context_at, line_base)

    def _yara_hits(
        self,
        data: bytes,
        hits: list[YaraHit],
        info: FileInfo,
        ctx_fn: ContextFn,
        line_base: int | None,
        prefix: str = "",
    ) -> None:
        python = info.type is FileType.PYTHON
        for hit in hits:
            line = line_base if line_base is not None else _line_of(data, hit.offset)
            comment = python and line_base is None and info.line_text(line).startswith("#")
            if comment and hit.cap is not Cap.OBFUSCATOR:
                continue  # a comment describes, it does not act
            # An obfuscator banner is kept, marked as prose: next to obfuscated code it names the
            # tool that wrapped the payload; alone it is just words (judging.hiding.judge_obfuscation).
            if hit.cap is None:
                self.out.user_hits.append((info.path, hit, line))
                continue
            if hit.cap is Cap.RAW_IP_URL and _PRIVATE_IP.search(
                data, hit.offset, hit.offset + hit.length + 8
            ):
                continue
            detail = f"{prefix}{hit.detail} [{hit.rule}]"
            fact = Fact(hit.cap, info.path, line, ctx_fn(line), detail, prose=comment, trait=hit.trait)
            self.out.facts.append(fact)

    # ---- start-up files ----------------------------------------------------------------------
    def _startup_file(self, member: Member, info: FileInfo) -> None:
        # The grammar is custody.startup_files' (shared with audit and guard): what `site` runs.
        # A package may be installed under any version, so a .pth line counts when any runs it.
        text = member.data.decode("utf-8", "replace")
        if info.type is FileType.PTH:
            for number, line in pth_executed_by(member.data, None):
                self.out.startup_lines.append((member.path, number, line))
                self.out.facts.append(
                    Fact(Cap.STARTUP_CODE, member.path, number, Context.STARTUP, "executable .pth line")
                )
                for match in re.finditer(r"(?:^|;)\s*import\s+([A-Za-z_][\w.]*)", line):
                    self.startup_modules.setdefault(match.group(1), set())
                for match in _PTH_DYNAMIC_IMPORT.finditer(line):
                    # `__import__('m').f()`, `importlib.import_module("m").f()`: m runs, and f in it
                    called = {match.group(2)} if match.group(2) else set()
                    self.startup_modules.setdefault(match.group(1), set()).update(called)
                self._python(line.encode(), info, Context.STARTUP, depth=0, line_base=number)
            self._yara(member.data, info, lambda _line: Context.STARTUP, None)
            return
        entries = site_toml_entries(text) if info.type is FileType.SITE_TOML else start_entries(text)
        for found_at, entry in entries:
            number = max(found_at, 1)  # 0: the entry's line could not be located
            self.out.startup_lines.append((member.path, number, entry))
            self.out.facts.append(
                Fact(Cap.STARTUP_CODE, member.path, number, Context.STARTUP, f"start-up entry point {entry}")
            )
            if entry.startswith("<"):
                continue  # not an entry point: the file does not parse (reported as start-up code)
            module, _, func = entry.partition(":")
            self.startup_modules.setdefault(module.strip(), set()).update({func.strip()} - {""})
        self._yara(member.data, info, lambda _line: Context.STARTUP, None)

    # ---- npm ----------------------------------------------------------------------------------
    def _package_json(self, data: bytes, info: FileInfo) -> None:
        try:
            manifest = json.loads(data)
        except ValueError:
            return
        scripts = manifest.get("scripts") if isinstance(manifest, dict) else None
        if not isinstance(scripts, dict):
            return
        for hook in ("preinstall", "install", "postinstall", "prepare"):
            command = scripts.get(hook)
            if isinstance(command, str):
                line = _line_of(data, max(0, data.find(hook.encode())))
                self.out.facts.append(
                    Fact(Cap.PROCESS, info.path, line, Context.INSTALL, f"npm {hook} script: {command[:120]}")
                )
                for hit in self.yara.scan(command.encode(), self.deadline):
                    if hit.cap is Cap.RAW_IP_URL and _PRIVATE_IP.search(command.encode(), hit.offset):
                        continue
                    if hit.cap is not None:
                        fact = Fact(hit.cap, info.path, line, Context.INSTALL, hit.detail, trait=hit.trait)
                        self.out.facts.append(fact)
                match = re.search(r"\bnode\s+([\w./-]+\.c?js)", command)
                if match is not None:
                    target = match.group(1).lstrip("./")
                    for other in self.out.files.values():
                        if other.rel == target:
                            other.context = Context.INSTALL

    def _javascript(self, data: bytes, info: FileInfo) -> None:
        patterns = (
            (Cap.PROCESS, rb"child_process|\bexecSync\s*\(|\bspawn\s*\("),
            (Cap.NETWORK, rb"\bhttps?\.request\s*\(|\bfetch\s*\(|\baxios\.|\bnet\.connect\s*\("),
            (Cap.RECON, rb"os\.hostname\(\)|os\.userInfo\(\)|os\.homedir\(\)"),
            (Cap.ENV_DUMP, rb"JSON\.stringify\(\s*process\.env\s*\)"),
            (Cap.DECODE_EXEC, rb"eval\s*\(\s*(atob|Buffer\.from)\s*\("),
        )
        for cap, pattern in patterns:
            match = re.search(pattern, data)
            if match is not None:
                line = _line_of(data, match.start())
                self.out.facts.append(
                    Fact(cap, info.path, line, info.context, match.group(0).decode("latin-1"))
                )


def collect(
    artifact: Artifact, yara: YaraRules, deadline: Deadline = NO_DEADLINE, memo: ModuleMemo | None = None
) -> Collected:
    """Facts about every loaded member; past `deadline` the rest is recorded in `Collected.unread`.

    `memo`: per-module results kept from artifacts read before (`custody.scan.reuse`)."""
    return Collector(artifact, yara, deadline, memo).run()


__all__ = ["Collected", "FileInfo", "collect"]
