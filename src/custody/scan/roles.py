"""What a member is and when its code runs, from its path inside the artifact."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Collection
from functools import lru_cache

from custody.artifacts import ArtifactKind
from custody.scan.model import Context

DEV_DIRS = frozenset(
    {
        "tests",
        "test",
        "testing",
        "docs",
        "doc",
        "examples",
        "example",
        "benchmarks",
        "benchmark",
        "bench",
        "samples",
        "sample",
        "demo",
        "demos",
        "tutorials",
        "notebooks",
        "scripts_dev",
        "ci",
        ".github",
    }
)
# A dev word that starts or ends a folder name (`test_utils`, `unit-tests`, `docs_src`). One in the
# middle (`formatter_test_package`) names an ordinary package: treating that as test code would let
# any package hide its payload by choosing such a name.
_DEV_WORD = re.compile(
    r"^(tests?|testing|docs?|examples?|benchmarks?|samples?|demos?)([ _.-]|$)"
    r"|[ _.-](tests?|testing|docs?|examples?|benchmarks?|samples?|demos?)$"
)
STARTUP_MODULES = frozenset({"sitecustomize.py", "usercustomize.py"})
SOURCE_KINDS = frozenset({ArtifactKind.SDIST, ArtifactKind.SOURCE})
"""Artifacts pip builds from source: their top-level setup.py runs at install."""
SETUP_RUNS = SOURCE_KINDS | {ArtifactKind.FILE, ArtifactKind.EGG}


class FileType(str, enum.Enum):
    """What a member is, by name and place: Python, a start-up file (.pth, .site.toml, .start),
    JavaScript, package.json, a script, metadata, a binary, or other."""

    PYTHON = "python"
    PTH = "pth"
    SITE_TOML = "site-toml"
    START = "start"
    JAVASCRIPT = "javascript"
    PACKAGE_JSON = "package-json"
    SCRIPT = "script"
    METADATA = "metadata"
    BINARY = "binary"
    OTHER = "other"


class ExecutableFormat(enum.Enum):
    """A native executable format, recognised by its magic number; the value is its label."""

    PE = "PE (Windows) executable"
    ELF = "ELF executable"
    MACH_O = "Mach-O executable"


EXECUTABLE_MAGIC = (
    (b"MZ", ExecutableFormat.PE),
    (b"\x7fELF", ExecutableFormat.ELF),
    (b"\xcf\xfa\xed\xfe", ExecutableFormat.MACH_O),
    (b"\xce\xfa\xed\xfe", ExecutableFormat.MACH_O),
    (b"\xfe\xed\xfa\xcf", ExecutableFormat.MACH_O),
    (b"\xfe\xed\xfa\xce", ExecutableFormat.MACH_O),
)


def executable_kind(prefix: bytes) -> ExecutableFormat | None:
    """The executable format a file's first 64 bytes announce, if any."""
    for magic, label in EXECUTABLE_MAGIC:
        if prefix.startswith(magic):
            if magic == b"MZ" and len(prefix) >= 64:
                # A real PE header offset lives at 0x3c; plain text starting with "MZ" is not a PE.
                offset = int.from_bytes(prefix[0x3C:0x40], "little")
                if offset == 0 or offset > 1 << 20:
                    return None
            return label
    return None


def relative_path(path: str, strip_prefix: str) -> str:
    """Path as the package would lay it out: sdist wrapper dir and nested-archive prefixes removed."""
    if "!/" in path:
        path = path.rsplit("!/", 1)[1]
        first, _, rest = path.partition("/")
        # nested sdists carry their own wrapper directory
        return rest if rest and "-" in first else path
    if strip_prefix and path.startswith(strip_prefix):
        return path[len(strip_prefix) :]
    return path


@lru_cache(maxsize=4096)
def is_dev_dir(name: str) -> bool:
    """A folder for tests, docs, examples or benchmarks, by its name (asked for every folder of
    every member: the answers are kept)."""
    lower = name.lower()
    return lower in DEV_DIRS or _DEV_WORD.search(lower) is not None


@lru_cache(maxsize=256)
def own_module_name(project: str | None) -> str | None:
    """The import name a project's own package or module would have (`shoots-api-test` ->
    `shoots_api_test`)."""
    if not project:
        return None
    return re.sub(r"[-.]+", "_", project).lower()


def classify(
    rel: str, kind: ArtifactKind, package_dirs: frozenset[str] | None = None, project: str | None = None
) -> tuple[FileType, Context]:
    """File type and the context its code runs in by default.

    The project's own package is never test code because of its name: a package called
    `x_test` or `demo_tools` would otherwise hide its payload from the import-time rules."""
    parts = rel.split("/")
    base = parts[-1]
    lower = base.lower()
    top = len(parts) == 1
    own = own_module_name(project)
    first = 1 if len(parts) > 2 and parts[0] == "src" else 0
    in_dev = any(is_dev_dir(p) for i, p in enumerate(parts[:-1]) if not (i == first and p.lower() == own))
    own_module = own is not None and lower in (f"{own}.py", f"{own}.pyw")
    if lower.endswith(".pth"):
        return FileType.PTH, Context.STARTUP
    if lower.endswith(".site.toml"):
        return FileType.SITE_TOML, Context.STARTUP
    if lower.endswith(".start") and (top or kind is not ArtifactKind.NPM):
        return FileType.START, Context.STARTUP
    if lower.endswith((".py", ".pyw")):
        if base in STARTUP_MODULES and not in_dev:
            return FileType.PYTHON, Context.STARTUP
        if len(parts) == 2 and parts[0] in ("sitecustomize", "usercustomize") and base == "__init__.py":
            return FileType.PYTHON, Context.STARTUP
        if base == "setup.py" and top and kind in SETUP_RUNS:
            return FileType.PYTHON, Context.INSTALL
        if in_dev or (
            not own_module
            and (lower.startswith("test_") or lower.endswith("_test.py") or base == "conftest.py")
        ):
            return FileType.PYTHON, Context.DEV
        if package_dirs is not None and not top and not _importable(rel, package_dirs):
            # Outside any package of an sdist (scripts/, tools/, vendored build systems): runs only
            # when someone runs it on purpose.
            return FileType.PYTHON, Context.CALL
        return FileType.PYTHON, Context.IMPORT
    if kind is ArtifactKind.NPM or lower.endswith((".js", ".cjs", ".mjs")):
        if base == "package.json" and (top or (kind is ArtifactKind.NPM and len(parts) == 1)):
            return FileType.PACKAGE_JSON, Context.INSTALL
        if lower.endswith((".js", ".cjs", ".mjs")):
            if kind is not ArtifactKind.NPM:
                # JavaScript shipped in a Python package is data for a browser or a bundled tool.
                return FileType.JAVASCRIPT, Context.CALL
            return FileType.JAVASCRIPT, Context.DEV if in_dev else Context.IMPORT
    if lower.endswith((".sh", ".bash", ".bat", ".cmd", ".ps1", ".vbs")):
        return FileType.SCRIPT, Context.DEV if in_dev else Context.CALL
    if base in ("PKG-INFO", "METADATA", "entry_points.txt", "RECORD", "WHEEL", "setup.cfg"):
        return FileType.METADATA, Context.CALL
    return FileType.OTHER, Context.DEV if in_dev else Context.CALL


def module_file_candidates(module: str) -> tuple[str, str]:
    """Relative paths a top-level import of `module` would load."""
    path = module.replace(".", "/")
    return f"{path}.py", f"{path}/__init__.py"


NON_PACKAGE_DIRS = frozenset(
    {
        "scripts",
        "script",
        "tools",
        "tool",
        "build_tools",
        "buildtools",
        "ci",
        "bin",
        "dev",
        "devtools",
        "misc",
        "external",
        "third_party",
        "thirdparty",
        "vendored",
        "extern",
        "contrib",
        "utils_dev",
        "maint",
        "release",
        "packaging",
        "cmake",
        "build",
        "builds",
    }
)


def _importable(rel: str, package_dirs: frozenset[str]) -> bool:
    """Inside a package, or a plain top-level folder next to setup.py (namespace-style packages);
    in a `src/` layout, a plain folder only under `src/`: the folders beside `src/` (a GitHub
    Action's script, CI helpers) are not what the build installs."""
    folder = rel.rsplit("/", 1)[0]
    parts = folder.split("/")
    in_src = parts[0] == "src"
    if in_src:
        parts = parts[1:]
    if parts and (parts[0].lower() in NON_PACKAGE_DIRS or parts[0].lower().startswith("vendored")):
        return False  # build tools and vendored sources next to the package are not imported
    if folder in package_dirs:
        return True
    if not in_src and any(d.startswith("src/") for d in package_dirs):
        return False
    return len(parts) == 1 and parts[0].lower() not in NON_PACKAGE_DIRS and not parts[0].startswith(".")


def package_dirs(rels: list[str]) -> frozenset[str]:
    """Directories that are Python packages (hold an __init__.py), and `src/` layouts' parents."""
    dirs = {r.rsplit("/", 1)[0] for r in rels if r.endswith("/__init__.py")}
    return frozenset(dirs)


# `from .x import *` imports x too: the star is accepted where names go. Anchored on a newline
# (the text is given one in front), not `^` in MULTILINE mode, which is tried at every byte: the
# same matches, 3x faster (no match spans a newline).
_FROM_IMPORT = re.compile(rb"\n[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\(?([\w, \t*]+)")
_PLAIN_IMPORT = re.compile(rb"\n[ \t]*import[ \t]+([\w., \t]+)")


def _import_stem(dots: bytes, module: bytes, base: list[str]) -> str:
    """The dotted module `from <dots><module> import ...` names, seen from package folder `base`."""
    level = len(dots)
    if not level:
        return module.decode()
    parent = base[: len(base) - (level - 1)] if level - 1 <= len(base) else []
    return ".".join([*parent, module.decode()]) if module else ".".join(parent)


def imported_modules(source: bytes, package: str) -> set[str]:
    """Dotted modules a source file imports (relative ones resolved against `package`, the file's
    folder as a slash path), including `from pkg import name` read as a possible `pkg.name`."""
    found: set[str] = set()
    base = [p for p in package.split("/") if p]
    source = b"\n" + source
    for dots, module, names in _FROM_IMPORT.findall(source):
        stem = _import_stem(dots, module, base)
        if not stem:
            continue
        found.add(stem)
        for item in names.decode().replace("(", " ").split(","):
            name = item.strip().split(" ")[0]
            if name.isidentifier():
                found.add(f"{stem}.{name}")
    for group in _PLAIN_IMPORT.findall(source):
        for item in group.decode().split(","):
            name = item.strip().split(" ")[0]
            if name:
                found.add(name)
    return found


_TOP_FROM_IMPORT = re.compile(rb"\nfrom[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\(?([\w, \t*]+)")
_TOP_PLAIN_IMPORT = re.compile(rb"\nimport[ \t]+([\w., \t]+)")


def top_level_imported_modules(source: bytes, package: str) -> dict[str, int]:
    """Dotted modules imported by lines at column 0 (they run whenever this module is imported),
    each with the line of its first such import; `from pkg import name` also as `pkg.name`."""
    found: dict[str, int] = {}
    base = [p for p in package.split("/") if p]
    text = b"\n" + source

    def add(name: str, offset: int) -> None:
        if name not in found:
            found[name] = text.count(b"\n", 0, offset + 1)

    for match in _TOP_FROM_IMPORT.finditer(text):
        dots, module, names = match.groups()
        stem = _import_stem(dots, module, base)
        if not stem:
            continue
        add(stem, match.start())
        for item in names.decode().replace("(", " ").split(","):
            name = item.strip().split(" ")[0]
            if name.isidentifier():
                add(f"{stem}.{name}", match.start())
    for match in _TOP_PLAIN_IMPORT.finditer(text):
        for item in match.group(1).decode().split(","):
            name = item.strip().split(" ")[0]
            if name:
                add(name, match.start())
    return found


# Starts with the keyword, a literal the engine searches for quickly (a newline and optional
# indentation first made it try every line); `from_imports` keeps the matches that only blanks
# precede on their line. A match never crosses a newline, so one that starts mid-line (`raise X
# from e`, prose) ends on its own line and hides no import on the next.
_FROM_IMPORT_NAMES = re.compile(rb"from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\(?[ \t]*([\w \t,*]+)")


def from_imports(source: bytes, package: str) -> list[tuple[str, str, str]]:
    """(dotted module, imported name, local name) of every `from M import a, b as c` line,
    relative modules resolved against `package` (the file's folder as a slash path); `from . import
    x` gives the package and `x` (which may be a submodule)."""
    found: list[tuple[str, str, str]] = []
    base = [p for p in package.split("/") if p]
    if b"from" not in source:
        return found
    rfind = source.rfind
    for match in _FROM_IMPORT_NAMES.finditer(source):
        start = match.start()
        if source[rfind(b"\n", 0, start) + 1 : start].strip(b" \t"):
            continue  # not at the start of its line
        dots, module, names = match.groups()
        stem = _import_stem(dots, module, base)
        if not stem:
            continue
        for item in names.decode().split(","):
            words = item.split()
            if not words or not (words[0].isidentifier() or words[0] == "*"):
                continue
            local = words[2] if len(words) == 3 and words[1] == "as" else words[0]
            found.append((stem, words[0], local))
    return found


EXTENSION_SUFFIXES = (".so", ".pyd")


def extension_module_path(rel: str) -> str | None:
    """The module path (`pkg/_core`) a compiled extension module file (`pkg/_core.cpython-310-
    x86_64-linux-gnu.so`, `pkg/_core.cp311-win_amd64.pyd`, `pkg/_core.abi3.so`) is imported as;
    None for other files."""
    if not rel.lower().endswith(EXTENSION_SUFFIXES):
        return None
    folder, _, base = rel.rpartition("/")
    stem = base.split(".", 1)[0]
    if not stem.isidentifier():
        return None
    return f"{folder}/{stem}" if folder else stem


# Anchored on a literal newline (the text is given one in front) so the engine can search for
# it: a `^` in MULTILINE mode is tried at every byte.
_FROM_IMPORT_AS = re.compile(
    rb"\nfrom[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\(?([\w, \t\n]+?)\)?[ \t]*(?:#[^\n]*)?(?=\n)"
)
# Lines at column 0 that are not definitions, imports or comments, each with its newline.
_TOP_LEVEL_LINE = re.compile(rb"\n(?![ \t#\r\n]|def[ \t]|class[ \t]|async[ \t]|from[ \t]|import[ \t])[^\n]+")
# A name used as a decorator or handed to a thread, timer or atexit (group 1), or called (group
# 2); either may be an attribute of an imported module (`m.f`: groups 1/2 name `m`, 3 names `f`).
# Possessive `\w*+`: a name is never given back to try a shorter one (what follows a shorter one
# is a word character, which nothing here accepts), a third less time on large modules.
_CALLED_OR_HANDED = re.compile(
    rb"(?:@|target[ \t]*=)[ \t]*([A-Za-z_]\w*+)(?:\.([A-Za-z_]\w*+))?(?![\w.(])"
    rb"|(?<![\w.])([A-Za-z_]\w*+)(?:\.([A-Za-z_]\w*+))?[ \t]*\("
)
# `atexit.register(m.f)` and `Timer(5, m.f)`: the call pattern takes `register(` and `Timer(`; a
# function wrapped in `functools.partial(m.f, ...)` is still that function, handed on or called
_REGISTERED_FUNCTION = re.compile(
    rb"(?:register\(|Timer\([^,\n()]*,|partial\()[ \t]*(?:(?:functools\.)?partial\([ \t]*)?"
    rb"()()([A-Za-z_]\w*+)(?:\.([A-Za-z_]\w*+))?(?![\w.(])"
)
# The header of a function or class at column 0: what runs when the statement runs is in it
# (default argument values, decorators' calls; a class's bases and metaclass).
_DEF_HEADER = re.compile(rb"\n(?:async[ \t]+)?def[ \t]+\w+[ \t]*(\([^\n]*)")
_CLASS_HEADER = re.compile(rb"\nclass[ \t]+\w+[ \t]*(?:\(([^\n]*))?")
_NEXT_TOP_LEVEL = re.compile(rb"\n(?=[^ \t\r\n#)\]}])")
_BODY_INDENT = re.compile(rb"\n([ \t]+)(?=[^ \t\r\n#])")
_BASE = re.compile(rb"(?<![\w.=])([A-Za-z_]\w*+)(?:\.([A-Za-z_]\w*+))?[ \t]*(?=[,)])")
_METACLASS = re.compile(rb"metaclass[ \t]*=[ \t]*([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?")
_INDENTED_DEF = re.compile(rb"\n[ \t]+(?:async[ \t]+)?def[ \t]+\w+[ \t]*")
_IDENTIFIER = re.compile(rb"[A-Za-z_]\w*")


def module_level_calls(
    source: bytes, package: str, keep: Callable[[str], bool] | None = None
) -> dict[str, set[str]]:
    """Names imported from other modules that this module calls (or hands to a thread, timer or
    atexit, or uses as a decorator) at its top level: module -> names as the imported module
    defines them. Those functions run when this module is imported, whatever module holds them.

    A text pass, not a parse: it runs on every module of a package to decide which ones need the
    full analysis. Top level means a line that starts at column 0 (decorator lines included).
    `keep`: which imported modules matter (those of the artifact); the text passes are skipped
    when no import names one."""
    imported: dict[bytes, tuple[str, str]] = {}
    base = [p for p in package.split("/") if p]
    for dots, module, names in _FROM_IMPORT_AS.findall(b"\n" + source + b"\n"):
        stem = _import_stem(dots, module, base)
        if not stem or (keep is not None and not keep(stem)):
            continue
        for item in names.replace(b"\n", b" ").split(b","):
            words = item.split()
            if not words or not _IDENTIFIER.fullmatch(words[0]):
                continue
            local = words[2] if len(words) == 3 and words[1] == b"as" else words[0]
            imported[local] = (stem, words[0].decode())
    if not imported:
        return {}
    found: dict[str, set[str]] = {}

    def add(local: bytes, attribute: bytes | None, name: str | None = None) -> None:
        """`name` (default: the imported function itself) of what `local` names runs."""
        target = imported.get(local)
        if target is None:
            return
        if attribute:
            # `from . import m` then `m.f()`: f of the submodule m (or of the module m names)
            found.setdefault(f"{target[0]}.{target[1]}", set()).add(name or attribute.decode())
        else:
            found.setdefault(target[0], set()).add(name or target[1])

    text = b"\n" + source
    top_level = b"".join(
        [*_TOP_LEVEL_LINE.findall(text), *_DEF_HEADER.findall(text), *_class_time_lines(text, add, imported)]
    )
    if not any(local in top_level for local in imported):
        return found  # none of the imported names appears where code runs at import
    # findall gives plain tuples: no match object per call, most of which name nothing imported
    for handed, handed_attribute, called, called_attribute in [
        *_CALLED_OR_HANDED.findall(top_level),
        *_REGISTERED_FUNCTION.findall(top_level),
    ]:
        local = handed or called
        if local in imported:
            add(local, handed_attribute or called_attribute)
    return found


def _class_time_lines(
    text: bytes, add: Callable[[bytes, bytes | None, str | None], None], names: Collection[bytes]
) -> list[bytes]:
    """What a class statement at column 0 runs when it runs, at import: the bases' (imported)
    `__init_subclass__` and the metaclass (given to `add`), and the lines of the class body at its
    first indentation (assignments such as `field = Descriptor()`, whose `__init__` and
    `__set_name__` run then; decorators and default values of its methods), returned for the
    call search, from class bodies that mention one of `names` (the imported names). One line
    each: a statement continued on further lines is read by its first."""
    lines: list[bytes] = []
    for header in _CLASS_HEADER.finditer(text):
        arguments = header.group(1) or b""
        lines.append(b"\n" + arguments)
        metaclass = _METACLASS.search(arguments)
        if metaclass is not None:
            add(metaclass.group(1), metaclass.group(2), None)
        for base in _BASE.finditer(arguments.split(b"metaclass", 1)[0]):
            add(base.group(1), base.group(2), "__init_subclass__")
        start = header.end()
        following = _NEXT_TOP_LEVEL.search(text, start)
        end = following.start() if following is not None else len(text)
        indent = _BODY_INDENT.search(text, start, end)
        if indent is None:
            continue
        body = b"".join(_body_lines(indent.group(1)).findall(text, start, end))
        if not any(name in body for name in names):
            # nothing imported is named in the lines that run: none of them can run an import
            # (the lines first, then the names: a class body is mostly its methods' code)
            continue
        # a method's header keeps its decorators' and defaults' calls, not its own name
        lines.append(_INDENTED_DEF.sub(b"\n", body))
    return lines


@lru_cache(maxsize=64)
def _body_lines(indent: bytes) -> re.Pattern[bytes]:
    """Lines at exactly this indentation that are not comments or nested classes, and that call
    something or decorate (the others run nothing another module defines)."""
    return re.compile(rb"\n" + re.escape(indent) + rb"(?:@[^\n]*|(?![ \t#\r\n]|class[ \t])[^\n(]*\([^\n]*)")
