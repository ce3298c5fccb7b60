"""The one progress display of the CLI: a transient rich bar per stage, on stderr, on a terminal only."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from custody.progress import Progress as ProgressCallback


def wanted(fmt: str, output: str | None) -> bool:
    """Draw only for a person: stderr is a terminal and the report is text or goes to a file."""
    return sys.stderr.isatty() and (fmt == "text" or output is not None)


@contextmanager
def progress_display(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A callback that draws `(stage, done, total)` as bars on stderr; None when not `enabled`."""
    if not enabled:
        yield None
        return
    # rich is imported only to draw: a scripted `custody audit` is expected back in well under 1 s
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        # no refresh thread: `custody audit` forks its RECORD workers only from a single-threaded
        # process, so the bars are redrawn by the updates themselves
        auto_refresh=False,
    ) as bars:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int | None) -> None:
            task = tasks.get(stage)
            if task is None:
                task = tasks[stage] = bars.add_task(stage, total=total)
            bars.update(task, completed=done, total=total, refresh=True)

        yield update
