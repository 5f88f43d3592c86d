"""Progress of a long run, reported by the stages as they go (rows done per stage).

Nobody listens by default: the DAG's tasks log their counts when a stage ends. The command line
listens only when its output is a terminal (and not --json), and draws the progress with rich:
stage, rows done (of how many, once known), rate and elapsed time. A pipe, a cron mail or a CI
log gets only the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Listener = Callable[[str, int, "int | None"], None]

_listener: ContextVar[Listener | None] = ContextVar("courtfeed_progress", default=None)


def rows(stage: str, done: int, total: int | None = None) -> None:
    """A stage has done `done` rows (of `total`, when known). Costs nothing when nobody listens."""
    listener = _listener.get()
    if listener is not None:
        listener(stage, done, total)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


@contextmanager
def on_terminal(file=None) -> Iterator[None]:
    """Show the stages' progress on the terminal `file` (default stdout) while the block runs;
    the display is removed at the end so that only the result stays on screen."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TaskID,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.text import Text

    class RowsColumn(ProgressColumn):
        def render(self, task) -> Text:
            done = f"{int(task.completed):,}"
            return Text(f"{done} of {int(task.total):,} rows" if task.total else f"{done} rows")

    class RateColumn(ProgressColumn):
        def render(self, task) -> Text:
            elapsed = task.finished_time if task.finished else task.elapsed
            if not elapsed or not task.completed:
                return Text("")
            return Text(f"{task.completed / elapsed:,.0f} rows/s")

    display = Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<16}"),
        BarColumn(),
        TaskProgressColumn(),
        RowsColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        console=Console(file=file),
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def show(stage: str, done: int, total: int | None) -> None:
        if stage not in tasks:
            for earlier in tasks.values():  # a new stage means the earlier ones are done
                display.stop_task(earlier)
            tasks[stage] = display.add_task(stage, total=total)
        display.update(tasks[stage], completed=done, total=total)

    with display, listening(show):
        yield
