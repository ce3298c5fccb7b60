"""PyPI's JSON API as a live source: recorded-shape responses served over real HTTP on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from custody.advisories import affects, lowest_fix, release_statuses
from custody.inventory import Ecosystem

PROJECTS: dict[str, dict[str, Any]] = {
    "requests": {
        "info": {"name": "requests", "version": "2.32.3"},
        "releases": {
            "2.31.0": [{"filename": "requests-2.31.0.tar.gz", "yanked": False}],
            "2.32.0": [
                {
                    "filename": "requests-2.32.0.tar.gz",
                    "yanked": True,
                    "yanked_reason": "Yanked due to conflicts with CVE-2024-35195 mitigation",
                },
            ],
            "2.32.3": [{"filename": "requests-2.32.3.tar.gz", "yanked": False}],
        },
        "vulnerabilities": [],
    },
    "litellm": {
        "info": {"name": "litellm", "version": "1.83.0"},
        "releases": {"1.82.6": [{"yanked": False}], "1.83.0": [{"yanked": False}]},
        "vulnerabilities": [],
    },
}
RELEASES: dict[tuple[str, str], dict[str, Any]] = {
    ("requests", "2.31.0"): {
        "info": {"name": "requests", "version": "2.31.0", "yanked": False},
        "vulnerabilities": [
            {
                "id": "GHSA-9wx4-h78v-vm56",
                "aliases": ["CVE-2024-35195"],
                "summary": "Session verify=False persists",
                "details": "...",
                "fixed_in": ["2.32.0"],
                "link": "https://osv.dev/vulnerability/GHSA-9wx4-h78v-vm56",
                "source": "osv",
                "withdrawn": None,
            },
        ],
    }
}


def pypi_app(*, per_release: bool = True, status: int | None = None) -> Starlette:
    """PyPI's JSON API over the fixtures above; `per_release=False` is a server without
    `/pypi/NAME/VERSION/json`, `status` answers every request with that error status."""

    async def project(request: Request) -> Response:
        if status is not None:
            return Response(status_code=status)
        doc = PROJECTS.get(request.path_params["name"])
        return Response(status_code=404) if doc is None else JSONResponse(doc)

    async def release(request: Request) -> Response:
        name, version = request.path_params["name"], request.path_params["version"]
        if status is not None:
            return Response(status_code=status)
        if not per_release or version not in PROJECTS.get(name, {}).get("releases", {}):
            return Response(status_code=404)
        empty = {"info": {"name": name, "version": version}, "vulnerabilities": []}
        return JSONResponse(RELEASES.get((name, version), empty))

    return Starlette(
        routes=[
            Route("/pypi/{name}/json", project),
            Route("/pypi/{name}/{version}/json", release),
        ]
    )


def test_yanked_removed_unknown_and_per_release_vulnerabilities(asgi_server) -> None:
    base_url = asgi_server(pypi_app(per_release=True))
    wanted = [("requests", "2.32.0"), ("requests", "2.31.0"), ("litellm", "1.82.8"), ("nothere", "1.0")]
    found, errors = release_statuses(wanted, base_url=base_url)  # its own HTTP client
    assert errors == []
    assert found[("requests", "2.32.0")].yanked
    assert "CVE-2024-35195" in (found[("requests", "2.32.0")].yanked_reason or "")
    assert found[("litellm", "1.82.8")].removed  # the trojaned release was deleted from the index
    assert ("nothere", "1.0") not in found
    old = found[("requests", "2.31.0")]
    assert not old.yanked and not old.removed and old.advisories_known
    (advisory,) = old.advisories
    assert advisory.aliases == ("CVE-2024-35195",)
    assert affects(advisory, Ecosystem.PYPI, "requests", "2.31.0")
    assert lowest_fix(advisory, Ecosystem.PYPI, "requests", "2.31.0") == "2.32.0"


def test_server_without_per_release_endpoint(asgi_server) -> None:
    base_url = asgi_server(pypi_app(per_release=False))
    with httpx.Client(timeout=10.0) as client:
        found, errors = release_statuses([("requests", "2.31.0")], client=client, base_url=base_url)
    status = found[("requests", "2.31.0")]
    assert errors == [] and not status.advisories_known and status.advisories == ()


def test_http_errors_are_reported_not_raised(asgi_server) -> None:
    base_url = asgi_server(pypi_app(status=503))
    with httpx.Client(timeout=10.0) as client:
        found, errors = release_statuses([("requests", "2.31.0")], client=client, base_url=base_url)
    assert found == {} and len(errors) == 1 and "503" in errors[0]


def test_versions_compare_by_pep440_and_the_listed_spelling_is_asked(asgi_server) -> None:
    base_url = asgi_server(pypi_app(per_release=True))  # serves only /pypi/requests/2.31.0/json
    wanted = [("requests", "2.31"), ("Requests", "2.32.3.0")]
    found, errors = release_statuses(wanted, base_url=base_url)
    assert errors == []
    old = found[("requests", "2.31")]
    assert not old.removed and old.advisories_known  # 2.31 is the listed 2.31.0, not a deleted release
    assert [a.id for a in old.advisories] == ["GHSA-9wx4-h78v-vm56"]
    latest = found[("Requests", "2.32.3.0")]
    assert not latest.removed and not latest.yanked and latest.advisories_known and latest.advisories == ()
