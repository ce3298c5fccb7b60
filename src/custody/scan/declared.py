"""What a package declares about itself, read without running anything.

Dependencies (with where each was declared), the build backend and the build hooks that an
installer will run, the summary and the project URLs: from PKG-INFO/METADATA, egg-info
`requires.txt`, `pyproject.toml`, `setup.cfg`, and the literal arguments of `setup()` in setup.py
(read from its syntax tree; never executed).
"""

from __future__ import annotations

import ast
import configparser
import enum
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from custody.artifacts import Artifact, ArtifactKind, Member
from custody.scan.roles import relative_path
from custody.scan.static_decode import StaticDecoder
from custody.scan.syntax import walk

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

MAX_DECLARATION_BYTES = 512 * 1024
"""Larger metadata or setup files are not parsed for declarations (they are not hand-written)."""
PEP517_HOOKS = frozenset(
    {
        "build_wheel",
        "build_sdist",
        "build_editable",
        "get_requires_for_build_wheel",
        "get_requires_for_build_sdist",
        "get_requires_for_build_editable",
        "prepare_metadata_for_build_wheel",
        "prepare_metadata_for_build_editable",
    }
)
HATCH_HOOK_METHODS = frozenset({"initialize", "finalize", "update", "clean", "dependencies"})
PDM_HOOK_FUNCTIONS = frozenset(
    {
        "pdm_build_hook_enabled",
        "pdm_build_initialize",
        "pdm_build_update_files",
        "pdm_build_update_setup_kwargs",
        "pdm_build_finalize",
    }
)
_EXTRA_MARKER = re.compile(r";.*\bextra\s*==")
_TOP_LEVEL_DEF = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)


class DependencyKind(str, enum.Enum):
    """When an installer acts on a declared requirement."""

    BUILD = "build"
    """`[build-system] requires`, `setup_requires`: installed and imported to build the package."""
    RUNTIME = "runtime"
    """`install_requires`, `[project] dependencies`, `Requires-Dist`, extras."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """One declared requirement string and where it was declared."""

    text: str
    kind: DependencyKind
    file: str
    """Member path of the declaring file."""
    line: int | None
    optional: bool = False
    """Only installed with an extra (`pkg[extra]`): not part of a default install."""


@dataclass(frozen=True, slots=True)
class InstallHook:
    """A module of the sdist that the build frontend or backend runs while installing."""

    rel: str
    """Path relative to the sdist root."""
    roots: frozenset[str]
    """Functions and classes of it that the build tool calls."""
    why: str


@dataclass(slots=True, kw_only=True)
class Declarations:
    """What a package declares rather than does: its requirements, install hooks, summary, project
    URLs, where its core metadata lives and whether its requirements are computed at build time.

    An accumulator: each metadata file the package carries (PKG-INFO or METADATA, requires.txt,
    pyproject.toml, setup.cfg, setup.py) adds what it declares."""

    requirements: list[Requirement] = field(default_factory=list)
    hooks: list[InstallHook] = field(default_factory=list)
    summary: str = ""
    urls: list[str] = field(default_factory=list)
    """Home-Page and Project-URL values (PKG-INFO/METADATA)."""
    metadata_file: str = ""
    """Member path of PKG-INFO/METADATA, when there is one."""
    computed_requirements: bool = False
    """Runtime requirements exist that are not literal here (setup.py reading requirements.txt,
    `dynamic = ["dependencies"]`): the package has dependencies even if none is listed."""


def _text(member: Member) -> str | None:
    if not member.complete or member.size > MAX_DECLARATION_BYTES:
        return None
    return member.data.decode("utf-8", "replace")


def _line_of(text: str, needle: str) -> int | None:
    index = text.find(needle)
    return text.count("\n", 0, index) + 1 if index >= 0 else None


def read_declarations(
    artifact: Artifact, *, with_setup_py: bool = True, trees: Mapping[str, ast.Module] | None = None
) -> Declarations:
    """Everything the artifact's own metadata files declare (top-level files only).

    `with_setup_py=False` skips reading setup.py (it declares requirements, never build hooks).
    `trees`: syntax trees of members already parsed, by member path (setup.py's is used)."""
    out = Declarations()
    for member in artifact.members:
        rel = relative_path(member.path, artifact.strip_prefix)
        if "!/" in member.path:
            continue  # nested archives are not what pip reads
        base = rel.rsplit("/", 1)[-1]
        depth = rel.count("/")
        text: str | None = None
        if (base == "PKG-INFO" and depth <= 1) or (
            base == "METADATA" and depth == 1 and rel.split("/", 1)[0].endswith(".dist-info")
        ):
            text = _text(member)
            if text is not None and (not out.metadata_file or depth == 0):
                _core_metadata(text, member.path, out)
        elif base == "requires.txt" and rel.split("/")[-2:-1] and rel.split("/")[-2].endswith(".egg-info"):
            if depth <= 2 and (text := _text(member)) is not None:
                _requires_txt(text, member.path, out)
        elif artifact.kind is ArtifactKind.SDIST and depth == 0:
            text = _text(member)
            if text is None:
                continue
            if base == "pyproject.toml":
                _pyproject(text, member.path, out)
            elif base == "setup.cfg":
                _setup_cfg(text, member.path, out)
            elif base == "setup.py" and with_setup_py:
                _setup_py(text, member.path, out, _same_tree(text, member.path, trees))
    _dedupe(out)
    return out


def _dedupe(out: Declarations) -> None:
    seen: set[tuple[str, DependencyKind]] = set()
    unique = []
    for req in out.requirements:
        key = (req.text.replace(" ", ""), req.kind)
        if key not in seen:
            seen.add(key)
            unique.append(req)
    out.requirements = unique


def _core_metadata(text: str, path: str, out: Declarations) -> None:
    """Headers of PKG-INFO/METADATA (RFC 822 style; the body is the long description)."""
    out.metadata_file = path
    head = text.replace("\r\n", "\n").split("\n\n", 1)[0]
    for number, line in enumerate(head.split("\n"), start=1):
        key, sep, value = line.partition(":")
        if not sep:
            continue
        value = value.strip()
        key = key.strip().lower()
        if key == "requires-dist" and value:
            optional = _EXTRA_MARKER.search(value) is not None
            out.requirements.append(Requirement(value, DependencyKind.RUNTIME, path, number, optional))
        elif key == "summary":
            out.summary = value
        elif key == "home-page" and value and value.lower() != "unknown":
            out.urls.append(value)
        elif key == "project-url" and value:
            out.urls.append(value.split(",", 1)[-1].strip())


def _requires_txt(text: str, path: str, out: Declarations) -> None:
    """egg-info requires.txt: default requirements, then `[extra]` or `[:marker]` sections."""
    section: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif line and not line.startswith("#"):
            # `[:sys_platform == "win32"]` holds conditional defaults; `[name]` or `[name:...]` extras
            optional = section is not None and not section.startswith(":")
            out.requirements.append(Requirement(line, DependencyKind.RUNTIME, path, number, optional))


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _table(doc: dict[str, Any], *keys: str) -> dict[str, Any]:
    node: Any = doc
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def _pyproject(text: str, path: str, out: Declarations) -> None:
    try:
        doc = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError):
        return
    build = _table(doc, "build-system")
    for req in _strings(build.get("requires")):
        out.requirements.append(Requirement(req, DependencyKind.BUILD, path, _line_of(text, req)))
    project = _table(doc, "project")
    dynamic = project.get("dynamic")
    if isinstance(dynamic, list) and ("dependencies" in dynamic or "optional-dependencies" in dynamic):
        out.computed_requirements = True
    for req in _strings(project.get("dependencies")):
        out.requirements.append(Requirement(req, DependencyKind.RUNTIME, path, _line_of(text, req)))
    for group in _table(doc, "project", "optional-dependencies").values():
        for req in _strings(group):
            out.requirements.append(
                Requirement(req, DependencyKind.RUNTIME, path, _line_of(text, req), optional=True)
            )
    # In-tree backend: the frontend imports `build-backend` from `backend-path` and calls its hooks.
    backend = build.get("build-backend")
    backend_path = _strings(build.get("backend-path"))
    if isinstance(backend, str) and backend_path:
        module = backend.split(":", 1)[0].strip().replace(".", "/")
        for entry in backend_path:
            folder = entry.strip().strip("/").removeprefix("./")
            prefix = f"{folder}/" if folder and folder != "." else ""
            for candidate in (f"{prefix}{module}.py", f"{prefix}{module}/__init__.py"):
                out.hooks.append(InstallHook(candidate, PEP517_HOOKS, "in-tree build backend"))
    # Hatch: every `hooks.custom` table (build, per target, metadata) runs a file, hatch_build.py
    # unless `path` says otherwise.
    for table in _custom_hook_tables(_table(doc, "tool", "hatch")):
        hook_path = table.get("path")
        target = hook_path if isinstance(hook_path, str) and hook_path else "hatch_build.py"
        out.hooks.append(InstallHook(target.removeprefix("./"), HATCH_HOOK_METHODS, "Hatch build hook"))
    # PDM backend: pdm_build.py (or `custom-hook`) runs whenever the package is built with it.
    if isinstance(backend, str) and backend.startswith("pdm."):
        pdm_build = _table(doc, "tool", "pdm", "build")
        custom = pdm_build.get("custom-hook")
        target = custom if isinstance(custom, str) and custom else "pdm_build.py"
        out.hooks.append(InstallHook(target.removeprefix("./"), PDM_HOOK_FUNCTIONS, "PDM build hook"))


def _custom_hook_tables(node: object, depth: int = 0) -> list[dict[str, Any]]:
    """`hooks.custom` tables anywhere under [tool.hatch] (bounded depth)."""
    found: list[dict[str, Any]] = []
    if not isinstance(node, dict) or depth > 6:
        return found
    hooks = node.get("hooks")
    if isinstance(hooks, dict) and isinstance(hooks.get("custom"), dict):
        found.append(hooks["custom"])
    for value in node.values():
        found.extend(_custom_hook_tables(value, depth + 1))
    return found


def _cfg_list(value: str) -> list[str]:
    """setup.cfg list values: one per line or separated by semicolons."""
    items = []
    for raw in value.replace(";", "\n").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line:
            items.append(line)
    return items


def _setup_cfg(text: str, path: str, out: Declarations) -> None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return
    if parser.has_section("options"):
        for key, kind in (
            ("install_requires", DependencyKind.RUNTIME),
            ("setup_requires", DependencyKind.BUILD),
        ):
            for req in _cfg_list(parser.get("options", key, fallback="")):
                out.requirements.append(Requirement(req, kind, path, _line_of(text, req)))
        # `cmdclass = build_py = pkg.build:BuildPy`: setuptools imports those modules to build.
        for line in _cfg_list(parser.get("options", "cmdclass", fallback="")):
            _, _, target = line.partition("=")
            module = target.split(":", 1)[0].strip()
            if module:
                stem = module.replace(".", "/")
                for candidate in (f"{stem}.py", f"{stem}/__init__.py", f"src/{stem}.py"):
                    roots = frozenset({target.split(":", 1)[1].strip()}) if ":" in target else frozenset()
                    out.hooks.append(InstallHook(candidate, roots, "setup.cfg cmdclass"))
    if parser.has_section("options.extras_require"):
        for _, value in parser.items("options.extras_require"):
            for req in _cfg_list(value):
                out.requirements.append(
                    Requirement(req, DependencyKind.RUNTIME, path, _line_of(text, req), optional=True)
                )


_SETUP_KEYWORDS = {
    "install_requires": DependencyKind.RUNTIME,
    "extras_require": DependencyKind.RUNTIME,
    "setup_requires": DependencyKind.BUILD,
    "dependency_links": DependencyKind.RUNTIME,
}


# PEP 263: an encoding declared in a comment on the first or second line
_CODING_COOKIE = re.compile(r"^[ \t\f]*#.*?coding[:=]", re.MULTILINE)


def _same_tree(text: str, path: str, trees: Mapping[str, ast.Module] | None) -> ast.Module | None:
    """The tree already parsed for `path`, when it is the tree of `text`: the analysis parsed the
    bytes, which a byte-order mark or a declared encoding decode otherwise than UTF-8 does."""
    tree = trees.get(path) if trees else None
    if tree is None or text.startswith("\ufeff"):
        return None
    head = "\n".join(text.split("\n", 2)[:2])
    return None if _CODING_COOKIE.search(head) else tree


def _setup_py(text: str, path: str, out: Declarations, tree: ast.Module | None = None) -> None:
    """Literal requirement strings given to setup() keywords (or to names assigned nearby).
    `tree`: the file already parsed, if it was."""
    if text.isascii() and not any(keyword in text for keyword in _SETUP_KEYWORDS):
        # No such keyword can be given (an identifier that is not ASCII may fold to one: then the
        # tree decides). Most of a malicious setup.py's parse went here for nothing.
        return
    if tree is None:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError):
            return
    assigned: dict[str, ast.expr] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            assigned[stmt.targets[0].id] = stmt.value
    for node in walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            kind = _SETUP_KEYWORDS.get(keyword.arg or "")
            if kind is None:
                continue
            value = keyword.value
            if isinstance(value, ast.Name) and value.id in assigned:
                value = assigned[value.id]
            if kind is DependencyKind.RUNTIME and not isinstance(value, (ast.List, ast.Tuple, ast.Dict)):
                out.computed_requirements = True  # read from a file or built at run time
            optional = keyword.arg == "extras_require"
            for constant in ast.walk(value):
                if isinstance(constant, ast.Constant) and isinstance(constant.value, str):
                    if isinstance(value, ast.Dict) and constant in value.keys:
                        continue  # extras names, not requirements
                    out.requirements.append(
                        Requirement(constant.value, kind, path, constant.lineno, optional)
                    )
            for built, line in _built_strings(value, assigned):
                # `"pkg @ " + MIRROR + "pkg-1.0.tar.gz"`: the requirement pip reads, where it fetches
                out.requirements.append(Requirement(built, kind, path, line, optional))


def _built_strings(value: ast.expr, assigned: dict[str, ast.expr]) -> list[tuple[str, int]]:
    """Strings built from literals and module constants (`+`, f-strings) inside a setup() keyword
    value that name a direct URL: each outermost such expression, folded (never run)."""
    decoder = StaticDecoder(dict(assigned))
    found: list[tuple[str, int]] = []
    pending: list[ast.AST] = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.BinOp, ast.JoinedStr)):
            folded = decoder.evaluate(node)
            if isinstance(folded, str) and ("://" in folded or "@" in folded):
                found.append((folded, node.lineno))
            continue
        pending.extend(ast.iter_child_nodes(node))
    return found


def hook_roots(source: bytes, hook: InstallHook) -> frozenset[str]:
    """What of a hook module runs: the named hooks plus every top-level function and class (a
    hook file exists only to be run by the build tool)."""
    defined = {m.group(1) for m in _TOP_LEVEL_DEF.finditer(source.decode("utf-8", "replace"))}
    return frozenset(defined) | hook.roots


__all__ = [
    "Declarations",
    "DependencyKind",
    "InstallHook",
    "Requirement",
    "hook_roots",
    "read_declarations",
]
