"""Fixtures for the gate tests: a gate on loopback in front of a local upstream, and real pip/uv."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from custody.gate import GateConfig, create_app
from custody.gate.server import GateH11Protocol
from custody.policy import Policy
from tests.servers import serve_asgi

CLIENT_TIMEOUT = 120


def gate_config(tmp_path: Path, upstream: str, policy: Policy | None = None, **kw: Any) -> GateConfig:
    """A gate confined to `tmp_path`: its own store, cache, key, ledger and (absent) advisory store."""
    base = tmp_path / "gate"
    settings: dict[str, Any] = {
        "upstream": upstream,
        "policy": policy or Policy(),
        "store": str(base / "gate.sqlite"),
        "data_dir": str(base / "data"),
        "cache_dir": str(base / "files"),
        "advisory_db": str(base / "no-advisories.sqlite"),
        "scan_workers": 0,
        **kw,
    }
    return GateConfig(**settings)


@contextlib.contextmanager
def running_gate(config: GateConfig) -> Iterator[str]:
    """The real gate app on uvicorn (lifespan on, the gate's h11 protocol); yields its base URL."""
    with serve_asgi(create_app(config), lifespan="on", http=GateH11Protocol) as url:
        yield url


@pytest.fixture
def gate_server() -> Iterator[Callable[[GateConfig], str]]:
    with contextlib.ExitStack() as stack:
        yield lambda config: stack.enter_context(running_gate(config))


def _clean_env(tmp: Path) -> dict[str, str]:
    """No user or machine configuration leaks in: no pip.conf, no uv.toml, no proxy, no index."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_")) and "proxy" not in k.lower()
    }
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        PIP_RETRIES="0",  # a 502 is the answer under test, not a hiccup to retry
        UV_HTTP_RETRIES="0",
        UV_NO_CONFIG="1",
        UV_CACHE_DIR=str(tmp / "uv-cache"),
        UV_PYTHON_DOWNLOADS="never",
        NO_PROXY="*",
    )
    return env


@dataclass(frozen=True)
class Installed:
    code: int
    output: str
    target: Path

    def has(self, module: str) -> bool:
        return (self.target / module).is_dir()


def pip_install(index: str, spec: str, tmp: Path, name: str = "pip-target") -> Installed:
    target = tmp / name
    command = [
        sys.executable, "-m", "pip", "install", "--no-cache-dir", "--index-url", f"{index}/simple/",
        "--target", str(target), "--no-compile", spec,
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, env=_clean_env(tmp), timeout=CLIENT_TIMEOUT, check=False
    )
    return Installed(done.returncode, done.stdout + done.stderr, target)


def uv_install(index: str, spec: str, tmp: Path, name: str = "uv-target") -> Installed:
    from uv import find_uv_bin

    target = tmp / name
    command = [
        find_uv_bin(), "pip", "install", "--no-cache", "--index-url", f"{index}/simple/",
        "--python", sys.executable, "--target", str(target), spec,
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, env=_clean_env(tmp), timeout=CLIENT_TIMEOUT, check=False
    )
    return Installed(done.returncode, done.stdout + done.stderr, target)
