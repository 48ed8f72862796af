"""A one-line live status on stderr while ``gradsight run`` watches a script.

``gradsight · step 1200 · loss 0.0312 ↓ · 85.1 steps/s · worst ‖g‖/‖w‖ 0.weight 2.6e-03``

Why it is built this way:

- Shown only when stderr is a terminal and ``CI`` is not set: piped or CI output gets nothing
  extra, byte for byte.
- A daemon thread draws it twice a second from cheap counters (the adapters' step counters)
  and from the run store through its own read-only SQLite connection, never from the training
  thread's hot path. The loss is read on every tick and shown as the mean of the last
  ``LOSS_WINDOW`` steps' losses, with an arrow when it moved: one step's loss is noise, and a
  value read every few seconds looks frozen. Steps/s is the step counter's change over the
  last few seconds of wall time.
- The user's own prints stay intact: while the line is shown, ``sys.stdout`` and ``sys.stderr``
  are wrapped so that any write first erases the status line (``\\r`` + erase-to-end-of-line).
  The line is drawn again on the next tick, and only while the user's output ends a line (not
  between a print's text and its newline, nor over a progress bar that redraws with ``\\r``).
  The wrappers delegate everything else to the original streams and are removed when the run
  ends, as is the line.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable, TextIO

from .text import inert

CLEAR = "\r\x1b[K"
INTERVAL_S = 0.5
STORE_EVERY_S = 2.0  # the per-parameter rows are read less often than the line is drawn
LOSS_WINDOW = 20  # steps whose losses make the shown (moving) loss


def enabled(stream: TextIO | None = None) -> bool:
    """Whether a live line belongs on ``stream`` (default stderr): a terminal, not CI."""
    stream = stream or sys.stderr
    if os.environ.get("CI") or os.environ.get("GRADSIGHT_NO_LIVE"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class _Guarded:
    """A stream wrapper that erases the live line before anything else is written."""

    def __init__(self, stream: TextIO, live: "LiveStatus") -> None:
        self._stream = stream
        self._live = live

    def write(self, text: str) -> int:
        with self._live.lock:
            self._live.erase()
            if text:  # print() writes the text and its newline separately: never draw between
                self._live.at_line_start = text.endswith("\n")
            return self._stream.write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class LiveStatus:
    """Draws the status line until ``stop``; use ``start_if_terminal`` to honour ``enabled``."""

    def __init__(self, db_path: str | Path, step: Callable[[], int],
                 stream: TextIO | None = None) -> None:
        self.db_path = Path(db_path)
        self._step = step
        self._out = stream or sys.stderr
        self.lock = threading.RLock()
        self._shown = False
        self.at_line_start = True  # False while the user's output has an unfinished line
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gradsight-live", daemon=True)
        self._rates: deque[tuple[float, int]] = deque(maxlen=8)
        self._store_read = 0.0
        self._loss: float | None = None
        self._recent: deque[float] = deque(maxlen=LOSS_WINDOW)
        self._last_loss_step = -1
        self._trend = ""
        self._worst: tuple[str, float] | None = None
        self._saved: tuple[Any, Any] | None = None

    @classmethod
    def start_if_terminal(cls, db_path: str | Path, step: Callable[[], int]) -> "LiveStatus | None":
        if not enabled():
            return None
        return cls(db_path, step).start()

    def start(self) -> "LiveStatus":
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = _Guarded(sys.stdout, self)  # type: ignore[assignment]
        sys.stderr = _Guarded(sys.stderr, self)  # type: ignore[assignment]
        self._thread.start()
        return self

    def stop(self) -> None:
        """Erase the line and give the streams back (if nobody replaced them meanwhile)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2 * STORE_EVERY_S)
        with self.lock:
            self.erase()
        if self._saved is not None:
            out, err = self._saved
            if isinstance(sys.stdout, _Guarded) and sys.stdout._live is self:
                sys.stdout = out
            if isinstance(sys.stderr, _Guarded) and sys.stderr._live is self:
                sys.stderr = err
            self._saved = None

    def erase(self) -> None:
        """Remove the line if it is shown (callers hold ``lock``)."""
        if self._shown:
            self._shown = False
            try:
                self._out.write(CLEAR)
                self._out.flush()
            except (OSError, ValueError):
                pass

    # -- drawing (the live thread) --------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(INTERVAL_S):
            try:
                line = self.line()
            except Exception:  # noqa: BLE001 - a status line must never break a run
                continue
            with self.lock:
                if self._stop.is_set():
                    break
                if not self.at_line_start:  # e.g. a progress bar drawing with \r: leave it be
                    continue
                try:
                    self._out.write(CLEAR + line)
                    self._out.flush()
                    self._shown = True
                except (OSError, ValueError):
                    return

    def line(self) -> str:
        now = time.monotonic()
        step = int(self._step())
        self._rates.append((now, step))
        self._read_loss()
        if now - self._store_read >= STORE_EVERY_S:
            self._store_read = now
            self._read_store()
        parts = [f"gradsight · step {step}"]
        if self._loss is not None:
            parts.append(f"loss {_num(self._loss)}{self._trend}")
        (t0, s0), (t1, s1) = self._rates[0], self._rates[-1]
        if t1 > t0 and s1 > 0:
            parts.append(f"{(s1 - s0) / (t1 - t0):.1f} steps/s")
        if self._worst is not None:
            name, value = self._worst
            parts.append(f"worst ‖g‖/‖w‖ {inert(name)} {_num(value)}")
        width = shutil.get_terminal_size((100, 20)).columns - 1
        text = " · ".join(parts)
        return text if len(text) <= width else text[: max(0, width - 1)] + "…"

    def _read_loss(self) -> None:
        """The losses committed since the last tick, into the moving window."""
        if not self.db_path.exists():
            return
        try:
            con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=0.2)
            try:
                rows = con.execute("SELECT step, value FROM loss WHERE step > ? ORDER BY step",
                                   (self._last_loss_step,)).fetchall()
            finally:
                con.close()
        except sqlite3.Error:
            return
        if not rows:
            return
        self._last_loss_step = int(rows[-1][0])
        self._recent.extend(math.nan if v is None else float(v) for _, v in rows)
        finite = [v for v in self._recent if math.isfinite(v)]
        loss = sum(finite) / len(finite) if len(finite) == len(self._recent) else math.nan
        if self._loss is not None and math.isfinite(loss) and math.isfinite(self._loss):
            change = loss - self._loss
            # an arrow only for a move beyond 1% of the level: not for round-off wobble
            self._trend = "" if abs(change) <= 0.01 * abs(self._loss) else (
                " ↓" if change < 0 else " ↑")
        self._loss = loss

    def _read_store(self) -> None:
        """The layer whose gradient is smallest against its weight at the latest step the
        store holds (the vanishing end; a non-finite ratio counts as worst)."""
        if not self.db_path.exists():
            return
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=0.2)
        try:
            last = con.execute(
                "SELECT p.count, p.summary, p.data, l.names, l.metrics FROM param_steps p "
                "JOIN layouts l ON l.id = p.layout ORDER BY p.rowid DESC LIMIT 1").fetchone()
        except sqlite3.Error:
            return
        finally:
            con.close()
        if last is not None:
            self._worst = _worst_ratio(*last) or self._worst

def _worst_ratio(count: int, summary: int, data: bytes, names: str, metrics: str
                 ) -> tuple[str, float] | None:
    from ..core.codec import decode
    from ..core.metrics import EXACT_METRICS, GRAD_NORM, WEIGHT_NORM

    names_, metrics_ = json.loads(names), json.loads(metrics)
    exact = [metrics_.index(k) for k in EXACT_METRICS if k in metrics_]
    shape = (3 if summary else count, len(names_), len(metrics_))
    block = decode(data, shape, exact)
    row = block[2] if summary else block[-1]
    grad, weight = row[:, metrics_.index(GRAD_NORM)], row[:, metrics_.index(WEIGHT_NORM)]
    worst: tuple[str, float] | None = None
    for name, g, w in zip(names_, grad, weight):
        if math.isnan(g) or math.isnan(w):
            continue
        ratio = g / w if w else math.inf
        key = -math.inf if not math.isfinite(ratio) else ratio
        if worst is None or key < (-math.inf if not math.isfinite(worst[1]) else worst[1]):
            worst = (name, ratio)
    return worst


def _num(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else str(value)
