"""The scan's CPU-time budget (`custody.artifacts.limits.Deadline`)."""

from __future__ import annotations

import time

from custody.artifacts.limits import CHECK_INTERVAL, NO_DEADLINE, Deadline


def _burn(seconds: float) -> None:
    """Spend `seconds` of this process's CPU time."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_spent_budget_is_expired_at_once() -> None:
    assert Deadline(0).expired()


def test_no_deadline_never_expires() -> None:
    _burn(0.01)
    assert not NO_DEADLINE.expired()
    assert NO_DEADLINE.remaining() is None


def test_the_budget_runs_out_after_its_cpu_time_and_stays_out() -> None:
    deadline = Deadline(0.05)
    assert not deadline.expired()
    _burn(0.05 + 2 * CHECK_INTERVAL)
    # the CPU clock is read again at most CHECK_INTERVAL of wall time later: ask until then
    end = time.monotonic() + 10 * CHECK_INTERVAL
    while not deadline.expired() and time.monotonic() < end:
        pass
    assert deadline.expired()
    assert deadline.expired()  # once out, always out
    assert deadline.remaining() == 0.0
