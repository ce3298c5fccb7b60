"""What one audited event costs in `custody guard`'s hook: this checkout's bootstrap against a peer.

    python bench/guard_events.py [--peer-ref REF] [--rounds 15] [--events 20000]

In one process, loads this checkout's bootstrap (src/custody/guard/_boot.py) and the one at git
REF (default HEAD~1; the named peer, e.g. the bootstrap before a change), arms both on the default
policy in monitor mode without registering their hooks, then registers one dispatcher hook that
forwards each event to the variant being measured: a no-op hook (the floor every Python audit hook
pays), the peer, or this checkout. Events are raised with `sys.audit`, with the arguments CPython
gives them, from a stack four frames deep. Rounds rotate the order of the variants; figures are
medians of the per-round CPU time (`time.process_time`) per event, so the machine's load hits all
alike. Prints a Markdown table for bench/RESULTS.md.

Workloads: `open` of one path again and again (read, no policy restricting reads: the quiet
path); `open` of a new path every time (the same, never repeated: the worst case of a cache of
quiet answers); `socket.connect` from the main program (a stack walk that finds no package); an
event the guard does not watch (`socket.__new__`).
"""

from __future__ import annotations

import argparse
import importlib.util
import marshal
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from custody.policy.guard import GuardPolicy

ROOT = Path(__file__).resolve().parents[1]
FLAGS = os.O_RDONLY | os.O_CLOEXEC
Hook = Callable[[str, tuple[Any, ...]], None]


def _load(name: str, path: Path, config: Path) -> ModuleType:
    """The bootstrap at `path` as module `name`, armed on `config` but with its hook not added."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    add, sys.addaudithook = sys.addaudithook, lambda hook: None
    try:
        sys._custody_guard_armed = False  # type: ignore[attr-defined]
        assert module.arm(str(config)), f"{path}: not armed"
    finally:
        sys.addaudithook = add
    return module


def _workloads(events: int) -> dict[str, Callable[[], None]]:
    sock = socket.socket()
    sock.close()
    address = ("127.0.0.1", 9)
    same = "/tmp/custody-bench/data.txt"
    fresh = [f"/tmp/custody-bench/files/{i}/data.txt" for i in range(events)]

    def open_same() -> None:
        for _ in range(events):
            sys.audit("open", same, "r", FLAGS)

    def open_fresh() -> None:
        for path in fresh:
            sys.audit("open", path, "r", FLAGS)

    def connect() -> None:
        for _ in range(events):
            sys.audit("socket.connect", sock, address)

    def unwatched() -> None:
        for _ in range(events):
            sys.audit("socket.__new__", sock, 2, 1, 0)

    return {
        "open, same path": open_same,
        "open, a new path each": open_fresh,
        "connect": connect,
        "unwatched": unwatched,
    }


def _deeper(work: Callable[[], None], depth: int) -> None:
    if depth:
        _deeper(work, depth - 1)
    else:
        work()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--peer-ref", default="HEAD~1")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--events", type=int, default=20000)
    args = parser.parse_args()
    peer_source = subprocess.run(
        ["git", "show", f"{args.peer_ref}:src/custody/guard/_boot.py"],
        check=True,
        capture_output=True,
        cwd=ROOT,
    ).stdout
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp, "guard.cfg")
        settings = {"version": 1, "mode": "monitor", "log": str(Path(tmp, "guard.jsonl")), "site_dirs": []}
        config.write_bytes(marshal.dumps({**settings, **GuardPolicy().compiled()}, 4))
        # Each copy in a directory of its own: a bootstrap writes its index next to itself.
        sources = {
            "peer": peer_source,
            "this": (ROOT / "src" / "custody" / "guard" / "_boot.py").read_bytes(),
        }
        loaded: dict[str, ModuleType] = {}
        for name, source in sources.items():
            Path(tmp, name).mkdir()
            Path(tmp, name, "_boot.py").write_bytes(source)
            loaded[name] = _load(f"_custody_guard_{name}", Path(tmp, name, "_boot.py"), config)
        peer, this = loaded["peer"], loaded["this"]
        hooks: dict[str, Hook] = {"no-op hook": lambda event, a: None, "peer": peer._hook, "this": this._hook}
        current: list[Hook] = [hooks["no-op hook"]]

        def dispatch(event: str, a: tuple[Any, ...]) -> None:  # hooks cannot be removed: one, switched
            current[0](event, a)

        sys.addaudithook(dispatch)
        workloads = _workloads(args.events)
        names = list(hooks)
        times: dict[tuple[str, str], list[float]] = {}
        load_before = os.getloadavg()[0]
        for i in range(args.rounds):
            for name in names[i % len(names) :] + names[: i % len(names)]:
                current[0] = hooks[name]
                for label, work in workloads.items():
                    start = time.process_time()
                    _deeper(work, 2)  # four frames: work, _deeper twice, main
                    per_event = (time.process_time() - start) / args.events * 1e9
                    times.setdefault((label, name), []).append(per_event)
        current[0] = hooks["no-op hook"]
    load = f"{load_before:.1f}–{os.getloadavg()[0]:.1f}"
    print("| event | no-op hook | peer | this checkout | this − peer |")
    print("|---|---|---|---|---|")
    for label in workloads:
        floor, was, now = (statistics.median(times[(label, name)]) for name in names)
        print(f"| {label} | {floor:.0f} ns | {was:.0f} ns | {now:.0f} ns | {now - was:+.0f} ns |")
    print(
        f"\nPython {sys.version.split()[0]}; peer: the bootstrap at {args.peer_ref}; {args.rounds} rounds of "
        f"{args.events} events; load average (1 min) {load}; CPU time per event, medians"
    )


if __name__ == "__main__":
    main()
