"""Logical damage to a stored run: values that are not what their column means (text in a
number column, a ``meta`` value that is not JSON, an entity's info that is a list, a chunk
whose blob is noise). Reading gives a clear error or a correct partial diagnosis that says
how much it set aside, never a traceback. Byte-level damage: ``tests/cli/test_failures.py``.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from gradsight.core.diagnosis import Diagnosis, diagnose_folder, write_findings
from gradsight.core.store import DB_NAME, RunDataError
from gradsight.reports.terminal import render
from tests.faults.conftest import gradsight, no_traceback

TABLES = {  # the columns a damage may hit, per table
    "meta": ["key", "value"],
    "entities": ["role", "name", "ord", "info"],
    "stats": ["step", "role", "name", "metric", "value"],
    "loss": ["step", "value"],
    "events": ["step", "kind", "name", "detail"],
    "hists": ["step", "name", "metric", "lo", "hi", "counts"],
    "layouts": ["id", "names", "metrics"],
    "param_steps": ["first", "count", "layout", "summary", "data"],
    "detail": ["step", "role", "layout", "data"],
}
GARBAGE = ["x", "", "{", "[1,", "null", "nan", "1e999", b"\x00\xff\x10", -1, 2**62, 1.5, 0,
           "\x1b[2J", '"text"', "[1, 2]", '{"a": 1}', "[]", '["x", null]', None]


def damaged_copy(run: Path, to: Path, seed: int) -> str:
    """A copy of ``run`` with 1-5 random values of one random table replaced by garbage (or
    rows deleted); returns what was done."""
    shutil.copytree(run, to)
    (to / "findings.json").unlink()
    rng = random.Random(seed)
    table = rng.choice(sorted(TABLES))
    con = sqlite3.connect(to / DB_NAME)
    rowids = [r[0] for r in con.execute(f"SELECT rowid FROM {table}")]
    done = []
    for rowid in rng.sample(rowids, min(len(rowids), rng.randint(1, 5))):
        if rng.random() < 0.1:
            con.execute(f"DELETE FROM {table} WHERE rowid=?", (rowid,))
            done.append(f"delete {table} row {rowid}")
            continue
        column, value = rng.choice(TABLES[table]), rng.choice(GARBAGE)
        try:
            con.execute(f"UPDATE {table} SET {column}=? WHERE rowid=?", (value, rowid))
            done.append(f"{table}.{column}={value!r}")
        except sqlite3.IntegrityError:  # NOT NULL / PRIMARY KEY: SQLite itself refuses
            pass
    con.commit()
    con.close()
    return "; ".join(done)


def read_back(folder: Path) -> Diagnosis | RunDataError:
    """What ``gradsight report`` does in-process: diagnose, print, write the JSON."""
    try:
        diagnosis = diagnose_folder(folder)
    except RunDataError as exc:
        assert str(folder / DB_NAME) in str(exc)
        return exc
    assert isinstance(diagnosis.steps, int) and diagnosis.steps >= 0
    render(diagnosis, Console(file=io.StringIO(), width=100))
    write_findings(folder / "findings.json", diagnosis)
    return diagnosis


@pytest.mark.parametrize("seed", range(60))
def test_fuzz_logical_damage_never_a_traceback(stored_run: Path, tmp_path: Path,
                                               seed: int) -> None:
    what = damaged_copy(stored_run, tmp_path / "run", seed)
    result = read_back(tmp_path / "run")  # any other exception fails the row (with ``what``)
    assert isinstance(result, (Diagnosis, RunDataError)), what


def kinds(diagnosis: Diagnosis) -> list[str]:
    return [f.kind for f in diagnosis.findings]


@pytest.mark.parametrize("sql, damaged", [
    ("UPDATE loss SET value='oops' WHERE step IN (3, 150, 299)", "loss 3"),
    ("UPDATE meta SET value='{not json' WHERE key='argv'", "meta 1"),
    ("UPDATE entities SET info='[1, 2]' WHERE rowid=1", "entities 1"),
    ("UPDATE detail SET data=x'00ff' WHERE rowid IN (5, 6)", "detail 2"),
])
def test_partial_damage_gives_the_same_diagnosis_and_says_so(
        stored_run: Path, tmp_path: Path, sql: str, damaged: str) -> None:
    whole = diagnose_folder(stored_run)
    shutil.copytree(stored_run, tmp_path / "run")
    con = sqlite3.connect(tmp_path / "run" / DB_NAME)
    con.execute(sql)
    con.commit()
    con.close()
    partial = diagnose_folder(tmp_path / "run")
    assert partial.numbers["damaged"] == damaged
    assert partial.steps == whole.steps == 300
    assert kinds(partial) == kinds(whole)
    assert "nonfinite" in kinds(partial)


@pytest.mark.parametrize("sql", [
    "UPDATE meta SET value='garbage' WHERE key='schema_version'",
    "DELETE FROM meta WHERE key='schema_version'",
    "UPDATE meta SET value='\"2\"' WHERE key='schema_version'",
])
def test_no_schema_version_is_a_clear_error(stored_run: Path, tmp_path: Path, sql: str) -> None:
    shutil.copytree(stored_run, tmp_path / "run")
    con = sqlite3.connect(tmp_path / "run" / DB_NAME)
    con.execute(sql)
    con.commit()
    con.close()
    with pytest.raises(RunDataError, match="no schema version"):
        diagnose_folder(tmp_path / "run")


def test_report_cli_on_damaged_stores(stored_run: Path, tmp_path: Path) -> None:
    outcomes: dict[int, Any] = {}
    for seed in (101, 102, 103):
        folder = tmp_path / f"run{seed}"
        damaged_copy(stored_run, folder, seed)
        proc = gradsight("report", folder.name, cwd=tmp_path)
        no_traceback(proc.stderr)
        assert proc.returncode in (0, 2), proc.stderr
        if proc.returncode == 0:
            assert json.loads((folder / "findings.json").read_text())["steps"] > 0
        else:
            assert proc.stderr.startswith("gradsight: ") and DB_NAME in proc.stderr
        outcomes[seed] = proc.returncode
    assert outcomes
    folder = tmp_path / "known"
    shutil.copytree(stored_run, folder)
    con = sqlite3.connect(folder / DB_NAME)
    con.execute("UPDATE loss SET value='oops' WHERE step < 4")
    con.commit()
    con.close()
    proc = gradsight("report", folder.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "unreadable values set aside (loss 4)" in proc.stderr


def test_report_rewrites_a_garbage_findings_json(stored_run: Path, tmp_path: Path) -> None:
    shutil.copytree(stored_run, tmp_path / "run")
    good = json.loads((stored_run / "findings.json").read_text())
    for garbage in ("garbage", '{"schema": "other"}', ""):
        (tmp_path / "run" / "findings.json").write_text(garbage)
        proc = gradsight("report", "run", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert json.loads((tmp_path / "run" / "findings.json").read_text()) == good
