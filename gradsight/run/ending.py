"""How a watched run ends when the user presses Ctrl-C, as people expect a Python program to.

- The first Ctrl-C stops the script (Python's own ``KeyboardInterrupt``); gradsight then
  diagnoses what is stored and prints it.
- A Ctrl-C while gradsight wraps up (the conventional second one, or a first one after the
  script ended) does not stop the diagnosis, which reads only what is stored (milliseconds to
  seconds) and is printed all the same: it skips the reports (report.html, TensorBoard), the
  slow part. ``gradsight report DIR`` writes them later.
- A run the user interrupted ends as Python ends one after an unhandled ``KeyboardInterrupt``:
  killed by SIGINT once every exit handler of the script has run, so that a shell loop or a
  job runner around it sees an interrupt (a shell shows status 130), not a normal exit.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from .session import Session

__all__ = ["WrapUp", "ctrl_c_deferred", "exit_by_sigint_later"]


class WrapUp:
    """Ctrl-C while gradsight wraps up a run: counted, not raised, while the store is closed
    and the run diagnosed; while the reports are written, it skips them."""

    def __init__(self) -> None:
        self.interrupts = 0
        self._in_reports = False
        try:
            self._previous: Any = signal.signal(signal.SIGINT, self._on_sigint)
        except ValueError:  # not the main thread: Ctrl-C is not ours to handle
            self._previous = None

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self.interrupts += 1
        if self._in_reports:
            raise KeyboardInterrupt

    def reports(self, session: Session) -> None:
        if self.interrupts:
            return self._skipped(session)
        self._in_reports = True
        try:
            session.write_reports()
        except KeyboardInterrupt:
            self._skipped(session)
        finally:
            self._in_reports = False

    def _skipped(self, session: Session) -> None:
        from ..reports.html import REPORT_FILE

        if not session.saved:
            return
        (session.folder / (REPORT_FILE + ".tmp")).unlink(missing_ok=True)
        session.problem("interrupted: the report was skipped; `gradsight report "
                        f"{session.folder}` writes it")

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


@contextmanager
def ctrl_c_deferred() -> Iterator[threading.Event]:
    """Ctrl-C is noted, not raised, while the diagnosis is printed (a few milliseconds)."""
    seen = threading.Event()
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: seen.set())
    except ValueError:  # not the main thread
        previous = None
    try:
        yield seen
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def exit_by_sigint_later() -> threading.Event:
    """An exit handler that, once set, ends the process by SIGINT after every other exit
    handler (atexit runs the last registered first; this one is registered before the script
    runs), as Python ends after an unhandled KeyboardInterrupt."""
    flag = threading.Event()

    def end() -> None:
        if flag.is_set() and os.name == "posix":
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)

    atexit.register(end)
    return flag
