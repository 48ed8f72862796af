"""Hostile names in every output: a module name full of terminal escapes reaches the terminal,
the findings JSON's text, the TensorBoard tags, the PNG and the live line only as inert text,
while ``where`` keeps the exact name (the contract)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gradsight.reports import png
from gradsight.reports.live import LiveStatus
from gradsight.reports.text import inert
from tests.faults.conftest import gradsight, no_traceback, write
from tests.faults.scripts import EVIL, HOSTILE

NAME = EVIL.encode().decode("unicode_escape")  # the name as the script spells it
# What must never reach a screen: C0 controls (ESC, BEL), DEL, C1 controls, bidi overrides.
FORBIDDEN = [chr(c) for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)] if chr(c) != "\n"] + [
    "\u202e"]


def shows_nothing_raw(text: str, where: str) -> None:
    found = sorted({repr(c) for c in text if c in FORBIDDEN})
    assert not found, f"{where} shows {found} raw"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("hostile")
    script = write(root, "hostile.py", HOSTILE)
    run = gradsight("run", "--out", "run", "--json", "copy.json", "--tensorboard", "tb",
                    script.name, cwd=root)
    report = gradsight("report", "run", "--png", "flow.png", cwd=root)
    return {"root": root, "run": run, "report": report}


def test_the_name_really_is_hostile() -> None:
    assert "\x1b]0;" in NAME and "\x9b" in NAME and "\u202e" in NAME and "\x7f" in NAME


def test_terminal_shows_names_as_text(hostile: dict[str, Any]) -> None:
    for proc, what in ((hostile["run"], "run"), (hostile["report"], "report")):
        assert proc.returncode == 0, proc.stderr[-2000:]
        no_traceback(proc.stderr)
        shows_nothing_raw(proc.stdout, f"{what} stdout")
        shows_nothing_raw(proc.stderr, f"{what} stderr")
        assert "no_gradient" in proc.stdout
        assert inert(NAME) in proc.stdout  # shown, escaped, at least once


def test_findings_json_keeps_exact_names_and_inert_text(hostile: dict[str, Any]) -> None:
    root = hostile["root"]
    doc = json.loads((root / "copy.json").read_text())
    assert doc == json.loads((root / "run" / "findings.json").read_text())
    [finding] = [f for f in doc["findings"] if f["kind"] == "no_gradient"]
    assert finding["where"] == [f"{NAME}.weight", f"{NAME}.bias"]  # exact: the contract
    shows_nothing_raw(finding["summary"], "summary")
    for fix in finding["fixes"]:
        shows_nothing_raw(fix, "a fix")
    assert inert(NAME) in finding["summary"]


def test_tensorboard_tags_are_inert(hostile: dict[str, Any]) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(hostile["root"] / "tb"))
    acc.Reload()
    tags = acc.Tags()["scalars"] + acc.Tags()["histograms"]
    assert any(inert(NAME) in tag for tag in tags), tags
    for tag in tags:
        shows_nothing_raw(tag, f"tag {tag!r}")


def test_png_labels_are_inert_text(hostile: dict[str, Any]) -> None:
    assert (hostile["root"] / "flow.png").read_bytes().startswith(b"\x89PNG")
    label = png._short(NAME)
    shows_nothing_raw(label, "a PNG label")
    assert "$" not in label.replace(r"\$", "")  # never mathtext


def test_live_line_is_inert(hostile: dict[str, Any], tmp_path: Path) -> None:
    live = LiveStatus(hostile["root"] / "run" / "run.sqlite", lambda: 20)
    live._read_store()
    live._worst = (NAME, 1e-3)  # whichever layer the store calls worst, this one is shown
    shows_nothing_raw(live.line(), "the live line")


def test_inert_leaves_ordinary_text_alone() -> None:
    for text in ["0.weight", "encoder.layers.3.self_attn.q_proj.weight", "Ünïcødé·名前 α/β"]:
        assert inert(text) == text
    assert inert("a\nb", lines=True) == "a\nb" and inert("a\nb") == "a\\nb"
