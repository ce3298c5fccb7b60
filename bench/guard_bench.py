"""What `custody guard` costs: the same workloads in two identical venvs, one armed (monitor mode).

    python bench/guard_bench.py [--dir DIR] [--runs 31] [--import-runs 11] [--io-runs 5]

Builds (once, reused) two venvs under DIR (default ~/.cache/custody-bench/guard) with the same
popular libraries installed from the configured index, arms one with `custody guard install
--mode monitor`, then runs every workload alternately in the two, so both see the same machine
load. Figures are medians; CPU is user+system time of the child processes (getrusage). Writes
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


def _timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _measure(plain: Path, guarded: Path, code: str, runs: int) -> dict[str, float]:
    walls: dict[str, list[float]] = {"plain": [], "guarded": []}
    cpus: dict[str, list[float]] = {"plain": [], "guarded": []}
    for _ in range(2):  # warm the page cache and .pyc files of both
        _timed([str(plain), "-c", code])
        _timed([str(guarded), "-c", code])
    for _ in range(runs):
        for name, python in (("plain", plain), ("guarded", guarded)):
            wall, cpu = _timed([str(python), "-c", code])
            walls[name].append(wall)
            cpus[name].append(cpu)
    result = {f"{k}_wall_ms": statistics.median(v) * 1000 for k, v in walls.items()}
    result.update({f"{k}_cpu_ms": statistics.median(v) * 1000 for k, v in cpus.items()})
    result["wall_overhead_ms"] = result["guarded_wall_ms"] - result["plain_wall_ms"]
    result["wall_overhead_pct"] = 100 * result["wall_overhead_ms"] / result["plain_wall_ms"]
    result["cpu_overhead_pct"] = (
        100 * (result["guarded_cpu_ms"] - result["plain_cpu_ms"]) / result["plain_cpu_ms"]
    )
    result["runs"] = runs
    return result


def _markdown(results: dict[str, object]) -> str:
    rows = [
        ("`python -c pass` start-up", "start-up", "≤ 15 ms slower"),
        ("import 20 libraries (monitor)", "imports", "≤ 5 % slower"),
        ("10,000 opens + 1,000 loopback connects", "io", "≤ 20 % slower"),
    ]
    lines = [
        "| workload | runs | unguarded wall | guarded wall | overhead"
        " | unguarded CPU | guarded CPU | CPU overhead | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, key, target in rows:
        r = results[key]
        assert isinstance(r, dict)
        lines.append(
            f"| {label} | {r['runs']} | {r['plain_wall_ms']:.1f} ms | {r['guarded_wall_ms']:.1f} ms | "
            f"{r['wall_overhead_ms']:+.1f} ms ({r['wall_overhead_pct']:+.1f} %) | "
            f"{r['plain_cpu_ms']:.1f} ms | "
            f"{r['guarded_cpu_ms']:.1f} ms | {r['cpu_overhead_pct']:+.1f} % | {target} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", default=os.path.expanduser("~/.cache/custody-bench/guard"))
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--import-runs", type=int, default=11)
    parser.add_argument("--io-runs", type=int, default=5)
    args = parser.parse_args()
    base = Path(args.dir)
    base.mkdir(parents=True, exist_ok=True)
    plain, guarded = _venv(base / "plain"), _venv(base / "guarded")
    log = base / "guard.jsonl"
    custody = [str(Path(sys.executable).with_name("custody"))]
    subprocess.run(
        [
            *custody,
            "guard",
            "install",
            "--venv",
            str(base / "guarded"),
            "--mode",
            "monitor",
            "--log",
            str(log),
        ],
        check=True,
        cwd=ROOT,
    )
    results: dict[str, object] = {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "start-up": _measure(plain, guarded, "pass", args.runs),
        "imports": _measure(plain, guarded, IMPORT_CODE, args.import_runs),
        "io": _measure(plain, guarded, IO_CODE, args.io_runs),
    }
    results["log_lines"] = sum(1 for _ in log.open()) if log.exists() else 0
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "guard_results.json").write_text(json.dumps(results, indent=2))
    print(_markdown(results))
    print(f"\nPython {results['python']}, {results['machine']}; guard log lines: {results['log_lines']}")


if __name__ == "__main__":
    main()
