"""The PostgreSQL side of the store contract suite.

Store fixtures are parametrized over `sqlite` and `postgresql`. The PostgreSQL variants run
against the server named by CUSTODY_TEST_POSTGRES (`.ci/run` starts a throwaway cluster and sets
it; e.g. `postgresql://custody@127.0.0.1:54329/custody_test`) and are skipped, with that reason,
when it is unset. Each test gets a schema of its own (dropped afterwards) selected through the
URL's `options=-c search_path=...`, so tests and xdist workers never see each other's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

ENV = "CUSTODY_TEST_POSTGRES"
BACKENDS = ("sqlite", "postgresql")
SKIP_REASON = f"{ENV} is not set (no PostgreSQL server to test against; .ci/run sets it)"


def server_url() -> str:
    url = os.environ.get(ENV, "")
    if not url:
        pytest.skip(SKIP_REASON)
    return url


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL whose search_path is a new, empty schema; the schema is dropped afterwards."""
    import psycopg

    base = server_url()
    name = f"custody_t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    joiner = "&" if "?" in base else "?"
    try:
        yield f"{base}{joiner}options={quote(f'-c search_path={name}', safe='')}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@contextmanager
def store_target(backend: str, tmp_path: Path, name: str = "store.db") -> Iterator[str]:
    """Where a test's store lives: a file under tmp_path, or a fresh PostgreSQL schema."""
    if backend == "sqlite":
        yield str(tmp_path / name)
    else:
        with fresh_schema() as url:
            yield url
