"""Running one trial: a fresh ``python -m gradsight.fix.child`` process per repair.

A process per trial is what makes trials comparable: each starts from the script's own seeds
and data order, with no state (RNG, patched classes, hooks) left over from the one before.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..core.store import DB_NAME

from .child import ENV, TRIAL_FILE


@dataclass
class Trial:
    repair: str  # "none" for the baseline
    findings: list[dict[str, Any]]
    loss: float | None
    seconds: float
    steps: int = 0
    status: str = "finished"
    weight_change: dict[str, float] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    folder: str = ""
    error: str | None = None
    order: int = 0  # 1 for the first repair tried, 2 for the next ...; 0: the baseline

    @property
    def kinds(self) -> set[str]:
        return {f["kind"] for f in self.findings}


POLL_S = 0.5  # how often the trial's own store is read for the progress bar


def run_trial(script: str, args: list[str], repair: str | None, budget: int,
              folder: Path, activations: dict[str, str | None] | None = None,
              on_step: Callable[[int], None] | None = None) -> Trial:
    """Run ``script`` watched for ``budget`` steps with ``repair`` installed; ``on_step``
    hears how many steps the trial has recorded so far (read from its store)."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"script": str(Path(script).resolve()), "args": args, "out": str(folder),
            "budget": budget, "repair": repair, "activations": activations or {}}
    # the script's argv[0] is given resolved, so a trial runs from any working directory;
    # hash seeds fixed so set/dict iteration order is the same in every trial
    env = {**os.environ, ENV: json.dumps(spec), "PYTHONHASHSEED": "0"}
    started = time.perf_counter()
    with open(folder / "output.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gradsight.fix.child"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            while proc.poll() is None:
                time.sleep(POLL_S)
                if on_step is not None:
                    on_step(steps_recorded(folder / DB_NAME))
        finally:
            if proc.poll() is None:  # Ctrl-C while a trial runs: it ends with us
                proc.terminate()
            proc.wait()
    seconds = time.perf_counter() - started
    result_file = folder / TRIAL_FILE
    if proc.returncode != 0 or not result_file.exists():
        tail = (folder / "output.log").read_text(errors="replace")[-2000:]
        return Trial(repair or "none", [], None, seconds, status="error", folder=str(folder),
                     error=f"trial process exited {proc.returncode}: {tail}")
    data = json.loads(result_file.read_text())
    if data["exit_code"] != 0:  # the script failed under this repair: no result to compare
        tail = (folder / "output.log").read_text(errors="replace")[-2000:]
        return Trial(data["repair"], data["findings"], data["loss"], seconds, data["steps"],
                     "error", data["weight_change"], data["model"], str(folder),
                     error=f"the script exited {data['exit_code']} ({data['status']}): {tail}")
    return Trial(data["repair"], data["findings"], data["loss"], seconds, data["steps"],
                 data["status"], data["weight_change"], data["model"], str(folder))


def steps_recorded(db_path: Path) -> int:
    """Steps whose loss a (running) trial has committed to its store; 0 before there is one."""
    if not db_path.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=0.2)
        try:
            row = con.execute("SELECT max(step) FROM loss").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return 0
    return int(row[0]) + 1 if row and row[0] is not None else 0
