"""The gate's HTTP face: a starlette app over a `Gate`.

Routes: `/simple/` (project list), `/simple/{project}/` (the filtered page, JSON or HTML by
`Accept`), `/files/{project}/{filename}` (a checked file, with HEAD and Range; `FILENAME.metadata`
for PEP 658), `/refused/{token}/{why}` (a refusal's explanation), `/health`.

A refused download answers `303 See Other` to `/refused/TOKEN/WHY`, and that URL answers the
refusal status (403 for policy, 502 for upstream or integrity) with the one-line reason as the
HTTP reason phrase (see `custody.gate.server`) and the full reason as the body. The detour is
there because installers show a failed URL but not a body: uv prints only the status and the
final URL, pip the reason phrase and the final URL, so the reason has to be in both.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from urllib.parse import quote

import anyio
from packaging.utils import canonicalize_name

from custody.errors import MissingExtraError

try:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
    from starlette.routing import Route
except ModuleNotFoundError as exc:  # `pip install custody` leaves the servers out
    raise MissingExtraError("server", exc.name or "starlette") from exc

from custody.gate.service import FileAnswer, Gate, GateConfig, Refusal
from custody.gate.simple import JSON_V1, TEXT_HTML, negotiate, render_project_list

REASON_HEADER = "x-custody-status-reason"
"""Internal: the reason phrase for the status line (moved there, and removed, by the server)."""
_SLUG = re.compile(r"[^A-Za-z0-9._=+-]+")


def _reason_phrase(text: str) -> str:
    """Safe for an HTTP status line: printable ASCII, one line, bounded."""
    cleaned = "".join(ch if " " <= ch <= "~" else "?" for ch in " ".join(text.split()))
    return cleaned[:200] or "Forbidden"


def refusal_response(refusal: Refusal) -> Response:
    """The HTTP answer for a refusal: its status, the full reason as the body and the one-line reason
    as the status line's reason phrase (see `custody.gate.server`)."""
    return PlainTextResponse(
        refusal.body,
        status_code=refusal.status,
        headers={
            REASON_HEADER: _reason_phrase(refusal.short),
            "X-Custody-Reason": _reason_phrase(refusal.short),
        },
    )


class _FileResponse(FileResponse):
    """starlette's FileResponse reading 1 MiB at a time (its default is 64 KiB): each read is a
    thread hop and each chunk one ASGI send, and at 64 KiB a 683 MiB wheel took 2.3 s and 1.4 s of
    server CPU to send on loopback, at 1 MiB 0.3 s and 0.2 s (measured, alternating; 3 MiB more
    peak RSS)."""

    chunk_size = 1 << 20

    @contextlib.asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        # Opened on the loop (starlette opens it in a thread, one more hop before the first body
        # byte): the gate has just checked this cached file, it opens in microseconds. Starlette
        # versions without this hook open it their way.
        file = anyio.wrap_file(open(self.path, "rb"))  # noqa: SIM115 - closed below
        try:
            yield file
        finally:
            file.wrapped.close()


def _media_type(filename: str) -> str:
    if filename.endswith(".whl") or filename.endswith(".zip"):
        return "application/zip"
    if filename.endswith((".tar.gz", ".tgz")):
        return "application/gzip"
    return "application/octet-stream"


def create_app(config: GateConfig | None = None, *, gate: Gate | None = None) -> Starlette:
    """The ASGI app. The gate starts with the app's lifespan, or on the first request when the
    server runs without one."""
    the_gate = gate or Gate(config)

    async def started() -> Gate:
        """The gate, started on first use when the server runs without a lifespan."""
        await the_gate.start()
        return the_gate

    def file_url(project: str, filename: str) -> str:
        # Relative to /simple/PROJECT/: no Host header is trusted, and proxies in front just work.
        return f"../../files/{quote(project)}/{quote(filename)}"

    async def root(request: Request) -> Response:
        """GET /: a one-line pointer to /simple/."""
        return PlainTextResponse("custody gate: point pip or uv at /simple/\n")

    async def health(request: Request) -> Response:
        """GET /health: a liveness probe."""
        return PlainTextResponse("ok\n")

    async def project_list(request: Request) -> Response:
        """GET /simple/: the project list in the negotiated format (406 when none fits)."""
        media = negotiate(request.headers.get("accept"))
        if not media:
            return PlainTextResponse("not acceptable\n", status_code=406)
        gate = await started()
        try:
            names = await gate.project_names()
        except Exception as exc:
            return refusal_response(Refusal(status=502, short=str(exc), body=f"{exc}\n"))
        return Response(render_project_list(names, media), media_type=media, headers={"Vary": "Accept"})

    async def project_page(request: Request) -> Response:
        """GET /simple/PROJECT/: the judged page clients see (a redirect to the canonical name,
        406 when no format fits, 502 when upstream fails)."""
        project = request.path_params["project"]
        canonical = str(canonicalize_name(project))
        if canonical != project:
            return RedirectResponse(f"../{quote(canonical)}/", status_code=301)
        media = negotiate(request.headers.get("accept"))
        if not media:
            return PlainTextResponse("not acceptable\n", status_code=406)
        gate = await started()
        try:
            body = await gate.rendered_index(canonical, media, lambda f: file_url(canonical, f.filename))
        except Exception as exc:
            short = " ".join(str(exc).split()) or type(exc).__name__
            return refusal_response(Refusal(status=502, short=short, body=f"custody gate: {short}\n"))
        if body is None:
            return PlainTextResponse(f"{canonical}: not found\n", status_code=404)
        return Response(
            body, media_type=media if media != TEXT_HTML else "text/html", headers={"Vary": "Accept"}
        )

    async def file(request: Request) -> Response:
        """GET /files/PROJECT/FILE: an allowed file from the cache, its metadata, or a redirect
        to the page saying why it was refused."""
        project = str(canonicalize_name(request.path_params["project"]))
        filename = request.path_params["filename"]
        gate = await started()
        if filename.endswith(".metadata"):
            answer = await gate.get_metadata(project, filename[: -len(".metadata")])
            if answer is None:
                return PlainTextResponse("not found\n", status_code=404)
            if isinstance(answer, Refusal):
                return refusal_response(answer)
            return Response(answer, media_type="text/plain")
        client = request.client.host if request.client else None
        result: FileAnswer = await gate.get_file(
            project, filename, client=client, user_agent=request.headers.get("user-agent")
        )
        if result.refusal is not None and result.token is not None:
            why = _SLUG.sub("-", result.refusal.short).strip("-")[:180]
            return RedirectResponse(f"/refused/{result.token}/{why}", status_code=303)
        if result.path is None:
            return PlainTextResponse("not found\n", status_code=404)
        headers = {"X-Custody-Verdict": (result.decision.verdict or "") if result.decision else ""}
        if result.timings:  # W3C Server-Timing: where a slow first download spent its time
            headers["Server-Timing"] = ", ".join(
                f"{name};dur={seconds * 1000:.3f}" for name, seconds in result.timings.items()
            )
        return _FileResponse(
            result.path, media_type=_media_type(filename), headers=headers, stat_result=result.stat
        )

    async def refused(request: Request) -> Response:
        """GET /refused/TOKEN/WHY: why a file was refused (from the URL itself after a restart)."""
        refusal = the_gate.refusal(request.path_params["token"])
        if refusal is None:  # after a restart: the URL itself still says why
            why = request.path_params["why"].replace("-", " ")
            refusal = Refusal(status=403, short=why, body=f"custody gate refused this file: {why}\n")
        return refusal_response(refusal)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        """Start the gate with the server and close it on shutdown."""
        try:
            await the_gate.start()
            yield
        finally:
            await the_gate.aclose()

    routes = [
        Route("/", root, methods=["GET", "HEAD"]),
        Route("/health", health, methods=["GET", "HEAD"]),
        Route("/simple/", project_list, methods=["GET", "HEAD"]),
        Route("/simple/{project}/", project_page, methods=["GET", "HEAD"]),
        Route("/files/{project}/{filename}", file, methods=["GET", "HEAD"]),
        Route("/refused/{token}/{why:path}", refused, methods=["GET", "HEAD"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.gate = the_gate
    return app


__all__ = ["JSON_V1", "create_app", "refusal_response"]
