"""pip and uv installing through a real gate on loopback, in front of a local upstream index."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from custody.gate import GateConfig, GateStore
from custody.policy import Entry, EntryKind
from tests.gate.builders import EXEC_PTH, add_wheel, json_upstream
from tests.gate.conftest import gate_config, pip_install, uv_install
from tests.servers import serve_asgi

GateServer = Callable[[GateConfig], str]
INSTALLERS = {"pip": pip_install, "uv": uv_install}


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_benign_package_with_a_dependency_installs(
    tmp_path: Path, gate_server: GateServer, installer: str
) -> None:
    upstream = tmp_path / "upstream"
    add_wheel(upstream, "gateapp", "1.0.0", requires=("gatedep>=1",))
    add_wheel(upstream, "gatedep", "1.2.0")
    gate = gate_server(gate_config(tmp_path, str(upstream)))

    result = INSTALLERS[installer](gate, "gateapp", tmp_path)

    assert result.code == 0, result.output
    assert result.has("gateapp") and result.has("gatedep"), result.output
    with GateStore.open(str(tmp_path / "gate" / "gate.sqlite")) as store:
        deadline = time.monotonic() + 10  # the recorder writes in the background
        while len(store.decisions(decision="served")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        served = {d.filename for d in store.decisions(decision="served")}
    assert served == {"gateapp-1.0.0-py3-none-any.whl", "gatedep-1.2.0-py3-none-any.whl"}


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_startup_hook_that_execs_a_blob_is_refused_with_the_reason(
    tmp_path: Path, gate_server: GateServer, installer: str
) -> None:
    upstream = tmp_path / "upstream"
    add_wheel(upstream, "gatehook", "1.0.0", files={"gatehook_init.pth": EXEC_PTH})
    gate = gate_server(gate_config(tmp_path, str(upstream)))

    result = INSTALLERS[installer](gate, "gatehook", tmp_path)

    assert result.code != 0
    assert not result.has("gatehook")
    assert "403" in result.output, result.output
    assert "startup-hook-dangerous" in result.output, result.output
    assert "malicious" in result.output, result.output


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_cooldown_keeps_a_fresh_upload_out_until_allowed(
    tmp_path: Path, gate_server: GateServer, installer: str
) -> None:
    upstream = tmp_path / "upstream"
    add_wheel(upstream, "gatefresh", "2.0.0", uploaded=time.time() - 300)  # five minutes ago
    config = gate_config(tmp_path, str(upstream))
    gate = gate_server(config)

    blocked = INSTALLERS[installer](gate, "gatefresh==2.0.0", tmp_path, "first")
    assert blocked.code != 0 and not blocked.has("gatefresh"), blocked.output

    with GateStore.open(config.store) as store:
        store.add_entry(
            Entry(kind=EntryKind.ALLOW, name="gatefresh", version="2.0.0", reason="reviewed", author="test")
        )
    allowed = INSTALLERS[installer](gate, "gatefresh==2.0.0", tmp_path, "second")
    assert allowed.code == 0, allowed.output
    assert allowed.has("gatefresh")


def test_dead_upstream_page_is_a_502_with_the_reason(tmp_path: Path, gate_server: GateServer) -> None:
    upstream = tmp_path / "upstream"
    add_wheel(upstream, "gatelost", "1.0.0")
    with serve_asgi(json_upstream(upstream)) as upstream_url:
        gate = gate_server(gate_config(tmp_path, f"{upstream_url}/simple/"))
    # the upstream is stopped now: the gate has never seen the page

    with httpx.Client(trust_env=False) as client:
        response = client.get(f"{gate}/simple/gatelost/")
    assert response.status_code == 502
    assert "upstream unreachable" in response.reason_phrase
    for installer in (pip_install, uv_install):
        result = installer(gate, "gatelost", tmp_path)
        assert result.code != 0 and not result.has("gatelost"), result.output


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_upstream_dying_before_the_download_refuses_the_file(
    tmp_path: Path, gate_server: GateServer, installer: str
) -> None:
    upstream = tmp_path / "upstream"
    add_wheel(upstream, "gatelost", "1.0.0", with_metadata=False)  # straight to the file download
    with serve_asgi(json_upstream(upstream)) as upstream_url:
        gate = gate_server(gate_config(tmp_path, f"{upstream_url}/simple/", page_ttl=600))
        with httpx.Client(trust_env=False) as client:  # the page is fetched (and kept) while upstream lives
            assert client.get(f"{gate}/simple/gatelost/").status_code == 200
    # the upstream is stopped now: the page is known, the file never was downloaded

    result = INSTALLERS[installer](gate, "gatelost==1.0.0", tmp_path)

    assert result.code != 0
    assert not result.has("gatelost")
    assert "502" in result.output and "upstream-unreachable" in result.output, result.output
    assert "ConnectError" in result.output  # the cause, in the refusal URL
