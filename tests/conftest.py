"""Fixtures shared by every test package."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.servers import serve_asgi


@pytest.fixture
def asgi_server() -> Iterator[Callable[[Callable[..., Any]], str]]:
    """Start ASGI apps on real uvicorn servers (127.0.0.1, ephemeral ports): `base_url = asgi_server(app)`.

    Every server started through it is stopped when the test ends.
    """
    with contextlib.ExitStack() as stack:
        yield lambda app: stack.enter_context(serve_asgi(app))


@pytest.fixture(autouse=True)
def _private_digest_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Audits in tests keep their digest cache in a temporary folder, never in the user's cache."""
    monkeypatch.setenv("CUSTODY_DIGEST_CACHE", str(tmp_path_factory.mktemp("digests") / "digests.sqlite"))
