"""Where a witness gets its consistency proof when it has no access to the log's database: a
file holding the HTTP service's answer, or the service itself (`custody ledger serve`).

Both carry the same JSON, `{"proof": [HEX, ...]}` (`GET /t/NAME/proof/consistency?first=A&second=B`).
The proof is not trusted: the witness checks it against the two roots before it cosigns.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from custody.ledger.witness import WitnessError

MAX_PROOF_HASHES = 128  # a consistency proof of a 2**63-entry log has fewer than 2 * 63 hashes
_TIMEOUT = 30.0


def parse_proof(data: Any, what: str) -> list[bytes]:
    """The hashes of a `{"proof": [HEX, ...]}` document; WitnessError if it is anything else."""
    hashes = data.get("proof") if isinstance(data, dict) else None
    if not isinstance(hashes, list) or len(hashes) > MAX_PROOF_HASHES:
        raise WitnessError(f'{what}: not a consistency proof (want {{"proof": [HEX, ...]}})')
    try:
        out = [bytes.fromhex(h) for h in hashes if isinstance(h, str)]
    except ValueError as exc:
        raise WitnessError(f"{what}: a proof hash is not hex: {exc}") from exc
    if len(out) != len(hashes) or any(len(h) != 32 for h in out):
        raise WitnessError(f"{what}: proof hashes must be 32-byte hex strings")
    return out


def proof_from_file(path: str) -> list[bytes]:
    """A consistency proof saved from the service's answer."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise WitnessError(f"{path}: cannot read the proof: {exc.strerror or exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise WitnessError(f"{path}: not JSON: {exc}") from exc
    return parse_proof(data, path)


def proof_from_service(base_url: str, first: int, second: int, token: str | None) -> list[bytes]:
    """Ask a tenant's service (`base_url` = `https://HOST/t/NAME`) for the proof from `first` to
    `second`; any failure to get a well-formed answer is a WitnessError (nothing is cosigned)."""
    url = f"{base_url.rstrip('/')}/proof/consistency"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        answer = httpx.get(url, params={"first": first, "second": second}, headers=headers, timeout=_TIMEOUT)
    except httpx.HTTPError as exc:
        raise WitnessError(f"{url}: {exc}") from exc
    if answer.status_code != 200:
        raise WitnessError(f"{url}: HTTP {answer.status_code}: {answer.text[:200]}")
    try:
        data = answer.json()
    except (ValueError, RecursionError) as exc:
        raise WitnessError(f"{url}: the answer is not JSON") from exc
    return parse_proof(data, url)
