"""Arm and disarm an environment: the start-up file, the bootstrap, its configuration and index.

Four files go into the environment's site-packages directory:

- `!custody-guard.pth` (`import _custody_guard`): `!` sorts before digits, `-`, `_`, letters and
  every other printable name (`site` runs `.pth` files in `sorted(os.listdir())` order);
- `_custody_guard.py`: the stdlib-only bootstrap (`custody/guard/_boot.py`);
- `_custody_guard.cfg`: mode, log path and the compiled policy (marshal, cheap to load);
- `_custody_guard.idx`: file path -> owning distribution, from every RECORD (marshal), stamped
  with the site dirs' mtimes so the bootstrap notices an install or removal and rebuilds it.
"""

from __future__ import annotations

import contextlib
import glob
import marshal
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custody.artifacts import find_site_dirs, list_distributions
from custody.errors import CustodyError
from custody.guard import _boot
from custody.policy.guard import GuardMode, GuardPolicy, load_guard_policy
from custody.startup_files import startup_order

PTH_NAME = "!custody-guard.pth"
BOOT_NAME = "_custody_guard.py"
CONFIG_NAME = _boot.CONFIG_NAME
INDEX_NAME = _boot.INDEX_NAME
PTH_LINE = "import _custody_guard\n"
_OWN_FILES = (PTH_NAME, BOOT_NAME, CONFIG_NAME, INDEX_NAME)
_OWN_CACHE = "__pycache__/_custody_guard.*.pyc"
# With -S, `site` is imported but not run: getsitepackages() gives the order `site` would process
# the site dirs in (lib64 before lib where platlibdir is lib64), so the guard goes into the first.
_PROBE = (
    "import json, site, sys, sysconfig; p = sysconfig.get_paths();"
    "print(json.dumps({'prefix': sys.prefix, 'purelib': p['purelib'], 'platlib': p['platlib'],"
    " 'order': site.getsitepackages()}))"
)


class GuardError(CustodyError):
    """An environment that cannot be armed, disarmed or read; the message says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Environment:
    """Where an interpreter keeps its distributions."""

    python: str
    prefix: str
    site_dirs: tuple[str, ...]
    """In the order `site` processes them; the guard's files go into the first."""

    @property
    def site_dir(self) -> str:
        """The first site directory: where the guard's files go."""
        return self.site_dirs[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardStatus:
    """What `custody guard status` shows."""

    environment: Environment
    armed: bool
    mode: str | None
    policy: str | None
    log: str | None
    before: tuple[str, ...]
    """Start-up files that `site` processes before the guard's (they run unguarded)."""
    index_fresh: bool
    bootstrap_intact: bool
    """The installed bootstrap is byte for byte this custody's (a wheel shipping its own
    `_custody_guard.py`, or a package with write access, could replace it)."""


def environment(*, python: str | None = None, venv: str | None = None) -> Environment:
    """The environment of interpreter `python`, of venv `venv`, or of the running interpreter.

    The interpreter is asked with `-I -S`: no `.pth` of the environment runs while we look."""
    if venv is not None:
        python = os.path.join(venv, "Scripts" if os.name == "nt" else "bin", "python")
    python = python or sys.executable
    if not os.path.exists(python):
        raise GuardError(f"{python}: no such interpreter")
    # A venv is read from disk: with -S the interpreter reports its base prefix, not the venv's
    # (site.venv() is what switches sys.prefix), and without -S the venv's .pth files would run.
    prefix = os.path.dirname(os.path.dirname(os.path.abspath(python)))
    if os.path.isfile(os.path.join(prefix, "pyvenv.cfg")):
        found = tuple(dict.fromkeys(os.path.realpath(d) for d in find_site_dirs(prefix)))
        if not found:
            raise GuardError(f"{prefix}: a venv without a site-packages directory")
        return Environment(python=python, prefix=prefix, site_dirs=found)
    try:
        done = subprocess.run(  # noqa: S603 - the user named this interpreter; no shell, no site
            [python, "-I", "-S", "-c", _PROBE], capture_output=True, text=True, timeout=30, check=True
        )
        import json  # noqa: PLC0415

        answer = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise GuardError(f"{python}: cannot ask it for its site-packages: {exc}") from exc
    candidates = [*answer.get("order", []), answer["purelib"], answer["platlib"]]
    dirs = tuple(dict.fromkeys(os.path.realpath(d) for d in candidates if os.path.isdir(d)))
    if not dirs:
        raise GuardError(f"{python}: reports no existing site-packages directory")
    return Environment(python=python, prefix=answer["prefix"], site_dirs=dirs)


def build_index(site_dirs: tuple[str, ...]) -> dict[str, Any]:
    """{"stamp": [[site dir, mtime_ns]...], "files": {path: "name version"}} from every RECORD."""
    stamp = _boot._stamp(list(site_dirs))
    files: dict[str, str] = {}
    for site_dir in site_dirs:
        for dist in list_distributions(site_dir):
            if dist.name is None:
                continue
            owner = f"{dist.name} {dist.version or ''}".strip()
            for row in dist.record:
                files[os.path.normpath(os.path.join(site_dir, row.path))] = owner
    return {"stamp": stamp, "files": files}


def _write(path: str, data: bytes) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def refresh_index(env: Environment) -> int:
    """Rebuild the environment's file-to-distribution index; returns how many files it maps."""
    index = build_index(env.site_dirs)
    _boot.save_index(os.path.join(env.site_dir, INDEX_NAME), index["files"], list(env.site_dirs))
    return len(index["files"])


def install(
    env: Environment,
    *,
    mode: GuardMode = GuardMode.MONITOR,
    policy_path: str | None = None,
    log: str | None = None,
) -> str:
    """Arm `env`: write the bootstrap, its configuration and index, then the `.pth` (last, so a
    half-written install never arms). Returns the log path. Raises GuardError, PolicyError."""
    policy = load_guard_policy(policy_path) if policy_path else GuardPolicy()
    log_path = os.path.abspath(log) if log else os.path.join(env.prefix, "custody-guard.jsonl")
    config = {
        "version": 1,
        "mode": mode.value,
        "log": log_path,
        "policy_path": os.path.abspath(policy_path) if policy_path else None,
        "site_dirs": list(env.site_dirs),
        **policy.compiled(),
    }
    site = env.site_dir
    try:
        _write(os.path.join(site, BOOT_NAME), Path(_boot.__file__).read_bytes())
        _write(os.path.join(site, CONFIG_NAME), marshal.dumps(config, 4))
        _compile_bootstrap(env)
        _write(os.path.join(site, PTH_NAME), PTH_LINE.encode())
        refresh_index(env)  # last: its stamp must see the directory with every file of ours in it
    except OSError as exc:
        raise GuardError(f"{site}: cannot write the guard's files: {exc.strerror or exc}") from exc
    return log_path


def _compile_bootstrap(env: Environment) -> None:
    """Write the bootstrap's .pyc with the environment's own interpreter (its magic number), as pip
    does for what it installs: compiling 20 kB of source at every start costs about 10 ms, and with
    PYTHONDONTWRITEBYTECODE set the interpreter would never cache it. Best effort (-I -S: no .pth
    of the environment runs)."""
    code = "import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(  # noqa: S603 - the environment's interpreter, no shell
            [env.python, "-I", "-S", "-c", code, os.path.join(env.site_dir, BOOT_NAME)],
            capture_output=True,
            timeout=60,
            check=True,
        )


def uninstall(env: Environment) -> list[str]:
    """Disarm `env` (the `.pth` goes first); returns the files removed."""
    removed: list[str] = []
    for name in _OWN_FILES:
        path = os.path.join(env.site_dir, name)
        try:
            os.remove(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise GuardError(f"{path}: cannot remove: {exc.strerror or exc}") from exc
        removed.append(path)
    for path in glob.glob(os.path.join(env.site_dir, _OWN_CACHE)):
        with contextlib.suppress(OSError):
            os.remove(path)
    return removed


def read_config(env: Environment) -> dict[str, Any] | None:
    """The installed configuration, or None when there is none (or it is unreadable)."""
    try:
        config = _boot._load(os.path.join(env.site_dir, CONFIG_NAME))
    except (OSError, ValueError, EOFError):
        return None
    return config if isinstance(config, dict) else None


def status(env: Environment) -> GuardStatus:
    """Whether `env` is armed, how, and which start-up files run before the guard's."""
    site = env.site_dir
    config = read_config(env)
    armed = os.path.isfile(os.path.join(site, PTH_NAME)) and os.path.isfile(os.path.join(site, BOOT_NAME))
    before: list[str] = []
    for site_dir in env.site_dirs:
        for name in startup_order(site_dir):
            if site_dir == site and name >= PTH_NAME:
                break
            # platlib (when distinct) is processed after purelib: only an earlier purelib name counts
            if site_dir == site:
                before.append(os.path.join(site_dir, name))
    try:
        fresh = _boot._load(os.path.join(site, INDEX_NAME)).get("stamp") == _boot._stamp(list(env.site_dirs))
    except (OSError, ValueError, EOFError, AttributeError):
        fresh = False
    try:
        intact = Path(site, BOOT_NAME).read_bytes() == Path(_boot.__file__).read_bytes()
    except OSError:
        intact = False
    return GuardStatus(
        bootstrap_intact=intact,
        environment=env,
        armed=armed and config is not None,
        mode=config.get("mode") if config else None,
        policy=config.get("policy_path") if config else None,
        log=config.get("log") if config else None,
        before=tuple(before),
        index_fresh=fresh,
    )
