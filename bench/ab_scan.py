"""Interleaved A/B timing of `custody scan` between source trees (two checkouts of custody).

A shared or drifting machine changes speed by 10-20 % within an hour, so two scanners are only
comparable when their runs alternate: this runs `custody scan TARGET --format json --jobs N` with
`PYTHONPATH` set to each tree in turn, REPEAT rounds, and prints wall and CPU (user + sys of the
scan and its workers) per run and the mean per tree.

    python bench/ab_scan.py ~/.cache/custody-bench/benign-top ../base/src src --repeat 2
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time


def run_once(custody: str, target: str, tree: str, jobs: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the children) of one scan of `target` by the code in `tree`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [custody, "scan", target, "--format", "json", "--jobs", str(jobs)],
        env={**os.environ, "PYTHONPATH": os.path.abspath(tree)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("target", help="what to scan (a directory of archives, an archive)")
    parser.add_argument("trees", nargs="+", help="source trees (the `src` folder of each checkout)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds (default 2)")
    parser.add_argument("--jobs", type=int, default=2, help="custody scan --jobs (default 2)")
    args = parser.parse_args(argv)
    if len(set(args.trees)) != len(args.trees):
        parser.error("name each tree once")
    custody = shutil.which("custody")
    if custody is None:
        print("custody is not on PATH (activate the environment it is installed in)", file=sys.stderr)
        return 2
    walls: dict[str, list[float]] = {tree: [] for tree in args.trees}
    cpus: dict[str, list[float]] = {tree: [] for tree in args.trees}
    for round_number in range(args.repeat):
        # alternate the order each round, so neither tree always runs first
        order = args.trees if round_number % 2 == 0 else list(reversed(args.trees))
        for tree in order:
            wall, cpu = run_once(custody, args.target, tree, args.jobs)
            walls[tree].append(wall)
            cpus[tree].append(cpu)
            print(f"{tree}: wall {wall:.1f} s, CPU {cpu:.1f} s", flush=True)
    for tree in args.trees:
        print(
            f"mean {tree}: wall {statistics.mean(walls[tree]):.1f} s, CPU {statistics.mean(cpus[tree]):.1f} s"
            f" ({args.repeat} runs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
