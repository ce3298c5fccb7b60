"""PyPI's JSON API as a live source, answered by recorded-shape responses (no network)."""

from __future__ import annotations

from typing import Any

import httpx

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


def serve(per_release: bool) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "pypi" and parts[2] == "json" and parts[1] in PROJECTS:
            return httpx.Response(200, json=PROJECTS[parts[1]])
        if per_release and len(parts) == 4 and parts[2] in PROJECTS.get(parts[1], {}).get("releases", {}):
            empty = {"info": {"name": parts[1], "version": parts[2]}, "vulnerabilities": []}
            return httpx.Response(200, json=RELEASES.get((parts[1], parts[2]), empty))
        return httpx.Response(404)

    return httpx.MockTransport(handler)


def test_yanked_removed_unknown_and_per_release_vulnerabilities() -> None:
    client = httpx.Client(transport=serve(per_release=True))
    wanted = [("requests", "2.32.0"), ("requests", "2.31.0"), ("litellm", "1.82.8"), ("nothere", "1.0")]
    found, errors = release_statuses(wanted, client=client, base_url="https://pypi.test")
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


def test_server_without_per_release_endpoint() -> None:
    client = httpx.Client(transport=serve(per_release=False))
    found, errors = release_statuses([("requests", "2.31.0")], client=client, base_url="https://pypi.test")
    status = found[("requests", "2.31.0")]
    assert errors == [] and not status.advisories_known and status.advisories == ()


def test_http_errors_are_reported_not_raised() -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(503)))
    found, errors = release_statuses([("requests", "2.31.0")], client=client, base_url="https://pypi.test")
    assert found == {} and len(errors) == 1 and "503" in errors[0]
