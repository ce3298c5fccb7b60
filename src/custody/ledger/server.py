"""`custody ledger serve`: one log per tenant over HTTP (starlette), writers and auditors by token.

Tenants file (JSON); tokens are stored only as SHA-256 hashes, so the file is not a secret:

    {"origin_prefix": "ledger.example",
     "tenants": {"acme": {"ledger": "acme.db",
                          "writers": ["sha256:<hex>"], "auditors": ["sha256:<hex>"]}}}

Routes, all under /t/{tenant}/ with `Authorization: Bearer TOKEN` (writers may also read):

    POST keys                 writer   {"key": "NAME+HASH+BASE64"} registers a signer's public key
    POST entries              writer   {"envelopes": [DSSE, ...]} -> {"indexes": [...], "checkpoint": note}
                                       (an `Idempotency-Key` header makes a retried batch land once)
    GET  entries/{i}          reader   kind, time, refs, body (base64) or the redaction record
    GET  checkpoint           reader   the newest signed checkpoint (text)
    GET  proof/inclusion?index=I&size=S, proof/consistency?first=A&second=B   reader
    GET  bundle/{i}           reader   C2SP tlog-proof bundle (text)
    GET  tile/{L}/{N}[.p/W], tile/entries/{N}[.p/W]                        reader (C2SP tlog-tiles)

The server never takes the client's word for what an entry is about: every envelope must verify
against a key registered for that tenant, its kind comes from the statement's predicate type and
its exposure refs are derived from the statement, exactly as `custody.ledger.api.record` does.
A batch is one append (one transaction) followed by one checkpoint signed with the server's key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from typing import Any

from custody.errors import MissingExtraError

try:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route
except ModuleNotFoundError as exc:  # `pip install custody` leaves the servers out
    raise MissingExtraError("server", exc.name or "starlette") from exc

from custody.ledger import merkle
from custody.ledger.api import checkpoint, compromise_marks_in
from custody.ledger.attest import check_statement, refs_of
from custody.ledger.bundle import BundleError, make_bundle
from custody.ledger.keys import BadKey, SigningKey, VerifierKey
from custody.ledger.signing import (
    IN_TOTO_PAYLOAD_TYPE,
    SignatureError,
    check_origin,
    envelope_bytes,
    open_envelope,
)
from custody.ledger.store import IdempotencyConflict, LedgerStore, NewEntry
from custody.ledger.tenants import ConfigError, Tenant, load_tenants, token_hash
from custody.ledger.tiles import HEIGHT, WIDTH
from custody.store import StoreError

# the tenants file's API lives in `custody.ledger.tenants` (no starlette); re-exported here
__all__ = ["ConfigError", "Tenant", "create_app", "load_tenants", "token_hash"]

MAX_BATCH = 10_000
MAX_BODY = 32 << 20
"""Bytes in one request body: a full batch of ordinary envelopes (a few KiB each) fits."""
BODY_TIMEOUT = 30.0
"""Seconds a client has to send its whole request body (a slow-loris writer holds no more)."""
_MAX_INDEX = (1 << 63) - 1  # the stores' signed 64-bit integer columns


class _BodyRefused(Exception):
    """A request body too large (413) or too slow to arrive (408)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def create_app(
    tenants: dict[str, Tenant],
    log_key: SigningKey,
    origin_prefix: str = "custody",
    *,
    max_body: int = MAX_BODY,
    body_timeout: float = BODY_TIMEOUT,
) -> Starlette:
    """The service; `max_body` bytes and `body_timeout` seconds bound what one writer's request
    may cost the server (an authenticated writer is still not trusted with unbounded memory).
    Raises ConfigError for a tenant whose origin `PREFIX/NAME` is not a valid checkpoint origin."""
    for name in tenants:
        try:
            check_origin(f"{origin_prefix}/{name}")
        except SignatureError as exc:
            raise ConfigError(f"tenant {name!r}: {exc}") from exc

    async def read_json(request: Request) -> Any:
        """The request body as JSON, bounded by `max_body` bytes and `body_timeout` seconds
        (`_BodyRefused` with 413 or 408 otherwise)."""
        declared = request.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > max_body:
            raise _BodyRefused(f"request body over {max_body} bytes", 413)

        async def collect() -> bytes:
            """The body chunk by chunk, refused as soon as it passes `max_body`."""
            chunks: list[bytes] = []
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_body:
                    raise _BodyRefused(f"request body over {max_body} bytes", 413)
                chunks.append(chunk)
            return b"".join(chunks)

        try:
            body = await asyncio.wait_for(collect(), body_timeout)
        except asyncio.TimeoutError as exc:
            raise _BodyRefused(f"request body not received within {body_timeout:g} s", 408) from exc
        return _loads(body)

    def auth(request: Request, need: str) -> tuple[Tenant, LedgerStore] | Response:
        tenant = tenants.get(request.path_params["tenant"])
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else None
        # An unknown tenant answers exactly as an unknown token does, so tenant names cannot be
        # enumerated without a token for them.
        role = None if tenant is None else tenant.role(token)
        if tenant is None or role is None:
            return JSONResponse({"error": "missing or unknown token"}, 401)
        if need == "writer" and role != "writer":
            return JSONResponse({"error": "auditors are read-only"}, 403)
        return tenant, tenant.open()

    async def add_key(request: Request) -> Response:
        """POST /t/T/keys (writers): register a signer's public key."""
        got = auth(request, "writer")
        if isinstance(got, Response):
            return got
        _, store = got
        try:
            key = VerifierKey.parse(str((await read_json(request))["key"]))
        except _BodyRefused as exc:
            return JSONResponse({"error": str(exc)}, exc.status)
        except (BadKey, KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"error": f"bad key: {exc}"}, 400)
        store.register_key(key.keyid, key.text())
        return JSONResponse({"keyid": key.keyid})

    async def append(request: Request) -> Response:
        """POST /t/T/entries (writers): append a batch of signed envelopes and checkpoint it; a
        retry with the same Idempotency-Key gets the same indexes."""
        got = auth(request, "writer")
        if isinstance(got, Response):
            return got
        tenant, store = got
        try:
            envelopes = (await read_json(request))["envelopes"]
            if not isinstance(envelopes, list) or not 0 < len(envelopes) <= MAX_BATCH:
                raise ValueError(f"envelopes must be a list of 1..{MAX_BATCH}")
            ring = {k: VerifierKey.parse(v) for k, (v, _) in store.keys().items() if v}
            entries = [_entry(env, ring) for env in envelopes]
            marks = compromise_marks_in(entries)  # noted in the key table with the batch
            idempotency = _idempotency(request.headers.get("idempotency-key"), entries)
        except _BodyRefused as exc:
            return JSONResponse({"error": str(exc)}, exc.status)
        except (KeyError, TypeError, ValueError, SignatureError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        try:
            indexes = store.append(entries, idempotency=idempotency, compromised=marks)
        except IdempotencyConflict as exc:
            return JSONResponse({"error": str(exc)}, 422)
        try:
            note = checkpoint(store, f"{origin_prefix}/{tenant.name}", [log_key])
        except merkle.ProofError as exc:
            # The entries are committed; a retry with the same Idempotency-Key gets these indexes
            # again instead of appending the batch twice.
            return JSONResponse(
                {"error": f"appended, but not checkpointed: {exc}", "indexes": list(indexes)}, 500
            )
        return JSONResponse({"indexes": list(indexes), "checkpoint": note})

    async def read_entry(request: Request) -> Response:
        """GET /t/T/entries/N: one entry with its commitment and, unless redacted, its body."""
        got = auth(request, "reader")
        if isinstance(got, Response):
            return got
        _, store = got
        try:
            index = int(request.path_params["index"])
            if index > _MAX_INDEX:  # past what the store's integer column holds: no such entry
                raise StoreError(f"no entry {index}")
            e = store.entry(index)
        except StoreError:
            return JSONResponse({"error": "no such entry"}, 404)
        return JSONResponse(
            {
                "index": e.index,
                "kind": e.kind,
                "integrated_at": e.integrated_at,
                "commitment": e.commitment.hex(),
                "refs": e.refs,
                "body": None if e.body is None else base64.b64encode(e.body).decode(),
                "redacted_at": e.redacted_at,
                "redaction_reason": e.redaction_reason,
            }
        )

    async def latest_checkpoint(request: Request) -> Response:
        """GET /t/T/checkpoint: the latest signed checkpoint note."""
        got = auth(request, "reader")
        if isinstance(got, Response):
            return got
        _, store = got
        latest = store.latest_checkpoint()
        if latest is None:
            return PlainTextResponse("no checkpoint yet\n", 404)
        return PlainTextResponse(latest[2])

    async def proof(request: Request) -> Response:
        """GET /t/T/proof/inclusion or /consistency: the proof's hashes (hex)."""
        got = auth(request, "reader")
        if isinstance(got, Response):
            return got
        _, store = got
        q = request.query_params
        try:
            size = store.size()
            if request.path_params["kind"] == "inclusion":
                index, at = _uint(q["index"]), _uint(q.get("size", str(size)))
                if at > size:
                    raise merkle.ProofError(f"the log has only {size} entries")
                hashes = store.inclusion_proof(index, at)
            elif request.path_params["kind"] == "consistency":
                first, second = _uint(q["first"]), _uint(q.get("second", str(size)))
                if second > size:
                    raise merkle.ProofError(f"the log has only {size} entries")
                hashes = store.consistency_proof(first, second)
            else:
                return JSONResponse({"error": "no such proof"}, 404)
        except (KeyError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse({"proof": [h.hex() for h in hashes]})

    async def bundle(request: Request) -> Response:
        """GET /t/T/bundle/N: the offline proof bundle of entry N."""
        got = auth(request, "reader")
        if isinstance(got, Response):
            return got
        _, store = got
        try:
            return PlainTextResponse(make_bundle(store, int(request.path_params["index"])))
        except (BundleError, StoreError) as exc:
            return JSONResponse({"error": str(exc)}, 404)

    async def tile(request: Request) -> Response:
        """GET /t/T/tile/...: a tlog tile (C2SP tlog-tiles) for Go-compatible clients."""
        got = auth(request, "reader")
        if isinstance(got, Response):
            return got
        _, store = got
        data = _tile(store, request.path_params["path"])
        if data is None:
            return JSONResponse({"error": "no such tile"}, 404)
        return Response(data, media_type="application/octet-stream")

    return Starlette(
        routes=[
            Route("/t/{tenant}/keys", add_key, methods=["POST"]),
            Route("/t/{tenant}/entries", append, methods=["POST"]),
            Route("/t/{tenant}/entries/{index:int}", read_entry),
            Route("/t/{tenant}/checkpoint", latest_checkpoint),
            Route("/t/{tenant}/proof/{kind}", proof),
            Route("/t/{tenant}/bundle/{index:int}", bundle),
            Route("/t/{tenant}/tile/{path:path}", tile),
        ]
    )


_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def _idempotency(header: str | None, entries: list[NewEntry]) -> tuple[str, str] | None:
    """(key, batch digest) from an `Idempotency-Key` header (printable ASCII, 1 to 255 chars, as
    the IETF httpapi idempotency-key draft suggests), or None when the client sent none."""
    if header is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(header):
        raise ValueError("Idempotency-Key must be 1 to 255 printable ASCII characters")
    digest = hashlib.sha256()
    for entry in entries:  # bodies are canonical JSON (no newline), so this framing is unambiguous
        digest.update(entry.body + b"\n")
    return header, digest.hexdigest()


def _entry(envelope: Any, ring: dict[str, VerifierKey]) -> NewEntry:
    if not isinstance(envelope, dict):
        raise ValueError("each envelope must be a JSON object")
    opened = open_envelope(envelope, ring)
    if opened.payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise ValueError(f"envelope payloadType must be {IN_TOTO_PAYLOAD_TYPE}")
    stmt = _loads(opened.payload)
    try:
        kind = check_statement(stmt)
    except ValueError as exc:
        raise ValueError(f"envelope payload is not a custody in-toto statement: {exc}") from exc
    return NewEntry(kind, envelope_bytes(envelope), refs_of(stmt, envelope))


def _uint(text: str) -> int:
    """A query parameter that is a log index or size: ASCII digits, at most 2**63 - 1."""
    if not (text.isascii() and text.isdigit()) or int(text) > _MAX_INDEX:
        raise ValueError(f"{text[:30]!r} is not an index (0 to {_MAX_INDEX})")
    return int(text)


def _loads(data: bytes) -> Any:
    """JSON, with nesting too deep for the parser reported as bad input (a ValueError), not a 500."""
    try:
        return json.loads(data)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


_TILE = re.compile(r"(entries|\d+)/((?:x\d{3}/)*\d{3})(?:\.p/(\d+))?")


def _tile(store: LedgerStore, path: str) -> bytes | None:
    """A tile computed from the store (same bytes `tiles.export_tiles` writes)."""
    m = _TILE.fullmatch(path)
    if m is None:
        return None
    level_text, n_text, width_text = m.groups()
    n = int(n_text.replace("x", "").replace("/", ""))
    width = int(width_text) if width_text else WIDTH
    if not 0 < width <= WIDTH:
        return None
    level = 0 if level_text == "entries" else int(level_text)
    if level > 63 or store.size() >> (HEIGHT * level) < n * WIDTH + width:
        return None
    if level_text == "entries":
        rows = store.conn.execute(
            "SELECT commitment FROM leaf WHERE idx >= ? AND idx < ? ORDER BY idx",
            (n * WIDTH, n * WIDTH + width),
        )
        return b"".join(len(c).to_bytes(2, "big") + bytes(c) for (c,) in rows)
    ids = [(HEIGHT * level, n * WIDTH + i) for i in range(width)]
    found = store.get(ids)
    return b"".join(found[i] for i in ids) if len(found) == width else None
