"""Metadata signals for packages with little or no code to judge.

Each signal is a declaration, not a behaviour: it makes a package `suspicious` on its own (a high
finding with `Basis.METADATA`) and never `malicious` without a code finding next to it (see
`custody.scan.verdict.decide`).

- empty-package: nothing to import (no code, or only empty `__init__.py` files) and no dependency,
  so the package can only be a name reservation, a dependency-confusion probe or a stub whose
  payload comes later. Meta packages declare dependencies and are left alone.
- renamed-copy: ships the import package of a popular project, and its project URLs name that
  project, under another distribution name.
- malicious-dependency: requires a name the local advisory store lists as malware (OSV MAL-).
- mcp-tool-injection: an MCP server whose tool descriptions carry instructions to the model.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from packaging.requirements import Requirement as PackagingRequirement
from packaging.utils import canonicalize_name

from custody.advisories.model import AdvisoryError
from custody.advisories.store import AdvisoryStore, default_store_path
from custody.artifacts import Artifact, ArtifactKind, Member
from custody.inventory import Ecosystem
from custody.scan.declared import Declarations, DependencyKind
from custody.scan.install_time import direct_url
from custody.scan.model import Basis, Finding, Severity
from custody.scan.roles import DEV_DIRS, is_dev_dir, relative_path
from custody.scan.syntax import walk

if TYPE_CHECKING:
    from custody.scan.reuse import ModuleMemo

MAX_MCP_SOURCE = 512 * 1024
MCP_TOOL_MARK = "mcp-tool"
"""The internal pattern mark (sinks.yar) of a source that names MCP and a tool, in any case."""
# Files that describe or build a package rather than make it up.
_PACKAGING_FILES = frozenset(
    {
        "PKG-INFO",
        "setup.py",
        "setup.cfg",
        "pyproject.toml",
        "MANIFEST.in",
        "tox.ini",
        "Makefile",
        "requirements.txt",
        ".gitignore",
        ".gitattributes",
        "py.typed",
    }
)
_DOC_STEMS = (
    "readme",
    "license",
    "licence",
    "copying",
    "notice",
    "authors",
    "changelog",
    "changes",
    "history",
)
_DOC_SUFFIXES = (".md", ".rst", ".txt")


# ---- empty package ------------------------------------------------------------------------------
def _is_packaging(rel: str) -> bool:
    parts = rel.split("/")
    if parts[0].endswith((".dist-info", ".egg-info")) or (len(parts) > 1 and parts[-2].endswith(".egg-info")):
        return True
    if any(p.lower() in DEV_DIRS for p in parts[:-1]):
        return True  # tests/, docs/ (by exact name: `annotated_doc/` is a package)
    base = parts[-1]
    lower = base.lower()
    if base in _PACKAGING_FILES and len(parts) <= 2:
        return True
    return len(parts) == 1 and (lower.startswith(_DOC_STEMS) or lower.endswith(_DOC_SUFFIXES))


def _python_has_code(member: Member) -> bool:
    """Anything beyond a docstring, `pass`, and constant assignments (`__version__ = "1.0"`)."""
    if not member.complete:
        return True
    try:
        tree = ast.parse(member.data)
    except (SyntaxError, ValueError, RecursionError):
        return bool(member.data.strip())
    for stmt in tree.body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and all(
            isinstance(n, ast.Constant) or (isinstance(n, (ast.List, ast.Tuple)) and not n.elts)
            for n in [stmt.value]
            if n is not None
        ):
            continue
        return True
    return False


def empty_package(artifact: Artifact, declared: Declarations, popular: frozenset[str]) -> Finding | None:
    """Finding for a wheel or sdist with nothing to import and no dependency to pull in."""
    if artifact.kind not in (ArtifactKind.WHEEL, ArtifactKind.SDIST) or artifact.error is not None:
        return None
    if artifact.unread:
        return None  # a limit left members unread: nobody knows the package is empty
    if declared.computed_requirements or any(r.kind is DependencyKind.RUNTIME for r in declared.requirements):
        return None  # a meta package: its content is what it depends on
    if not declared.metadata_file:
        return None  # not built by standard tooling: `metadata-missing` already says so
    if artifact.name and canonicalize_name(artifact.name) in popular:
        return None  # a top project's deprecation stub or broken release is no probe
    empties: list[str] = []
    for member in artifact.members:
        rel = relative_path(member.path, artifact.strip_prefix)
        if "!/" in member.path or _is_packaging(rel):
            continue
        if rel.lower().endswith((".py", ".pyw")):
            if member.size and _python_has_code(member):
                return None
            empties.append(rel)
            continue
        return None  # data, stubs, extensions, start-up files: content other rules weigh
    shipped = f"only {', '.join(sorted(empties)[:3])} without code" if empties else "no code at all"
    return Finding(
        rule="empty-package",
        severity=Severity.HIGH,
        file="",
        line=None,
        snippet=shipped,
        reason=f"the package ships {shipped} and declares no dependency: a name reservation or "
        "a probe, not a library",
        basis=Basis.METADATA,
    )


# ---- renamed copy -------------------------------------------------------------------------------
def top_level_packages(artifact: Artifact) -> dict[str, bool]:
    """Import names the artifact installs (src layout included), each with whether it is a
    package with code in its `__init__.py` (True) or a plain module or empty package (False)."""
    names: dict[str, bool] = {}
    for member in artifact.members:
        if "!/" in member.path:
            continue
        parts = relative_path(member.path, artifact.strip_prefix).split("/")
        if parts[0] == "src" and len(parts) > 1:
            parts = parts[1:]
        if parts[0].endswith((".dist-info", ".egg-info", ".data")) or is_dev_dir(parts[0]):
            continue
        if len(parts) == 2 and parts[1] == "__init__.py":
            names[parts[0]] = names.get(parts[0], False) or (member.size > 0 and _python_has_code(member))
        elif len(parts) == 1 and parts[0].endswith(".py") and artifact.kind is ArtifactKind.WHEEL:
            names.setdefault(parts[0][:-3], False)
    return names


def _url_project_names(url: str) -> set[str]:
    """Project names a URL points to: a code host's repository, a docs host's first label, a
    project site's own domain name."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return set()
    host = (parts.hostname or "").removeprefix("www.")
    segments = [s for s in parts.path.split("/") if s]
    found: set[str] = set()
    if host in ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org") and len(segments) >= 2:
        found.add(segments[1].removesuffix(".git"))
    elif host.endswith((".readthedocs.io", ".readthedocs.org", ".github.io")):
        found.add(host.split(".", 1)[0])
    elif host.count(".") >= 1:
        found.add(host.rsplit(".", 2)[-2])
    return {str(canonicalize_name(n)) for n in found if n}


# Words that name a build of the same project (psycopg2-binary, tensorflow-cpu, keras-nightly): such
# distributions ship the project's own package legitimately.
BUILD_VARIANT = re.compile(
    r"^(binary|bin|cpu|gpu|headless|nightly|slim|lite|light|contrib|rocm|cuda|cu\d+|intel|static|"
    r"aarch64|arm64|x86|win|windows|mac|macos|linux|py3|python|compat|legacy|wheel|wheels|stable)$"
)


def _variant_of(own: str, target: str) -> bool:
    """`own` is `target` plus build-variant words only (or the names are unrelated: False)."""
    if target not in own:
        return False
    extra = [w for w in own.replace(target, "-").split("-") if w]
    return all(BUILD_VARIANT.match(w) for w in extra)


def renamed_copy(artifact: Artifact, declared: Declarations, popular: frozenset[str]) -> Finding | None:
    """Finding for a popular project's package published under another name: either its project
    URLs name that project too, or the name is the project's plus words that are not a build
    variant (a "support" or "fix" edition that ships the whole original package)."""
    if artifact.kind not in (ArtifactKind.WHEEL, ArtifactKind.SDIST) or not artifact.name:
        return None
    own = str(canonicalize_name(artifact.name))
    if own in popular:
        return None
    url_names = set().union(*(_url_project_names(u) for u in declared.urls)) if declared.urls else set()
    for module, has_code in sorted(top_level_packages(artifact).items()):
        target = str(canonicalize_name(module))
        if len(target) < 4 or own in target or _variant_of(own, target):
            continue
        if target not in popular:
            # Any project, popular or not, when everything says so: the package is the project's
            # (its URLs name it) and the name is the project's plus an "upgrade" or "fix".
            if not (has_code and target in own and target in url_names):
                continue
            evidence = (
                f"its project URLs name {target!r} and its name is that plus words that do not "
                "name a build of it"
            )
        elif target in own:
            evidence = f"its name is {target!r} plus words that do not name a build of it"
            if not has_code:
                continue  # a namespace or plugin folder, not the project's package
        elif target in url_names:
            evidence = f"its project URLs name {target!r}"
        else:
            continue
        return Finding(
            rule="renamed-copy",
            severity=Severity.HIGH,
            file=declared.metadata_file,
            line=None,
            snippet=f"{artifact.name}: {module}/",
            reason=f"ships the {module!r} package of the popular project {target!r} as "
            f"{artifact.name!r}, and {evidence}: a renamed copy",
            basis=Basis.METADATA,
        )
    return None


# ---- dependencies on known malware --------------------------------------------------------------
MalwareLookup = Callable[[str, str], str | None]
"""(canonical name, requirement text) -> MAL- advisory id when that requirement installs malware."""


_OPEN_STORES: dict[str, MalwareLookup] = {}


def _store_lookup(path: str) -> MalwareLookup | None:
    """A lookup over the advisory store at `path`, or None when there is none (scans stay offline
    and work without a store). An opened store is kept for the life of the process."""
    if path in _OPEN_STORES:
        return _OPEN_STORES[path]
    if not os.path.exists(path):
        return None
    try:
        store = AdvisoryStore.open(path)
    except AdvisoryError:
        return None

    def lookup(name: str, requirement: str) -> str | None:
        try:
            advisories = store.lookup(Ecosystem.PYPI, name)
        except AdvisoryError:
            return None
        pinned = _pinned_version(requirement)
        for advisory in advisories:
            if not advisory.malware or advisory.withdrawn:
                continue
            for affected in advisory.affected:
                if canonicalize_name(affected.name) != name:
                    continue
                if not affected.ecosystem.lower().startswith("pypi"):
                    continue
                whole = any(
                    [(e.kind, e.version) for e in r.events] == [("introduced", "0")] for r in affected.ranges
                )
                if whole or (pinned is not None and pinned in affected.versions):
                    return advisory.id
        return None

    _OPEN_STORES[path] = lookup
    return lookup


def default_malware_lookup() -> MalwareLookup | None:
    """The lookup over the default advisory store (`CUSTODY_ADVISORY_DB` or the cache), if built."""
    return _store_lookup(default_store_path())


def _pinned_version(requirement: str) -> str | None:
    try:
        parsed = PackagingRequirement(requirement)
        specs = list(parsed.specifier)
    except ValueError:  # InvalidRequirement, or a version part longer than int() accepts
        return None
    if len(specs) == 1 and specs[0].operator in ("==", "==="):
        return specs[0].version
    return None


def malicious_dependencies(declared: Declarations, lookup: MalwareLookup | None) -> list[Finding]:
    """Findings for requirements on names the advisory store lists as malware."""
    if lookup is None:
        return []
    findings: list[Finding] = []
    seen: set[str] = set()
    for requirement in declared.requirements:
        if direct_url(requirement.text) is not None and "@" not in requirement.text:
            continue
        try:
            name = str(canonicalize_name(PackagingRequirement(requirement.text).name))
        except ValueError:  # InvalidRequirement, or a version part longer than int() accepts
            continue
        if name in seen:
            continue
        seen.add(name)
        advisory = lookup(name, requirement.text)
        if advisory is None:
            continue
        when = "to build" if requirement.kind is DependencyKind.BUILD else "at install"
        findings.append(
            Finding(
                rule="malicious-dependency",
                severity=Severity.HIGH,
                file=requirement.file,
                line=requirement.line,
                snippet=requirement.text[:200],
                reason=f"requires {name!r}, known malware ({advisory}): pip installs it {when}",
                basis=Basis.METADATA,
            )
        )
    return findings


# ---- MCP tool descriptions ----------------------------------------------------------------------
# Phrases that address the model rather than describe the tool: overriding its instructions,
# hiding actions from the user, tags meant to look like system text, and asking for secrets.
_OVERRIDE = re.compile(
    r"\b(ignore|disregard|forget|override)\s+(all\s+|any\s+)?(the\s+|your\s+)?"
    r"(previous|prior|above|earlier|other|system)\s+(instructions|prompts?|rules|directions)",
    re.IGNORECASE,
)
_CONCEAL = re.compile(
    r"\b(do\s+not|don't|never)\s+(tell|inform|mention|reveal|notify|alert|disclose)\b[^.\n]{0,40}\buser"
    r"|\bwithout\s+(telling|informing|notifying|alerting)\s+the\s+user"
    r"|\b(the\s+)?user\s+(must|should)\s+not\s+(know|see|be\s+told)",
    re.IGNORECASE,
)
# `<system>`, `<IMPORTANT>`, and their dressed-up two-word forms (`<SYSTEM_DIRECTIVE>`,
# `<system-prompt>`, `<critical_instructions>`): one word of the tag is a tell, the other at most a
# word that adds authority. A placeholder (`<prompt>`, `<system_id>`, `<secret_name>`) is not one.
_TAG_TELL = r"(?:important|system|instructions?|directives?|hidden|secret)"
_TAG_ADDED = rf"(?:{_TAG_TELL}|prompt|note|message|rules|critical|mandatory|admin|override)"
_FAKE_TAG = re.compile(
    rf"<\s*/?\s*(?:{_TAG_TELL}|{_TAG_TELL}[_\- ]{_TAG_ADDED}|{_TAG_ADDED}[_\- ]{_TAG_TELL})\s*>",
    re.IGNORECASE,
)
_SECRET_PATH = re.compile(
    r"~/\.ssh|\bid_(rsa|ed25519|ecdsa)\b|\.aws/credentials|\.npmrc|\.pypirc|\.netrc|\bmcp\.json"
    r"|\.cursor/|\.env\b|private\s+key",
    re.IGNORECASE,
)
_HAND_OVER = re.compile(
    r"\b(pass|send|include|put|provide|add|append)\b[^.\n]{0,60}\b(content|contents|it|them|as)\b",
    re.IGNORECASE,
)


_PHRASE_CHECKS = (
    (_OVERRIDE, "tells the model to ignore its instructions"),
    (_CONCEAL, "tells the model to hide something from the user"),
    (_FAKE_TAG, "carries a tag dressed up as system text"),
)
_SECRET_LABEL = "asks the model to read a secret file and hand its content over"  # noqa: S105 - a label
# The same patterns as bytes, without IGNORECASE, over a folded copy of the source (`_fold`): they
# match wherever the text patterns do, 2-3x faster. Used to rule whole source files out before
# any parse. The patterns are written in lowercase (a test keeps them so).
_LOWER_CHECKS = tuple(re.compile(p.pattern.encode()) for p, _ in _PHRASE_CHECKS)
_NEEDED_WORDS = (
    (b"ignore", b"disregard", b"forget", b"override"),
    (b"user",),
    (b"<",),
)
"""For each of `_LOWER_CHECKS`, words one of which every match contains: a substring test rules
a file out far faster than the pattern, which starts with `\b(` and is tried at every byte."""
_LOWER_SECRET_PATH = re.compile(_SECRET_PATH.pattern.encode())
_LOWER_HAND_OVER = re.compile(_HAND_OVER.pattern.encode())
_SECRET_WORDS = (
    b"~/.ssh",
    b"id_",
    b".aws/",
    b".npmrc",
    b".pypirc",
    b".netrc",
    b"mcp.json",
    b".cursor/",
    b".env",
    b"private",
)
"""A word each alternative of `_SECRET_PATH` contains (substring tests are far cheaper)."""
# ASCII case folding is lowercasing; str `\s` also matches \x1c-\x1f, bytes `\s` does not.
_FOLD_BYTES = bytes.maketrans(
    bytes(range(0x41, 0x5B)) + bytes(range(0x1C, 0x20)), bytes(range(0x61, 0x7B)) + b"    "
)
# Non-ASCII characters the text patterns treat as ASCII: under IGNORECASE these fold onto i, s
# and k, and `\s` matches these spaces.
_FOLD_CHARS = {0x130: "i", 0x131: "i", 0x17F: "s", 0x212A: "k"} | {
    cp: " " for cp in (0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000)
}
_FOLD_UTF8 = re.compile(b"|".join(re.escape(chr(cp).encode()) for cp in sorted(_FOLD_CHARS)))


def injection_phrase(text: str) -> str | None:
    """What in a tool description speaks to the model instead of describing the tool, if any."""
    for pattern, label in _PHRASE_CHECKS:
        if pattern.search(text):
            return label
    if _SECRET_PATH.search(text) and _HAND_OVER.search(text):
        return _SECRET_LABEL
    return None


def _fold(data: bytes) -> bytes:
    """`data` as the text patterns see it, for the byte patterns: decoded as the phrase search
    decodes it, the characters that fold onto ASCII replaced by their ASCII letter or a space,
    every other non-ASCII character by one `?` (what stood there matters to the patterns only as
    one character that is neither a dot nor a newline, matched by `[^.\n]`; as a non-word
    character it can only add `\b` boundaries, never remove one), then lowercased."""
    if not data.isascii():
        text = data.decode("utf-8", "replace")
        if _FOLD_UTF8.search(data):
            text = text.translate(_FOLD_CHARS)
        data = text.encode("ascii", "replace")
    return data.translate(_FOLD_BYTES)


def _may_hold_injection(data: bytes) -> bool:
    """Whether `injection_phrase` could find anything in the source `data` (an over-approximation:
    the byte patterns over `_fold(data)` match wherever the text patterns match the text)."""
    folded = _fold(data)
    if any(
        any(word in folded for word in words) and pattern.search(folded)
        for pattern, words in zip(_LOWER_CHECKS, _NEEDED_WORDS, strict=True)
    ):
        return True
    # the hand-over pattern first: it is several times cheaper than the path one
    return bool(
        _LOWER_HAND_OVER.search(folded)
        and any(word in folded for word in _SECRET_WORDS)
        and _LOWER_SECRET_PATH.search(folded)
    )


def _dotted(node: ast.expr) -> str:
    """`mcp.tool` for `mcp.tool`, `mcp.tool()` or `server.mcp.tool(name=...)`; '' for anything else."""
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _tool_texts(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, text) of tool descriptions: docstrings of functions with a `*tool*` decorator and
    `description=` strings given to a `*tool*`/`*Tool*` call."""
    for node in walk(tree):  # the same order as ast.walk, ~3x faster
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if any("tool" in _dotted(d).lower() for d in node.decorator_list):
                doc = ast.get_docstring(node)
                if doc:
                    yield node.lineno, doc
        elif isinstance(node, ast.Call) and "tool" in _dotted(node.func).lower():
            for keyword in node.keywords:
                if keyword.arg == "description":
                    for sub in walk(keyword.value):
                        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                            yield sub.lineno, sub.value


def tool_injection(data: bytes) -> tuple[int, str, str] | None:
    """(line, description, what it does) of the first MCP tool description in the Python source
    `data` that speaks to the model instead of describing the tool; None when there is none."""
    lowered = data.lower()
    if b"mcp" not in lowered or b"tool" not in lowered:
        return None
    if not _may_hold_injection(data):
        return None  # no such phrase anywhere in the file: no description can hold one (parsing costs)
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError):
        return None
    for line, text in _tool_texts(tree):
        label = injection_phrase(text)
        if label is not None:
            return line, text, label
    return None


def mcp_tool_injection(
    artifact: Artifact,
    memo: ModuleMemo | None = None,
    marks: Mapping[str, frozenset[str]] | None = None,
) -> list[Finding]:
    """Findings for MCP servers whose tool descriptions carry instructions to the model (one per
    file is evidence enough). `memo`: results kept across artifacts (`custody.scan.reuse`).
    `marks`: internal pattern marks of members already pattern-scanned (`Collected.marks`): one
    without `mcp-tool` names MCP or a tool nowhere, and is not read again."""
    findings: list[Finding] = []
    for member in artifact.members:
        if not member.path.endswith(".py") or not member.complete or member.size > MAX_MCP_SOURCE:
            continue
        known = marks.get(member.path) if marks is not None else None
        if known is not None and MCP_TOOL_MARK not in known:
            continue
        rel = relative_path(member.path, artifact.strip_prefix)
        if any(is_dev_dir(p) for p in rel.split("/")[:-1]):
            continue
        data = member.data
        found = memo.derived(data, "tool-injection", tool_injection) if memo else tool_injection(data)
        if found is None:
            continue
        line, text, label = found
        findings.append(
            Finding(
                rule="mcp-tool-injection",
                severity=Severity.HIGH,
                file=member.path,
                line=line,
                snippet=" ".join(text.split())[:200],
                reason=f"MCP tool description {label}: instructions to the model, hidden in "
                "what it reads as documentation",
                basis=Basis.METADATA,
            )
        )
    return findings


__all__ = [
    "MalwareLookup",
    "default_malware_lookup",
    "empty_package",
    "injection_phrase",
    "malicious_dependencies",
    "mcp_tool_injection",
    "renamed_copy",
    "tool_injection",
    "top_level_packages",
]
