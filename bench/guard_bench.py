"""What `custody guard` costs: the same workloads in identical venvs, unguarded and armed (monitor).

    python bench/guard_bench.py [--dir DIR] [--runs 31] [--import-runs 21] [--io-runs 31]
                                [--peer-ref REF] [--workloads start-up,imports,io]

Builds (once, reused) two venvs under DIR (default ~/.cache/custody-bench/guard) with the same
popular libraries installed from the configured index, arms one with `custody guard install
--mode monitor`, then runs every workload in the venvs in turn, the order rotating every round,
so background load hits all of them alike. With --peer-ref, a third venv is armed the same way
but runs the bootstrap as it was at git REF (the named peer: the guard before a change), so the
change is measured against it in the same run. Figures are medians; CPU is user+system time of
the child process (getrusage); "paired" is the median of the per-round ratios guarded/unguarded
(each pair run back to back), with its interquartile range as the noise to read it against. The
1-minute load average is taken before and after each workload. Writes
bench/out/guard_results.json and prints a Markdown block for bench/RESULTS.md.

Workloads: `python -c pass` (start-up); importing ~20 libraries; an I/O loop of 10,000 file opens
and 1,000 loopback TCP connects made by the main program (the guard must still find that no
package is behind each event).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = [
    "requests",
    "yaml",
    "httpx",
    "click",
    "rich",
    "jinja2",
    "packaging",
    "cryptography",
    "starlette",
    "uvicorn",
    "psycopg",
    "pydantic",
    "attrs",
    "idna",
    "certifi",
    "urllib3",
    "charset_normalizer",
    "markupsafe",
    "anyio",
    "dateutil",
]
REQUIREMENTS = [
    "requests",
    "pyyaml",
    "httpx",
    "click",
    "rich",
    "jinja2",
    "packaging",
    "cryptography",
    "starlette",
    "uvicorn",
    "psycopg[binary]",
    "pydantic",
    "attrs",
    "python-dateutil",
]
IMPORT_CODE = (
    "import " + ", ".join(LIBRARIES) + "\nimport rich.console, cryptography.hazmat.primitives.hashes"
)
IO_CODE = """
import os, socket, tempfile, threading
directory = tempfile.mkdtemp()
path = os.path.join(directory, "f")
with open(path, "w") as f:
    f.write("x")
for _ in range(10000):
    with open(path) as f:
        f.read()
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1024)  # above the 1,000 connects: a full backlog would drop SYNs (1 s retry)
port = server.getsockname()[1]
def accept():
    for _ in range(1000):
        conn, _ = server.accept()
        conn.close()
thread = threading.Thread(target=accept)
thread.start()
for _ in range(1000):
    with socket.create_connection(("127.0.0.1", port)) as c:
        pass
thread.join()
os.remove(path)
os.rmdir(directory)
"""


def _venv(path: Path) -> Path:
    python = path / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    return python


def _arm(venv: Path, log: Path) -> None:
    custody = str(Path(sys.executable).with_name("custody"))
    cmd = [custody, "guard", "install", "--venv", str(venv), "--mode", "monitor", "--log", str(log)]
    subprocess.run(cmd, check=True, cwd=ROOT)


def _put_peer_bootstrap(python: Path, ref: str) -> None:
    """Replace the armed venv's bootstrap by the one at git `ref`, compiled as `guard install` does."""
    source = subprocess.run(
        ["git", "show", f"{ref}:src/custody/guard/_boot.py"], check=True, capture_output=True, cwd=ROOT
    ).stdout
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(
        subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    )
    (site / "_custody_guard.py").write_bytes(source)
    compile_code = "import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)"
    subprocess.run([str(python), "-I", "-S", "-c", compile_code, str(site / "_custody_guard.py")], check=True)


def _timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _quartiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return q[0], q[2]


def _measure(pythons: dict[str, Path], code: str, runs: int) -> dict[str, Any]:
    """Run `code` `runs` times in each venv, rotating the order every round (after two warm-up
    rounds for the page cache and .pyc files), and compare each armed venv to "plain"."""
    names = list(pythons)
    walls: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    load_before = os.getloadavg()[0]
    for _ in range(2):
        for python in pythons.values():
            _timed([str(python), "-c", code])
    for i in range(runs):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            wall, cpu = _timed([str(pythons[name]), "-c", code])
            walls[name].append(wall)
            cpus[name].append(cpu)
    result: dict[str, Any] = {"runs": runs, "load_before": load_before, "load_after": os.getloadavg()[0]}
    for name in names:
        result[f"{name}_wall_ms"] = statistics.median(walls[name]) * 1000
        result[f"{name}_cpu_ms"] = statistics.median(cpus[name]) * 1000
    for name in names[1:]:
        over: dict[str, float] = {}
        over["wall_ms"] = result[f"{name}_wall_ms"] - result["plain_wall_ms"]
        over["wall_pct"] = 100 * over["wall_ms"] / result["plain_wall_ms"]
        over["cpu_pct"] = 100 * (result[f"{name}_cpu_ms"] / result["plain_cpu_ms"] - 1)
        for kind, series in (("wall", walls), ("cpu", cpus)):
            ratios = [100 * (g / p - 1) for g, p in zip(series[name], series["plain"], strict=True)]
            over[f"paired_{kind}_pct"] = statistics.median(ratios)
            over[f"paired_{kind}_q1"], over[f"paired_{kind}_q3"] = _quartiles(ratios)
        result[f"{name}_overhead"] = over
    return result


ROWS = [
    ("`python -c pass` start-up", "start-up", "≤ 15 ms slower"),
    ("import 20 libraries (monitor)", "imports", "≤ 5 % slower"),
    ("10,000 opens + 1,000 loopback connects", "io", "≤ 20 % slower"),
]


def _markdown(results: dict[str, Any], armed: list[str]) -> str:
    lines = [
        "| workload | runs | load 1 min | variant | wall | overhead | CPU | CPU overhead"
        " | paired wall (IQR) | paired CPU (IQR) | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, key, target in ROWS:
        if key not in results:
            continue
        r = results[key]
        load = f"{r['load_before']:.1f}–{r['load_after']:.1f}"
        lines.append(
            f"| {label} | {r['runs']} | {load} | unguarded | {r['plain_wall_ms']:.1f} ms | | "
            f"{r['plain_cpu_ms']:.1f} ms | | | | {target} |"
        )
        for name in armed:
            o = r[f"{name}_overhead"]
            wall = r[f"{name}_wall_ms"]
            lines.append(
                f"| | | | {name} | {wall:.1f} ms | {o['wall_ms']:+.1f} ms ({o['wall_pct']:+.1f} %) | "
                f"{r[f'{name}_cpu_ms']:.1f} ms | {o['cpu_pct']:+.1f} % | "
                f"{o['paired_wall_pct']:+.1f} % ({o['paired_wall_q1']:+.1f}…{o['paired_wall_q3']:+.1f}) | "
                f"{o['paired_cpu_pct']:+.1f} % ({o['paired_cpu_q1']:+.1f}…{o['paired_cpu_q3']:+.1f}) | |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", default=os.path.expanduser("~/.cache/custody-bench/guard"))
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--import-runs", type=int, default=21)
    parser.add_argument("--io-runs", type=int, default=31)
    parser.add_argument("--peer-ref", help="also measure the bootstrap at this git ref (a third venv)")
    parser.add_argument(
        "--workloads", default="start-up,imports,io", help="comma-separated subset of start-up,imports,io"
    )
    args = parser.parse_args()
    chosen = args.workloads.split(",")
    unknown = [key for key in chosen if key not in ("start-up", "imports", "io")]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r} (start-up, imports, io)")
    base = Path(args.dir)
    base.mkdir(parents=True, exist_ok=True)
    log = base / "guard.jsonl"
    pythons = {"plain": _venv(base / "plain"), "guarded": _venv(base / "guarded")}
    _arm(base / "guarded", log)
    if args.peer_ref:
        pythons["peer"] = _venv(base / "peer")
        _arm(base / "peer", base / "peer.jsonl")
        _put_peer_bootstrap(pythons["peer"], args.peer_ref)
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], check=False, capture_output=True, text=True, cwd=ROOT
    )
    results: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "commit": head.stdout.strip(),
        "peer_ref": args.peer_ref,
    }
    workloads = {
        "start-up": ("pass", args.runs),
        "imports": (IMPORT_CODE, args.import_runs),
        "io": (IO_CODE, args.io_runs),
    }
    for key in chosen:
        code, runs = workloads[key]
        results[key] = _measure(pythons, code, runs)
    results["log_lines"] = sum(1 for _ in log.open()) if log.exists() else 0
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "guard_results.json").write_text(json.dumps(results, indent=2))
    armed = [name for name in pythons if name != "plain"]
    print(_markdown(results, armed))
    peer = f"; peer: the bootstrap at {args.peer_ref}" if args.peer_ref else ""
    print(
        f"\nPython {results['python']}, {results['machine']}, at {results['commit']}{peer}; "
        f"guard log lines: {results['log_lines']}"
    )


if __name__ == "__main__":
    main()
