"""custody gate figures (issue 9): warm-cache installs against proxpi, page latency under load,
the cold path's own overhead and memory on a large wheel.

    python bench/gate_bench.py [--mirror ~/.cache/custody-bench/gate-mirror] [--runs 3]
                               [--large PATH.whl] [--cold-runs 5] [--clients 50] [--requests 40]
                               [--page-rounds 3]
                               [--proxpi-venv ~/.cache/custody-bench/proxpi-venv]
                               [--skip-install] [--skip-page] [--skip-cold]

Offline once the mirror exists. Make it once (30 popular packages and their dependencies, wheels
for this interpreter; the list is REQUIREMENTS below, also written to MIRROR/requirements.txt):

    PIP_CONFIG_FILE=/dev/null pip download --only-binary=:all: --index-url https://pypi.org/simple/ \\
        -d ~/.cache/custody-bench/gate-mirror/files -r requirements.txt
    python -m venv ~/.cache/custody-bench/proxpi-venv
    ~/.cache/custody-bench/proxpi-venv/bin/pip install proxpi gunicorn

The upstream is the mirror as a PEP 503 directory index (bench/out/gate/upstream: one
`simple/NAME/index.html` per project, sha256 fragments, files symlinked), served over loopback
by `python -m http.server`; both the gate (`custody gate serve`, a real process, 2 scan
workers, ledger on) and proxpi (gunicorn, 1 worker, 4 threads) sit in front of that same server.

- install: `pip install --no-cache-dir --target DIR -r requirements.txt` through each proxy.
  One untimed warm-up per proxy (the gate's downloads and scans every file then: its cold install
  time is reported too), then --runs timed runs alternating gate/proxpi. Wall time, pip's CPU
  time (getrusage of the child) and the proxy's CPU time (utime+stime of its process tree from
  /proc). Medians; ratio gate/proxpi.
- page: a synthetic project with 100 wheels; after a warm-up, --clients keep-alive connections
  driven by bench/loadgen.py (its own process: one thread, selectors, h11) each ask --requests
  times for its PEP 691 JSON page, once as fast as answers come (closed loop: the latency is then
  mostly queueing for CPU) and once paced at one request per --interval seconds per client;
  --page-rounds rounds alternating gate and proxpi; p50/p99/max, CPU per request of server and
  client, the upstream page fetches during each run and the load average.
- cold: --cold-runs times, alternating: a plain download of --large from the upstream (hashed,
  written), and a fresh gate (empty cache and store, scan workers idle) asked for it over a plain
  socket. Time beyond upstream transfer + scan = client first byte - Server-Timing page - fetch -
  scan (scan timed in the worker); also split inside/outside the handler, to the first body byte,
  and cross-checked against the plain download. Peak RSS: VmHWM of the server and each child, and
  the summed tree sampled every 20 ms by a separate process (--sample-memory). The bench policy
  allows that exact release so that a verdict on it does not stop the figure: the file is still
  downloaded, hashed and scanned in full. See bench/README.md.

Results: bench/out/gate/results.json and results.md (the block for bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import glob
import hashlib
import html
import io
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "gate"
CACHE = Path.home() / ".cache" / "custody-bench"
REQUIREMENTS = [
    "requests",
    "urllib3",
    "certifi",
    "idna",
    "charset-normalizer",
    "six",
    "python-dateutil",
    "pyyaml",
    "packaging",
    "setuptools",
    "typing-extensions",
    "attrs",
    "click",
    "jinja2",
    "markupsafe",
    "numpy",
    "pydantic",
    "rich",
    "httpx",
    "boto3",
    "pytz",
    "filelock",
    "platformdirs",
    "pytest",
    "cryptography",
    "protobuf",
    "wrapt",
    "pyasn1",
    "fsspec",
    "aiohttp",
]
PAGE_PROJECT = "gatebenchpage"
PAGE_FILES = 100
_NAME = re.compile(r"^([A-Za-z0-9_.]+?)-(\d[^-]*)-")


# -- the upstream ----------------------------------------------------------------------------------


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def tiny_wheel(name: str, version: str) -> tuple[str, bytes]:
    module = name.replace("-", "_")
    dist = f"{module}-{version}.dist-info"
    entries = {
        f"{module}/__init__.py": b"VALUE = 1\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: gate-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for path, data in entries.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([path, f"sha256={digest}", len(data)])
    writer.writerow([f"{dist}/RECORD", "", ""])
    entries[f"{dist}/RECORD"] = record.getvalue().encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in entries.items():
            archive.writestr(path, data)
    return f"{module}-{version}-py3-none-any.whl", buffer.getvalue()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def build_upstream(mirror: Path, large: Path | None, root: Path) -> dict[str, list[Path]]:
    """A PEP 503 directory index over the mirror's files, the synthetic page project and the
    large wheel; returns project -> files."""
    if root.exists():
        shutil.rmtree(root)
    files_dir = root / "files"
    files_dir.mkdir(parents=True)
    projects: dict[str, list[Path]] = {}
    sources = sorted((mirror / "files").iterdir()) + ([large] if large else [])
    for source in sources:
        match = _NAME.match(source.name)
        if not match or not source.name.endswith((".whl", ".tar.gz")):
            continue
        link = files_dir / source.name
        link.symlink_to(source.resolve())
        projects.setdefault(canonical(match.group(1)), []).append(link)
    for index in range(PAGE_FILES):
        filename, data = tiny_wheel(PAGE_PROJECT, f"1.0.{index}")
        path = files_dir / filename
        path.write_bytes(data)
        projects.setdefault(PAGE_PROJECT, []).append(path)
    digests_file = mirror / "sha256.json"
    known: dict[str, str] = json.loads(digests_file.read_text()) if digests_file.exists() else {}
    for name, paths in projects.items():
        page = root / "simple" / name
        page.mkdir(parents=True)
        links = []
        for path in paths:
            key = f"{path.name}:{path.resolve().stat().st_size}"
            digest = known.get(key) or sha256_of(path)
            known[key] = digest
            href = f"../../files/{path.name}#sha256={digest}"
            links.append(f'<a href="{html.escape(href)}">{html.escape(path.name)}</a><br/>')
        page.joinpath("index.html").write_text(
            f"<!DOCTYPE html><html><body>\n{chr(10).join(links)}\n</body></html>\n"
        )
    root.joinpath("simple", "index.html").write_text(
        "<!DOCTYPE html><html><body>\n"
        + "\n".join(f'<a href="{n}/">{n}</a><br/>' for n in sorted(projects))
        + "\n</body></html>\n"
    )
    with contextlib.suppress(OSError):
        digests_file.write_text(json.dumps(known))
    return projects


# -- processes -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2, trust_env=False).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url}: not up after {timeout} s")


@contextlib.contextmanager
def process(
    command: list[str], env: dict[str, str], health: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_up(health, proc)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def tree_pids(root: int) -> list[int]:
    """`root` and every descendant (from each task's /proc children list: no walk over /proc,
    so sampling often does not steal CPU from what is measured)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        for children in glob.glob(f"/proc/{pid}/task/*/children"):
            with contextlib.suppress(OSError, ValueError):
                todo.extend(int(c) for c in Path(children).read_text().split())
    return found


def tree_cpu(root: int) -> float:
    """CPU seconds (user+system) of a process tree, including reaped children."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in tree_pids(root):
        with contextlib.suppress(OSError, ValueError):
            text = Path(f"/proc/{pid}/stat").read_text()
            fields = text[text.rindex(")") + 2 :].split()
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / tick


def rss_kib(pid: int, key: str = "VmRSS") -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def statm_rss_pages(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return 0


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_")) and "proxy" not in k.lower()
    }
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", NO_PROXY="*")
    env.update(extra or {})
    return env


@contextlib.contextmanager
def upstream_server(root: Path) -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "http.server",
        "--bind",
        "127.0.0.1",
        "--directory",
        str(root),
        str(port),
    ]
    with process(command, clean_env(), f"http://127.0.0.1:{port}/simple/", OUT / "upstream.log"):
        yield f"http://127.0.0.1:{port}/simple/"


POLICY = """# gate_bench.py: the mirror's files are old releases with no upload times in a PEP 503 page
cooldown = "0"
unknown_upload_time = "allow"
"""


@contextlib.contextmanager
def gate_server(
    upstream: str, state: Path, allow: str | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    if state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True)
    policy = state / "policy.toml"
    text = POLICY
    if allow:
        text += (
            f'\n[[allow]]\nspec = "{allow}"\nreason = "gate_bench: measure serving, whatever the verdict"\n'
        )
    policy.write_text(text)
    port = free_port()
    command = [
        sys.executable, "-m", "custody.cli.main", "gate", "serve", "--upstream", upstream,
        "--policy", str(policy), "--port", str(port), "--scan-workers", "2", "--scan-timeout", "600",
        "--advisory-db", str(state / "no-advisories.sqlite"),
    ]  # fmt: skip
    env = clean_env({"CUSTODY_GATE_DIR": str(state / "data"), "CUSTODY_CACHE_DIR": str(state / "cache")})
    with process(command, env, f"http://127.0.0.1:{port}/health", state / "gate.log") as proc:
        yield f"http://127.0.0.1:{port}", proc


@contextlib.contextmanager
def proxpi_server(venv: Path, upstream: str, state: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    if state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True)
    port = free_port()
    command = [
        str(venv / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
        "proxpi.server:app",
    ]  # fmt: skip
    env = clean_env(
        {
            "PROXPI_INDEX_URL": upstream,
            "PROXPI_CACHE_DIR": str(state / "cache"),
            "PROXPI_LOGGING_LEVEL": "WARNING",
        }
    )
    with process(command, env, f"http://127.0.0.1:{port}/health", state / "proxpi.log") as proc:
        yield f"http://127.0.0.1:{port}", proc


# -- (a) installs ----------------------------------------------------------------------------------


def pip_install(index: str, requirements: Path, target: Path) -> tuple[float, float, list[str]]:
    """(wall seconds, pip CPU seconds, installed dist-info names)."""
    if target.exists():
        shutil.rmtree(target)
    command = [
        sys.executable, "-m", "pip", "install", "--no-cache-dir", "--no-compile", "--quiet",
        "--index-url", index, "--target", str(target), "-r", str(requirements),
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=clean_env(), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"pip install through {index} failed:\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    installed = sorted(p.name for p in target.glob("*.dist-info"))
    return wall, cpu, installed


def bench_install(args: argparse.Namespace, upstream: str, requirements: Path) -> dict[str, Any]:
    runs: dict[str, list[dict[str, float]]] = {"gate": [], "proxpi": []}
    result: dict[str, Any] = {}
    with (
        gate_server(upstream, OUT / "state-install-gate") as (gate, gate_proc),
        proxpi_server(args.proxpi_venv, upstream, OUT / "state-proxpi") as (proxpi, proxpi_proc),
    ):
        indexes = {"gate": (f"{gate}/simple/", gate_proc), "proxpi": (f"{proxpi}/index/", proxpi_proc)}
        sets = {}
        for name, (index, proc) in indexes.items():  # warm-up: fills each cache
            cpu0 = tree_cpu(proc.pid)
            wall, pip_cpu, installed = pip_install(index, requirements, OUT / f"target-{name}")
            result[f"{name}_cold"] = {
                "wall": wall,
                "pip_cpu": pip_cpu,
                "server_cpu": tree_cpu(proc.pid) - cpu0,
            }
            sets[name] = installed
            print(f"  warm-up {name}: {wall:.2f} s wall, {len(installed)} distributions", flush=True)
        if sets["gate"] != sets["proxpi"]:
            raise RuntimeError(f"the two installs differ: {set(sets['gate']) ^ set(sets['proxpi'])}")
        result["distributions"] = len(sets["gate"])
        for run in range(args.runs):
            for name, (index, proc) in indexes.items():
                cpu0 = tree_cpu(proc.pid)
                wall, pip_cpu, _ = pip_install(index, requirements, OUT / f"target-{name}")
                server = tree_cpu(proc.pid) - cpu0
                runs[name].append({"wall": wall, "pip_cpu": pip_cpu, "server_cpu": server})
                print(
                    f"  run {run + 1} {name}: {wall:.2f} s wall, pip {pip_cpu:.2f} s CPU, "
                    f"server {server:.2f} s CPU",
                    flush=True,
                )
    for name, items in runs.items():
        result[name] = {
            key: statistics.median(r[key] for r in items) for key in ("wall", "pip_cpu", "server_cpu")
        }
        result[name]["runs"] = items
    result["ratio_wall"] = result["gate"]["wall"] / result["proxpi"]["wall"]
    total = {n: result[n]["pip_cpu"] + result[n]["server_cpu"] for n in ("gate", "proxpi")}
    result["ratio_cpu"] = total["gate"] / total["proxpi"]
    return result


# -- (b) page latency ------------------------------------------------------------------------------


def loadgen(url: str, clients: int, requests: int, interval: float) -> dict[str, Any]:
    """Run bench/loadgen.py (its own process: one thread, keep-alive sockets, h11) against `url`."""
    command = [
        sys.executable, str(HERE / "loadgen.py"), url, "--clients", str(clients),
        "--requests", str(requests), "--interval", str(interval),
    ]  # fmt: skip
    done = subprocess.run(command, env=clean_env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"loadgen against {url} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def percentiles(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"n": len(ordered), "p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": ordered[-1]}


def page_fetches(project: str) -> int:
    """Upstream fetches of `project`'s page so far (the upstream server's access log)."""
    log = OUT / "upstream.log"
    return sum(f"/simple/{project}/ " in line for line in log.read_text().splitlines()) if log.exists() else 0


def page_run(
    url: str, proc: subprocess.Popen[bytes], args: argparse.Namespace, interval: float
) -> dict[str, Any]:
    cpu0, fetches0 = tree_cpu(proc.pid), page_fetches(PAGE_PROJECT)
    load = loadgen(url, args.clients, args.requests, interval)
    server_cpu = tree_cpu(proc.pid) - cpu0
    row: dict[str, Any] = percentiles(load["latencies_ms"])
    lags = sorted(load["send_lag_ms"])
    row.update(
        seconds=load["wall_s"],
        server_cpu_ms_per_request=server_cpu / row["n"] * 1000,
        client_cpu_ms_per_request=load["cpu_s"] / row["n"] * 1000,
        send_lag_p99_ms=lags[min(len(lags) - 1, int(0.99 * len(lags)))] if lags else 0.0,
        upstream_page_fetches=page_fetches(PAGE_PROJECT) - fetches0,
        load_average=os.getloadavg()[0],
    )
    return row


def summary_line(row: dict[str, Any]) -> str:
    return (
        f"p50 {row['p50_ms']:.1f} p99 {row['p99_ms']:.1f} max {row['max_ms']:.1f} ms; CPU/request "
        f"server {row['server_cpu_ms_per_request']:.2f} client {row['client_cpu_ms_per_request']:.2f} ms; "
        f"send lag p99 {row['send_lag_p99_ms']:.1f} ms; upstream page fetches "
        f"{row['upstream_page_fetches']}; load {row['load_average']:.1f}"
    )


def bench_page(args: argparse.Namespace, upstream: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "clients": args.clients,
        "requests_per_client": args.requests,
        "interval_s": args.interval,
        "files": PAGE_FILES,
        "rounds": args.page_rounds,
        "load_average_before": os.getloadavg(),
    }
    with (
        gate_server(upstream, OUT / "state-page-gate") as (gate, gate_proc),
        proxpi_server(args.proxpi_venv, upstream, OUT / "state-page-proxpi") as (proxpi, proxpi_proc),
    ):
        servers = {
            "gate": (f"{gate}/simple/{PAGE_PROJECT}/", gate_proc),
            "proxpi": (f"{proxpi}/index/{PAGE_PROJECT}/", proxpi_proc),
        }
        for name, (url, _) in servers.items():
            page = httpx.get(
                url, headers={"Accept": "application/vnd.pypi.simple.v1+json"}, trust_env=False
            ).json()
            if len(page["files"]) != PAGE_FILES:
                raise RuntimeError(f"{name}: {len(page['files'])} files on the page, not {PAGE_FILES}")
            loadgen(url, 5, 5, 0.0)  # warm connections and code paths
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {n: {"closed": [], "paced": []} for n in servers}
        for number in range(args.page_rounds):  # alternate which server goes first
            order = list(servers) if number % 2 == 0 else list(reversed(servers))
            for name in order:
                url, proc = servers[name]
                for mode, interval in (("closed", 0.0), ("paced", args.interval)):
                    row = page_run(url, proc, args, interval)
                    runs[name][mode].append(row)
                    print(f"  round {number + 1} {name} {mode}: {summary_line(row)}", flush=True)
    for name, modes in runs.items():
        for mode, rows in modes.items():
            summary = {
                key: statistics.median(r[key] for r in rows)
                for key in (
                    "p50_ms",
                    "p99_ms",
                    "max_ms",
                    "server_cpu_ms_per_request",
                    "client_cpu_ms_per_request",
                )
            }
            summary["runs"] = rows
            result.setdefault(name, {})[mode] = summary
    result["load_average_after"] = os.getloadavg()
    return result


# -- (c) cold large artifact -----------------------------------------------------------------------


def server_timing(header: str) -> dict[str, float]:
    found = {}
    for part in header.split(","):
        name, _, rest = part.strip().partition(";dur=")
        with contextlib.suppress(ValueError):
            found[name] = float(rest) / 1000
    return found


def sample_memory(pid: int, out: Path, interval: float) -> None:
    """`--sample-memory`: in its own process (never a thread of the process that times requests),
    sample the RSS of process `pid` and its descendants until SIGTERM or until `pid` is gone;
    write the peaks to `out` as JSON: the largest sum over the tree at one sample, and each
    process's largest."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    peak_sum, peak_each, samples = 0, {}, 0
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    pids: list[int] = []
    while not stop.is_set() and os.path.exists(f"/proc/{pid}"):
        # cheap, as the sampler shares the cores with what it measures: the process tree is
        # looked up every 25th sample (it changes only when a scan worker is replaced), and each
        # sample reads statm (resident pages) rather than parsing status
        if samples % 25 == 0:
            pids = tree_pids(pid)
        sizes = {p: statm_rss_pages(p) * page_kib for p in pids}
        peak_sum = max(peak_sum, sum(sizes.values()))
        for p, kib in sizes.items():
            peak_each[p] = max(peak_each.get(p, 0), kib)
        samples += 1
        stop.wait(interval)
    out.write_text(json.dumps({"tree_peak_kib": peak_sum, "each_peak_kib": peak_each, "samples": samples}))


@contextlib.contextmanager
def memory_sampler(pid: int, interval: float = 0.02) -> Iterator[dict[str, Any]]:
    out = OUT / f"memory-{pid}.json"
    out.unlink(missing_ok=True)
    command = [
        sys.executable, str(Path(__file__).resolve()), "--sample-memory", str(pid),
        "--sample-out", str(out), "--sample-interval", str(interval),
    ]  # fmt: skip
    proc = subprocess.Popen(command)
    found: dict[str, Any] = {}
    try:
        yield found
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if out.exists():
            found.update(json.loads(out.read_text()))


def wait_idle(pid: int, quiet: float = 0.5, timeout: float = 30) -> None:
    """Until the gate's process tree stops using CPU (its scan workers start and make their
    scanners when it starts): the cold figure is a first request for a file, not a first request
    to a process still starting."""
    deadline = time.monotonic() + timeout
    last = tree_cpu(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = tree_cpu(pid)
        if now - last < 0.02 * quiet:
            return
        last = now


def direct_download(url: str, client: httpx.Client) -> dict[str, float]:
    """A plain download of the file from the same upstream, doing what the gate does with the
    bytes (sha256, written to a file on the same disk); the client is made before the clock starts."""
    sink = OUT / "direct.part"
    digest = hashlib.sha256()
    cpu0, started = time.process_time(), time.perf_counter()
    with (
        client.stream("GET", url, headers={"Accept-Encoding": "identity"}) as response,
        sink.open("wb") as out,
    ):
        for chunk in response.iter_raw():
            digest.update(chunk)
            out.write(chunk)
    seconds = time.perf_counter() - started
    sink.unlink()
    return {"seconds": seconds, "cpu_s": time.process_time() - cpu0}


def raw_get(port: int, path: str) -> dict[str, Any]:
    """One GET on a plain socket (no client library set-up inside the timing): seconds from
    sending the request to the first byte of the answer and to the first byte of its body, the
    head, and the body's length (read to the end, not kept)."""
    sock = socket.create_connection(("127.0.0.1", port))
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
    buffer = bytearray(1 << 20)
    started = time.perf_counter()
    sock.sendall(request)
    data = sock.recv(1 << 16)
    first_byte = time.perf_counter() - started
    while b"\r\n\r\n" not in data:
        more = sock.recv(1 << 16)
        if not more:
            raise RuntimeError(f"{path}: connection closed inside the head")
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    received = len(body)
    if not body:
        received = sock.recv_into(buffer)
    first_body = time.perf_counter() - started
    while n := sock.recv_into(buffer):
        received += n
    total = time.perf_counter() - started
    sock.close()
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return {
        "status": int(status_line.split()[1]),
        "reason": status_line,
        "headers": headers,
        "first_byte_s": first_byte,
        "first_body_byte_s": first_body,
        "total_s": total,
        "received": received,
    }


def cold_once(upstream: str, large: Path, project: str, version: str, run: int) -> dict[str, Any]:
    """One fresh gate (empty cache and store), one request for `large`."""
    state = OUT / "state-cold-gate"
    with gate_server(upstream, state, allow=f"{project}=={version}") as (gate, proc):
        wait_idle(proc.pid)
        port = int(gate.rsplit(":", 1)[1])
        before_kib = rss_kib(proc.pid)
        load = os.getloadavg()
        with memory_sampler(proc.pid) as memory:
            got = raw_get(port, f"/files/{project}/{large.name}")
        workers = tree_pids(proc.pid)[1:]
        worker_hwm = [rss_kib(pid, "VmHWM") for pid in workers]
        server_hwm = rss_kib(proc.pid, "VmHWM")
    if got["status"] != 200:
        raise RuntimeError(f"{large.name}: {got['reason']}")
    if got["received"] != large.stat().st_size:
        raise RuntimeError(f"served {got['received']} bytes of {large.stat().st_size}")
    timing = server_timing(got["headers"].get("server-timing", ""))
    upstream_and_scan = timing["page"] + timing["fetch"] + timing["scan"]
    row = {
        "run": run,
        "verdict": got["headers"].get("x-custody-verdict"),
        "timing_s": timing,
        "first_byte_s": got["first_byte_s"],
        "first_body_byte_s": got["first_body_byte_s"],
        "whole_response_s": got["total_s"],
        "overhead_ms": (got["first_byte_s"] - upstream_and_scan) * 1000,
        "overhead_body_ms": (got["first_body_byte_s"] - upstream_and_scan) * 1000,
        "in_gate_ms": (timing["gate"] - upstream_and_scan) * 1000,
        "outside_gate_ms": (got["first_byte_s"] - timing["gate"]) * 1000,
        "serve_body_s": got["total_s"] - got["first_byte_s"],
        "gate_rss_before_mib": before_kib / 1024,
        "gate_peak_rss_mib": server_hwm / 1024,
        "worker_peak_rss_mib": [k / 1024 for k in worker_hwm],
        "sum_of_peaks_mib": (server_hwm + sum(worker_hwm)) / 1024,
        "tree_peak_sampled_mib": memory.get("tree_peak_kib", 0) / 1024,
        "memory_samples": memory.get("samples", 0),
        "load_average": load,
    }
    return row


def bench_cold(upstream: str, large: Path, runs: int) -> dict[str, Any]:
    """--cold-runs times, alternating which goes first: a plain download of `large` from the
    upstream, and a fresh gate asked for it (see `cold_once`)."""
    match = _NAME.match(large.name)
    assert match is not None
    project, version = canonical(match.group(1)), match.group(2)
    result: dict[str, Any] = {"file": large.name, "bytes": large.stat().st_size, "runs": []}
    url = f"{upstream.removesuffix('simple/')}files/{large.name}"
    with httpx.Client(trust_env=False, timeout=900) as client:
        for run in range(runs):
            direct = gate = None
            for step in ("direct", "gate") if run % 2 == 0 else ("gate", "direct"):
                if step == "direct":
                    direct = direct_download(url, client)
                else:
                    gate = cold_once(upstream, large, project, version, run + 1)
            assert direct is not None and gate is not None
            gate["direct_download_s"] = direct["seconds"]
            gate["direct_download_cpu_s"] = direct["cpu_s"]
            gate["fetch_over_direct"] = gate["timing_s"]["fetch"] / direct["seconds"]
            gate["overhead_by_direct_ms"] = (
                gate["first_byte_s"] - gate["timing_s"]["page"] - direct["seconds"] - gate["timing_s"]["scan"]
            ) * 1000
            result["runs"].append(gate)
            t = gate["timing_s"]
            print(
                f"  run {run + 1}: first byte {gate['first_byte_s']:.3f} s = "
                f"page {t['page'] * 1000:.1f} ms + "
                f"fetch {t['fetch']:.3f} s (direct {direct['seconds']:.3f} s) + scan {t['scan']:.3f} s + "
                f"{gate['overhead_ms']:.1f} ms (in gate {gate['in_gate_ms']:.1f}, outside "
                f"{gate['outside_gate_ms']:.1f}); body {gate['serve_body_s']:.2f} s; server peak "
                f"{gate['gate_peak_rss_mib']:.0f} MiB, tree {gate['tree_peak_sampled_mib']:.0f} MiB; "
                f"load {gate['load_average'][0]:.1f}",
                flush=True,
            )
    rows = result["runs"]
    for key in (
        "overhead_ms",
        "overhead_body_ms",
        "in_gate_ms",
        "outside_gate_ms",
        "overhead_by_direct_ms",
        "first_byte_s",
        "serve_body_s",
        "direct_download_s",
        "fetch_over_direct",
        "gate_peak_rss_mib",
        "sum_of_peaks_mib",
        "tree_peak_sampled_mib",
    ):
        values = [r[key] for r in rows]
        result[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    for key in sorted({k for r in rows for k in r["timing_s"]}):
        values = [r["timing_s"][key] for r in rows if key in r["timing_s"]]
        result.setdefault("timing_s", {})[key] = {
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
        }
    result["verdict"] = rows[0]["verdict"]
    return result


# -- report ----------------------------------------------------------------------------------------


def markdown(results: dict[str, Any], command: str) -> str:
    lines = [f"Command: `{command}`", f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}", ""]
    install = results.get("install")
    if install:
        g, p = install["gate"], install["proxpi"]
        runs = len(g["runs"])
        lines += [
            f"**Warm-cache install** ({len(REQUIREMENTS)} packages, {install['distributions']} distributions "
            f"with dependencies, `pip install --no-cache-dir --target`, median of {runs} runs):",
            "",
            "| | wall s | pip CPU s | proxy CPU s |",
            "|---|---:|---:|---:|",
            f"| gate | {g['wall']:.2f} | {g['pip_cpu']:.2f} | {g['server_cpu']:.2f} |",
            f"| proxpi | {p['wall']:.2f} | {p['pip_cpu']:.2f} | {p['server_cpu']:.2f} |",
            f"| **gate / proxpi** | **{install['ratio_wall']:.3f}** | | "
            f"CPU (pip+proxy) {install['ratio_cpu']:.3f} |",
            "",
            f"Cold first install (untimed warm-up; the gate downloads and scans every file): gate "
            f"{install['gate_cold']['wall']:.1f} s, proxpi {install['proxpi_cold']['wall']:.1f} s.",
            "",
        ]
    page = results.get("page")
    if page:
        lines += [
            f"**Project page from cache** ({page['files']} files, PEP 691 JSON, {page['clients']} concurrent "
            f"clients x {page['requests_per_client']} requests, keep-alive connections driven by "
            f"bench/loadgen.py in its own process; closed: each client asks again as soon as answered; "
            f"paced: each client asks once every {page['interval_s']} s; medians of {page.get('rounds', 1)} "
            f"rounds, gate and proxpi alternating; load average before "
            f"{', '.join(f'{x:.1f}' for x in page.get('load_average_before', []))}, after "
            f"{', '.join(f'{x:.1f}' for x in page.get('load_average_after', []))}):",
            "",
            "| | load | p50 ms | p99 ms | max ms | p99 of each round | server CPU ms/request | "
            "client CPU ms/request | upstream page fetches |",
            "|---|---|---:|---:|---:|---|---:|---:|---|",
        ]
        for name in ("gate", "proxpi"):
            for mode in ("closed", "paced"):
                row = page[name][mode]
                rounds = row.get("runs", [])
                each_p99 = " / ".join(f"{r['p99_ms']:.1f}" for r in rounds)
                lines.append(
                    f"| {name} | {mode} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['max_ms']:.1f} | "
                    f"{each_p99} | "
                    f"{row['server_cpu_ms_per_request']:.2f} | {row['client_cpu_ms_per_request']:.2f} | "
                    f"{' / '.join(str(r.get('upstream_page_fetches', '')) for r in rounds)} |"
                )
        lines.append("")
    cold = results.get("cold")
    if cold:
        lines += cold_markdown(cold)
    return "\n".join(lines)


def spread(item: dict[str, float], scale: float = 1.0, digits: int = 1) -> str:
    low, high = item["min"] * scale, item["max"] * scale
    return f"{item['median'] * scale:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


def cold_markdown(cold: dict[str, Any]) -> list[str]:
    rows = cold["runs"]
    t = cold["timing_s"]
    loads = [r["load_average"][0] for r in rows]
    lines = [
        f"**Cold artifact** `{cold['file']}` ({cold['bytes'] / 2**20:.0f} MiB, verdict {cold['verdict']}, "
        f"served by an exact allow), {len(rows)} runs, each a fresh gate (empty cache and store, scan "
        f"workers started) and a plain download of the same file from the same upstream, alternating "
        f"which goes first; median (min-max); 1-minute load average at the runs "
        f"{min(loads):.1f}-{max(loads):.1f}:",
        "",
        "| | median (min-max) |",
        "|---|---:|",
        f"| client: first byte of the answer, s | {spread(cold['first_byte_s'], digits=3)} |",
        f"| gate: upstream page (`page`), ms | {spread(t['page'], 1000)} |",
        f"| gate: upstream file received, hashed, written (`fetch`), s | {spread(t['fetch'], digits=3)} |",
        f"| client: plain download of the same file, hashed, written, s | "
        f"{spread(cold['direct_download_s'], digits=3)} |",
        f"| `fetch` / plain download | {spread(cold['fetch_over_direct'], digits=2)} |",
        f"| scan worker: the scan itself (`scan`), s | {spread(t['scan'], digits=3)} |",
        f"| **time beyond upstream transfer + scan** (first byte - page - fetch - scan), ms | "
        f"**{spread(cold['overhead_ms'])}** |",
        f"| of it inside the gate's handler (`gate` - page - fetch - scan), ms | "
        f"{spread(cold['in_gate_ms'])} |",
        f"| of it outside (first byte - `gate`: connection, request, response start), ms | "
        f"{spread(cold['outside_gate_ms'])} |",
        f"| same, to the first byte of the body, ms | {spread(cold['overhead_body_ms'])} |",
        f"| cross-check: first byte - page - plain download - scan, ms | "
        f"{spread(cold['overhead_by_direct_ms'])} |",
        f"| sending the body after the first byte, s | {spread(cold['serve_body_s'], digits=2)} |",
        f"| **gate server peak RSS** (VmHWM), MiB | **{spread(cold['gate_peak_rss_mib'], digits=0)}** |",
        f"| gate process tree, peak of summed RSS (sampled every 20 ms by a separate process), MiB | "
        f"{spread(cold['tree_peak_sampled_mib'], digits=0)} |",
        f"| gate process tree, sum of each process's VmHWM (upper bound), MiB | "
        f"{spread(cold['sum_of_peaks_mib'], digits=0)} |",
        "",
        "Inside the gate, medians in ms (Server-Timing): "
        + ", ".join(
            f"{name} {t[name]['median'] * 1000:.1f}" for name in ("judge", "claim", "pool") if name in t
        )
        + ".",
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mirror", type=Path, default=CACHE / "gate-mirror")
    parser.add_argument("--proxpi-venv", type=Path, default=CACHE / "proxpi-venv")
    parser.add_argument(
        "--large", type=Path, help="A large wheel for the cold figure (default: the largest in ai-stack)."
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument(
        "--page-rounds", type=int, default=3, help="Rounds of the page runs (gate and proxpi alternate)."
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=0.5,
        help="Seconds between one client's requests in the paced page run.",
    )
    parser.add_argument(
        "--report", type=Path, help="Only write results.md again from this results.json (no measuring)."
    )
    parser.add_argument("--skip-install", action="store_true")
    parser.add_argument("--skip-page", action="store_true")
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--cold-runs", type=int, default=5, help="Fresh gates asked for --large.")
    parser.add_argument("--sample-memory", type=int, help=argparse.SUPPRESS)  # the sampler process
    parser.add_argument("--sample-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sample-interval", type=float, default=0.02, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sample_memory is not None:
        sample_memory(args.sample_memory, args.sample_out, args.sample_interval)
        return
    if args.report is not None:
        saved = json.loads(args.report.read_text())
        saved.get("page", {}).setdefault("interval_s", args.interval)  # runs before it was recorded
        block = markdown(saved, saved["command"])
        (OUT / "results.md").write_text(block + "\n")
        print(block)
        return
    large = args.large
    if large is None and not args.skip_cold:
        wheels = sorted(glob.glob(str(CACHE / "ai-stack" / "torch-*.whl"))) or sorted(
            glob.glob(str(CACHE / "ai-stack" / "*.whl")), key=os.path.getsize
        )
        large = Path(wheels[-1]) if wheels else None
    OUT.mkdir(parents=True, exist_ok=True)
    requirements = OUT / "requirements.txt"
    requirements.write_text("\n".join(REQUIREMENTS) + "\n")
    if not (args.mirror / "files").is_dir():
        sys.exit(f"no mirror at {args.mirror}/files: see the docstring for the one-time pip download")
    build_upstream(args.mirror, None if args.skip_cold else large, OUT / "upstream")
    command = "python " + " ".join(["bench/gate_bench.py", *sys.argv[1:]])
    results: dict[str, Any] = {
        "command": command,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with upstream_server(OUT / "upstream") as upstream:
        if not args.skip_install:
            print("install: gate vs proxpi, warm caches", flush=True)
            results["install"] = bench_install(args, upstream, requirements)
        if not args.skip_page:
            print("page: p99 under concurrent clients", flush=True)
            results["page"] = bench_page(args, upstream)
        if not args.skip_cold and large is not None:
            print(f"cold: {large.name}", flush=True)
            results["cold"] = bench_cold(upstream, large, args.cold_runs)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    block = markdown(results, command)
    (OUT / "results.md").write_text(block + "\n")
    print("\n" + block)


if __name__ == "__main__":
    main()
