"""A real custody wheel, and a real venv with it installed as `pip install custody` would (no extras).

Both are built once per test run and shared by the xdist workers (a file lock in the run's common
temporary directory), since building the wheel and installing its dependencies takes ~20 s.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER_MODULES = ("starlette", "uvicorn")
POSTGRES_MODULES = ("psycopg",)
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def run(args: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command, text output captured; bounded so a hung install fails instead of hanging."""
    kwargs.setdefault("timeout", 600)
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False, **kwargs)


def checked(args: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = run(args, **kwargs)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A directory every xdist worker of this run sees (the per-worker base's parent)."""
    base = tmp_path_factory.getbasetemp()
    shared = (base if worker_id == "master" else base.parent) / "packaging"
    shared.mkdir(exist_ok=True)
    return shared


def once(shared: Path, name: str, build: Callable[[Path], None]) -> Path:
    """`shared/name`, built by the first worker to get here; the others wait and reuse it."""
    target = shared / name
    with _locked(shared / f"{name}.lock"):
        if not (target / ".done").exists():
            target.mkdir(exist_ok=True)
            build(target)
            (target / ".done").touch()
    return target


@pytest.fixture(scope="session")
def wheel(shared_dir: Path) -> Path:
    """custody's wheel, built from this checkout as a release would be."""

    def build(out: Path) -> None:
        checked([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, ROOT])

    (found,) = once(shared_dir, "wheel", build).glob("custody-*.whl")
    return found


@pytest.fixture(scope="session")
def core_venv(shared_dir: Path, wheel: Path) -> Path:
    """A fresh venv holding `pip install custody` (the wheel, no extras): its bin directory."""

    def build(venv: Path) -> None:
        checked([sys.executable, "-m", "venv", venv])
        checked([venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel])

    return once(shared_dir, "core-venv", build) / "bin"


@pytest.fixture(scope="session")
def snapshot(shared_dir: Path) -> tuple[Path, str]:
    """This checkout's files as they are now (committed or not), committed to a git repository of
    their own, and that commit: what a user's `repo:`/`rev:` or `uses: OWNER/custody@REF` fetch.
    One per run, so pre-commit builds its environment for the hooks once."""

    def build(repo: Path) -> None:
        listed = checked(["git", "-C", ROOT, "ls-files", "-co", "--exclude-standard", "-z"]).stdout
        for name in filter(None, listed.split("\0")):
            if (ROOT / name).is_file():
                (repo / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, repo / name)
        env = {**os.environ, **GIT_IDENTITY}
        checked(["git", "init", "-q", repo], env=env)
        checked(["git", "-C", repo, "add", "-A"], env=env)
        checked(["git", "-C", repo, "commit", "-q", "-m", "snapshot"], env=env)

    repo = once(shared_dir, "snapshot", build)
    return repo, checked(["git", "-C", repo, "rev-parse", "HEAD"]).stdout.strip()


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """The environment for commands in the fresh venv: no PYTHONPATH or dev venv leaking in,
    a private HOME (user cache, config) and no network-reaching defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CUSTODY_"))}
    env["HOME"] = str(tmp_path / "home")
    env["CUSTODY_ADVISORY_DB"] = str(tmp_path / "advisories.sqlite")
    env["CUSTODY_DIGEST_CACHE"] = str(tmp_path / "digests.sqlite")
    env["CUSTODY_RULES"] = ""
    return env
