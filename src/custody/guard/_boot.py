"""custody guard bootstrap: a PEP 578 audit hook armed at interpreter start-up.

`custody guard install` copies this file into a site-packages directory as `_custody_guard.py`
next to `!custody-guard.pth` (one line, `import _custody_guard`), whose name sorts before every
ordinary start-up file, so the hook is in place before any other `.pth` line runs.

This module is STDLIB-ONLY and imports nothing costly at start-up (no json, re, dataclasses,
custody): it runs in every interpreter of the environment. It reads two marshal files written
by the full custody code next to it: `_custody_guard.cfg` (mode, log path, compiled policy) and
`_custody_guard.idx` (file path -> owning distribution, from RECORD files). When the
environment changed since the index was built (a site dir's mtime moved: something was installed
or removed), the index is rebuilt here from RECORD files, lazily, on the first event that needs
attribution, and written back when the directory is writable.

A tripwire and a seatbelt, not a sandbox: native code and ctypes act unseen, audit hooks only
see the current interpreter, and an event that has no audit hook on this CPython is not seen.
"""

# Module-level state (PLW0603) is deliberate: one hook per interpreter, no objects to build at start-up.
# ruff: noqa: PLW0603
from __future__ import annotations

import marshal
import os
import sys
from _thread import get_ident

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: annotations only (they are strings here)
    from collections.abc import Callable
    from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG_NAME = "_custody_guard.cfg"
INDEX_NAME = "_custody_guard.idx"
_EXT_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
_WRITE_MODE = frozenset("wax+")
_READ_MODES = frozenset(("r", "rb", "rt", "br", "tr"))
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
UNOWNED = "unowned start-up file"
MAIN = "main program"

_config: dict[str, Any] = {}
_busy: set[int] = set()
_owner_cache: dict[str, str | None] = {}
_real_dirs: dict[str, str] = {}  # directory -> its realpath, for files the index lacks
_index: dict[str, str] | None = None
_seen: set[tuple[Any, ...]] = set()
_log_fd: int | None = None
_regex_cache: dict[str, Any] = {}
_base_prefixes: tuple[str, ...] = ()
_heads_by_top: dict[str, tuple[str, ...]] = {}
_loose_prefixes: tuple[str, ...] = ()
_POSIX = os.sep == "/"
_quiet_read: tuple[str, ...] = ()  # reads under the interpreter's prefixes: never restricted
_reads_unrestricted = False  # no policy restricts reads (protected paths still apply)
_SITE = "\0site"  # _owner's answer for the site module's own file
_MISS = "\0miss"  # compared by identity: not a file name nor an owner
_OWNER_CACHE_MAX = 100_000
# open() arguments (path, mode, flags) found quiet before, for absolute normal str paths only (a
# relative path's meaning follows the working directory): the decision is a function of these
# arguments and of the configuration fixed at arming, never of the caller, so it cannot carry one
# package's answer to another. Bounded: a program opening endless distinct files clears it. Small,
# because a miss costs more the larger the set (measured per open of a new file: about +0.25 us
# over no cache at 1,024 entries, +0.5 us at 4,096), and few programs re-read more files than that.
_quiet_opens: set[tuple[Any, ...]] = set()
_QUIET_OPENS_MAX = 1024


# ---- configuration and index ------------------------------------------------------------------
def _load(path: str) -> Any:
    with open(path, "rb") as handle:
        # One read, then loads: marshal.load on a file reads object by object (a read call for
        # each of the index's ~10,000 strings, about 4 ms at the first attributed event).
        return marshal.loads(handle.read())  # noqa: S302 - our own file, written by `custody guard install`


def _stamp(site_dirs: list[str]) -> list[list[Any]]:
    stamp: list[list[Any]] = []
    for site_dir in site_dirs:
        try:
            stamp.append([site_dir, os.stat(site_dir).st_mtime_ns])
        except OSError:
            stamp.append([site_dir, 0])
    return stamp


def build_index(site_dirs: list[str]) -> dict[str, str]:
    """path -> "name version" for every file a RECORD lists (stdlib fallback of custody's index)."""
    import csv  # noqa: PLC0415 - only when the cached index is stale

    files: dict[str, str] = {}
    for site_dir in site_dirs:
        try:
            entries = sorted(os.listdir(site_dir))
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith(".dist-info"):
                continue
            name, version = _name_version(os.path.join(site_dir, entry), entry)
            try:
                with open(os.path.join(site_dir, entry, "RECORD"), encoding="utf-8", newline="") as handle:
                    rows = list(csv.reader(handle))
            except (OSError, UnicodeDecodeError, csv.Error):
                continue
            for row in rows:
                if row and row[0]:
                    files[os.path.normpath(os.path.join(site_dir, row[0]))] = f"{name} {version}"
    return files


def _name_version(dist_dir: str, entry: str) -> tuple[str, str]:
    name, _, version = entry[: -len(".dist-info")].partition("-")
    try:
        with open(os.path.join(dist_dir, "METADATA"), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("Name:"):
                    name = line[5:].strip()
                elif line.startswith("Version:"):
                    version = line[8:].strip()
                elif not line.strip():
                    break
    except OSError:
        pass
    return name.lower().replace("_", "-").replace(".", "-"), version


def _get_index() -> dict[str, str]:
    global _index
    if _index is not None:
        return _index
    site_dirs: list[str] = list(_config.get("site_dirs", []))
    path = os.path.join(_HERE, INDEX_NAME)
    try:
        cached = _load(path)
        if cached.get("stamp") == _stamp(site_dirs):
            _index = cached["files"]
            return _index
    except (OSError, ValueError, EOFError, TypeError, KeyError, AttributeError):
        pass
    _index = build_index(site_dirs)
    try:  # best effort: the next interpreter then loads it instead of rebuilding
        save_index(path, _index, site_dirs)
    except OSError:  # a read-only environment: rebuilt per process until `custody guard refresh`
        return _index
    return _index


def save_index(path: str, files: dict[str, str], site_dirs: list[str]) -> None:
    """Write the index, stamped with the site dirs' mtimes as they are once the file exists.

    Creating the file changes its directory's mtime; rewriting its content in place does not. So
    the file is created first (atomically), then rewritten with the stamp taken after that."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(marshal.dumps({"stamp": [], "files": files}, 4))
    os.replace(tmp, path)
    with open(path, "r+b") as handle:
        handle.write(marshal.dumps({"stamp": _stamp(site_dirs), "files": files}, 4))
        handle.truncate()


def _owner(filename: str) -> str | None:
    """The distribution ("name version") whose RECORD lists `filename`, `_SITE` for the `site`
    module's own file (its `addpackage` runs `.pth` lines), else None; cached per file name."""
    try:
        return _owner_cache[filename]
    except KeyError:
        pass
    owner = None
    if filename and not filename.startswith("<"):
        index = _get_index()
        norm = os.path.normpath(filename)
        owner = index.get(filename) or index.get(norm)
        if owner is None:  # reached through a symlink (lib64 -> lib)? Directories resolved once each
            head, tail = os.path.split(norm)
            real_head = _real_dirs.get(head)
            if real_head is None:
                real_head = _real_dirs[head] = os.path.realpath(head)
            owner = index.get(os.path.join(real_head, tail))
            if owner is None and os.path.islink(norm):  # the file itself a link: one lstat
                owner = index.get(os.path.realpath(norm))
    # site is frozen from 3.11 ("<frozen site>"), a plain site.py before and with -X frozen_modules=off
    if owner is None and filename.endswith(("site.py", " site>")):
        owner = _SITE
    if len(_owner_cache) >= _OWNER_CACHE_MAX:  # code built from strings can name endless files
        _owner_cache.clear()
    _owner_cache[filename] = owner
    return owner


# ---- attribution ------------------------------------------------------------------------------
# The walk is the common path of every watched event the arguments alone cannot settle: one
# dict lookup per frame (the owner cache, keyed by the code's file name), nothing formatted. It
# stops at the nearest owned frame; the start-up file above it is looked for only when the event
# is logged.
def _nearest_package(frame: Any) -> tuple[str | None, Any, Any]:
    """(package, its frame, the nearest `site.addpackage` frame below it) for the code behind an
    event: the nearest frame whose file a RECORD owns, or (None, None, addpackage frame or None)."""
    cache = _owner_cache
    startup_frame = None
    f = frame
    while f is not None:
        code = f.f_code
        owner = cache.get(code.co_filename, _MISS)
        if owner is _MISS:
            owner = _owner(code.co_filename)
        if owner is not None:
            if owner is not _SITE:
                return owner, f, startup_frame
            if startup_frame is None and code.co_name == "addpackage":
                startup_frame = f
        f = f.f_back
    return None, None, startup_frame


def _addpackage_above(frame: Any) -> Any:
    """The nearest `site.addpackage` frame from `frame` outwards, or None."""
    f = frame
    while f is not None:
        code = f.f_code
        if code.co_name == "addpackage" and _owner(code.co_filename) is _SITE:
            return f
        f = f.f_back
    return None


def _pth_line(startup_frame: Any) -> tuple[str | None, int | None]:
    """(the `.pth` file, the line of it) that `site.addpackage` is running."""
    local = startup_frame.f_locals
    startup = local.get("fullname")
    n = local.get("n")
    if not isinstance(n, int):
        return startup, None
    return startup, n if sys.version_info >= (3, 13) else n + 1


def _attribute(frame: Any) -> tuple[str | None, str | None, str | None]:
    """(package "name version", startup file, "file:line") of the code behind an event: the
    nearest frame whose file a RECORD owns, else the `.pth` whose line is running."""
    package, package_frame, startup_frame = _nearest_package(frame)
    if startup_frame is None and package_frame is not None:
        startup_frame = _addpackage_above(package_frame.f_back)
    startup, line = _pth_line(startup_frame) if startup_frame is not None else (None, None)
    if package_frame is not None:
        return package, startup, f"{package_frame.f_code.co_filename}:{package_frame.f_lineno}"
    if startup is None:
        return None, None, None
    where = f"{startup}:{line}" if line is not None else None
    return _owner(startup) or UNOWNED, startup, where


def _caller_is_import_machinery(frame: Any) -> bool:
    return frame is not None and frame.f_code.co_filename.startswith("<frozen importlib")


def _stdlib_file(filename: str) -> bool:
    """A file of the standard library: under its directory, but not in a site-packages or
    dist-packages directory (an interpreter outside a venv keeps those under the same directory)."""
    return filename.startswith(_config.get("stdlib", "\0")) and "-packages" not in filename


def _caller_is_stdlib(frame: Any) -> bool:
    if frame is None:
        return True
    filename: str = frame.f_code.co_filename
    return filename.startswith("<frozen") or _stdlib_file(filename)


# ---- matching ---------------------------------------------------------------------------------
def _matches(pattern: str, text: str) -> bool:
    """fnmatch-style glob, `*` crossing `/` (so `~/.ssh/*` covers the whole tree); compiled once."""
    rx = _regex_cache.get(pattern)
    if rx is None:
        import fnmatch  # noqa: PLC0415 - lazily: only once a package event is checked
        import re  # noqa: PLC0415

        rx = _regex_cache[pattern] = re.compile(fnmatch.translate(pattern), re.IGNORECASE * (os.name == "nt"))
    return rx.match(text) is not None


def _any(patterns: list[str] | None, text: str) -> bool:
    return patterns is None or any(_matches(p, text) for p in patterns)


def _caps(package: str) -> dict[str, Any]:
    name = package.split(" ", 1)[0]
    caps: dict[str, Any] = _config["packages"].get(name, _config["default"])
    return caps


def _protected_path(path: str) -> str | None:
    """The protected group `path` falls in, or None. A pre-filter on literal heads keeps most
    paths away from the patterns: heads are grouped by their first directory (`/etc`, `/home`), so
    a path under `/tmp` costs one dict lookup, and `*/NAME` patterns are tested on the base name."""
    if _POSIX:
        cut = path.find("/", 1)
        heads = _heads_by_top.get(path[:cut] if cut > 0 else path)
        base = path[path.rfind("/") + 1 :]
    else:
        heads, base = None, os.path.basename(path)
    if (
        (heads is None or not path.startswith(heads))
        and not (_loose_prefixes and path.startswith(_loose_prefixes))
        and not base.startswith(_base_prefixes)
    ):
        return None
    for group, spec in _config["protected"].items():
        if any(_matches(p, path) for p in spec.get("paths", ())):
            return str(group)
    return None


def _protected_host(host: str) -> str | None:
    for group, spec in _config["protected"].items():
        if any(_matches(p, host) for p in spec.get("hosts", ())):
            return str(group)
    return None


# ---- decisions and the log ---------------------------------------------------------------------
def _now() -> str:
    import time  # noqa: PLC0415 - builtin-backed, cheap; imported on first log line only

    moment = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{int(moment % 1 * 1000):03d}Z"


def _write_log(line: dict[str, Any]) -> None:
    global _log_fd
    import json  # noqa: PLC0415 - lazily: most processes never log

    path = _config.get("log")
    data = (json.dumps(line, default=str) + "\n").encode()
    if not path:
        sys.stderr.write("custody guard: " + data.decode())
        return
    try:
        if _log_fd is None:
            _log_fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(_log_fd, data)  # one write per line: O_APPEND keeps lines of many processes whole
    except OSError:
        pass


def _short(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value[:300] if isinstance(value, str) else value
    if isinstance(value, bytes):
        return os.fsdecode(value)[:300]
    if isinstance(value, (list, tuple)):
        return [_short(v) for v in value[:20]]
    return repr(value)[:300]


def _decide(
    event: str,
    describe: Callable[[], list[Any]],
    frame: Any,
    capability: str,
    key: str,
    rule: str | None,
    finding: str | None = None,
    who: tuple[str | None, Any, Any] | None = None,
) -> None:
    """Attribute, check `rule` (None: allowed by policy) and log; raise PermissionError when enforced.

    `describe` gives the event's arguments as logged: called only when a line is written. `who`
    is `_nearest_package(frame)` when the handler already asked."""
    package, package_frame, startup_frame = who if who is not None else _nearest_package(frame)
    if package is None and startup_frame is not None:  # code of a `.pth` line, no package frame
        package = _owner(_pth_line(startup_frame)[0] or "") or UNOWNED
    if package is None:
        if finding is None:
            return  # the main program or the standard library: not policed
        package = MAIN  # ... but an unguarded child interpreter is worth knowing about whoever starts it
    elif rule is None:
        rule = _check(package, capability, key)
    if rule is None and finding is None:
        # The log keeps the first of each (package, event, resource); code built from strings
        # (attrs, pydantic: a new name per class) the first of each (package, event, code location).
        if capability == "dynamic_code" and package_frame is not None:
            seen: tuple[Any, ...] = (package, event, package_frame.f_code.co_filename, package_frame.f_lineno)
        else:
            seen = (package, event, key)
        if seen in _seen:
            return
        _seen.add(seen)
    _log_decision(
        event, describe(), frame, capability, key, rule, finding, package, package_frame, startup_frame
    )


def _log_decision(
    event: str,
    args: list[Any],
    frame: Any,
    capability: str,
    key: str,
    rule: str | None,
    finding: str | None,
    package: str,
    package_frame: Any,
    startup_frame: Any,
) -> None:
    """Write the decision's log line; raise PermissionError when it is an enforced refusal."""
    if startup_frame is None and package_frame is not None:
        startup_frame = _addpackage_above(package_frame.f_back)
    startup, line = _pth_line(startup_frame) if startup_frame is not None else (None, None)
    where_frame = package_frame if package_frame is not None else frame if package == MAIN else None
    if where_frame is not None:
        where: str | None = f"{where_frame.f_code.co_filename}:{where_frame.f_lineno}"
    else:
        where = f"{startup}:{line}" if startup is not None and line is not None else None
    enforce = _config.get("mode") == "enforce"
    decision = "deny" if rule is not None and enforce else ("allow" if rule is None else "would-deny")
    entry: dict[str, Any] = {
        "time": _now(),
        "pid": os.getpid(),
        "event": event,
        "args": _short(args),
        "capability": capability,
        "resource": key,
        "package": package,
        "startup_file": startup,
        "where": where,
        "decision": decision,
        "rule": rule,
        "mode": _config.get("mode"),
    }
    if finding is not None:
        entry["finding"] = finding
    _write_log(entry)
    if decision == "deny":
        verb = _VERBS.get(capability, capability)
        raise PermissionError(f"custody guard: {package} may not {verb} {key!r} (rule: {rule})")


_VERBS = {
    "network": "connect to",
    "read": "read",
    "write": "write",
    "subprocess": "start",
    "native": "load native code from",
    "dynamic_code": "run code built from strings in",
}


def _check(package: str, capability: str, key: str) -> str | None:
    """The rule that refuses `capability` on `key` for `package`, or None when allowed."""
    caps = _caps(package)
    granted = caps.get("protected", ())
    if caps.get("denied"):
        return "deny-list"
    if capability in ("read", "write"):
        # Both the path as given and where its symlinks lead: a link from /tmp into ~/.ssh is
        # ~/.ssh. Resolved here only, once a package is behind the event (realpath costs a
        # system call per component; the main program's and the quiet reads' paths are not).
        real = os.path.realpath(key)
        for path in (key, real) if real != key else (key,):
            group = _protected_path(path)
            if group is not None and group not in granted:
                return f"protected:{group}"
        patterns = caps.get(capability)
        allowed = _any(patterns, key) and (real == key or _any(patterns, real))
        return None if allowed else f"{capability}-not-allowed"
    if capability == "network":
        host = key.rsplit(":", 1)[0].strip("[]") if ":" in key else key
        group = _protected_host(host)
        if group is not None and group not in granted:
            return f"protected:{group}"
        patterns = caps.get("network")
        if patterns is None:
            return None
        return None if any(_matches(p, key) or _matches(p, host) for p in patterns) else "network-not-allowed"
    if not caps.get(capability, True):
        return f"{capability}-not-allowed"
    return None


# ---- event handlers ---------------------------------------------------------------------------
def _is_normal(value: Any) -> bool:
    """An absolute str path that normpath would leave as it is (a trailing `/` aside): no `.` or
    `..` segment, no `//`. Hidden directories (`~/.cache`, `~/.pyenv`) are normal."""
    return (
        type(value) is str
        and value[:1] == "/"
        and "//" not in value
        and "/./" not in value
        and "/../" not in value
        and value[-2:] != "/."
        and value[-3:] != "/.."
    )


def _path(value: Any) -> str | None:
    if _is_normal(value):
        return str(value)  # already absolute and normal: the common case, no posixpath calls
    if isinstance(value, int) or value is None:
        return None
    try:
        return os.path.abspath(os.fsdecode(value))
    except (TypeError, ValueError):
        return None


def _on_open(event: str, args: tuple[Any, ...], frame: Any) -> None:
    if _caller_is_import_machinery(frame):
        return
    path = _path(args[0])
    if path is None:
        return
    mode, flags = args[1], args[2] if len(args) > 2 else 0
    write = bool(isinstance(mode, str) and _WRITE_MODE.intersection(mode)) or bool(
        isinstance(flags, int) and flags & _WRITE_FLAGS
    )
    # No policy restricts this read: not attributed, not logged (the common, cheap case; a read
    # allowlist anywhere in the policy makes every read outside the environment count).
    unrestricted = _reads_unrestricted or path.startswith(_quiet_read)
    if not write and unrestricted and _protected_path(path) is None:
        return
    _decide(event, lambda: list(args), frame, "write" if write else "read", path, None)


def _on_path_change(event: str, args: tuple[Any, ...], frame: Any) -> None:
    for value in args[:2] if event == "os.rename" else args[:1]:
        path = _path(value)
        if path is not None:
            _decide(event, lambda: list(args), frame, "write", path, None)


def _address(value: Any) -> str | None:
    if isinstance(value, tuple) and len(value) >= 2:
        host = value[0].decode() if isinstance(value[0], bytes) else str(value[0])
        return f"[{host}]:{value[1]}" if ":" in host else f"{host}:{value[1]}"
    return None  # AF_UNIX paths and the like: local, not network egress


def _policed(frame: Any) -> tuple[str | None, Any, Any] | None:
    """`_nearest_package(frame)`, or None for the main program and the standard library (no
    package frame, no `.pth` line running), whose network use is neither checked nor logged:
    asked before the resource's name is built, which such events then never need."""
    who = _nearest_package(frame)
    return None if who[0] is None and who[2] is None else who


def _on_connect(event: str, args: tuple[Any, ...], frame: Any) -> None:
    if len(args) < 2 or not isinstance(args[1], tuple):
        return  # AF_UNIX paths and the like (or sendmsg with no address): not network egress
    who = _policed(frame)
    address = _address(args[1]) if who is not None else None
    if address is not None:
        _decide(event, lambda: [repr(args[0])[:120], args[1]], frame, "network", address, None, None, who)


def _on_getaddrinfo(event: str, args: tuple[Any, ...], frame: Any) -> None:
    who = _policed(frame)
    if who is None:
        return
    host = args[0].decode() if isinstance(args[0], bytes) else args[0]
    if isinstance(host, str) and host:
        port = args[1]
        key = f"{host}:{port.decode() if isinstance(port, bytes) else port}" if port is not None else host
        _decide(event, lambda: list(args[:2]), frame, "network", key, None, None, who)


_INTERPRETERS = ("python", "pypy")


def _interpreter_finding(argv: list[str]) -> str | None:
    """'unguarded-interpreter' for `python -S/-I` (no site: no guard), 'other-interpreter' for a
    Python that is not this environment's (its own .pth files, maybe no guard)."""
    if not argv:
        return None
    base = os.path.basename(argv[0]).lower()
    if not base.startswith(_INTERPRETERS):
        return None
    for arg in argv[1:]:
        if arg in ("-c", "-m") or not arg.startswith("-"):
            break
        if arg.startswith("-") and not arg.startswith("--") and ("S" in arg or "I" in arg):
            return "unguarded-interpreter"
    executable = argv[0]
    if os.sep not in executable:
        import shutil  # noqa: PLC0415 - only when a package starts an interpreter

        executable = shutil.which(executable) or executable
    if os.path.dirname(os.path.abspath(executable)) != os.path.dirname(os.path.abspath(sys.executable)):
        return "other-interpreter"
    return None


def _argv(value: Any) -> list[str]:
    if isinstance(value, (str, bytes)):
        import shlex  # noqa: PLC0415 - only for shell command strings

        try:
            return shlex.split(os.fsdecode(value))
        except ValueError:
            return [os.fsdecode(value)]
    if isinstance(value, (list, tuple)):
        return [os.fsdecode(v) if isinstance(v, (str, bytes)) else str(v) for v in value]
    return []


def _on_process(event: str, args: tuple[Any, ...], frame: Any) -> None:
    if event == "os.fork":
        argv: list[str] = []
    elif event == "subprocess.Popen":
        argv = _argv(args[1])
        if args[0] is not None and argv:
            argv[0] = os.fsdecode(args[0])
    elif event == "os.system":
        argv = _argv(args[0])
    else:  # os.exec, os.posix_spawn, os.spawn: (path, argv, env) / (mode, path, argv, env)
        argv = _argv(args[2] if event == "os.spawn" else args[1])
    finding = _interpreter_finding(argv)
    key = " ".join(argv)[:300] if argv else event
    _decide(event, lambda: [key], frame, "subprocess", key, None, finding)


def _on_compile(event: str, args: tuple[Any, ...], frame: Any) -> None:
    filename = args[1] if len(args) > 1 else None
    if isinstance(filename, bytes):
        filename = os.fsdecode(filename)
    if not isinstance(filename, str) or not filename.startswith("<") or _caller_is_stdlib(frame):
        return  # source files being imported, or the stdlib's own exec (dataclasses, namedtuple)
    _decide(event, lambda: [_source_text(args[0])[:300], filename], frame, "dynamic_code", filename, None)


def _source_text(source: Any) -> str:
    return (
        os.fsdecode(source) if isinstance(source, bytes) else source if isinstance(source, str) else "<ast>"
    )


def _on_exec(event: str, args: tuple[Any, ...], frame: Any) -> None:
    # a code object not read from a source file, e.g. exec(marshal.loads(...)): no compile event
    # precedes it (exec of a string fires compile first, and is logged for that too)
    code = args[0] if args else None
    filename = getattr(code, "co_filename", None)
    if not isinstance(filename, str) or not filename.startswith("<") or _caller_is_stdlib(frame):
        return
    _decide(event, lambda: [repr(code)[:300]], frame, "dynamic_code", filename, None)


def _on_import(event: str, args: tuple[Any, ...], frame: Any) -> None:
    filename = args[1] if len(args) > 1 else None
    # the interpreter's own extension modules (lib-dynload) are not a package loading native code
    if isinstance(filename, str) and filename.endswith(_EXT_SUFFIXES) and not _stdlib_file(filename):
        _decide(event, lambda: [args[0], filename], frame, "native", filename, None)


def _on_dlopen(event: str, args: tuple[Any, ...], frame: Any) -> None:
    name = args[0] if args else None
    _decide(event, lambda: [name], frame, "native", str(name), None, "ctypes")


def _on_addaudithook(event: str, args: tuple[Any, ...], frame: Any) -> None:
    # Logged, never refused: a hook refusing this must raise RuntimeError, which would hide it.
    package, startup, where = _attribute(frame)
    if package is not None:
        _write_log(
            {
                "time": _now(),
                "pid": os.getpid(),
                "event": event,
                "args": [],
                "capability": "tamper",
                "resource": event,
                "package": package,
                "startup_file": startup,
                "where": where,
                "decision": "allow",
                "rule": None,
                "mode": _config.get("mode"),
                "finding": "audit-hook-added",
            }
        )


_HANDLERS = {
    "open": _on_open,
    "os.remove": _on_path_change,
    "os.rename": _on_path_change,
    "os.chmod": _on_path_change,
    "os.mkdir": _on_path_change,
    "os.rmdir": _on_path_change,
    "os.truncate": _on_path_change,  # os.truncate (a path) and os.ftruncate (an fd: not checked)
    "socket.connect": _on_connect,
    "socket.sendto": _on_connect,
    "socket.sendmsg": _on_connect,  # (socket, address or None): an address is egress like sendto's
    "socket.getaddrinfo": _on_getaddrinfo,
    "subprocess.Popen": _on_process,
    "os.system": _on_process,
    "os.exec": _on_process,
    "os.posix_spawn": _on_process,
    "os.spawn": _on_process,
    "os.fork": _on_process,
    "compile": _on_compile,
    "exec": _on_exec,
    "import": _on_import,
    "ctypes.dlopen": _on_dlopen,
    "sys.addaudithook": _on_addaudithook,
}


def _open_is_quiet(args: tuple[Any, ...]) -> bool:
    """A read no policy restricts (see _on_open): the bulk of all events, so checked first, with
    the common case (an absolute, normal path as a str, under no protected head) inlined; such
    a path's quiet answer is remembered in `_quiet_opens`, which `_hook` looks in first."""
    mode = args[1]  # None for os.open: its flags tell
    if mode is not None and not (
        type(mode) is str and (mode in _READ_MODES or not _WRITE_MODE.intersection(mode))
    ):
        return False
    flags = args[2] if len(args) > 2 else 0
    if type(flags) is not int or flags & _WRITE_FLAGS:
        return False
    path = args[0]
    normal = _is_normal(path)
    if not normal:
        path = _path(path)
        if path is None:
            return True
    if not (_reads_unrestricted or path.startswith(_quiet_read)):
        return False
    quiet = False
    if _POSIX and not _loose_prefixes:  # _protected_path's pre-filter, without the call
        cut = path.find("/", 1)
        heads = _heads_by_top.get(path[:cut] if cut > 0 else path)
        base = path[path.rfind("/") + 1 :]
        quiet = (heads is None or not path.startswith(heads)) and not base.startswith(_base_prefixes)
    if not quiet:
        quiet = _protected_path(path) is None
    if quiet and normal:
        if len(_quiet_opens) >= _QUIET_OPENS_MAX:
            _quiet_opens.clear()
        _quiet_opens.add(args)
    return quiet


def _import_is_quiet(args: tuple[Any, ...]) -> bool:
    """Not an extension module, or one of the interpreter's own (lib-dynload)."""
    filename = args[1] if len(args) > 1 else None
    return not (isinstance(filename, str) and filename.endswith(_EXT_SUFFIXES)) or _stdlib_file(filename)


def _compile_is_quiet(args: tuple[Any, ...]) -> bool:
    filename = args[1] if len(args) > 1 else None
    return isinstance(filename, str) and not filename.startswith("<")


def _exec_is_quiet(args: tuple[Any, ...]) -> bool:
    filename = getattr(args[0], "co_filename", None) if args else None
    return isinstance(filename, str) and not filename.startswith("<")


_QUIET = {
    "open": _open_is_quiet,
    "import": _import_is_quiet,
    "compile": _compile_is_quiet,
    "exec": _exec_is_quiet,
}


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event == "open":  # the bulk of all events: a read already found quiet costs one set lookup
        try:
            # Exact str only: a str subclass can compare and hash equal to a remembered path while
            # naming another file (and the other arguments, from C, are a str or None and an int).
            if type(args[0]) is str and args in _quiet_opens:
                return
        except Exception:  # noqa: S110 - sys.audit("open") with odd arguments: decided below
            pass
    handler = _HANDLERS.get(event)
    if handler is None:
        return  # the vast majority of events: one dict lookup
    quiet = _QUIET.get(event)
    if quiet is not None:
        # Decided from the arguments alone: no frame, no stack walk, and no re-entrancy guard
        # either (these checks raise no audit event). Should one fail, the full path decides.
        try:
            if quiet(args):
                return
        except Exception:  # noqa: S110 - the handler below decides, and reports its own failure
            pass
    me = get_ident()
    if me in _busy:
        return  # our own opens and writes, and events raised while we decide
    _busy.add(me)
    try:
        try:
            frame = sys._getframe(1)
        except ValueError:  # raised from C with no Python frame (interpreter start, shutdown)
            frame = None
        handler(event, args, frame)
    except PermissionError:
        raise  # an enforced refusal
    except Exception as exc:  # a guard bug must not break the guarded program (it is logged)
        _guard_error(event, exc)
    finally:
        _busy.discard(me)


def _guard_error(event: str, exc: Exception) -> None:
    """Log (once per event name) that the guard failed on an event, which then went unchecked."""
    if ("", event, "error") in _seen:
        return
    _seen.add(("", event, "error"))
    try:
        _write_log(
            {
                "time": _now(),
                "pid": os.getpid(),
                "event": event,
                "args": [],
                "capability": "guard-error",
                "resource": repr(exc)[:300],
                "package": "custody-guard",
                "startup_file": None,
                "where": None,
                "decision": "allow",
                "rule": None,
                "mode": _config.get("mode"),
                "finding": "guard-error",
            }
        )
    except Exception:  # nothing left to report it with (contextlib is not loaded at start-up)
        return


def _expand(config: dict[str, Any]) -> None:
    """Resolve `~` against this process's HOME and note the prefixes protected paths start with."""
    global _base_prefixes
    global _heads_by_top
    global _loose_prefixes
    _quiet_opens.clear()  # decided under the protected paths about to be replaced
    home = os.path.expanduser("~")
    by_top: dict[str, list[str]] = {}
    loose: list[str] = []
    base_prefixes: list[str] = []
    for spec in config["protected"].values():
        paths = [os.path.normpath(p.replace("~", home, 1)) if p.startswith("~") else p for p in spec["paths"]]
        spec["paths"] = paths
        for p in paths:
            # "*/NAME" (a name in any directory) is pre-filtered on the base name, anything else on
            # its literal head: most paths then never reach a regex (and `re` is not even imported)
            if p.startswith("*/"):
                base_prefixes.append(_literal_head(p[2:]))
                continue
            head = _literal_head(p)
            cut = head.find("/", 1) if _POSIX and head.startswith("/") else -1
            if cut > 0:  # a whole first directory: only paths under it can match
                by_top.setdefault(head[:cut], []).append(head)
            else:  # "/ro*", "*.pem", a Windows path: tested against every path
                loose.append(head)
    for caps in [config["default"], *config["packages"].values()]:
        for key in ("read", "write"):
            if caps.get(key) is not None:
                caps[key] = [p.replace("~", home, 1) if p.startswith("~") else p for p in caps[key]]
    _heads_by_top = {top: tuple(heads) for top, heads in by_top.items()}
    _loose_prefixes = tuple(loose)
    _base_prefixes = tuple(base_prefixes)


def _literal_head(pattern: str) -> str:
    return pattern[: min((pattern.find(c) for c in "*?[" if c in pattern), default=len(pattern))]


def arm(config_path: str | None = None) -> bool:
    """Install the audit hook once per interpreter; False when already armed or not configured."""
    global _quiet_read
    global _reads_unrestricted
    if getattr(sys, "_custody_guard_armed", False):
        return False  # the same site dir reached twice (lib and lib64), or a re-import
    try:
        config = _load(config_path or os.path.join(_HERE, CONFIG_NAME))
        _expand(config)
    except (OSError, ValueError, EOFError, TypeError, KeyError) as exc:
        sys.stderr.write(f"custody guard: not armed, cannot read its configuration: {exc}\n")
        return False
    _config.clear()
    _config.update(config)
    _config["quiet_read"] = tuple(p for p in (sys.prefix, sys.base_prefix, sys.exec_prefix) if p)
    _config["stdlib"] = os.path.dirname(os.__file__)
    _config["reads_unrestricted"] = all(
        caps.get("read") is None for caps in [config["default"], *config["packages"].values()]
    )
    _quiet_read = _config["quiet_read"]  # module globals: read on every open, a dict lookup less
    _reads_unrestricted = _config["reads_unrestricted"]
    _quiet_opens.clear()  # decided under the configuration just replaced
    sys._custody_guard_armed = True  # type: ignore[attr-defined]
    sys.addaudithook(_hook)
    return True


if __name__ == "_custody_guard":
    arm()
