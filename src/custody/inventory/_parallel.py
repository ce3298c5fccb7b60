"""Share CPU-bound checks of a large environment between forked processes.

Walking and stat-ing 100k installed files is Python-bound: threads do not help, a second process
does. Forking is done only where it is safe: on Linux, from a process with a single thread (a
fork taken while another thread holds a lock can deadlock the child). Everywhere else, and when a
child fails for any reason, its share is run here: the result is always the serial one.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


@contextlib.contextmanager
def paused_collection() -> Iterator[None]:
    """Run the block with the cyclic garbage collector paused (restored after, if it was on).

    Reading a large environment allocates ~10^5 RECORD rows that live to the end, then ~10^5
    short-lived stat results and strings, none in reference cycles: the collector only re-walks
    the rows (~0.08 s of CPU over an audit of 92k files), and in a forked worker it also writes to
    every object it visits, copying pages the worker would otherwise share with its parent."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def can_fork() -> bool:
    """True when forking is safe here: Linux with a single thread (a fork while other threads
    hold locks can deadlock the child)."""
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


def run_parts(jobs: list[Callable[[], T]]) -> list[T]:
    """Every job's result, in order: the first runs here, the others in forked children."""
    if len(jobs) < 2 or not can_fork():
        return [job() for job in jobs]
    children: list[tuple[int, int] | None] = []
    try:
        for job in jobs[1:]:
            try:
                children.append(_start(job))
            except OSError:  # no fork to be had (process limit, memory): that share runs here
                children.append(None)
        results = [jobs[0]()]
        for index, job in enumerate(jobs[1:]):
            child = children[index]
            children[index] = None
            results.append(job() if child is None else _collect(*child, job))
        return results
    finally:
        for child in children:  # only left when this process's own share raised
            if child is None:
                continue
            pid, read = child
            os.close(read)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)


def _start(job: Callable[[], T]) -> tuple[int, int]:
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        raise
    if pid == 0:  # the child: never returns, never runs the parent's clean-up or atexit code
        status = 1
        try:
            os.close(read)
            payload = pickle.dumps(job(), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write, "wb") as out:
                out.write(payload)
            status = 0
        except BaseException:  # noqa: S110 - the parent redoes this share; nothing else to tell
            pass
        finally:
            os._exit(status)
    os.close(write)
    return pid, read


def _collect(pid: int, read: int, job: Callable[[], T]) -> T:
    with os.fdopen(read, "rb") as source:
        payload = source.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0:
        try:
            result: T = pickle.loads(payload)  # noqa: S301 - written by our own forked child
            return result
        except Exception:  # noqa: S110 - fall through to redoing the share
            pass
    return job()
