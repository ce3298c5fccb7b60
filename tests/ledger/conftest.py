from __future__ import annotations

from collections.abc import Iterator

import pytest

from custody.ledger.keys import SigningKey
from custody.ledger.store import LedgerStore
from tests.postgres import BACKENDS, store_target


@pytest.fixture(params=BACKENDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The contract suite: every test using it (or `store`) runs on SQLite and on PostgreSQL."""
    with store_target(request.param, tmp_path, "ledger.db") as target:
        yield target


@pytest.fixture
def store(ledger_url: str) -> Iterator[LedgerStore]:
    s = LedgerStore.open(ledger_url)
    yield s
    s.close()


@pytest.fixture(scope="session")
def alice() -> SigningKey:
    return SigningKey.generate("alice")


@pytest.fixture(scope="session")
def bob() -> SigningKey:
    return SigningKey.generate("bob")


@pytest.fixture(scope="session")
def log_key() -> SigningKey:
    return SigningKey.generate("log.example")
