"""Resource bounds for reading hostile archives.

The defaults admit every artifact of the 975 most downloaded PyPI projects (largest wheel member
~1.5 GB of CUDA code) while stopping compression bombs (ratios of 1,000:1 and more) and
pathological member counts early. Bounds exist to prevent denial of service, see
https://en.wikipedia.org/wiki/Zip_bomb and CPython's zipfile "Decompression pitfalls".
"""

from __future__ import annotations

import time
from dataclasses import dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Bounds on what reading one artifact may cost (members, bytes, compression ratio, nesting); what
    a limit cuts is reported, never silently dropped."""

    max_members: int = 200_000
    """Members per archive (nested ones included)."""
    max_total_bytes: int = 8 * GiB
    """Total uncompressed bytes an archive may declare or inflate to."""
    max_ratio: float = 200.0
    """Compression ratio above which a large member (or tar stream) counts as a bomb."""
    ratio_floor_bytes: int = 64 * MiB
    """Ratios are only judged for members larger than this: small text compresses very well."""
    max_member_bytes: int = 16 * MiB
    """Bytes loaded from one member; larger members are scanned on a prefix and flagged."""
    max_loaded_bytes: int = 512 * MiB
    """Bytes held in memory for one artifact across all members."""
    max_depth: int = 2
    """Archives inside archives (a wheel inside an sdist is depth 1)."""


DEFAULT_LIMITS = Limits()


NESTED_SHARE = 0.5
"""Share of `max_loaded_bytes` that nested archives may take. A streamed tar cannot be reordered,
so instead of reading code first it keeps the rest of the budget for code: data members only
ever cost a magic-number prefix, so nested archives are the one padding that could crowd code
out of the budget."""


CHECK_INTERVAL = 0.005
"""Seconds of wall time between reads of the CPU clock by `Deadline.expired`."""


class Deadline:
    """A budget of `seconds` of this process's CPU time, after which reading and analysis stop
    (None: never).

    CPU time, not wall time: the bound is on the work a hostile input can cause, and on an idle
    core the two are equal; on a machine busy with other jobs wall time stretches, and a benign
    target must not turn into an `error` because the machine is busy."""

    __slots__ = ("_next_read", "at")

    def __init__(self, seconds: float | None) -> None:
        self.at = None if seconds is None else time.process_time() + seconds
        self._next_read = 0.0
        """Monotonic time before which the CPU clock is not read again (see `expired`)."""

    def expired(self) -> bool:
        """True once the CPU-time budget is spent (never for an unbounded deadline).

        Asked hundreds of times per artifact, so the CPU clock (a system call, ten times the cost
        of the monotonic clock) is read at most every CHECK_INTERVAL of wall time: the budget is
        then overrun by at most that much CPU time per thread working for it."""
        if self.at is None:
            return False
        now = time.monotonic()
        if now < self._next_read:
            return False
        if time.process_time() >= self.at:
            return True
        self._next_read = now + CHECK_INTERVAL
        return False

    def remaining(self) -> float | None:
        """Seconds left (never below 0), or None without a deadline."""
        return None if self.at is None else max(0.0, self.at - time.process_time())


NO_DEADLINE = Deadline(None)
