from __future__ import annotations

import pytest

from custody.ledger.keys import SigningKey
from custody.ledger.store import LedgerStore


@pytest.fixture
def store(tmp_path):
    s = LedgerStore.open(str(tmp_path / "ledger.db"))
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
