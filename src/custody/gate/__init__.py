"""custody.gate: an install-time firewall that pip and uv use as their package index.

    from custody.gate import Gate, GateConfig, create_app
    app = create_app(GateConfig(upstream="https://pypi.org/simple/"))   # ASGI, serve with uvicorn

The gate proxies a PEP 503/691 simple index. Pages leave out (or list but refuse) files younger
than the cooldown, versions a MAL- advisory names and versions the policy denies; every file a
client downloads is fetched once, sha256-verified, scanned by `custody.scan` and served or
refused by policy, and each decision is kept in the gate store and signed into the ledger.

`create_app` (and `custody.gate.app`, `custody.gate.server`) need the 'server' extra; the rest
(`Gate`, the store, the decisions behind `custody gate check`) works with a plain
`pip install custody`, so `create_app` is imported on first use and a missing extra is a
`custody.errors.MissingExtraError` there, not at `import custody.gate`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from custody.gate.decide import Decision, Listing, Outcome, judge_listing, judge_scan
from custody.gate.service import FileAnswer, Gate, GateConfig, Refusal
from custody.gate.simple import FileEntry, PageError, ProjectPage
from custody.gate.store import DecisionRow, GateStore
from custody.gate.upstream import UpstreamError

if TYPE_CHECKING:
    from custody.gate.app import create_app


def __getattr__(name: str) -> Any:
    """`create_app` on first use: importing it needs starlette (the 'server' extra)."""
    if name == "create_app":
        from custody.gate.app import create_app  # noqa: PLC0415

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Decision",
    "DecisionRow",
    "FileAnswer",
    "FileEntry",
    "Gate",
    "GateConfig",
    "GateStore",
    "Listing",
    "Outcome",
    "PageError",
    "ProjectPage",
    "Refusal",
    "UpstreamError",
    "create_app",
    "judge_listing",
    "judge_scan",
]
